"""The benchmark report is written even when a live run failed (its error is
kept in the JSON; the delay profile is taken from a run that has one)."""
from benchmarks.report import markdown


def test_a_failed_first_live_run_does_not_stop_the_report():
    report = {
        "quick": True, "command": "benchmarks.run --quick", "started": "now",
        "total_seconds": 1, "machine": {},
        "sections": {"handover_latency": {"rows": [{"config": "pmipv6-far", "handover": "1-2"}]}},
        "live_runs": {"reps": 1, "runs": [
            {"mode": "proxy", "name": "proxy-far", "error": "Traceback: boom"},
            {"mode": "pmipv6", "name": "pmipv6-far", "delays_ms": {"maar1": 10}}]},
    }
    text = markdown(report)
    assert '`{"maar1": 10}`' in text and "pmipv6-far" in text
