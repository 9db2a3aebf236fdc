"""Handover-rate load generator: the controller runtime without OpenFlow
transport.

One in-process :class:`dmm_ryu.runtime.controller.DmmController` (the exact object
the Ryu/os-ken app wraps) is fed synthetic packet-ins: Router Solicitations
from distinct MACs on access ports of several MAARs, and every PBU/PBA it
emits as a packet-out is delivered as a packet-in to the switch owning the
destination MAC by :class:`dmm_ryu.testbed.fakedomain.FakeDomain` without
flow tables (the transport fabric, with zero delay; FlowMods only counted).
A handover is complete when the S-MAAR's first Router Advertisement for
that MN leaves (the controller's "registered" log moment).  No OpenFlow socket, no OVS, no eventlet: this measures the
controller's own work per handover, i.e. an upper bound for the real stack.

Open-loop: handovers are scheduled at a fixed offered rate; latency is
completion time minus scheduled time (queueing included).
"""
from __future__ import annotations

import cProfile
import collections
import logging
import pstats
import random
import statistics
import time
from typing import Dict, List, Tuple

from dmm_ryu.wire import ndp
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.testbed.fakedomain import FakeDomain
from dmm_ryu.wire.inet import mac_text

RA = ndp.ROUTER_ADVERTISEMENT
ACCESS_PORTS = list(range(2, 34))


def domain(maars: int, mode: str = "proxy", lifetime: int = 400) -> dict:
    """A domain of ``maars`` MAARs (32 access ports each), CMD on its own switch."""
    raw = {"mode": mode, "upstream_mac": "0e:00:00:00:ff:fe",
           "timers": {"lifetime": lifetime}, "maars": {},
           "cmd": {"address": "2001:db8:ffff::100", "dpid": 0x100, "port": 1}}
    if mode == "pmipv6":
        raw["lma"] = "maar1"
    for i in range(1, maars + 1):
        raw["maars"][f"maar{i}"] = {"dpid": i, "address": f"2001:db8:ffff::{i:x}",
                                    "pool": f"2001:db8:{i:x}::/48",
                                    "access_ports": ACCESS_PORTS, "transport_ports": [1]}
    return raw


def mac(n: int) -> str:
    return "0a:%02x:%02x:%02x:%02x:%02x" % ((n >> 32) & 255, (n >> 24) & 255, (n >> 16) & 255,
                                             (n >> 8) & 255, n & 255)


def new_domain(maars: int, mode: str) -> FakeDomain:
    """The domain on switches without flow tables (see FakeDomain)."""
    logging.getLogger("dmm").setLevel(logging.WARNING)
    return FakeDomain(domain(maars, mode), tables=False)


def attach(net: FakeDomain, mac_: str, maar: int, port: int, now_fn) -> List[Tuple[str, float]]:
    """An RS from ``mac_``; (MN MAC, time) of each RA that left meanwhile."""
    net.now = now_fn()
    net.inject(net.wires[maar].name, port, ndp.router_solicitation(mac_))
    done = now_fn()
    ras = [(mac_text(frame[:6]), done) for _, _, frame in net.to_mns if frame[54] == RA]
    net.to_mns.clear()
    return ras


