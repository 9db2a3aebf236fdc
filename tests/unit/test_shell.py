"""The application shell: guarded handlers and timer rounds, the domain
clock, reading OpenFlow error messages."""
from types import SimpleNamespace

from dmm_ryu.runtime.stats import Stats
from dmm_ryu.shell.clock import DomainClock
from dmm_ryu.shell.guard import guarded
from dmm_ryu.shell.ofevents import error_summary
from dmm_ryu.shell.timers import run_timers


class RaisingOnce:
    """A runtime whose first timer round raises (a bad action), then works."""

    def __init__(self) -> None:
        self.stats = Stats()
        self.rounds = 0

    def expire(self, now):
        self.rounds += 1
        if self.rounds == 1:
            raise RuntimeError("an action the OpenFlow layer refused")
        return [f"output of round {self.rounds}"]


def test_timer_thread_survives_a_raising_round():
    runtime, sent = RaisingOnce(), []
    run_timers(runtime, sent.extend, lambda: 0.0, lambda _: None, rounds=3)
    assert runtime.rounds == 3
    assert sent == ["output of round 2", "output of round 3"]
    assert runtime.stats.errors() == {"exception_timer": 1}


def test_guard_logs_counts_and_returns_none(caplog):
    stats = Stats()
    boom = guarded("packet_in", stats.error)(lambda: 1 / 0)
    assert boom() is None
    assert stats.errors() == {"exception_packet_in": 1}
    assert "packet_in failed" in caplog.text and "ZeroDivisionError" in caplog.text


def test_domain_clock_ignores_wall_clock_steps():
    wall, mono = [1_000_000.0], [50.0]
    clock = DomainClock(lambda: wall[0], lambda: mono[0])
    wall[0] += 100.0  # an NTP step forward...
    mono[0] += 1.0
    assert clock.now() == 1_000_001.0
    wall[0] -= 500.0  # ...and backwards: time still only moves forward
    mono[0] += 1.0
    assert clock.now() == 1_000_002.0


def test_error_summary_names_type_code_and_the_refused_message():
    msg = SimpleNamespace(type=5, code=6, xid=42, data=b"\x04\x0e\x00\x50")
    reason, text = error_summary(msg)
    assert reason == "of_error_5_6"
    assert text == "error type 5 code 6 xid 42 refusing FLOW_MOD"
    assert error_summary(SimpleNamespace(type=1, code=0, xid=0, data=b""))[1].endswith("unknown")
