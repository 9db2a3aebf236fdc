"""Remembering what an immutable value encodes to, by identity.

The hot path encodes the same frozen values again and again: a PBU is put
on the wire and stored in its MN's record after every event until it is
replaced, a rule set is stored after every event of its MN.  An identity
lookup is far cheaper than equality (no hashing of the value's fields).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple


class IdentityMemo:
    """``encode`` of immutable values, remembered by identity.  Each entry
    holds its value, so its ``id`` cannot be reused while remembered; at
    ``size`` entries the memo starts over (bounded by design).  Only for
    values that never change (frozen dataclasses, frozensets of them): a
    mutable one would be remembered as it was first seen."""

    def __init__(self, encode: Callable[[Any], Any], size: int = 4096) -> None:
        self._encode, self._size = encode, size
        self._memo: Dict[int, Tuple[Any, Any]] = {}

    def __call__(self, value: Any) -> Any:
        hit = self._memo.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        encoded = self._encode(value)
        if len(self._memo) >= self._size:
            self._memo.clear()
        self._memo[id(value)] = (value, encoded)
        return encoded
