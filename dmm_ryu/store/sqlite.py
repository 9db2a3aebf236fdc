"""The default durable backend: one SQLite file per node, in WAL mode.

Why these settings:

* **WAL** lets ``load``/``get`` read while a commit writes, and a commit is
  one append to the ``-wal`` file instead of a rollback journal plus an
  in-place rewrite.
* **synchronous=NORMAL** (the default here): a commit is in the WAL file,
  in the kernel's page cache, before ``commit`` returns, so it survives
  ``kill -9`` of the controller (the case the runtime must handle: crash,
  OOM kill, restart by systemd).  It does not fsync per commit, so a power
  loss or kernel panic may roll back the last commits (never corrupt the
  file).  **FULL** fsyncs the WAL on every commit and also survives power
  loss.  Measured with ``benchmarks/bench_store.py`` on the development VM
  (2 shared cores, virtio disk): NORMAL 40 us of CPU (60-100 us wall) per
  commit of 1-3 records; FULL 0.1-6 ms, as the disk's fsync (p50 2 ms,
  p99 6 ms) dominates, which alone would cap a node's commits near 400/s.
  A power cut of the controller host (rarer than a process crash, and the
  switches keep forwarding through it) costs NORMAL only the commits of
  its last moments, so NORMAL is the default and FULL one argument away
  (``synchronous="FULL"``) for hosts where those matter.

Revisions: the store's last revision is kept in memory, not rewritten by
every commit (a second page per commit, a third of its cost).  It is read
back as the highest revision on record (the ``meta`` row keeps the mark
when a commit deletes keys, which may have held it), at the first commit
and whenever another connection has written the file meanwhile (``PRAGMA
data_version``, read inside the write transaction), so revisions only rise,
across restarts and between connections.

The connection is shared by every thread (``check_same_thread=False``) and
guarded by a lock of the operating system: the REST server, the timer
thread and the OpenFlow handlers may all persist state, native threads or
eventlet green threads alike.  The critical sections never yield to
eventlet's hub (sqlite3 runs in C), so a green thread never waits for a
holder that needs the hub to finish.
"""
from __future__ import annotations

import _thread
import os
import sqlite3
import sys
from itertools import takewhile
from typing import Dict, List, Mapping, Optional

from .base import Record, StoreConflict, StoreUnavailable

SYNCHRONOUS = ("NORMAL", "FULL")
SCHEMA_VERSION = 1

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS records ("
    " key TEXT PRIMARY KEY, value BLOB NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('revision', 0)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)
_HIGHEST = ("SELECT max((SELECT value FROM meta WHERE name = 'revision'),"
            " coalesce((SELECT max(revision) FROM records), 0))")
_MARK = "UPDATE meta SET value = ? WHERE name = 'revision'"
_UPSERT = ("INSERT INTO records (key, value, revision) VALUES (?, ?, ?) ON CONFLICT (key)"
           " DO UPDATE SET value = excluded.value, revision = excluded.revision")
#: The statement of one write by (is it a delete, its guard): None none,
#: 0 "must be absent", 1 "must be at the revision given last".
_WRITE = {
    (False, None): _UPSERT,
    (False, 0): "INSERT INTO records (key, value, revision) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
    (False, 1): "UPDATE records SET value = ?2, revision = ?3 WHERE key = ?1 AND revision = ?4",
    (True, None): "DELETE FROM records WHERE key = ?",
    (True, 0): "DELETE FROM records WHERE key = ?",
    (True, 1): "DELETE FROM records WHERE key = ?1 AND revision = ?2",
}

def node_store_path(state_dir: str, node: str) -> str:
    """The file of ``node``'s store: ``<state_dir>/<node>.sqlite``."""
    if not node or node.startswith(".") or os.sep in node or (os.altsep and os.altsep in node):
        raise ValueError(f"node name {node!r} cannot name a store file")
    return os.path.join(state_dir, f"{node}.sqlite")


def _os_lock():
    """A lock of the OS even when eventlet has monkey-patched ``_thread``."""
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None:
        return patcher.original("_thread").allocate_lock()
    return _thread.allocate_lock()


class SqliteStore:
    """A :class:`~dmm_ryu.store.base.KvStore` in the SQLite file ``path``.

    The directory is created (mode 0700: bindings name subscribers) when
    missing.  Every SQLite or file-system error, at open or later, is
    raised as :class:`StoreUnavailable`.
    """

    def __init__(self, path: str, synchronous: str = "NORMAL", timeout: float = 5.0) -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self.path, self.synchronous = path, synchronous
        self._lock = _os_lock()
        self._revision: Optional[int] = None  # the last one, once known
        self._data_version = 0
        try:
            os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"{path}: {exc}") from exc
        try:
            self._configure()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreUnavailable(f"{path}: {exc}") from exc

    def _configure(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, WAL refused")
        self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
        found = self._db.execute("PRAGMA user_version").fetchone()[0]
        if found not in (0, SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"schema version {found}, this code knows {SCHEMA_VERSION}")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def load(self, prefix: str = "") -> List[Record]:
        rows = self._read("SELECT key, value, revision FROM records WHERE key >= ? ORDER BY key",
                          (prefix,))
        wanted = takewhile(lambda row: row[0].startswith(prefix), rows)
        return [Record(key, value, revision) for key, value, revision in wanted]

    def get(self, key: str) -> Optional[Record]:
        rows = self._read("SELECT value, revision FROM records WHERE key = ?", (key,))
        return Record(key, rows[0][0], rows[0][1]) if rows else None

    def _read(self, sql: str, args: tuple) -> list:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if writes else "BEGIN")
                revisions = self._apply(writes, expect)
                self._db.execute("COMMIT")
                return revisions
            except StoreConflict:
                self._rollback()
                raise
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def _apply(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int]) -> Dict[str, int]:
        """Check ``expect`` and write, inside the caller's transaction.  A key
        both expected and written is checked by its write (``... WHERE
        revision = ?``: one statement, no read before it)."""
        for key, revision in expect.items():
            if key not in writes or (revision == 0 and writes[key] is None):
                self._check(key, revision)
        if not writes:
            return {}
        revision = self._next_revision()
        revisions: Dict[str, int] = {}
        for key, value in writes.items():
            guard = expect.get(key)
            args = (key,) if value is None else (key, value, revision)
            statement = _WRITE[value is None, guard if not guard else 1]
            changed = self._db.execute(statement, args + (guard,) if guard else args).rowcount
            if guard is not None and not changed:
                self._check(key, guard)  # raises unless a delete found nothing, as expected
            revisions[key] = 0 if value is None else revision
        if 0 in revisions.values():
            self._db.execute(_MARK, (revision,))
        return revisions

    def _check(self, key: str, revision: int) -> None:
        row = self._db.execute("SELECT revision FROM records WHERE key = ?", (key,)).fetchone()
        actual = row[0] if row else 0
        if actual != revision:
            raise StoreConflict(key, revision, actual)

    def _next_revision(self) -> int:
        """The revision of this commit: one above the highest yet, re-read
        from the file if another connection committed since we last did."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if self._revision is None or version != self._data_version:
            self._revision = self._db.execute(_HIGHEST).fetchone()[0]
            self._data_version = version
        self._revision += 1
        return self._revision

    def _rollback(self) -> None:
        """Undo a failed commit; SQLite may already have (disk full, I/O error)."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        with self._lock:
            self._db.close()
