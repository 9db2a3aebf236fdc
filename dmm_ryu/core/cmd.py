"""The Central Mobility Database (draft section 3): the binding cache of the
whole domain, and the signalling towards P-MAARs in one of three roles
(relay 3.2, locator 3.3, proxy 3.4).  In the PMIPv6 fallback (A.5, plain
RFC 5213: :mod:`dmm_ryu.core.lma`) the CMD takes no part and refuses any
PBU with 129.

Sans-I/O like the MAAR.  Timer keys: ``("retx", mn_id, peer)`` for a PBU to
a P-MAAR, ``("agg", mn_id)`` for the relay aggregation timeout and
``("expire", mn_id)`` for the session lifetime.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from ipaddress import IPv6Address
from typing import Dict, List, Optional, Set

from dmm_ryu.core.actions import Action, CancelTimer, SendMessage, StartTimer
from dmm_ryu.core.backoff import Backoff
from dmm_ryu.core.by_mn import ByMn
from dmm_ryu.core.cmd_peers import Aggregation, PeerSignalling
from dmm_ryu.core.cmd_release import PrefixRelease
from dmm_ryu.core.cmd_seqs import SequenceNumbers
from dmm_ryu.core.config import CmdConfig, Mode
from dmm_ryu.core.events import MessageReceived, Revoke, TimerFired
from dmm_ryu.core.messages import REQUEST_PREFIX, answer, dlif_options, seq_newer
from dmm_ryu.core.revocation import REVOCATION_MESSAGES
from dmm_ryu.core.store import BindingStore, CmdBce, MemoryStore, in_order
from dmm_ryu.core.trust import PrefixOwners, pbu_problem
from dmm_ryu.wire.mh.model import HandoffIndicator, ProxyBindingUpdate, Status


class Cmd(PeerSignalling, PrefixRelease):
    """The CMD.  ``store`` holds the BCEs, ``counters`` what happened."""

    def __init__(self, config: CmdConfig, store: Optional[BindingStore] = None) -> None:
        config.check()
        self.config = config
        self.address: IPv6Address = config.address
        self.store: BindingStore = MemoryStore() if store is None else store
        self.counters: Counter = Counter()
        self._domain = config.domain
        self._timers = config.domain.timers
        self._backoff = Backoff(self._timers)
        #: ("retx", MN-ID, P-MAAR) -> (P-MAAR, the PBU awaiting its PBA)
        self._outbox = ByMn(1)
        self._relays: Dict[str, Aggregation] = {}
        self._relaying = self._domain.mode is Mode.RELAY
        self._departed: Dict[str, int] = {}
        #: (MN-ID, P-MAAR) -> the de-registration owed it
        self._owed = ByMn(0)
        #: MN-ID -> P-MAAR -> the last sequence number sent it (per session)
        self._seqs = SequenceNumbers()
        self._owners = PrefixOwners(self.store, config.pools.values())

    @property
    def busy(self) -> bool:
        """PBUs to P-MAARs await their PBAs, or an aggregation is open."""
        return len(self._backoff) > 0 or bool(self._relays)

    def handle(self, event, now: float) -> List[Action]:
        if isinstance(event, TimerFired):
            return self._timer(event.key, now)
        if isinstance(event, Revoke):
            return self._revoke(event.mn_id, now)
        if not isinstance(event, MessageReceived):
            raise TypeError(f"CMD cannot handle {event!r}")
        if isinstance(event.message, REVOCATION_MESSAGES):  # RFC 5846: pmipv6 mode only
            self.counters["dropped_revocation"] += 1
            return []
        if isinstance(event.message, ProxyBindingUpdate):
            return self._pbu(event.src, event.message, now)
        return self._pba(event.src, event.message, now)

    def _revoke(self, mn_id: str, now: float) -> List[Action]:
        """Operator-forced end of a session: de-register every MAAR of it."""
        bce = self.store.get(mn_id)
        if bce is None:
            return []
        self.counters["revoked"] += 1
        return self._end(bce, now)

    # -- PBUs from MAARs ---------------------------------------------------

    def _pbu(self, src: IPv6Address, pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        self.counters["pbu_received"] += 1
        if self._domain.mode is Mode.PMIPV6:  # RFC 5213: MAGs signal the LMA, not us
            return self._refuse(src, pbu, Status.ADMINISTRATIVELY_PROHIBITED)
        if src not in self.config.maars:
            return self._refuse(src, pbu, Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG)
        problem = pbu_problem(pbu, now, self._timers, self._domain.mode)
        if problem is not None:
            return self._refuse(src, pbu, problem)
        bce = self.store.get(pbu.options.mn_id)
        if self._releasing(bce, src, pbu):
            return self._release(bce, src, pbu, now)
        if not self._claimable(pbu.options.mn_id, src, pbu.options.hnps):
            return self._refuse(src, pbu, Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
        if pbu.lifetime == 0:
            return self._deregistration(bce, src, pbu, now)
        if bce is None:
            return self._first(src, pbu, now)
        if self._stale(bce, src, pbu):
            return self._overtaken(bce, src, pbu, now)
        if src != bce.proxy_coa:
            return self._handover(bce, src, pbu, now)
        if not seq_newer(pbu.sequence, bce.last_seq):
            return self._refuse(src, pbu, Status.SEQUENCE_OUT_OF_WINDOW, bce.last_seq)
        return self._refresh(bce, src, pbu, now)

    def _claimable(self, mn_id: str, src: IPv6Address, prefixes) -> bool:
        """``src`` may name these prefixes for ``mn_id``: each is of its own
        pool (never the all-zero request: a MAAR anchors its own) and no
        other MN's."""
        pool = self.config.pools[src]
        return all(prefix != REQUEST_PREFIX and pool.holds(prefix)
                   and not self._owners.taken(prefix, mn_id, self.store) for prefix in prefixes)

    def _refuse(self, src: IPv6Address, pbu: ProxyBindingUpdate, status: Status,
                sequence: Optional[int] = None) -> List[Action]:
        """A PBA with an error status; 135 carries the last accepted sequence
        number so the MAAR can resynchronise (RFC 6275 9.5.1)."""
        self.counters[f"refused_{int(status)}"] += 1
        pba = answer(pbu, status, lifetime=0)
        if sequence is not None:
            pba = replace(pba, sequence=sequence)
        return [SendMessage(self.address, src, pba)]

    def _first(self, src: IPv6Address, pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        """A new session (draft 3.1), unless the cache is full (130)."""
        limit = self.config.max_bindings
        if limit is not None and len(self.store) >= limit:
            return self._refuse(src, pbu, Status.INSUFFICIENT_RESOURCES)
        stamp = pbu.options.timestamp
        if stamp <= self._departed.get(pbu.options.mn_id, -1):
            return self._refuse(src, pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED)
        bce = CmdBce(pbu.options.mn_id, src, {}, 0, now, stamp, pbu.sequence)
        self.counters["registrations"] += 1
        return self._moved(bce, src, pbu, now)

    def _handover(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                  now: float) -> List[Action]:
        self.counters["handovers"] += 1
        return self._moved(bce, src, pbu, now)

    def _moved(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
               now: float) -> List[Action]:
        """``src`` is the new S-MAAR: every other MAAR of the session (the
        former Proxy-CoA and each P-MAAR) learns it from a PBU carrying the
        Serving MAAR option."""
        targets = bce.involved() - {src}
        actions = [self._accept(bce, src, pbu, now)]
        stop = self._backoff.stop(("retx", bce.mn_id, src))
        if stop is not None:
            self._outbox.pop(stop.key, None)
            actions.append(stop)
        return actions + self._conclude(bce, pbu, targets, now)

    def _refresh(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                 now: float) -> List[Action]:
        """A PBU from the S-MAAR itself: a re-registration (HI 5), a new
        attachment at the same MAAR, or a retry of its handover PBU.  The MN
        did not move, so no P-MAAR is told anything (RFC 5213 5.3.3: a
        lifetime extension only updates the BCE and is answered by the
        anchor; draft 3.3: P-MAARs answer the S-MAAR when they learn "the new
        MN's location").  The CMD answers at once with the session's HNPs
        and a Previous MAAR option per P-MAAR prefix, the whole state, which
        in locator mode also repairs a direct PBA that was lost."""
        self.counters["refreshes"] += 1
        actions = [self._accept(bce, src, pbu, now)]
        relay = self._relays.get(bce.mn_id)
        if relay is not None:
            relay.pbu = pbu
            return actions + (self._aggregate(bce, relay) if relay.answered else [])
        return actions + [self._to_s_maar(bce, pbu, bce.p_maars())]

    def _accept(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                now: float) -> StartTimer:
        """Record the registration: Proxy-CoA, its sequence number, the
        attachment's timestamp, the granted lifetime and the prefixes the
        S-MAAR anchors."""
        opts = pbu.options
        if opts.handoff != HandoffIndicator.NOT_CHANGED:
            bce.ts = opts.timestamp
        bce.proxy_coa, bce.last_seq, bce.registered = src, pbu.sequence, now
        bce.lifetime = min(pbu.lifetime, self._timers.lifetime)
        prefixes = [prefix for prefix in opts.hnps if prefix != REQUEST_PREFIX]
        for prefix in prefixes:
            bce.anchors.setdefault(prefix, src)
        self._owners.record(bce.mn_id, prefixes)
        self.store.put(bce)
        return StartTimer(("expire", bce.mn_id), now + bce.lifetime)

    def _conclude(self, bce: CmdBce, pbu: ProxyBindingUpdate, targets: Set[IPv6Address],
                  now: float) -> List[Action]:
        """The mode-specific order of messages after a registration.

        relay: PBUs to the P-MAARs, the S-MAAR's PBA once they answered.
        proxy: the PBA with Previous MAAR options at once, PBUs in parallel.
        locator (Figure 3): only the PBUs to the P-MAARs; each answers the
        S-MAAR directly, and that PBA accepts its registration.  With no
        P-MAAR (a new session, Figure 1) the CMD answers it.
        """
        notes = [action for target in sorted(targets) for action in self._notify(bce, target, now)]
        if self._relaying and targets:
            self._relays[bce.mn_id] = Aggregation(pbu, set(targets), False)
            timeout = now + self._timers.aggregation_timeout
            return notes + [StartTimer(("agg", bce.mn_id), timeout)]
        if self._domain.mode is Mode.LOCATOR and targets:
            return notes
        return [self._to_s_maar(bce, pbu, bce.p_maars())] + notes

    def _to_s_maar(self, bce: CmdBce, pbu: ProxyBindingUpdate, previous) -> SendMessage:
        """The S-MAAR's PBA: the session's HNPs, a Previous MAAR option per
        P-MAAR prefix and (gateway: dlif) the DLIF options of each, the
        i-th pair for the i-th Previous MAAR option (RFC 8885 4.7, 4.8)."""
        previous = tuple(previous)
        dlifs = dlif_options(self._domain.dlifs, (p.address for p in previous))
        pba = answer(pbu, hnps=in_order(list(bce.anchors)) or None, lifetime=bce.lifetime,
                     previous_maars=previous, **dlifs)
        return SendMessage(self.address, bce.proxy_coa, pba)

    def _stale(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate) -> bool:
        """Overtaken by a newer attachment: an older timestamp, or a
        re-registration from a MAAR that is no longer the Proxy-CoA."""
        opts = pbu.options
        if opts.timestamp < bce.ts:
            return True
        return opts.handoff == HandoffIndicator.NOT_CHANGED and src != bce.proxy_coa

    def _overtaken(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                   now: float) -> List[Action]:
        """A MAAR of the session that did not yet learn the MN moved on is
        told where it is now; a MAAR with nothing in the session is refused
        with 157 and releases the prefix it reserved."""
        self.counters["overtaken"] += 1
        known = src in bce.anchors.values() or pbu.options.handoff == HandoffIndicator.NOT_CHANGED
        if src != bce.proxy_coa and known:
            return self._notify(bce, src, now)
        return self._refuse(src, pbu, Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED)

    # -- de-registration (draft 3.5) ---------------------------------------

    def _deregistration(self, bce: Optional[CmdBce], src: IPv6Address,
                        pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        """Lifetime 0.  From the S-MAAR, or from any MAAR that saw the MN
        after the S-MAAR did (whose own registration may have been lost):
        the MN left the domain, end the session.  From a MAAR the MN left
        before its latest attachment: see ``_overtaken`` (the MN is back in
        the domain elsewhere and keeps the prefix that MAAR anchors)."""
        if bce is not None and src == bce.proxy_coa and not seq_newer(pbu.sequence, bce.last_seq):
            return self._refuse(src, pbu, Status.SEQUENCE_OUT_OF_WINDOW, bce.last_seq)
        if pbu.options.handoff == HandoffIndicator.NOT_CHANGED:
            return self._renewal(bce, src, pbu)
        reply = SendMessage(self.address, src, answer(pbu, lifetime=0))
        if bce is None:
            return [reply] + self._depart(pbu.options.mn_id, pbu.options.timestamp, now)
        if self._latest(bce, src, pbu):
            return [reply] + self._end(bce, now, src, pbu.options.timestamp)
        return self._overtaken(bce, src, pbu, now)

    def _renewal(self, bce: Optional[CmdBce], src: IPv6Address,
                 pbu: ProxyBindingUpdate) -> List[Action]:
        """"renew" (draft 3.5): a P-MAAR whose BCE expired de-registers with
        HI 5; while the MN is in the domain the answer carries a non-zero
        lifetime, otherwise lifetime 0 and the P-MAAR forgets."""
        lifetime = 0
        if bce is not None and src in bce.involved() and src != bce.proxy_coa:
            self.counters["renewed"] += 1
            lifetime = bce.lifetime
        return [SendMessage(self.address, src, answer(pbu, lifetime=lifetime))]

    @staticmethod
    def _latest(bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate) -> bool:
        """The PBU reports the MN's latest whereabouts: from the Proxy-CoA
        and not older than its registration, or dated after it."""
        stamp = pbu.options.timestamp
        if src == bce.proxy_coa:
            return stamp >= bce.ts
        return stamp > bce.ts

    def _depart(self, mn_id: str, stamp: int, now: float) -> List[Action]:
        """Remember when the MN left the domain for one lifetime: a
        registration dated before (overtaken by the de-registration) is
        refused with 157 instead of opening a session nobody serves."""
        self._departed[mn_id] = max(stamp, self._departed.get(mn_id, stamp))
        return [StartTimer(("departed", mn_id), now + self._timers.lifetime)]

    def _end(self, bce: CmdBce, now: float, skip: Optional[IPv6Address] = None,
             stamp: Optional[int] = None) -> List[Action]:
        """Remove the BCE and de-register every other MAAR of the session, so
        the prefixes return to their pools."""
        self.counters["sessions_ended"] += 1
        self.store.delete(bce.mn_id)
        self._relays.pop(bce.mn_id, None)
        actions: List[Action] = [CancelTimer((kind, bce.mn_id)) for kind in ("expire", "agg")]
        stamp = bce.ts if stamp is None else max(stamp, bce.ts)
        actions += self._depart(bce.mn_id, stamp, now)
        for target in sorted(bce.involved() - {skip}):
            actions += self._forget(bce.mn_id, bce.anchored_at(target), target, stamp, now)
        return actions

    def _forget(self, mn_id: str, hnps, target: IPv6Address, stamp: int,
                now: float) -> List[Action]:
        """De-registration PBU (lifetime 0): ``target`` drops the MN.  It is
        dated by the departure, so a MAAR where the MN attached again since
        ignores it (and answers 157)."""
        return self._send(target, self._pbu_to(mn_id, hnps, None, 0, stamp), now)

    # -- timers ------------------------------------------------------------

    def _timer(self, key, now: float) -> List[Action]:
        kind, mn_id = key[0], key[1]
        bce = self.store.get(mn_id)
        if kind == "retx":
            return self._retransmit(key, bce, now)
        if kind == "owed":
            return self._retry_owed(key, bce, now)
        if kind == "departed":
            self._departed.pop(mn_id, None)
            return []
        relay = self._relays.get(mn_id)
        if kind == "agg" and bce is not None and relay is not None and not relay.answered:
            self.counters["relay_partial"] += 1
            return self._aggregate(bce, relay)
        if kind == "expire" and bce is not None and now >= bce.registered + bce.lifetime:
            self.counters["expired"] += 1
            return self._end(bce, now)
        return []
