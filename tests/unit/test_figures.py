"""The figures' exact message lists and the check of captured windows
against them (what the demo and the e2e judge the wire by)."""
import pytest

from dmm_ryu.config.domainfile import load
from dmm_ryu.core.config import Mode
from dmm_ryu.sim.domain import build
from dmm_ryu.sim.network import Link
from dmm_ryu.testbed import figures
from dmm_ryu.testbed.report import figure_problems, signalling_problems
from dmm_ryu.testbed.scenario import ModeRun, Scenario, Step
from dmm_ryu.wire.mh import message_name


def msg(frm, to, kind, serving=False, previous=0, lifetime=40, handoff=4, t=0.0):
    return {"t": t, "from": frm, "to": to, "type": kind, "serving_maar": serving,
            "previous_maars": previous, "lifetime": lifetime, "handoff": handoff}


def as_msgs(keys, handoff=4):
    return [msg(k[0], k[1], k[2], k[3], k[4], 0 if k[5] else 40, handoff, float(i))
            for i, k in enumerate(keys)]


@pytest.mark.parametrize("mode, counts", [("relay", [2, 4, 6, 8]), ("locator", [2, 4, 7, 10]),
                                          ("proxy", [2, 4, 6, 8])])
def test_message_counts_per_number_of_p_maars(mode, counts):
    lists = [figures.handover(mode, "maar9", [f"maar{i}" for i in range(n)]) for n in range(4)]
    assert [len(x) for x in lists] == counts


def test_locator_has_no_pba_from_the_cmd_to_the_s_maar():
    keys = figures.handover("locator", "maar3", ["maar1", "maar2"])
    assert not [k for k in keys if k[:3] == ("cmd", "maar3", "PBA")]
    assert keys[:3] == [("maar3", "cmd", "PBU", False, 0, False),
                        ("cmd", "maar1", "PBU", True, 0, False),
                        ("cmd", "maar2", "PBU", True, 0, False)]


def test_interleaved_p_maars_match_but_a_reordered_chain_does_not():
    keys = figures.handover("locator", "maar3", ["maar1", "maar2"])
    pbu, n1, n2, d1, c1, d2, c2 = keys
    assert figures.problems(keys, as_msgs([pbu, n1, n2, d2, d1, c2, c1]), ["maar1", "maar2"]) == []
    wrong = figures.problems(keys, as_msgs([pbu, n1, n2, c1, d1, d2, c2]), ["maar1", "maar2"])
    assert len(wrong) == 1 and wrong[0].startswith("order at maar1")


def test_an_extra_pba_from_the_cmd_is_reported_with_the_counts():
    keys = figures.handover("locator", "maar2", ["maar1"])
    extra = as_msgs(keys) + [msg("cmd", "maar2", "PBA", t=9.0)]
    (problem,) = figures.problems(keys, extra, ["maar1"])
    assert problem.startswith("5 messages where the figure has 4")
    assert "('cmd', 'maar2', 'PBA'" in problem


def test_proxy_answers_the_s_maar_before_the_p_maars():
    keys = figures.handover("proxy", "maar2", ["maar1"])
    late = [keys[0], keys[2], keys[3], keys[1]]
    assert figures.problems(keys, as_msgs(late), ["maar1"]) != []


def test_refreshes_are_set_aside():
    keys = figures.handover("locator", "maar2", ["maar1"])
    refresh = [msg("maar2", "cmd", "PBU", handoff=5, t=0.5),
               msg("cmd", "maar2", "PBA", previous=1, handoff=5, t=0.6)]
    assert figure_problems("locator", as_msgs(keys) + refresh, "maar2", ["maar1"]) == []


def test_leave_is_section_3_5():
    keys = figures.leave("maar1", ["maar2", "maar3"])
    assert keys == [("maar1", "cmd", "PBU", False, 0, True), ("cmd", "maar1", "PBA", False, 0, True),
                    ("cmd", "maar2", "PBU", False, 0, True), ("cmd", "maar3", "PBU", False, 0, True),
                    ("maar2", "cmd", "PBA", False, 0, True), ("maar3", "cmd", "PBA", False, 0, True)]
    renewal = [msg("maar2", "cmd", "PBU", lifetime=0, handoff=5),
               msg("cmd", "maar2", "PBA", lifetime=40, handoff=5)]
    assert figure_problems("locator", renewal + as_msgs(keys), "maar1", ["maar2", "maar3"],
                           keys) == []


def _sim_msgs(domain, since, names):
    rows = []
    for sent in domain.net.log[since:]:
        m = sent.message
        rows.append({"t": 0.0, "from": names[sent.src], "to": names[sent.dst],
                     "type": message_name(m),
                     "serving_maar": m.options.serving_maar is not None,
                     "previous_maars": len(m.options.previous_maars),
                     "lifetime": getattr(m, "lifetime", None),
                     "handoff": m.options.handoff})
    return rows


