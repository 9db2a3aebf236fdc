"""Warm restart and the price of durability (issue #13), in process.

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/bench_restart.py [--quick] [--dir DIR]

* **restart-to-reconciled** at 1, 1,000 and 10,000 MNs: the runtime
  (:class:`DmmController`, what the app wraps) on one store per node
  (journal and SQLite, each in turn) registers the MNs and moves each once (so each holds a local and an
  anchored prefix, with tunnels), via packet-ins of Router Solicitations
  as ``benchmarks/loadgen.py`` sends them; the stores are closed (the
  process died); then a new controller is timed from construction through
  ``attach_stores`` (load, decode, re-arm timers) and ``switch_connected``
  of every switch (the whole rule set of each reconnect bundle, FlowMods
  packed by of/packed_state.py, then numbered and bundled by the shell's
  Sender as it writes them).  OpenFlow transport not included.
* **durability cost**: the same handover run (as fast as possible) with
  journal stores, SQLite stores and none, alternated; the store's cost per handover
  is measured inside the commits (µs, and % of the handover time without
  a store), and the handover rates of both are compared.

Targets: durability costs <= 10 % of the in-process handover rate;
restart-to-reconciled <= 5 s at 10,000 MNs.  DIR must be on the disk the
state would live on (default: a temporary directory under /var/tmp).
Times are CPU time of this process (``time.process_time``; see ``clock``).
This is a measurement, not a test.
"""
from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from benchmarks.bench_of import Datapath
from benchmarks.loadgen import ACCESS_PORTS, Fabric, attach, domain, mac
from dmm_ryu.config.domainfile import parse
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.runtime.stats import Stats
from dmm_ryu.shell.sender import Sender
from dmm_ryu.shell.state import BACKENDS, open_store
from dmm_ryu.store.base import MemoryStore

MAARS = 8
RESTART_SIZES = (1, 1_000, 10_000)
RESTART_TARGET_S = 5.0
DURABILITY_TARGET_PCT = 10.0
#: CPU time of this process, as bench_of.py measures: on a machine shared
#: with other work, wall time counts their turns too.  (SQLite in WAL with
#: synchronous=NORMAL does not wait for the disk at commit, nor does the
#: journal: both hand their bytes to the kernel and return.)
clock = time.process_time


class TimedStore:
    """A store whose commits are timed (the durability cost, measured where
    it is paid)."""

    def __init__(self, inner) -> None:
        self.inner, self.seconds, self.commits = inner, 0.0, 0

    def load(self, prefix: str = ""):
        return self.inner.load(prefix)

    def get(self, key: str):
        return self.inner.get(key)

    def commit(self, writes, expect={}):
        start = clock()
        try:
            return self.inner.commit(writes, expect)
        finally:
            self.seconds += clock() - start
            self.commits += 1

    def close(self) -> None:
        self.inner.close()


class Stores:
    """One ``backend`` file per node under ``directory`` (None: in memory,
    which isolates the cost of the persistence layer from the file's), timed."""

    def __init__(self, directory: Optional[Path], backend: str = "journal") -> None:
        self.directory, self.backend, self.open = directory, backend, {}

    def __call__(self, name: str) -> TimedStore:
        inner = MemoryStore() if self.directory is None else \
            open_store(self.backend, str(self.directory), name)
        self.open[name] = TimedStore(inner)
        return self.open[name]

    def seconds(self) -> float:
        return sum(s.seconds for s in self.open.values())

    def commits(self) -> int:
        return sum(s.commits for s in self.open.values())

    def close(self) -> None:
        for store in self.open.values():
            store.close()
        self.open.clear()


def controller(store_of: Optional[Callable]) -> Tuple[DmmController, Fabric, Dict[str, float]]:
    """A started controller (stores attached, every switch connected) and
    how long each phase took: ``load`` (construct, attach_stores),
    ``rules`` (switch_connected of every switch), ``wire`` (serialized)."""
    start = clock()
    ctl = DmmController(parse(domain(MAARS)))
    if store_of is not None:
        ctl.attach_stores(store_of, clock())
    loaded = clock()
    outputs = [out for dpid in sorted({n.dpid for n in ctl.directory})
               for out in ctl.switch_connected(dpid)]
    ruled = clock()
    for out in outputs:
        wire(out)
    phases = {"load": loaded - start, "rules": ruled - loaded, "wire": clock() - ruled}
    fabric = Fabric(ctl)  # the timed messages are serialised already: the fabric gets new ones
    fabric.send([out for dpid in sorted({n.dpid for n in ctl.directory})
                 for out in ctl.switch_connected(dpid)])
    return ctl, fabric, phases


