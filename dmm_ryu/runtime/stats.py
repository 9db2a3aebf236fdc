"""Counters and handover latencies the runtime records as messages cross it.

REST and metrics read them; every reader gets a copy taken under the lock,
so a scrape never sees a counter half-updated, and every figure is kept
incrementally so a read costs the same whatever the number of MNs.
"""
from __future__ import annotations

import bisect
import math
import threading
from collections import Counter, deque
from typing import Dict, List, NamedTuple, Optional, Tuple

#: Upper bounds (seconds) of the handover latency histogram: handovers in the
#: user-space OVS testbed take milliseconds, a lost PBU costs a retransmission
#: (about a second), so the buckets are dense below 100 ms and sparse above.
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

#: How many recent samples per mode the p50/p99 summary is computed over.
LATENCY_WINDOW = 1024


class LatencySummary(NamedTuple):
    """Handover latency of one mode: ``count`` and ``max`` over all time,
    ``p50``/``p99`` over the last :data:`LATENCY_WINDOW` samples; in ms."""

    count: int
    p50: float
    p99: float
    max: float

    def to_json(self) -> dict:
        return self._asdict()


class LatencyHistogram(NamedTuple):
    """Cumulative histogram of one mode in seconds, as Prometheus wants it:
    ``buckets`` pairs each bound of :data:`LATENCY_BUCKETS` (then +Inf) with
    the count of samples at or below it."""

    buckets: Tuple[Tuple[float, int], ...]
    total: float
    count: int


class _Latencies:
    """Samples of one mode: bucket counts for the histogram, a window for
    percentiles, so memory stays bounded however long the controller runs."""

    def __init__(self) -> None:
        self.bucket_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.window: deque = deque(maxlen=LATENCY_WINDOW)
        self.total = 0.0
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.bucket_counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.window.append(seconds)
        self.total += seconds
        self.count += 1
        self.max = max(self.max, seconds)

    def summary(self) -> LatencySummary:
        ordered = sorted(self.window)
        return LatencySummary(self.count, _ms(_nearest_rank(ordered, 0.50)),
                              _ms(_nearest_rank(ordered, 0.99)), _ms(self.max))

    def histogram(self) -> LatencyHistogram:
        bounds = LATENCY_BUCKETS + (float("inf"),)
        cumulative, running = [], 0
        for bound, count in zip(bounds, self.bucket_counts):
            running += count
            cumulative.append((bound, running))
        return LatencyHistogram(tuple(cumulative), self.total, self.count)


def _nearest_rank(ordered: List[float], quantile: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(len(ordered) * quantile) - 1)]


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class MessageKey(NamedTuple):
    """What a message counter is kept by; ``status`` only for PBA (else None)."""

    direction: str
    type: str
    status: Optional[int]


class Stats:
    """Counters the adapter feeds as messages cross it; REST and metrics read.

    The adapter calls :meth:`count`, :meth:`error` and :meth:`latency`; the
    readers call :meth:`messages`, :meth:`errors`, :meth:`latency_summaries`
    and :meth:`latency_histograms`, which return copies, so a scrape never
    sees a counter half-updated.
    """

    DIRECTIONS = ("rx", "tx")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: Counter = Counter()
        self._errors: Counter = Counter()
        self._latencies: Dict[str, _Latencies] = {}

    def count(self, direction: str, msg_type: str, status: Optional[int] = None) -> None:
        """One message of ``msg_type`` ("PBU", "PBA", "RA", ...) received
        (``rx``) or sent (``tx``); ``status`` is the PBA status code."""
        if direction not in self.DIRECTIONS:
            raise ValueError(f"direction must be rx or tx, not {direction!r}")
        with self._lock:
            self._messages[MessageKey(direction, msg_type, status)] += 1

    def error(self, reason: str) -> None:
        """One failure, by a short stable reason such as ``mh_from_unknown_maar``."""
        with self._lock:
            self._errors[reason] += 1

    def latency(self, mode: str, seconds: float) -> None:
        """One completed handover in ``mode`` (relay, locator, proxy, pmipv6)."""
        if seconds < 0:
            raise ValueError("a handover cannot take negative time")
        with self._lock:
            self._latencies.setdefault(mode, _Latencies()).add(seconds)

    def messages(self) -> Dict[MessageKey, int]:
        """Counts by key, ordered by direction, type, then status."""
        with self._lock:
            return dict(sorted(self._messages.items(), key=_message_order))

    def errors(self) -> Dict[str, int]:
        """Counts by reason, in reason order."""
        with self._lock:
            return dict(sorted(self._errors.items()))

    def latency_summaries(self) -> Dict[str, LatencySummary]:
        with self._lock:
            return {mode: lat.summary() for mode, lat in self._latencies.items()}

    def latency_histograms(self) -> Dict[str, LatencyHistogram]:
        with self._lock:
            return {mode: lat.histogram() for mode, lat in self._latencies.items()}

    def to_json(self) -> dict:
        messages = [{"direction": k.direction, "type": k.type, "status": k.status, "count": n}
                    for k, n in self.messages().items()]
        return {
            "messages": messages,
            "errors": self.errors(),
            "handover_latency_ms": {m: s.to_json()
                                    for m, s in sorted(self.latency_summaries().items())},
        }


def _message_order(item) -> tuple:
    key = item[0]
    return (key.direction, key.type, -1 if key.status is None else key.status)
