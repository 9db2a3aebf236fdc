"""The domain's runtime between OpenFlow and the protocol core, framework-free.

One :class:`DmmController` hosts the CMD and one core ``Maar`` per configured
MAAR.  They never call each other: every PBU/PBA leaves one switch as a real
IPv6 packet (packet-out) and reaches its addressee through the data plane and
a packet-in, so MAAR and CMD logic meet only on the wire and could run in
separate controllers.  This module turns packet-ins into core events and core
actions into OpenFlow messages; it never sends anything itself, which keeps
the Ryu/os-ken adapter (``dmm_ryu.app``) a thin shell and lets tests drive
the whole domain through fake flow tables.
"""
from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Hashable, List, Optional, Tuple

from dmm_ryu import compat, inet, ndp
from dmm_ryu.config import DomainConfig
from dmm_ryu.core import actions as act
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import MessageReceived, MnAttached, TimerFired
from dmm_ryu.core.maar import Maar
from dmm_ryu.domain import build
from dmm_ryu.mh import codec
from dmm_ryu.mh.errors import MHDecodeError
from dmm_ryu.mh.model import ProxyBindingAck
from dmm_ryu.of import flows
from dmm_ryu.of.context import MaarDataplane

LOG = logging.getLogger("dmm")
CMD = "cmd"  # node key of the CMD; MAARs are keyed by name
MH_PROTO = 135


@dataclass
class Output:
    """OpenFlow messages for one switch.  ``atomic``: send as one bundle."""

    dpid: int
    msgs: list
    atomic: bool = False


@dataclass
class _Switch:
    """What the runtime remembers per MAAR switch to rebuild it on reconnect."""

    ctx: MaarDataplane
    routes: Dict[IPv6Network, act.InstallLocalRoute] = field(default_factory=dict)
    tunnels: Dict[IPv6Network, act.InstallTunnel] = field(default_factory=dict)
    adverts: Dict[str, act.SendRouterAdvert] = field(default_factory=dict)


