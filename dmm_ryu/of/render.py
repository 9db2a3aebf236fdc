"""Render FlowMods as ``ovs-ofctl add-flows`` lines, for golden files and
for reading a MAAR's rules.

The text is stable (fields in OXM order, actions in list order) and is
valid input for ``ovs-ofctl -O OpenFlow13 add-flows BRIDGE FILE``, so a
golden file can be loaded into a real bridge to check OVS accepts it.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Iterable

from dmm_ryu.of import compat

OFP = compat.ofproto_v1_3

COMMANDS = {OFP.OFPFC_ADD: "add", OFP.OFPFC_MODIFY: "modify",
            OFP.OFPFC_MODIFY_STRICT: "modify_strict", OFP.OFPFC_DELETE: "delete",
            OFP.OFPFC_DELETE_STRICT: "delete_strict"}
#: OXM field names that ovs-ofctl spells differently.
OVS_FIELDS = {"ipv6_nd_target": "nd_target", "in_port_nxm": "in_port"}
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


ACTIONS = {
    "OFPActionOutput": lambda a: f"output:{PORTS.get(a.port, a.port)}",
    "OFPActionSetField": lambda a: f"set_field:{a.value}->{OVS_FIELDS.get(a.key, a.key)}",
    "OFPActionPushMpls": lambda a: f"push_mpls:{a.ethertype:#06x}",
    "OFPActionPopMpls": lambda a: f"pop_mpls:{a.ethertype:#06x}",
    "OFPActionDecNwTtl": lambda a: "dec_ttl",
}
INSTRUCTIONS = {
    "OFPInstructionActions": lambda i: [_render(ACTIONS, a) for a in i.actions],
    "OFPInstructionGotoTable": lambda i: [f"goto_table:{i.table_id}"],
    "OFPInstructionWriteMetadata": lambda i: [f"write_metadata:{i.metadata:#x}/{i.metadata_mask:#x}"],
    "OFPInstructionMeter": lambda i: [f"meter:{i.meter_id}"],
}


def _render(table: dict, item):
    name = type(item).__name__
    if name not in table:
        raise ValueError(f"cannot render {name}")
    return table[name](item)


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
    actions = [a for inst in msg.instructions for a in _render(INSTRUCTIONS, inst)]
    return f"{command} {fields} actions={','.join(actions) or 'drop'}"


def format_flows(msgs: Iterable) -> str:
    """Several FlowMods, one line each, in the order given."""
    return "".join(format_flow(m) + "\n" for m in msgs)
