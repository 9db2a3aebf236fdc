"""Section 6 and the pure-core rates: CMD memory per binding (tracemalloc on
the protocol core, no OpenFlow) and the rates printed by bench_core.py."""
from __future__ import annotations

import contextlib
import gc
import io
import re
import time
import tracemalloc

from benchmarks import bench_core
from dmm_ryu.core.config import Mode
from dmm_ryu.mh.model import HandoffIndicator


def memory_per_binding(count: int) -> dict:
    """Bytes the CMD holds per binding after ``count`` first registrations
    (proxy mode, 16 MAARs): BCE, prefix map, store slot, and the prefix and
    MN-ID objects it keeps from the PBUs (traced from before the PBUs are
    built; bench_core.bench_memory starts tracing after, so it misses those)."""
    domain = bench_core.build(bench_core.N_MAARS, Mode.PROXY)
    gc.collect()
    tracemalloc.start()  # before the events: the CMD keeps their prefixes and MN-IDs
    before = tracemalloc.get_traced_memory()[0]
    events = bench_core.registrations(domain, count, lambda n: n % bench_core.N_MAARS, 1,
                                      HandoffIndicator.UNKNOWN, 0)
    for event in events:
        domain.cmd.handle(event, 1.0)
    del events
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"mns": count, "bytes_per_binding": round((after - before) / count),
            "total_mib": round((after - before) / 2**20, 1),
            "bindings_in_store": len(domain.cmd.store)}


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
