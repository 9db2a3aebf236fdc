"""One contract for every DomainView: the hand-built FakeView the REST tests
use, and the real ControllerView over the runtime on fake switches.  What
REST, metrics and dmmctl rely on holds for both, so the operator-plane
tests on the fake view test what the real one does."""
from ipaddress import IPv6Network

import pytest

from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.ops.view import DomainView
from tests.unit.fakedomain import FakeDomain, domain_text
from tests.unit.fakeview import FakeView
from tests.unit.test_controller import attach


def real_view() -> DomainView:
    """Three MNs: one moved maar1 -> maar2, one stayed at maar1, one at maar3."""
    dom = FakeDomain(domain_text("proxy"))
    attach(dom, "maar1")
    attach(dom, "maar2")
    attach(dom, "maar1", port=3, mac="0a:00:00:00:00:02")
    attach(dom, "maar3", port=3, mac="0a:00:00:00:00:03")
    return ControllerView(dom.dmm, dom.run, lambda: dom.now)


@pytest.fixture(params=["fake", "real"])
def view(request) -> DomainView:
    return FakeView() if request.param == "fake" else real_view()


def test_is_a_domain_view(view):
    assert isinstance(view, DomainView)


def test_bindings_come_in_mn_id_order_and_each_is_found_alone(view):
    every = view.bindings()
    assert len(every) == 3
    assert [b.mn_id for b in every] == sorted(b.mn_id for b in every)
    for binding in every:
        assert view.binding(binding.mn_id) == binding
    assert view.binding("nobody@dmm.example") is None


def test_every_binding_is_served_by_the_anchor_of_its_local_prefix(view):
    for binding in view.bindings():
        local = [p for p in binding.prefixes if p.local]
        assert all(p.anchor == binding.serving_maar for p in local)
        assert {e.prefix for e in binding.previous_maars} == \
            {p.prefix for p in binding.prefixes if not p.local}


def test_filters_agree_with_the_whole_list(view):
    every = view.bindings()
    for maar in ("maar1", "maar2", "maar3", "maar9"):
        assert view.bindings(maar=maar) == [b for b in every if b.involves(maar)]
    wide = IPv6Network("2001:db8:1::/48")
    assert view.bindings(prefix=wide) == [b for b in every if b.holds_within(wide)]


def test_pages_walk_the_list_exactly_once(view):
    every, seen, after = view.bindings(), [], None
    while True:
        page = view.bindings(limit=2, after=after)
        if not page:
            break
        seen += page
        after = page[-1].mn_id
    assert seen == every


def test_prefix_lookup_finds_the_holder_of_an_address(view):
    binding = view.bindings()[0]
    held = binding.prefixes[0].prefix
    found = view.prefix(IPv6Network(f"{held.network_address + 5}/128"))
    assert (found.mn_id, found.prefix) == (binding.mn_id, held)
    assert view.prefix(IPv6Network("2001:db8:ffff:ffff::/64")) is None


def test_maars_are_named_in_order_with_sane_pools(view):
    maars = view.maars()
    assert [m.name for m in maars] == ["maar1", "maar2", "maar3"]
    for maar in maars:
        assert 0 <= maar.pool_used <= maar.pool_size
        assert view.maar(maar.name) == maar
    assert view.maar("maar9") is None


def test_health_and_stats(view):
    assert view.health()["status"] in ("ok", "degraded", "down")
    assert isinstance(view.stats().messages(), dict)
