"""The live benchmark's reading of one handover from the controller log
(benchmarks/handover.py): a handover is complete at the S-MAAR's last PBA of
its own exchange, not at the answer to the re-registration that follows it
(in locator mode one second later, by design: core/maar_peers.py)."""
from benchmarks.handover import parse_handover

MN = "0a0000000001@dmm.example"
CMD, M1, M2 = "2001:db8:ffff::100", "2001:db8:ffff::1", "2001:db8:ffff::2"


def line(node, way, kind, src, dst, seq, extra=""):
    return f"dmm: {node} {way} {kind} {src} -> {dst} mn={MN} seq={seq} lifetime=60{extra}"


#: A locator-mode handover maar1 -> maar2 as the controller logged it (times in s).
LOCATOR = [
    (41.329, f"dmm: MN {MN} (0a:00:00:00:00:01) attached to maar2 port 2"),
    (41.330, line("maar2", "tx", "PBU", M2, CMD, 1)),
    (41.343, line("cmd", "rx", "PBU", M2, CMD, 1)),
    (41.344, line("cmd", "tx", "PBU", CMD, M1, 1, f" serving_maar={M2}")),
    (41.365, line("maar1", "rx", "PBU", CMD, M1, 1, f" serving_maar={M2}")),
    (41.366, line("maar1", "tx", "PBA", M1, M2, 1, " status=0")),
    (41.380, line("maar2", "rx", "PBA", M1, M2, 1, " status=0")),
    (41.381, f"dmm: MN {MN} registered at maar2 in 50.8 ms, prefixes 2001:db8:2::/64"),
    (42.386, line("maar2", "tx", "PBU", M2, CMD, 2)),
    (42.399, line("cmd", "rx", "PBU", M2, CMD, 2)),
    (42.400, line("cmd", "tx", "PBA", CMD, M2, 2, " status=0")),
    (42.412, line("maar2", "rx", "PBA", CMD, M2, 2, " status=0")),
]


def test_locator_handover_completes_at_the_p_maars_direct_pba():
    handover = parse_handover(LOCATOR, MN, 41.0, 43.0)
    assert handover["registered_ms"] == 52.0
    assert handover["complete_ms"] == 51.0


def test_a_retransmission_before_the_registration_is_part_of_the_handover():
    rows = LOCATOR[:2] + [(42.330, line("maar2", "tx", "PBU", M2, CMD, 2)),
                          (42.350, line("maar2", "rx", "PBA", CMD, M2, 2, " status=0")),
                          (42.351, f"dmm: MN {MN} registered at maar2 in 1021 ms, prefixes p")]
    assert parse_handover(rows, MN, 41.0, 43.0)["complete_ms"] == 1021.0
