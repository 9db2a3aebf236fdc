"""The hot path's OpenFlow as bytes: FlowMods for route and tunnel actions,
OVS bundles and packet-outs, byte for byte what the framework's serialiser
writes for ``flows.flows_for`` / ``bundle.bundle`` / an ``OFPPacketOut``,
at a tenth of the cost (issue 17).  Admission rules and rebuilds:
of/packed_state.py.

Public API::

    packer(ctx) -> MaarPacker                  one per MAAR context, memoised
    flows_for(action, ctx, xid=0) -> [bytes]   FlowMod i carries xid + i
    bundle(msgs, bundle_id, xid_start) -> [bytes]   open, add each, commit
    packet_out(port, frame, in_port=None, xid=0) -> bytes
    reserve_xids(datapath, count) -> first xid, as Datapath.send_msg numbers

Sending: ``datapath.send(b"".join(msgs))`` - Ryu's and os-ken's
``Datapath.send(buf)`` queue the bytes for one ``socket.sendall`` (what
``send_msg`` does after ``serialize``), so a switch's whole handover is one
write.  Numbering with ``reserve_xids`` keeps packed and ``send_msg``
messages from sharing an xid.

The rules (table, priority, match) are flows.py's own (``dst_rule``,
``tunnel_rules``), so the two encoders cannot disagree about where a flow
sits; only the instructions are restated here, in ofwire's terms.  A
prefix's template in one role (its label and its rules' match bytes,
packed once) is kept in an LRU of ``PREFIX_CACHE`` (prefix, role) pairs per
MAAR: a handover touches a prefix two or three times within milliseconds,
then rarely again, so the bound need only cover the prefixes of the
handovers in flight at one MAAR (a few dozen at 1,000 handovers/s and
50 ms each); it caps memory (about 0.5 KB a pair, 64 KB a MAAR) without
costing hits.  The admission rules of (MAC, port) pairs are kept alike.
"""
from __future__ import annotations

import weakref
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from dmm_ryu.core import actions as core
from dmm_ryu.of import admission, flows
from dmm_ryu.of import ofwire as w
from dmm_ryu.of import pipeline as pl
from dmm_ryu.of.bundle import FLAGS as BUNDLE_FLAGS
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.labels import DataplaneError

OFP = w.OFP
#: Prefix templates kept per MAAR (LRU); see the module docstring.
PREFIX_CACHE = 128

MARK_UPLINK = w.write_metadata(*pl.METADATA_UPLINK)
_GOTO_ROUTE = w.goto_table(pl.ROUTE.table_id)
_PUSH = w.push_mpls(pl.ETH_TYPE_MPLS)
_POP = w.pop_mpls(pl.ETH_TYPE_IPV6)
ADD, _DELETE_STRICT = OFP.OFPFC_ADD, OFP.OFPFC_DELETE_STRICT


class PackedRule(NamedTuple):
    """A flows.Rule with its match already on the wire."""

    table_id: int
    priority: int
    match: bytes

    @classmethod
    def of(cls, rule: flows.Rule) -> "PackedRule":
        return cls(rule.table.table_id, rule.priority, w.match(rule.match))


#: The "role" of a local route's template, beside core.ANCHOR and core.SERVING.
LOCAL = "local"


class Template(NamedTuple):
    """What a MAAR packs for one prefix in one role."""

    label: int
    rules: Tuple[PackedRule, ...]  # local: (route,); tunnel: (entry, exit)
    push_label: bytes  # push MPLS, set the prefix's label (tunnels only)


