"""Render FlowMods as ``ovs-ofctl add-flows`` lines, for golden files and
for reading a MAAR's rules.

The text is stable (fields in OXM order, actions in list order) and is
valid input for ``ovs-ofctl -O OpenFlow13 add-flows BRIDGE FILE``, so a
golden file can be loaded into a real bridge to check OVS accepts it.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Iterable

from dmm_ryu import compat

OFP = compat.ofproto_v1_3

COMMANDS = {OFP.OFPFC_ADD: "add", OFP.OFPFC_MODIFY: "modify",
            OFP.OFPFC_MODIFY_STRICT: "modify_strict", OFP.OFPFC_DELETE: "delete",
            OFP.OFPFC_DELETE_STRICT: "delete_strict"}
#: OXM field names that ovs-ofctl spells differently.
OVS_FIELDS = {"ipv6_nd_target": "nd_target"}
PORTS = {OFP.OFPP_CONTROLLER: "CONTROLLER", OFP.OFPP_IN_PORT: "IN_PORT"}


def _value(name: str, value) -> str:
    if isinstance(value, tuple):
        value, mask = value
        if name.startswith("ipv6"):
            return f"{value}/{bin(int(IPv6Address(mask))).count('1')}"
        return f"{_value(name, value)}/{_value(name, mask)}"
    if name in ("eth_type", "metadata"):
        return hex(value)
    return str(value)


def _match(match) -> list:
    return [f"{OVS_FIELDS.get(k, k)}={_value(k, v)}" for k, v in match.items()]


def _action(act) -> str:
    name = type(act).__name__
    if name == "OFPActionOutput":
        return f"output:{PORTS.get(act.port, act.port)}"
    if name == "OFPActionSetField":
        return f"set_field:{act.value}->{OVS_FIELDS.get(act.key, act.key)}"
    if name == "OFPActionPushMpls":
        return f"push_mpls:{act.ethertype:#06x}"
    if name == "OFPActionPopMpls":
        return f"pop_mpls:{act.ethertype:#06x}"
    if name == "OFPActionDecNwTtl":
        return "dec_ttl"
    raise ValueError(f"cannot render {name}")


def _instruction(inst) -> list:
    name = type(inst).__name__
    if name == "OFPInstructionActions":
        return [_action(a) for a in inst.actions]
    if name == "OFPInstructionGotoTable":
        return [f"goto_table:{inst.table_id}"]
    if name == "OFPInstructionWriteMetadata":
        return [f"write_metadata:{inst.metadata:#x}/{inst.metadata_mask:#x}"]
    raise ValueError(f"cannot render {name}")


def format_flow(msg) -> str:
    """One FlowMod as an ``ovs-ofctl add-flows`` line."""
    command = COMMANDS[msg.command]
    head = [] if msg.table_id == OFP.OFPTT_ALL else [f"table={msg.table_id}"]
    if command != "delete":
        head.append(f"priority={msg.priority}")
    head.append(f"cookie={msg.cookie:#x}" + (f"/{msg.cookie_mask:#x}" if msg.cookie_mask else ""))
    fields = ",".join(head + _match(msg.match))
    if command.startswith("delete"):
        return f"{command} {fields}"
    actions = [a for inst in msg.instructions for a in _instruction(inst)]
    return f"{command} {fields} actions={','.join(actions) or 'drop'}"


def format_flows(msgs: Iterable) -> str:
    """Several FlowMods, one line each, in the order given."""
    return "".join(format_flow(m) + "\n" for m in msgs)
