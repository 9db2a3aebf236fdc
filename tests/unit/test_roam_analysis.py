"""The roam benchmark's arithmetic (issue 14), on synthetic probe logs: the
walk it plans, the uplink probes it counts as lost after the radio came
back, and the per-mode table (median, nearest-rank p95, trigger loss)."""
from benchmarks import roam


def write_probes(path, rows):
    path.write_text("".join(f"{seq} {sent:.6f} {sent + 0.001:.6f}\n" for seq, sent in rows))


def test_plan_walks_the_maars_roams_first_then_flaps():
    assert roam.plan(2, 2) == [("maar1", "maar2", "roam"), ("maar2", "maar3", "roam"),
                               ("maar3", "maar1", "flap"), ("maar1", "maar2", "flap")]


def test_uplink_lost_counts_only_probes_sent_after_the_radio_was_up(tmp_path):
    log = tmp_path / "up.txt"
    # 10 ms probes; seqs 3-5 missing (sent at 0.03-0.05), seqs 8-9 missing (0.08-0.09)
    write_probes(log, [(s, s * 0.01) for s in (0, 1, 2, 6, 7, 10, 11)])
    assert roam.uplink_lost(log, t_up=0.045, t_end=1.0) == 3  # 0.05, 0.08, 0.09
    assert roam.uplink_lost(log, t_up=0.0, t_end=0.085) == 4  # 0.03-0.05, 0.08
    assert roam.uplink_lost(tmp_path / "absent.txt", 0.0, 1.0) is None


def test_p95_is_nearest_rank():
    assert roam._p95([]) is None
    assert roam._p95([5.0]) == 5.0
    values = [float(v) for v in range(1, 21)]  # 20 samples: rank ceil(19) = 19
    assert roam._p95(values) == 19.0
    assert roam._p95(values[:10]) == 10.0


def move(radio, gap, restored=True, lost=0, reinjected=1, uplink=0, detected=True):
    return {"radio": radio, "detected": detected, "trigger_lost": lost,
            "reinjected": reinjected, "uplink_lost_after_up": uplink,
            "interruption": {"gap_ms": gap, "restored": restored}}


def test_summary_per_mode_and_radio_over_restored_moves():
    runs = [{"mode": "proxy", "moves": [move("roam", 10.0), move("roam", 30.0),
                                         move("roam", None, restored=False, detected=False),
                                         move("flap", 2000.0, lost=2, uplink=None)]},
            {"mode": "relay", "error": "no address from maar1"}]
    table = roam.summary(runs)
    assert [(r["mode"], r["radio"]) for r in table] == [("proxy", "roam"), ("proxy", "flap")]
    first = table[0]
    assert (first["moves"], first["restored"], first["detected"]) == (3, 2, 2)
    assert (first["median_ms"], first["p95_ms"], first["max_ms"]) == (20.0, 30.0, 30.0)
    assert (first["trigger_lost"], first["reinjected"]) == (0, 3)
    assert (table[1]["trigger_lost"], table[1]["uplink_lost_after_up"]) == (2, 0)
    lines = roam.render(table).splitlines()
    assert len(lines) == 3 and lines[0].split() == list(roam.COLUMNS)