class CountingLink(Datapath):
    """A datapath that counts the octets the shell's Sender writes to it."""

    def __init__(self) -> None:
        self.octets = 0

    def send(self, buf) -> None:
        self.octets += len(buf)

    def send_msg(self, msg) -> None:
        msg.set_xid(1)
        msg.serialize()
        self.send(msg.buf)


def wire(out) -> int:
    """Octets of one output as the shell's Sender sends it (numbered,
    bundled when atomic, serialised where it holds framework objects)."""
    link, sender = CountingLink(), Sender(Stats())
    sender.datapaths[out.dpid] = link
    sender.send([out])
    return link.octets


def port_of(n: int) -> int:
    return ACCESS_PORTS[n % len(ACCESS_PORTS)]


def register(ctl: DmmController, fabric: Fabric, mns: int) -> None:
    """``mns`` MNs attach, each at maar (n mod MAARS)+1."""
    for n in range(mns):
        attach(ctl, fabric, mac(n + 1), n % MAARS + 1, port_of(n))


def move(ctl: DmmController, fabric: Fabric, plan: List[Tuple[int, int]]) -> float:
    """Run the handovers of ``plan`` ((MN number, MAAR)); seconds taken."""
    start = clock()
    for n, maar in plan:
        attach(ctl, fabric, mac(n + 1), maar, port_of(n))
    return clock() - start


def plan_moves(mns: int, count: int, seed: int = 1) -> List[Tuple[int, int]]:
    """``count`` handovers of random MNs to a MAAR other than their current one."""
    rng, where, plan = random.Random(seed), {n: n % MAARS + 1 for n in range(mns)}, []
    for _ in range(count):
        n = rng.randrange(mns)
        where[n] = rng.choice([i for i in range(1, MAARS + 1) if i != where[n]])
        plan.append((n, where[n]))
    return plan


def restart_row(mns: int, directory: Path, backend: str) -> dict:
    """Fill the stores with ``mns`` moved MNs, then time a warm restart."""
    stores = Stores(directory, backend)
    ctl, fabric, _ = controller(stores)
    register(ctl, fabric, mns)
    move(ctl, fabric, [(n, (n + 1) % MAARS + 1) for n in range(mns)])
    bindings = ctl.cmd_node.count()
    stores.close()
    stores = Stores(directory, backend)
    ctl, fabric, phases = controller(stores)
    restored = ctl.cmd_node.count()
    stores.close()
    seconds = sum(phases.values())
    return {"backend": backend, "mns": mns, "bindings": bindings, "restored": restored,
            "flow_mods": fabric.wire.counts["flow_mods"], "seconds": round(seconds, 3),
            **{f"{k}_s": round(v, 3) for k, v in phases.items()},
            "met": seconds <= RESTART_TARGET_S if mns == 10_000 else None}


def durability_run(mns: int, handovers: int, stores: Optional[Stores]) -> dict:
    """One handover run, on ``stores`` or on none.  The previous runs'
    controllers are collected first: their garbage would otherwise be
    traversed by the collections of this run, and charged to it."""
    gc.collect()
    ctl, fabric, _ = controller(stores)
    register(ctl, fabric, mns)
    before = (stores.seconds(), stores.commits()) if stores else (0.0, 0)
    seconds = move(ctl, fabric, plan_moves(mns, handovers))
    after = (stores.seconds(), stores.commits()) if stores else (0.0, 0)
    if stores:
        stores.close()
    return {"seconds": seconds, "store_seconds": after[0] - before[0],
            "commits": after[1] - before[1]}


def durability(mns: int, handovers: int, reps: int, directory: Path) -> dict:
    """Alternate runs without stores, on each backend and in memory; medians."""
    off, memory = [], []
    on: Dict[str, List[dict]] = {backend: [] for backend in BACKENDS}
    for rep in range(reps):
        off.append(durability_run(mns, handovers, None))
        for backend, runs in on.items():
            run_dir = directory / f"durability-{backend}{rep}"
            run_dir.mkdir()
            runs.append(durability_run(mns, handovers, Stores(run_dir, backend)))
        memory.append(durability_run(mns, handovers, Stores(None)))
    t_off = statistics.median(r["seconds"] for r in off)
    t_memory = statistics.median(r["seconds"] for r in memory)
    backends = {backend: backend_cost(runs, handovers, t_off) for backend, runs in on.items()}
    return {"mns": mns, "handovers": handovers, "reps": reps,
            "handover_us_without_store": round(t_off / handovers * 1e6, 1),
            "memory_store_us_per_handover": round((t_memory - t_off) / handovers * 1e6, 1),
            "rate_without_store_per_s": round(handovers / t_off), "backends": backends,
            "met": backends["journal"]["met"]}


