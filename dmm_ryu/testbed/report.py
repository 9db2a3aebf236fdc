"""Judging and presenting a scenario run: expectations, tables, report.json,
timeline.png (cumulative bytes per flow, ping RTT, each move with its gap).

Every expectation is checked from what the run observed on the live
testbed (REST answers, host pings, the CN's flow log, the fabric capture);
a failed one is a sentence an operator can act on.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
from collections import Counter
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from dmm_ryu.wire.mh import MHDecodeError, decode_packet, message_name
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.testbed import figures
from dmm_ryu.testbed.scenario import PING_INTERVAL, ModeRun, Step
from mininet_topos.dmm import CMD_ADDRESS, CMD_DPID, ROUTER_MAC, maar_address

REPORT_SCHEMA = 1


# --- the signalling the draft's figures prescribe ---------------------------

#: Transport addresses of the testbed's nodes (mininet_topos.dmm's plan).
NODES = {IPv6Address(CMD_ADDRESS): "cmd",
         **{IPv6Address(maar_address(i)): f"maar{i}" for i in range(1, 256)}}


def _node(address: IPv6Address) -> str:
    return NODES.get(address, str(address))


def signalling(pcap: Path) -> List[dict]:
    """Every PBU/PBA/BRI/BRA in the capture, decoded by our codec: time, who to
    whom, and which of the draft's options it carries."""
    from scapy.utils import RawPcapReader  # only the demo and tests read pcaps

    msgs = []
    for data, meta in RawPcapReader(str(pcap)):
        try:
            src, dst, msg = decode_packet(bytes(data)[14:])
        except MHDecodeError:
            continue
        msgs.append({"t": meta.sec + meta.usec / 1e6, "from": _node(src), "to": _node(dst),
                     "type": message_name(msg),
                     "serving_maar": bool(msg.options.serving_maar),
                     "previous_maars": len(msg.options.previous_maars),
                     "lifetime": getattr(msg, "lifetime", None), "handoff": msg.options.handoff,
                     "seq": msg.sequence})
    return msgs


def figure_problems(mode: str, msgs: List[dict], s_maar: str, p_maars: List[str],
                    expected=None) -> List[str]:
    """How the messages of one registration (or, given ``expected``, of
    the leave) differ from the draft's exact list (Figures 1-4, section
    3.5); re-registrations are set aside; empty when they match."""
    kept, _ = figures.set_aside(msgs)
    if expected is None:
        expected = figures.handover(mode, s_maar, p_maars)
    return figures.problems(expected, kept, p_maars)


# --- data-plane path -----------------------------------------------------------

def foreign_sightings(transport: Path, prefix: str, s_maar: str, since: float,
                      until: float) -> int:
    """Packets of ``prefix`` (local at ``s_maar``) that touched another
    MAAR's transport MAC: new flows must take the optimal path."""
    out = subprocess.run(
        ["tshark", "-r", str(transport), "-T", "fields", "-E", "separator=,",
         "-e", "frame.time_epoch", "-e", "eth.src", "-e", "eth.dst", "-e", "ipv6.src",
         "-e", "ipv6.dst", "-Y", f"ipv6.addr == {prefix}"],
        capture_output=True, text=True, check=True).stdout
    allowed = {transport_mac(int(s_maar[4:])), ROUTER_MAC, transport_mac(CMD_DPID)}
    count = 0
    for line in out.splitlines():
        t, src, dst, *_ = line.split(",")
        if since <= float(t) <= until and not {src, dst} <= allowed:
            count += 1
    return count


# --- expectations ------------------------------------------------------------

def _p_maars(step: Step) -> List[str]:
    return sorted({p["anchor"] for p in step.prefixes if not p["local"]})


def _window_problems(run: ModeRun, i: int, step: Step, msgs: List[dict]) -> List[str]:
    """The registration of step ``i`` against its figure: every message
    from just before the move to the next move (or the leave)."""
    later = [s.moved_at for s in run.steps[i + 1:i + 2]] + [run.left_at or float("inf")]
    mine = [m for m in msgs if step.moved_at - 0.5 <= m["t"] < later[0]]
    return [f"{run.mode} {step.src or 'attach'}->{step.dst}: {p}" for p in
            figure_problems(run.mode, mine, step.dst, _p_maars(step))]


