"""A small in-memory OpenFlow 1.3 switch, in the spirit of Faucet's
FakeOFTable: apply FlowMods, then ask where a packet goes and how it is
rewritten.  Tests assert on behaviour, not on lists of FlowMods.

Stricter than a switch in one way: two flows of one priority in one table
that can match the same packet raise :class:`OverlapError`, because
OpenFlow leaves which of them wins undefined.  Inside a bundle the check
waits for the commit, as only the committed table is ever seen.

Packets are dicts of header fields: ``eth_src``, ``eth_dst``, ``eth_type``,
``ipv6_src``, ``ipv6_dst``, ``ip_proto``, ``icmpv6_type``,
``ipv6_nd_target``, ``hop_limit`` and ``mpls`` (the label stack, top
first).  Addresses may be given as text; they are compared as numbers.

:class:`Fabric` chains several fake switches through an L2 transport
network that delivers by destination MAC, as the MAARs' fabric does.
Wire bytes to and from these messages: :mod:`dmm_ryu.testbed.ofdecode`.
"""
from __future__ import annotations

import functools
from collections import namedtuple
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address
from typing import Dict, List, Optional, Tuple

from dmm_ryu.of import compat
from dmm_ryu.testbed.fakeoverlap import ETH_TYPE_IPV6, ETH_TYPE_MPLS
from dmm_ryu.testbed.fakeoverlap import refuse_overlap as _refuse_overlap

OFP = compat.ofproto_v1_3
IPV6_ONLY = ("ipv6_src", "ipv6_dst", "ip_proto", "icmpv6_type", "ipv6_nd_target")
CONTROLLER = "CONTROLLER"


def _norm(name: str, value):
    """Comparable form of a match or packet value."""
    if isinstance(value, tuple):
        return tuple(_norm(name, v) for v in value)
    return _norm_text(name, value) if isinstance(value, str) else _norm_one(name, value)


@functools.lru_cache(maxsize=1 << 14)
def _norm_text(name: str, value: str):
    """Addresses given as text, parsed once: lookups compare them per flow."""
    return _norm_one(name, value)


def _norm_one(name: str, value):
    if name.startswith("ipv6"):
        return int(IPv6Address(value))
    if name.startswith("eth_") and name != "eth_type":
        return str(value).lower()
    return int(value)


def _norm_match(match) -> Tuple:
    return tuple(sorted((k, _norm(k, v)) for k, v in match.items()))


@dataclass
class Flow:
    """One flow entry; ``key`` and ``effect`` are computed once, as every
    FlowMod compares them against the whole table."""

    table: int
    priority: int
    match: Tuple
    cookie: int
    instructions: list = field(compare=False)
    key: tuple = field(init=False, compare=False, repr=False)
    #: packets that took this flow (its flow-stats packet_count)
    packets: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        self.key = (self.table, self.priority, self.match, self.cookie,
                    _described(self.instructions))

    @property
    def effect(self):
        """What a packet this flow takes gets: the cookie and instructions."""
        return self.key[3:]

    def __str__(self) -> str:
        return (f"table={self.table},priority={self.priority},cookie={self.cookie:#x},"
                + ",".join(f"{k}={_show(k, v)}" for k, v in self.match))


def _described(value):
    """A framework message part as nested tuples of what its ``str`` shows,
    so equal content compares equal whichever object carries it (built by
    the app or decoded from wire bytes).  The framework's stringifier asks
    :func:`inspect.getmembers` for every object, too slow for a table
    rebuilt thousands of times; this reads the instance's own attributes
    with the same rules, unless the class spells its own."""
    if isinstance(value, (list, tuple)):
        return tuple(_described(v) for v in value)
    if not hasattr(value, "stringify_attrs"):
        return value
    cls = type(value)
    if cls.stringify_attrs is not _DEFAULT_ATTRS:
        items = value.stringify_attrs()
    else:
        hidden = cls._base_attributes
        items = ((k, v) for k, v in vars(value).items()
                 if k[0] != "_" and k not in hidden and not hasattr(cls, k) and not callable(v))
    return (cls.__name__,) + tuple((k, _described(v)) for k, v in sorted(items))


_DEFAULT_ATTRS = compat.ofproto_v1_3_parser.OFPActionOutput.stringify_attrs


def _show(name: str, value) -> str:
    """A normalised match value as ovs-ofctl would spell it."""
    if isinstance(value, tuple):
        return "/".join(_show(name, v) for v in value)
    if name.startswith("ipv6"):
        return str(IPv6Address(value))
    return hex(value) if name in ("eth_type", "metadata") else str(value)


