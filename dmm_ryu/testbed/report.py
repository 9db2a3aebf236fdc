"""Judging and presenting a scenario run: expectations, tables, report.json,
timeline.png.

Every expectation is checked from what the run observed on the live
testbed (REST answers, host pings, the CN's flow log, the fabric capture);
a failed one is a sentence an operator can act on.
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Dict, List

from dmm_ryu.wire.mh import MHDecodeError, ProxyBindingAck, decode_packet
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.testbed.scenario import ModeRun, Step
from mininet_topos.dmm import CMD_ADDRESS, CMD_DPID, ROUTER_MAC, maar_address

REPORT_SCHEMA = 1


# --- the signalling the draft's figures prescribe ---------------------------

#: Transport addresses of the testbed's nodes (mininet_topos.dmm's plan).
NODES = {IPv6Address(CMD_ADDRESS): "cmd",
         **{IPv6Address(maar_address(i)): f"maar{i}" for i in range(1, 256)}}


def _node(address: IPv6Address) -> str:
    return NODES.get(address, str(address))


def signalling(pcap: Path) -> List[dict]:
    """Every PBU/PBA in the capture, decoded by our codec: time, who to
    whom, and which of the draft's options it carries."""
    from scapy.utils import RawPcapReader  # only the demo and tests read pcaps

    msgs = []
    for data, meta in RawPcapReader(str(pcap)):
        try:
            src, dst, msg = decode_packet(bytes(data)[14:])
        except MHDecodeError:
            continue
        msgs.append({"t": meta.sec + meta.usec / 1e6, "from": _node(src), "to": _node(dst),
                     "type": "PBA" if isinstance(msg, ProxyBindingAck) else "PBU",
                     "serving_maar": bool(msg.options.serving_maar),
                     "previous_maars": len(msg.options.previous_maars),
                     "lifetime": msg.lifetime})
    return msgs


def figure_problems(mode: str, msgs: List[dict], s_maar: str, p_maars: List[str]) -> List[str]:
    """How the messages of one handover differ from the mode's figure
    (draft Figures 2, 3, 4); empty when they match."""
    def find(frm, to, kind, **flags):
        return [m for m in msgs if (m["from"], m["to"], m["type"]) == (frm, to, kind)
                and all(m[k] == v for k, v in flags.items())]

    problems = []
    if not find(s_maar, "cmd", "PBU", serving_maar=False, previous_maars=0):
        problems.append(f"no plain PBU {s_maar} -> CMD")
    for p in p_maars:
        if not find("cmd", p, "PBU", serving_maar=True):
            problems.append(f"no PBU* (Serving MAAR option) CMD -> {p}")
        if not find(p, "cmd", "PBA", serving_maar=True):
            problems.append(f"no PBA* {p} -> CMD")
    to_s = find("cmd", s_maar, "PBA")
    if not to_s:
        return problems + [f"no PBA CMD -> {s_maar}"]
    from_p = [m["t"] for p in p_maars for m in find(p, "cmd", "PBA")]
    if mode == "locator":
        problems += [f"no direct PBA {p} -> {s_maar}" for p in p_maars
                     if not find(p, s_maar, "PBA", previous_maars=0)]
    elif p_maars and not any(m["previous_maars"] for m in to_s):
        problems.append(f"PBA CMD -> {s_maar} lacks Previous MAAR options")
    if mode == "relay" and from_p and to_s[0]["t"] < max(from_p):
        problems.append("relay: CMD answered the S-MAAR before every P-MAAR had")
    if mode == "proxy" and from_p and to_s[0]["t"] > min(from_p):
        problems.append("proxy: CMD answered the S-MAAR only after a P-MAAR")
    return problems


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

def _window_problems(run: ModeRun, i: int, step: Step, msgs: List[dict]) -> List[str]:
    end = run.steps[i + 1].moved_at if i + 1 < len(run.steps) else float("inf")
    mine = [m for m in msgs if step.moved_at - 0.5 <= m["t"] < end and m["lifetime"]]
    p_maars = sorted({p["anchor"] for p in step.prefixes if not p["local"]})
    if run.mode == "pmipv6":
        return []
    return [f"{run.mode} {step.src}->{step.dst}: {p}" for p in
            figure_problems(run.mode, mine, step.dst, p_maars)]


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
        msgs = signalling(pcap)
        for i, step in enumerate(run.steps[1:], start=1):
            found += _window_problems(run, i, step, msgs)
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
    """The per-handover table the demo prints."""
    head = (f"{'mode':8} {'handover':16} {'signalling':>10} {'ready':>7} {'gap':>8} "
            f"{'flows':>6}  prefixes (anchor)")
    rows = [head, "-" * len(head)]
    for step in run.steps:
        alive = sum(step.flows_alive.values())
        prefixes = ", ".join(f"{p['prefix']}@{p['anchor']}{'*' if p['local'] else ''}"
                             for p in step.prefixes)
        rows.append(
            f"{run.mode:8} {(step.src or 'attach') + '->' + step.dst:16} "
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


def _throughput(flows_log: Path) -> Dict[str, tuple]:
    rows = [json.loads(x) for x in flows_log.read_text().splitlines() if x]
    series: Dict[str, tuple] = {}
    for peer in sorted({r["peer"] for r in rows}):
        mine = [r for r in rows if r["peer"] == peer]
        times = [b["t"] for b in mine[1:]]
        rates = [(b["bytes"] - a["bytes"]) * 8 / (b["t"] - a["t"]) / 1e3
                 for a, b in zip(mine, mine[1:])]
        series[str(IPv6Network(peer + "/64", strict=False))] = (times, rates)
    return series


def timeline(runs: List[ModeRun], out: Path) -> Path:
    """Throughput of each flow and the ping RTT over time, moves marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(runs), 1, figsize=(11, 3.2 * len(runs)), squeeze=False)
    for ax, run in zip(axes[:, 0], runs):
        t0 = run.steps[0].moved_at
        for prefix, (times, rates) in _throughput(run.out / "flows.jsonl").items():
            ax.plot([t - t0 for t in times], rates, label=f"TCP from {prefix}")
        for step in run.steps[1:]:
            ax.axvline(step.moved_at - t0, color="grey", linestyle="--")
            ax.text(step.moved_at - t0, ax.get_ylim()[1] * 0.95, f" {step.src}->{step.dst}",
                    fontsize=7, va="top")
        ax.set_title(f"{run.mode}: throughput per flow (kbit/s), handovers dashed")
        ax.set_xlabel("s since attachment")
        ax.set_ylabel("kbit/s")
        ax.legend(fontsize=7, loc="lower left")
        _plot_rtt(ax, run, t0)
    fig.tight_layout()
    path = out / "timeline.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot_rtt(ax, run: ModeRun, t0: float) -> None:
    ping = run.out / "ping.log"
    if not ping.exists():
        return
    pts = [(float(a) - t0, float(b)) for a, b in re.findall(
        r"^\[([0-9.]+)\] .*time=([0-9.]+) ms", ping.read_text(), re.M)]
    if pts:
        rtt = ax.twinx()
        rtt.plot(*zip(*pts), color="black", linewidth=0.5, alpha=0.5, label="ping RTT (ms)")
        rtt.set_ylabel("RTT ms")
