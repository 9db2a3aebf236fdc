"""RFC 5846 Binding Revocation in pmipv6 mode: the LMA tells the previous
MAG at once that an MN's binding moved away from it.

Without it a previous MAG learns of the move only from its access link, so
an MN that comes back before that link went down is taken for still
attached there and its frames do not register it again.

LMA (RFC 5846 section 8.1): when it accepts a handoff to a new Proxy-CoA,
or the MN attaches to the LMA's own link, it sends the previous MAG a BRI
(B.R. Type 1, P flag, the MN-ID and HNP options).  The Revocation Trigger
follows the new PBU's Handoff Indicator: 3 (between MAGs, same interface)
gives 2 "Inter-MAG Handover - same Access Type", 2 (other interface) gives 3
"- different Access Type", any other (our MAGs send 4) gives 4 "- Unknown".
RFC 5846's format has no Acknowledge flag: every BRI is answered.  Without
a BRA it is retransmitted on the shared backoff (core/backoff.py) with the
same sequence number, so a late BRA to an earlier copy still matches; after
``retransmit_limit`` retries it is given up (``lma_revocation_failed``) and
the MAG falls back to what RFC 5213 alone gives (its re-registration is
refused with 128).  A revocation stops when its MAG becomes the Proxy-CoA
again.  Timer key ``("revoke", mn_id, mag)``.  Outstanding revocations are
part of their MN's state (core/slices.py): a restarted LMA sends the same
BRI again when its timer fires, and takes the BRA that answers it.

MAG (section 9.1): a BRI from its LMA, with the P flag and an MN-ID, for an
MN it serves (and, when named, that MN's HNP) ends the binding here:
tunnel, timers and the attachment go, and the MN is not told (it is
elsewhere); its next frame here is a new attachment and registers.  The
BRA (P flag, the BRI's sequence number, MN-ID) says 0, or 2 (no such
binding), 5 (HNP differs), 6 (the MN attached here again and registers:
the newer registration wins at the LMA), 4 for a Global revocation, 3 for
IPv4 HoA only.  A BRI not from the LMA, without P flag or MN-ID, and a BRA
answering no outstanding BRI, change nothing and are counted.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import List, Optional

from dmm_ryu.core.actions import Action, CancelTimer, InstallTunnel, SendMessage
from dmm_ryu.core.by_mn import ByMn
from dmm_ryu.core.messages import next_seq
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.wire.mh.model import (
    BindingRevocationAck,
    BindingRevocationIndication,
    BRFlags,
    HandoffIndicator,
    MobilityOptions,
    RevocationStatus,
    RevocationTrigger,
)

#: Timer kind of an outstanding BRI: ``(REVOKE, mn_id, mag)``.
REVOKE = "revoke"
#: The message classes :meth:`RevocationSide._revocation` takes.
REVOCATION_MESSAGES = (BindingRevocationIndication, BindingRevocationAck)

_TRIGGERS = {
    HandoffIndicator.BETWEEN_MAGS: RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
    HandoffIndicator.DIFFERENT_INTERFACE:
        RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE,
}


def handover_trigger(handoff: Optional[int]) -> RevocationTrigger:
    """The Revocation Trigger for a handoff with this Handoff Indicator."""
    return _TRIGGERS.get(handoff, RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN)


class Outstanding:
    """The LMA's BRIs awaiting their BRA, by timer key, and the sequence
    number of the next one (one counter: no two outstanding BRIs collide)."""

    __slots__ = ("sent", "_seq")

    def __init__(self) -> None:
        #: (REVOKE, MN-ID, MAG) -> the BRI awaiting its BRA, held per MN
        self.sent = ByMn(1)
        self._seq = 0

    def next_sequence(self) -> int:
        self._seq = next_seq(self._seq)
        return self._seq


class RevocationSide:
    """Mixed into :class:`~dmm_ryu.core.maar.Maar` (``_revoking`` is its
    :class:`Outstanding`): the LMA's and the MAGs' halves of RFC 5846."""

    def _revocation(self, src: IPv6Address, message, now: float) -> List[Action]:
        """A BRI or BRA received; only pmipv6 mode speaks RFC 5846."""
        if not self._pmipv6:
            return self._dropped("dropped_revocation_not_pmipv6")
        if isinstance(message, BindingRevocationAck):
            return self._lma_bra(src, message)
        return self._mag_bri(src, message)

    # -- the LMA ---------------------------------------------------------------

    def _lma_revoke(self, bce: MaarBce, mag: IPv6Address, trigger: int,
                    now: float) -> List[Action]:
        """Tell ``mag``, the MN's previous Proxy-CoA, that its binding moved."""
        key = (REVOKE, bce.mn_id, mag)
        bri = BindingRevocationIndication(
            trigger, self._revoking.next_sequence(),
            MobilityOptions(mn_id=bce.mn_id, hnps=(bce.local,)))
        self._revoking.sent[key] = bri
        self.counters["lma_bri_sent"] += 1
        return [SendMessage(self.address, mag, bri), self._backoff.start(key, now)]

    def _lma_revoke_previous(self, bce: MaarBce, now: float) -> List[Action]:
        """The MN attached to the LMA itself: revoke the MAG whose tunnel
        (still installed) served it."""
        peers = {a.peer for a in bce.installed if isinstance(a, InstallTunnel)}
        actions: List[Action] = []
        for mag in sorted(peers):
            actions += self._lma_revoke(bce, mag, RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN,
                                        now)
        return actions

    def _lma_unrevoke(self, mn_id: str, mag: IPv6Address) -> List[Action]:
        """``mag`` is the Proxy-CoA again: a revocation still sent to it is void."""
        key = (REVOKE, mn_id, mag)
        if self._revoking.sent.pop(key, None) is None:
            return []
        self._backoff.stop(key)
        return [CancelTimer(key)]

    def _lma_revoke_timer(self, key, now: float) -> List[Action]:
        """No BRA yet: send the same BRI again, or give up after the limit."""
        bri = self._revoking.sent.get(key)
        if bri is None:  # a timer restored after a restart: nothing kept to resend
            return []
        timer = self._backoff.retry(key, now)
        if timer is None:
            del self._revoking.sent[key]
            self.counters["lma_revocation_failed"] += 1
            return []
        self.counters["lma_bri_retransmitted"] += 1
        return [SendMessage(self.address, key[2], bri), timer]

    def _lma_bra(self, src: IPv6Address, bra: BindingRevocationAck) -> List[Action]:
        """The answer to an outstanding BRI (same MAG, MN-ID and sequence
        number, P flag) ends it; its status is counted."""
        key = (REVOKE, bra.options.mn_id, src)
        bri = self._revoking.sent.get(key) if self.is_lma else None
        if bri is None or bri.sequence != bra.sequence or not bra.flags & BRFlags.P:
            return self._dropped("dropped_bra_unsolicited")
        del self._revoking.sent[key]
        self._backoff.stop(key)
        status = int(bra.status)
        self.counters["lma_revoked" if status == RevocationStatus.SUCCESS
                      else f"lma_revocation_status_{status}"] += 1
        return [CancelTimer(key)]

    def _forget_revocations(self, mn_id: str) -> None:
        """Drop the MN's outstanding BRIs (its state is being rolled back)."""
        for key in self._revoking.sent.drop(mn_id):
            self._backoff.stop(key)

    # -- a MAG -----------------------------------------------------------------

    def _mag_bri(self, src: IPv6Address, bri: BindingRevocationIndication) -> List[Action]:
        """Revoke the binding the BRI names, or say why not, in the BRA."""
        if self.is_lma or src != self._anchor:
            return self._dropped("dropped_bri_not_from_lma")
        if not bri.flags & BRFlags.P or bri.options.mn_id is None:
            return self._dropped("dropped_bri_malformed")
        bce = self.bces.get(bri.options.mn_id)
        status = self._mag_refusal(bri, bce)
        actions: List[Action] = []
        if status is None:
            status = RevocationStatus.SUCCESS
            self.counters["revoked"] += 1
            bce.leaving = True  # the MN is elsewhere: no RA withdrawing its prefix
            actions = self._drop(bce)
        else:
            self.counters[f"revocation_refused_{int(status)}"] += 1
        bra = BindingRevocationAck(status, bri.sequence, MobilityOptions(
            mn_id=bri.options.mn_id, hnps=bri.options.hnps))
        return actions + [SendMessage(self.address, src, bra)]

    @staticmethod
    def _mag_refusal(bri: BindingRevocationIndication,
                     bce: Optional[MaarBce]) -> Optional[RevocationStatus]:
        """The BRA status of RFC 5846 6.1.2 that refuses ``bri``; None when
        the binding is revoked."""
        if bri.flags & BRFlags.G:
            return RevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED
        if bri.flags & BRFlags.V:
            return RevocationStatus.IPV4_HOA_BINDING_DOES_NOT_EXIST
        if bce is None or not bce.is_serving:
            return RevocationStatus.BINDING_DOES_NOT_EXIST
        if not bce.final:
            return RevocationStatus.REVOCATION_FAILED_MN_ATTACHED
        if bri.options.hnps and set(bri.options.hnps) != set(bce.p_maars):
            return RevocationStatus.CANNOT_IDENTIFY_BINDING
        return None