class FakeOFTable:
    """The flow tables of one switch, and the packet-outs sent to it."""

    def __init__(self) -> None:
        self.flows: List[Flow] = []
        self.packet_outs: list = []
        self.meters: Dict[int, list] = {}
        self._in_bundle = False

    @property
    def flows(self) -> List[Flow]:
        return self._flows

    @flows.setter
    def flows(self, flows: List[Flow]) -> None:
        self._flows = flows
        self._by_table: Optional[Dict[int, List[Flow]]] = None

    # --- control side -----------------------------------------------------

    def apply(self, msgs) -> None:
        for msg in msgs:
            name = type(msg).__name__
            if name == "OFPFlowMod":
                self._flow_mod(msg)
            elif name == "OFPPacketOut":
                self.packet_outs.append(msg)
            elif name == "ONFBundleAddMsg":
                self.apply([msg.message])
            elif name == "ONFBundleCtrlMsg":
                self._bundle_ctrl(msg)
            elif name == "OFPMeterMod":
                self._meter_mod(msg)
            else:
                raise NotImplementedError(name)

    def flow_stats(self, cookie: int, cookie_mask: int) -> List[Tuple[int, int]]:
        """(cookie, packet count) of every flow the cookie filter selects,
        as an OFPFlowStatsReply lists them."""
        return [(f.cookie, f.packets) for f in self.flows
                if f.cookie & cookie_mask == cookie & cookie_mask]

    def snapshot(self) -> frozenset:
        return frozenset(f.key for f in self.flows)

    def _bundle_ctrl(self, msg) -> None:
        """Open defers the overlap check; commit runs it on the result."""
        if msg.type == OFP.ONF_BCT_OPEN_REQUEST:
            self._in_bundle = True
        elif msg.type == OFP.ONF_BCT_COMMIT_REQUEST:
            self._in_bundle = False
            for i, flow in enumerate(self.flows):
                _refuse_overlap(flow, self.flows[i + 1:])

    def _meter_mod(self, msg) -> None:
        """Meters by id; as on OVS, deleting one also deletes its flows."""
        if msg.command == OFP.OFPMC_DELETE:
            self.meters.pop(msg.meter_id, None)
            self.flows = [f for f in self.flows if msg.meter_id not in _meters_of(f)]
        else:
            assert msg.command == OFP.OFPMC_MODIFY or msg.meter_id not in self.meters, \
                f"meter {msg.meter_id} exists"
            self.meters[msg.meter_id] = list(msg.bands)

    def _flow_mod(self, msg) -> None:
        match = _norm_match(msg.match)
        if msg.command == OFP.OFPFC_ADD:
            flow = Flow(msg.table_id, msg.priority, match, msg.cookie, list(msg.instructions))
            self.flows = [f for f in self.flows if not _same_place(f, msg, match)]
            if not self._in_bundle:
                _refuse_overlap(flow, self.flows)
            self.flows = self.flows + [flow]
            return
        hits = [f for f in self.flows if _selected(f, msg, match)]
        if msg.command in (OFP.OFPFC_DELETE, OFP.OFPFC_DELETE_STRICT):
            self.flows = [f for f in self.flows if f not in hits]
        elif msg.command in (OFP.OFPFC_MODIFY, OFP.OFPFC_MODIFY_STRICT):
            self.flows = [replace(f, instructions=list(msg.instructions)) if f in hits else f
                          for f in self.flows]
        else:
            raise NotImplementedError(msg.command)

    # --- data side --------------------------------------------------------

    def forward(self, in_port: int, packet: dict) -> List[Tuple[object, dict]]:
        """(out port or CONTROLLER, rewritten packet) for each copy sent."""
        pkt = dict(packet)
        pkt.setdefault("mpls", ())
        state = {"in_port": in_port, "metadata": 0}
        outputs: list = []
        table: Optional[int] = 0
        while table is not None:
            flow = self._lookup(table, pkt, state)
            if flow is None:
                break
            table = self._execute(flow, pkt, state, outputs)
        return outputs

    def _lookup(self, table: int, pkt: dict, state: dict) -> Optional[Flow]:
        """The highest-priority flow of ``table`` matching (the first in
        table order among equals, as overlaps of equals are refused)."""
        if self._by_table is None:
            self._by_table = {}
            for flow in sorted(self.flows, key=lambda f: -f.priority):
                self._by_table.setdefault(flow.table, []).append(flow)
        return next((f for f in self._by_table.get(table, ()) if _matches(f.match, pkt, state)),
                    None)

    def _execute(self, flow: Flow, pkt: dict, state: dict, outputs: list) -> Optional[int]:
        """Run a flow's instructions in the spec's order; the next table."""
        next_table = None
        flow.packets += 1
        for inst in flow.instructions:
            kind = type(inst).__name__
            if kind == "OFPInstructionActions" and inst.type == OFP.OFPIT_APPLY_ACTIONS:
                if not all(_act(a, pkt, state, outputs) for a in inst.actions):
                    return None
            elif kind == "OFPInstructionWriteMetadata":
                mask = inst.metadata_mask
                state["metadata"] = state["metadata"] & ~mask | inst.metadata & mask
            elif kind == "OFPInstructionMeter":
                assert inst.meter_id in self.meters, f"no meter {inst.meter_id}"
            elif kind == "OFPInstructionGotoTable":
                assert inst.table_id > flow.table, "goto_table must go forward"
                next_table = inst.table_id
            else:
                raise NotImplementedError(kind)
        return next_table


