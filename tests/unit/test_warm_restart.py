"""Durable state: every node's state survives a controller restart, the
switches keep forwarding and reconnect to the same rules, and the domain
carries on (the next move works); a store that cannot write stops the
node from acknowledging (tests/unit/test_cmd_unstored.py)."""
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.of.labels import transport_mac
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.shell.state import BACKENDS, open_store
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_controller import MN_ID, MN_MAC, attach, downlink, where
from tests.unit.test_roam import serving_maar

MODES = ["relay", "locator", "proxy", "pmipv6"]


@pytest.fixture(params=sorted(BACKENDS))
def backend(request):
    return request.param


def file_stores(tmp_path, backend):
    """Each node's store in a file of ``backend`` in ``tmp_path``, opened once."""
    stores = {}

    def store_of(name):
        if name not in stores:
            stores[name] = open_store(backend, str(tmp_path), name)
        return stores[name]
    return store_of, stores


def reopen(stores, tmp_path):
    """The process died: close its files (the restart opens them again)."""
    for store in stores.values():
        store.close()
    stores.clear()


def attached_then_restarted(tmp_path, backend) -> FakeDomain:
    """An MN registered at maar1, then the controller restarted."""
    store_of, stores = file_stores(tmp_path, backend)
    dom = FakeDomain(domain_text(), store_of=store_of)
    attach(dom, "maar1")
    reopen(stores, tmp_path)
    dom.restart()
    return dom


def delivery(dom, maar, prefix):
    i = int(maar[-1])
    return where(dom.forward(maar, 1, {**downlink(prefix), "eth_dst": transport_mac(i)}))


@pytest.mark.parametrize("mode", MODES)
def test_restart_keeps_sessions_rules_and_the_next_move_works(mode, backend, tmp_path):
    store_of, stores = file_stores(tmp_path, backend)
    dom = FakeDomain(domain_text(mode), store_of=store_of)
    attach(dom, "maar1")
    attach(dom, "maar2")
    before = {dpid: t.snapshot() for dpid, t in dom.tables.items()}
    binding = dom.dmm.cmd_node.binding(MN_ID)
    serving = serving_maar(dom, mode)
    reopen(stores, tmp_path)
    dom.restart()
    assert dom.dmm.cmd_node.binding(MN_ID) == binding
    assert serving_maar(dom, mode) == serving == IPv6Address("2001:db8:ffff::2")
    assert {dpid: t.snapshot() for dpid, t in dom.tables.items()} == before
    anchored = "2001:db8:1::5"
    assert delivery(dom, "maar1", anchored) == [("maar2", 2, MN_MAC, ())]
    attach(dom, "maar3")
    assert serving_maar(dom, mode) == IPv6Address("2001:db8:ffff::3")
    assert delivery(dom, "maar1", anchored) == [("maar3", 2, MN_MAC, ())]


def test_restored_pool_does_not_hand_out_a_live_prefix(tmp_path, backend):
    dom = attached_then_restarted(tmp_path, backend)
    attach(dom, "maar1", port=3, mac="0a:00:00:00:00:02")
    second = dom.dmm.cmd_node.binding("0a0000000002@dmm.example")
    assert [str(p) for p, _ in second.anchors] == ["2001:db8:1:1::/64"]


def test_timers_that_fell_due_while_down_fire_after_the_grace(tmp_path, backend):
    """The MN left (its port went down) and the controller was down past
    the detach guard: after the restart the guard fires and the session
    ends everywhere."""
    store_of, stores = file_stores(tmp_path, backend)
    dom = FakeDomain(domain_text(), store_of=store_of)
    attach(dom, "maar1")
    dom.run(dom.dmm.port_down(1, 2, dom.now))
    reopen(stores, tmp_path)
    dom.now += 60
    dom.restart()
    assert dom.dmm.cmd_node.count() == 1
    for _ in range(10):
        dom.advance(0.5)
    assert dom.dmm.nodes["maar1"].core.counters["left_domain"] == 1
    assert dom.dmm.cmd_node.count() == 0


def test_port_down_while_away_starts_the_guard_on_reconnect(tmp_path, backend):
    dom = attached_then_restarted(tmp_path, backend)
    dom.run(dom.dmm.ports_seen(1, [1, 3], dom.now))  # access port 2 is down now
    for _ in range(8):
        dom.advance(0.5)
    assert dom.dmm.cmd_node.count() == 0


def test_after_a_restart_a_restored_prefix_cannot_be_claimed_by_another_mn(tmp_path, backend):
    """The CMD's prefix-owner index comes back with the bindings (attack 1
    of the trust-boundary issue, after a restart)."""
    dom = attached_then_restarted(tmp_path, backend)
    cmd = dom.dmm.cmd_node
    assert cmd.binding(MN_ID) is not None
    assert cmd.core._owners.taken(IPv6Network("2001:db8:1::/64"), "thief@dmm.example",
                                  cmd.core.store)


def test_two_cmd_instances_on_one_store_cannot_both_write_one_binding():
    """Compare-and-swap on each record's revision: the instance that wrote
    last wins; the other's stale write is refused, undone (it reloads what
    the store holds) and sends nothing."""
    from dmm_ryu.config.domainfile import load_text
    from dmm_ryu.runtime.controller import DmmController
    shared = MemoryStore()
    dom = FakeDomain(domain_text(), store_of=lambda n: shared if n == "cmd" else MemoryStore())
    attach(dom, "maar1")
    other = DmmController(load_text(domain_text()))
    other.attach_stores(lambda n: shared if n == "cmd" else MemoryStore(), dom.now)
    assert other.cmd_node.binding(MN_ID) == dom.dmm.cmd_node.binding(MN_ID)
    assert other.deregister(MN_ID, dom.now)  # the other instance ends the session
    assert dom.dmm.deregister(MN_ID, dom.now) == []  # ours is stale: refused, nothing sent
    assert dom.dmm.stats.errors()["store_failed"] == 1
    assert dom.dmm.cmd_node.binding(MN_ID) is None  # undone to what the store holds


def test_standby_cmd_ignores_events_until_activated_then_serves_from_the_store():
    from dmm_ryu.config.domainfile import load_text
    from dmm_ryu.runtime.controller import DmmController
    shared = MemoryStore()
    standby = DmmController(load_text(domain_text()), nodes=["cmd"])
    standby.attach_stores(lambda n: shared, 0.0)
    standby.deactivate("cmd")
    dom = FakeDomain(domain_text(), store_of=lambda n: shared if n == "cmd" else MemoryStore())
    attach(dom, "maar1")
    assert standby.cmd_node.binding(MN_ID) is None
    assert standby.deregister(MN_ID, dom.now) is None
    assert standby.activate("cmd", dom.now) == 1
    assert standby.cmd_node.binding(MN_ID) == dom.dmm.cmd_node.binding(MN_ID)
