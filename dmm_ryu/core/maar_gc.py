"""Prefix garbage collection at the S-MAAR (``timers.prefix_idle``, issue 16).

An anchored prefix (one a P-MAAR anchors and tunnels to this S-MAAR) that
carried no packet for ``prefix_idle`` seconds is released:

1. *Idle*: the runtime reports the packet counters of the prefix's tunnel
   rules (:class:`~dmm_ryu.core.events.TunnelTraffic`); a count that has
   not moved for ``prefix_idle`` seconds starts the drain.
2. *Drain*: one RA gives the prefix valid lifetime ``D = min(lifetime,
   2 h)`` (preferred 0, as every anchored prefix).  No RA before ever gave
   it more than ``lifetime``, so ``D`` is at least what the MN has left,
   and RFC 4862 5.5.3 (e) takes a valid lifetime that is no smaller than
   the remaining one (or above 2 h): the MN's address now expires exactly
   at ``until = start + D``.  Later RAs (refresh, RS) count down
   ``until - now``; a shorter one would be ignored by the 2-hour rule, so
   the drain cannot be cut short and is never attempted.
3. *Release* at ``until``: the S-MAAR removes its tunnel, sends a final RA
   with valid lifetime 0 and de-registers the prefix's mobility session at
   the CMD: a PBU with lifetime 0, HI 5 and the prefix as its HNP.  Only
   the S-MAAR may de-register (draft 3.5); the CMD drops the prefix from
   the BCE, answers, and de-registers the P-MAAR (its lifetime-0 PBU), which
   removes its rules and frees the pool entry (draft 3.5's session end,
   for one prefix: each P-MAAR holds an independent mobility session).

Packets during the drain (a flow resumed) end it: the prefix gets its full
valid lifetime back (a longer one is always taken) and idleness starts
again.  Only DMM modes collect: a PMIPv6 MAG's one prefix is its home one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from ipaddress import IPv6Network
from typing import Dict, List

from dmm_ryu.core import routes
from dmm_ryu.core.actions import Action, CancelTimer, StartTimer
from dmm_ryu.core.events import TunnelTraffic
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.wire.mh.model import HandoffIndicator, ProxyBindingAck, Status

#: RFC 4862 5.5.3 (e): a valid lifetime below this only shortens an
#: address that has more left than this.
TWO_HOURS = 7200
DRAIN = "drain"


@dataclass(frozen=True)
class PrefixUse:
    """What the S-MAAR knows about the traffic of one anchored prefix: the
    last packet count seen, when it last moved, and (draining) when the
    MN's address expires (0: not draining)."""

    prefix: IPv6Network
    packets: int
    since: float
    until: float = 0.0