def backend_cost(runs: List[dict], handovers: int, t_off: float) -> dict:
    """One backend's medians against the run without a store."""
    t_on = statistics.median(r["seconds"] for r in runs)
    store_us = statistics.median(r["store_seconds"] for r in runs) / handovers * 1e6
    commits = statistics.median(r["commits"] for r in runs) / handovers
    slowdown = 100 * (1 - t_off / t_on)
    return {"store_us_per_handover": round(store_us, 1),
            "commits_per_handover": round(commits, 2),
            "us_per_commit": round(store_us / commits, 1) if commits else None,
            "store_pct_of_handover": round(100 * store_us / (t_off / handovers * 1e6), 1),
            "durability_us_per_handover": round((t_on - t_off) / handovers * 1e6, 1),
            "rate_per_s": round(handovers / t_on),
            "rate_cost_pct": round(slowdown, 1), "met": slowdown <= DURABILITY_TARGET_PCT}


def table(restarts: List[dict], cost: dict) -> str:
    return "\n".join((restart_table(restarts) if restarts else []) + durability_table(cost))


def restart_table(restarts: List[dict]) -> List[str]:
    lines = ["restart-to-reconciled (construct + attach_stores + switch_connected, serialized)",
             f"{'store':>8} {'MNs':>7} {'restored':>9} {'FlowMods':>9} {'load s':>7} "
             f"{'rules s':>8} {'wire s':>7} {'total s':>8}  target <= 5 s @10k"]
    for r in restarts:
        met = "" if r["met"] is None else ("met" if r["met"] else "MISSED")
        lines.append(f"{r['backend']:>8} {r['mns']:>7} {r['restored']:>9} {r['flow_mods']:>9} "
                     f"{r['load_s']:>7.3f} {r['rules_s']:>8.3f} {r['wire_s']:>7.3f} "
                     f"{r['seconds']:>8.3f}  {met}")
    return lines + [""]


def durability_table(cost: dict) -> List[str]:
    lines = [f"durability ({cost['handovers']} handovers among {cost['mns']} MNs, "
             f"median of {cost['reps']} alternated runs)",
             f"  handover without store     {cost['handover_us_without_store']:>8.1f} µs",
             f"  rate, no store             {cost['rate_without_store_per_s']:>8} /s",
             f"  in-memory store/handover   {cost['memory_store_us_per_handover']:>8.1f} µs "
             "(encoding the records + tracking, no file)"]
    for backend, b in cost["backends"].items():
        lines += [f"  {backend}:",
                  f"    commits/handover         {b['store_us_per_handover']:>8.1f} µs "
                  f"({b['store_pct_of_handover']} % of the handover; "
                  f"{b['commits_per_handover']} commits of {b['us_per_commit']} µs)",
                  f"    all durability/handover  {b['durability_us_per_handover']:>8.1f} µs",
                  f"    rate                     {b['rate_per_s']:>8} /s "
                  f"(-{b['rate_cost_pct']} %; target <= 10 %: "
                  f"{'met' if b['met'] else 'MISSED'})"]
    return lines


def measure(quick: bool = False, where: Optional[Path] = None, reps: Optional[int] = None,
            sizes: Optional[Tuple[int, ...]] = None) -> dict:
    """Both measurements (``quick``: 1 and 1,000 MNs, short runs), their
    table, and whether the targets were met (the section of benchmarks.run).
    ``reps``: alternated durability runs (default 1 quick, 3 full);
    ``sizes``: the restart rows (default by ``quick``; () for none)."""
    directory = Path(tempfile.mkdtemp(prefix="bench-restart-", dir=where or "/var/tmp"))
    if sizes is None:
        sizes = RESTART_SIZES[:2] if quick else RESTART_SIZES
    try:
        restarts = []
        for mns in sizes:
            for backend in BACKENDS:
                (directory / f"{backend}{mns}").mkdir()
                restarts.append(restart_row(mns, directory / f"{backend}{mns}", backend))
        cost = durability(200 if quick else 1000, 500 if quick else 4000,
                          reps or (1 if quick else 3), directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {"restart": restarts, "durability": cost, "table": table(restarts, cost),
            "command": "benchmarks.bench_restart.measure(quick=%s)" % quick}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_restart", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 1,000 MNs, short runs")
    parser.add_argument("--dir", type=Path, default=None, help="where the store files go")
    parser.add_argument("--reps", type=int, default=None,
                        help="alternated durability runs, median reported (default 1 quick, 3 full)")
    parser.add_argument("--durability-only", action="store_true", help="no restart rows")
    args = parser.parse_args(argv)
    print(measure(args.quick, args.dir, args.reps, () if args.durability_only else None)["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