class MaarPacker:
    """One MAAR's constants (its MACs, ports, peers) packed once, and its
    prefix templates; ``flows_for`` mirrors flows.flows_for.  It holds its
    context weakly: whoever uses it keeps the context alive."""

    def __init__(self, ctx: MaarDataplane) -> None:
        self._ctx = weakref.ref(ctx)  # _PACKERS must not keep contexts alive
        #: eth_src toward the MN for prefixes each MAAR anchors (flows._deliver)
        self._from_gateway = {m.address: w.set_field("eth_src", ctx.gateway_of(m)[0])
                              for m in ctx.plan.maars}
        self._own = ctx.maar.address
        self._peers = {m.address: (m.ordinal, self._to_neighbour(m.transport_mac))
                       for m in ctx.plan.maars}
        self.template: Callable[[IPv6Network, str], Template] = (
            lru_cache(maxsize=PREFIX_CACHE)(self._compile))
        self._constants: Dict[str, List[bytes]] = {}
        #: (MN MAC, access port) -> its admission rules, packed (LRU, as templates).
        self.admission_rules: Callable[[str, int], Tuple[PackedRule, ...]] = (
            lru_cache(maxsize=PREFIX_CACHE)(self._admission_rules))
        self._translators = {
            core.InstallLocalRoute: self._install_local_route,
            core.RemoveLocalRoute: self._remove_local_route,
            core.InstallTunnel: self._install_tunnel,
            core.RemoveTunnel: self._remove_tunnel,
        }

    @property
    def ctx(self) -> Optional[MaarDataplane]:
        return self._ctx()

    def flows_for(self, action, xid: int = 0) -> List[bytes]:
        """FlowMods carrying out one core action; the i-th has ``xid + i``."""
        translate = self._translators.get(type(action))
        if translate is None:
            raise TypeError(f"{type(action).__name__} is not a flow action")
        return translate(action, xid)

    def constant(self, name: str, build: Callable[[], List[bytes]]) -> List[bytes]:
        """The MAAR's messages called ``name``, built on first use: those
        that are the same on every reconnect (base flows, meters)."""
        found = self._constants.get(name)
        if found is None:
            found = self._constants[name] = build()
        return found

    def _admission_rules(self, mac: str, port: int) -> Tuple[PackedRule, ...]:
        return tuple(map(PackedRule.of, admission.mn_rules(self.ctx, mac, port)))

    # --- templates ---------------------------------------------------------

    def _compile(self, prefix: IPv6Network, role: str) -> Template:
        """Raises DataplaneError (from flows.py and labels.py) for a prefix
        with no label or an unknown role; failures are not cached."""
        ctx = self.ctx
        label = ctx.label(prefix)
        if role == LOCAL:
            return Template(label, (PackedRule.of(flows.dst_rule(prefix)),), b"")
        return Template(label, tuple(map(PackedRule.of, flows.tunnel_rules(ctx, prefix, role))),
                        _PUSH + w.set_field("mpls_label", label))

    def _to_neighbour(self, mac: str) -> bytes:
        """flows._to_neighbour: out of the fabric port, in_port cleared."""
        ctx = self.ctx
        return (w.set_field("eth_src", ctx.transport_mac) + w.set_field("eth_dst", mac)
                + w.set_field("in_port_nxm", flows.HAIRPIN_IN_PORT) + w.output(ctx.uplink_port))

    def _deliver(self, anchor: IPv6Address, mac: str, port: int) -> bytes:
        """flows._deliver: to the MN on its access link, from the gateway
        MAC of prefixes ``anchor`` anchors."""
        return self._from_gateway[anchor] + w.set_field("eth_dst", mac) + w.output(port)

    def _peer(self, address: IPv6Address) -> Tuple[int, bytes]:
        found = self._peers.get(address)
        if found is None:
            self.ctx.peer(address)  # raises the plan's DataplaneError
        return found

    # --- translators -------------------------------------------------------

    def _install_local_route(self, action: core.InstallLocalRoute, xid: int) -> List[bytes]:
        label, (rule,), _ = self.template(action.prefix, LOCAL)
        actions = w.DEC_NW_TTL + self._deliver(self._own, action.mac, action.port)
        return [w.flow_mod(xid, pl.cookie(pl.Kind.LOCAL, label), 0, ADD, *rule,
                           w.apply_actions(actions))]

    def _remove_local_route(self, action: core.RemoveLocalRoute, xid: int) -> List[bytes]:
        label, rules, _ = self.template(action.prefix, LOCAL)
        return removals(xid, pl.cookie(pl.Kind.LOCAL, label), rules)

    def _install_tunnel(self, action: core.InstallTunnel, xid: int) -> List[bytes]:
        label, rules, push_label = self.template(action.prefix, action.role)
        ordinal, to_peer = self._peer(action.peer)
        into = push_label + to_peer
        if action.role == core.ANCHOR:
            instructions = (w.apply_actions(w.DEC_NW_TTL + into),
                            w.apply_actions(_POP) + MARK_UPLINK + _GOTO_ROUTE)
        elif not action.mac or not action.port:
            raise DataplaneError(f"serving tunnel for {action.prefix} needs the MN's mac and port")
        else:
            instructions = (w.apply_actions(into),
                            w.apply_actions(_POP + self._deliver(action.peer, action.mac,
                                                                 action.port)))
        owner = pl.cookie(pl.Kind.TUNNEL, label, ordinal)
        return [w.flow_mod(xid + i, owner, 0, ADD, *rule, inst)
                for i, (rule, inst) in enumerate(zip(rules, instructions))]

    def _remove_tunnel(self, action: core.RemoveTunnel, xid: int) -> List[bytes]:
        label, rules, _ = self.template(action.prefix, action.role)
        ordinal, _ = self._peer(action.peer)
        return removals(xid, pl.cookie(pl.Kind.TUNNEL, label, ordinal), rules)