class DmmController:
    """The CMD and the MAARs of one domain, behind OpenFlow."""

    def __init__(self, domain: DomainConfig, parser=compat.ofproto_v1_3_parser,
                 ofproto=compat.ofproto_v1_3) -> None:
        configs = build(domain)
        self.domain = domain
        self.parser, self.ofproto = parser, ofproto
        self.cmd = Cmd(configs.cmd)
        self.maars: Dict[str, Maar] = {n: Maar(c) for n, c in configs.maars.items()}
        self.switches: Dict[int, _Switch] = {
            m.dpid: _Switch(MaarDataplane.for_maar(domain, m.name, domain.upstream_mac))
            for m in domain.maars.values()
        }
        self._dpid_of = {m.name: m.dpid for m in domain.maars.values()}
        self._dpid_of[CMD] = self._dpid_of[domain.cmd.maar]
        self._node_at = {m.address: m.name for m in domain.maars.values()}
        self._node_at[domain.cmd.address] = CMD
        self.connected: set = set()
        self.attached: Dict[str, Tuple[int, int]] = {}
        self.counters: Counter = Counter()
        self._timers: List[Tuple[float, int, str, Hashable]] = []
        self._timer_seq: Dict[Tuple[str, Hashable], int] = {}
        self._seq = itertools.count()

    # -- switches ------------------------------------------------------------

    def switch_connected(self, dpid: int) -> List[Output]:
        """Wipe our flows and rebuild the MAAR's whole rule set from state."""
        sw = self.switches.get(dpid)
        if sw is None:
            self.counters["unknown_datapath"] += 1
            return []
        self.connected.add(dpid)
        msgs = flows.rebuild_flows(sw.ctx, sw.routes.values(), sw.tunnels.values(), self.parser)
        return [Output(dpid, msgs, atomic=True)]

    def switch_disconnected(self, dpid: int) -> None:
        self.connected.discard(dpid)

    def maar_name(self, dpid: int) -> Optional[str]:
        sw = self.switches.get(dpid)
        return sw.ctx.maar.name if sw else None

    # -- packet-in -----------------------------------------------------------

    def packet_in(self, dpid: int, in_port: int, frame: bytes, now: float) -> List[Output]:
        """Classify a punted frame: Mobility Header, or ND on either side."""
        sw = self.switches.get(dpid)
        if sw is None or len(frame) < 54:
            self.counters["packet_in_ignored"] += 1
            return []
        if frame[12:14] == b"\x86\xdd" and frame[20] == MH_PROTO:
            return self._mobility_header(sw, frame[14:], now)
        nd = ndp.parse_nd(frame)
        if nd is None:
            self.counters["packet_in_ignored"] += 1
            return []
        if nd.icmp_type == ndp.ROUTER_SOLICITATION and in_port in sw.ctx.maar.access_ports:
            return self._solicited(sw, nd, in_port, now)
        if nd.icmp_type == ndp.NEIGHBOR_SOLICITATION:
            return self._neighbour(sw, nd, in_port)
        self.counters["packet_in_ignored"] += 1
        return []

    def _mobility_header(self, sw: _Switch, packet: bytes, now: float) -> List[Output]:
        """Decode and hand to the addressee; spoofed or broken input stops here."""
        try:
            src, dst, message = codec.decode_packet(packet)
        except MHDecodeError as err:
            self.counters[f"mh_malformed_{err.reason.value}"] += 1
            LOG.warning("dmm: malformed Mobility Header at %s: %s", sw.ctx.maar.name, err)
            return []
        node = self._node_at.get(dst)
        if src not in self._node_at or node is None:
            self.counters["mh_unknown_peer"] += 1
            LOG.warning("dmm: Mobility Header %s -> %s dropped: not a configured MAAR/CMD",
                        src, dst)
            return []
        if self._dpid_of[node] != sw.ctx.maar.dpid:
            self.counters["mh_wrong_switch"] += 1
            return []
        kind = "PBA" if isinstance(message, ProxyBindingAck) else "PBU"
        self.counters[f"rx_{kind}"] += 1
        return self._handle(node, MessageReceived(src, dst, message), now)

    def _solicited(self, sw: _Switch, nd: ndp.NdPacket, port: int, now: float) -> List[Output]:
        """An RS: a new attachment, or a repeat that just gets the RA again."""
        mn_id = self.domain.mn_id_for(nd.eth_src)
        if mn_id is None:
            self.counters["mn_unauthorised"] += 1
            LOG.warning("dmm: MN %s on %s port %d is not authorised; no prefix",
                        nd.eth_src, sw.ctx.maar.name, port)
            return []
        where = (sw.ctx.maar.dpid, port)
        if self.attached.get(nd.eth_src) == where:
            advert = sw.adverts.get(mn_id)
            return [self._advert_out(sw, advert)] if advert else []
        self.attached[nd.eth_src] = where
        LOG.info("dmm: MN %s (%s) attached to %s port %d", mn_id, nd.eth_src,
                 sw.ctx.maar.name, port)
        return self._handle(sw.ctx.maar.name, MnAttached(mn_id, nd.eth_src, port), now)

    def _neighbour(self, sw: _Switch, nd: ndp.NdPacket, port: int) -> List[Output]:
        """Answer NS for the shared gateway (access side) or for the MAAR's
        or CMD's address (transport side)."""
        ctx = sw.ctx
        if port in ctx.maar.access_ports and nd.target == ctx.gateway_ll:
            mac = ctx.gateway_mac
        elif port in ctx.maar.transport_ports and nd.target in self._owned_by(ctx):
            mac = ctx.transport_mac
        else:
            self.counters["ns_ignored"] += 1
            return []
        frame = ndp.neighbor_advertisement(mac, nd.target, nd.eth_src, nd.src)
        return [Output(ctx.maar.dpid, [self._packet_out(port, frame)])]

    def _owned_by(self, ctx: MaarDataplane) -> Tuple[IPv6Address, ...]:
        return tuple(a for a, n in self._node_at.items() if self._dpid_of[n] == ctx.maar.dpid)

    # -- timers --------------------------------------------------------------

    def next_deadline(self) -> Optional[float]:
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def expire(self, now: float) -> List[Output]:
        """Fire every timer due at ``now``."""
        out: List[Output] = []
        while self.next_deadline() is not None and self._timers[0][0] <= now:
            _, _, node, key = heapq.heappop(self._timers)
            del self._timer_seq[(node, key)]
            out += self._handle(node, TimerFired(key), now)
        return out

    def _drop_cancelled(self) -> None:
        while self._timers:
            _, seq, node, key = self._timers[0]
            if self._timer_seq.get((node, key)) == seq:
                return
            heapq.heappop(self._timers)

    # -- core actions --------------------------------------------------------

    def _core(self, node: str):
        return self.cmd if node == CMD else self.maars[node]

    def _handle(self, node: str, event, now: float) -> List[Output]:
        return self._execute(node, self._core(node).handle(event, now))

    def _execute(self, node: str, actions: list) -> List[Output]:
        """Carry out a core node's actions; its flow changes form one bundle."""
        out: List[Output] = []
        flow_msgs: list = []
        for action in actions:
            if isinstance(action, flows.FLOW_ACTIONS):
                flow_msgs += self._flow_action(node, action)
            elif isinstance(action, act.SendMessage):
                out.append(self._send(node, action))
            elif isinstance(action, act.SendRouterAdvert):
                sw = self.switches[self._dpid_of[node]]
                sw.adverts[action.mn_id] = action
                out.append(self._advert_out(sw, action))
            elif isinstance(action, act.StartTimer):
                self._start_timer(node, action)
            elif isinstance(action, act.CancelTimer):
                self._timer_seq.pop((node, action.key), None)
        if flow_msgs:
            out.insert(0, Output(self._dpid_of[node], flow_msgs, atomic=True))
        return out

    def _start_timer(self, node: str, action: act.StartTimer) -> None:
        seq = next(self._seq)
        self._timer_seq[(node, action.key)] = seq
        heapq.heappush(self._timers, (action.at, seq, node, action.key))

    def _flow_action(self, node: str, action) -> list:
        """Remember the MAAR's routes and tunnels (for a rebuild), then
        translate.  A removal also forgets the MN's cached RA."""
        sw = self.switches[self._dpid_of[node]]
        table = sw.routes if isinstance(action, (act.InstallLocalRoute, act.RemoveLocalRoute)) \
            else sw.tunnels
        if isinstance(action, (act.InstallLocalRoute, act.InstallTunnel)):
            table[action.prefix] = action
        else:
            table.pop(action.prefix, None)
            if not any(a.mn_id == action.mn_id for a in (*sw.routes.values(),
                                                         *sw.tunnels.values())):
                sw.adverts.pop(action.mn_id, None)
        return flows.flows_for(action, sw.ctx, self.parser)

    def _send(self, node: str, action: act.SendMessage) -> Output:
        """A PBU/PBA as a real IPv6 packet leaving the sender's switch.

        When the addressee lives on the same switch (the CMD beside its
        MAAR) the packet re-enters that switch's pipeline as if it had
        arrived on the transport port, and is punted from there.
        """
        kind = "PBA" if isinstance(action.message, ProxyBindingAck) else "PBU"
        self.counters[f"tx_{kind}"] += 1
        src_dpid = self._dpid_of[node]
        dst_dpid = self._dpid_of.get(self._node_at.get(action.dst, ""), None)
        src_sw = self.switches[src_dpid]
        dst_mac = self.switches[dst_dpid].ctx.transport_mac if dst_dpid else \
            src_sw.ctx.upstream_mac
        packet = codec.encode_packet(action.message, action.src, action.dst)
        frame = inet.ethernet(dst_mac, src_sw.ctx.transport_mac, packet)
        uplink = src_sw.ctx.uplink_port
        if dst_dpid == src_dpid:
            return Output(src_dpid, [self._packet_out(self.ofproto.OFPP_TABLE, frame, uplink)])
        return Output(src_dpid, [self._packet_out(uplink, frame)])

    def _advert_out(self, sw: _Switch, advert: act.SendRouterAdvert) -> Output:
        ctx = sw.ctx
        frame = ndp.router_advertisement(ctx.gateway_mac, ctx.gateway_ll, advert.mac,
                                         ndp.ALL_NODES, advert.prefixes)
        self.counters["tx_RA"] += 1
        return Output(ctx.maar.dpid, [self._packet_out(advert.port, frame)])

    def _packet_out(self, port: int, frame: bytes, in_port: Optional[int] = None):
        ofp = self.ofproto
        return self.parser.OFPPacketOut(
            datapath=None, buffer_id=ofp.OFP_NO_BUFFER,
            in_port=ofp.OFPP_CONTROLLER if in_port is None else in_port,
            actions=[self.parser.OFPActionOutput(port)], data=frame)
