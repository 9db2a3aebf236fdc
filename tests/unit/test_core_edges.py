"""Moving back, moving again before a registration completes, ping-pong,
many MNs at once, the relay aggregation timeout and the locator repair:
each with its defined outcome (docs/core.rst)."""
from ipaddress import IPv6Network

from dmm_ryu.core.actions import (
    ANCHOR,
    SERVING,
    InstallLocalRoute,
    InstallTunnel,
    RemoveTunnel,
)
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.core.events import MessageReceived
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import CMD_ADDRESS, build, describe, violations

P1, P2, P3 = (IPv6Network(f"2001:db8:{i}::/64") for i in (1, 2, 3))


def settled(domain):
    assert domain.net.settle()
    assert violations(domain) == []
    return domain


def test_moving_back_makes_the_prefix_local_again():
    """MAAR1 drops its tunnel to MAAR2 and routes Pref1 locally; Pref2 stays
    anchored at MAAR2 and is now tunnelled to MAAR1."""
    domain = build(2, Mode.PROXY, link=Link(delay=0.01))
    maar1, maar2 = domain.maars
    domain.move("mn", 0)
    settled(domain)
    domain.move("mn", 1)
    settled(domain)
    domain.move("mn", 0)
    settled(domain)
    at1 = maar1.bces["mn"]
    assert (at1.local, at1.serving, at1.p_maars) == (P1, None, {P2: maar2.address})
    entries = set(domain.net.dataplane.entries())
    assert entries == {
        (maar1.address, InstallLocalRoute("mn", P1, at1.mac, at1.port)),
        (maar1.address, InstallTunnel("mn", P2, maar2.address, SERVING, at1.mac, at1.port)),
        (maar2.address, InstallTunnel("mn", P2, maar1.address, ANCHOR)),
    }
    assert domain.net.mns["mn"].prefixes == {P1, P2}


def test_moving_back_actions_at_the_returning_maar():
    domain = build(2, Mode.PROXY)
    maar1, maar2 = domain.maars
    domain.move("mn", 0)
    settled(domain)
    domain.move("mn", 1)
    settled(domain)
    domain.net.log.clear()
    domain.net.nodes[maar1.address] = recorder = Recorder(maar1)
    domain.move("mn", 0)
    settled(domain)
    routes = [a for a in recorder.after_pba if not type(a).__name__.endswith(("Timer", "Advert"))]
    mac, port = maar1.bces["mn"].mac, maar1.bces["mn"].port
    assert routes == [
        RemoveTunnel("mn", P1, maar2.address, ANCHOR),
        InstallLocalRoute("mn", P1, mac, port),
        InstallTunnel("mn", P2, maar2.address, SERVING, mac, port),
    ]


class Recorder:
    """Wraps a node and keeps the actions it returned for the last PBA."""

    def __init__(self, node):
        self.node, self.address, self.after_pba = node, node.address, []

    @property
    def busy(self):
        return self.node.busy

    def handle(self, event, now):
        actions = self.node.handle(event, now)
        if isinstance(event, MessageReceived) and hasattr(event.message, "status"):
            self.after_pba = actions
        return actions


def overtaking(slow_maar2=False):
    """MN: MAAR1 -> MAAR2 -> MAAR3 while MAAR2's registration is running."""
    domain = build(3, Mode.RELAY, link=Link(delay=0.01))
    if slow_maar2:
        domain.net.links[(domain.maars[1].address, CMD_ADDRESS)] = Link(delay=0.5)
    domain.move("mn", 0)
    settled(domain)
    domain.move("mn", 1)
    domain.net.run_for(0.001)
    domain.move("mn", 2)
    return settled(domain)


def test_moving_on_before_the_registration_completes_keeps_the_overtaken_prefix():
    """The CMD saw MAAR2's attachment first, so MAAR2's prefix is part of
    the session: MAAR2 turns into a P-MAAR and tunnels it to MAAR3 (the MN
    learns it from MAAR3's RA, deprecated, though it never used it)."""
    domain = overtaking()
    bce = domain.cmd.store.get("mn")
    assert bce.proxy_coa == domain.maars[2].address
    assert set(bce.anchors) == {P1, P2, P3}
    assert domain.net.mns["mn"].prefixes == {P1, P2, P3}


def test_overtaken_attachment_arriving_late_is_refused_157():
    """MAAR2's PBU reaches the CMD after MAAR3's: it is dated earlier,
    refused with 157, and MAAR2 returns its prefix."""
    domain = overtaking(slow_maar2=True)
    assert domain.maars[1].counters["rejected_157"] == 1
    assert domain.maars[1].bces == {} and domain.maars[1].pool.allocated() == {}
    assert set(domain.cmd.store.get("mn").anchors) == {P1, P3}


