"""ControllerView's counts (what /health and /metrics report) agree with
the views REST lists, on the whole domain over fake switches."""
import pytest

from dmm_ryu.ops.runtime_view import ControllerView, maar_counts
from dmm_ryu.wire.ndp import router_solicitation
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text


@pytest.mark.parametrize("mode", ["proxy", "relay", "locator"])
def test_health_counts_equal_the_listed_views(mode):
    dom = FakeDomain(domain_text(mode))
    for port, path in ((2, ["maar1", "maar2"]), (3, ["maar3", "maar2", "maar1"])):
        for maar in path:
            dom.inject(maar, port, router_solicitation(f"02:00:00:00:00:0{port}"))
    view = ControllerView(dom.dmm, dom.run)
    health = view.health()
    assert health["bindings"] == len(view.bindings()) == 2
    assert health["maars"] == {m.name: maar_counts(m) for m in view.maars()}
    # one anchored prefix for the first MN, two for the second: two ends each
    assert sum(c["tunnels"] for c in health["maars"].values()) == 2 * 3


def test_pmipv6_bindings_are_the_lmas_and_counted_without_a_walk():
    """RFC 5213 mode: no CMD; REST and /health show the LMA's BCEs."""
    dom = FakeDomain(domain_text("pmipv6"))
    for port, path in ((2, ["maar2", "maar3"]), (3, ["maar1"])):  # maar1 is the LMA
        for maar in path:
            dom.inject(maar, port, router_solicitation(f"02:00:00:00:00:0{port}"))
    view = ControllerView(dom.dmm, dom.run)
    listed = view.bindings()
    assert [b.serving_maar for b in listed] == ["maar3", "maar1"]
    assert view.health()["bindings"] == 2
    assert view.binding(listed[0].mn_id) == listed[0]
