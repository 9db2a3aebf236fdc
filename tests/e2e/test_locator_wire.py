"""Locator mode on real OVS + Mininet, judged on the wire as Wireshark
decodes it (tshark with the project's Lua dissector): every handover of
MAAR1 -> MAAR2 -> MAAR3 -> MAAR1 is Figure 3's exact list (2, then 4/7/7
messages), the S-MAAR's binding refresh involves no P-MAAR, and the leave
is section 3.5's list, for both de-registration methods."""
import shutil

import pytest

from dmm_ryu.testbed import figures, report
from dmm_ryu.testbed.scenario import run_mode

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")]

PATH = ("maar1", "maar2", "maar3", "maar1")
LIFETIME = 16  # s: the S-MAAR refreshes after 12.8 s, a "renew" P-MAAR after 16 s
LINGER = LIFETIME + 2


@pytest.fixture(scope="module", params=["serving-only", "renew"])
def run(request, tmp_path_factory):
    return run_mode("locator", tmp_path_factory.mktemp(request.param), path=PATH,
                    radios=("roam", "flap"), dereg=request.param, lifetime=LIFETIME,
                    linger=LINGER)


@pytest.fixture(scope="module")
def wire(run):
    return figures.tshark_signalling(run.out / "signalling.pcap", report._node)


def test_every_message_decodes_cleanly_with_the_d_flag_and_802_3(wire):
    """The testbed's domain file names its Ethernet access (802.3, ATT 3)."""
    assert wire and not [m for m in wire if m["malformed"] or not m["d_flag"]]
    assert {m["access_tech"] for m in wire} == {3}


def test_handovers_and_leave_are_the_draft_lists_as_wireshark_reads_them(run, wire):
    assert report.signalling_problems(run, wire) == []
    assert report.problems(run) == []


def _window(run, wire, i):
    later = [s.moved_at for s in run.steps[i + 1:i + 2]] + [run.left_at]
    start = run.steps[i].moved_at - 0.5
    return [m for m in wire if start <= m["t"] < later[0]]


def test_figure3_counts_are_2_4_7_7(run, wire):
    counts = [len(figures.set_aside(_window(run, wire, i))[0]) for i in range(len(run.steps))]
    assert counts == [2, 4, 7, 7]
    for i in range(1, 4):
        dst = run.steps[i].dst
        assert not [m for m in _window(run, wire, i)
                    if (m["from"], m["to"], m["handoff"]) == ("cmd", dst, 4)]


def test_a_refresh_is_answered_by_the_cmd_alone(run, wire):
    last = run.steps[-1]
    lingered = [m for m in wire if last.moved_at + 2 <= m["t"] < run.left_at]
    refresh = [m for m in lingered if m["from"] == "maar1" and m["type"] == "PBU"]
    assert refresh and all(m["handoff"] == 5 and m["lifetime"] for m in refresh)
    answers = [m for m in lingered if (m["from"], m["to"], m["type"]) == ("cmd", "maar1", "PBA")]
    assert [(m["seq"], m["previous_maars"]) for m in answers] == [(m["seq"], 2) for m in refresh]
    assert not [m for m in lingered if m["from"] == "cmd" and m["type"] == "PBU"]


def test_the_de_registration_method_shows_on_the_wire(run, wire):
    """serving-only: no P-MAAR ever de-registers; renew: a P-MAAR's
    lifetime-0 PBU (HI 5) at its BCE's expiry is answered with a non-zero
    lifetime while the MN is in the domain."""
    own = [m for m in wire if m["type"] == "PBU" and m["from"] != "cmd" and m["lifetime"] == 0
           and not (m["from"] == run.steps[-1].dst and m["t"] >= run.left_at)]
    if run.out.name.startswith("serving-only"):
        assert own == []
        return
    assert own and all(m["from"] in ("maar2", "maar3") and m["handoff"] == 5 for m in own)
    renewed = [m for m in wire if m["from"] == "cmd" and m["type"] == "PBA"
               and m["handoff"] == 5 and m["to"] in ("maar2", "maar3") and m["t"] < run.left_at]
    assert renewed and all(m["lifetime"] == LIFETIME for m in renewed)
