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

import logging
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv6Network
from typing import Dict, List, Optional, Tuple

from dmm_ryu.of import compat

from dmm_ryu.wire import inet

from dmm_ryu.wire import ndp
from dmm_ryu.config.domainfile import DomainFile
from dmm_ryu.core import actions as act
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import MessageReceived, MnAttached, MnDetached, TimerFired
from dmm_ryu.core.maar import Maar
from dmm_ryu.runtime.assembly import build
from dmm_ryu.wire.mh import codec
from dmm_ryu.wire.mh.errors import MHDecodeError
from dmm_ryu.wire.mh.model import ProxyBindingAck
from dmm_ryu.of import flows
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.runtime.timers import TimerQueue
from dmm_ryu.ops.view import Stats

LOG = logging.getLogger("dmm")
CMD = "cmd"  # node key of the CMD; MAARs are keyed by name
MH_PROTO = 135


@dataclass
class Output:
    """OpenFlow messages for one switch.  ``atomic``: send as one bundle."""

    dpid: int
    msgs: list
    atomic: bool = False


@dataclass(frozen=True)
class _Wire:
    """How a switch meets the transport: signalling leaves and enters here."""

    dpid: int
    name: str
    mac: str
    uplink: int
    transport_ports: Tuple[int, ...]


@dataclass
class _Switch:
    """What the runtime remembers per MAAR switch to rebuild it on reconnect."""

    ctx: MaarDataplane
    routes: Dict[IPv6Network, act.InstallLocalRoute] = field(default_factory=dict)
    tunnels: Dict[IPv6Network, act.InstallTunnel] = field(default_factory=dict)
    adverts: Dict[str, act.SendRouterAdvert] = field(default_factory=dict)
    holdings: Counter = field(default_factory=Counter)

    def release(self, mn_id: str) -> None:
        """One route or tunnel of ``mn_id`` is gone from this switch."""
        self.holdings[mn_id] -= 1
        if self.holdings[mn_id] <= 0:
            del self.holdings[mn_id]
            self.adverts.pop(mn_id, None)


