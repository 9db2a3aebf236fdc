"""The MAAR named ``lma`` in pmipv6 mode: a plain RFC 5213 local mobility
anchor (section 5).  The other MAARs are MAGs and send their PBUs straight
here; the CMD takes no part.

One BCE per MN, keyed by MN-ID, holding the home network prefix (``local``,
from this MAAR's pool) and the Proxy-CoA (``serving``: the MAG's address;
None while the MN is attached to this MAAR itself, a co-located MAG that
needs no signalling).  Order of checks as RFC 5213 5.3.1: P flag (152),
the sender is a configured MAG (154), mandatory options (158, 160-162),
then the Timestamp option if present (5.5.1: validity window, 156, and not
older than the accepted one, 157), else the sequence number (5.5.2: 135
with the last accepted number), then the prefix rules of 5.4.1.

Deliberate choices, all documented in README "PMIPv6 (RFC 5213)":

* one mobility session per MN-ID: Handoff Indicator 1 (new interface) is
  treated like 4 (unknown), i.e. a handoff when the Proxy-CoA differs;
* a re-registration (HI 5) from a MAG that is not the Proxy-CoA is refused
  with 128: it is a stale MAG that missed the MN's detachment, and its
  fresh timestamp must not pull the binding back (it forgets the MN);
* a de-registration from a MAG that is not the Proxy-CoA is acknowledged
  (status 0, lifetime 0) and leaves the BCE alone (5.3.5);
* a handoff revokes the previous MAG's binding with an RFC 5846 BRI
  (:mod:`dmm_ryu.core.revocation`).
"""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address
from typing import List, Optional

from dmm_ryu.core import routes
from dmm_ryu.core.actions import Action, CancelTimer, SendMessage, StartTimer
from dmm_ryu.core.messages import REQUEST_PREFIX, answer, seq_newer
from dmm_ryu.core.revocation import handover_trigger
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.wire.mh.model import (
    BUFlags,
    HandoffIndicator,
    ProxyBindingUpdate,
    Status,
    missing_mandatory,
    timestamp_from_unix,
)

#: Timer kind of an LMA's BCE lifetime (RFC 5213 5.3.3): at expiry the
#: binding of an MN served by a MAG is deleted.
BINDING = "binding"
#: Timer kind that forgets the de-registrations remembered in ``_lma_gone``.
GONE = "lma_gone"


def lifetime_granted(requested: int, configured: int) -> int:
    """RFC 5213 5.3.1: the LMA may grant less than asked, never more."""
    return min(requested, configured)


