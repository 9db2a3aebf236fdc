"""What a node needs from a store, and the in-memory backend.

Records are opaque bytes under text keys (``bce/<mn-id>``, ``pool/...``);
every write bumps the key's revision.  ``commit`` is atomic over all its
keys and may carry compare-and-swap preconditions (``expect``): the revision
the caller last read, 0 meaning "must not exist".  That one primitive gives
write-before-acknowledge on one controller and, on etcd, makes two CMD
instances unable to both accept conflicting registrations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Protocol


class StoreError(Exception):
    """A commit did not happen; nothing of it was written."""


class StoreUnavailable(StoreError):
    """The backend cannot persist now (disk error, etcd quorum lost)."""


class StoreConflict(StoreError):
    """A compare-and-swap precondition failed: someone else wrote the key."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{key}: expected revision {expected}, found {actual}")
        self.key, self.expected, self.actual = key, expected, actual


@dataclass(frozen=True)
class Record:
    """One stored value and the revision of its last write (never 0)."""

    key: str
    value: bytes
    revision: int


class KvStore(Protocol):
    """The store interface every backend implements."""

    def load(self, prefix: str = "") -> List[Record]:
        """Every record whose key starts with ``prefix`` (warm restart)."""

    def get(self, key: str) -> Optional[Record]:
        """The record under ``key``, or None."""

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        """Write (bytes) or delete (None) every key atomically, if every
        ``expect[key]`` equals that key's current revision (0: absent).
        Returns the new revision of each written key (0 for deletes).
        Raises StoreConflict or StoreUnavailable and writes nothing."""

    def close(self) -> None:
        """Release files, sockets and threads."""


class MemoryStore:
    """The in-process backend: for tests and for ``state_dir: none``."""

    def __init__(self) -> None:
        self._records: Dict[str, Record] = {}
        self._revision = 0

    def load(self, prefix: str = "") -> List[Record]:
        return [r for k, r in sorted(self._records.items()) if k.startswith(prefix)]

    def get(self, key: str) -> Optional[Record]:
        return self._records.get(key)

    def commit(self, writes: Mapping[str, Optional[bytes]],
               expect: Mapping[str, int] = {}) -> Dict[str, int]:
        for key, revision in expect.items():
            current = self._records.get(key)
            actual = current.revision if current else 0
            if actual != revision:
                raise StoreConflict(key, revision, actual)
        self._revision += 1
        revisions: Dict[str, int] = {}
        for key, value in writes.items():
            if value is None:
                self._records.pop(key, None)
                revisions[key] = 0
            else:
                self._records[key] = Record(key, value, self._revision)
                revisions[key] = self._revision
        return revisions

    def close(self) -> None:
        self._records.clear()
