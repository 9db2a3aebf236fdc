"""Issue 14: data interruption of an unmodified Linux MN across radio roams
and link flaps, every mode in one run, on the user-space datapath.

    python -m benchmarks.roam [--modes relay locator proxy] [--roams 15] [--flaps 10]
                              [--out DIR]

Per mode, one controller and one fresh testbed (3 MAARs, no added link
delay); the MN attaches at maar1 with stock sysctls and walks maar1 ->
maar2 -> maar3 -> maar1 ...: first ``roams`` moves with the ``roam`` radio
model, then ``flaps`` with ``flap`` (``dmm_ryu.testbed.network.move``).
Throughout, the CN sends a 1 ms UDP probe to the MN's first (anchored)
prefix; the interruption of a move is the longest gap between two probes
arriving around it (``benchmarks.handover.gaps``).  The MN's own traffic is
a UDP probe to the CN every ``UPLINK_INTERVAL`` from the same address: the
network detects a roaming MN from its frames alone, so an MN that sends
nothing is found at its next frame.

Packets lost to the trigger itself: the MN's frames that entered the new
MAAR before its rules were in are punted, held and re-injected
(``dmm_ryu.runtime.punts``).  Per move the controller's counters say how
many were re-injected and how many the buffer dropped, the switch's punt
meter says how many it dropped before the controller, and the CN's uplink
probe log says how many the MN sent after its radio was up that never
arrived.  Writes ``roam.json``; prints one row per mode and radio model.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.handover import gaps, parse_handover
from benchmarks.live import LOG_CONF, ROOT, _exclusive, mn_id, read_log, wait_address, \
    write_domain
from dmm_ryu.testbed.controller import all_joined, free_port, running_manager
from dmm_ryu.testbed.network import attach, move, testbed
from dmm_ryu.testbed.ovs import wait_for
from dmm_ryu.testbed.scenario import rest_get
from mininet_topos.dmm import cn_address

MODES = ("relay", "locator", "proxy")
WALK = ("maar1", "maar2", "maar3")
UPLINK_INTERVAL = 0.005
#: Seconds from one move to the next: a roam settles in ms; a flapped
#: stock MN reruns DAD on its addresses (1 s) after its RS delay (<= 1 s).
SETTLE = {"roam": 0.6, "flap": 4.0}
DOWN_PORT, UP_PORT = 41001, 41002
#: Controller error counters of a frame punted and then not delivered.
PUNT_DROPS = ("punt_buffer_full", "punt_buffer_mn_full", "punt_buffer_expired")


@contextlib.contextmanager
def roam_domain(workdir: Path, mode: str):
    """Controller (REST on) + the 3-MAAR testbed, one MN; yields (net, log, rest port)."""
    workdir.mkdir(parents=True, exist_ok=True)
    domain = workdir / "dmm.yaml"
    write_domain(domain, 3, 1, mode)
    log, logconf = workdir / "controller.log", workdir / "logging.conf"
    logconf.write_text(LOG_CONF.format(path=log))
    port, rest = free_port(), free_port()
    with _exclusive(), running_manager("ryu-manager", domain, workdir, port, rest_port=rest,
                                       extra_conf=f"\n[DEFAULT]\nlog_config_file = {logconf}\n"), \
            testbed(port, maars=3, mns=1) as net:
        if not wait_for(lambda: all_joined(log, 3), timeout=30):
            raise RuntimeError(f"switches did not join the controller (see {log})")
        yield net, log, rest


def punt_counters(rest: int, maar: str) -> Dict[str, int]:
    """Re-injected frames and punt drops (controller), and the packets
    ``maar``'s punt meters dropped (switch), so far."""
    stats = rest_get(rest, "/stats") or {}
    errors = stats.get("errors", {})
    reinjected = sum(m.get("count", 0) for m in stats.get("messages", [])
                     if m.get("direction") == "tx" and m.get("type") == "reinjected")
    meters = subprocess.run(["ovs-ofctl", "-O", "OpenFlow13", "meter-stats", maar],
                            capture_output=True, text=True).stdout
    return {"reinjected": reinjected, "punt_dropped": sum(errors.get(r, 0) for r in PUNT_DROPS),
            "meter_dropped": sum(int(n) for n in re.findall(r"\d+: packet_count:(\d+)", meters))}


