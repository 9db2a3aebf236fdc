"""Handover-rate load generator: the controller runtime and its send path,
without a socket.

One in-process :class:`dmm_ryu.runtime.controller.DmmController` (the object
the Ryu/os-ken app wraps) is fed synthetic packet-ins: Router Solicitations
from distinct MACs on access ports of several MAARs.  Its outputs go through
the app's own :class:`dmm_ryu.shell.sender.Sender` into :class:`SwitchLink`
stand-ins for Ryu's ``Datapath``: every framework message is numbered and
serialised exactly as ``Datapath.send_msg`` does, packed messages are taken
as written, and the fabric reads the PBU/PBA packet-outs back *from the
bytes* and delivers them as packet-ins to the switch owning the destination
MAC (zero delay).  A handover is complete when the S-MAAR's first Router
Advertisement for that MN leaves (the controller's "registered" moment).
Only the socket write (Ryu's send queue) and OVS are left out, so this is
an upper bound for the real stack.  Besides the wall-clock rate each run
reports handovers per second of its own CPU time (``per_cpu_s``): on a
machine shared with other work that is the figure that compares.

Honesty rules (issue 17): each measured run belongs in a fresh process
(:func:`run_cold` spawns one), so no module-level cache is warm from an
earlier run; the handovers-per-MN ratio is stated and fixed (work per
handover grows with it, sessions never end); a handover is never started
for an MN whose previous one has not completed (it is skipped and counted);
everything not completed is reported.  Logging runs at ``log_level``
(default INFO, ryu-manager's default) into /dev/null, so log formatting is
paid as in production.

This file imports nothing from ``benchmarks``: run as a script with another
checkout on PYTHONPATH it measures that checkout (the "before" column).

    python benchmarks/loadgen.py rate --offered 0 --mns 2000 --ratio 1
    python benchmarks/loadgen.py memory --mns 10000 [--by-line 25]
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import json
import logging
import os
import pstats
import random
import statistics
import struct
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Deque, Dict, List, Optional, Tuple

from dmm_ryu.config.domainfile import parse
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.shell.sender import Sender
from dmm_ryu.wire import ndp
from dmm_ryu.wire.inet import mac_text

RA = ndp.ROUTER_ADVERTISEMENT
ACCESS_PORTS = list(range(2, 34))
MODES = ("proxy", "relay", "locator", "pmipv6")
_HEADER = struct.Struct("!BBHI")
_PACKET_OUT = struct.Struct("!IIH6x")  # buffer_id, in_port, actions_len
_OUTPUT = struct.Struct("!HHI")  # ofp_action_output: type, len, port
OFPT_FLOW_MOD, OFPT_PACKET_OUT, OFPT_EXPERIMENTER = 14, 13, 4
ONF_ET_BUNDLE_ADD_MESSAGE = 2301
#: Where a bundle add's inner message keeps its type (after the ONF bundle-add header).
BUNDLED_TYPE = 24 + 1
#: A FlowMod's command byte: after its header, cookie, cookie mask and table id.
FLOW_MOD_COMMAND = 8 + 8 + 8 + 1
OFPP_CONTROLLER = 0xFFFFFFFD


#: Binding lifetime (s): longer than any run, so no binding expires while a
#: slow (traced, or shared-machine) run is still registering the others.
LIFETIME = 65532  # a multiple of 4 s, the wire unit
#: Sessions each MAAR may serve: every prefix its label bits number (16 bits
#: with 8 MAARs), so a 100,000-MN run is not cut at the default 4,096.
MAX_BINDINGS = 1 << 16


def domain(maars: int, mode: str = "proxy", lifetime: int = LIFETIME) -> dict:
    """A domain of ``maars`` MAARs (32 access ports each), CMD on its own switch."""
    raw = {"mode": mode, "upstream_mac": "0e:00:00:00:ff:fe",
           "timers": {"lifetime": lifetime}, "maars": {},
           "cmd": {"address": "2001:db8:ffff::100", "dpid": 0x100, "port": 1}}
    if mode == "pmipv6":
        raw["lma"] = "maar1"
    for i in range(1, maars + 1):
        raw["maars"][f"maar{i}"] = {"dpid": i, "address": f"2001:db8:ffff::{i:x}",
                                    "pool": f"2001:db8:{i:x}::/48", "max_bindings": MAX_BINDINGS,
                                    "access_ports": ACCESS_PORTS, "transport_ports": [1]}
    return raw


def mac(n: int) -> str:
    return "0a:%02x:%02x:%02x:%02x:%02x" % ((n >> 32) & 255, (n >> 24) & 255, (n >> 16) & 255,
                                             (n >> 8) & 255, n & 255)


class Wire:
    """What crossed the links: OpenFlow messages by kind, bytes, writes."""

    def __init__(self) -> None:
        self.counts: collections.Counter = collections.Counter()

    def per(self, handovers: int) -> dict:
        return {k: round(v / handovers, 2) for k, v in sorted(self.counts.items())}


class SwitchLink:
    """A Ryu ``Datapath`` as the sender sees it: ``send_msg`` numbers and
    serialises like the framework's; ``send`` takes the bytes, and the
    fabric parses them (packet-outs) as the switch would."""

    def __init__(self, dpid: int, ctl: DmmController, fabric: "Fabric") -> None:
        self.id = dpid
        self.xid = 0
        self.ofproto, self.ofproto_parser = ctl.env.ofproto, ctl.env.parser
        self._fabric = fabric

    def set_xid(self, msg) -> int:
        self.xid = (self.xid + 1) & self.ofproto.MAX_XID
        msg.set_xid(self.xid)
        return self.xid

    def send_msg(self, msg) -> None:
        if msg.xid is None:
            self.set_xid(msg)
        msg.serialize()
        self.send(msg.buf)

    def send(self, buf) -> None:
        self._fabric.receive(self.id, bytes(buf))


class Fabric:
    """The switches and the transport between them: PBU/PBA packet-outs
    become packet-ins at the owner of the destination MAC; RAs are
    recorded as completions."""

    def __init__(self, ctl: DmmController) -> None:
        self.ctl = ctl
        self.by_mac = {bytes.fromhex(n.mac.replace(":", "")): (n.dpid, n.uplink)
                       for n in ctl.directory}
        self.queue: Deque[Tuple[int, int, bytes]] = collections.deque()
        self.wire = Wire()
        self.ras: List[Tuple[str, float]] = []
        self.sender = Sender(ctl.stats)
        for dpid in sorted({n.dpid for n in ctl.directory}):
            self.sender.datapaths[dpid] = SwitchLink(dpid, ctl, self)

    def receive(self, dpid: int, wire: bytes) -> None:
        counts = self.wire.counts
        counts["writes"] += 1
        counts["bytes"] += len(wire)
        offset = 0
        while offset < len(wire):
            _, msg_type, length, _ = _HEADER.unpack_from(wire, offset)
            counts["messages"] += 1
            if msg_type == OFPT_PACKET_OUT:
                counts["packet_outs"] += 1
                self._packet_out(dpid, wire[offset:offset + length])
            elif msg_type == OFPT_FLOW_MOD:
                counts["flow_mods"] += 1
            elif msg_type == OFPT_EXPERIMENTER:
                exp_type = struct.unpack_from("!I", wire, offset + 12)[0]
                if exp_type == ONF_ET_BUNDLE_ADD_MESSAGE:
                    counts["bundle_adds"] += 1
                    counts["flow_mods"] += wire[offset + BUNDLED_TYPE] == OFPT_FLOW_MOD
                else:
                    counts["bundle_controls"] += 1
            offset += length

    def _packet_out(self, dpid: int, msg: bytes) -> None:
        _, in_port, actions_len = _PACKET_OUT.unpack_from(msg, 8)
        _, _, port = _OUTPUT.unpack_from(msg, 24)
        data = msg[24 + actions_len:]
        if data[12:14] == b"\x86\xdd" and data[20] == 135:
            to_dpid, to_port = self.by_mac[data[:6]]
            if in_port != OFPP_CONTROLLER:
                to_dpid = dpid  # re-entering the same switch (OFPP_TABLE)
            self.queue.append((to_dpid, to_port, data))
        elif data[54] == RA:
            self.ras.append((mac_text(data[:6]), time.perf_counter()))

    def send(self, outputs) -> None:
        self.sender.send(outputs)

    def run(self) -> None:
        while self.queue:
            dpid, port, frame = self.queue.popleft()
            self.send(self.ctl.packet_in(dpid, port, frame, time.perf_counter()))

    def run_rounds(self) -> int:
        """Until quiet, as the app's drain does: every frame queued now is
        handled in one ``ctl.batch()`` (one commit per node), then what the
        round sent is carried, queueing the next round; how many rounds."""
        rounds = 0
        while self.queue:
            frames = list(self.queue)
            self.queue.clear()
            with self.ctl.batch() as batch:
                for dpid, port, frame in frames:
                    self.ctl.packet_in(dpid, port, frame, time.perf_counter())
            self.send(batch.outputs)
            rounds += 1
        return rounds


def quiet_logging(level: str = "INFO") -> None:
    """Log at ``level`` into /dev/null: formatting is paid, nothing printed;
    the per-message signalling log off, as the app's default."""
    logger = logging.getLogger("dmm")
    logger.handlers[:] = [logging.StreamHandler(open(os.devnull, "w"))]
    logger.propagate = False
    logger.setLevel(getattr(logging, level))
    logging.getLogger("dmm.signalling").setLevel(logging.WARNING)


