"""The demo's per-handover table (one row per step, the radio model of
each move in its own column) and the ping gap it shows."""
import pytest

from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import ModeRun, Step, _ping_gap_ms

PREFIX = [{"prefix": "2001:db8:1::/64", "anchor": "maar1", "local": False},
          {"prefix": "2001:db8:2::/64", "anchor": "maar2", "local": True}]


def test_table_has_a_radio_column_per_move():
    run = ModeRun("proxy", steps=[
        Step("proxy", None, "maar1", 0.0, signalling_ms=3.2, prefixes=PREFIX[:1],
             flows_alive={"2001:db8:1::/64": True}),
        Step("proxy", "maar1", "maar2", 5.0, radio="roam", signalling_ms=4.0,
             registered_after_s=0.352, interruption_ms=28.4, prefixes=PREFIX,
             flows_alive={"2001:db8:1::/64": True, "2001:db8:2::/64": False}),
        Step("proxy", "maar2", "maar1", 9.0, radio="flap", prefixes=PREFIX)])
    head, rule, attach, roam, flap = report.table(run).splitlines()
    assert head.split()[:3] == ["mode", "handover", "radio"] and set(rule) == {"-"}
    assert attach.split()[:3] == ["proxy", "attach->maar1", "-"]
    assert roam.split()[:8] == ["proxy", "maar1->maar2", "roam", "4.0", "ms", "0.35", "s", "28"]
    assert "1/2" in roam and roam.endswith("2001:db8:1::/64@maar1, 2001:db8:2::/64@maar2*")
    assert flap.split()[2:6] == ["flap", "-", "-", "-"]  # never registered, no gap measured


def test_ping_gap_is_the_longest_silence_and_none_if_replies_never_resumed(tmp_path):
    log = tmp_path / "ping.log"
    log.write_text("".join(f"[{t:.3f}] 64 bytes from 2001:db8:c::11: icmp_seq=1 time=0.4 ms\n"
                           for t in (9.0, 9.5, 10.0, 12.5, 12.55, 12.6)))
    assert _ping_gap_ms(log, 10.0, 13.0) == pytest.approx(2500.0)
    assert _ping_gap_ms(log, 12.6, 20.0) is None  # nothing after a move at 12.6
