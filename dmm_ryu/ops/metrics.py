"""Prometheus metrics of the DMM domain, collected from the DomainView at scrape time.

Faucet's convention: prometheus_client, names prefixed ``dmm_``, and an
injectable :class:`CollectorRegistry` so tests (and two apps in one process)
never share the global registry.  Nothing is counted here: a custom collector
reads the view's :class:`~dmm_ryu.ops.view.Stats` and its ``health()``
counts when scraped, so REST and metrics cannot disagree.  A scrape never
lists bindings or tunnels: at 100k bindings that listing cost 1.56 s of
the event loop (issue 17); the counts it needs are kept by the view.
"""
from __future__ import annotations

from typing import Iterator, Optional

from prometheus_client.core import (
    CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from dmm_ryu.ops.view import DomainView
from dmm_ryu.runtime.stats import Stats

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Per-MAAR gauges: metric name, help, and its key in ``health()["maars"][name]``.
_MAAR_GAUGES = (
    ("dmm_maar_bindings", "Bindings the MAAR serves or anchors", "bindings"),
    ("dmm_maar_tunnels", "Tunnel ends installed on the MAAR", "tunnels"),
    ("dmm_maar_connected", "1 if the MAAR's switch is connected", "connected"),
    ("dmm_maar_pool_used", "Prefixes of the MAAR's pool delegated", "pool_used"),
    ("dmm_maar_pool_size", "Prefixes in the MAAR's pool", "pool_size"),
)


class DomainCollector:
    """A prometheus_client collector over one :class:`DomainView`."""

    def __init__(self, view: DomainView) -> None:
        self._view = view

    def describe(self) -> list:
        """Nothing up front: a describe() that read the view would run at
        registration, before the adapter has any state."""
        return []

    def collect(self) -> Iterator[Metric]:
        stats = self._view.stats()
        health = self._view.health()
        yield _messages(stats)
        yield _errors(stats)
        yield _latency(stats)
        yield GaugeMetricFamily("dmm_cmd_bindings", "BCEs in the CMD's binding cache",
                                value=health["bindings"])
        yield from _maar_gauges(health["maars"])
        yield from _leadership(health.get("leadership"))


def _maar_gauges(counts: dict) -> Iterator[Metric]:
    """``counts``: MAAR name -> {gauge key: value}, as health() gives them."""
    for name, help_text, key in _MAAR_GAUGES:
        family = GaugeMetricFamily(name, help_text, labels=["maar"])
        for maar in sorted(counts):
            family.add_metric([maar], float(counts[maar][key]))
        yield family


def _leadership(lead: Optional[dict]) -> Iterator[Metric]:
    """With CMD high availability: 1 while this instance leads, labelled
    with its name and the leader's (as the last campaign saw it)."""
    if lead is None:
        return
    family = GaugeMetricFamily("dmm_cmd_leader", "1 if this CMD instance leads (etcd election)",
                               labels=["instance", "leader", "role"])
    family.add_metric([lead["instance"], lead["leader"] or "", lead["role"]],
                      float(lead["leading"]))
    yield family


def _messages(stats: Stats) -> Metric:
    family = CounterMetricFamily(
        "dmm_messages", "Messages by direction, type and PBA status code (empty if none)",
        labels=["direction", "type", "status"])
    for key, count in stats.messages().items():
        status = "" if key.status is None else str(key.status)
        family.add_metric([key.direction, key.type, status], count)
    return family


def _errors(stats: Stats) -> Metric:
    family = CounterMetricFamily("dmm_errors", "Failures by reason", labels=["reason"])
    for reason, count in stats.errors().items():
        family.add_metric([reason], count)
    return family


def _latency(stats: Stats) -> Metric:
    family = HistogramMetricFamily(
        "dmm_handover_latency_seconds", "Handover latency by CMD mode", labels=["mode"])
    for mode, hist in sorted(stats.latency_histograms().items()):
        buckets = [(_bound(bound), count) for bound, count in hist.buckets]
        family.add_metric([mode], buckets, sum_value=hist.total)
    return family


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def registry_for(view: DomainView, registry: Optional[CollectorRegistry] = None) -> CollectorRegistry:
    """Register a collector over ``view`` into ``registry`` (a new one by
    default) and return the registry, for the REST app's /metrics."""
    registry = registry if registry is not None else CollectorRegistry(auto_describe=False)
    registry.register(DomainCollector(view))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format 0.0.4 of everything in ``registry``."""
    return generate_latest(registry)
