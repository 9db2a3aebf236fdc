"""The demo's per-handover table: one row per step, the radio model of
each move in its own column."""
from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import ModeRun, Step

PREFIX = [{"prefix": "2001:db8:1::/64", "anchor": "maar1", "local": False},
          {"prefix": "2001:db8:2::/64", "anchor": "maar2", "local": True}]


def test_table_has_a_radio_column_per_move():
    run = ModeRun("proxy", steps=[
        Step("proxy", None, "maar1", 0.0, signalling_ms=3.2, prefixes=PREFIX[:1],
             flows_alive={"2001:db8:1::/64": True}),
        Step("proxy", "maar1", "maar2", 5.0, radio="roam", signalling_ms=4.0,
             interruption_ms=28.4, prefixes=PREFIX,
             flows_alive={"2001:db8:1::/64": True, "2001:db8:2::/64": False}),
        Step("proxy", "maar2", "maar1", 9.0, radio="flap", prefixes=PREFIX)])
    head, rule, attach, roam, flap = report.table(run).splitlines()
    assert head.split()[:3] == ["mode", "handover", "radio"] and set(rule) == {"-"}
    assert attach.split()[:3] == ["proxy", "attach->maar1", "-"]
    assert roam.split()[:8] == ["proxy", "maar1->maar2", "roam", "4.0", "ms", "0.00", "s", "28"]
    assert "1/2" in roam and roam.endswith("2001:db8:1::/64@maar1, 2001:db8:2::/64@maar2*")
    assert flap.split()[2:4] == ["flap", "-"]
