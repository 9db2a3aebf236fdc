"""A table whose keys name an MN, indexed by that MN.

The CMD keeps its PBUs in flight and its owed de-registrations by keys that
name the MN (``("retx", mn_id, peer)``, ``(mn_id, peer)``).  Its record of an
MN is written after every event of that MN (issue 13) and needs that MN's
entries only: held per MN, they are found by one lookup, not by a scan of
every MN's (thousands during a long MAAR outage, when de-registrations are
owed to it for every MN it anchored).
"""
from __future__ import annotations

from typing import Any, Dict, Hashable, Mapping

_ABSENT = object()
_NONE: Mapping = {}


class ByMn:
    """Key -> value, where ``key[at]`` is the MN-ID; an MN without entries
    costs nothing (its inner table is dropped with its last entry)."""

    __slots__ = ("_tables", "_at")

    def __init__(self, at: int) -> None:
        self._tables: Dict[str, Dict[Hashable, Any]] = {}
        self._at = at

    def get(self, key: tuple, default: Any = None) -> Any:
        return self._tables.get(key[self._at], _NONE).get(key, default)

    def __setitem__(self, key: tuple, value: Any) -> None:
        table = self._tables.get(key[self._at])
        if table is None:
            table = self._tables[key[self._at]] = {}
        table[key] = value

    def pop(self, key: tuple, default: Any = None) -> Any:
        table = self._tables.get(key[self._at])
        if table is None:
            return default
        value = table.pop(key, default)
        if not table:
            del self._tables[key[self._at]]
        return value

    def __delitem__(self, key: tuple) -> None:
        if self.pop(key, _ABSENT) is _ABSENT:
            raise KeyError(key)

    def of(self, mn_id: str) -> Mapping[Hashable, Any]:
        """The MN's entries by key (read only: change them through the table)."""
        return self._tables.get(mn_id, _NONE)

    def drop(self, mn_id: str) -> Dict[Hashable, Any]:
        """Remove the MN's entries; what they were."""
        return self._tables.pop(mn_id, {})