def run_rate(offered: float, n_mns: int, handovers: int, maars: int = 8, mode: str = "proxy",
             seed: int = 1, profile: bool = False) -> dict:
    """``n_mns`` MNs registered first, then ``handovers`` moves to random
    other MAARs scheduled at ``offered``/s (0: as fast as possible)."""
    net = new_domain(maars, mode)
    clock = time.perf_counter
    rng = random.Random(seed)
    where: Dict[str, int] = {}
    for n in range(n_mns):
        m = mac(n + 1)
        where[m] = n % maars + 1
        attach(net, m, where[m], ACCESS_PORTS[n % len(ACCESS_PORTS)], clock)
    plan = []
    for h in range(handovers):
        m = mac(rng.randrange(n_mns) + 1)
        dst = rng.choice([i for i in range(1, maars + 1) if i != where[m]])
        where[m] = dst
        plan.append((h / offered if offered else 0.0, m, dst))
    prof = cProfile.Profile() if profile else None
    pending: Dict[str, List[float]] = collections.defaultdict(list)
    latencies: List[float] = []
    start = clock()
    if prof:
        prof.enable()
    i, ras = 0, []
    while i < len(plan):
        now = clock() - start
        while i < len(plan) and plan[i][0] <= now:
            at, m, dst = plan[i]
            pending[m].append(start + at)
            ras += attach(net, m, dst, ACCESS_PORTS[int(m[-2:], 16) % len(ACCESS_PORTS)],
                          clock)
            i += 1
        for m, t in ras:
            if pending.get(m):
                latencies.append(t - pending[m].pop(0))
        ras.clear()
        if offered and i < len(plan) and plan[i][0] > clock() - start:
            time.sleep(max(0.0, min(0.0005, plan[i][0] - (clock() - start))))
    elapsed = clock() - start
    if prof:
        prof.disable()
    lat_ms = sorted(x * 1000 for x in latencies)
    result = {
        "offered_per_s": offered or "max", "mns": n_mns, "maars": maars, "mode": mode,
        "handovers": handovers, "completed": len(lat_ms), "elapsed_s": round(elapsed, 3),
        "achieved_per_s": round(len(lat_ms) / elapsed, 1),
        "p50_ms": round(pct(lat_ms, 50), 3), "p99_ms": round(pct(lat_ms, 99), 3),
        "max_ms": round(lat_ms[-1], 3) if lat_ms else None,
        "flow_mods": net.flow_mods,
    }
    if prof:
        result["profile"] = profile_breakdown(prof)
    return result


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def _bucket(filename: str, func: str) -> str:
    f = filename.replace("\\", "/")
    if "/dmm_ryu/wire/mh/" in f:
        return "dmm_ryu.wire.mh (Mobility Header codec)"
    if "/dmm_ryu/core/" in f:
        return "dmm_ryu.core (protocol core)"
    if "/dmm_ryu/of/" in f:
        return "dmm_ryu.of (FlowMod building)"
    if "/dmm_ryu/" in f:
        return "dmm_ryu runtime (controller.py, ndp, inet, view)"
    if "/ryu/" in f or "/os_ken/" in f:
        return "ryu/os-ken ofproto parser classes"
    if "ipaddress" in f:
        return "stdlib ipaddress"
    if "logging" in f:
        return "logging"
    if "/benchmarks/" in f:
        return "load generator itself"
    return "other stdlib/builtins"


def profile_breakdown(prof: cProfile.Profile, top: int = 12) -> dict:
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())
    buckets: Dict[str, float] = collections.Counter()
    funcs = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        buckets[_bucket(filename, func)] += tt
        funcs.append((tt, ct, nc, f"{filename.split('/site-packages/')[-1].split('/work/main/')[-1]}:{line}({func})"))
    funcs.sort(reverse=True)
    return {
        "total_s": round(total, 3),
        "by_component_pct": {k: round(100 * v / total, 1)
                             for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "top_functions_by_self_time": [
            {"function": name, "self_s": round(tt, 4), "cumulative_s": round(ct, 4), "calls": nc}
            for tt, ct, nc, name in funcs[:top]],
    }


def count_rules(ctl: DmmController, dpid: int) -> int:
    out = ctl.switch_connected(dpid)
    return sum(1 for o in out for m in o.msgs
               if getattr(m, "command", None) == ctl.env.ofproto.OFPFC_ADD)


def flow_entries(mns_list=(1, 10, 100, 1000), anchored_list=(0, 1, 2, 3), mode="proxy") -> list:
    """Rules per MAAR after real controller runs: ``m`` MNs each walking
    maar(A+1) ... maar2 -> maar1 so they end at maar1 holding ``A``
    anchored prefixes; counts the ADD FlowMods of a full rebuild of the
    serving MAAR (maar1) and of one anchor (maar2)."""
    rows = []
    for a in anchored_list:
        for m in mns_list:
            net = new_domain(max(a + 1, 2), mode)
            ctl = net.dmm
            for n in range(m):
                for hop in range(a, -1, -1):
                    attach(net, mac(n + 1), hop + 1, ACCESS_PORTS[n % len(ACCESS_PORTS)],
                           time.perf_counter)
            base = count_rules(new_domain(2, mode).dmm, 1)
            rows.append({"mns": m, "anchored_prefixes_per_mn": a,
                         "serving_maar_rules": count_rules(ctl, 1),
                         "anchor_maar_rules": count_rules(ctl, 2) if a else None,
                         "base_rules": base})
    return rows


def summary(values):
    values = sorted(values)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "n": len(values)}