class PrefixCollection:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar`: uses its BCEs, timers,
    counters, ``_advert`` and ``_send_pbu``; ``_usage`` is MN-ID -> prefix
    -> :class:`PrefixUse`."""

    _usage: Dict[str, Dict[IPv6Network, PrefixUse]]

    def _traffic(self, event: TunnelTraffic, now: float) -> List[Action]:
        """A counter reading: a new prefix starts its idle clock, moved
        counters restart it (and end a drain), a still counter past
        ``prefix_idle`` starts the drain.  A count below the last one is
        the switch's rules rebuilt (a reconnect, a restart): a new
        baseline, not traffic."""
        bce = self.bces.get(event.mn_id)
        if (not self._timers.prefix_idle or self._pmipv6 or bce is None or not bce.final
                or not bce.is_serving or event.prefix not in bce.p_maars):
            return self._dropped("traffic_ignored")
        uses = self._usage.setdefault(event.mn_id, {})
        use = uses.get(event.prefix)
        if use is not None and event.packets < use.packets:
            uses[event.prefix] = replace(use, packets=event.packets)  # rules rebuilt: reset
            return []
        if use is None or event.packets != use.packets:
            uses[event.prefix] = PrefixUse(event.prefix, event.packets, now)
            return self._resumed(bce, now) if use is not None and use.until else []
        if use.until or now - use.since < self._timers.prefix_idle:
            return []
        return self._drain(bce, use, now)

    def _drain(self, bce: MaarBce, use: PrefixUse, now: float) -> List[Action]:
        """Idle: the MN's address for the prefix is set to expire in D."""
        self.counters["prefix_draining"] += 1
        until = now + min(bce.lifetime, TWO_HOURS)
        self._usage[bce.mn_id][use.prefix] = replace(use, until=until)
        return [self._advert(bce, now=now), self._drain_timer(bce.mn_id)]

    def _resumed(self, bce: MaarBce, now: float) -> List[Action]:
        """Traffic during the drain: the full lifetime again."""
        self.counters["prefix_resumed"] += 1
        return [self._advert(bce, now=now), self._drain_timer(bce.mn_id)]

    def _drain_timer(self, mn_id: str) -> Action:
        """The earliest end of a drain of the MN's prefixes, or none."""
        ends = [u.until for u in self._usage.get(mn_id, {}).values() if u.until]
        key = (DRAIN, mn_id)
        return StartTimer(key, min(ends)) if ends else CancelTimer(key)

    def _gc_timer(self, kind: str, bce: MaarBce, now: float) -> List[Action]:
        """A drain ended, or a re-registration falls due while a release
        awaits its answer (one PBU at a time): it follows shortly after."""
        if kind == DRAIN:
            return self._drained(bce, now)
        return [StartTimer((kind, bce.mn_id), now + self._timers.retransmit_initial)]

    def _drained(self, bce: MaarBce, now: float) -> List[Action]:
        """Drains that ended: tunnel gone, last RA, de-registration of
        those prefixes at the CMD (after the PBU awaiting its answer)."""
        if not bce.is_serving:  # leaving the domain: its drains end with it
            self._prune_usage(bce)
        uses = self._usage.get(bce.mn_id, {})
        due = sorted(p for p, u in uses.items() if u.until and u.until <= now)
        if not due:
            return [self._drain_timer(bce.mn_id)]
        if bce.pending is not None:
            return [StartTimer((DRAIN, bce.mn_id), now + self._timers.retransmit_initial)]
        routes.drop_p_maars(bce, due)
        self._prune_usage(bce)
        self.counters["prefix_released"] += len(due)
        actions = routes.sync(bce) + [self._advert(bce, due, now), self._drain_timer(bce.mn_id)]
        return actions + self._send_pbu(bce, 0, HandoffIndicator.NOT_CHANGED, now, hnps=due)

    def _valid_left(self, bce: MaarBce, prefix: IPv6Network, now) -> int:
        """The valid lifetime to advertise for an anchored prefix: the
        binding's, or while draining what is left (-1: leave it out of an
        RA sent without knowing the time)."""
        use = self._usage.get(bce.mn_id, {}).get(prefix)
        if use is None or not use.until:
            return bce.lifetime
        return -1 if now is None else max(0, math.ceil(use.until - now))

    def _prune_usage(self, bce: MaarBce) -> None:
        """Forget the traffic of prefixes that left the P-MAAR list (all of
        them once this MAAR no longer serves the MN)."""
        uses = self._usage.get(bce.mn_id)
        if uses is None:
            return
        for prefix in [p for p in uses if p not in bce.p_maars or not bce.is_serving]:
            del uses[prefix]
        if not uses:
            del self._usage[bce.mn_id]

    @staticmethod
    def _is_release(bce: MaarBce, pbu) -> bool:
        """A lifetime-0 PBU of an MN still served here releases prefixes
        (leaving the domain marks the BCE ``leaving`` first)."""
        return pbu is not None and pbu.lifetime == 0 and bce.is_serving

    def _released(self, pba: ProxyBindingAck) -> List[Action]:
        """The CMD's answer to a release; the tunnel is gone already.  A
        refusal changes nothing: the CMD's next PBA still lists the prefix
        and its tunnel comes back (and idles again)."""
        key = "release_accepted" if pba.status == Status.ACCEPTED else f"release_{pba.status}"
        self.counters[key] += 1
        return []

    def _gave_up(self, bce: MaarBce, now: float) -> List[Action]:
        """The CMD never answered: a release is as if refused
        (``_released``), any other PBU see ``Maar._unanswered``."""
        if not self._is_release(bce, bce.pending):
            return self._unanswered(bce, now)
        self.counters["release_unanswered"] += 1
        bce.pending = None
        return []