class LmaSide:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar`; active only at the
    MAAR whose address is ``domain.lma``.  ``_lma_gone`` (set up by the
    MAAR) maps (MN-ID, MAG) -> timestamp of its accepted de-registration (see
    :meth:`_lma_dereg`), emptied by the ``lma_gone`` timer."""

    @property
    def is_lma(self) -> bool:
        return self._domain.lma == self.address

    def _lma_pbu(self, src: IPv6Address, pbu: ProxyBindingUpdate, now: float) -> List[Action]:
        """A MAG's PBU: refuse it with the first status that applies, or
        accept it (registration, handoff, re-registration, de-registration)."""
        bce = self.bces.get(pbu.options.mn_id) if pbu.options.mn_id is not None else None
        status = self._lma_refusal(src, pbu, bce, now)
        if status is not None:
            return self._lma_refuse(src, pbu, bce, status, now)
        if pbu.lifetime == 0:
            return self._lma_dereg(src, pbu, bce, now)
        if bce is None:
            bce = self._new_bce(pbu.options.mn_id, True)
            if bce is None:
                return self._lma_refuse(src, pbu, None, Status.INSUFFICIENT_RESOURCES, now)
        return self._lma_bind(src, pbu, bce, now)

    def _lma_refusal(self, src: IPv6Address, pbu: ProxyBindingUpdate,
                     bce: Optional[MaarBce], now: float) -> Optional[Status]:
        """The status of RFC 5213 5.3.1/5.4.1/5.5 that refuses ``pbu``; None
        when it may be accepted."""
        if not pbu.flags & BUFlags.P:
            return Status.PROXY_REG_NOT_ENABLED
        if src == self.address or src not in self.pools:
            return Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
        missing = missing_mandatory(pbu)
        if missing is not None:
            return missing
        order = self._lma_order(src, pbu, bce, now)
        if order is not None or pbu.lifetime == 0:
            return order
        return self._lma_prefix_refusal(src, pbu, bce)

    def _lma_order(self, src: IPv6Address, pbu: ProxyBindingUpdate, bce: Optional[MaarBce],
                   now: float) -> Optional[Status]:
        """RFC 5213 5.5: by Timestamp when the option is there (5.5.1: not
        older than the accepted binding, nor than a de-registration this MAG
        sent), else by sequence number (5.5.2)."""
        stamp = pbu.options.timestamp
        if stamp is not None:
            window = self._timers.timestamp_window
            if abs(stamp - timestamp_from_unix(now)) > timestamp_from_unix(window):
                return Status.TIMESTAMP_MISMATCH
            last = self._lma_gone.get((pbu.options.mn_id, src), 0)
            if bce is not None and bce.final:
                last = max(last, bce.ts)
            if stamp < last:
                return Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
            return None
        if bce is not None and bce.final and not seq_newer(pbu.sequence, bce.seq):
            return Status.SEQUENCE_OUT_OF_WINDOW
        return None

    def _lma_prefix_refusal(self, src: IPv6Address, pbu: ProxyBindingUpdate,
                            bce: Optional[MaarBce]) -> Optional[Status]:
        """RFC 5213 5.4.1: the all-zero HNP asks for the MN's prefix (new or
        known); a named one must be the BCE's (159), and only an MN with a
        BCE may name one (155).  A re-registration must come from the
        Proxy-CoA (128, see the module docstring)."""
        hnps = pbu.options.hnps
        if hnps != (REQUEST_PREFIX,):
            if bce is None:
                return Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX
            if hnps != (bce.local,):
                return Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH
        if (bce is not None and pbu.options.handoff == HandoffIndicator.NOT_CHANGED
                and bce.serving != src):
            return Status.REASON_UNSPECIFIED
        return None

    def _lma_refuse(self, src: IPv6Address, pbu: ProxyBindingUpdate, bce: Optional[MaarBce],
                    status: Status, now: float) -> List[Action]:
        """The refusing PBA, counted: 156 carries our clock (5.5.1), 135 the
        last accepted sequence number (5.5.2)."""
        self.counters[f"lma_refused_{int(status)}"] += 1
        extra = {}
        if status == Status.TIMESTAMP_MISMATCH:
            extra["timestamp"] = timestamp_from_unix(now)
        refusal = answer(pbu, status, lifetime=0, hnps=pbu.options.hnps or (), **extra)
        if status == Status.SEQUENCE_OUT_OF_WINDOW:
            refusal = replace(refusal, sequence=bce.seq)
        return [SendMessage(self.address, src, refusal)]

    def _lma_bind(self, src: IPv6Address, pbu: ProxyBindingUpdate, bce: MaarBce,
                  now: float) -> List[Action]:
        """Accept a registration, handoff or re-registration: the Proxy-CoA
        is the sender, the tunnel follows it, and the PBA names the HNP."""
        handoff = bce.final and bce.serving != src
        self.counters["lma_handoffs" if handoff else "lma_registrations"] += 1
        moved_here = bce.is_serving and bce.final
        previous = bce.serving if handoff else None
        lifetime = lifetime_granted(pbu.lifetime, self._timers.lifetime)
        bce.serving, bce.final, bce.leaving = src, True, False
        bce.lifetime, bce.seq = lifetime, pbu.sequence
        bce.ts = pbu.options.timestamp if pbu.options.timestamp is not None else bce.ts
        self._lma_gone.pop((bce.mn_id, src), None)
        actions = routes.sync(bce) + self._lma_unrevoke(bce.mn_id, src)
        if moved_here:
            actions += self.attachments.gone(bce.mn_id)
        actions += [StartTimer((BINDING, bce.mn_id), now + lifetime), SendMessage(
            self.address, src, answer(pbu, lifetime=lifetime, hnps=(bce.local,)))]
        if previous is not None:  # RFC 5846: then tell the previous MAG at once
            actions += self._lma_revoke(bce, previous, handover_trigger(pbu.options.handoff), now)
        return actions

    def _lma_dereg(self, src: IPv6Address, pbu: ProxyBindingUpdate,
                   bce: Optional[MaarBce], now: float) -> List[Action]:
        """RFC 5213 5.3.5: from the Proxy-CoA the binding ends; from any
        other MAG (one the MN left) it is acknowledged and changes nothing.
        The ended binding's timestamp is kept for one validity window (the
        role of MinDelayBeforeBCEDelete): a registration the
        de-registration overtook is older and gets 157; anything older
        than the window gets 156 anyway."""
        mn_id = pbu.options.mn_id
        hnps = pbu.options.hnps if bce is None else (bce.local,)
        actions = [SendMessage(self.address, src, answer(pbu, lifetime=0, hnps=hnps))]
        if pbu.options.timestamp is not None:
            self._lma_gone[(mn_id, src)] = pbu.options.timestamp
            actions.append(StartTimer((GONE, mn_id), now + self._timers.timestamp_window))
        if bce is not None and bce.serving != src:
            self.counters["lma_dereg_not_proxy_coa"] += 1
            return actions
        self.counters["lma_deregistrations"] += 1
        return ([] if bce is None else self._drop(bce)) + actions

    def _lma_local(self, bce: MaarBce, now: float) -> List[Action]:
        """The MN attached to the LMA itself: the co-located MAG needs no
        PBU; the BCE points at the local link and the MN gets its RA."""
        self.counters["lma_local_attachments"] += 1
        bce.ts = timestamp_from_unix(now)
        revoke = self._lma_revoke_previous(bce, now)
        return [CancelTimer((BINDING, bce.mn_id))] + self._finalise(bce, self._timers.lifetime,
                                                                     now) + revoke

    def _lma_forget_gone(self, mn_id: str) -> List[Action]:
        """The MN's remembered de-registrations are older than the validity
        window now: 156 refuses what they guarded against."""
        for key in [k for k in self._lma_gone if k[0] == mn_id]:
            del self._lma_gone[key]
        return []

    def _lma_left(self, bce: MaarBce) -> List[Action]:
        """The MN left the domain from the LMA's own link: the binding
        ends here, with no message (nobody else holds state for it)."""
        self.counters["lma_deregistrations"] += 1
        return self._drop(bce)

    def _lma_expired(self, bce: MaarBce) -> List[Action]:
        """The BCE lifetime ran out with no re-registration (5.3.3)."""
        if bce.serving is None:
            return []
        self.counters["lma_expired"] += 1
        return self._drop(bce)
