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
* **durability cost**: the same handover plan (as fast as possible) on a
  controller with journal stores, SQLite stores or in-memory ones, each
  beside a controller without a store, the two runs' waves interleaved
  (``paired_run``); the store's cost per handover is measured inside the
  commits (µs, and % of the handover time without a store), and the
  handover rates of each pair are compared.  Once one
  handover at a time (W=1: each event committed on its own, the app at
  low load) and once in waves of W MNs moving at once (``--wave``), each
  round of the fabric one ``DmmController.batch()`` as the app's drain
  runs it under load (group commit: one commit per node per round).

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
from dmm_ryu.shell.heap import freeze_loaded_heap
from dmm_ryu.shell.sender import Sender
from dmm_ryu.shell.state import BACKENDS, open_store
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.wire import ndp

MAARS = 8
RESTART_SIZES = (1, 1_000, 10_000)
RESTART_TARGET_S = 5.0
DURABILITY_TARGET_PCT = 10.0
#: MNs moving at once in the durability runs with group commit (--wave).
DEFAULT_WAVE = 16
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
    freeze_loaded_heap()  # as the app does once loaded (shell/heap.py)
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


def move(ctl: DmmController, fabric: Fabric, plan: List[Tuple[int, int]],
         wave: int = 1) -> float:
    """Run the handovers of ``plan`` ((MN number, MAAR)); seconds taken.
    ``wave`` 1: one after another, each event committed on its own (what
    the app did before group commit, and still does at low load); wider:
    waves of up to ``wave`` MNs moving at once, each round of the fabric
    one batch (what the app's drain does under load)."""
    start = clock()
    if wave == 1:
        for n, maar in plan:
            attach(ctl, fabric, mac(n + 1), maar, port_of(n))
        return clock() - start
    for group in waves(plan, wave):
        fabric.queue.extend((maar, port_of(n), ndp.router_solicitation(mac(n + 1)))
                            for n, maar in group)
        fabric.run_rounds()
    return clock() - start


def waves(plan: List[Tuple[int, int]], width: int) -> List[List[Tuple[int, int]]]:
    """``plan`` cut, in order, into waves of at most ``width`` handovers of
    distinct MNs: an MN's next handover waits for the next wave (never two
    of one MN in flight)."""
    out: List[List[Tuple[int, int]]] = [[]]
    for n, maar in plan:
        if len(out[-1]) == width or any(n == m for m, _ in out[-1]):
            out.append([])
        out[-1].append((n, maar))
    return [group for group in out if group]


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
    del ctl, fabric  # the process died: nothing of it is left to scan
    gc.unfreeze()
    gc.collect()
    stores = Stores(directory, backend)
    ctl, fabric, phases = controller(stores)
    restored = ctl.cmd_node.count()
    stores.close()
    seconds = sum(phases.values())
    return {"backend": backend, "mns": mns, "bindings": bindings, "restored": restored,
            "flow_mods": fabric.wire.counts["flow_mods"], "seconds": round(seconds, 3),
            **{f"{k}_s": round(v, 3) for k, v in phases.items()},
            "met": seconds <= RESTART_TARGET_S if mns == 10_000 else None}


