"""RS flood: 100,000 fresh MACs solicit at one MAAR (issue #12).

In process, on the exact runtime the app wraps (``benchmarks.loadgen``'s
zero-delay fabric): an attacker's RS from every fresh MAC, with the default
``mn_policy: any``.  What must hold: the controller keeps serving, memory
stays bounded (``max_bindings`` caps the MNs a MAAR serves, the hold-down
table is capped), and an existing MN's handover still completes as fast.
On a real switch the per-port punt meter bounds the rate before this; here
nothing does, so this is the worst case for the controller.

    .venv/bin/python -m benchmarks.bench_flood [--macs 100000]
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

from benchmarks.loadgen import ACCESS_PORTS, attach, mac, new_controller


def handover_ms(ctl, fabric, who: str, maar: int) -> float:
    """One move of ``who`` to ``maar``: RS until the S-MAAR's RA, in ms."""
    fabric.ras.clear()
    start = time.perf_counter()
    attach(ctl, fabric, who, maar, ACCESS_PORTS[0])
    assert fabric.ras and fabric.ras[-1][0] == who, "the handover did not complete"
    return (time.perf_counter() - start) * 1000


def flood(macs: int) -> dict:
    ctl, fabric = new_controller(3, "proxy")
    victim = mac(1)
    attach(ctl, fabric, victim, 2, ACCESS_PORTS[0])
    before = [handover_ms(ctl, fabric, victim, m) for m in (3, 2, 3, 2)]
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    start = time.perf_counter()
    for n in range(macs):
        attach(ctl, fabric, mac(1_000_000 + n), 1, ACCESS_PORTS[1 + n % 31])
    elapsed = time.perf_counter() - start
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(base, "filename"))
    tracemalloc.stop()
    after = [handover_ms(ctl, fabric, victim, m) for m in (3, 2, 3, 2)]
    maar1 = ctl.nodes["maar1"].core
    return {"macs": macs, "seconds": round(elapsed, 2), "rs_per_s": round(macs / elapsed),
            "bindings_at_maar1": len(maar1.bces), "held_down": len(maar1.attachments.held),
            "memory_grown_mb": round(grown / 2**20, 1),
            "refused": {k: v for k, v in maar1.counters.items() if k.startswith("refused")},
            "victim_handover_ms_before": round(sorted(before)[1], 3),
            "victim_handover_ms_after": round(sorted(after)[1], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--macs", type=int, default=100_000)
    result = flood(parser.parse_args().macs)
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
