"""A read-only view of the live mobility domain, for REST, metrics and dmmctl.

The operator-facing modules never touch core internals (the CMD's binding
store, a MAAR's pool): the adapter builds these small frozen values from the
state it owns, at the moment it is asked, and feeds one :class:`Stats`
recorder as messages cross it.  The values carry their own ``to_json()`` so
the REST API, dmmctl and the OpenAPI document agree on one shape.

Pure Python on purpose: no Prometheus or WebOb here, so the adapter and the
tests can build and feed a view without either.
"""
from __future__ import annotations

import bisect
import dataclasses
import math
import threading
from collections import Counter, deque
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Iterable, List, NamedTuple, Optional, Protocol, Tuple, runtime_checkable

#: Upper bounds (seconds) of the handover latency histogram: handovers in the
#: user-space OVS testbed take milliseconds, a lost PBU costs a retransmission
#: (about a second), so the buckets are dense below 100 ms and sparse above.
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

#: How many recent samples per mode the p50/p99 summary is computed over.
LATENCY_WINDOW = 1024


def _plain(value):
    """A field as JSON: addresses and prefixes as text, nested views as objects."""
    if isinstance(value, (IPv6Address, IPv6Network)):
        return str(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


class _JsonFields:
    """``to_json()`` from the dataclass fields, so a new field cannot be
    forgotten in the REST answer (the OpenAPI test then notices it)."""

    def to_json(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class PrefixBinding(_JsonFields):
    """One prefix of a session and the MAAR that anchors it."""

    prefix: IPv6Network
    anchor: str
    anchor_address: IPv6Address
    local: bool


class PreviousMaarEntry(NamedTuple):
    """A P-MAAR of the session: where ``prefix`` stays anchored."""

    maar: str
    address: IPv6Address
    prefix: IPv6Network

    def to_json(self) -> dict:
        return {key: _plain(value) for key, value in self._asdict().items()}


@dataclass(frozen=True)
class BindingView(_JsonFields):
    """The CMD's BCE for one MN, with MAAR names resolved for operators."""

    mn_id: str
    serving_maar: str
    serving_maar_address: IPv6Address
    prefixes: Tuple[PrefixBinding, ...]
    previous_maars: Tuple[PreviousMaarEntry, ...]
    lifetime: int
    registered_at: float
    expires_at: float
    last_update: float

    def involves(self, maar: str) -> bool:
        """True if ``maar`` serves the MN or anchors one of its prefixes."""
        return maar == self.serving_maar or any(p.anchor == maar for p in self.prefixes)

    def holds_within(self, network: IPv6Network) -> bool:
        """True if one of the session's prefixes is ``network`` or inside it."""
        return any(p.prefix.subnet_of(network) for p in self.prefixes)


@dataclass(frozen=True)
class TunnelView(_JsonFields):
    """One tunnel end on a MAAR: ``anchor`` forwards toward the serving MAAR,
    ``serving`` toward the anchor of ``prefix``."""

    prefix: IPv6Network
    peer: str
    peer_address: IPv6Address
    role: str
    mn_id: str


@dataclass(frozen=True)
class MaarView(_JsonFields):
    """A configured MAAR: its pool, its switch and what it carries now.

    ``bindings`` counts the sessions it serves or anchors (the same rule as
    the ``maar`` filter of :meth:`DomainView.bindings`); ``pool_size`` and
    ``pool_used`` count prefixes of ``prefix_length`` in ``pool``.
    """

    name: str
    dpid: int
    address: IPv6Address
    pool: IPv6Network
    prefix_length: int
    pool_size: int
    pool_used: int
    connected: bool
    bindings: int
    tunnels: Tuple[TunnelView, ...]


@dataclass(frozen=True)
class PrefixView(_JsonFields):
    """Who holds a delegated prefix: the MN, its anchor and its serving MAAR."""

    prefix: IPv6Network
    mn_id: str
    anchor: str
    serving_maar: str


def select_bindings(bindings: Iterable[BindingView], maar: Optional[str] = None,
                    prefix: Optional[IPv6Network] = None) -> List[BindingView]:
    """The filter of :meth:`DomainView.bindings`, shared so every view agrees."""
    return [b for b in bindings
            if (maar is None or b.involves(maar)) and (prefix is None or b.holds_within(prefix))]


def find_prefix(bindings: Iterable[BindingView], network: IPv6Network) -> Optional[PrefixView]:
    """The delegated prefix equal to or containing ``network`` (an address as
    a /128 finds the prefix it belongs to), as :meth:`DomainView.prefix`."""
    for binding in bindings:
        for held in binding.prefixes:
            if network.subnet_of(held.prefix):
                return PrefixView(held.prefix, binding.mn_id, held.anchor, binding.serving_maar)
    return None


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


@runtime_checkable
class DomainView(Protocol):
    """What the operator-facing modules may know of the live domain.

    Every method returns fresh immutable values (or, for :meth:`stats`, the
    recorder whose readers return copies); :meth:`deregister` is the one
    command, and it only asks: the adapter signals the de-registration.
    """

    def bindings(self, maar: Optional[str] = None,
                 prefix: Optional[IPv6Network] = None) -> List[BindingView]:
        """Every BCE, or those involving ``maar`` (serving or anchoring) and
        holding a prefix equal to or inside ``prefix`` (see select_bindings)."""

    def binding(self, mn_id: str) -> Optional[BindingView]: ...

    def maars(self) -> List[MaarView]: ...

    def maar(self, name: str) -> Optional[MaarView]: ...

    def prefix(self, p: IPv6Network) -> Optional[PrefixView]:
        """The delegated prefix equal to or containing ``p`` (see find_prefix)."""

    def stats(self) -> Stats: ...

    def health(self) -> dict:
        """At least ``{"status": "ok" | "degraded" | "down"}``; other keys free."""

    def deregister(self, mn_id: str) -> bool:
        """Start a forced de-registration; False if the MN has no binding."""
