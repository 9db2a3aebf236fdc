"""Remembering what an immutable value encodes to, by identity.

The hot path encodes the same frozen values again and again: a PBU is put
on the wire and stored in its MN's record after every event until it is
replaced, a rule set is stored after every event of its MN.  An identity
lookup is far cheaper than equality (no hashing of the value's fields).
"""
from __future__ import annotations

from typing import Any, Callable, Dict


_ABSENT = object()


class IdentityMemo:
    """``encode`` of immutable values, remembered by identity.  Each entry
    holds its value, so its ``id`` cannot be reused while remembered; at
    ``size`` entries the memo starts over (bounded by design).  Only for
    values that never change (frozen dataclasses, frozensets of them): a
    mutable one would be remembered as it was first seen.  The default
    size spans the handovers in flight (a PBU is wanted from its record to
    its sends, a rule set over its MN's events of one handover): a larger
    memo mostly keeps dead values alive, and each one it keeps is rescanned
    by every full garbage collection (issue 13)."""

    def __init__(self, encode: Callable[[Any], Any], size: int = 512) -> None:
        self._encode, self._size = encode, size
        # Two tables rather than one of (value, encoded) pairs: a pair is an
        # object the garbage collector tracks, and entries live long enough
        # to be promoted and rescanned by full collections (issue 13).
        self._kept: Dict[int, Any] = {}
        self._encoded: Dict[int, Any] = {}

    def __call__(self, value: Any) -> Any:
        key = id(value)
        if self._kept.get(key, _ABSENT) is value:
            return self._encoded[key]
        encoded = self._encode(value)
        if len(self._kept) >= self._size:
            self._kept.clear()
            self._encoded.clear()
        self._kept[key], self._encoded[key] = value, encoded
        return encoded
