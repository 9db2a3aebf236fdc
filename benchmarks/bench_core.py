"""Benchmarks of the pure protocol core (no Ryu, no sockets, one process).

    python3 benchmarks/bench_core.py [--mns 100000]

Prints the CMD's PBU processing rate for first registrations, handovers and
re-registrations (target >= 50,000/s on one core), the memory per binding at
--mns MNs measured with tracemalloc (target <= 2 KB), and the simulator's
handover rate (whole domain: MAARs, CMD, links, routes).  Not a test: the
figures depend on the machine.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from ipaddress import IPv6Network

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from dmm_ryu.core.config import Mode  # noqa: E402
from dmm_ryu.core.events import MessageReceived  # noqa: E402
from dmm_ryu.core.messages import options  # noqa: E402
from dmm_ryu.wire.mh.model import timestamp_from_unix  # noqa: E402
from dmm_ryu.sim.network import Link  # noqa: E402
from dmm_ryu.sim.domain import CMD_ADDRESS, build  # noqa: E402
from dmm_ryu.wire.mh.model import HandoffIndicator, ProxyBindingUpdate  # noqa: E402

N_MAARS = 16


def registrations(domain, count, maar_of, seq, handoff, stamp):
    """Pre-built PBU events so the timing covers the CMD only."""
    events = []
    for number in range(count):
        maar = domain.maars[maar_of(number)]
        base = int(maar.config.pool.network_address)
        prefix = IPv6Network((base + ((number // N_MAARS) << 64), 64))
        opts = options(f"mn{number}", (prefix,), handoff, 4, stamp)
        events.append(MessageReceived(maar.address, CMD_ADDRESS,
                                      ProxyBindingUpdate(seq, 400, opts)))
    return events


def rate(cmd, events, now):
    gc.collect()
    start = time.perf_counter()
    for event in events:
        cmd.handle(event, now)
    return len(events) / (time.perf_counter() - start)


def bench_cmd(count: int, mode: Mode) -> None:
    domain = build(N_MAARS, mode)
    first = registrations(domain, count, lambda n: n % N_MAARS, 1, HandoffIndicator.UNKNOWN,
                          timestamp_from_unix(1.0))
    refresh = registrations(domain, count, lambda n: n % N_MAARS, 2,
                            HandoffIndicator.NOT_CHANGED, timestamp_from_unix(2.0))
    moved = registrations(domain, count, lambda n: (n + 1) % N_MAARS, 1,
                          HandoffIndicator.UNKNOWN, timestamp_from_unix(3.0))
    label = f"CMD ({mode.value}, {count:,} MNs)"
    print(f"{label} first registrations: {rate(domain.cmd, first, 1.0):>9,.0f} PBU/s")
    print(f"{label} re-registrations:    {rate(domain.cmd, refresh, 2.0):>9,.0f} PBU/s")
    print(f"{label} handovers:           {rate(domain.cmd, moved, 3.0):>9,.0f} PBU/s")


def traced_bytes(count: int) -> tuple:
    """(bytes the CMD holds for ``count`` bindings, bindings stored): BCE,
    its prefix map, the prefix objects and MN-ID it keeps, the store's slot.
    Tracing starts before the PBUs are built: the BCE keeps their objects."""
    domain = build(N_MAARS, Mode.PROXY)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    events = registrations(domain, count, lambda n: n % N_MAARS, 1, HandoffIndicator.UNKNOWN, 0)
    for event in events:
        domain.cmd.handle(event, 1.0)
    del events
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, len(domain.cmd.store)


def bench_memory(count: int) -> None:
    held, _ = traced_bytes(count)
    print(f"CMD memory per binding at {count:,} MNs: {held / count:,.0f} bytes")


def bench_sim(n_mns: int = 500, moves: int = 4) -> None:
    domain = build(10, Mode.PROXY, link=Link(delay=0.005, jitter=0.005))
    rng = random.Random(1)
    start = time.perf_counter()
    for number in range(n_mns):
        domain.move(f"mn{number}", number % 10)
    domain.net.settle()
    handovers = 0
    for _ in range(moves):
        for number in range(n_mns):
            domain.move(f"mn{number}", rng.randrange(10))
            handovers += 1
        domain.net.settle()
    elapsed = time.perf_counter() - start
    print(f"simulator: {handovers:,} handovers of {n_mns} MNs over 10 MAARs "
          f"in {elapsed:.2f} s: {handovers / elapsed:,.0f} handovers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mns", type=int, default=100_000)
    args = parser.parse_args()
    for mode in (Mode.PROXY, Mode.RELAY, Mode.LOCATOR):
        bench_cmd(args.mns, mode)
    bench_memory(args.mns)
    bench_sim()


if __name__ == "__main__":
    main()