def new_controller(maars: int, mode: str) -> Tuple[DmmController, Fabric]:
    ctl = DmmController(parse(domain(maars, mode)))
    fabric = Fabric(ctl)
    for dpid in sorted({n.dpid for n in ctl.directory}):
        fabric.send(ctl.switch_connected(dpid))
    fabric.wire.counts.clear()
    return ctl, fabric


def attach(ctl: DmmController, fabric: Fabric, mac_: str, maar: int, port: int) -> None:
    fabric.send(ctl.packet_in(maar, port, ndp.router_solicitation(mac_), time.perf_counter()))
    fabric.run()


def port_of(n: int) -> int:
    return ACCESS_PORTS[n % len(ACCESS_PORTS)]


def register(ctl: DmmController, fabric: Fabric, n_mns: int, maars: int) -> Dict[int, int]:
    """First attachment of ``n_mns`` MNs, spread over the MAARs; where each is."""
    where = {}
    for n in range(n_mns):
        where[n] = n % maars + 1
        attach(ctl, fabric, mac(n + 1), where[n], port_of(n))
    fabric.ras.clear()
    return where


def plan_moves(where: Dict[int, int], ratio: int, maars: int, seed: int) -> List[Tuple[int, int]]:
    """``ratio`` rounds; in each, every MN moves once (random order) to a
    random other MAAR: exactly ``ratio`` handovers per MN."""
    rng = random.Random(seed)
    at = dict(where)
    plan = []
    for _ in range(ratio):
        order = list(at)
        rng.shuffle(order)
        for n in order:
            dst = rng.choice([i for i in range(1, maars + 1) if i != at[n]])
            at[n] = dst
            plan.append((n, dst))
    return plan