def removals(xid: int, owner: int, rules) -> List[bytes]:
    """Strict deletes of ``rules`` with the owner's exact cookie."""
    return [w.flow_mod(xid + i, owner, pl.COOKIE_EXACT, _DELETE_STRICT, *rule)
            for i, rule in enumerate(rules)]


# --- one packer per context --------------------------------------------------

#: id(ctx) -> its packer, dropped when the context is collected: bounded by
#: the contexts alive (one per MAAR served).  Keyed by identity because
#: hashing a frozen context walks the whole domain config.
_PACKERS: Dict[int, MaarPacker] = {}


def packer(ctx: MaarDataplane) -> MaarPacker:
    """The packer of ``ctx``, built on first use."""
    found = _PACKERS.get(id(ctx))
    if found is None or found.ctx is not ctx:
        found = _PACKERS[id(ctx)] = MaarPacker(ctx)
        weakref.finalize(ctx, _PACKERS.pop, id(ctx), None)
    return found


def flows_for(action, ctx: MaarDataplane, xid: int = 0) -> List[bytes]:
    """flows.flows_for(action, ctx) as wire bytes; FlowMod i has ``xid + i``."""
    return packer(ctx).flows_for(action, xid)


# --- bundles, packet-outs, xids ----------------------------------------------

def _bundle_control(kind: int, bundle_id: int, xid: int, flags: int) -> bytes:
    return w.BUNDLE_CTRL.pack(OFP.OFP_VERSION, OFP.OFPT_EXPERIMENTER, w.BUNDLE_CTRL.size,
                              xid & w.XID_MASK, w.ONF_EXPERIMENTER_ID,
                              OFP.ONF_ET_BUNDLE_CONTROL, bundle_id, kind, flags)


def bundle(msgs: List[bytes], bundle_id: int, xid_start: int,
           flags: int = BUNDLE_FLAGS) -> List[bytes]:
    """bundle.bundle as bytes: open (``xid_start``), one add per message
    (the next xids; the inner message takes its add's xid, as the bundle
    extension requires), commit (the xid after)."""
    out = [_bundle_control(OFP.ONF_BCT_OPEN_REQUEST, bundle_id, xid_start, flags)]
    for i, msg in enumerate(msgs, start=1):
        xid = (xid_start + i) & w.XID_MASK
        out.append(w.BUNDLE_ADD.pack(OFP.OFP_VERSION, OFP.OFPT_EXPERIMENTER,
                                     w.BUNDLE_ADD.size + len(msg), xid, w.ONF_EXPERIMENTER_ID,
                                     OFP.ONF_ET_BUNDLE_ADD_MESSAGE, bundle_id, flags)
                   + w.with_xid(msg, xid))
    out.append(_bundle_control(OFP.ONF_BCT_COMMIT_REQUEST, bundle_id,
                               xid_start + len(msgs) + 1, flags))
    return out


def packet_out(port: int, frame: bytes, in_port: Optional[int] = None, xid: int = 0) -> bytes:
    """A frame sent out of ``port``, from the controller unless ``in_port``
    (runtime.controller's _packet_out as bytes)."""
    action = w.output(port)
    return w.PACKET_OUT.pack(OFP.OFP_VERSION, OFP.OFPT_PACKET_OUT,
                             w.PACKET_OUT.size + len(action) + len(frame), xid & w.XID_MASK,
                             OFP.OFP_NO_BUFFER, OFP.OFPP_CONTROLLER if in_port is None else in_port,
                             len(action)) + action + frame


def reserve_xids(datapath, count: int) -> int:
    """Take ``count`` transaction ids from a Ryu/os-ken Datapath (its
    ``xid`` counter, as ``send_msg`` would) and return the first."""
    first = (datapath.xid + 1) & w.XID_MASK
    datapath.xid = (datapath.xid + count) & w.XID_MASK
    return first
