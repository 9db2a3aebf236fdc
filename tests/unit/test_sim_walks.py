"""Random walks of several MNs over several MAARs, in every mode, on links
with random delay, reordering and loss, with pauses of several lifetimes
(re-registration, "renew" de-registration): once the domain settles, every
session prefix is reachable both ways through installed routes and tunnels,
no node keeps state the sessions do not call for, and no prefix has two
owners."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmm_ryu.core.config import Dereg, Mode, Timers
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import build, violations

N_MAARS = 5
TIMERS = Timers(lifetime=40, retransmit_initial=0.5, retransmit_max=4.0, retransmit_limit=10)
timers = st.builds(Timers, lifetime=st.just(40), retransmit_initial=st.just(0.5),
                   retransmit_max=st.just(4.0), retransmit_limit=st.just(10),
                   aggregation_timeout=st.sampled_from([0.01, 0.05, 0.5]))

steps = st.lists(
    st.tuples(st.integers(0, 3),                                  # which MN
              st.one_of(st.integers(0, N_MAARS - 1), st.none()),  # where to (None: leave)
              st.sampled_from(["go", "settle", "wait", "cut"])),  # before the next move
    min_size=1, max_size=40)
links = st.builds(Link, delay=st.floats(0.001, 0.05), jitter=st.floats(0, 0.05),
                  loss=st.sampled_from([0.0, 0.02, 0.05]))


def walk(mode, dereg, link, seed, moves, lma=None, timers=TIMERS):
    """Carry out ``moves``; "go" moves on 1 ms later (before the handover
    completes: ping-pong, overtaken registrations), "settle" and "wait"
    (three lifetimes) check every invariant once the domain settled; "cut"
    makes the CMD unreachable from the MAAR just moved to until its
    registration gives up, then the MNs chatter and none may be stranded."""
    domain = build(N_MAARS, mode, dereg, timers, seed, link, lma=lma)
    for number, (mn, where, pause) in enumerate(moves):
        if pause == "cut" and where is not None:
            _cut(domain, domain.maars[where].address, link)
        if where is not None or f"mn{mn}" in domain.net.mns:
            domain.move(f"mn{mn}", where)
        domain.net.run_for(0.001 if pause != "wait" else 3 * TIMERS.lifetime)
        if pause == "cut":
            _heal_after_giving_up(domain, timers, moves[:number + 1])
        elif pause != "go" or number == len(moves) - 1:
            assert domain.net.settle(), f"did not settle after move {number}"
            assert violations(domain) == [], f"after move {number}: {moves[:number + 1]}"
    return domain


def _heal_after_giving_up(domain, timers, so_far):
    """The cut lasts until every retransmission gave up and the prefixes
    an MN may still hold from before ran out of valid lifetime; then the
    links heal and the MNs chatter: none may be stranded."""
    domain.net.run_for(timers.retransmit_max * (timers.retransmit_limit + 1) + timers.lifetime)
    domain.net.links.clear()
    owed = timers.lifetime + timers.retransmit_max * (timers.retransmit_limit + 1)
    domain.net.run_for(owed)  # the CMD's owed de-registrations are retried
    domain.net.chatter()
    assert domain.net.settle(), f"did not settle after {so_far}"
    assert violations(domain, attached_served=True) == [], f"after {so_far}"


def _cut(domain, maar, link):
    """Both directions between the CMD and ``maar`` lose everything."""
    domain.net.set_link(domain.cmd.address, maar, Link(link.delay, link.jitter, loss=1.0))


@pytest.mark.parametrize("mode", list(Mode))
@settings(max_examples=500, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(dereg=st.sampled_from(list(Dereg)), link=links, seed=st.integers(0, 2**16),
       moves=steps, timers=timers)
def test_random_walks_keep_every_prefix_reachable(mode, dereg, link, seed, moves, timers):
    walk(mode, dereg, link, seed, moves, 2 if mode is Mode.PMIPV6 else None, timers)
