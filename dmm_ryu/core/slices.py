"""Everything a node keeps about one MN, as one value: what the runtime
persists after each event and gives back after a restart.

A slice holds the core's own objects (BCE, in-flight PBUs, attachment);
encoding them is the store layer's business.  Taking a slice never changes
the node; restoring one replaces what the node knew about that MN.  Timer
deadlines are not in the slice: they live in the runtime's timer queue,
which persists them beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import NamedTuple, Optional, Tuple

from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.cmd_peers import Aggregation
from dmm_ryu.core import routes
from dmm_ryu.core.maar import Maar
from dmm_ryu.core.maar_gc import PrefixUse
from dmm_ryu.core.revocation import REVOKE
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.store import CmdBce
from dmm_ryu.wire.mh.model import BindingRevocationIndication, ProxyBindingUpdate

Sent = Tuple[IPv6Address, ProxyBindingUpdate]


@dataclass(frozen=True)
class Attachment:
    """Where the MN is on this MAAR's access links: ``state`` is present,
    absent (its port went down, the detach guard runs) or held (its last
    registration failed; ``until`` ends the hold-down)."""

    state: str
    mac: str
    port: int
    until: float = 0.0


class MaarSlice(NamedTuple):
    """A slice is taken for every MN each round touches, ~6 per handover
    with a store (issue 13): a named tuple is built in a third of the time
    of a frozen dataclass, whose fields are set one by one."""

    mn_id: str
    bce: Optional[MaarBce]
    attachment: Optional[Attachment]
    locating: Tuple[IPv6Network, ...]
    cmd_seq: Optional[int] = None  # the last sequence number accepted from the CMD
    usage: Tuple[PrefixUse, ...] = ()  # traffic of its anchored prefixes (core/maar_gc.py)
    #: pmipv6 mode, the LMA: BRIs awaiting their BRA, by MAG (core/revocation.py)
    revoking: Tuple[Tuple[IPv6Address, BindingRevocationIndication], ...] = ()


class CmdSlice(NamedTuple):
    mn_id: str
    bce: Optional[CmdBce]
    outbox: Tuple[Sent, ...]      # PBUs to P-MAARs awaiting their PBA
    owed: Tuple[Sent, ...]        # de-registrations owed to silent P-MAARs
    relay: Optional[Aggregation]  # relay mode: the S-MAAR's PBU awaiting P-MAARs
    departed: Optional[int]       # timestamp of the MN's departure (157 for late ones)
    seqs: Tuple[Tuple[IPv6Address, int], ...] = ()  # last sequence number sent per P-MAAR


def maar_slice(maar: Maar, mn_id: str) -> Optional[MaarSlice]:
    """What ``maar`` knows about ``mn_id``; None when nothing."""
    bce = maar.bces.get(mn_id)
    attachment = _attachment(maar, mn_id)
    locating = maar._locating.get(mn_id)
    locating = tuple(sorted(locating, key=_order)) if locating else ()
    cmd_seq = maar._cmd_seqs.get(mn_id)
    usage = maar._usage.get(mn_id)
    usage = tuple(sorted(usage.values(), key=_use_order)) if usage else ()
    revoking = maar._revoking.sent.of(mn_id)
    revoking = _by_peer((k[2], bri) for k, bri in revoking.items()) if revoking else ()
    if bce is None and attachment is None and not locating and cmd_seq is None and not usage \
            and not revoking:
        return None
    return MaarSlice(mn_id, bce, attachment, locating, cmd_seq, usage, revoking)


def _attachment(maar: Maar, mn_id: str) -> Optional[Attachment]:
    table = maar.attachments
    for state, entries in (("present", table.present), ("absent", table.absent)):
        if mn_id in entries:
            return Attachment(state, *entries[mn_id])
    if mn_id in table.held:
        port, until = table.held[mn_id]
        return Attachment("held", "", port, until)
    return None


def restore_maar(maar: Maar, piece: MaarSlice) -> None:
    """Put a slice back (after a restart, or to roll back an event whose
    state could not be stored).  The pool is restored separately, once for
    every slice (:func:`restore_pool`)."""
    mn_id = piece.mn_id
    forget_maar(maar, mn_id)
    if piece.bce is not None:
        maar.bces[mn_id] = routes.compact(piece.bce)
        maar._prefix_mn.update(dict.fromkeys(piece.bce.p_maars, mn_id))
        if piece.bce.pending is not None:
            maar._backoff.resume(("retx", mn_id))
    if piece.locating:
        maar._locating[mn_id] = set(piece.locating)
    if piece.cmd_seq is not None:
        maar._cmd_seqs[mn_id] = piece.cmd_seq
    if piece.usage:
        maar._usage[mn_id] = {use.prefix: use for use in piece.usage}
    for mag, bri in piece.revoking:
        maar._revoking.sent[(REVOKE, mn_id, mag)] = bri
        maar._backoff.resume((REVOKE, mn_id, mag))
    att = piece.attachment
    if att is not None:
        table = {"present": maar.attachments.present, "absent": maar.attachments.absent}
        if att.state == "held":
            maar.attachments.held[mn_id] = (att.port, att.until)
        else:
            table[att.state][mn_id] = (att.mac, att.port)


def forget_maar(maar: Maar, mn_id: str) -> None:
    """Drop every trace of ``mn_id`` at ``maar`` (its prefix stays claimed:
    the pool is restored on its own)."""
    maar.bces.pop(mn_id, None)
    maar._locating.pop(mn_id, None)
    maar._cmd_seqs.pop(mn_id, None)
    maar._usage.pop(mn_id, None)
    maar._backoff.stop(("retx", mn_id))
    maar._forget_revocations(mn_id)
    for table in (maar.attachments.present, maar.attachments.absent, maar.attachments.held):
        table.pop(mn_id, None)


def restore_pool(maar: Maar) -> None:
    """The pool hands out again exactly the prefixes no restored BCE holds."""
    maar.pool.restore({bce.local: bce.mn_id for bce in maar.bces.values()
                       if bce.local is not None})


def cmd_slice(cmd: Cmd, mn_id: str) -> Optional[CmdSlice]:
    """What the CMD knows about ``mn_id``; None when nothing."""
    bce = cmd.store.get(mn_id)
    outbox = _by_peer((k[2], sent[1]) for k, sent in cmd._outbox.of(mn_id).items())
    owed = _by_peer((k[1], pbu) for k, pbu in cmd._owed.of(mn_id).items())
    relay, departed = cmd._relays.get(mn_id), cmd._departed.get(mn_id)
    seqs = _by_peer(cmd._seqs.of(mn_id).items())
    if bce is None and not (outbox or owed or seqs) and relay is None and departed is None:
        return None
    return CmdSlice(mn_id, bce, outbox, owed, relay, departed, seqs)


def _by_peer(entries) -> tuple:
    """(peer, value) pairs in the order of the peers' addresses."""
    return tuple(sorted(entries, key=lambda s: int(s[0])))


