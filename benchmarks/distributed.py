"""Handover rate on the real stack, one controller process against a
process per node, embedded store against etcd, in one run (issues 15, 17).

    .venv/bin/python -m benchmarks.distributed [--quick] [--out DIR]

Configurations (each on the stack of :mod:`benchmarks.realrate`: netdev OVS,
4 MAARs, a CMD bridge, MNs emulated by RS/RA on the access veths, every PBU
and PBA crossing the fabric):

* ``one-process``: one ``ryu-manager`` serving every node, SQLite per node;
* ``per-node``: the CMD and each MAAR in a ``ryu-manager`` of its own
  (``[dmm] nodes``), SQLite per node; the processes can use both cores;
* ``per-node-etcd1`` / ``per-node-etcd3``: as ``per-node``, the CMD's
  binding cache on a 1-member / 3-member etcd (``etcd_endpoints``; the
  CMD leads through the etcd election before it serves).

Each offered rate runs on a cold stack (fresh processes, bridges and state)
for ``seconds``; rates step up until one is clearly saturated (achieved
below 80 % of offered).  The *sustained* rate is the highest offered rate
with p99 ≤ 50 ms and no handover lost; *peak* is the highest achieved rate.
Prints one side-by-side table and writes ``distributed.json``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import List, Optional

from benchmarks.realrate import P99_BOUND_MS, QUIET, Stack, node_names, one_process
from dmm_ryu.testbed.controller import free_port
from dmm_ryu.testbed.etcd import EtcdMembers

MAARS = 4
#: name -> (a process per node?, etcd members for the CMD: None, "single", "cluster")
CONFIGS = {"one-process": (False, None), "per-node": (True, None),
           "per-node-etcd1": (True, "single"), "per-node-etcd3": (True, "cluster")}
RATES = (100, 200, 300, 400, 600, 800, 1000, 1200)
QUICK_RATES = (50,)
SATURATED = 0.8  # achieved / offered below this: stop stepping up


def per_node(maars: int, cmd_extra: str = "") -> tuple:
    """A manager per node, each serving only its node (``[dmm] nodes``)."""
    plan = {node: (free_port(), 0, f"nodes = {node}\n{QUIET}" + (cmd_extra * (node == "cmd")))
            for node in node_names(maars)}
    return plan, {node: node for node in plan}


def _etcd_conf(members: EtcdMembers) -> str:
    """The CMD's [dmm] lines for ``members``, a key prefix of its own per stack."""
    return (f"etcd_endpoints = {','.join(members.endpoints())}\n"
            f"etcd_prefix = bench/{uuid.uuid4().hex}/\ninstance_id = cmd\n")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measured_step(stack: Stack, rate: float, handovers: int) -> dict:
    """One step, with each controller process's CPU use over it (100 = one core)."""
    pids = {name: m.proc.pid for name, m in stack.managers.items()}
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    t0 = time.perf_counter()
    row = stack.step(rate, handovers)
    wall = time.perf_counter() - t0
    cpu = {name or "all": round(100 * (_cpu_seconds(pid) - before[name]) / wall)
           for name, pid in pids.items()}
    return {**row, "registered": stack.registered, "controller_cpu_pct": cpu,
            "controller_cpu_pct_total": sum(cpu.values())}


def run_config(name: str, out: Path, rates, seconds: float, mns: int) -> dict:
    """Step the offered rate up on cold stacks of configuration ``name``."""
    distributed, store = CONFIGS[name]
    rows: List[dict] = []
    with contextlib.ExitStack() as stack:
        members = stack.enter_context(_etcd(out / name / "etcd", store)) if store else None
        for rate in rates:
            extra = _etcd_conf(members) if members else ""
            plan = per_node(MAARS, extra) if distributed else one_process(MAARS)
            handovers = max(20, int(rate * seconds))
            with Stack(out / name / f"r{rate}", plan, mns, seed=rate) as live:
                rows.append(_measured_step(live, float(rate), handovers))
            print(f"distributed: {name} {json.dumps(rows[-1])}", flush=True)
            if rows[-1]["achieved_per_s"] < SATURATED * rate:
                break
    return summary(name, rows)


@contextlib.contextmanager
def _etcd(directory: Path, kind: str):
    members = EtcdMembers(directory, kind).start()
    try:
        yield members
    finally:
        members.stop()


def summary(name: str, rows: List[dict]) -> dict:
    """The configuration's rows, its sustained rate and its peak."""
    ok = [r["offered_per_s"] for r in rows if r["lost"] == 0 and r["p99_ms"] is not None
          and r["p99_ms"] <= P99_BOUND_MS and r["completed"] == r["handovers"]]
    return {"config": name, "rows": rows, "sustained_per_s": max(ok, default=None),
            "peak_achieved_per_s": max((r["achieved_per_s"] for r in rows), default=None)}


def _cell(row: Optional[dict]) -> str:
    if row is None:
        return "—"
    return (f"{row['achieved_per_s']:g} / {row['p50_ms']} / {row['p99_ms']} / {row['lost']}"
            f" / {row['controller_cpu_pct_total']}%")


def table(results: List[dict]) -> str:
    """Offered rate down, configurations across: achieved/s / p50 ms / p99 ms /
    lost / controller CPU (100 % = one core), then sustained and peak."""
    rates = sorted({r["offered_per_s"] for res in results for r in res["rows"]})
    by = [{r["offered_per_s"]: r for r in res["rows"]} for res in results]
    head = ["offered/s"] + [res["config"] for res in results]
    body = [[f"{rate:g}"] + [_cell(b.get(rate)) for b in by] for rate in rates]
    body.append(["sustained/s"] + [str(res["sustained_per_s"]) for res in results])
    body.append(["peak/s"] + [str(res["peak_achieved_per_s"]) for res in results])
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [head] + body]
    legend = (f"cells: achieved/s / p50 ms / p99 ms / lost / controller CPU; sustained: "
              f"highest offered rate with p99 <= {P99_BOUND_MS:g} ms and 0 lost")
    return "\n".join([legend, lines[0], "-" * len(lines[0])] + lines[1:])


def measure(out: Path, quick: bool = False, rates=None, seconds: Optional[float] = None,
            mns: Optional[int] = None, configs=tuple(CONFIGS)) -> dict:
    """Every configuration in ``configs``, in one run; the report as a dict."""
    rates = rates or (QUICK_RATES if quick else RATES)
    seconds = seconds or (1.0 if quick else 3.0)
    mns = mns or (40 if quick else 300)
    results = [run_config(name, out, rates, seconds, mns) for name in configs]
    return {"configs": results, "table": table(results), "rates": list(rates),
            "seconds_per_step": seconds, "mns": mns, "maars": MAARS, "nproc": os.cpu_count(),
            "load_average": os.getloadavg(),
            "method": "real stack per step, cold: netdev OVS (4 MAAR + CMD + fabric "
                      "bridges), ryu-manager processes per configuration; a handover is an "
                      "RS from an MN's MAC on another MAAR's access veth and ends at the RA "
                      "for that MAC leaving it; never two in flight for one MN; lost = no "
                      "RA within 3 s; the load generator shares the cores"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one low rate, 1 s a step")
    parser.add_argument("--out", type=Path, default=Path("output") / "distributed")
    parser.add_argument("--rates", type=float, nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per step")
    parser.add_argument("--mns", type=int, default=None)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = measure(args.out, args.quick, args.rates, args.seconds, args.mns, args.configs)
    (args.out / "distributed.json").write_text(json.dumps(report, indent=1))
    print(report["table"])
    print(f"distributed: wrote {args.out / 'distributed.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