def paired_run(mns: int, handovers: int, stores: Stores, wave: int = 1) -> dict:
    """The same handover plan on two controllers side by side, one without
    a store and one on ``stores``, their waves interleaved (off, on, then
    on, off, ...) and each wave timed on its own.  On this VM a run's speed
    moves by up to 50 % with the host's load, over seconds; two runs one
    after the other can see different machines, two waves a few ms apart
    see the same one, so their ratio is the cost of durability and not the
    host's mood.  One pair per backend (not every backend in one pass): the
    process-wide identity memos are sized for the handovers one controller
    has in flight.  The previous pairs' controllers are collected first
    (thawed: the app's freeze kept them from collections), their garbage
    would otherwise be traversed by this pair's collections."""
    gc.unfreeze()
    gc.collect()
    off, on = controller(None)[:2], controller(stores)[:2]
    for ctl, fabric in (off, on):
        register(ctl, fabric, mns)
    before = (stores.seconds(), stores.commits())
    seconds = {"off": 0.0, "on": 0.0}
    groups = waves(plan_moves(mns, handovers), wave) if wave > 1 else \
        [[move_] for move_ in plan_moves(mns, handovers)]
    for i, group in enumerate(groups):
        turn = (("off", off), ("on", on)) if i % 2 == 0 else (("on", on), ("off", off))
        for name, (ctl, fabric) in turn:
            seconds[name] += move(ctl, fabric, group, wave)
    after = (stores.seconds(), stores.commits())
    stores.close()
    return {"seconds_off": seconds["off"], "seconds": seconds["on"],
            "store_seconds": after[0] - before[0], "commits": after[1] - before[1],
            "cost_pct": 100 * (1 - seconds["off"] / seconds["on"])}


def durability(mns: int, handovers: int, reps: int, directory: Path,
               wave: int = DEFAULT_WAVE) -> dict:
    """The cost of durability one handover at a time and in waves of
    ``wave`` (group commit), side by side; ``met`` by the waves."""
    widths = sorted({1, wave})
    by_wave = {width: durability_at(mns, handovers, reps, directory, width) for width in widths}
    return {"mns": mns, "handovers": handovers, "reps": reps, "waves": by_wave,
            "met": by_wave[wave]["met"]}


def durability_at(mns: int, handovers: int, reps: int, directory: Path, wave: int) -> dict:
    """``reps`` interleaved pairs per backend (and in memory), the backends
    taking turns; the median of the pairs' costs."""
    pairs: Dict[str, List[dict]] = {name: [] for name in ("memory", *BACKENDS)}
    for rep in range(reps):
        for name, runs in pairs.items():
            stores = Stores(None)
            if name != "memory":
                run_dir = directory / f"durability-{name}-w{wave}-{rep}"
                run_dir.mkdir()
                stores = Stores(run_dir, name)
            runs.append(paired_run(mns, handovers, stores, wave))
    off = [run["seconds_off"] for runs in pairs.values() for run in runs]
    t_off = statistics.median(off)
    memory = pairs.pop("memory")
    backends = {backend: backend_cost(runs, handovers, t_off) for backend, runs in pairs.items()}
    return {"wave": wave, "handover_us_without_store": round(t_off / handovers * 1e6, 1),
            "memory_store_us_per_handover": round(
                statistics.median(r["seconds"] - r["seconds_off"] for r in memory)
                / handovers * 1e6, 1),
            "memory_cost_pct": round(statistics.median(r["cost_pct"] for r in memory), 1),
            "rate_without_store_per_s": round(handovers / t_off), "backends": backends,
            "spread_without_store_pct": round(100 * (max(off) - min(off)) / t_off, 1),
            "met": backends["journal"]["met"]}