def run_rate(offered: float, n_mns: int, ratio: int = 1, maars: int = 8, mode: str = "proxy",
             seed: int = 1, profile: bool = False, handovers: Optional[int] = None) -> dict:
    """Open loop: ``n_mns`` MNs registered first, then ``ratio`` handovers
    per MN scheduled at ``offered``/s (0: as fast as possible); latency is
    the RA's time minus the scheduled time (queueing included).
    ``handovers`` (tests, smoke runs) cuts the plan short."""
    ctl, fabric = new_controller(maars, mode)
    where = register(ctl, fabric, n_mns, maars)
    plan = plan_moves(where, ratio, maars, seed)[:handovers]
    fabric.wire.counts.clear()
    macs = {n: mac(n + 1) for n in where}
    in_flight: Dict[str, float] = {}
    latencies: List[float] = []
    skipped = 0
    prof = cProfile.Profile() if profile else None
    clock = time.perf_counter
    start, cpu_start = clock(), time.process_time()
    if prof:
        prof.enable()
    for i, (n, dst) in enumerate(plan):
        due = start + i / offered if offered else clock()
        if offered:
            _wait_until(due)
        m = macs[n]
        if m in in_flight:
            skipped += 1
            continue
        in_flight[m] = due
        attach(ctl, fabric, m, dst, port_of(n))
        for done, t in fabric.ras:
            started = in_flight.pop(done, None)
            if started is not None:
                latencies.append(t - started)
        fabric.ras.clear()
    elapsed, cpu = clock() - start, time.process_time() - cpu_start
    if prof:
        prof.disable()
    lat_ms = sorted(x * 1000 for x in latencies)
    result = {
        "offered_per_s": offered or "max", "mns": n_mns, "handovers_per_mn": ratio,
        "maars": maars, "mode": mode, "handovers": len(plan), "completed": len(lat_ms),
        "skipped_in_flight": skipped, "incomplete": len(in_flight),
        "errors": ctl.stats.errors(), "elapsed_s": round(elapsed, 3),
        "achieved_per_s": round(len(lat_ms) / elapsed, 1) if elapsed else None,
        "per_cpu_s": round(len(lat_ms) / cpu, 1) if cpu else None,
        "p50_ms": round(pct(lat_ms, 50), 3), "p99_ms": round(pct(lat_ms, 99), 3),
        "max_ms": round(lat_ms[-1], 3) if lat_ms else None,
        "wire_per_handover": fabric.wire.per(max(1, len(lat_ms))),
    }
    if prof:
        result["profile"] = profile_breakdown(prof)
    return result


