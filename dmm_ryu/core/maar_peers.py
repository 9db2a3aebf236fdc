"""The S-MAAR learning where the prefixes of a session are anchored: from
the Previous MAAR options of the CMD's PBAs (relay, proxy), and in locator
mode (draft 3.3) from the P-MAARs' direct PBAs, each believed only as far
as the trust rules of :mod:`dmm_ryu.core.trust` allow."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import List, Set

from dmm_ryu.core import routes
from dmm_ryu.core.actions import Action, CancelTimer, StartTimer
from dmm_ryu.core.config import Mode
from dmm_ryu.core.messages import REQUEST_PREFIX
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.trust import dlifs_ok
from dmm_ryu.wire.mh.model import ProxyBindingAck, Status


class PeerLearning:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar`: the methods below use its
    BCEs, pools, locating set, counters and ``_advert``."""

    def _learn(self, bce: MaarBce, anchored) -> bool:
        """Merge (prefix, P-MAAR) pairs into the P-MAAR list.  Merging is
        safe: within a session a prefix never changes anchor, because pools
        are exclusive.  Our own prefix is local, never a tunnel to ourselves."""
        learned = dict(bce.p_maars)  # a new dict: the empty list is shared
        for prefix, address in anchored:
            if address == self.address or prefix == bce.local:
                continue
            if self._held_by_another(prefix, bce.mn_id):
                self.counters["dropped_prefix_of_another_mn"] += 1
                continue
            learned[prefix] = address
            self._prefix_mn[prefix] = bce.mn_id
        changed = learned != bce.p_maars
        if changed:
            bce.p_maars = routes.p_maar_list(learned)
        return changed

    def _held_by_another(self, prefix, mn_id: str) -> bool:
        """Another MN's BCE here tunnels ``prefix``: two MNs can never own
        one prefix's rules on this switch, whatever signalling claims.  The
        index only grows; each lookup confirms against that MN's BCE."""
        owner = self._prefix_mn.get(prefix)
        if owner is None or owner == mn_id:
            return False
        other = self.bces.get(owner)
        return other is not None and prefix in other.p_maars

    def _unlocated(self, bce: MaarBce, hnps) -> Set[IPv6Network]:
        """Prefixes of the session (the HNPs of the CMD's PBA) with no known
        P-MAAR yet: awaited from a direct PBA (locator) or a further PBA
        (relay after the aggregation timeout).  If they do not come in time
        (lost: neither is retransmitted), re-registering repairs it."""
        return set(hnps) - set(bce.p_maars) - {bce.local, REQUEST_PREFIX}

    def _follow_up(self, bce: MaarBce, pba: ProxyBindingAck) -> List[Action]:
        """A further PBA from the CMD for an accepted registration (relay
        mode after the aggregation timeout): more P-MAARs to tunnel to."""
        if not (bce.final and bce.is_serving and pba.status == Status.ACCEPTED):
            return []
        return self._more_anchors(bce, ((p.prefix, p.address) for p in pba.options.previous_maars))

    def _direct(self, src: IPv6Address, pba: ProxyBindingAck, now: float) -> List[Action]:
        """Locator mode (draft 3.3, Figure 3): a P-MAAR answered us directly;
        its address is the source, its prefix the HNP option.  Only another
        MAAR, only in locator mode, only for an MN served here, only
        prefixes of the sender's pool.  The timestamp echoes the
        registration it answers: one older than our attachment belongs to a
        session that is over; one equal to it answers our pending handover
        PBU, which the CMD does not answer itself in this mode, so the first
        such PBA accepts the registration (see ``_registered_by``)."""
        if self._domain.mode is not Mode.LOCATOR or src == self.address or src not in self.pools:
            return self._dropped("dropped_direct_pba")
        bce = self.bces.get(pba.options.mn_id)
        stamp = pba.options.timestamp or 0
        if (bce is None or not bce.is_serving or pba.status != Status.ACCEPTED
                or stamp < bce.ts):
            return self._dropped("stale_pba")
        hnps = pba.options.hnps
        if not all(self.pools[src].holds(p) for p in hnps) or not self._expected(bce, src, hnps,
                                                                                 stamp):
            return self._dropped("dropped_direct_pba_prefix")
        if not dlifs_ok(pba.options, (src,), self._domain.dlifs):
            return self._dropped("dropped_pba_dlif")
        pending = bce.pending
        if pending is not None and pending.lifetime and stamp == pending.options.timestamp:
            return self._registered_by(bce, src, pba, now)
        return self._more_anchors(bce, ((prefix, src) for prefix in hnps))

    def _expected(self, bce: MaarBce, src: IPv6Address, hnps, stamp: int) -> bool:
        """Before the registration is accepted, or answering this
        attachment's registration (its timestamp), any P-MAAR of the session
        may answer; after it only one awaited or already known."""
        if not bce.final or stamp == bce.ts:
            return True
        awaited = self._locating.get(bce.mn_id, set())
        return all(p in awaited or bce.p_maars.get(p) == src for p in hnps)

    def _registered_by(self, bce: MaarBce, src: IPv6Address, pba: ProxyBindingAck,
                       now: float) -> List[Action]:
        """The first P-MAAR's direct PBA accepts our handover PBU (Figure 3
        has no PBA from the CMD): stop retransmitting, tunnel to it, and take
        its lifetime, the one the CMD granted the session.  Further P-MAARs'
        PBAs add their tunnels as they come (``_more_anchors``)."""
        self.counters["accepted_by_p_maar"] += 1
        actions = self._stop_timers(bce, ("retx",))
        bce.pending = None
        self._learn(bce, ((prefix, src) for prefix in pba.options.hnps))
        return actions + self._finalise(bce, pba.lifetime, now) + [self._confirm(bce, now)]

    def _confirm(self, bce: MaarBce, now: float) -> StartTimer:
        """The first re-registration comes early, ``retransmit_initial``
        after a registration a P-MAAR accepted: this S-MAAR cannot know how
        many P-MAARs the session has, nor whether a direct PBA was lost
        (nothing retransmits one), and the CMD's answer to a re-registration
        names every anchor.  Two messages after the handover, outside
        Figure 3, buy a tunnel for every prefix however the PBAs fared."""
        return StartTimer(("refresh", bce.mn_id), now + self._timers.retransmit_initial)

    def _more_anchors(self, bce: MaarBce, pairs) -> List[Action]:
        """New P-MAARs after the registration: tunnel to them (once the BCE
        is final), advertise, and stop awaiting them."""
        changed = self._learn(bce, pairs)
        actions = routes.sync(bce) + [self._advert(bce)] if changed and bce.final else []
        missing = self._locating.get(bce.mn_id)
        if missing is not None and not self._unlocated(bce, missing):
            del self._locating[bce.mn_id]
            actions.append(CancelTimer(("locate", bce.mn_id)))
        return actions