def leave_problems(run: ModeRun, msgs: List[dict]) -> List[str]:
    """The leave's messages against draft section 3.5."""
    if not run.steps or run.left_at is None:
        return []
    last = run.steps[-1]
    expected = figures.leave(last.dst, _p_maars(last))
    mine = [m for m in msgs if m["t"] >= run.left_at]
    return [f"{run.mode} leave at {last.dst}: {p}" for p in
            figure_problems(run.mode, mine, last.dst, _p_maars(last), expected)]


#: The testbed's LMA in pmipv6 mode (mininet_topos.dmm writes ``lma: maar1``).
LMA = "maar1"


def _pmipv6_problems(run: ModeRun, msgs: List[dict]) -> List[str]:
    """pmipv6 mode is plain RFC 5213: each registration and the leave is
    the MAG's PBU to the LMA and its PBA, a handover then the RFC 5846
    revocation of the previous MAG (:func:`figures.pmipv6`); the previous
    MAGs' de-registrations are set aside; nothing reaches the CMD."""
    found = [f"pmipv6: {m['type']} {m['from']}->{m['to']} involves the CMD"
             for m in msgs if "cmd" in (m["from"], m["to"])]
    ends = [s.moved_at for s in run.steps[1:]] + [run.left_at or float("inf")]
    for step, end in zip(run.steps, ends):
        mine = [m for m in msgs if step.moved_at - 0.5 <= m["t"] < end]
        kept, _ = figures.previous_mag_dereg(figures.set_aside(mine)[0], step.dst, LMA)
        found += [f"pmipv6 {step.src or 'attach'}->{step.dst}: {p}" for p in
                  figures.problems(figures.pmipv6(step.dst, LMA, previous=step.src), kept, [])]
    if run.steps and run.left_at is not None:
        last = run.steps[-1].dst
        mine = [m for m in msgs if m["t"] >= run.left_at]
        kept, _ = figures.previous_mag_dereg(figures.set_aside(mine)[0], last, LMA)
        found += [f"pmipv6 leave at {last}: {p}" for p in
                  figures.problems(figures.pmipv6(last, LMA, dereg=True), kept, [])]
    return found


def signalling_problems(run: ModeRun, msgs: List[dict]) -> List[str]:
    """Every registration and the leave against the draft's lists, on
    ``msgs`` as our codec (:func:`signalling`) or Wireshark
    (:func:`figures.tshark_signalling`) decoded them."""
    if run.mode == "pmipv6":
        return _pmipv6_problems(run, msgs)
    found = []
    for i, step in enumerate(run.steps):
        found += _window_problems(run, i, step, msgs)
    return found + leave_problems(run, msgs)


def problems(run: ModeRun) -> List[str]:
    """Every unmet expectation of the run, as sentences."""
    found = []
    for step in run.steps:
        where = f"{run.mode} {step.src or 'attach'}->{step.dst}"
        found += [f"{where}: CN cannot reach {a}" for a, ok in step.reachable.items() if not ok]
        found += [f"{where}: flow from {p} stopped" for p, ok in step.flows_alive.items()
                  if not ok]
        if step.signalling_ms is None:
            found.append(f"{where}: no registration at {step.dst} within the timeout")
        local = [p["prefix"] for p in step.prefixes if p["local"]]
        if run.mode != "pmipv6" and not local:
            found.append(f"{where}: no local prefix at {step.dst}")
    pcap = run.out / "signalling.pcap"
    if pcap.exists() and run.steps:
        found += signalling_problems(run, signalling(pcap))
    found += _optimal_path_problems(run)
    clean = run.left_clean or {}
    if not clean.get("binding_removed"):
        found.append(f"{run.mode}: binding still at the CMD after the MN left")
    found += [f"{run.mode}: {m} still holds {what} after the MN left"
              for m, what in clean.get("leftovers", {}).items()]
    found += [f"{run.mode}: stale rules at {m}" for m in clean.get("stale_rules", {})]
    return found


