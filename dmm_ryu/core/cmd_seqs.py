"""The sequence numbers the CMD last sent each P-MAAR, per MN (RFC 6275
9.5.1: a MAAR accepts only newer numbers from the CMD for the MN).

One flat tuple ``(peer, number, peer, number, ...)`` per MN instead of a
dict per MN: almost every MN has one or two P-MAARs, and a one-entry dict
costs 224 bytes where the tuple costs 56 (issue 17: memory per MN).  A
write rebuilds the MN's tuple, a few pairs, on the CMD's PBU path only.
"""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import Dict, Tuple

from dmm_ryu.core.messages import next_seq


class SequenceNumbers:
    """MN-ID -> P-MAAR address -> the last sequence number sent it."""

    __slots__ = ("_flat",)

    def __init__(self) -> None:
        self._flat: Dict[str, tuple] = {}

    def of(self, mn_id: str) -> Dict[IPv6Address, int]:
        """The MN's numbers by P-MAAR, in the order they were first set."""
        flat = self._flat.get(mn_id, ())
        return dict(zip(flat[::2], flat[1::2]))

    def next(self, mn_id: str, peer: IPv6Address) -> int:
        """The number of the next PBU to ``peer`` about ``mn_id``, recorded."""
        number = next_seq(self.of(mn_id).get(peer, 0))
        self.set(mn_id, peer, number)
        return number

    def set(self, mn_id: str, peer: IPv6Address, number: int) -> None:
        numbers = self.of(mn_id)
        numbers[peer] = number
        self._flat[mn_id] = _flatten(numbers)

    def forget(self, mn_id: str, peer: IPv6Address) -> None:
        """``peer`` left the session (it answered a de-registration)."""
        numbers = self.of(mn_id)
        numbers.pop(peer, None)
        if numbers:
            self._flat[mn_id] = _flatten(numbers)
        else:
            self._flat.pop(mn_id, None)

    def drop(self, mn_id: str) -> None:
        self._flat.pop(mn_id, None)

    def clear(self) -> None:
        self._flat.clear()


def _flatten(numbers: Dict[IPv6Address, int]) -> Tuple:
    return tuple(item for pair in numbers.items() for item in pair)