def backend_cost(runs: List[dict], handovers: int, t_off: float) -> dict:
    """One backend's pairs: the median of their costs (each pair's own
    runs compared), their quartiles, and the medians of what was paid
    inside the commits.  ``met``: the median cost within the target."""
    costs = sorted(r["cost_pct"] for r in runs)
    store_us = statistics.median(r["store_seconds"] for r in runs) / handovers * 1e6
    commits = statistics.median(r["commits"] for r in runs) / handovers
    slowdown = statistics.median(costs)
    quartiles = statistics.quantiles(costs, n=4) if len(costs) > 1 else [costs[0]] * 3
    return {"store_us_per_handover": round(store_us, 1),
            "commits_per_handover": round(commits, 2),
            "us_per_commit": round(store_us / commits, 1) if commits else None,
            "store_pct_of_handover": round(100 * store_us / (t_off / handovers * 1e6), 1),
            "durability_us_per_handover": round(statistics.median(
                r["seconds"] - r["seconds_off"] for r in runs) / handovers * 1e6, 1),
            "rate_per_s": round(handovers / statistics.median(r["seconds"] for r in runs)),
            "rate_cost_pct": round(slowdown, 1),
            "rate_cost_quartiles_pct": [round(quartiles[0], 1), round(quartiles[2], 1)],
            "met": slowdown <= DURABILITY_TARGET_PCT}


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
    """One column per wave width (1: one handover at a time)."""
    runs = list(cost["waves"].values())
    head = "".join(f"{'W=' + str(r['wave']):>14}" for r in runs)
    lines = [f"durability ({cost['handovers']} handovers among {cost['mns']} MNs; per backend "
             f"{cost['reps']} pairs of runs, each pair's waves interleaved with a run without "
             "store; medians; W MNs move at once, each fabric round one batch)",
             f"{'':30}{head}",
             _row("handover without store, µs", runs, lambda r: r["handover_us_without_store"]),
             _row("rate, no store, /s", runs, lambda r: r["rate_without_store_per_s"]),
             _row("spread of those runs, %", runs, lambda r: r["spread_without_store_pct"]),
             _row("in-memory store/handover, µs", runs,
                  lambda r: r["memory_store_us_per_handover"]),
             _row("in-memory store rate cost, %", runs, lambda r: f"-{r['memory_cost_pct']}")]
    for backend in runs[0]["backends"]:
        of = lambda key: lambda r: r["backends"][backend][key]  # noqa: E731
        lines += [f"  {backend}:",
                  _row("  commits/handover", runs, of("commits_per_handover")),
                  _row("  µs per commit", runs, of("us_per_commit")),
                  _row("  commits µs/handover", runs, of("store_us_per_handover")),
                  _row("  all durability µs/handover", runs, of("durability_us_per_handover")),
                  _row("  rate, /s", runs, of("rate_per_s")),
                  _row("  rate cost, quartiles, %", runs, lambda r: "-{} .. -{}".format(
                      *r["backends"][backend]["rate_cost_quartiles_pct"])),
                  _row("  rate cost, % (target <= 10)", runs,
                       lambda r: f"-{r['backends'][backend]['rate_cost_pct']}"
                                 f"{'' if r['backends'][backend]['met'] else ' MISSED'}")]
    return lines


def _row(label: str, runs: List[dict], value: Callable[[dict], object]) -> str:
    return f"  {label:<28}" + "".join(f"{value(r)!s:>14}" for r in runs)


def measure(quick: bool = False, where: Optional[Path] = None, reps: Optional[int] = None,
            sizes: Optional[Tuple[int, ...]] = None, wave: int = DEFAULT_WAVE) -> dict:
    """Both measurements (``quick``: 1 and 1,000 MNs, short runs), their
    table, and whether the targets were met (the section of benchmarks.run).
    ``reps``: interleaved pairs per backend (default 1 quick, 3 full);
    ``sizes``: the restart rows (default by ``quick``; () for none);
    ``wave``: MNs moving at once beside the one-at-a-time runs."""
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
                          reps or (1 if quick else 3), directory, wave)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return {"restart": restarts, "durability": cost, "table": table(restarts, cost),
            "command": "benchmarks.bench_restart.measure(quick=%s)" % quick}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_restart", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 1,000 MNs, short runs")
    parser.add_argument("--dir", type=Path, default=None, help="where the store files go")
    parser.add_argument("--reps", type=int, default=None,
                        help="interleaved pairs per backend, median reported (default 1 quick, 3 full)")
    parser.add_argument("--durability-only", action="store_true", help="no restart rows")
    parser.add_argument("--wave", type=int, default=DEFAULT_WAVE,
                        help="MNs whose handovers run at once (group commit), measured beside "
                             f"one at a time (default {DEFAULT_WAVE}; 1: one at a time only)")
    args = parser.parse_args(argv)
    if args.wave < 1:
        parser.error("--wave must be at least 1")
    print(measure(args.quick, args.dir, args.reps, () if args.durability_only else None,
                  args.wave)["table"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