def test_ping_pong_ends_where_the_mn_is():
    """MAAR1 -> MAAR2 -> MAAR1 faster than one round trip, in every mode:
    the latest attachment (MAAR1) wins; MAAR2's prefix, if the CMD heard of
    it first, stays anchored at MAAR2 and tunnelled to MAAR1."""
    for mode in (Mode.RELAY, Mode.LOCATOR, Mode.PROXY):
        for gap in (0.001, 0.005, 0.015, 0.03):
            domain = build(2, mode, link=Link(delay=0.01, jitter=0.01), seed=int(gap * 1000))
            domain.move("mn", 0)
            settled(domain)
            for where in (1, 0, 1, 0):
                domain.move("mn", where)
                domain.net.run_for(gap)
            settled(domain)
            assert domain.cmd.store.get("mn").proxy_coa == domain.maars[0].address


def test_many_mns_at_once():
    domain = build(5, Mode.PROXY, link=Link(delay=0.01, jitter=0.02))
    for step in range(4):
        for number in range(40):
            domain.move(f"mn{number}", (number + step * 3) % 5)
        settled(domain)
    assert len(domain.cmd.store) == 40
    assert sum(len(m.pool.allocated()) for m in domain.maars) == 40 * 4


def test_relay_timeout_sends_what_arrived_then_the_rest():
    """Draft 3.2: after the aggregation timeout the CMD sends the PBAs
    collected so far; the slow P-MAAR follows in a further PBA."""
    timers = Timers(aggregation_timeout=0.1)
    domain = build(3, Mode.RELAY, timers=timers, link=Link(delay=0.01))
    domain.net.set_link(CMD_ADDRESS, domain.maars[0].address, Link(delay=0.3))
    domain.move("mn", 0)
    settled(domain)
    domain.move("mn", 1)
    settled(domain)
    mark = len(domain.net.log)
    domain.move("mn", 2)
    settled(domain)
    to_s_maar = [r for r in describe(domain, mark) if r[1] == "MAAR3"]
    assert to_s_maar == [
        ("CMD", "MAAR3", "PBA", 0, ("2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64"),
         None, (("MAAR2", "2001:db8:2::/64"),)),
        ("CMD", "MAAR3", "PBA", 0, ("2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64"),
         None, (("MAAR1", "2001:db8:1::/64"),)),
    ]
    assert domain.cmd.counters["relay_partial"] == 2


def test_locator_repairs_a_lost_direct_pba():
    """The P-MAAR's direct PBA is lost (it is never retransmitted), so the
    S-MAAR's handover PBU stays unanswered: its retransmission reaches the
    CMD from the Proxy-CoA, which answers it with the session's Previous
    MAAR options instead of asking the P-MAAR again."""
    domain = build(2, Mode.LOCATOR, link=Link(delay=0.01))
    maar1, maar2 = domain.maars
    domain.move("mn", 0)
    settled(domain)
    domain.net.links[(maar1.address, maar2.address)] = Link(loss=1.0)
    mark = len(domain.net.log)
    domain.move("mn", 1)
    domain.net.run_for(0.5)
    domain.net.links.clear()
    settled(domain)
    assert maar2.counters["pbu_retransmitted"] == 1 and domain.cmd.counters["refreshes"] == 1
    assert maar2.counters["accepted_by_p_maar"] == 0
    assert maar2.bces["mn"].p_maars == {P1: maar1.address} and maar2.bces["mn"].final
    to_maar1 = [r for r in describe(domain, mark) if r[1] == "MAAR1"]
    assert [r[2] for r in to_maar1] == ["PBU"]


def test_mobility_trace_of_several_mns():
    """Three MNs follow a trace over five MAARs, one leaves; each check
    point is a settled domain."""
    domain = build(5, Mode.RELAY, link=Link(delay=0.01, jitter=0.01))
    domain.play([(0.0, "a", 0), (0.0, "b", 1), (0.0, "c", 2),
                 (1.0, "a", 3), (1.0, "b", 3), (1.5, "c", 4),
                 (3.0, "a", 0), (3.0, "b", None), (4.0, "c", 2)])
    settled(domain)
    assert domain.cmd.store.get("b") is None
    assert {bce.mn_id: len(bce.anchors) for bce in domain.cmd.store} == {"a": 2, "c": 2}
    assert domain.net.now >= 4.0
