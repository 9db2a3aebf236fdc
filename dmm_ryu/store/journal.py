"""An embedded append-only journal: one file per node, an index in memory.

Why: a node's commit must be durable before its messages leave, and a
handover is ~7 commits; an SQLite commit (WAL, synchronous=NORMAL) costs
35-75 us from Python, a journal commit is one ``os.write`` (~5-15 us).

The file is a magic header, then frames: ``<length u32><crc32 u32><payload>``.
A payload is the store's revision after the frame (``mark``) and entries
``<revision u64><key length u16><value length u32><key><value>`` (value length
``DELETED``: the key was deleted).  A commit is one frame of its writes, all
at the new revision; a snapshot (compaction) is one frame of every live
record at its own revision, marked with the store's revision, so revisions
only rise and a deleted key's revision is never reused.

Durability, as SQLite's synchronous=NORMAL: ``commit`` returns once its
frame is handed to the kernel by one ``os.write``, so it survives ``kill -9``
of the controller, not a power loss or kernel panic (which may lose the last
commits, never corrupt what replays).  ``synchronous="FULL"`` also fsyncs
every commit (as SQLite FULL: survives power loss, costs the disk's fsync).

Opening replays the file, checking each frame's CRC, and stops at the first
torn or corrupt frame, truncating it away (a crash mid-write): what replays
is always a prefix of the committed history.  Compaction, when the file
exceeds :data:`COMPACT_RATIO` times the live data (and :data:`COMPACT_FLOOR`), writes a snapshot to
``<path>.compact``, fsyncs it, renames it over the file and fsyncs the
directory: a crash at any point leaves the old file or the new one.  The
file is locked (``flock``) while open: two processes never append to it.

Only an index is kept in memory (Bitcask's keydir): each live key's
revision and where its value lies in the file, one integer per key.  A
record is ~600 bytes and each MN has one per node it touched, which held
in memory cost ~2.5 KB per MN, nearly the runtime's own 3 KB (issue 17);
values are read back with ``pread`` (:meth:`get`, a roll-back's only
read) or from one read of the file (:meth:`load` at a restart, compaction).
"""
from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import zlib
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from .base import Record, StoreConflict, StoreUnavailable
from .sqlite import _os_lock

MAGIC = b"DMMJRNL1"
SYNCHRONOUS = ("NORMAL", "FULL")
COMPACT_FLOOR = 1 << 20  # bytes: below this the file is never compacted
#: The file is compacted when it passes this many times its live data.  A
#: compaction reads the file and rewrites the live part, so its cost per
#: committed byte falls as 1/(ratio - 1): at 2 compactions took a fifth of
#: the time commits took in the handover run (py-spy, wall clock: their two
#: fsyncs block the event loop, ~1 ms of CPU each for 126 KB live), at 4 a
#: third of that, for a file and a replay at restart up to twice as long
#: (issue 13).  Small journals compact at COMPACT_FLOOR, whatever the ratio.
COMPACT_RATIO = 4
DELETED = 0xFFFFFFFF
_FRAME = struct.Struct("<II")
_MARK = struct.Struct("<QI")
_ENTRY = struct.Struct("<QHI")
_OFFSET_BITS, _LENGTH_BITS = 48, 32
_LENGTH_MASK = (1 << _LENGTH_BITS) - 1

log = logging.getLogger(__name__)


def node_journal_path(state_dir: str, node: str) -> str:
    """The file of ``node``'s journal: ``<state_dir>/<node>.journal``."""
    if not node or node.startswith(".") or os.sep in node or (os.altsep and os.altsep in node):
        raise ValueError(f"node name {node!r} cannot name a store file")
    return os.path.join(state_dir, f"{node}.journal")


def frame(mark: int, entries: Iterable[Tuple[str, Optional[bytes], int]]) -> bytes:
    """One framed record: the store's revision ``mark`` and (key, value or
    None for a delete, revision) entries."""
    return framed(mark, entries)[0]


def framed(mark: int, entries: Iterable[Tuple[str, Optional[bytes], int]]
           ) -> Tuple[bytes, List[int]]:
    """:func:`frame`, and where each entry's value starts, counted from the
    frame's first byte (the index points into the file; the writer knows
    the places as it lays them out, so nothing walks the layout again)."""
    parts, places = [b""], []
    count, place = 0, _FRAME.size + _MARK.size
    for key, value, revision in entries:
        name = key.encode()
        place += _ENTRY.size + len(name)
        places.append(place)
        if value is None:
            parts += (_ENTRY.pack(revision, len(name), DELETED), name)
        else:
            parts += (_ENTRY.pack(revision, len(name), len(value)), name, value)
            place += len(value)
        count += 1
    parts[0] = _MARK.pack(mark, count)
    payload = b"".join(parts)
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload, places


