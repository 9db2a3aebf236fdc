"""The config fuzz target: mutated domain files are accepted or refused
cleanly, and every accepted one runs."""
from dmm_ryu.config.fuzz import fuzz, mutate
from dmm_ryu.runtime.configfuzz import fuzz_domain_files


def test_two_thousand_mutated_files_neither_crash_nor_break_the_controller():
    result = fuzz_domain_files(2000, seed=12)
    assert result["failures"] == []
    assert (result["crashes"], result["accepted_but_unbuildable"]) == (0, 0)
    assert result["inputs"] == result["accepted"] + result["refused"] == 2000
    # The mutations reach both sides: the checks refuse, the runtime runs.
    assert result["accepted"] > 100 and result["refused"] > 1000


def test_the_harness_reports_crashes_and_unrunnable_files():
    def build(domain):
        raise KeyError("boom")

    crashed = fuzz(20, seed=1, build=build)
    assert crashed["crashes"] == crashed["inputs"] - crashed["refused"] > 0
    assert "KeyError" in crashed["failures"][0]["error"]

    def run(domain, built):
        raise RuntimeError("cannot run")

    broken = fuzz(20, seed=1, run=run)
    assert broken["accepted_but_unbuildable"] == broken["accepted"] > 0
    assert broken["failures"][0]["kind"] == "accepted_but_unbuildable"


def test_mutations_are_reproducible_from_the_seed():
    import random
    assert [mutate(random.Random(5)) for _ in range(3)] == [mutate(random.Random(5))] * 3
