"""The link-delay bounds the handover benchmark compares against."""
from benchmarks.handover import FAR, NEAR, bounds


def test_locator_registers_on_the_first_direct_pba_as_in_figure_3():
    # S-MAAR maar2, P-MAAR maar1: PBU 10 ms up, PBU* 10 ms down, direct PBA 4 ms
    assert bounds("locator", NEAR, "maar2", ["maar1"], None) == {
        "registered": 24.0, "pmaars": 20.0, "complete": 24.0}


def test_locator_first_registration_is_answered_by_the_cmd_as_in_figure_1():
    assert bounds("locator", NEAR, "maar2", [], None)["registered"] == 20.0


def test_pmipv6_bound_is_one_round_trip_to_the_lma_without_a_cmd():
    assert bounds("pmipv6", FAR, "maar2", ["maar1"], None) == \
        {"registered": 24.0, "pmaars": 12.0, "complete": 24.0}
