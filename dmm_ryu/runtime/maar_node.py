"""One MAAR behind its switch: the core :class:`~dmm_ryu.core.maar.Maar`,
its OpenFlow context, and what arrives on its access links.

The node turns frames from MNs into core events (authorising the MN by its
MAC), the core's route/tunnel actions into one bundle of FlowMods per
event, and its RAs into packet-outs.  The core's BCEs are the one record of
installed state: a reconnecting switch is rebuilt from them.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, List, Optional

from dmm_ryu.core import actions as act
from dmm_ryu.core.events import LinkDown, MnAttached
from dmm_ryu.core.maar import Maar
from dmm_ryu.of import flows
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.runtime.directory import NodeInfo
from dmm_ryu.runtime.node import Node, NodeEnv, Output
from dmm_ryu.runtime.snapshot import MaarState, TunnelState
from dmm_ryu.wire import ndp

LOG = logging.getLogger("dmm")


class MaarNode(Node):
    """A MAAR: access links towards MNs, transport towards the domain."""

    def __init__(self, info: NodeInfo, core: Maar, ctx: MaarDataplane, env: NodeEnv,
                 authorise: Callable[[str], Optional[str]]) -> None:
        super().__init__(info, core, env)
        self.ctx = ctx
        self._authorise = authorise
        self._attach_time: Dict[str, float] = {}

    @property
    def access_ports(self):
        return self.ctx.maar.access_ports

    # -- the switch ----------------------------------------------------------

    def switch_connected(self) -> List[Output]:
        """Wipe our flows and rebuild the whole rule set from the core's BCEs."""
        self.connected = True
        installed = list(self.core.installed())
        routes = [a for a in installed if isinstance(a, act.InstallLocalRoute)]
        tunnels = [a for a in installed if isinstance(a, act.InstallTunnel)]
        msgs = flows.rebuild_flows(self.ctx, routes, tunnels, self.env.parser)
        return [Output(self.info.dpid, msgs, atomic=True)]

    def link_down(self, port: int, now: float) -> List[Output]:
        """An access link went down: the core starts its detach guard."""
        if port not in self.access_ports:
            return []
        return self.handle(LinkDown(port), now)

    # -- frames from the access side ----------------------------------------

    def access_frame(self, port: int, nd: ndp.NdPacket, now: float) -> List[Output]:
        """An RS or DAD probe (attachment), or an NS for the shared gateway."""
        if _detects_attachment(nd):
            return self.mn_frame(port, nd.eth_src, now)
        if nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and nd.target == self.ctx.gateway_ll:
            return [self.answer_neighbour(nd, port, self.ctx.gateway_mac)]
        self.env.stats.error("packet_in_ignored")
        return []

    def mn_frame(self, port: int, mac: str, now: float) -> List[Output]:
        """A frame from ``mac`` on an access port: the core decides whether
        it is a new attachment or a repeat (which only gets the RA again)."""
        mn_id = self._authorise(mac)
        if mn_id is None:
            self.env.stats.error("mn_unauthorised")
            LOG.warning("dmm: MN %s on %s port %d is not authorised; no prefix",
                        mac, self.name, port)
            return []
        refused = self.core.counters["refused_pool_exhausted"]
        out = self.handle(MnAttached(mn_id, mac, port), now)
        if self.core.counters["refused_pool_exhausted"] > refused:
            self._pool_exhausted(mn_id)
        if self.core.registering(mn_id) and mn_id not in self._attach_time:
            self._attach_time[mn_id] = now
            LOG.info("dmm: MN %s (%s) attached to %s port %d", mn_id, mac, self.name, port)
        return out

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
        """The core's flow changes of one event form one bundle, sent first."""
        changes = [a for a in actions if isinstance(a, flows.FLOW_ACTIONS)]
        out = super().execute([a for a in actions if not isinstance(a, flows.FLOW_ACTIONS)],
                              now)
        if not changes:
            return out
        msgs = [m for a in changes for m in flows.flows_for(a, self.ctx, self.env.parser)]
        return [Output(self.info.dpid, msgs, atomic=True)] + out

    def local_action(self, action, now: float) -> List[Output]:
        if isinstance(action, act.SendRouterAdvert):
            return [self._advertise(action, now)]
        return super().local_action(action, now)

    def _advertise(self, advert: act.SendRouterAdvert, now: float) -> Output:
        """RA to the MN; the first after an attachment ends the handover,
        whose latency (attachment detected to S-MAAR forwarding ready) is
        recorded for the mode."""
        started = self._attach_time.pop(advert.mn_id, None)
        if started is not None:
            self.env.stats.latency(self.env.mode, now - started)
            LOG.info("dmm: MN %s registered at %s in %.1f ms, prefixes %s", advert.mn_id,
                     self.name, (now - started) * 1000, _PrefixList(advert.prefixes))
        frame = ndp.router_advertisement(self.ctx.gateway_mac, self.ctx.gateway_ll, advert.mac,
                                         ndp.ALL_NODES, advert.prefixes)
        self.env.stats.count("tx", "RA")
        return Output(self.info.dpid, [self.packet_out(advert.port, frame)])

    # -- what operators see --------------------------------------------------

    def snapshot(self) -> MaarState:
        core = self.core
        tunnels = sorted((TunnelState(a.prefix, a.peer, a.role, a.mn_id)
                          for a in core.installed() if isinstance(a, act.InstallTunnel)),
                         key=lambda t: (int(t.prefix.network_address), t.role))
        return MaarState(
            name=self.name, address=self.info.address, pool_size=core.pool.size,
            pool_used=core.pool.used, connected=self.connected,
            bindings=sum(1 for bce in core.bces.values() if bce.final and not bce.leaving),
            attached=len(core.attachments.present), tunnels=tuple(tunnels))


def _detects_attachment(nd: ndp.NdPacket) -> bool:
    """RS, or the DAD probe an MN sends first when its link comes up."""
    return nd.icmp_type == ndp.ROUTER_SOLICITATION or (
        nd.icmp_type == ndp.NEIGHBOR_SOLICITATION and nd.src.is_unspecified)


class _PrefixList:
    """The prefixes of an RA for the registration log line, formatted only
    when logged."""

    __slots__ = ("prefixes",)

    def __init__(self, prefixes) -> None:
        self.prefixes = prefixes

    def __str__(self) -> str:
        return ", ".join(f"{p.prefix}{'' if p.preferred_lifetime else ' (anchored elsewhere)'}"
                         for p in self.prefixes)
