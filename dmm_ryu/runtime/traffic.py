"""Reading the tunnels' packet counters for prefix garbage collection
(``timers.prefix_idle``; the core decides: :mod:`dmm_ryu.core.maar_gc`).

Every ``poll_interval`` seconds a MAAR node asks its switch for the flow
stats of its tunnel rules (one OFPFlowStatsRequest, filtered by the TUNNEL
cookie kind, of/pipeline.py).  The reply, however many multipart messages
it takes, is summed per tunnel (entry and exit rule share one cookie: both
directions count) and each serving tunnel's sum becomes a
:class:`~dmm_ryu.core.events.TunnelTraffic` event of its MN.  Only the
S-MAAR's counters are read: it alone may release a prefix (draft 3.5),
and every packet of the prefix crosses its rules either way.  Replies are
not matched to requests by xid: a reply still arriving when the next poll
asks again adds its counts to the new one, which can only make a prefix
look busy (kept one interval longer), never release a busy one.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Tuple

from dmm_ryu.core import actions as act
from dmm_ryu.core.events import TunnelTraffic
from dmm_ryu.of import flows
from dmm_ryu.of import pipeline as pl
from dmm_ryu.runtime.node import Output

#: The node's own timer key (never reaches the core, never stored).
POLL = ("traffic_poll", "")
#: Every flow whose cookie is of kind TUNNEL.
TUNNEL_COOKIE = pl.cookie(pl.Kind.TUNNEL)
TUNNEL_COOKIE_MASK = pl.COOKIE_APP_MASK | 0xFF << 48


def poll_interval(prefix_idle: float) -> float:
    """A quarter of the idle time (so idleness is seen within 25 %), from
    0.5 s for tests to a minute for idle times of hours."""
    return min(max(prefix_idle / 4, 0.5), 60.0)


class TrafficPoll:
    """The counter polling of one MAAR node."""

    def __init__(self, prefix_idle: float) -> None:
        self.interval = poll_interval(prefix_idle)
        self.armed = False
        #: tunnel cookie -> (MN-ID, prefix) of the serving tunnels asked about
        self._asked: Dict[int, Tuple[str, object]] = {}
        self._parts: Counter = Counter()  # packets per cookie, multipart so far

    def arm(self, node, now: float) -> None:
        if not self.armed:
            self.armed = True
            node.env.timers.start(node.name, POLL, now + self.interval)

    def poll(self, node, now: float) -> list:
        """The timer fired: ask the switch (when connected and serving any
        tunnel) and poll again an interval later."""
        self.armed = False
        self.arm(node, now)
        serving = [a for a in node.core.installed()
                   if isinstance(a, act.InstallTunnel) and a.role == act.SERVING]
        if not node.connected or not serving:
            return []
        self._asked = {flows.tunnel_cookie(node.ctx, a): (a.mn_id, a.prefix) for a in serving}
        self._parts.clear()
        node.env.stats.count("tx", "flow_stats_request")
        return [request(node.info.dpid, node.env.parser, node.env.ofproto)]

    def readings(self, entries: Iterable[Tuple[int, int]], more: bool) -> List[TunnelTraffic]:
        """(cookie, packet count) per flow of one reply message; the events
        once the last part arrived (``more`` False)."""
        for cookie, packets in entries:
            if cookie in self._asked:
                self._parts[cookie] += packets
        if more:
            return []
        events = [TunnelTraffic(*self._asked[c], n) for c, n in sorted(self._parts.items())]
        self._parts.clear()
        return events


def request(dpid: int, parser, ofproto):
    """The Output asking for every tunnel rule's counters."""
    msg = parser.OFPFlowStatsRequest(None, 0, ofproto.OFPTT_ALL, ofproto.OFPP_ANY,
                                     ofproto.OFPG_ANY, TUNNEL_COOKIE, TUNNEL_COOKIE_MASK,
                                     parser.OFPMatch())
    return Output(dpid, [msg])
