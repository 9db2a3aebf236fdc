"""A node's durable state: one record per MN, written before any message
that depends on it leaves.

After each round of events (one event, or every event one dispatch round
handled: group commit, runtime/group.py) the node hands over the MNs the
events touched (each event's MN and every MN named by the actions); the
records of those whose slice (core state) or timer deadlines changed are
committed in one atomic write, one commit per node per round.  A digest of each record as last written or
read tells what changed; an event that changed nothing writes nothing (if
it sends a message, a commit of no writes still checks the revisions).
If the write fails the round's events are rolled back to what the store
holds and nothing of them is sent: a PBA never acknowledges what a crash could forget, and a
CMD that cannot store a registration refuses it with status 128
(runtime/cmd_node.py).  A timer whose event was undone fires again after
``STORE_RETRY`` (runtime/node.py), not at its past deadline.

After a restart every record is loaded back, the pool is rebuilt from the
BCEs, and each timer is re-armed at its deadline; one that fell due while
the controller was down fires ``grace`` seconds after the restart (twice
that for the CMD's session expiry, so an S-MAAR's overdue refresh is heard
before its session would end).

Layout (``v``): 2 writes a settled MAAR BCE without its rules, which are
what the BCE calls for (``routes.settled``) and are derived on load; a
temporal BCE keeps the rules of the state before it.  Layout 1 records
stored every BCE's rules and are still read.  A record this version cannot
read stops the load with a StoreError naming its key.
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Hashable, Iterable, List, Optional, Set, Tuple

from dmm_ryu.core import actions as act
from dmm_ryu.core import routes, slices
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.cmd_peers import Aggregation
from dmm_ryu.core.events import MessageReceived, TimerFired
from dmm_ryu.core.maar_gc import PrefixUse
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.store import CmdBce
from dmm_ryu.store import records
from dmm_ryu.store.base import KvStore, StoreError
from dmm_ryu.wire.mh.model import BindingRevocationIndication, ProxyBindingUpdate

PREFIX = "mn/"
#: Seconds after a restart at which timers that fell due meanwhile fire.
RESTART_GRACE = 2.0

#: A MAAR BCE as records hold it.  A settled BCE's rules are not written
#: (``installed`` null): they are what the BCE calls for, derived again on
#: load (routes.settled), which spares a handover ~4 rule sets to encode.
#: A temporal BCE keeps the rules of the state before it, so they are.
_RULES = records.field_codec(Optional[records.INSTALLED], "MaarBce.installed")
_MAAR_BCE = records.object_codec(MaarBce, codecs={"installed": _RULES})
_SETTLED_BCE = records.object_codec(MaarBce, codecs={"installed": (lambda rules: None, _RULES[1])})
#: Record layouts this version reads: 1 always stored a BCE's rules; 2, the
#: one written, stores only a temporal BCE's.
VERSION, READS = 2, (1, 2)
_CMD_BCE = records.object_codec(CmdBce)
_ATTACHMENT = records.object_codec(slices.Attachment)
_USE = records.object_codec(PrefixUse)
_pbu_out, _pbu_in = records.field_codec(ProxyBindingUpdate, "pbu")
_bri_out, _bri_in = records.field_codec(BindingRevocationIndication, "revoking")
#: Addresses and prefixes as text, remembered by identity (records' own
#: codecs): a P-MAAR's address and an MN's prefixes recur in every record
#: of their MNs, and ``inet_ntop`` costs ~1 us each time.
_addr = records.field_codec(IPv6Address, "address")[0]
_net = records.field_codec(IPv6Network, "prefix")[0]


class NodeState:
    """The durable state of one node's core in one :class:`KvStore`."""

    def __init__(self, store: KvStore, core) -> None:
        self.store, self.core = store, core
        self._is_cmd = isinstance(core, Cmd)
        self.deadlines: Dict[str, Dict[Hashable, float]] = {}
        self.revisions: Dict[str, int] = {}  # of each MN's record as last read or written
        self.digests: Dict[str, int] = {}  # of each MN's record as last read or written

    # -- after each event -------------------------------------------------------

    def track(self, event, actions: Iterable) -> Tuple[Set[str], bool]:
        """Follow the timers the core starts, cancels and consumes; the
        MN-IDs the event and its actions concern (whose records to write:
        the event's MN and every MN an action names) and whether it sends
        (its commit is then fenced), found in the same pass."""
        ids: Set[str] = set()
        mn_id = getattr(event, "mn_id", None)
        if mn_id is not None:
            ids.add(mn_id)
        if isinstance(event, MessageReceived):
            ids.add(event.message.options.mn_id)
        elif isinstance(event, TimerFired):
            ids.add(event.key[1])
            self.deadlines.get(event.key[1], {}).pop(event.key, None)
        sends = False
        for action in actions:
            kind = type(action)
            if kind is act.SendMessage:
                ids.add(action.message.options.mn_id)
                sends = True
            elif kind is act.StartTimer:
                ids.add(action.key[1])
                self.deadlines.setdefault(action.key[1], {})[action.key] = action.at
            elif kind is act.CancelTimer:
                ids.add(action.key[1])
                self.deadlines.get(action.key[1], {}).pop(action.key, None)
            else:
                ids.add(action.mn_id)
        return ids, sends

    def save(self, mn_ids: Iterable[str], fence: bool = False) -> None:
        """Commit, in one write, the records of ``mn_ids`` that changed since
        they were last written or read (an unchanged record costs no write),
        each on the condition that nobody wrote it since (compare-and-swap on
        its revision: two CMD instances cannot both accept conflicting
        registrations); StoreError (StoreConflict) if not.  ``fence``: the
        event sends messages, so even with nothing to write the revisions
        are checked (a stale instance must not answer from its state)."""
        writes: Dict[str, Optional[bytes]] = {}
        expect: Dict[str, int] = {}
        digests: Dict[str, Optional[int]] = {}
        for mn_id in mn_ids:
            key, value = PREFIX + mn_id, self._storable(mn_id)
            expect[key] = self.revisions.get(mn_id, 0)
            digest = None if value is None else _digest(value)
            if digest != self.digests.get(mn_id):
                writes[key], digests[mn_id] = value, digest
        if writes or (fence and expect):
            self._commit(writes, expect, digests)

    def _commit(self, writes: Dict[str, Optional[bytes]], expect: Dict[str, int],
                digests: Dict[str, Optional[int]]) -> None:
        revisions = self.store.commit(writes, expect)
        for mn_id, digest in digests.items():
            revision = revisions.get(PREFIX + mn_id, 0)
            if revision:
                self.revisions[mn_id], self.digests[mn_id] = revision, digest
            else:
                self.revisions.pop(mn_id, None)
                self.digests.pop(mn_id, None)

    def roll_back(self, mn_ids: Iterable[str]) -> None:
        """Make the core and the deadlines what the store holds for ``mn_ids``."""
        for mn_id in mn_ids:
            record = self.store.get(PREFIX + mn_id)
            self.deadlines.pop(mn_id, None)
            self.revisions.pop(mn_id, None)
            self.digests.pop(mn_id, None)
            if record is None:
                self._forget(mn_id)
            else:
                self._restore_record(record)
                self._read(mn_id, record)
        if not self._is_cmd:
            slices.restore_pool(self.core)
            self.core.bces.settle()  # recount now: in a round, the next event may be far

    # -- after a restart -----------------------------------------------------------

    def load(self, now: float, grace: float = RESTART_GRACE) -> List[act.StartTimer]:
        """Restore every record; the timers to arm, at their deadlines or
        ``grace`` after ``now`` for those already due."""
        timers: List[act.StartTimer] = []
        for mn_id in list(self.deadlines):
            self._forget(mn_id)
        self.deadlines.clear()
        self.revisions.clear()
        self.digests.clear()
        for record in self.store.load(PREFIX):
            body = self._restore_record(record)
            self._read(body["mn_id"], record)
            for key, at in self.deadlines.get(body["mn_id"], {}).items():
                late = grace * (2 if self._is_cmd and key[0] == "expire" else 1)
                timers.append(act.StartTimer(key, max(at, now + late)))
        if not self._is_cmd:
            slices.restore_pool(self.core)
        return timers

    def _storable(self, mn_id: str) -> Optional[bytes]:
        """The record of ``mn_id``; StoreError if its state holds a value no
        record can keep (the event is then undone like any failed write)."""
        try:
            return self._encode(mn_id)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{PREFIX}{mn_id} cannot be encoded: {exc}") from exc

    def _read(self, mn_id: str, record) -> None:
        self.revisions[mn_id], self.digests[mn_id] = record.revision, _digest(record.value)

    # -- encoding ---------------------------------------------------------------------

    def _encode(self, mn_id: str) -> Optional[bytes]:
        piece = (slices.cmd_slice if self._is_cmd else slices.maar_slice)(self.core, mn_id)
        deadlines = self.deadlines.get(mn_id)
        if piece is None and not deadlines:
            self.deadlines.pop(mn_id, None)
            return None
        body = {"v": VERSION, "mn_id": mn_id, "timers": _timers_out(deadlines or {})}
        if piece is not None:
            body.update(_cmd_out(piece) if self._is_cmd else _maar_out(piece))
        return records.dumps(body)

    @staticmethod
    def _body(record) -> dict:
        """A record's JSON object, once its layout is one this version
        reads; StoreError naming the key if not (the app then refuses to
        start and says which record, rather than serve half a state)."""
        try:
            body = records.loads(record.value)
        except ValueError as exc:
            raise StoreError(f"{record.key}: not a record ({exc})") from None
        layout = body.get("v") if isinstance(body, dict) else None
        if layout not in READS:
            raise StoreError(f"{record.key}: record of layout {layout!r}; this version reads {READS}")
        return body

    def _restore_record(self, record) -> dict:
        """Put one record back; its body.  StoreError naming the key for a
        record that cannot be read or restored."""
        body = self._body(record)
        try:
            self._restore(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{record.key}: cannot be restored ({exc!r})") from None
        return body

    def _restore(self, body: dict) -> None:
        mn_id = body["mn_id"]
        self.deadlines[mn_id] = _timers_in(body["timers"])
        if "bce" not in body:
            self._forget(mn_id)
        elif self._is_cmd:
            slices.restore_cmd(self.core, _cmd_in(mn_id, body))
        else:
            slices.restore_maar(self.core, _maar_in(mn_id, body))

    def _forget(self, mn_id: str) -> None:
        (slices.forget_cmd if self._is_cmd else slices.forget_maar)(self.core, mn_id)


def _digest(value: bytes) -> int:
    """What tells an unchanged record from a changed one without keeping its
    bytes: Python's own hash of them (SipHash with this process's random
    key, 64 bits, ~0.3 us for a record where BLAKE2b took 1.4 us, and a
    machine word per MN instead of ~700 bytes).  Digests never outlive the
    process: records read at a restart are digested again.  A collision,
    which would skip one write, has probability 2**-64 per changed record,
    and nobody outside the process knows the key to aim for one."""
    return hash(value)


def _maar_out(piece: slices.MaarSlice) -> dict:
    bce = piece.bce
    body = {"bce": None if bce is None else (
                _SETTLED_BCE if routes.settled(bce) else _MAAR_BCE)[0](bce),
            "attachment": None if piece.attachment is None else _ATTACHMENT[0](piece.attachment),
            "locating": [_net(p) for p in piece.locating], "cmd_seq": piece.cmd_seq,
            "usage": [_USE[0](u) for u in piece.usage]}
    if piece.revoking:  # the LMA of pmipv6 mode only: other records do without the member
        body["revoking"] = [_sent_out(s, _bri_out) for s in piece.revoking]
    return body


def _maar_in(mn_id: str, body: dict) -> slices.MaarSlice:
    bce = None if body["bce"] is None else _derive_rules(_MAAR_BCE[1](body["bce"]))
    attachment = None if body["attachment"] is None else _ATTACHMENT[1](body["attachment"])
    revoking = tuple(_sent_in(s, _bri_in) for s in body.get("revoking", ()))
    return slices.MaarSlice(mn_id, bce, attachment,
                            tuple(IPv6Network(p) for p in body["locating"]), body["cmd_seq"],
                            tuple(_USE[1](u) for u in body.get("usage", ())), revoking)


def _derive_rules(bce: MaarBce) -> MaarBce:
    """A decoded BCE with its rules: as stored, or (null) what it calls for."""
    if bce.installed is None:
        rules = routes.wanted(bce)
        if rules is None:
            raise ValueError(f"{bce.mn_id}: a temporal BCE stored without its rules")
        bce.installed = routes.ordered(rules)
    return bce


def _cmd_out(piece: slices.CmdSlice) -> dict:
    relay = piece.relay
    return {"bce": None if piece.bce is None else _CMD_BCE[0](piece.bce),
            "outbox": [_sent_out(s) for s in piece.outbox],
            "owed": [_sent_out(s) for s in piece.owed],
            "relay": None if relay is None else {
                "pbu": _pbu_out(relay.pbu), "answered": relay.answered,
                "waiting": sorted(_addr(a) for a in relay.waiting)},
            "departed": piece.departed,
            "seqs": [[_addr(peer), n] for peer, n in piece.seqs]}


def _cmd_in(mn_id: str, body: dict) -> slices.CmdSlice:
    bce = None if body["bce"] is None else _CMD_BCE[1](body["bce"])
    relay = body["relay"]
    aggregation = None if relay is None else Aggregation(
        _pbu_in(relay["pbu"]), {IPv6Address(a) for a in relay["waiting"]}, relay["answered"])
    return slices.CmdSlice(mn_id, bce, tuple(_sent_in(s) for s in body["outbox"]),
                           tuple(_sent_in(s) for s in body["owed"]), aggregation,
                           body["departed"], tuple((IPv6Address(a), n) for a, n in body["seqs"]))


def _sent_out(sent, encode=_pbu_out) -> list:
    """A (peer, message) pair: a PBU in flight or owed, a BRI awaiting its BRA."""
    return [_addr(sent[0]), encode(sent[1])]


def _sent_in(item, decode=_pbu_in) -> tuple:
    return IPv6Address(item[0]), decode(item[1])


def _timers_out(deadlines: Dict[Hashable, float]) -> list:
    return [[_key_out(key), records.finite(at)] for key, at in deadlines.items()]


#: Timer keys as records write them, by key: an MN's keys recur in every
#: record of it (a refresh or expiry timer lives across its events), and a
#: key of text parts is hashed from cached string hashes.  A tuple of text
#: is not tracked by the garbage collector.  Bounded: cleared when full.
_KEYS: Dict[Hashable, tuple] = {}
_KEYS_SIZE = 4096


def _key_out(key: tuple) -> tuple:
    encoded = _KEYS.get(key)
    if encoded is None:
        if len(_KEYS) >= _KEYS_SIZE:
            _KEYS.clear()
        encoded = _KEYS[key] = tuple(_part_out(p) for p in key)
    return encoded


def _timers_in(items) -> Dict[Hashable, float]:
    return {tuple(_part_in(p) for p in key): at for key, at in items}


def _part_out(part):
    return {"a": _addr(part)} if isinstance(part, IPv6Address) else part


def _part_in(part):
    return IPv6Address(part["a"]) if isinstance(part, dict) else part

