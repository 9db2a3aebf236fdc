"""Section 6 and the pure-core rates: CMD memory per binding (tracemalloc on
the protocol core, no OpenFlow) and the rates printed by bench_core.py."""
from __future__ import annotations

import contextlib
import io
import re
import time

from benchmarks import bench_core
from dmm_ryu.core.config import Mode


def memory_per_binding(count: int) -> dict:
    """tracemalloc around ``count`` first registrations into the pure core's
    CMD (bench_core.traced_bytes)."""
    held, stored = bench_core.traced_bytes(count)
    return {"mns": count, "bytes_per_binding": round(held / count),
            "total_mib": round(held / 2**20, 1), "bindings_in_store": stored}


def core_rates(mns: int) -> dict:
    """bench_core.py's figures (its own functions, output parsed)."""
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        for mode in (Mode.PROXY, Mode.RELAY, Mode.LOCATOR):
            bench_core.bench_cmd(mns, mode)
        bench_core.bench_sim()
    text = out.getvalue()
    rates = {}
    for line in text.splitlines():
        m = re.match(r"CMD \((\w+), [\d,]+ MNs\) (.+?):\s+([\d,]+) PBU/s", line)
        if m:
            rates.setdefault(m.group(1), {})[m.group(2).strip()] = int(m.group(3).replace(",", ""))
    sim = re.search(r"simulator: ([\d,]+) handovers of (\d+) MNs over 10 MAARs in ([\d.]+) s: "
                    r"([\d,]+) handovers/s", text)
    return {"cmd_pbu_per_s": rates, "mns": mns,
            "simulator_handovers_per_s": int(sim.group(4).replace(",", "")) if sim else None,
            "simulator_line": sim.group(0) if sim else None, "raw": text,
            "elapsed_s": round(time.perf_counter() - start, 1)}