def decode(payload: bytes) -> Tuple[int, List[Tuple[str, Optional[bytes], int]], List[int]]:
    """(mark, entries, where each value starts in the frame, as
    :func:`framed` gives them) of a payload whose CRC matched; ValueError
    if malformed."""
    try:
        mark, count = _MARK.unpack_from(payload, 0)
        offset, entries, places = _MARK.size, [], []
        for _ in range(count):
            revision, key_length, value_length = _ENTRY.unpack_from(payload, offset)
            offset += _ENTRY.size
            key = payload[offset:offset + key_length].decode()
            offset += key_length
            places.append(_FRAME.size + offset)
            value = None
            if value_length != DELETED:
                value = payload[offset:offset + value_length]
                offset += value_length
            entries.append((key, value, revision))
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    if offset != len(payload):
        raise ValueError(f"{len(payload) - offset} bytes after the last entry")
    return mark, entries, places


def frames(data: bytes) -> Iterable[Tuple[int, int, list, List[int]]]:
    """(end offset, mark, entries, value places) of every whole, intact
    frame after the header, up to the first torn or corrupt one."""
    offset = len(MAGIC)
    while offset + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, offset)
        end = offset + _FRAME.size + length
        payload = data[offset + _FRAME.size:end]
        if end > len(data) or zlib.crc32(payload) != crc:
            return
        try:
            mark, entries, places = decode(payload)
        except ValueError:
            return
        yield end, mark, entries, places
        offset = end


def _slot(revision: int, offset: int, length: int) -> int:
    """One index entry: a revision, a value's offset and length, one int."""
    if offset >> _OFFSET_BITS or length >> _LENGTH_BITS:
        raise ValueError(f"offset {offset} or length {length} beyond the index's fields")
    return (revision << (_OFFSET_BITS + _LENGTH_BITS)) | (offset << _LENGTH_BITS) | length


def _revision_of(slot: int) -> int:
    return slot >> (_OFFSET_BITS + _LENGTH_BITS)


def _span(slot: int) -> Tuple[int, int]:
    """(offset, length) of the value an index entry points at."""
    return (slot >> _LENGTH_BITS) & ((1 << _OFFSET_BITS) - 1), slot & _LENGTH_MASK


