"""The Prometheus exposition matches the view it is collected from."""
import pytest
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from dmm_ryu.ops import metrics
from dmm_ryu.runtime.stats import Stats
from tests.unit.fakeview import FakeView


@pytest.fixture
def view():
    return FakeView()


def scrape(registry):
    """{(sample name, sorted labels): value} from the text exposition."""
    text = metrics.exposition(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_message_counters(view):
    samples = scrape(metrics.registry_for(view))
    key = ("dmm_messages_total", (("direction", "tx"), ("status", "157"), ("type", "PBA")))
    assert samples[key] == 1
    key = ("dmm_messages_total", (("direction", "rx"), ("status", ""), ("type", "PBU")))
    assert samples[key] == 3
    counted = sum(v for (name, _), v in samples.items() if name == "dmm_messages_total")
    assert counted == sum(view.stats().messages().values())


def test_error_counters(view):
    samples = scrape(metrics.registry_for(view))
    assert samples[("dmm_errors_total", (("reason", "mh_from_unknown_maar"),))] == 1


@pytest.mark.parametrize("name, read", [
    ("dmm_maar_bindings", lambda m: m.bindings),
    ("dmm_maar_tunnels", lambda m: len(m.tunnels)),
    ("dmm_maar_connected", lambda m: int(m.connected)),
    ("dmm_maar_pool_used", lambda m: m.pool_used),
    ("dmm_maar_pool_size", lambda m: m.pool_size),
])
def test_per_maar_gauges(view, name, read):
    samples = scrape(metrics.registry_for(view))
    for maar in view.maars():
        assert samples[(name, (("maar", maar.name),))] == read(maar)


def test_cmd_binding_gauge(view):
    assert scrape(metrics.registry_for(view))[("dmm_cmd_bindings", ())] == 3


def test_handover_histogram(view):
    samples = scrape(metrics.registry_for(view))
    bucket = "dmm_handover_latency_seconds_bucket"
    assert samples[(bucket, (("le", "0.005"), ("mode", "proxy")))] == 1
    assert samples[(bucket, (("le", "0.05"), ("mode", "proxy")))] == 3
    assert samples[(bucket, (("le", "1.0"), ("mode", "relay")))] == 0
    assert samples[(bucket, (("le", "+Inf"), ("mode", "relay")))] == 1
    assert samples[("dmm_handover_latency_seconds_count", (("mode", "proxy"),))] == 3
    assert samples[("dmm_handover_latency_seconds_sum", (("mode", "proxy"),))] == \
        pytest.approx(0.046)


def test_collected_at_scrape_time(view):
    registry = metrics.registry_for(view)
    view.stats().error("late")
    assert scrape(registry)[("dmm_errors_total", (("reason", "late"),))] == 1


def test_injected_registry_keeps_its_other_metrics(view):
    registry = CollectorRegistry()
    Counter("other_things", "not ours", registry=registry).inc()
    assert metrics.registry_for(view, registry) is registry
    samples = scrape(registry)
    assert samples[("other_things_total", ())] == 1
    assert ("dmm_cmd_bindings", ()) in samples


def test_empty_domain_exposes_families_without_samples():
    view = FakeView(bindings=[])
    view._maars = []
    view._stats = Stats()
    samples = scrape(metrics.registry_for(view))
    assert samples == {("dmm_cmd_bindings", ()): 0}


class CallCountingView(FakeView):
    """Counts the view methods a scrape calls."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = []

    def __getattribute__(self, name):
        if name in ("bindings", "binding", "maars", "maar", "prefix", "health", "stats"):
            object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)


@pytest.mark.parametrize("count", [3, 3000])
def test_a_scrape_reads_counts_never_the_bindings_or_tunnels(count):
    from tests.unit.fakeview import many_bindings
    view = CallCountingView(bindings=many_bindings(count))
    samples = scrape(metrics.registry_for(view))
    assert sorted(view.calls) == ["health", "stats"]
    assert samples[("dmm_cmd_bindings", ())] == count
