"""Issue #13 on real OVS + Mininet: the MN's session survives ``kill -9`` of
the controller.  Proxy mode; the MN attached at maar1 and moved to maar2,
so it holds an anchored prefix (maar1's, tunnelled) and a local one
(maar2's), each with a live TCP flow, while the CN pings both every 10 ms.
The controller dies, the switches keep forwarding, a new controller starts
on the same configuration and state, and the MN then moves to maar3."""
import json

import pytest

from dmm_ryu.testbed.restart import RestartScenario

pytestmark = pytest.mark.e2e

ANCHORED, LOCAL = "2001:db8:1::/64", "2001:db8:2::/64"


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("restart")
    with RestartScenario("proxy", out, maars=3) as sc:
        sc.start()
        sc.handover("maar1", "maar2")
        sc.restart = sc.crash_and_restart(outage=3.0)
        sc.after = sc.handover("maar2", "maar3")
        (out / "restart.json").write_text(json.dumps({
            "cn_pings": {p: vars(r) | {"lost": r.lost} for p, r in sc.restart.pings.items()},
            "binding_back_after_s": sc.restart.binding_back_after_s,
            "mn_ping_longest_gap_ms": sc.restart.step.interruption_ms,
            "next_move_signalling_ms": sc.after.signalling_ms}, indent=1))
        yield sc


def test_the_cn_pings_both_prefixes_of_the_mn(scenario):
    assert set(scenario.restart.pings) == {ANCHORED, LOCAL}


def test_the_data_plane_forwards_while_no_controller_runs(scenario):
    """3 s without a controller: replies keep coming (a loaded host sends
    fewer than 100 echo requests a second), never silent for 0.5 s."""
    for prefix, ping in scenario.restart.pings.items():
        assert ping.replies_while_down >= 100 and ping.longest_gap_ms < 500, (prefix, ping)


def test_the_binding_is_back_as_it_was(scenario):
    rec = scenario.restart
    assert rec.binding_back_after_s is not None, "no binding after the restart"
    assert rec.binding_after == rec.binding_before
    assert rec.binding_after["serving_maar"] == "maar2"


def test_the_ping_lost_nothing_across_the_whole_restart(scenario):
    for prefix, ping in scenario.restart.pings.items():
        assert ping.transmitted > 2000 and ping.missing == [] and ping.lost == 0, (prefix, ping)


def test_every_address_answers_and_no_flow_was_reset(scenario):
    step = scenario.restart.step
    assert step.reachable and all(step.reachable.values()), step.reachable
    assert set(step.flows_alive) == {ANCHORED, LOCAL} and all(step.flows_alive.values()), step


def test_the_reconnected_switches_kept_their_rules(scenario):
    rec = scenario.restart
    rules = {b: sorted(_rule(line) for line in text.splitlines()[1:])
             for b, text in rec.flows_before.items()}
    assert rules == {b: sorted(_rule(line) for line in text.splitlines()[1:])
                     for b, text in rec.flows_after.items()}


def test_the_next_move_after_the_restart_works(scenario):
    step = scenario.after
    assert step.registered_after_s is not None, "the MN never registered at maar3"
    assert all(step.reachable.values()) and len(step.reachable) == 3, step.reachable
    assert all(step.flows_alive.values()) and len(step.flows_alive) == 3, step.flows_alive
    anchors = {p["prefix"]: p["anchor"] for p in step.prefixes}
    assert anchors == {ANCHORED: "maar1", LOCAL: "maar2", "2001:db8:3::/64": "maar3"}


def _rule(line: str) -> str:
    """A dump-flows line without its counters (they grow while forwarding)."""
    return " ".join(f for f in line.replace(",", " ").split()
                    if not f.startswith(("duration=", "n_packets=", "n_bytes=", "idle_age=",
                                         "hard_age=")))
