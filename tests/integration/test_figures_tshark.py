"""The two readers of a signalling capture agree: our codec
(``report.signalling``) and Wireshark with the project's Lua dissector
(``figures.tshark_signalling``), on a locator domain's attach, three
handovers and leave; and both find Figure 3 and section 3.5 in it."""
import shutil
import struct

import pytest

from dmm_ryu.core.config import Mode
from dmm_ryu.sim.domain import build
from dmm_ryu.sim.network import Link
from dmm_ryu.testbed import figures, report
from dmm_ryu.wire.mh import encode_packet
from mininet_topos.dmm import CMD_ADDRESS, maar_address

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def _pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, frame in frames:
            out.write(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(frame), len(frame))
                      + frame)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """The sim's messages, addressed as on the testbed, one second per move."""
    domain = build(3, Mode.LOCATOR, link=Link(delay=0.01))
    testbed = {m.address: maar_address(i + 1) for i, m in enumerate(domain.maars)}
    testbed[domain.cmd.address] = CMD_ADDRESS
    frames, marks = [], []
    for second, index in enumerate((0, 1, 2, 0, None)):
        marks.append(len(domain.net.log))
        domain.move("mn", index)
        assert domain.net.settle()
    marks.append(len(domain.net.log))
    eth = bytes(6) + bytes(6) + b"\x86\xdd"
    for move in range(5):
        for n, sent in enumerate(domain.net.log[marks[move]:marks[move + 1]]):
            packet = encode_packet(sent.message, testbed[sent.src], testbed[sent.dst])
            frames.append((1_800_000_000 + move + n / 1000, eth + packet))
    path = tmp_path_factory.mktemp("fig") / "signalling.pcap"
    _pcap(path, frames)
    return path


def test_wireshark_reads_what_the_codec_reads(capture):
    ours = report.signalling(capture)
    theirs = figures.tshark_signalling(capture, report._node)
    assert len(ours) == len(theirs) == 2 + 4 + 7 + 7 + 6
    assert [figures.key(m) for m in theirs] == [figures.key(m) for m in ours]
    assert [(m["handoff"], m["seq"]) for m in theirs] == [(m["handoff"], m["seq"]) for m in ours]
    assert all(m["d_flag"] and not m["malformed"] for m in theirs)


def test_both_readings_are_figure3_and_section_3_5(capture):
    theirs = figures.tshark_signalling(capture, report._node)
    base = 1_800_000_000
    plan = [("maar1", []), ("maar2", ["maar1"]), ("maar3", ["maar1", "maar2"]),
            ("maar1", ["maar2", "maar3"])]
    for move, (s_maar, p_maars) in enumerate(plan):
        window = [m for m in theirs if base + move <= m["t"] < base + move + 1]
        assert report.figure_problems("locator", window, s_maar, p_maars) == []
    left = [m for m in theirs if m["t"] >= base + 4]
    expected = figures.leave("maar1", ["maar2", "maar3"])
    assert report.figure_problems("locator", left, "maar1", ["maar2", "maar3"], expected) == []
