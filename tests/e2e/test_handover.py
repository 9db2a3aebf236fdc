"""The product's promise on real OVS + Mininet, in every mode: a live TCP
flow and every address survive MAAR1 -> MAAR2 -> MAAR3 -> MAAR1 (moves
alternating a radio roam, detected from the MN's traffic alone, and a link
flap), new flows
take the optimal path, the signalling on the wire is the mode's figure, and
nothing of the MN remains once it left the domain."""
import re

import pytest

from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import run_mode

pytestmark = pytest.mark.e2e

PATH = ("maar1", "maar2", "maar3", "maar1")
RADIOS = ("roam", "flap")


@pytest.fixture(scope="module", params=["relay", "locator", "proxy", "pmipv6"])
def run(request, tmp_path_factory):
    return run_mode(request.param, tmp_path_factory.mktemp(request.param), path=PATH,
                    radios=RADIOS)


def test_every_expectation_holds(run):
    assert report.problems(run) == []


def test_first_flow_survives_every_handover_on_one_connection(run):
    first = next(iter(run.flows_started))
    assert [step.flows_alive.get(first) for step in run.steps[1:]] == [True, True, True]


def test_cn_reaches_every_address_after_every_move(run):
    for step in run.steps[1:]:
        assert step.reachable and all(step.reachable.values()), step


def test_prefixes_and_anchors_follow_the_draft(run):
    last = run.steps[-1]
    anchors = {p["prefix"]: p["anchor"] for p in last.prefixes}
    if run.mode == "pmipv6":  # legacy: one prefix, anchored at the LMA throughout
        assert list(anchors.values()) == ["maar1"]
        return
    assert anchors == {"2001:db8:1::/64": "maar1", "2001:db8:2::/64": "maar2",
                       "2001:db8:3::/64": "maar3"}
    assert [p["prefix"] for p in last.prefixes if p["local"]] == ["2001:db8:1::/64"]


def test_signalling_matches_the_mode(run):
    msgs = report.signalling(run.out / "signalling.pcap")
    assert msgs, "no Mobility Header captured on the transport"
    if run.mode == "pmipv6":  # RFC 5213: MAGs and the LMA (maar1) only, the CMD idles
        assert {m["from"] for m in msgs} == {"maar1", "maar2", "maar3"}
        assert all("maar1" in (m["from"], m["to"]) and "cmd" != m["to"] for m in msgs)
        # RFC 5846: maar2 and maar3 are revoked when the MN leaves them
        revoked = [(m["type"], m["from"], m["to"]) for m in msgs if m["type"] in ("BRI", "BRA")]
        assert revoked == [("BRI", "maar1", "maar2"), ("BRA", "maar2", "maar1"),
                           ("BRI", "maar1", "maar3"), ("BRA", "maar3", "maar1")], revoked
        return
    assert {m["from"] for m in msgs} >= {"maar1", "maar2", "maar3", "cmd"}


def test_nothing_remains_after_the_mn_left(run):
    assert run.left_clean == {"binding_removed": True, "leftovers": {}, "stale_rules": {}}


def test_rest_and_dmmctl_tell_the_state_the_mn_is_in(run):
    """The operator's view after each move, queried live over HTTP."""
    for step in run.steps:
        assert re.search(rf"S-MAAR\s+{step.dst} \(", step.dmmctl), step.dmmctl
        for p in step.prefixes:
            row = rf"{re.escape(p['prefix'])}\s+{p['anchor']}\s+\S+\s+{'yes' if p['local'] else 'no'}"
            assert re.search(row, step.dmmctl), (row, step.dmmctl)
        tunnels = {m["name"]: len(m["tunnels"]) for m in step.maars}
        anchored = {p["anchor"] for p in step.prefixes if not p["local"]}
        if run.mode != "pmipv6":
            assert all(tunnels[a] >= 1 for a in anchored), (anchored, tunnels)
            assert tunnels[step.dst] == len(anchored)
