"""timeline.png from synthetic runs: what a reader must find in it (a flow
per prefix with its anchor, flat segments where data stopped, the ping's
RTT, every move labelled with its radio model and gap), checked on the
matplotlib objects, and the PNG written."""
import json
import math

import pytest

from dmm_ryu.testbed import report
from dmm_ryu.testbed.scenario import ModeRun, Step

T0 = 1000.0
#: (moved at, src, dst, radio, data stopped for s)
MOVES = [(10.0, "maar1", "maar2", "flap", 2.1), (20.0, "maar2", "maar3", "roam", 0.03),
         (30.0, "maar3", "maar1", "roam", 0.04)]
FLOWS = {"2001:db8:1::": 1.0, "2001:db8:2::": 12.5, "2001:db8:3::": 22.5}  # opened at
ANCHORS = [{"prefix": f"2001:db8:{i}::/64", "anchor": f"maar{i}", "local": i == 1}
           for i in (1, 2, 3)]
END = 40.0


def stalled(t: float) -> bool:
    return any(at <= t < at + stop for at, _, _, _, stop in MOVES)


def write_logs(out):
    """flows.jsonl and ping.log as the CN's server and ping write them."""
    rows, counts = [], {}
    for k in range(int(END / 0.1)):
        t = k * 0.1
        for n, (peer, opened) in enumerate(FLOWS.items()):
            if t >= opened:
                counts[peer] = counts.get(peer, 0) + (0 if stalled(t) else 10_000)
                rows.append({"t": T0 + t, "conn": n, "peer": peer + "5", "bytes": counts[peer]})
    (out / "flows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = [f"[{T0 + k * 0.05:.6f}] 64 bytes from 2001:db8:c::11: icmp_seq={k} ttl=63 "
             f"time={0.3 + (k % 7) / 20:.3f} ms"
             for k in range(20, int(END / 0.05)) if not stalled(k * 0.05)]
    (out / "ping.log").write_text("PING 2001:db8:c::11\n" + "\n".join(lines) + "\n")


@pytest.fixture
def run(tmp_path):
    write_logs(tmp_path)
    steps = [Step("proxy", None, "maar1", T0, prefixes=ANCHORS[:1])]
    steps += [Step("proxy", src, dst, T0 + at, radio=radio, interruption_ms=stop * 1000,
                   prefixes=ANCHORS) for at, src, dst, radio, stop in MOVES]
    return ModeRun("proxy", steps=steps, out=tmp_path, left_at=T0 + END - 2)


def test_flow_bytes_are_cumulative_per_connection_labelled_with_prefix_and_anchor(run):
    series = report.flow_bytes(run.out / "flows.jsonl", T0,
                               {p["prefix"]: p["anchor"] for p in ANCHORS})
    assert list(series) == [f"TCP from 2001:db8:{i}::/64, anchor maar{i}" for i in (1, 2, 3)]
    times, counts = series["TCP from 2001:db8:1::/64, anchor maar1"]
    assert times[0] == pytest.approx(1.0) and counts == sorted(counts)
    during = [c for t, c in zip(times, counts) if 10.0 <= t < 12.0]
    assert len(set(during)) == 1, "the stall is not a flat segment"


def test_ping_rtt_breaks_the_line_where_replies_stopped(run):
    times, rtts = report.ping_rtt(run.out / "ping.log", T0, 0.05)
    assert times[0] == pytest.approx(1.0) and 0.3 <= rtts[0] < 0.7
    breaks = [t for t, r in zip(times, rtts) if math.isnan(r)]
    assert breaks == [pytest.approx(10.0, abs=0.06)]  # only the 2.1 s stall, not the 30 ms ones


def test_figure_shows_flows_rtt_and_every_move_with_radio_and_gap(run):
    fig = report.figure([report.panel(run, 0.05)])
    data, rtt = fig.axes
    assert [t.get_text() for t in data.get_legend().get_texts()] == [
        f"TCP from 2001:db8:{i}::/64, anchor maar{i}" for i in (1, 2, 3)]
    assert data.get_ylabel() == "MB received by the CN" and rtt.get_ylabel() == "ping RTT (ms)"
    assert rtt.get_xlabel() == "seconds since the MN attached"
    labels = [t.get_text() for t in data.texts]
    assert labels == ["maar1\u2192maar2\nflap, gap 2100 ms", "maar2\u2192maar3\nroam, gap 30 ms",
                      "maar3\u2192maar1\nroam, gap 40 ms", "MN left\nthe domain"]
    assert data.texts[-1].xy[0] == pytest.approx(END - 2)
    assert max(max(line.get_xdata()) for line in data.lines if line.get_label().startswith("TCP")) \
        <= END - 2, "samples after the MN left (not a stall) are plotted"
    for ax in (data, rtt):
        marks = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
        assert marks == [10.0, 20.0, 30.0]
    assert "proxy: attach at maar1, then maar2 \u2192 maar3 \u2192 maar1" in data.get_title("left")


def test_timeline_writes_one_png_for_several_modes(run, tmp_path):
    path = report.timeline([run, run], tmp_path)
    assert path == tmp_path / "timeline.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_move_without_a_measured_gap_says_so():
    assert report.Handover(1.0, "maar1", "maar2", "roam", None).label == \
        "maar1\u2192maar2\nroam, gap -"