def _wait_until(due: float) -> None:
    """Open loop: the schedule, not the controller, sets the pace (sleep
    most of a long gap, spin the last half millisecond)."""
    gap = due - time.perf_counter()
    if gap > 0.001:
        time.sleep(gap - 0.0005)
    while time.perf_counter() < due:
        pass


def memory(n_mns: int, maars: int = 8, mode: str = "proxy", scrapes: int = 3,
           by_line: int = 0) -> dict:
    """Runtime memory per MN (tracemalloc, from after the switches connect
    to after every MN registered and moved once), then the /metrics scrape
    time over those ``n_mns`` bindings (tracing stopped).  ``by_line``: also
    that many source lines holding most of it (bytes and blocks per MN)."""
    from dmm_ryu.ops import metrics
    from dmm_ryu.ops.runtime_view import ControllerView

    ctl, fabric = new_controller(maars, mode)
    gc.collect()
    tracemalloc.start()
    # Taken before the base is read, so the snapshot's own objects are not counted.
    before = tracemalloc.take_snapshot() if by_line else None
    base = tracemalloc.get_traced_memory()[0]
    plan = plan_moves(register(ctl, fabric, n_mns, maars), 1, maars, seed=1)
    for n, dst in plan:
        attach(ctl, fabric, mac(n + 1), dst, port_of(n))
        fabric.ras.clear()
    del plan  # the load generator's own list, not the runtime's memory
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    top = _top_lines(before, by_line, n_mns) if before else None
    tracemalloc.stop()
    registry = metrics.registry_for(ControllerView(ctl, fabric.send))
    times, size = [], 0
    for _ in range(scrapes):  # CPU time: the event loop's cost, whatever else runs
        t = time.process_time()
        size = len(metrics.exposition(registry))
        times.append((time.process_time() - t) * 1000)
    return {"mns": n_mns, "mode": mode, "handovers_per_mn": 1,
            "bytes_per_mn": round(held / n_mns), "total_mib": round(held / 2**20, 1),
            "metrics_scrape_ms": round(statistics.median(times), 2),
            "metrics_bytes": size, "bindings": ctl.cmd_node.count(),
            "errors": ctl.stats.errors(), **({"by_line": top} if top else {})}


def _top_lines(before: tracemalloc.Snapshot, top: int, n_mns: int) -> List[dict]:
    """The ``top`` source lines whose allocations grew most since ``before``."""
    grown = tracemalloc.take_snapshot().compare_to(before, "lineno")
    here = str(Path(__file__).resolve().parents[1]) + "/"
    return [{"line": str(s.traceback).replace(here, ""),
             "bytes_per_mn": round(s.size_diff / n_mns, 1),
             "blocks_per_mn": round(s.count_diff / n_mns, 2)} for s in grown[:top]]


