"""The real-stack rate benchmark's bookkeeping (benchmarks/realrate.Tracker,
benchmarks/distributed.summary/table): what counts as a completed, a lost
handover, and the sustained rate."""
import pytest

from benchmarks.distributed import summary, table
from benchmarks.realrate import Tracker

MN = b"\x0a\xbb\x00\x00\x00\x01"


def test_a_handover_completes_only_at_its_new_maar_after_its_rs():
    tracker = Tracker()
    tracker.start(MN, 2, at=10.0)
    tracker.saw_ra(1, MN, 10.5)   # the old MAAR's RA: not this handover
    tracker.saw_ra(2, MN, 9.0)    # older than the RS
    assert tracker.busy(MN)
    tracker.saw_ra(2, MN, 10.02)
    assert not tracker.busy(MN) and tracker.latencies == [pytest.approx(0.02)]


def test_a_handover_without_ra_is_lost_after_the_timeout():
    tracker = Tracker()
    tracker.start(MN, 0, at=1.0)
    assert tracker.expire(now=3.0, timeout=3.0) == []
    assert tracker.expire(now=4.5, timeout=3.0) == [MN]
    tracker.saw_ra(0, MN, 4.6)  # too late: not counted
    assert not tracker.busy(MN) and tracker.latencies == []


def _row(rate, p99, lost=0, achieved=None):
    return {"offered_per_s": rate, "handovers": 100, "completed": 100 - lost, "lost": lost,
            "achieved_per_s": achieved or rate, "p50_ms": 1.0, "p99_ms": p99,
            "controller_cpu_pct_total": 50}


def test_the_sustained_rate_needs_the_p99_bound_and_no_loss():
    rows = [_row(100, 10), _row(200, 40), _row(300, 20, lost=1), _row(400, 60, achieved=350)]
    result = summary("per-node", rows)
    assert result["sustained_per_s"] == 200
    assert result["peak_achieved_per_s"] == 350
    assert summary("x", [_row(100, 51)])["sustained_per_s"] is None


def test_the_table_puts_configurations_side_by_side():
    text = table([summary("one-process", [_row(100, 10), _row(200, 60)]),
                  summary("per-node", [_row(100, 5)])])
    lines = text.splitlines()
    assert lines[1].split() == ["offered/s", "one-process", "per-node"]
    assert lines[-3].startswith("200") and lines[-3].rstrip().endswith("—")
    assert lines[-2].split() == ["sustained/s", "100", "100"]