def uplink_lost(path: Path, t_up: float, t_end: float) -> Optional[int]:
    """The MN's uplink probes sent after its radio was up at the new MAAR
    (send time > ``t_up``) and before ``t_end`` that never reached the CN;
    a missing probe's send time is taken from its received neighbours."""
    if not path.exists():
        return None
    got = sorted((int(s), float(t)) for s, t, _ in
                 (line.split() for line in path.read_text().splitlines()))
    lost = 0
    for (s0, t0), (s1, t1) in zip(got, got[1:]):
        step = (t1 - t0) / (s1 - s0) if s1 > s0 else 0.0
        lost += sum(1 for n in range(1, s1 - s0) if t_up < t0 + n * step < t_end)
    return lost


def probes(net, home: str, out: Path, seconds: float) -> list:
    """Start the 1 ms CN -> MN probe and the MN's own uplink probe."""
    cn, mn = net.get("cn1"), net.get("mn1")
    py = [sys.executable, "-m", "benchmarks.udp_probe"]
    started = [
        mn.popen(py + ["recv", "--port", str(DOWN_PORT), "--duration", str(seconds + 2),
                       "--out", str(out / "down.txt")], cwd=str(ROOT)),
        cn.popen(py + ["recv", "--port", str(UP_PORT), "--duration", str(seconds + 2),
                       "--out", str(out / "up.txt")], cwd=str(ROOT))]
    time.sleep(0.3)
    started += [
        cn.popen(py + ["send", "--to", home, "--port", str(DOWN_PORT), "--duration",
                       str(seconds)], cwd=str(ROOT)),
        mn.popen(py + ["send", "--to", cn_address(1), "--bind", home, "--port", str(UP_PORT),
                       "--interval", str(UPLINK_INTERVAL), "--duration", str(seconds)],
                 cwd=str(ROOT))]
    return started


def _reachable(net, home: str) -> None:
    """Wait (at most 5 s) until the CN reaches the MN's address: a move
    before the probes flow has no interruption to measure (one CI run's
    first roam had none: the CN's first ~770 probes were lost, not seen
    in the runs since)."""
    cn = net.get("cn1")
    wait_for(lambda: " 0% packet loss" in cn.cmd(f"ping -6 -c 1 -W 1 {home}"), timeout=5,
             interval=0.1)


def plan(roams: int, flaps: int) -> List[tuple]:
    """(src, dst, radio) of each move along the walk."""
    radios = ["roam"] * roams + ["flap"] * flaps
    return [(WALK[i % 3], WALK[(i + 1) % 3], r) for i, r in enumerate(radios)]


def run_mode(workdir: Path, mode: str, roams: int, flaps: int) -> dict:
    """One controller run: the MN's moves, then each one measured."""
    moves = plan(roams, flaps)
    with roam_domain(workdir, mode) as (net, log, rest):
        attach(net, 1)
        home = wait_address(net, 1, 1)
        if home is None:
            return {"mode": mode, "error": "no address from maar1"}
        wait_for(lambda: "tentative" not in net.get("mn1").cmd(
            "ip -6 -o addr show dev mn1-eth0 scope global"), timeout=5)
        _reachable(net, home)
        seconds = 1.0 + sum(SETTLE[r] for _, _, r in moves)
        procs = probes(net, home, workdir, seconds)
        time.sleep(0.7)
        done = [_one_move(net, rest, src, dst, radio) for src, dst, radio in moves]
        for proc in procs:
            proc.wait(timeout=seconds + 10)
        rows = read_log(log)
    ends = [m["t0"] for m in done[1:]] + [time.time()]
    return {"mode": mode, "home": home, "moves": [
        _measured(m, end, rows, workdir) for m, end in zip(done, ends)]}