def _meters_of(flow: Flow) -> List[int]:
    return [i.meter_id for i in flow.instructions if type(i).__name__ == "OFPInstructionMeter"]


def _same_place(flow: Flow, msg, match) -> bool:
    return (flow.table, flow.priority, flow.match) == (msg.table_id, msg.priority, match)


def _selected(flow: Flow, msg, match) -> bool:
    """Whether a modify/delete (strict or not) selects ``flow``."""
    if flow.cookie & msg.cookie_mask != msg.cookie & msg.cookie_mask:
        return False
    if msg.table_id not in (OFP.OFPTT_ALL, flow.table):
        return False
    if msg.command in (OFP.OFPFC_DELETE_STRICT, OFP.OFPFC_MODIFY_STRICT):
        return flow.priority == msg.priority and flow.match == match
    return set(match) <= set(flow.match)


def _packet_value(name: str, pkt: dict, state: dict):
    if name in state:
        return state[name]
    if name == "mpls_label":
        return pkt["mpls"][0] if pkt["eth_type"] == ETH_TYPE_MPLS else None
    if name in IPV6_ONLY and pkt.get("eth_type") != ETH_TYPE_IPV6:
        return None
    return _norm(name, pkt[name]) if name in pkt else None


def _matches(match: Tuple, pkt: dict, state: dict) -> bool:
    for name, wanted in match:
        have = _packet_value(name, pkt, state)
        if have is None:
            return False
        value, mask = wanted if isinstance(wanted, tuple) else (wanted, None)
        if (have != value) if mask is None else (have & mask != value & mask):
            return False
    return True


def _act(act, pkt: dict, state: dict, outputs: list) -> bool:
    """Apply one action; False when the packet is dropped (hop limit).

    As on a real switch, output to the port the packet came in on is
    silently dropped (OpenFlow 1.3 section 4.5: only OFPP_IN_PORT may
    hairpin), and ``set_field`` on ``in_port_nxm`` (Nicira's NXM_OF_IN_PORT) changes
    what counts as that port.
    """
    kind = type(act).__name__
    if kind == "OFPActionOutput":
        if act.port != state["in_port"]:
            outputs.append((CONTROLLER if act.port == OFP.OFPP_CONTROLLER else act.port,
                            dict(pkt)))
    elif kind == "OFPActionSetField" and act.key == "in_port_nxm":
        state["in_port"] = act.value
    elif kind == "OFPActionPushMpls":
        pkt["mpls"] = (0,) + pkt["mpls"]
        pkt["eth_type"] = act.ethertype
    elif kind == "OFPActionPopMpls":
        assert pkt["eth_type"] == ETH_TYPE_MPLS, "pop_mpls on a packet without MPLS"
        pkt["mpls"] = pkt["mpls"][1:]
        if not pkt["mpls"]:
            pkt["eth_type"] = act.ethertype
    elif kind == "OFPActionSetField" and act.key == "mpls_label":
        assert pkt["eth_type"] == ETH_TYPE_MPLS, "set mpls_label without MPLS"
        pkt["mpls"] = (act.value,) + pkt["mpls"][1:]
    elif kind == "OFPActionSetField":
        pkt[act.key] = _norm(act.key, act.value) if act.key.startswith("eth_") else act.value
    elif kind == "OFPActionDecNwTtl":
        assert pkt["eth_type"] == ETH_TYPE_IPV6, "dec_ttl on a non-IPv6 packet"
        pkt["hop_limit"] -= 1
        return pkt["hop_limit"] > 0
    else:
        raise NotImplementedError(kind)
    return True


Delivery = namedtuple("Delivery", "node port packet")


class Fabric:
    """The transport L2 network: a frame leaving a switch's transport port
    reaches the switch or station owning its destination MAC."""

    def __init__(self) -> None:
        self.switches: Dict[str, Tuple[FakeOFTable, Tuple[int, ...]]] = {}
        self.owners: Dict[str, str] = {}

    def add_switch(self, name: str, table: FakeOFTable, mac: str, transport_ports) -> None:
        self.switches[name] = (table, tuple(transport_ports))
        self.owners[mac.lower()] = name

    def add_station(self, name: str, mac: str) -> None:
        self.owners[mac.lower()] = name

    def inject(self, switch: str, in_port: int, packet: dict, hops: int = 8) -> List[Delivery]:
        """Every place the packet ends up: (switch, access port or
        CONTROLLER, packet) or (station, None, packet)."""
        assert hops > 0, "forwarding loop"
        table, transport = self.switches[switch]
        out = []
        for port, pkt in table.forward(in_port, packet):
            if port not in transport:
                out.append(Delivery(switch, port, pkt))
                continue
            owner = self.owners.get(pkt["eth_dst"], "unknown")
            if owner in self.switches:
                out += self.inject(owner, self.switches[owner][1][0], pkt, hops - 1)
            else:
                out.append(Delivery(owner, None, pkt))
        return out
