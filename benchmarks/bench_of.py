"""OpenFlow encoding cost, framework classes vs packed templates (issue 17).

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/bench_of.py [--seconds N] [--prefixes N]

Prints microseconds per FlowMod for each rule kind, from the core action to
wire bytes (framework: ``flows.flows_for`` then ``serialize`` as
``Datapath.send_msg`` does; packed: ``packed.flows_for``), then per
handover's worth at the P-MAAR (remove the local route, install the anchor
tunnel: 3 FlowMods in one bundle, 5 messages).  "cold" gives every call a
prefix not seen before (no template or match cache hit, as on a first
handover), "warm" repeats one action.  Best of three runs of CPU time
(``process_time``: on a shared machine, wall time would count other
processes' turns); a measurement, not a test.
"""
from __future__ import annotations

import argparse
import itertools
import time
import timeit
from ipaddress import IPv6Network
from typing import Callable, Iterator, List

from dmm_ryu.config.domainfile import parse
from dmm_ryu.core.actions import (ANCHOR, SERVING, InstallLocalRoute, InstallTunnel,
                                  RemoveLocalRoute, RemoveTunnel)
from dmm_ryu.of import bundle as fw_bundle
from dmm_ryu.of import compat, flows, packed
from dmm_ryu.of.context import MaarDataplane

OFP = compat.ofproto_v1_3
PARSER = compat.ofproto_v1_3_parser
MN_MAC = "00:00:00:00:aa:01"


class Datapath:
    """What serialising needs of a Ryu/os-ken Datapath."""

    ofproto, ofproto_parser, id, xid = OFP, PARSER, 1, 0


def domain_contexts():
    domain = parse({
        "maars": {f"maar{i}": {"dpid": i, "address": f"2001:db8:ffff::{i}",
                               "pool": f"2001:db8:{i}00::/40", "access_ports": [2, 3],
                               "transport_ports": [1]} for i in (1, 2, 3)},
        "cmd": {"address": "2001:db8:ffff::100", "maar": "maar1", "port": 1}})
    return [MaarDataplane.for_maar(domain, f"maar{i}", "0e:ff:00:00:00:fe") for i in (1, 2, 3)]


CTX = domain_contexts()[0]
PEER = CTX.plan.by_name("maar2").address
KINDS = {
    "local route install": lambda p: [InstallLocalRoute("mn", p, MN_MAC, 2)],
    "local route remove": lambda p: [RemoveLocalRoute("mn", p)],
    "anchor tunnel install": lambda p: [InstallTunnel("mn", p, PEER, ANCHOR)],
    "anchor tunnel remove": lambda p: [RemoveTunnel("mn", p, PEER, ANCHOR)],
    "serving tunnel install": lambda p: [InstallTunnel("mn", p, PEER, SERVING, MN_MAC, 2)],
    "serving tunnel remove": lambda p: [RemoveTunnel("mn", p, PEER, SERVING)],
    "handover at the P-MAAR": lambda p: [RemoveLocalRoute("mn", p),
                                         InstallTunnel("mn", p, PEER, ANCHOR)],
}


def framework_wire(actions, bundled: bool) -> bytes:
    datapath = Datapath()
    msgs = [m for a in actions for m in flows.flows_for(a, CTX)]
    if bundled:
        msgs = fw_bundle.bundle(msgs, datapath, 1)
    out = bytearray()
    for msg in msgs:  # Datapath.send_msg: number, bind, serialise
        msg.datapath = datapath
        datapath.xid += 1
        msg.set_xid(datapath.xid)
        msg.serialize()
        out += msg.buf
    return bytes(out)


def packed_wire(actions, bundled: bool) -> bytes:
    datapath = Datapath()
    if bundled:  # the adds' xids replace the FlowMods' own
        msgs = [m for a in actions for m in packed.flows_for(a, CTX)]
        return b"".join(packed.bundle(msgs, 1, packed.reserve_xids(datapath, len(msgs) + 2)))
    out = []
    for action in actions:
        batch = packed.flows_for(action, CTX, datapath.xid + 1)
        datapath.xid += len(batch)
        out += batch
    return b"".join(out)


def prefixes(count: int) -> Iterator[IPv6Network]:
    """Distinct /64s of maar1's /40 pool, cycling after ``count`` (beyond
    every LRU: flows.py's 65,536, packed's and labels' 4,096)."""
    return itertools.cycle([IPv6Network((0x20010DB8_0100 << 80 | i << 64, 64))
                            for i in range(count)])


def best_us(func: Callable[[], object], seconds: float) -> float:
    timer = timeit.Timer(func, timer=time.process_time)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / elapsed))
    return min(timer.repeat(repeat=3, number=number)) / number * 1e6


def measure(kind: str, encoder, cold: bool, seconds: float, count: int) -> float:
    make, bundled = KINDS[kind], kind.startswith("handover")
    if cold:
        fresh = prefixes(count)
        return best_us(lambda: encoder(make(next(fresh)), bundled), seconds)
    actions = make(next(prefixes(1)))
    return best_us(lambda: encoder(actions, bundled), seconds)


def report(seconds: float, count: int) -> List[str]:
    lines = [f"{'us per FlowMod (action -> bytes)':34} {'framework':>10} {'packed':>8} "
             f"{'speed-up':>8}   (cold / warm)"]
    for kind in KINDS:
        sample, bundled = KINDS[kind](next(prefixes(1))), kind.startswith("handover")
        if packed_wire(sample, bundled) != framework_wire(sample, bundled):
            raise SystemExit(f"{kind}: packed bytes differ from the framework's")
        flowmods = sum(len(flows.flows_for(a, CTX)) for a in sample)
        per = 1 if kind.startswith("handover") else flowmods
        cells = []
        for cold in (True, False):
            slow = measure(kind, framework_wire, cold, seconds, count) / per
            fast = measure(kind, packed_wire, cold, seconds, count) / per
            cells.append(f"{slow:10.1f} {fast:8.2f} {slow / fast:7.1f}x")
        label = kind + (f" ({flowmods} FlowMods + bundle, per handover)"
                        if kind.startswith("handover") else "")
        lines.append(f"{label:34} " + "   ".join(cells))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenFlow encoding: framework vs packed")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run")
    parser.add_argument("--prefixes", type=int, default=250_000,
                        help="distinct prefixes for the cold runs (more than any cache)")
    args = parser.parse_args()
    print(f"{compat.FRAMEWORK}, CPython; cold = a new prefix every call, warm = one repeated")
    print("\n".join(report(args.seconds, args.prefixes)))


if __name__ == "__main__":
    main()