def _optimal_path_problems(run: ModeRun) -> List[str]:
    transport = run.out / "transport.pcap"
    if run.mode == "pmipv6" or not transport.exists():
        return []
    found = []
    for i, step in enumerate(run.steps):
        if not step.new_flow_prefix:
            continue
        end = run.steps[i + 1].moved_at if i + 1 < len(run.steps) else float("inf")
        seen = foreign_sightings(transport, step.new_flow_prefix, step.dst, step.moved_at, end)
        if seen:
            found.append(f"{run.mode} at {step.dst}: {seen} packets of the new prefix "
                         f"{step.new_flow_prefix} crossed another MAAR")
    return found


# --- presentation -------------------------------------------------------------

def _fmt(value, unit="", digits=1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def table(run: ModeRun) -> str:
    """The per-handover table the demo prints; ``radio`` says how the move
    looked to the MN (roam: carrier kept; flap: link down and up)."""
    head = (f"{'mode':8} {'handover':16} {'radio':5} {'signalling':>10} {'ready':>7} "
            f"{'gap':>8} {'flows':>6}  prefixes (anchor)")
    rows = [head, "-" * len(head)]
    for step in run.steps:
        alive = sum(step.flows_alive.values())
        prefixes = ", ".join(f"{p['prefix']}@{p['anchor']}{'*' if p['local'] else ''}"
                             for p in step.prefixes)
        rows.append(
            f"{run.mode:8} {(step.src or 'attach') + '->' + step.dst:16} {step.radio or '-':5} "
            f"{_fmt(step.signalling_ms, ' ms'):>10} {_fmt(step.registered_after_s, ' s', 2):>7} "
            f"{_fmt(step.interruption_ms, ' ms', 0):>8} {alive}/{len(step.flows_alive):<4}  "
            f"{prefixes}")
    return "\n".join(rows)


def to_json(runs: List[ModeRun]) -> dict:
    """report.json (schema documented in README.rst)."""
    return {"schema": REPORT_SCHEMA, "modes": [
        {"mode": r.mode, "steps": [dataclasses.asdict(s) for s in r.steps],
         "left_clean": r.left_clean, "problems": problems(r)} for r in runs]}


def write(runs: List[ModeRun], out: Path) -> dict:
    report = to_json(runs)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    return report


# --- timeline.png ---------------------------------------------------------------

#: Colours of the handover markers, by radio model.
RADIO_COLOURS = {"roam": "tab:purple", "flap": "tab:red"}


@dataclasses.dataclass
class Handover:
    """One move on the timeline: when (s since attachment) and what was measured."""

    t: float
    src: str
    dst: str
    radio: str
    gap_ms: Optional[float]

    @property
    def label(self) -> str:
        return f"{self.src}\u2192{self.dst}\n{self.radio}, gap {_fmt(self.gap_ms, ' ms', 0)}"


@dataclasses.dataclass
class Panel:
    """Everything one mode's timeline shows, times in s since attachment:
    cumulative bytes per flow (by legend label), the ping's RTT, the moves."""

    title: str
    flows: Dict[str, Tuple[List[float], List[int]]]
    rtt: Tuple[List[float], List[float]]
    handovers: List[Handover]
    left: Optional[float] = None  # when the MN left the domain (its flows stop there)


def flow_bytes(flows_log: Path, t0: float, anchors: Dict[str, str]) -> Dict[str, tuple]:
    """Cumulative bytes the CN received per TCP connection, labelled with its
    source prefix and that prefix's anchor MAAR (``anchors``: prefix -> MAAR)."""
    rows = [json.loads(x) for x in flows_log.read_text().splitlines() if x]
    conns = sorted({(r["peer"], r["conn"]) for r in rows}, key=lambda pc: pc[1])
    per_prefix = Counter(str(IPv6Network(peer + "/64", strict=False)) for peer, _ in conns)
    series = {}
    for peer, conn in conns:
        prefix = str(IPv6Network(peer + "/64", strict=False))
        label = f"TCP from {prefix}, anchor {anchors.get(prefix, '?')}"
        if per_prefix[prefix] > 1:
            label += f" (connection {conn})"
        mine = [r for r in rows if r["conn"] == conn]
        series[label] = ([r["t"] - t0 for r in mine], [r["bytes"] for r in mine])
    return series


def ping_rtt(ping_log: Path, t0: float, interval: float) -> Tuple[List[float], List[float]]:
    """The ping's replies (s since attachment, RTT ms); a NaN marks every
    silence longer than three intervals so the plotted line breaks there."""
    times, rtts = [], []
    for stamp, rtt in re.findall(r"^\[([0-9.]+)\] .*time=([0-9.]+) ms", ping_log.read_text(),
                                 re.M):
        t = float(stamp) - t0
        if times and t - times[-1] > 3 * interval:
            times.append(times[-1] + interval)
            rtts.append(math.nan)
        times.append(t)
        rtts.append(float(rtt))
    return times, rtts


def panel(run: ModeRun, ping_interval: float) -> Panel:
    """A mode's run as a timeline panel (from its flow and ping logs)."""
    t0 = run.steps[0].moved_at
    anchors = {p["prefix"]: p["anchor"] for step in run.steps for p in step.prefixes}
    ping = run.out / "ping.log"
    flows = run.out / "flows.jsonl"
    return Panel(
        title=f"{run.mode}: attach at {run.steps[0].dst}, then "
              + " \u2192 ".join(s.dst for s in run.steps[1:]),
        flows=flow_bytes(flows, t0, anchors) if flows.exists() else {},
        rtt=ping_rtt(ping, t0, ping_interval) if ping.exists() else ([], []),
        handovers=[Handover(s.moved_at - t0, s.src, s.dst, s.radio or "flap", s.interruption_ms)
                   for s in run.steps[1:]],
        left=None if run.left_at is None else run.left_at - t0)


def _plot_flows(ax, p: Panel) -> None:
    """Cumulative MB per flow, up to the moment the MN left."""
    top = 1.0
    for label, (times, counts) in p.flows.items():
        kept = [(t, c / 1e6) for t, c in zip(times, counts) if p.left is None or t <= p.left]
        if kept:
            ax.plot(*zip(*kept), linewidth=1.6, label=label)
            top = max(top, kept[-1][1])
    ax.set_ylim(0, top * 1.25)  # headroom for the move labels
    ax.set_title(p.title + "  (flat line = flow stalled)", loc="left", fontsize=10)
    ax.set_ylabel("MB received by the CN")
    ax.legend(fontsize=8, loc="best")


def _mark(data, rtt, t: float, label: str, colour: str, **line) -> None:
    """A vertical line across both axes, its label at the top of ``data``."""
    for ax in (data, rtt):
        ax.axvline(t, color=colour, **line)
    data.annotate(label, (t, 1), xycoords=("data", "axes fraction"), xytext=(4, -4),
                  textcoords="offset points", va="top", fontsize=8, color=colour,
                  bbox={"boxstyle": "round", "fc": "white", "ec": "none", "alpha": 0.8})


def figure(panels: List[Panel]):
    """The timeline figure: per panel, cumulative bytes per flow (a stall
    is a flat segment) above the ping's RTT (a break: no replies), each
    move a dashed line labelled with its radio model and measured gap."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 5.6 * len(panels)), layout="constrained")
    for sub, p in zip(fig.subfigures(len(panels), 1, squeeze=False)[:, 0], panels):
        data, rtt = sub.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
        _plot_flows(data, p)
        rtt.plot(*p.rtt, color="black", linewidth=0.8, marker=".", markersize=2)
        for h in p.handovers:
            _mark(data, rtt, h.t, h.label, RADIO_COLOURS.get(h.radio, "grey"),
                  linestyle="--", linewidth=1)
        if p.left is not None:
            _mark(data, rtt, p.left, "MN left\nthe domain", "dimgrey", linewidth=1.5)
        rtt.set_ylabel("ping RTT (ms)")
        rtt.set_ylim(bottom=0)
        rtt.set_xlabel("seconds since the MN attached")
        for ax in (data, rtt):
            ax.grid(alpha=0.3)
    return fig


def timeline(runs: List[ModeRun], out: Path, ping_interval: float = PING_INTERVAL) -> Path:
    """``timeline.png``: one panel per mode (see ``figure``)."""
    import matplotlib.pyplot as plt

    fig = figure([panel(run, ping_interval) for run in runs])
    path = out / "timeline.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
