"""The in-process performance figures of issue 17, before vs after, side by side.

    .venv/bin/python -m benchmarks.perf [--quick] [--before REF] [--tree LABEL=PATH] [--out DIR]

"before" is REF (default: the commit this branch forked from main) exported
with ``git archive``; "after" is this checkout; ``--tree`` adds columns (e.g.
a checkout with a patch applied).  Every figure comes from a fresh
interpreter (benchmarks/loadgen.py run as a script with that tree on
PYTHONPATH), so every run is cold and both columns run the same measuring
code.  Writes perf.md and perf.json; prints the table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from benchmarks.loadgen import MODES, run_cold

ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"rate": ">= 5,000/s", "p99_2000": "<= 5 ms", "memory": "<= 3 KB", "metrics": "<= 10 ms"}


def export(ref: str, out: Path) -> Path:
    """``ref`` of this repository as a plain tree under ``out``."""
    sha = _git("rev-parse", "--short", ref)
    tree = out / f"tree-{sha}"
    if not (tree / "dmm_ryu").is_dir():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def plan(quick: bool) -> dict:
    """Sizes of each measurement; quick is a smoke run of a minute or two."""
    if quick:
        return {"mns": 500, "reps": 1, "mem": (2000,), "mode_mns": 200}
    return {"mns": 2000, "reps": 3, "mem": (10000, 100000), "mode_mns": 1000}


def measure(tree: Path, sizes: dict, log: Callable[[str], None]) -> dict:
    """Every figure of one column."""
    mns = sizes["mns"]
    maxes = [run_cold(tree, "rate", mns=mns, seed=s) for s in range(1, sizes["reps"] + 1)]
    log(f"    max rate: {[r.get('achieved_per_s', r.get('error')) for r in maxes]}")
    at = {rate: run_cold(tree, "rate", offered=rate, mns=mns) for rate in (1000, 2000)}
    log(f"    2,000/s: p99 {at[2000].get('p99_ms')} ms")
    modes = {mode: run_cold(tree, "rate", mns=sizes["mode_mns"], mode=mode) for mode in MODES}
    mem = {n: run_cold(tree, "memory", mns=n) for n in sizes["mem"]}
    log(f"    memory: {[(n, m.get('bytes_per_mn', m.get('error'))) for n, m in mem.items()]}")
    profile = run_cold(tree, "rate", mns=mns, profile=True)
    return {"max_runs": maxes, "offered": at, "modes": modes, "memory": mem,
            "profile": profile.get("profile"), "profile_run_per_s": profile.get("achieved_per_s")}


def _median(runs: List[dict], key: str) -> Optional[float]:
    values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return round(statistics.median(values), 1) if values else None


def rows(columns: Dict[str, dict], sizes: dict) -> List[list]:
    """The table: one row per figure, one column per tree, then the target."""
    def row(label, read, target=""):
        return [label] + [_safe(read, c) for c in columns.values()] + [target]

    out = [
        row(f"handovers/s in process, serialised, cold, max (median of {sizes['reps']}; "
            f"{sizes['mns']} MNs, 1 handover/MN)", lambda c: _median(c["max_runs"],
                                                                    "achieved_per_s"),
            TARGETS["rate"]),
        row("the same, handovers per CPU second of the controller process",
            lambda c: _median(c["max_runs"], "per_cpu_s"), TARGETS["rate"]),
        row("p99 ms at 2,000/s offered", lambda c: c["offered"][2000]["p99_ms"],
            TARGETS["p99_2000"]),
        row("achieved/s at 2,000/s offered", lambda c: c["offered"][2000]["achieved_per_s"]),
        row("p99 ms at 1,000/s offered", lambda c: c["offered"][1000]["p99_ms"]),
        row("not completed at 2,000/s (skipped in flight + incomplete)",
            lambda c: c["offered"][2000]["skipped_in_flight"] + c["offered"][2000]["incomplete"]),
    ]
    for mode in MODES:
        out.append(row(f"{mode}: OpenFlow messages / bytes / writes per handover",
                       lambda c, m=mode: "{messages:g} / {bytes:g} / {writes:g}".format(
                           **c["modes"][m]["wire_per_handover"])))
    for n in sizes["mem"]:
        out.append(row(f"runtime bytes per MN at {n:,} MNs (tracemalloc)",
                       lambda c, n=n: c["memory"][n]["bytes_per_mn"], TARGETS["memory"]))
        out.append(row(f"/metrics scrape CPU ms at {n:,} bindings",
                       lambda c, n=n: c["memory"][n]["metrics_scrape_ms"], TARGETS["metrics"]))
    return out


def _safe(read, column):
    try:
        return read(column)
    except (KeyError, TypeError):
        return "error"


def markdown(table: List[list], labels: List[str]) -> str:
    head = ["figure"] + labels + ["target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in table]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--before", default=None, help="git ref (default: merge-base with main)")
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                        help="another checkout to measure as a column")
    parser.add_argument("--mem", default=None, metavar="N,N",
                        help="MN counts of the memory and /metrics runs (default 10000,100000)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "output" / time.strftime("perf-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    sizes = plan(args.quick)
    if args.mem:
        sizes["mem"] = tuple(int(n) for n in args.mem.split(","))
    before = args.before or _git("merge-base", "HEAD", "main")
    trees = {f"before ({_git('rev-parse', '--short', before)})": export(before, out),
             f"after ({_git('rev-parse', '--short', 'HEAD')})": ROOT}
    for spec in args.tree:
        label, _, path = spec.partition("=")
        trees[label] = Path(path).resolve()
    columns = {}
    for label, tree in trees.items():
        print(f"perf: measuring {label} ({tree})", flush=True)
        columns[label] = measure(tree, sizes, lambda line: print(line, flush=True))
    table = rows(columns, sizes)
    text = markdown(table, list(columns))
    command = "python -m benchmarks.perf" + " --quick" * args.quick + "".join(
        f" --tree {t}" for t in args.tree) + (f" --mem {args.mem}" if args.mem else "")
    (out / "perf.json").write_text(json.dumps({"command": command, "sizes": sizes,
                                               "columns": columns}, indent=1, default=str))
    (out / "perf.md").write_text(f"{text}\n\nCommand: `{command}`\n")
    print(text)
    print(f"perf: wrote {out / 'perf.md'} and {out / 'perf.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
