"""Cost of the node stores: µs per commit, and warm-restart load time.

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/bench_store.py [--seconds N] [--dir DIR]

A handover commits 2-3 records per node (the BCE, a pool allocation or
the timer deadlines), so commits of 1 and 3 realistic records (MAAR BCEs
with their PBU in flight, 660 octets) are timed on every backend: the
journal and SQLite, each with ``synchronous=NORMAL`` (durable against a
process crash) and ``FULL`` (also against power loss).  ``load`` is timed
at 1 to 100,000 settled BCEs, from opening the file (the journal replays
it then), and decoding them to MaarBce objects separately (it does
not depend on the backend): together they bound the store's part of
restart-to-reconciled.  DIR must be on the disk the state will live on:
on tmpfs FULL costs nothing and the figures mean little.
This is a measurement, not a test.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from ipaddress import IPv6Address, IPv6Network
from typing import Callable, Dict, List

from dmm_ryu.core.actions import SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.store.base import KvStore, MemoryStore
from dmm_ryu.store.records import MAAR_BCE
from dmm_ryu.store.journal import JournalStore
from dmm_ryu.store.sqlite import SqliteStore
from dmm_ryu.wire import mh

LOAD_SIZES = (1, 1_000, 10_000, 100_000)
MAC = "02:00:00:00:00:01"


def serving_bce(number: int, in_flight: bool) -> MaarBce:
    """A serving MAAR's BCE after a handover: one local, one anchored prefix;
    ``in_flight`` while its PBU awaits the PBA (as written during a
    handover), settled otherwise (as a restart loads most of them)."""
    mn_id = f"mn{number}@dmm.example"
    local = IPv6Network(((0x20010db8_0001 << 80) + (number << 64), 64))
    anchored = IPv6Network(((0x20010db8_0002 << 80) + (number << 64), 64))
    peer = IPv6Address("2001:db8:ffff::2")
    pbu = mh.ProxyBindingUpdate(number % 65536, 3600, mh.MobilityOptions(
        mn_id=mn_id, hnps=(local,), handoff=mh.HandoffIndicator.BETWEEN_MAGS,
        timestamp=mh.timestamp_from_unix(1_700_000_000.25)))
    return MaarBce(mn_id, MAC, 3, local, None, {anchored: peer}, True, False, number % 65536,
                   mh.timestamp_from_unix(1_700_000_000.25), 3600, pbu if in_flight else None,
                   frozenset({InstallLocalRoute(mn_id, local, MAC, 3),
                              InstallTunnel(mn_id, anchored, peer, SERVING, MAC, 3)}))


def per_call_us(func: Callable[[int], object], seconds: float) -> float:
    """Mean µs of ``func(i)`` over about ``seconds`` (at least 20 calls)."""
    calls, start = 0, time.perf_counter()
    while calls < 20 or time.perf_counter() - start < seconds:
        func(calls)
        calls += 1
    return (time.perf_counter() - start) / calls * 1e6


def backends(directory: str) -> Dict[str, Callable[[str], KvStore]]:
    return {
        "memory": lambda name: MemoryStore(),
        "journal NORMAL": lambda name: JournalStore(os.path.join(directory, f"{name}-n.journal")),
        "journal FULL": lambda name: JournalStore(os.path.join(directory, f"{name}-f.journal"),
                                                  synchronous="FULL"),
        "sqlite NORMAL": lambda name: SqliteStore(os.path.join(directory, f"{name}-n.sqlite")),
        "sqlite FULL": lambda name: SqliteStore(os.path.join(directory, f"{name}-f.sqlite"),
                                                synchronous="FULL"),
    }


def commit_costs(make: Callable[[str], KvStore], values: List[bytes],
                 seconds: float) -> List[float]:
    """µs per commit of 1 and of 3 records, keys cycling over 1,000 MNs."""
    store = make("commit")
    try:
        one = per_call_us(lambda i: store.commit({f"bce/{i % 1000}": values[i % 1000]}), seconds)
        three = per_call_us(lambda i: store.commit({
            f"bce/{i % 1000}": values[i % 1000], f"pool/{i % 1000}": values[(i + 1) % 1000],
            f"timers/{i % 1000}": values[(i + 2) % 1000]}), seconds)
    finally:
        store.close()
    return [one, three]


def timed_ms(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return (time.perf_counter() - start) * 1e3


def load_costs(make: Callable[[str], KvStore], values: List[bytes]) -> List[float]:
    """ms to open a store of n records and load them (a warm restart's
    first step), for each n."""
    costs = []
    for size in LOAD_SIZES:
        store = make(f"load{size}")
        store.commit({f"bce/mn{n}": values[n % len(values)] for n in range(size)})
        costs.append(reopened_load_ms(make, f"load{size}", store))
    return costs


def reopened_load_ms(make: Callable[[str], KvStore], name: str, store: KvStore) -> float:
    """ms to reopen ``name`` and load it; an in-memory ``store`` has no file
    to reopen: its load alone."""
    if not isinstance(store, MemoryStore):
        store.close()
        start = time.perf_counter()
        store = make(name)
        store.load("bce/")
        elapsed = (time.perf_counter() - start) * 1e3
    else:
        elapsed = timed_ms(lambda: store.load("bce/"))
    store.close()
    return elapsed


def decode_costs(values: List[bytes]) -> List[float]:
    """ms to decode n settled records to MaarBce objects, for each n."""
    return [timed_ms(lambda: [MAAR_BCE.decode("bce/mn", values[n % len(values)])
                              for n in range(size)]) for size in LOAD_SIZES]


def main() -> None:
    parser = argparse.ArgumentParser(description="node store costs")
    parser.add_argument("--seconds", type=float, default=1.0, help="per commit figure")
    parser.add_argument("--dir", default=None, help="where the store files go (a real disk)")
    args = parser.parse_args()
    bces = [serving_bce(n, in_flight=True) for n in range(1000)]
    values = [MAAR_BCE.encode(bce) for bce in bces]
    settled = [MAAR_BCE.encode(serving_bce(n, in_flight=False)) for n in range(1000)]
    encode_us = per_call_us(lambda i: MAAR_BCE.encode(bces[i % 1000]), args.seconds / 2)
    print(f"MaarBce record: {len(values[0])} octets in flight, {len(settled[0])} settled; "
          f"encode in flight {encode_us:.1f} µs")
    print(f"{'':16}{'commit 1':>10}{'commit 3':>10}  "
          + "".join(f"{f'load {n:,}':>14}" for n in LOAD_SIZES))
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        for name, make in backends(directory).items():
            one, three = commit_costs(make, values, args.seconds)
            print(f"{name:16}{one:8.1f}µs{three:8.1f}µs  "
                  + "".join(f"{ms:12.1f}ms" for ms in load_costs(make, settled)))
    print(f"{'decode MaarBce':36}" + "".join(f"{ms:12.1f}ms" for ms in decode_costs(settled)))


if __name__ == "__main__":
    main()
