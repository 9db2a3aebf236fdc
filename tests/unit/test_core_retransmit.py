"""Retransmission with exponential backoff, fresh sequence numbers and a
give-up limit, at the MAAR (PBU to the CMD) and at the CMD (PBU to a P-MAAR)."""
from dmm_ryu.core.actions import CancelTimer, StartTimer
from dmm_ryu.core.backoff import Backoff
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import CMD_ADDRESS, build, violations


def test_backoff_doubles_up_to_the_cap_then_gives_up():
    backoff = Backoff(Timers(retransmit_initial=1, retransmit_max=4, retransmit_limit=3))
    assert backoff.start("k", 10.0) == StartTimer("k", 11.0)
    assert [backoff.retry("k", t).at for t in (11.0, 13.0, 17.0)] == [13.0, 17.0, 21.0]
    assert backoff.retry("k", 21.0) is None and "k" not in backoff
    assert backoff.stop("k") is None
    backoff.start("k", 0.0)
    assert backoff.stop("k") == CancelTimer("k") and len(backoff) == 0


def test_maar_retransmits_then_gives_up_and_forgets_the_mn():
    domain = build(2)
    maar = domain.maars[0]
    domain.net.links[(CMD_ADDRESS, maar.address)] = Link(loss=1.0)
    domain.move("mn", 0)
    assert domain.net.settle()
    sent = [s for s in domain.net.log if s.src == maar.address]
    assert [s.time for s in sent] == [0, 1, 3, 7, 15, 23, 31]
    assert [s.message.sequence for s in sent] == [1, 2, 3, 4, 5, 6, 7]
    assert {s.message.options.timestamp for s in sent} == {0}
    assert maar.counters["pbu_retransmitted"] == 6 and maar.counters["gave_up"] == 1
    assert maar.bces == {} and maar.pool.allocated() == {}
    # The CMD accepted the (unanswered) registration; without refreshes the
    # session expires one lifetime later and everything is clean.
    domain.net.run_for(400)
    assert domain.cmd.counters["expired"] == 1 and violations(domain) == []


def test_maar_recovers_from_lost_pbas():
    domain = build(2, link=Link(delay=0.01))
    maar = domain.maars[0]
    domain.net.links[(CMD_ADDRESS, maar.address)] = Link(delay=0.01, loss=1.0)
    domain.move("mn", 0)
    domain.net.run_for(2.5)
    domain.net.links[(CMD_ADDRESS, maar.address)] = Link(delay=0.01)
    assert domain.net.settle() and violations(domain) == []
    assert maar.counters["pbu_retransmitted"] == 2 and maar.counters["gave_up"] == 0
    assert domain.cmd.counters["refreshes"] == 2


def test_cmd_retransmits_to_a_silent_p_maar_then_drops_its_prefix():
    """The P-MAAR never answers: the CMD gives up, and the prefix it
    anchored leaves the session (nothing could reach it).  The old MAAR's
    detach guard is made longer than the test, so only the CMD's
    retransmissions are counted (test_guard_* cover the guard)."""
    domain = build(2, Mode.PROXY, timers=Timers(detach_guard=10_000))
    domain.move("mn", 0)
    assert domain.net.settle()
    domain.net.links[(CMD_ADDRESS, domain.maars[0].address)] = Link(loss=1.0)
    domain.move("mn", 1)
    assert domain.net.settle()
    to_p_maar = [s for s in domain.net.log if s.dst == domain.maars[0].address]
    assert len(to_p_maar) == 2 + 6  # Figure 1's PBA, then the PBU and its 6 retries
    assert domain.cmd.counters["gave_up"] == 1 and domain.cmd.counters["pbu_retransmitted"] == 6
    bce = domain.cmd.store.get("mn")
    assert list(bce.anchors.values()) == [domain.maars[1].address]
    # Once the link heals, the next re-registrations reconcile both MAARs
    # with the CMD: the S-MAAR drops the tunnel, the old MAAR its prefix.
    domain.net.links.clear()
    domain.net.run_for(400)
    assert domain.net.settle() and violations(domain) == []
    assert domain.maars[0].bces == {} and domain.maars[0].pool.allocated() == {}