def _one_move(net, rest: int, src: str, dst: str, radio: str) -> dict:
    """Move, then wait out the settle time; counters before and after."""
    before = punt_counters(rest, dst)
    t0 = time.time()
    move(net, 1, src, dst, radio=radio)
    t_up = time.time()
    time.sleep(max(0.0, t0 + SETTLE[radio] - time.time()))
    after = punt_counters(rest, dst)
    return {"from": src, "to": dst, "radio": radio, "t0": t0, "t_up": t_up,
            "move_ms": round((t_up - t0) * 1000, 1),
            **{key: after[key] - before[key] for key in after}}


def _measured(m: dict, t_end: float, rows, workdir: Path) -> dict:
    """One move's row: detection, registration, interruption, trigger loss."""
    h = parse_handover(rows, mn_id(1), m["t0"], t_end)
    row = {k: v for k, v in m.items() if k not in ("t0", "t_up")}
    row["detected"] = h is not None and h["s_maar"] == m["to"]
    if h:
        row["detect_after_up_ms"] = round((h["t_attach"] - m["t_up"]) * 1000, 1)
        row["registered_ms"] = h["registered_ms"]
    row["interruption"] = gaps(workdir / "down.txt", m["t0"], t_end)
    row["uplink_lost_after_up"] = uplink_lost(workdir / "up.txt", m["t_up"], t_end - 0.1)
    row["trigger_lost"] = m["punt_dropped"] + m["meter_dropped"]
    return row


def summary(results: List[dict]) -> List[dict]:
    """Per mode and radio model: median and p95 interruption (ms) and the
    packets lost to the trigger, over the moves that were restored."""
    table = []
    for run in results:
        for radio in ("roam", "flap"):
            mine = [m for m in run.get("moves", []) if m["radio"] == radio]
            if not mine:
                continue
            gap = sorted(m["interruption"]["gap_ms"] for m in mine
                         if m["interruption"] and m["interruption"]["restored"])
            table.append({
                "mode": run["mode"], "radio": radio, "moves": len(mine), "restored": len(gap),
                "detected": sum(m["detected"] for m in mine),
                "median_ms": round(statistics.median(gap), 1) if gap else None,
                "p95_ms": _p95(gap), "max_ms": gap[-1] if gap else None,
                "trigger_lost": sum(m["trigger_lost"] for m in mine),
                "reinjected": sum(m["reinjected"] for m in mine),
                "uplink_lost_after_up": sum(m["uplink_lost_after_up"] or 0 for m in mine)})
    return table


def _p95(values: List[float]) -> Optional[float]:
    """Nearest-rank 95th percentile."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, -(-95 * len(values) // 100) - 1))]


COLUMNS = ("mode", "radio", "moves", "detected", "restored", "median_ms", "p95_ms", "max_ms",
           "trigger_lost", "reinjected", "uplink_lost_after_up")


def render(table: List[dict]) -> str:
    """The printed table, one line per mode and radio model."""
    lines = ["  ".join(f"{c:>10}" for c in COLUMNS)]
    lines += ["  ".join(f"{str(row[c]):>10}" for c in COLUMNS) for row in table]
    return "\n".join(lines)


def measure(out: Path, modes=MODES, roams: int = 15, flaps: int = 10) -> dict:
    """Every mode in turn; the report ``roam.json`` holds (and returns)."""
    started = time.time()
    results = []
    for mode in modes:
        try:
            results.append(run_mode(out / mode, mode, roams, flaps))
        except Exception as err:  # noqa: BLE001 - one mode failing still reports the others
            results.append({"mode": mode, "error": repr(err)})
    report = {"command": f"python -m benchmarks.roam --modes {' '.join(modes)} --roams {roams} "
                         f"--flaps {flaps}",
              "uplink_interval_s": UPLINK_INTERVAL, "settle_s": SETTLE,
              "table": summary(results), "runs": results,
              "seconds": round(time.time() - started, 1)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "roam.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.roam",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--roams", type=int, default=15)
    parser.add_argument("--flaps", type=int, default=10)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "output" / time.strftime("roam-%Y%m%d-%H%M%S"))
    args = parser.parse_args(argv)
    report = measure(args.out, args.modes, args.roams, args.flaps)
    print(render(report["table"]))
    for run in report["runs"]:
        if "error" in run:
            print(f"{run['mode']}: {run['error']}")
    print(f"wrote {args.out / 'roam.json'} in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
