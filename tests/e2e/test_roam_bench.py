"""A slice of the roam benchmark (issue 14) on real OVS: ``benchmarks.roam``
for one mode, three roams and a flap.  Not the figures (no timing
thresholds): the table's shape, every roam detected at its new MAAR from
the MN's traffic alone and the CN's probe restored after each."""
import json

import pytest

from benchmarks import roam

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("roam")


@pytest.fixture(scope="module")
def report(out):
    return roam.measure(out, modes=("proxy",), roams=3, flaps=1)


def test_table_has_a_row_per_radio_model_with_every_column(report):
    assert [(r["mode"], r["radio"], r["moves"]) for r in report["table"]] == [
        ("proxy", "roam", 3), ("proxy", "flap", 1)]
    for row in report["table"]:
        assert set(roam.COLUMNS) <= set(row), row
    assert len(roam.render(report["table"]).splitlines()) == 3


def test_every_roam_is_detected_and_the_probe_restored(report):
    moves = report["runs"][0]["moves"]
    roams = [m for m in moves if m["radio"] == "roam"]
    assert [(m["from"], m["to"]) for m in roams] == [
        ("maar1", "maar2"), ("maar2", "maar3"), ("maar3", "maar1")]
    for m in roams:
        assert m["detected"], m
        assert m["interruption"]["restored"], m
        assert m["uplink_lost_after_up"] is not None, m


def test_the_trigger_frames_are_reinjected_and_counted(report):
    row = next(r for r in report["table"] if r["radio"] == "roam")
    assert row["reinjected"] >= row["moves"], row  # at least the trigger of each roam
    assert isinstance(row["trigger_lost"], int)


def test_the_report_is_written(report, out):
    assert json.loads((out / "roam.json").read_text())["table"] == report["table"]
