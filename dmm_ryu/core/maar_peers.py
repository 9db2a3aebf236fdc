"""The S-MAAR learning where the prefixes of a session are anchored: from
the Previous MAAR options of the CMD's PBAs (relay, proxy), and in locator
mode (draft 3.3) from the P-MAARs' direct PBAs, each believed only as far
as the trust rules of :mod:`dmm_ryu.core.trust` allow."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import List, Set

from dmm_ryu.core import routes
from dmm_ryu.core.actions import Action, CancelTimer
from dmm_ryu.core.config import Mode
from dmm_ryu.core.messages import REQUEST_PREFIX
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.wire.mh.model import ProxyBindingAck, Status


class PeerLearning:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar`: the methods below use its
    BCEs, pools, locating set, counters and ``_advert``."""

    def _learn(self, bce: MaarBce, anchored) -> bool:
        """Merge (prefix, P-MAAR) pairs into the P-MAAR list.  Merging is
        safe: within a session a prefix never changes anchor, because pools
        are exclusive.  Our own prefix is local, never a tunnel to ourselves."""
        before = dict(bce.p_maars)
        for prefix, address in anchored:
            if address != self.address and prefix != bce.local:
                bce.p_maars[prefix] = address
        return bce.p_maars != before

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

    def _direct(self, src: IPv6Address, pba: ProxyBindingAck) -> List[Action]:
        """Locator mode (draft 3.3): a P-MAAR answered us directly; its
        address is the source, its prefix the HNP option.  Only another
        MAAR, only in locator mode, only for an MN served here, only
        prefixes of the sender's pool, and once the CMD told us the session
        (final BCE) only the session's prefixes still awaited from it; an
        early one is checked against the CMD's PBA when it comes (see
        ``_accepted``).  The timestamp echoes the registration it answers:
        one older than our attachment belongs to a session that is over."""
        if self._domain.mode is not Mode.LOCATOR or src == self.address or src not in self.pools:
            return self._dropped("dropped_direct_pba")
        bce = self.bces.get(pba.options.mn_id)
        stamp = pba.options.timestamp
        if (bce is None or not bce.is_serving or pba.status != Status.ACCEPTED
                or (stamp or 0) < bce.ts):
            return self._dropped("stale_pba")
        hnps = pba.options.hnps
        if not all(self.pools[src].holds(p) for p in hnps) or not self._expected(bce, src, hnps):
            return self._dropped("dropped_direct_pba_prefix")
        return self._more_anchors(bce, ((prefix, src) for prefix in hnps))

    def _expected(self, bce: MaarBce, src: IPv6Address, hnps) -> bool:
        if not bce.final:
            return True
        awaited = self._locating.get(bce.mn_id, set())
        return all(p in awaited or bce.p_maars.get(p) == src for p in hnps)

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