@pytest.mark.parametrize("mode", [Mode.RELAY, Mode.LOCATOR, Mode.PROXY])
def test_the_core_meets_the_lists_on_the_demo_path_and_the_leave(mode):
    """The same lists the e2e applies to the wire, applied to the core."""
    domain = build(3, mode, link=Link(delay=0.01))
    names = {m.address: f"maar{i + 1}" for i, m in enumerate(domain.maars)}
    names[domain.cmd.address] = "cmd"
    visited = []
    for index in (0, 1, 2, 0):
        mark = len(domain.net.log)
        domain.move("mn", index)
        assert domain.net.settle()
        s_maar = f"maar{index + 1}"
        p_maars = sorted(set(visited) - {s_maar})
        assert figure_problems(mode.value, _sim_msgs(domain, mark, names), s_maar, p_maars) == []
        visited.append(s_maar)
    mark = len(domain.net.log)
    domain.move("mn", None)
    assert domain.net.settle()
    expected = figures.leave("maar1", ["maar2", "maar3"])
    assert figure_problems(mode.value, _sim_msgs(domain, mark, names), "maar1",
                           ["maar2", "maar3"], expected) == []


def _timed(domain, since, names, t0):
    rows = _sim_msgs(domain, since, names)
    for n, row in enumerate(rows):
        row["t"] = t0 + n / 1000
    return rows


def _demo_run(mode):
    """A ModeRun of the demo path (sim messages, one move every 5 s, the
    leave at 20 s) and its messages."""
    domain = build(3, mode, link=Link(delay=0.01))
    names = {m.address: f"maar{i + 1}" for i, m in enumerate(domain.maars)}
    names[domain.cmd.address] = "cmd"
    run, msgs, visited = ModeRun(mode.value, left_at=20.0), [], []
    for k, index in enumerate((0, 1, 2, 0, None)):
        mark = len(domain.net.log)
        domain.move("mn", index)
        assert domain.net.settle()
        msgs += _timed(domain, mark, names, 5.0 * k)
        if index is None:
            break
        dst = f"maar{index + 1}"
        prefixes = [{"prefix": f"2001:db8:{v[4:]}::/64", "anchor": v, "local": v == dst}
                    for v in sorted(set(visited) | {dst})]
        run.steps.append(Step(mode.value, visited[-1] if visited else None, dst, 5.0 * k,
                              prefixes=prefixes))
        visited.append(dst)
    return run, msgs


@pytest.mark.parametrize("mode", [Mode.RELAY, Mode.LOCATOR, Mode.PROXY])
def test_report_judges_every_window_and_the_leave(mode):
    run, msgs = _demo_run(mode)
    assert signalling_problems(run, msgs) == []
    extra = dict(msgs[3], t=7.0)                      # a copy inside the first handover
    assert signalling_problems(run, msgs + [extra])[0].startswith(f"{mode.value} maar1->maar2: ")
    cut = [m for m in msgs if not (m["t"] >= 20.0 and m["from"] == "maar3")]
    (problem,) = signalling_problems(run, cut)            # maar3's leave PBA lost
    assert problem.startswith(f"{mode.value} leave at maar1: 5 messages where the figure has 6")


def test_the_scenarios_domain_file_names_its_method_and_ethernet_access(tmp_path):
    """What the e2e runs on: the chosen 3.5 method, and ATT 3 (IEEE 802.3)
    because the testbed's access links are Ethernet."""
    scenario = Scenario("locator", tmp_path / "run", dereg="renew", lifetime=16)
    domain = load(str(scenario.domain_file))
    assert (domain.mode, domain.deregistration, domain.timers["lifetime"]) == ("locator", "renew", 16)
    assert domain.access_technology == 3


def test_pmipv6_is_mag_to_lma_only_and_the_report_judges_it():
    """RFC 5213: maar1 is the LMA (no messages while the MN is there); at
    a MAG one PBU/PBA pair with the LMA, then (RFC 5846) the LMA's BRI to
    the previous MAG and its BRA; previous MAGs' de-registrations are set
    aside; anything to the CMD is a problem."""
    run, msgs = _demo_run(Mode.PMIPV6)
    assert {(m["from"], m["to"]) for m in msgs} == {("maar2", "maar1"), ("maar1", "maar2"),
                                                    ("maar3", "maar1"), ("maar1", "maar3")}
    assert signalling_problems(run, msgs) == []
    assert figures.pmipv6("maar2", "maar1") == [("maar2", "maar1", "PBU", False, 0, False),
                                                ("maar1", "maar2", "PBA", False, 0, False)]
    assert figures.pmipv6("maar1", "maar1", previous="maar3") == [
        ("maar1", "maar3", "BRI", False, 0, False), ("maar3", "maar1", "BRA", False, 0, False)]
    assert [m["type"] for m in msgs].count("BRI") == 2  # maar2->maar3 and maar3->maar1
    (problem,) = signalling_problems(run, [m for m in msgs if m["type"] != "BRA" or
                                           m["from"] != "maar2"])
    assert problem.startswith("pmipv6 maar2->maar3: 3 messages where the figure has 4")
    to_cmd = dict(msgs[0], to="cmd")
    problems = signalling_problems(run, [to_cmd] + msgs[1:])
    assert problems[0] == "pmipv6: PBU maar2->cmd involves the CMD"
    lost = [m for m in msgs if not (m["from"] == "maar1" and m["to"] == "maar3"
                                    and m["lifetime"])]
    (problem,) = signalling_problems(run, lost)
    assert problem.startswith("pmipv6 maar2->maar3: 3 messages where the figure has 4")
