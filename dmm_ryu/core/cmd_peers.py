"""The CMD's side of the signalling with P-MAARs: PBUs with the Serving
MAAR option or lifetime 0, their retransmission, the PBAs that answer them,
and relay mode's aggregation of those PBAs into the S-MAAR's PBA.

A P-MAAR that stays silent past the retransmission budget loses its
prefixes from the session; it is then owed a de-registration, retried every
lifetime until it answers, so a MAAR that was cut off longer than the
budget is reconciled when it returns (no orphaned BCE, tunnel or prefix).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import List, Optional, Set

from dmm_ryu.core.actions import Action, CancelTimer, SendMessage, StartTimer
from dmm_ryu.core.messages import options, pbu_flags
from dmm_ryu.core.store import CmdBce
from dmm_ryu.core.trust import dlifs_ok, pba_believed
from dmm_ryu.wire.mh.model import HandoffIndicator, ProxyBindingUpdate, Status


@dataclass(eq=False)
class Aggregation:
    """Relay mode: the S-MAAR's PBU waits for the P-MAARs in ``waiting``.
    ``answered`` once a PBA went out (all answered, or the timeout)."""

    __slots__ = ("pbu", "waiting", "answered")

    pbu: ProxyBindingUpdate
    waiting: Set[IPv6Address]
    answered: bool


class PeerSignalling:
    """Mixed into :class:`~dmm_ryu.core.cmd.Cmd`: the methods below use its
    store, outbox, backoff, relays and sequence counters.

    Sequence numbers run per (MN, P-MAAR) (RFC 6275 9.5.1: one window per
    binding); a P-MAAR that refuses one with 135 reports the last it
    accepted, and the PBU goes again after it.  The counter of a pair is
    dropped once the P-MAAR answered its de-registration.
    """

    def _notify(self, bce: CmdBce, target: IPv6Address, now: float) -> List[Action]:
        """PBU with the Serving MAAR option; the HNPs are those anchored at
        ``target``."""
        hnps = bce.anchored_at(target)
        pbu = self._pbu_to(bce.mn_id, hnps, bce.proxy_coa, bce.lifetime, bce.ts)
        return self._send(target, pbu, now)

    def _pbu_to(self, mn_id: str, hnps, serving: Optional[IPv6Address], lifetime: int,
                timestamp: int) -> ProxyBindingUpdate:
        """A PBU to a P-MAAR; ``_send`` numbers it."""
        opts = options(mn_id, hnps, HandoffIndicator.BETWEEN_MAGS,
                       self._domain.access_tech, timestamp, serving_maar=serving)
        return ProxyBindingUpdate(sequence=0, lifetime=lifetime, options=opts,
                                  flags=pbu_flags(self._domain.mode))

    def _send(self, target: IPv6Address, pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        pbu = replace(pbu, sequence=self._seqs.next(pbu.options.mn_id, target))
        key = ("retx", pbu.options.mn_id, target)
        self._outbox[key] = (target, pbu)
        return [SendMessage(self.address, target, pbu), self._backoff.start(key, now)]

    def _pba(self, src: IPv6Address, pba, now: float) -> List[Action]:
        if not pba_believed(pba, self._domain.mode):
            self.counters["dropped_no_d_flag"] += 1
            return []
        key = ("retx", pba.options.mn_id, src)
        sent = self._outbox.get(key)
        if sent is not None and pba.status == Status.SEQUENCE_OUT_OF_WINDOW:
            self.counters["resynced"] += 1
            self._seqs.set(pba.options.mn_id, src, pba.sequence)
            return self._retransmit(key, self.store.get(pba.options.mn_id), now)
        if sent is None or sent[1].sequence != pba.sequence:
            self.counters["stale_pba"] += 1
            return []
        if pba.status == Status.ACCEPTED and not self._claimable(pba.options.mn_id, src,
                                                                 pba.options.hnps):
            self.counters["dropped_pba_prefix"] += 1
            return []
        if not dlifs_ok(pba.options, (src,), self._domain.dlifs):
            self.counters["dropped_pba_dlif"] += 1
            return []
        del self._outbox[key]
        actions: List[Action] = [self._backoff.stop(key)]
        bce = self.store.get(pba.options.mn_id)
        if sent[1].lifetime == 0:
            self._seqs.forget(pba.options.mn_id, src)
            return actions
        if bce is None:
            return actions + self._orphan(src, pba, now)
        if pba.status == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED:
            return actions + self._newer_news(bce, src, sent[1], now)
        if pba.status != Status.ACCEPTED:
            self.counters[f"p_maar_refused_{pba.status}"] += 1
            return actions + self._lost(bce, src)
        return actions + self._confirmed(bce, src, pba.options.hnps)

    def _confirmed(self, bce: CmdBce, peer: IPv6Address, hnps) -> List[Action]:
        """A P-MAAR's PBA is the truth about what it anchors: take a prefix
        it reports, drop one it no longer has."""
        for prefix in bce.anchored_at(peer):
            if prefix not in hnps:
                del bce.anchors[prefix]
        for prefix in hnps:
            bce.anchors.setdefault(prefix, peer)
        self._owners.record(bce.mn_id, hnps)
        self.store.put(bce)
        return self._collected(bce, peer)

    def _newer_news(self, bce: CmdBce, peer: IPv6Address, sent: ProxyBindingUpdate,
                    now: float) -> List[Action]:
        """157 from a MAAR: the MN attached there after the registration our
        PBU reported.  If a newer registration arrived since, tell it that
        one; otherwise its own registration is on the way: stop waiting."""
        if bce.ts > (sent.options.timestamp or 0):
            return self._notify(bce, peer, now)
        return self._collected(bce, peer)

    def _orphan(self, src: IPv6Address, pba, now: float) -> List[Action]:
        """A P-MAAR acted on our PBU after the session ended (the MN left
        while its registration was still running): it must forget again."""
        if pba.status != Status.ACCEPTED or not pba.options.hnps:
            return []
        self.counters["orphans_forgotten"] += 1
        stamp = pba.options.timestamp or 0
        return self._forget(pba.options.mn_id, pba.options.hnps, src, stamp, now)

    def _lost(self, bce: CmdBce, peer: IPv6Address) -> List[Action]:
        """A P-MAAR refused or never answered: its prefixes leave the session
        (nothing can reach them any more)."""
        return self._confirmed(bce, peer, ())

    def _collected(self, bce: CmdBce, peer: IPv6Address) -> List[Action]:
        """Relay: one P-MAAR answered.  Before the PBA went out, wait for
        the rest; after it (timeout), pass this P-MAAR on in a further PBA."""
        relay = self._relays.get(bce.mn_id)
        if relay is None or peer not in relay.waiting:
            return []
        relay.waiting.discard(peer)
        if relay.answered:
            late = [p for p in bce.p_maars() if p.address == peer]
            actions = [self._to_s_maar(bce, relay.pbu, late)] if late else []
        elif relay.waiting:
            return []
        else:
            actions = self._aggregate(bce, relay)
        if not relay.waiting:
            self._relays.pop(bce.mn_id, None)
            actions.append(CancelTimer(("agg", bce.mn_id)))
        return actions

    def _aggregate(self, bce: CmdBce, relay: Aggregation) -> List[Action]:
        """The S-MAAR's PBA with a Previous MAAR option per confirmed P-MAAR
        prefix.  With no prefix yet (PMIPv6: the LMA has not answered) there
        is nothing to send, whatever the timeout; a session left with no
        prefix at all (the LMA could not allocate) is refused with 130."""
        if not bce.anchors and relay.waiting:
            return []
        relay.answered = True
        if not bce.anchors:
            self._relays.pop(bce.mn_id, None)
            self.store.delete(bce.mn_id)
            return self._refuse(bce.proxy_coa, relay.pbu, Status.INSUFFICIENT_RESOURCES)
        confirmed = [p for p in bce.p_maars() if p.address not in relay.waiting]
        return [self._to_s_maar(bce, relay.pbu, confirmed)]

    def _retransmit(self, key, bce: Optional[CmdBce], now: float) -> List[Action]:
        sent = self._outbox.get(key)
        if sent is None:
            return []
        timer = self._backoff.retry(key, now)
        if timer is None:
            self.counters["gave_up"] += 1
            del self._outbox[key]
            return self._unreachable(bce, sent[0], sent[1], now)
        pbu = replace(sent[1], sequence=self._seqs.next(sent[1].options.mn_id, sent[0]))
        self._outbox[key] = (sent[0], pbu)
        self.counters["pbu_retransmitted"] += 1
        return [SendMessage(self.address, sent[0], pbu), timer]

    def _unreachable(self, bce: Optional[CmdBce], peer: IPv6Address, sent: ProxyBindingUpdate,
                     now: float) -> List[Action]:
        """``peer`` never answered ``sent``: what it anchors leaves the
        session, and it is owed a de-registration of those prefixes."""
        mn_id = sent.options.mn_id
        if sent.lifetime == 0:
            return self._owe(mn_id, peer, sent, now)
        if bce is None:
            return []
        hnps = bce.anchored_at(peer)
        actions = self._lost(bce, peer)
        return actions + self._owe(mn_id, peer, self._pbu_to(mn_id, hnps, None, 0, bce.ts), now)

    def _owe(self, mn_id: str, peer: IPv6Address, dereg: ProxyBindingUpdate,
             now: float) -> List[Action]:
        self._owed[(mn_id, peer)] = dereg
        return [StartTimer(("owed", mn_id, peer), now + self._timers.lifetime)]

    def _retry_owed(self, key, bce: Optional[CmdBce], now: float) -> List[Action]:
        """Try the owed de-registration again (with the full backoff), unless
        ``peer`` is part of the MN's session again meanwhile."""
        _, mn_id, peer = key
        dereg = self._owed.pop((mn_id, peer), None)
        if dereg is None or (bce is not None and peer in bce.involved()):
            return []
        self.counters["dereg_retried"] += 1
        return self._send(peer, dereg, now)
