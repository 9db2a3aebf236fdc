"""The binding cache's kept head count (what /metrics and /health report
per MAAR) equals a recount of its BCEs after every kind of change, and a
scrape reads it without walking the BCEs (issue 12: /metrics O(1))."""
import copy
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core.actions import ANCHOR, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.census import BindingCache
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.runtime.maar_node import MaarNode
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.tools import fuzzcheck
from dmm_ryu.wire.ndp import router_solicitation

P1, P2 = IPv6Network("2001:db8:1:1::/64"), IPv6Network("2001:db8:2:1::/64")
PEER = IPv6Address("2001:db8:ffff::2")


def bound(mn_id: str, tunnels: int) -> MaarBce:
    bce = MaarBce.temporal(mn_id, P1)
    bce.final = True
    bce.installed = frozenset([InstallLocalRoute(mn_id, P1, "02:00:00:00:00:01", 2)] + [
        InstallTunnel(mn_id, p, PEER, ANCHOR) for p in (P1, P2)[:tunnels]])
    return bce


def kept(cache: BindingCache) -> tuple:
    cache.settle()
    return cache.bindings, cache.tunnels


def test_writes_lookups_and_removals_are_counted():
    cache = BindingCache()
    cache["a"], cache["b"] = bound("a", 2), MaarBce.temporal("b", None)
    assert kept(cache) == cache.recount() == (1, 2)
    cache.get("b").final = True          # changed in place after a lookup
    cache["a"].leaving = True
    assert kept(cache) == cache.recount() == (1, 2)
    cache.pop("a")
    assert kept(cache) == cache.recount() == (1, 0)
    del cache["b"]
    cache["c"] = bound("c", 1)
    cache.clear()
    assert kept(cache) == cache.recount() == (0, 0)


def test_an_unknown_lookup_counts_nothing():
    cache = BindingCache()
    assert cache.get("nobody") is None
    assert kept(cache) == (0, 0)


def test_a_copy_keeps_its_own_counts():
    cache = BindingCache()
    cache["a"] = bound("a", 1)
    clone = copy.deepcopy(cache)
    cache.pop("a")
    assert kept(clone) == clone.recount() == (1, 1)
    assert kept(cache) == (0, 0)


@pytest.mark.parametrize("mode", ["proxy", "relay", "locator"])
def test_counts_follow_handovers_a_restart_and_a_leave(mode):
    stores = {}
    dom = FakeDomain(domain_text(mode), store_of=lambda name: stores.setdefault(name, MemoryStore()))
    mac = "02:00:00:00:00:02"
    for maar in ("maar1", "maar2", "maar3", "maar1"):
        dom.inject(maar, 2, router_solicitation(mac))
        assert fuzzcheck.count_breaks(dom) == []
    dom.restart()
    assert fuzzcheck.count_breaks(dom) == []
    # a BCE at the S-MAAR and at each P-MAAR
    assert [n.counts()["bindings"] for n in dom.dmm.maar_nodes] == [1, 1, 1]
    assert sum(n.counts()["tunnels"] for n in dom.dmm.maar_nodes) == 4  # 2 anchored, 2 ends
    dom.run(dom.dmm.port_down(1, 2, dom.now))
    dom.advance(45.0)  # past the detach guard: the MN leaves the domain
    assert fuzzcheck.count_breaks(dom) == []
    assert [n.counts()["bindings"] for n in dom.dmm.maar_nodes] == [0, 0, 0]


def test_a_scrape_never_walks_the_bces(monkeypatch):
    dom = FakeDomain(domain_text("proxy"))
    dom.inject("maar1", 2, router_solicitation("02:00:00:00:00:02"))
    dom.inject("maar2", 2, router_solicitation("02:00:00:00:00:02"))

    def walked(self):
        raise AssertionError("a scrape walked the binding cache")

    monkeypatch.setattr(MaarNode, "snapshot", walked)
    monkeypatch.setattr(BindingCache, "values", walked)
    health = ControllerView(dom.dmm, dom.run).health()
    assert health["maars"]["maar1"]["tunnels"] == 1
    assert health["maars"]["maar2"]["bindings"] == 1
