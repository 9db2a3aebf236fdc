"""The view values, the shared filters and the Stats recorder."""
from ipaddress import IPv6Network

import pytest
from hypothesis import given, strategies as st

from dmm_ryu.ops.view import DomainView, find_prefix, select_bindings
from dmm_ryu.runtime.stats import LATENCY_BUCKETS, LATENCY_WINDOW, MessageKey, Stats
from tests.unit.fakeview import FakeView, sample_bindings

NET = IPv6Network


def test_fake_view_satisfies_the_protocol():
    assert isinstance(FakeView(), DomainView)


@pytest.mark.parametrize("maar, prefix, expected", [
    (None, None, ["mn1", "mn2", "mn3"]),
    ("maar1", None, ["mn1", "mn2"]),      # serving mn2, anchoring mn1's first prefix
    ("maar2", None, ["mn1"]),
    ("maar9", None, []),
    (None, NET("2001:db8:1::/48"), ["mn1", "mn2"]),
    (None, NET("2001:db8:1:1::/64"), ["mn1"]),
    (None, NET("2001:db8:1:1::/80"), []),  # narrower than the delegated /64: not held
    ("maar3", NET("2001:db8:1::/48"), []),
])
def test_select_bindings(maar, prefix, expected):
    selected = select_bindings(sample_bindings(), maar, prefix)
    assert [b.mn_id.split("@")[0] for b in selected] == expected


@pytest.mark.parametrize("query, mn", [
    ("2001:db8:2:1::/64", "mn1"), ("2001:db8:2:1::7/128", "mn1"), ("2001:db8:1:2::/96", "mn2"),
    ("2001:db8:1::/48", None), ("2001:db8:4::/64", None),
])
def test_find_prefix_equal_or_containing(query, mn):
    found = find_prefix(sample_bindings(), NET(query))
    assert (found.mn_id.split("@")[0] if found else None) == mn


def test_binding_json_uses_text_for_addresses_and_prefixes():
    body = sample_bindings()[0].to_json()
    assert body["serving_maar_address"] == "2001:db8:ff::2"
    assert body["prefixes"][0] == {"prefix": "2001:db8:1:1::/64", "anchor": "maar1",
                                   "anchor_address": "2001:db8:ff::1", "local": False}
    assert body["lifetime"] == 3600


def test_counts_are_kept_by_direction_type_and_status():
    stats = Stats()
    stats.count("rx", "PBU")
    stats.count("tx", "PBA", 0)
    stats.count("tx", "PBA", 0)
    stats.count("tx", "PBA", 157)
    assert stats.messages() == {MessageKey("rx", "PBU", None): 1,
                                MessageKey("tx", "PBA", 0): 2, MessageKey("tx", "PBA", 157): 1}


def test_readers_get_copies():
    stats = Stats()
    stats.error("x")
    stats.errors()["x"] = 99
    assert stats.errors() == {"x": 1}


@pytest.mark.parametrize("call", [lambda s: s.count("in", "PBU"),
                                  lambda s: s.latency("proxy", -0.1)])
def test_recorder_refuses_nonsense(call):
    with pytest.raises(ValueError):
        call(Stats())


def test_latency_summary_in_ms():
    stats = Stats()
    for ms in range(1, 101):
        stats.latency("proxy", ms / 1000)
    summary = stats.latency_summaries()["proxy"]
    assert summary == (100, 50.0, 99.0, 100.0)


def test_latency_window_is_bounded_but_count_and_max_are_not():
    stats = Stats()
    stats.latency("relay", 3.0)
    for _ in range(LATENCY_WINDOW):
        stats.latency("relay", 0.001)
    summary = stats.latency_summaries()["relay"]
    assert (summary.count, summary.p99, summary.max) == (LATENCY_WINDOW + 1, 1.0, 3000.0)


def test_empty_json():
    assert Stats().to_json() == {"messages": [], "errors": {}, "handover_latency_ms": {}}


@given(st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=200))
def test_histogram_is_cumulative_and_complete(samples):
    stats = Stats()
    for seconds in samples:
        stats.latency("locator", seconds)
    hist = stats.latency_histograms()["locator"]
    bounds = [b for b, _ in hist.buckets]
    counts = [c for _, c in hist.buckets]
    assert bounds == list(LATENCY_BUCKETS) + [float("inf")]
    assert counts == sorted(counts) and counts[-1] == hist.count == len(samples)
    for bound, count in hist.buckets:
        assert count == sum(s <= bound for s in samples)
    assert hist.total == pytest.approx(sum(samples))