def _fsync_directory(path: str) -> None:
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalStore:
    """A :class:`~dmm_ryu.store.base.KvStore` in the journal file ``path``.

    ``crash_at`` is the fault hook of the compaction tests: called with
    ``"written"``, ``"synced"`` and ``"renamed"`` at those points of a
    compaction (raise from it to stand for a kill).  Every file-system
    error is raised as :class:`StoreUnavailable`.
    """

    def __init__(self, path, synchronous: str = "NORMAL",
                 compact_floor: int = COMPACT_FLOOR,
                 crash_at: Callable[[str], None] = lambda point: None) -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self.path, self.synchronous = os.fspath(path), synchronous
        self.compact_floor, self._crash_at = compact_floor, crash_at
        self._lock = _os_lock()
        self._index: Dict[str, int] = {}  # key -> _slot(revision, offset, length)
        self._revision = 0
        self._live = 0  # bytes a snapshot of the live records takes
        self._size = 0  # bytes of the file
        self._fd: Optional[int] = None
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            self._open()
        except OSError as exc:
            self._close_fd()
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        except StoreUnavailable:
            self._close_fd()
            raise

    # --- open and replay --------------------------------------------------------------

    def _open(self) -> None:
        try:
            os.unlink(self.path + ".compact")  # a compaction the last process did not finish
        except FileNotFoundError:
            pass
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreUnavailable(f"{self.path}: in use by another store") from None
        self._replay(self._read_all())

    def _read_all(self) -> bytes:
        chunks = []
        os.lseek(self._fd, 0, os.SEEK_SET)
        while True:
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def _replay(self, data: bytes) -> None:
        """Rebuild the records from ``data``; cut off a torn or corrupt tail."""
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            os.ftruncate(self._fd, 0)
            self._append(MAGIC)  # new, or torn while it was being created
            return
        if not data.startswith(MAGIC):
            raise StoreUnavailable(f"{self.path}: not a journal (bad magic)")
        good = len(MAGIC)
        for end, mark, entries, places in frames(data):
            self._apply(entries, places, good)
            self._revision = max(self._revision, mark)
            good = end
        if good < len(data):
            log.warning("%s: dropped %d bytes of a torn or corrupt tail (a crash mid-write)",
                        self.path, len(data) - good)
            os.ftruncate(self._fd, good)
        self._size = good

    def _apply(self, entries: List[Tuple[str, Optional[bytes], int]], places: List[int],
               start: int) -> None:
        """Index the entries of the frame written at file offset ``start``
        (``places``: where their values start in it).  ``_live`` counts what
        each entry takes in a snapshot (exact for ASCII keys: the compaction
        threshold needs no more), inline: this runs for every record written."""
        index, live, overhead = self._index, self._live, _ENTRY.size
        for (key, value, revision), place in zip(entries, places):
            old = index.pop(key, None)
            if old is not None:
                live -= overhead + len(key) + (old & _LENGTH_MASK)
            if value is not None:
                index[key] = _slot(revision, start + place, len(value))
                live += overhead + len(key) + len(value)
        self._live = live

    def _records(self, keys: Iterable[str]) -> List[Record]:
        """The records of ``keys`` (indexed), their values copied out of a
        read-only map of the file: only the live values are touched, where
        reading the file whole copied all of it (a compaction at the 1 MiB
        floor read ~1.2 MB for ~130 KB live, 0.4-2.2 ms on this VM: most of
        what compactions cost, issue 13)."""
        keys = list(keys)
        if not keys:
            return []
        with mmap.mmap(self._fd, self._size, access=mmap.ACCESS_READ) as view:
            records = []
            for key in keys:
                slot = self._index[key]
                offset, length = _span(slot)
                records.append(Record(key, view[offset:offset + length], _revision_of(slot)))
        return records

    # --- the KvStore interface --------------------------------------------------------

    def load(self, prefix: str = "") -> List[Record]:
        with self._lock:
            self._check_open()
            try:
                return self._records(k for k in sorted(self._index) if k.startswith(prefix))
            except OSError as exc:
                raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def get(self, key: str) -> Optional[Record]:
        with self._lock:
            self._check_open()
            slot = self._index.get(key)
            if slot is None:
                return None
            offset, length = _span(slot)
            try:
                return Record(key, os.pread(self._fd, length, offset), _revision_of(slot))
            except OSError as exc:
                raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        with self._lock:
            self._check_open()
            for key, revision in expect.items():
                current = self._index.get(key)
                actual = 0 if current is None else _revision_of(current)
                if actual != revision:
                    raise StoreConflict(key, revision, actual)
            if not writes:
                return {}
            revision = self._revision + 1
            entries = [(key, None if value is None else bytes(value), revision)
                       for key, value in writes.items()]
            start = self._size
            data, places = framed(revision, entries)
            self._append(data)
            self._revision = revision
            self._apply(entries, places, start)
            if self._size > max(self.compact_floor, COMPACT_RATIO * self._live):
                self._compact()
            return {key: 0 if value is None else revision for key, value, _ in entries}

    def close(self) -> None:
        with self._lock:
            self._close_fd()
            self._index.clear()

    # --- writing ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._fd is None:
            raise StoreUnavailable(f"{self.path}: closed")

    def _append(self, data: bytes) -> None:
        """One ``os.write`` of ``data``; on any failure the file is cut back
        to where it was and nothing of the commit counts."""
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"short write: {written} of {len(data)} bytes (disk full?)")
            if self.synchronous == "FULL":
                os.fsync(self._fd)
        except OSError as exc:
            self._cut_back()
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        self._size += len(data)

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError:
            log.error("%s: cannot cut a failed write back; the next open drops it", self.path)

    def _compact(self) -> None:
        """Replace the file by a snapshot of the live records.  A failure
        leaves the old file in use: compaction is retried at the next commit."""
        temporary = self.path + ".compact"
        try:
            entries = [(r.key, r.value, r.revision) for r in self._records(self._index)]
            data, places = framed(self._revision, entries)
            snapshot = MAGIC + data
            new = self._write_snapshot(temporary, snapshot)
        except OSError as exc:
            log.error("%s: compaction failed, the journal grows on: %s", self.path, exc)
            return
        os.close(self._fd)
        self._fd, self._size = new, len(snapshot)
        self._index.clear()
        self._live = 0
        self._apply(entries, places, len(MAGIC))

    def _write_snapshot(self, temporary: str, snapshot: bytes) -> int:
        """Write, fsync and rename ``snapshot`` over the file; its fd, locked."""
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        try:
            if os.write(fd, snapshot) != len(snapshot):
                raise OSError(f"short write of a {len(snapshot)}-byte snapshot (disk full?)")
            self._crash_at("written")
            os.fsync(fd)
            self._crash_at("synced")
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(temporary, self.path)
            self._crash_at("renamed")
            _fsync_directory(self.path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
