"""Prefix garbage collection through the real rule set (issue 16): the
runtime polls the fake switches' flow stats, packets pushed through the
tunnel rules move the counters, and an idle anchored prefix loses its
rules, tunnel and pool entry at both MAARs and leaves the CMD's binding."""
from ipaddress import IPv6Network

import pytest
from scapy.layers.inet6 import Ether, ICMPv6NDOptPrefixInfo

from dmm_ryu.of import pipeline as pl
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.runtime.stats import MessageKey
from dmm_ryu.testbed.fakedomain import ROUTER_MAC, FakeDomain, domain_text
from tests.unit.test_controller import MN_ID, MN_MAC, attach, downlink, uplink, where

IDLE, LIFETIME = 3, 40
OLD, NEW = "2001:db8:1::5", "2001:db8:2::5"
OLD_PREFIX = IPv6Network("2001:db8:1::/64")
POLLED = MessageKey("tx", "flow_stats_request", None)


def gc_domain(mode="proxy", store_of=None) -> FakeDomain:
    """MN attached at maar1, then at maar2: maar1 anchors the old prefix."""
    text = domain_text(mode).replace("timers: {lifetime: 40}",
                                     f"timers: {{lifetime: {LIFETIME}, prefix_idle: {IDLE}}}")
    dom = FakeDomain(text, store_of=store_of)
    attach(dom, "maar1")
    attach(dom, "maar2")
    return dom


def tunnel_flows(dom, maar: str) -> list:
    table = dom.tables[dom.dpid(maar)]
    return [f for f in table.flows if f.cookie >> 48 & 0xFF == pl.Kind.TUNNEL]


def old_downlink(dom) -> list:
    """A packet for the old prefix arriving at its anchor, maar1."""
    return where(dom.forward("maar1", 1, {**downlink(OLD), "eth_dst": transport_mac(1)}))


def valid_lifetimes(frame: bytes) -> dict:
    out, opt = {}, Ether(frame)[ICMPv6NDOptPrefixInfo]
    while opt:
        out[f"{opt.prefix}/{opt.prefixlen}"] = opt.validlifetime
        opt = opt.payload.getlayer(ICMPv6NDOptPrefixInfo)
    return out


def run(dom, seconds: float, flow=None) -> None:
    """Virtual time in 0.25 s steps; ``flow`` (a source address) sends one
    uplink packet from the MN at maar2 every step, each of which must
    reach the router."""
    for _ in range(int(seconds * 4)):
        if flow is not None:
            assert where(dom.forward("maar2", 2, uplink(flow))) == [("router", None, ROUTER_MAC, ())]
        dom.advance(0.25)


@pytest.mark.parametrize("mode", ["proxy", "relay", "locator"])
def test_an_idle_old_prefix_is_collected_and_the_local_one_never_notices(mode):
    dom = gc_domain(mode)
    assert old_downlink(dom) == [("maar2", 2, MN_MAC, ())]
    run(dom, IDLE + 2, flow=NEW)
    assert dom.dmm.stats.messages()[POLLED] >= 4
    assert valid_lifetimes(dom.last_ra("maar2")[2])[str(OLD_PREFIX)] == LIFETIME
    run(dom, LIFETIME + 1, flow=NEW)
    assert tunnel_flows(dom, "maar1") == [] and tunnel_flows(dom, "maar2") == []
    assert old_downlink(dom) == []
    maar1 = dom.dmm.nodes["maar1"].core
    assert MN_ID not in maar1.bces and maar1.pool.used == 0
    assert [p for p, _ in dom.dmm.cmd_node.binding(MN_ID).anchors] == [
        IPv6Network("2001:db8:2::/64")]
    assert valid_lifetimes(dom.last_ra("maar2")[2])[str(OLD_PREFIX)] == 0
    up = dom.forward("maar2", 2, uplink(NEW))
    assert where(up) == [("router", None, ROUTER_MAC, ())]
    new_down = {**downlink(NEW), "eth_dst": transport_mac(2)}
    assert where(dom.forward("maar2", 1, new_down)) == [("maar2", 2, MN_MAC, ())]


def test_a_flow_through_the_tunnel_keeps_the_prefix_and_its_end_releases_it():
    dom = gc_domain()
    run(dom, 2 * LIFETIME, flow=OLD)
    assert len(tunnel_flows(dom, "maar1")) == 2 and old_downlink(dom) != []
    run(dom, IDLE + LIFETIME + 2)
    assert tunnel_flows(dom, "maar1") == [] and old_downlink(dom) == []


def test_a_flow_resuming_during_the_drain_gets_the_full_lifetime_back():
    dom = gc_domain()
    run(dom, IDLE + 2)
    run(dom, LIFETIME / 2, flow=OLD)
    assert valid_lifetimes(dom.last_ra("maar2")[2])[str(OLD_PREFIX)] == LIFETIME
    run(dom, LIFETIME)
    assert old_downlink(dom) == [("maar2", 2, MN_MAC, ())]


def test_a_restart_during_the_drain_keeps_its_end():
    """The drain's deadline and the counters are in the MN's record
    (MaarSlice.usage): the restarted controller releases on time."""
    stores = {}
    dom = gc_domain(store_of=lambda name: stores.setdefault(name, MemoryStore()))
    run(dom, IDLE + 2)
    drain = dom.dmm.nodes["maar2"].core._usage[MN_ID][OLD_PREFIX]
    assert drain.until
    dom.restart()
    assert dom.dmm.nodes["maar2"].core._usage[MN_ID][OLD_PREFIX] == drain
    run(dom, drain.until - dom.now - 0.5)
    assert old_downlink(dom) != []
    run(dom, 2)
    assert old_downlink(dom) == [] and tunnel_flows(dom, "maar1") == []


def test_without_prefix_idle_nothing_is_polled():
    dom = FakeDomain(domain_text("proxy"))
    attach(dom, "maar1")
    attach(dom, "maar2")
    run(dom, 3 * LIFETIME)
    assert dom.dmm.nodes["maar2"].traffic is None
    assert POLLED not in dom.dmm.stats.messages()
    assert len(tunnel_flows(dom, "maar1")) == 2


def test_a_reply_in_several_parts_is_summed_per_tunnel_before_the_core_hears():
    """The entry and exit rule of one tunnel may arrive in two multipart
    messages: one reading per tunnel, once the last part arrived."""
    dom = gc_domain()
    node = dom.dmm.nodes["maar2"]
    polled = node.traffic.poll(node, dom.now)
    assert [type(m).__name__ for out in polled for m in out.msgs] == ["OFPFlowStatsRequest"]
    (cookie, _), = node.traffic._asked.items()
    assert node.traffic.readings([(cookie, 3), (12345, 99)], more=True) == []
    (event,) = node.traffic.readings([(cookie, 4)], more=False)
    assert (event.mn_id, event.prefix, event.packets) == (MN_ID, OLD_PREFIX, 7)
    assert node.traffic.readings([], more=False) == []