class DmmController:
    """The CMD and the MAARs of one domain, behind OpenFlow."""

    def __init__(self, domain: DomainFile, parser=compat.ofproto_v1_3_parser,
                 ofproto=compat.ofproto_v1_3) -> None:
        configs = build(domain)
        self.domain = domain
        self.notes = configs.notes
        self.parser, self.ofproto = parser, ofproto
        self.cmd = Cmd(configs.cmd)
        self.maars: Dict[str, Maar] = {n: Maar(c) for n, c in configs.maars.items()}
        self.switches: Dict[int, _Switch] = {
            m.dpid: _Switch(MaarDataplane.for_maar(domain, m.name, domain.upstream_mac))
            for m in domain.maars.values()
        }
        self.wires: Dict[int, _Wire] = {
            dpid: _Wire(dpid, sw.ctx.maar.name, sw.ctx.transport_mac, sw.ctx.uplink_port,
                        sw.ctx.maar.transport_ports)
            for dpid, sw in self.switches.items()}
        cmd = domain.cmd
        if cmd.maar is None:
            self.wires[cmd.dpid] = _Wire(cmd.dpid, CMD, transport_mac(cmd.dpid), cmd.port,
                                         (cmd.port,))
        self._dpid_of = {m.name: m.dpid for m in domain.maars.values()}
        self._dpid_of[CMD] = cmd.dpid
        self._node_at = {m.address: m.name for m in domain.maars.values()}
        self._node_at[domain.cmd.address] = CMD
        self.connected: set = set()
        self.attached: Dict[str, Tuple[int, int]] = {}
        self.stats = Stats()
        self._attach_time: Dict[Tuple[str, str], float] = {}
        self.timers = TimerQueue()
        self._leaving: Dict[str, Tuple[float, int, int]] = {}

    # -- switches ------------------------------------------------------------

    def switch_connected(self, dpid: int) -> List[Output]:
        """Wipe our flows and rebuild the switch's whole rule set from state."""
        if dpid not in self.wires:
            self.stats.error("unknown_datapath")
            return []
        self.connected.add(dpid)
        sw = self.switches.get(dpid)
        if sw is None:
            msgs = flows.cmd_switch_flows(self.domain.cmd, self.parser)
        else:
            msgs = flows.rebuild_flows(sw.ctx, sw.routes.values(), sw.tunnels.values(),
                                       self.parser)
        return [Output(dpid, msgs, atomic=True)]

    def switch_disconnected(self, dpid: int) -> None:
        self.connected.discard(dpid)

    def _wire_of(self, address) -> Optional[_Wire]:
        """Where the node owning ``address`` (a MAAR or the CMD) is wired."""
        node = self._node_at.get(address)
        return None if node is None else self.wires.get(self._dpid_of[node])

    def node_name(self, address) -> str:
        """The MAAR (or ``cmd``) owning a global address; the address as
        text when it is nobody's."""
        return self._node_at.get(address, str(address))

    def is_maar(self, dpid: int) -> bool:
        return dpid in self.switches

    def switch_name(self, dpid: int) -> Optional[str]:
        """The configured MAAR (or ``cmd``) behind a datapath id, if any."""
        wire = self.wires.get(dpid)
        return wire.name if wire else None

    # -- packet-in -----------------------------------------------------------

    def packet_in(self, dpid: int, in_port: int, frame: bytes, now: float) -> List[Output]:
        """Classify a punted frame: Mobility Header, or ND on either side."""
        wire = self.wires.get(dpid)
        if wire is None or len(frame) < 54:
            self.stats.error("packet_in_ignored")
            return []
        if frame[12:14] == b"\x86\xdd" and frame[20] == MH_PROTO:
            return self._mobility_header(wire, frame[14:], now)
        nd = ndp.parse_nd(frame)
        if nd is None:
            self.stats.error("packet_in_ignored")
            return []
        sw = self.switches.get(dpid)
        if sw and in_port in sw.ctx.maar.access_ports and _detects_attachment(nd):
            return self._solicited(sw, nd, in_port, now)
        if nd.icmp_type == ndp.NEIGHBOR_SOLICITATION:
            return self._neighbour(wire, sw, nd, in_port)
        self.stats.error("packet_in_ignored")
        return []

    def _mobility_header(self, wire: _Wire, packet: bytes, now: float) -> List[Output]:
        """Decode and hand to the addressee; spoofed or broken input stops here."""
        try:
            src, dst, message = codec.decode_packet(packet)
        except MHDecodeError as err:
            self.stats.error(f"mh_malformed_{err.reason.value}")
            LOG.warning("dmm: malformed Mobility Header at %s: %s", wire.name, err)
            return []
        node = self._node_at.get(dst)
        if src not in self._node_at or node is None:
            self.stats.error("mh_from_unknown_node")
            LOG.warning("dmm: Mobility Header %s -> %s dropped: not a configured MAAR/CMD",
                        src, dst)
            return []
        if self._wire_of(dst) is not wire:
            self.stats.error("mh_wrong_switch")
            return []
        self.stats.count("rx", *_kind(message))
        LOG.info("dmm: %s rx %s", node, _Described(src, dst, message))
        return self._handle(node, MessageReceived(src, dst, message), now)

    def _solicited(self, sw: _Switch, nd: ndp.NdPacket, port: int, now: float) -> List[Output]:
        """An RS or DAD probe: a new attachment, or a repeat that just gets
        the RA again."""
        mn_id = self.domain.mn_id_for(nd.eth_src)
        if mn_id is None:
            self.stats.error("mn_unauthorised")
            LOG.warning("dmm: MN %s on %s port %d is not authorised; no prefix",
                        nd.eth_src, sw.ctx.maar.name, port)
            return []
        where = (sw.ctx.maar.dpid, port)
        if self.attached.get(nd.eth_src) == where:
            advert = sw.adverts.get(mn_id)
            return [self._advert_out(sw, advert)] if advert else []
        self.attached[nd.eth_src] = where
        self._leaving.pop(nd.eth_src, None)
        self._attach_time[(sw.ctx.maar.name, mn_id)] = now
        LOG.info("dmm: MN %s (%s) attached to %s port %d", mn_id, nd.eth_src,
                 sw.ctx.maar.name, port)
        return self._handle(sw.ctx.maar.name, MnAttached(mn_id, nd.eth_src, port), now)

    def _neighbour(self, wire: _Wire, sw: Optional[_Switch], nd: ndp.NdPacket,
                   port: int) -> List[Output]:
        """Answer NS for the shared gateway (a MAAR's access side) or for
        the MAAR's or CMD's address (transport side)."""
        if sw and port in sw.ctx.maar.access_ports and nd.target == sw.ctx.gateway_ll:
            mac = sw.ctx.gateway_mac
        elif port in wire.transport_ports and self._wire_of(nd.target) is wire:
            mac = wire.mac
        else:
            self.stats.error("ns_ignored")
            return []
        frame = ndp.neighbor_advertisement(mac, nd.target, nd.eth_src, nd.src)
        return [Output(wire.dpid, [self._packet_out(port, frame)])]

    def port_down(self, dpid: int, port: int, now: float) -> None:
        """An access link went down.  That alone is no detachment (draft
        3.5: the MN may be moving); an MN not seen at any MAAR within
        ``detach_guard`` seconds has left the domain."""
        for mac, where in self.attached.items():
            if where == (dpid, port):
                self._leaving[mac] = (now + self.domain.detach_guard, dpid, port)

    def _left(self, now: float) -> List[Output]:
        """MNs whose guard ran out: their MAAR ends the session (MnDetached)."""
        out: List[Output] = []
        for mac, (deadline, dpid, port) in list(self._leaving.items()):
            if deadline > now:
                continue
            del self._leaving[mac]
            if self.attached.get(mac) == (dpid, port):
                del self.attached[mac]
                mn_id = self.domain.mn_id_for(mac)
                LOG.info("dmm: MN %s left the domain at %s", mn_id, self.switch_name(dpid))
                out += self._handle(self.switch_name(dpid), MnDetached(mn_id), now)
        return out

    def deregister(self, mn_id: str, now: float) -> Optional[List[Output]]:
        """Operator-forced end of a session: the S-MAAR de-registers it as
        if the MN had left the domain.  ``None`` when the CMD has no BCE."""
        bce = self.cmd.store.get(mn_id)
        if bce is None:
            return None
        node = self._node_at[bce.proxy_coa]
        for mac, (dpid, _) in list(self.attached.items()):
            if dpid == self._dpid_of[node] and self.domain.mn_id_for(mac) == mn_id:
                del self.attached[mac]
        LOG.info("dmm: forced de-registration of MN %s at %s", mn_id, node)
        return self._handle(node, MnDetached(mn_id), now)

    # -- timers --------------------------------------------------------------

    def next_deadline(self) -> Optional[float]:
        deadlines = [d for d, _, _ in self._leaving.values()]
        protocol = self.timers.next_deadline()
        return min(deadlines + ([protocol] if protocol is not None else []), default=None)

    def expire(self, now: float) -> List[Output]:
        """Fire every timer due at ``now``."""
        out: List[Output] = self._left(now)
        due = self.timers.pop_due(now)
        while due is not None:
            node, key = due
            out += self._handle(node, TimerFired(key), now)
            due = self.timers.pop_due(now)
        return out

    # -- core actions --------------------------------------------------------

    def _core(self, node: str):
        return self.cmd if node == CMD else self.maars[node]

    def _handle(self, node: str, event, now: float) -> List[Output]:
        return self._execute(node, self._core(node).handle(event, now), now)

    def _execute(self, node: str, actions: list, now: float) -> List[Output]:
        """Carry out a core node's actions; its flow changes form one bundle."""
        out: List[Output] = []
        flow_msgs: list = []
        for action in actions:
            if isinstance(action, flows.FLOW_ACTIONS):
                flow_msgs += self._flow_action(node, action)
            elif isinstance(action, act.SendMessage):
                out.append(self._send(node, action))
            elif isinstance(action, act.SendRouterAdvert):
                out.append(self._advertise(node, action, now))
            elif isinstance(action, act.StartTimer):
                self.timers.start(node, action.key, action.at)
            elif isinstance(action, act.CancelTimer):
                self.timers.cancel(node, action.key)
        if flow_msgs:
            out.insert(0, Output(self._dpid_of[node], flow_msgs, atomic=True))
        return out

    def _flow_action(self, node: str, action) -> list:
        """Remember the MAAR's routes and tunnels (for a rebuild), then
        translate.  Once an MN holds nothing here, its cached RA goes too."""
        sw = self.switches[self._dpid_of[node]]
        table = sw.routes if isinstance(action, (act.InstallLocalRoute, act.RemoveLocalRoute)) \
            else sw.tunnels
        old = table.pop(action.prefix, None)
        if old is not None:
            sw.release(old.mn_id)
        if isinstance(action, (act.InstallLocalRoute, act.InstallTunnel)):
            table[action.prefix] = action
            sw.holdings[action.mn_id] += 1
        return flows.flows_for(action, sw.ctx, self.parser)

    def _send(self, node: str, action: act.SendMessage) -> Output:
        """A PBU/PBA as a real IPv6 packet leaving the sender's switch.

        When the addressee lives on the same switch (the CMD beside its
        MAAR) the packet re-enters that switch's pipeline as if it had
        arrived on the transport port, and is punted from there.
        """
        self.stats.count("tx", *_kind(action.message))
        LOG.info("dmm: %s tx %s", node, _Described(action.src, action.dst, action.message))
        src = self.wires[self._dpid_of[node]]
        dst = self._wire_of(action.dst)
        if dst is None:
            self.stats.error("tx_unknown_destination")
            return Output(src.dpid, [])
        packet = codec.encode_packet(action.message, action.src, action.dst)
        frame = inet.ethernet(dst.mac, src.mac, packet)
        if dst is src:
            return Output(src.dpid, [self._packet_out(self.ofproto.OFPP_TABLE, frame,
                                                      src.uplink)])
        return Output(src.dpid, [self._packet_out(src.uplink, frame)])

    def _advertise(self, node: str, advert: act.SendRouterAdvert, now: float) -> Output:
        """RA to the MN; the first after an attachment ends the handover,
        whose latency (attach detection to S-MAAR forwarding ready) is
        recorded for the mode."""
        sw = self.switches[self._dpid_of[node]]
        sw.adverts[advert.mn_id] = advert
        started = self._attach_time.pop((node, advert.mn_id), None)
        if started is not None:
            self.stats.latency(self.domain.mode, now - started)
            LOG.info("dmm: MN %s registered at %s in %.1f ms, prefixes %s", advert.mn_id, node,
                     (now - started) * 1000, ", ".join(
                         f"{p.prefix}{'' if p.preferred_lifetime else ' (anchored elsewhere)'}"
                         for p in advert.prefixes))
        return self._advert_out(sw, advert)

    def _advert_out(self, sw: _Switch, advert: act.SendRouterAdvert) -> Output:
        ctx = sw.ctx
        frame = ndp.router_advertisement(ctx.gateway_mac, ctx.gateway_ll, advert.mac,
                                         ndp.ALL_NODES, advert.prefixes)
        self.stats.count("tx", "RA")
        return Output(ctx.maar.dpid, [self._packet_out(advert.port, frame)])

    def _packet_out(self, port: int, frame: bytes, in_port: Optional[int] = None):
        ofp = self.ofproto
        return self.parser.OFPPacketOut(
            datapath=None, buffer_id=ofp.OFP_NO_BUFFER,
            in_port=ofp.OFPP_CONTROLLER if in_port is None else in_port,
            actions=[self.parser.OFPActionOutput(port)], data=frame)