def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def _bucket(filename: str) -> str:
    f = filename.replace("\\", "/")
    for marker, name in (("/dmm_ryu/wire/mh/", "dmm_ryu.wire.mh (Mobility Header codec)"),
                         ("/dmm_ryu/core/", "dmm_ryu.core (protocol core)"),
                         ("/dmm_ryu/of/", "dmm_ryu.of (OpenFlow building/packing)"),
                         ("/dmm_ryu/shell/", "dmm_ryu.shell (sender)"),
                         ("/dmm_ryu/", "dmm_ryu runtime (nodes, ndp, inet)"),
                         ("/ryu/", "ryu/os-ken ofproto classes and serialiser"),
                         ("/os_ken/", "ryu/os-ken ofproto classes and serialiser"),
                         ("netaddr", "netaddr (framework's address conversion)"),
                         ("ipaddress", "stdlib ipaddress"), ("logging", "logging"),
                         ("/benchmarks/", "load generator itself")):
        if marker in f:
            return name
    return "other stdlib/builtins"


def profile_breakdown(prof: cProfile.Profile, top: int = 12) -> dict:
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())
    buckets: Dict[str, float] = collections.Counter()
    funcs = []
    for (filename, line, func), (_, nc, tt, ct, _) in stats.stats.items():
        buckets[_bucket(filename)] += tt
        short = filename.split("/site-packages/")[-1].split("/dmm_ryu/")[-1]
        funcs.append((tt, ct, nc, f"{short}:{line}({func})"))
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
    """ADD FlowMods of a switch's rebuild (framework objects or packed)."""
    out = ctl.switch_connected(dpid)
    add = ctl.env.ofproto.OFPFC_ADD
    return (sum(1 for o in out for m in o.msgs if getattr(m, "command", None) == add)
            + sum(1 for o in out for m in o.raw
                  if m[1] == OFPT_FLOW_MOD and m[FLOW_MOD_COMMAND] == add))


def flow_entries(mns_list=(1, 10, 100, 1000), anchored_list=(0, 1, 2, 3), mode="proxy") -> list:
    """Rules per MAAR after real controller runs: ``m`` MNs each walking
    maar(A+1) ... maar2 -> maar1 so they end at maar1 holding ``A``
    anchored prefixes; counts the ADD FlowMods of a full rebuild of the
    serving MAAR (maar1) and of one anchor (maar2)."""
    rows = []
    for a in anchored_list:
        for m in mns_list:
            ctl, fabric = new_controller(max(a + 1, 2), mode)
            for n in range(m):
                for hop in range(a, -1, -1):
                    attach(ctl, fabric, mac(n + 1), hop + 1, port_of(n))
            base = count_rules(new_controller(2, mode)[0], 1)
            rows.append({"mns": m, "anchored_prefixes_per_mn": a,
                         "serving_maar_rules": count_rules(ctl, 1),
                         "anchor_maar_rules": count_rules(ctl, 2) if a else None,
                         "base_rules": base})
    return rows


# --- fresh-process runs -------------------------------------------------------

def run_cold(tree: Path, kind: str, timeout: float = 1800, **kwargs) -> dict:
    """One measurement in a fresh interpreter with ``tree``'s dmm_ryu (this
    file's code, that checkout's package): nothing warm from another run."""
    argv = [sys.executable, str(Path(__file__).resolve()), kind]
    for key, value in kwargs.items():
        if value is True:
            argv.append(f"--{key}")
        elif value not in (None, False):
            argv += [f"--{key}", str(value)]
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=str(tree))
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
    return json.loads(done.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("rate", "memory"))
    parser.add_argument("--offered", type=float, default=0.0)
    parser.add_argument("--mns", type=int, default=2000)
    parser.add_argument("--ratio", type=int, default=1)
    parser.add_argument("--maars", type=int, default=8)
    parser.add_argument("--mode", default="proxy", choices=MODES)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--by-line", type=int, default=0, metavar="N",
                        help="memory: also the N source lines holding most of it")
    args = parser.parse_args(argv)
    quiet_logging(args.log_level)
    if args.kind == "rate":
        result = run_rate(args.offered, args.mns, args.ratio, args.maars, args.mode, args.seed,
                          args.profile)
    else:
        result = memory(args.mns, args.maars, args.mode, by_line=args.by_line)
    result["log_level"] = args.log_level
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