def restore_cmd(cmd: Cmd, piece: CmdSlice) -> None:
    mn_id = piece.mn_id
    forget_cmd(cmd, mn_id)
    if piece.bce is not None:
        cmd.store.put(piece.bce)
        cmd._owners.record(mn_id, piece.bce.anchors)
    for peer, number in piece.seqs:
        cmd._seqs.set(mn_id, peer, number)
    for peer, pbu in piece.outbox:
        key = ("retx", mn_id, peer)
        cmd._outbox[key] = (peer, pbu)
        cmd._backoff.resume(key)
    for peer, pbu in piece.owed:
        cmd._owed[(mn_id, peer)] = pbu
    if piece.relay is not None:
        cmd._relays[mn_id] = piece.relay
    if piece.departed is not None:
        cmd._departed[mn_id] = piece.departed


def forget_cmd(cmd: Cmd, mn_id: str) -> None:
    cmd.store.delete(mn_id)
    for key in cmd._outbox.drop(mn_id):
        cmd._backoff.stop(key)
    cmd._owed.drop(mn_id)
    cmd._seqs.drop(mn_id)
    cmd._relays.pop(mn_id, None)
    cmd._departed.pop(mn_id, None)


def _order(prefix: IPv6Network) -> tuple:
    return int(prefix.network_address), prefix.prefixlen


def _use_order(use: PrefixUse) -> tuple:
    return _order(use.prefix)
