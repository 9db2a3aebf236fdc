"""One MAAR behind its switch: the core :class:`~dmm_ryu.core.maar.Maar`,
its OpenFlow context, and what arrives on its access links.

The node turns frames from MNs into core events (authorising the MN by its
MAC), the core's route/tunnel actions into one bundle of FlowMods per
event, and its RAs into packet-outs, all packed to bytes (of/packed.py,
of/packed_state.py).  The core's BCEs are the one record of installed
state: a reconnecting switch is rebuilt from them.

Admission (issue 14): an MN delivered to here (local route or serving
tunnel) and not away from its port has rules matching its MAC; any other
source's IPv6 is punted, and that first frame is a core MnAttached.  The
frames punted before the MN's rules were in are re-injected through the
pipeline right after the bundle that admits it.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from dmm_ryu.core import actions as act
from dmm_ryu.core.config import Mode
from dmm_ryu.core.events import LinkDown, MnAttached, TimerFired
from dmm_ryu.core.maar import Maar
from dmm_ryu.of import admission, flows, packed, packed_state
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.runtime.node import Node, NodeEnv, Output
from dmm_ryu.runtime.punts import PuntBuffer
from dmm_ryu.runtime.snapshot import MaarState, TunnelState
from dmm_ryu.runtime.traffic import POLL, TrafficPoll
from dmm_ryu.wire import inet, ndp

LOG = logging.getLogger("dmm")
#: Seconds between the bundle admitting an MN and the re-injection of its
#: held frames.  Its own rules are in at once, but in proxy mode the CMD's
#: PBA to this S-MAAR and its PBU to the P-MAAR leave together, so an
#: uplink frame tunnelled at once can reach the P-MAAR before its anchor
#: rules: a few ms let the anchor catch up (the fake domain shows the race).
REINJECT_DELAY = 0.005


class MaarNode(Node):
    """A MAAR: access links towards MNs, transport towards the domain."""

    def __init__(self, info: NodeInfo, core: Maar, ctx: MaarDataplane, env: NodeEnv,
                 authorise: Callable[[str], Optional[str]]) -> None:
        super().__init__(info, core, env)
        self.ctx = ctx
        self._authorise = authorise
        self._attach_time: Dict[str, float] = {}
        #: MN-ID -> the (mac, port) places its admission rules are in for.
        self._admitted: Dict[str, Tuple[Tuple[str, int], ...]] = {}
        self._punted = PuntBuffer()
        #: gateway link-local -> MAC: the shared gateway, or every DLIF
        self._gateway_macs = {ll: mac for mac, ll in ctx.gateways}
        domain = core.config.domain
        #: tunnel counter polling for prefix GC (runtime/traffic.py); None when off
        self.traffic = (TrafficPoll(domain.timers.prefix_idle)
                        if domain.timers.prefix_idle and domain.mode is not Mode.PMIPV6 else None)

    @property
    def access_ports(self):
        return self.ctx.maar.access_ports

    # -- the switch ----------------------------------------------------------

    def switch_connected(self) -> List[Output]:
        """Punt meters first (not bundled), then wipe our flows and rebuild
        the whole rule set from the core's BCEs."""
        self.connected = True
        installed = list(self.core.installed())
        routes = [a for a in installed if isinstance(a, act.InstallLocalRoute)]
        tunnels = [a for a in installed if isinstance(a, act.InstallTunnel)]
        self._admitted = {m: p for m in self.core.bces if (p := self._places(m))}
        admitted = set().union(*self._admitted.values())
        rebuild = packed_state.rebuild_flows(self.ctx, routes, tunnels, admitted)
        return [Output(self.info.dpid, [], raw=packed_state.meter_mods(self.ctx)),
                Output(self.info.dpid, [], atomic=True, raw=rebuild)]

    def link_down(self, port: int, now: float) -> List[Output]:
        """An access link went down: the core starts its detach guard, and
        the MNs there lose their admission, so their next frame (here or on
        any other port) is punted and tells the core where they are."""
        if port not in self.access_ports:
            return []
        return self.handle(LinkDown(port), now)

    def link_up(self, port: int, now: float) -> List[Output]:
        """An access link came up (the L2 trigger of issue 14): detection
        is armed by the punt rule already; an MN still admitted on that
        port (its link-down was missed) must prove itself again, as after
        a link-down, so no stale admission hides the newcomer's frames."""
        if port not in self.access_ports or not any(
                port == p for places in self._admitted.values() for _, p in places):
            return []
        return self.handle(LinkDown(port), now)

    def reload(self, now: float) -> int:
        """Reloading cancels every timer of the node, the poll's too."""
        if self.traffic is not None:
            self.traffic.armed = False
        return super().reload(now)

    # -- frames from the access side ----------------------------------------

    def handle(self, event, now: float) -> List[Output]:
        """The re-injection timer is the node's own; every other event goes
        to the core (:meth:`Node.handle`: stored, then carried out)."""
        if isinstance(event, TimerFired) and event.key[0] == "reinject":
            return self._reinject(event.key[1], now)
        if isinstance(event, TimerFired) and event.key == POLL and self.traffic is not None:
            return self.traffic.poll(self, now)
        out = super().handle(event, now)
        self.core.bces.settle()
        if self.traffic is not None:
            self.traffic.arm(self, now)
        return out

    def carry_out(self, event, actions: list, now: float) -> List[Output]:
        """The event's flow changes, the admission changes of the MNs it
        touched and their held frames go out in that order (the frames after
        the bundle commit, on the same connection)."""
        touched = {a.mn_id for a in actions if isinstance(a, flows.FLOW_ACTIONS)}
        if isinstance(event, MnAttached):
            touched.add(event.mn_id)
        elif isinstance(event, LinkDown):
            touched |= {m for m, places in self._admitted.items()
                        if any(p == event.port for _, p in places)}
        return self._carry_out(actions, touched, now)

    def data_frame(self, port: int, frame: bytes, now: float) -> List[Output]:
        """IPv6 punted as from an unknown source MAC: an MN arriving here
        (a roam needs no RS); the frame is held until the MN's rules are in."""
        return self.mn_frame(port, inet.mac_text(frame[6:12]), now, frame)

    def access_frame(self, port: int, nd: ndp.NdPacket, now: float) -> List[Output]:
        """An RS or DAD probe (attachment), or an NS for the shared gateway
        or a DLIF (answered with that DLIF's MAC)."""
        if _detects_attachment(nd):
            return self.mn_frame(port, nd.eth_src, now)
        gateway_mac = self._gateway_macs.get(nd.target)
        if nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and gateway_mac is not None:
            return [self.answer_neighbour(nd, port, gateway_mac)]
        self.env.stats.error("packet_in_ignored")
        return []

    def mn_frame(self, port: int, mac: str, now: float,
                 frame: Optional[bytes] = None) -> List[Output]:
        """A frame from ``mac`` on an access port: the core decides whether
        it is a new attachment or a repeat (which only gets the RA again).
        A data ``frame`` is held for re-injection."""
        mn_id = self._authorise(mac)
        if mn_id is None:
            self.env.stats.error("mn_unauthorised")
            LOG.warning("dmm: MN %s on %s port %d is not authorised; no prefix",
                        mac, self.name, port)
            return []
        dropped = False  # this frame itself was dropped (and counted) by the buffer
        if frame is not None:
            for reason in self._punted.add(mn_id, port, frame, now):
                self.env.stats.error(reason)
                dropped = dropped or reason != "punt_buffer_expired"
        refused = self.core.counters["refused_pool_exhausted"]
        started = mn_id in self._attach_time
        if not started and not self._served(mn_id):
            self._attach_time[mn_id] = now  # an RA in this very event ends it (an LMA's own MN)
        out = self.handle(MnAttached(mn_id, mac, port, solicited=frame is None), now)
        if self.core.counters["refused_pool_exhausted"] > refused:
            self._pool_exhausted(mn_id)
        elif self.idle and not dropped:  # a repeat while registering, or held down
            self.env.stats.error("mn_frame_absorbed")
        if self.core.registering(mn_id):
            if not started:
                LOG.info("dmm: MN %s (%s) attached to %s port %d", mn_id, mac, self.name, port)
        elif not started and not self._served(mn_id):
            self._attach_time.pop(mn_id, None)  # refused or held down
        # registered at once (an LMA's own MN): the event's RA, carried out
        # when its round's commit is done, ends the registration
        return out

    def _served(self, mn_id: str) -> bool:
        """The MN has an accepted registration here."""
        bce = self.core.bces.get(mn_id)
        return bce is not None and bce.final and bce.is_serving

    def _pool_exhausted(self, mn_id: str) -> None:
        """Counted, and logged on the first refusal and every 1000th after."""
        self.env.stats.error("pool_exhausted")
        refusals = self.core.counters["refused_pool_exhausted"]
        if refusals % 1000 == 1:
            LOG.warning("dmm: %s has no free prefix for MN %s (%d refused so far; %d of %d "
                        "prefixes in use)", self.name, mn_id, refusals, self.core.pool.used,
                        self.core.pool.size)

    # -- core actions only a MAAR has -----------------------------------------

    def execute(self, actions: list, now: float) -> List[Output]:
        return self._carry_out(actions, (), now)

    def _carry_out(self, actions: list, touched: Iterable[str], now: float) -> List[Output]:
        """The core's flow changes of one event and the admission changes
        of the ``touched`` MNs form one bundle, sent first; then the rest
        (PBUs, RAs).  The held frames of an MN admitted now follow after
        REINJECT_DELAY."""
        changes = [a for a in actions if isinstance(a, flows.FLOW_ACTIONS)]
        out = super().execute([a for a in actions if not isinstance(a, flows.FLOW_ACTIONS)],
                              now)
        pack = packed.packer(self.ctx).flows_for
        msgs = [m for a in changes for m in pack(a)]
        for mn_id in sorted(touched):
            before, after = self._admitted.get(mn_id, ()), self._places(mn_id)
            msgs += packed_state.admission_flows(self.ctx, before, after)
            if not after:
                self._admitted.pop(mn_id, None)
            else:
                # Overwritten, not popped and inserted again: a pop leaves a
                # dummy slot in the table per handover (issue 17, third pass).
                self._admitted[mn_id] = after
                if self._punted.holds(mn_id):
                    self.env.timers.start(self.name, ("reinject", mn_id), now + REINJECT_DELAY)
        bundle = [Output(self.info.dpid, [], atomic=True, raw=msgs)] if msgs else []
        return bundle + out

    def _places(self, mn_id: str) -> Tuple[Tuple[str, int], ...]:
        """Where the MN should be admitted: where it is delivered to, unless
        its port went down and it has not been seen since."""
        bce = self.core.bces.get(mn_id)
        if bce is None or mn_id in self.core.attachments.absent:
            return set()
        # The attachment table's own (MAC, port) pair rather than an equal
        # copy: _admitted keeps this per MN (56 bytes, issue 17).
        here = self.core.attachments.present.get(mn_id)
        return tuple(here if place == here else place for place in admission.places(bce.installed))

    def _reinject(self, mn_id: str, now: float) -> List[Output]:
        """The MN's held frames, back into the pipeline from their port
        (after the bundle that admitted it, on the same connection)."""
        frames, expired = self._punted.take(mn_id, now)
        for _ in range(expired):
            self.env.stats.error("punt_buffer_expired")
        if not frames:
            return []
        for _ in frames:
            self.env.stats.count("tx", "reinjected")
        table = self.env.ofproto.OFPP_TABLE
        return [Output(self.info.dpid, [], raw=[self.packet_out(table, frame, port)
                                                for port, frame in frames])]

    def local_action(self, action, now: float) -> List[Output]:
        if isinstance(action, act.SendRouterAdvert):
            return self._advertise(action, now)
        return super().local_action(action, now)

    def _advertise(self, advert: act.SendRouterAdvert, now: float) -> List[Output]:
        """RAs to the MN, one per router it sees (:func:`_by_gateway`); the
        first after an attachment ends the handover, whose latency
        (attachment detected to S-MAAR forwarding ready) is recorded for
        the mode."""
        started = self._attach_time.pop(advert.mn_id, None)
        if started is not None:
            self.env.stats.latency(self.env.mode, now - started)
            LOG.info("dmm: MN %s registered at %s in %.1f ms, prefixes %s", advert.mn_id,
                     self.name, (now - started) * 1000, _PrefixList(advert.prefixes))
        frames = [ndp.router_advertisement(mac, ll, advert.mac, ndp.ALL_NODES, prefixes,
                                           router_lifetime=lifetime)
                  for (mac, ll), prefixes, lifetime in _by_gateway(self.ctx, advert.prefixes)]
        for _ in frames:
            self.env.stats.count("tx", "RA")
        return [Output(self.info.dpid, [], raw=[self.packet_out(advert.port, f) for f in frames])]

    # -- what operators see --------------------------------------------------

    def counts(self) -> dict:
        """The figures /metrics and /health report, without walking the
        BCEs (the binding cache keeps its head count: core/census.py)."""
        core = self.core
        core.bces.settle()
        return {"bindings": core.bces.bindings, "tunnels": core.bces.tunnels,
                "connected": self.connected, "pool_used": core.pool.used,
                "pool_size": core.pool.size}

    def snapshot(self) -> MaarState:
        core = self.core
        core.bces.settle()
        tunnels = sorted((TunnelState(a.prefix, a.peer, a.role, a.mn_id)
                          for a in core.installed() if isinstance(a, act.InstallTunnel)),
                         key=lambda t: (int(t.prefix.network_address), t.role))
        return MaarState(
            name=self.name, address=self.info.address, pool_size=core.pool.size,
            pool_used=core.pool.used, connected=self.connected,
            bindings=core.bces.bindings,
            attached=len(core.attachments.present), tunnels=tuple(tunnels))