def _detects_attachment(nd: ndp.NdPacket) -> bool:
    """RS, or the DAD probe an MN sends first when its link comes up."""
    return nd.icmp_type == ndp.ROUTER_SOLICITATION or (
        nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and nd.src.is_unspecified)


def _kind(message) -> Tuple[str, Optional[int]]:
    """Stats key of a message: type and, for a PBA, its status."""
    if isinstance(message, ProxyBindingAck):
        return "PBA", message.status
    return "PBU", None


class _Described:
    """One log line's worth of a PBU/PBA (who, which MN, what, which
    prefixes), formatted only if the line is actually logged: the
    signalling path must not pay for text nobody reads."""

    __slots__ = ("src", "dst", "message")

    def __init__(self, src, dst, message) -> None:
        self.src, self.dst, self.message = src, dst, message

    def __str__(self) -> str:
        src, dst, message = self.src, self.dst, self.message
        opts = message.options
        text = (f"{_kind(message)[0]} {src} -> {dst} mn={opts.mn_id} seq={message.sequence} "
                f"lifetime={message.lifetime} hnp={','.join(map(str, opts.hnps)) or '-'}")
        if isinstance(message, ProxyBindingAck):
            text += f" status={message.status}"
        if opts.serving_maar:
            text += f" serving_maar={opts.serving_maar}"
        for pm in opts.previous_maars:
            text += f" previous_maar={pm.address}:{pm.prefix}"
        return text
