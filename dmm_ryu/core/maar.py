"""The MAAR state machine (draft section 3): an access router that anchors
the prefixes of its own pool and tunnels those anchored elsewhere.

Sans-I/O: ``handle(event, now)`` returns actions.  The MAAR talks only to the
CMD's address and, in locator mode, answers S-MAARs directly; it never calls
the CMD.  Timer keys are ``(kind, mn_id)`` with kind ``retx`` (PBU
retransmission), ``refresh`` (re-registration before expiry), ``expire`` (a
P-MAAR's BCE lifetime, "renew" de-registration only) and ``locate`` (a
P-MAAR of the session is still unknown: its direct PBA in locator mode, or
the further PBA of relay mode, is overdue), ``detach`` (the guard after
an access link went down, see :mod:`dmm_ryu.core.attach`) and ``drain`` (an
idle anchored prefix is released, see :mod:`dmm_ryu.core.maar_gc`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, List, Optional, Set

from dmm_ryu.core import routes
from dmm_ryu.core.attach import Attachments, Seen
from dmm_ryu.core.actions import (Action, AdvertisedPrefix, CancelTimer, SendMessage,
                                  SendRouterAdvert, StartTimer)
from dmm_ryu.core.backoff import Backoff
from dmm_ryu.core.census import BindingCache
from dmm_ryu.core.config import MaarConfig, Mode
from dmm_ryu.core.events import (LinkDown, MessageReceived, MnAttached, MnDetached, TimerFired,
                                 TunnelTraffic)
from dmm_ryu.core.lma import BINDING, GONE, LmaSide
from dmm_ryu.core.maar_anchor import AnchorSide
from dmm_ryu.core.maar_gc import DRAIN, PrefixCollection, PrefixUse
from dmm_ryu.core.maar_peers import PeerLearning
from dmm_ryu.core.messages import REQUEST_PREFIX, next_seq, options, pbu_flags
from dmm_ryu.core.pool import PrefixPool
from dmm_ryu.core.revocation import REVOCATION_MESSAGES, REVOKE, Outstanding, RevocationSide
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.trust import dlifs_ok, in_pools, pba_believed, previous_ok
from dmm_ryu.wire.mh.model import (HandoffIndicator, ProxyBindingAck, ProxyBindingUpdate, Status,
                                   timestamp_from_unix)

TIMER_KINDS = ("retx", "refresh", "expire", "locate", DRAIN, BINDING)


class Maar(LmaSide, AnchorSide, PeerLearning, PrefixCollection, RevocationSide):
    """One MAAR.  ``bces`` is its binding cache (MN-ID -> :class:`MaarBce`),
    ``pool`` its exclusive prefix pool, ``attachments`` which MN is on which
    access port, ``counters`` what happened."""

    def __init__(self, config: MaarConfig) -> None:
        config.check()
        self.config = config
        self.address: IPv6Address = config.address
        self.pool = PrefixPool(config.pool, config.prefix_len)
        self.pools = config.pools
        self.bces: BindingCache = BindingCache()  # MN-ID -> MaarBce
        self.counters: Counter = Counter()
        self._domain = config.domain
        self._timers = config.domain.timers
        self._backoff = Backoff(self._timers)
        self._locating: Dict[str, Set[IPv6Network]] = {}
        self._cmd_seqs: Dict[str, int] = {}
        self._prefix_mn: Dict[IPv6Network, str] = {}  # see _held_by_another
        self._usage: Dict[str, Dict[IPv6Network, PrefixUse]] = {}  # see PrefixCollection
        self._pmipv6 = config.domain.mode is Mode.PMIPV6
        #: who answers our PBUs: the CMD, or in pmipv6 mode the LMA (RFC 5213)
        self._anchor = config.domain.lma if self._pmipv6 else config.domain.cmd
        self._lma_gone: Dict[tuple, int] = {}  # see LmaSide
        self._revoking = Outstanding()  # see RevocationSide
        self.attachments = Attachments(self._timers.detach_guard, self._timers.retransmit_initial)

    @property
    def busy(self) -> bool:
        """A PBU awaits its PBA (or a BRI its BRA), or (locator mode) a
        P-MAAR's direct PBA is awaited, or (a pmipv6 MAG) a detach guard
        runs: unless a BRI revokes it first, the MAG's de-registration after
        the guard ends the handover.  The simulator settles on this."""
        guarding = self._pmipv6 and not self.is_lma and bool(self.attachments.absent)
        return len(self._backoff) > 0 or bool(self._locating) or guarding

    def installed(self):
        """Every Install* action in force here: the one record of what the
        switch should hold, from which a reconnect rebuilds it."""
        for bce in self.bces.values():
            yield from bce.installed

    def registering(self, mn_id: str) -> bool:
        """A registration of an MN attached here awaits the CMD's PBA."""
        bce = self.bces.get(mn_id)
        return bce is not None and bce.is_serving and not bce.final and bce.pending is not None

    def handle(self, event, now: float) -> List[Action]:
        if isinstance(event, MessageReceived):
            return self._received(event, now)
        if isinstance(event, MnAttached):
            return self._attached(event, now)
        if isinstance(event, MnDetached):
            return self._detached(event, now)
        if isinstance(event, LinkDown):
            return self.attachments.link_down(event.port, now)
        if isinstance(event, TimerFired):
            return self._timer(event.key, now)
        if isinstance(event, TunnelTraffic):
            return self._traffic(event, now)
        raise TypeError(f"MAAR cannot handle {event!r}")

    # -- the MN comes and goes -------------------------------------------

    def _attached(self, event: MnAttached, now: float) -> List[Action]:
        """A frame from the MN: a repeat gets the RA again (once registered);
        a new attachment gets a temporal BCE and a PBU (draft 3.1).  Every
        new attachment registers anew, even at the S-MAAR: after a ping-pong
        the CMD must learn that this latest attachment wins (newer timestamp)."""
        seen = self.attachments.seen(event.mn_id, event.mac, event.port, now)
        bce = self.bces.get(event.mn_id)
        if seen is Seen.REPEAT and bce is not None and bce.is_serving:
            return [self._advert(bce, now=now)] if bce.final and event.solicited else []
        if seen is Seen.HELD:
            self.counters["attach_held_down"] += 1
            return []
        bce = bce or self._new_bce(event.mn_id, self.config.anchors_locally)
        if bce is None:
            self.attachments.hold(event.mn_id, event.port, now)
            return []
        bce.mac, bce.port = event.mac, event.port
        bce.serving, bce.leaving, bce.final = None, False, False
        actions = self.attachments.arrived(event.mn_id, event.mac, event.port)
        actions += self._register(bce, HandoffIndicator.UNKNOWN, now)
        return actions + [CancelTimer(("expire", bce.mn_id))]

    def _new_bce(self, mn_id: str, anchor: bool) -> Optional[MaarBce]:
        """A temporal BCE, with a prefix from the pool if we ``anchor`` (not
        as a PMIPv6 MAG); None (and a counter) when the pool is exhausted:
        the MN gets no prefix and no registration; likewise (without touching
        the pool) once ``max_bindings`` BCEs are here."""
        limit = self.config.max_bindings
        if limit is not None and len(self.bces) >= limit:
            self.counters["refused_max_bindings"] += 1
            return None
        local = None
        if anchor:
            local = self.pool.allocate(mn_id)
            if local is None:
                self.counters["refused_pool_exhausted"] += 1
                return None
        bce = self.bces[mn_id] = MaarBce.temporal(mn_id, local)
        return bce

    def _detached(self, event: MnDetached, now: float) -> List[Action]:
        """The MN left the domain at its S-MAAR: stop forwarding at once and
        de-register the whole session at the CMD (lifetime 0)."""
        bce = self.bces.get(event.mn_id)
        if bce is None or not bce.is_serving:
            return []
        if self._pmipv6 and self.is_lma:
            return self._lma_left(bce)
        bce.leaving = True
        actions = routes.sync(bce) + self._stop_timers(bce, ("refresh", "locate"))
        return actions + self._send_pbu(bce, 0, HandoffIndicator.UNKNOWN, now)

    # -- registration with the CMD -----------------------------------------

    def _register(self, bce: MaarBce, handoff: int, now: float) -> List[Action]:
        if self._pmipv6 and self.is_lma:
            return self._lma_local(bce, now)
        if handoff != HandoffIndicator.NOT_CHANGED:
            bce.ts = timestamp_from_unix(now)
        return self._send_pbu(bce, self._timers.lifetime, handoff, now)

    def _send_pbu(self, bce: MaarBce, lifetime: int, handoff: int,
                  now: float, hnps=None) -> List[Action]:
        """PBU (A, H, P flags; D in DMM modes) carrying MN-ID, HNP, HI, ATT and timestamp.

        Retransmissions keep the timestamp: it dates the attachment, not
        the packet, so a late retry cannot overtake a newer attachment.  A
        pmipv6 MAG speaks RFC 5213 instead (:meth:`_mag_fields`).  ``hnps``: a release's.
        """
        hnp = bce.local if bce.local is not None else REQUEST_PREFIX
        timestamp = bce.ts if handoff != HandoffIndicator.NOT_CHANGED else timestamp_from_unix(now)
        if self._pmipv6:
            hnp, timestamp = self._mag_fields(bce, now)
        bce.seq = next_seq(bce.seq)
        bce.pending = ProxyBindingUpdate(
            sequence=bce.seq, lifetime=lifetime, flags=pbu_flags(self._domain.mode),
            options=options(bce.mn_id, hnps or (hnp,), handoff, self._domain.access_tech, timestamp))
        self.counters["pbu_sent"] += 1
        return [self._to_anchor(bce.pending), self._backoff.start(("retx", bce.mn_id), now)]

    def _mag_fields(self, bce: MaarBce, now: float):
        """RFC 5213 6.9.1.1: a MAG names the HNP once the LMA assigned it
        (the all-zero HNP asks for it, also after a handoff to this MAG),
        and the Timestamp option carries the time of sending (5.5.1)."""
        known = sorted(bce.p_maars)
        return (known[0] if known else REQUEST_PREFIX), timestamp_from_unix(now)

    def _to_anchor(self, message) -> SendMessage:
        return SendMessage(self.address, self._anchor, message)

    def _retransmit(self, bce: MaarBce, now: float) -> List[Action]:
        """Fresh sequence number on each retry (RFC 6275 11.8); give up after
        the configured limit and forget the MN here."""
        timer = self._backoff.retry(("retx", bce.mn_id), now)
        if timer is None:
            self.counters["gave_up"] += 1
            return self._gave_up(bce, now)
        bce.seq = next_seq(bce.seq)
        bce.pending = replace(bce.pending, sequence=bce.seq)
        if self._pmipv6:
            stamp = timestamp_from_unix(now)
            bce.pending = replace(bce.pending, options=replace(bce.pending.options,
                                                               timestamp=stamp))
        self.counters["pbu_retransmitted"] += 1
        return [self._to_anchor(bce.pending), timer]

    # -- messages ----------------------------------------------------------

    def _received(self, event: MessageReceived, now: float) -> List[Action]:
        message = event.message
        if isinstance(message, REVOCATION_MESSAGES):
            return self._revocation(event.src, message, now)
        if isinstance(message, ProxyBindingUpdate):
            if self._pmipv6 and self.is_lma:
                return self._lma_pbu(event.src, message, now)
            return self._pbu(event.src, message, now)
        if not pba_believed(message, self._domain.mode):
            return self._dropped("dropped_no_d_flag")
        if event.src != self._anchor:
            return self._direct(event.src, message, now)
        opts = message.options
        if not (in_pools(opts.hnps, self.pools)
                and previous_ok(opts.previous_maars, self.pools, self.address)):
            return self._dropped("dropped_pba_prefix")
        if not dlifs_ok(opts, (p.address for p in opts.previous_maars), self._domain.dlifs):
            return self._dropped("dropped_pba_dlif")
        bce = self.bces.get(opts.mn_id)
        if bce is None:
            return self._dropped("stale_pba")
        return self._pba(bce, message, now)

    def _dropped(self, counter: str) -> List[Action]:
        """An input not acted on: nothing changes, one reason is counted."""
        self.counters[counter] += 1
        return []

    def _pba(self, bce: MaarBce, pba: ProxyBindingAck, now: float) -> List[Action]:
        pending = bce.pending
        if pending is not None and pba.status == Status.SEQUENCE_OUT_OF_WINDOW:
            return self._resync(bce, pba, now)
        if pending is None or pba.sequence != pending.sequence:
            return self._follow_up(bce, pba)
        actions = self._stop_timers(bce, ("retx",))
        bce.pending = None
        if self._is_release(bce, pending):
            return actions + self._released(pba)
        if pba.status != Status.ACCEPTED:
            self.counters[f"rejected_{pba.status}"] += 1
            return actions + self._failed(bce, now)
        if pending.lifetime == 0:
            return actions + self._dereg_answered(bce, pba, now)
        return actions + self._accepted(bce, pba, now)

    def _resync(self, bce: MaarBce, pba: ProxyBindingAck, now: float) -> List[Action]:
        """135: the PBA carries the last sequence number the CMD accepted
        instead of ours (so it cannot be matched by sequence number); continue
        after it (RFC 6275 11.7.1)."""
        self.counters["resynced"] += 1
        bce.seq = pba.sequence
        return self._retransmit(bce, now)

    def _accepted(self, bce: MaarBce, pba: ProxyBindingAck, now: float) -> List[Action]:
        """Finalise the BCE (draft 3.1), set up routes and tunnels for the
        P-MAAR list (3.2/3.4), advertise, and plan the re-registration.
        The PBA's HNPs are the whole session: a P-MAAR entry outside it
        belongs to a session that ended meanwhile and is dropped."""
        gone = set(bce.p_maars) - set(pba.options.hnps)
        routes.drop_p_maars(bce, gone)
        self._learn(bce, self._anchored_by(pba))
        actions = self._finalise(bce, pba.lifetime, now, gone)
        missing = self._unlocated(bce, pba.options.hnps)
        if missing:
            self._locating[bce.mn_id] = missing
            actions.append(StartTimer(("locate", bce.mn_id), now + self._timers.retransmit_initial))
        return actions

    def _anchored_by(self, pba: ProxyBindingAck):
        """(prefix, anchor) pairs of an accepted PBA: the Previous MAAR
        options of the CMD's, or in pmipv6 mode the HNPs of the LMA's."""
        if self._pmipv6:
            return ((p, self._anchor) for p in pba.options.hnps)
        return ((p.prefix, p.address) for p in pba.options.previous_maars)

    def _finalise(self, bce: MaarBce, lifetime: int, now: float, gone=()) -> List[Action]:
        """The registration is accepted for ``lifetime``: the BCE is final,
        routes and tunnels follow it, the MN gets its RA, and the
        re-registration is planned."""
        bce.final, bce.lifetime = True, lifetime
        self._prune_usage(bce)
        refresh = now + lifetime * self._timers.refresh_ratio
        return routes.sync(bce) + [self._advert(bce, gone, now),
                                   StartTimer(("refresh", bce.mn_id), refresh)]

    def _advert(self, bce: MaarBce, gone=(), now: Optional[float] = None) -> SendRouterAdvert:
        """The local prefix preferred; anchored ones deprecated (preferred
        lifetime 0) but valid, so new flows use the local prefix (draft A.2).
        A PMIPv6 MAG has no local prefix: its anchored prefix is the home one.
        Prefixes that left the session are withdrawn (valid lifetime 0); a
        draining one counts down (``_valid_left``)."""
        lifetime = bce.lifetime
        local = [] if bce.local is None or bce.local in gone else [bce.local]
        deprecated = 0 if local else lifetime
        prefixes = [AdvertisedPrefix(p, lifetime, lifetime) for p in local]
        valid = {p: self._valid_left(bce, p, now) for p in sorted(bce.p_maars)}
        prefixes += [AdvertisedPrefix(p, min(deprecated, v), v) for p, v in valid.items() if v >= 0]
        prefixes += [AdvertisedPrefix(p, 0, 0) for p in sorted(gone)]
        return SendRouterAdvert(bce.mn_id, bce.mac, bce.port, tuple(prefixes))

    # -- timers ------------------------------------------------------------

    def _timer(self, key, now: float) -> List[Action]:
        if key[0] == REVOKE:
            return self._lma_revoke_timer(key, now)
        kind, mn_id = key
        bce = self.bces.get(mn_id)
        if kind == "detach":
            return self._guard_expired(mn_id, bce, now)
        if kind == GONE:
            return self._lma_forget_gone(mn_id)
        if bce is None:
            return []
        if kind == BINDING:
            return self._lma_expired(bce)
        if kind == "retx":
            return self._retransmit(bce, now) if bce.pending is not None else []
        if kind == DRAIN or kind == "refresh" and self._is_release(bce, bce.pending):
            return self._gc_timer(kind, bce, now)
        if kind == "expire" and bce.serving is not None and bce.pending is None:
            return self._send_pbu(bce, 0, HandoffIndicator.NOT_CHANGED, now)
        if kind == "locate" and self._locating.pop(mn_id, None) is None:
            return []
        if kind in ("refresh", "locate") and bce.is_serving and bce.pending is None:
            self.counters[f"{kind}_registrations"] += 1
            return self._register(bce, HandoffIndicator.NOT_CHANGED, now)
        return []

    def _guard_expired(self, mn_id: str, bce: Optional[MaarBce], now: float) -> List[Action]:
        """Not seen since its link went down: the MN left the domain here."""
        if not self.attachments.guard_expired(mn_id) or bce is None:
            return []
        self.counters["left_domain"] += 1
        return self._detached(MnDetached(mn_id), now)

    def _stop_timers(self, bce: MaarBce, kinds) -> List[Action]:
        if "retx" in kinds:
            self._backoff.stop(("retx", bce.mn_id))
        if "locate" in kinds:
            self._locating.pop(bce.mn_id, None)
        return [CancelTimer((kind, bce.mn_id)) for kind in kinds]

    def _unanswered(self, bce: MaarBce, now: float) -> List[Action]:
        """The CMD never answered.  A registration is given up (the MN may
        try again); a "renew" P-MAAR keeps forwarding and asks again a
        lifetime later: silence says nothing about the MN, and the CMD
        still lists the prefix (it de-registers it if the session ended)."""
        if bce.serving is None:
            return self._failed(bce, now)
        bce.pending = None
        return [StartTimer(("expire", bce.mn_id), now + bce.lifetime)]

    def _failed(self, bce: MaarBce, now: float) -> List[Action]:
        """The registration was refused or never answered: forget the MN,
        and let its next frame after a short hold-down try again.  An MN
        whose link already went down is not held: its next frame is a new
        attachment (it moved away meanwhile, e.g. the refusal was 157)."""
        attached = bce.is_serving and bce.mn_id in self.attachments.present
        actions = self._drop(bce)
        if attached:
            self.attachments.hold(bce.mn_id, bce.port, now)
        return actions

    def _drop(self, bce: MaarBce) -> List[Action]:
        """Forget the MN here: routes, tunnels, timers, and the prefix goes
        back to the pool.  An MN still attached is told its prefixes are no
        longer valid."""
        actions = []
        if bce.is_serving:
            withdrawn = set(bce.p_maars) | ({bce.local} if bce.local is not None else set())
            bce.p_maars = routes.NO_P_MAARS
            actions.append(self._advert(bce, withdrawn))
        bce.leaving, bce.pending = True, None
        actions += routes.sync(bce) + self._stop_timers(bce, TIMER_KINDS)
        if bce.local is not None:
            self.pool.release(bce.local)
        self.bces.pop(bce.mn_id, None)
        self._cmd_seqs.pop(bce.mn_id, None)
        self._usage.pop(bce.mn_id, None)
        return actions + self.attachments.gone(bce.mn_id)