def _detects_attachment(nd: ndp.NdPacket) -> bool:
    """RS, or the DAD probe an MN sends first when its link comes up."""
    return nd.icmp_type == ndp.ROUTER_SOLICITATION or (
        nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and nd.src.is_unspecified)


def _by_gateway(ctx: MaarDataplane, prefixes) -> List[tuple]:
    """(gateway, its prefixes, router lifetime) per router the MN sees, in
    the order the prefixes come (the local one first).  Shared gateway: one
    RA with every prefix, as RFC 5213's MAG sends.  dlif: one RA per anchor
    carrying only the prefixes it anchors (RFC 8885 DLIF); a DLIF all of
    whose prefixes are withdrawn says router lifetime 0, so the MN drops
    it as a default router (RFC 4861 6.3.4).  No prefix at all: one RA
    from this MAAR's own gateway, as before."""
    groups: Dict[tuple, list] = {}
    for prefix in prefixes:
        groups.setdefault(ctx.gateway_for(prefix.prefix), []).append(prefix)
    if not groups:
        groups[ctx.gateway_of(ctx.me)] = []
    return [(gateway, tuple(group), _router_lifetime(ctx, group))
            for gateway, group in groups.items()]


def _router_lifetime(ctx: MaarDataplane, group) -> int:
    if ctx.dlif and not any(p.valid_lifetime for p in group):
        return 0
    return ndp.ROUTER_LIFETIME


class _PrefixList:
    """The prefixes of an RA for the registration log line, formatted only
    when logged."""

    __slots__ = ("prefixes",)

    def __init__(self, prefixes) -> None:
        self.prefixes = prefixes

    def __str__(self) -> str:
        return ", ".join(f"{p.prefix}{'' if p.preferred_lifetime else ' (anchored elsewhere)'}"
                         for p in self.prefixes)
