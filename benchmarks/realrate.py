"""Handover rate against the real stack: ``ryu-manager dmm_ryu.app`` and
netdev OVS bridges, many emulated MNs.

Each MAAR is a real bridge whose transport port is a patch port into a
standalone fabric bridge (the CMD has a bridge of its own there); its access
port is a veth whose other end we hold with an AF_PACKET socket.  An MN is
a MAC address: a handover is a Router Solicitation from that MAC on another
MAAR's access veth, and it completes when the RA for that MAC comes back out
of that veth.  Everything between (packet-in, the core, PBU/PBA packet-outs
crossing the fabric, FlowMod bundles) is the product running for real.

The controller side is a *plan* (:func:`one_process`, or
:mod:`benchmarks.distributed`'s per-node plans): which ``ryu-manager``
processes run, which nodes each serves, and which process each bridge
connects to.  A handover is never started for an MN whose previous one is
still in flight; one that sees no RA within ``timeout`` is counted lost.
"""
from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from dmm_ryu.wire.inet import mac_bytes
from dmm_ryu.wire.ndp import router_solicitation
from dmm_ryu.testbed.controller import free_port, running_managers
from dmm_ryu.testbed.ovs import vsctl, wait_for

ACCESS_PORT, TRANSPORT_PORT = 2, 1
CMD_DPID = 0x100
#: The RS → RA bound a handover must meet, and the one the saturation point uses.
P99_BOUND_MS = 50.0
#: Per-event signalling lines cost the controller ~0.5 ms a handover: off.
QUIET = "log_signalling = false\n"
REGISTER_PER_S = 250.0


def node_names(maars: int) -> List[str]:
    """The domain's nodes: the CMD, then the MAARs rr1..rrN."""
    return ["cmd"] + [f"rr{i}" for i in range(1, maars + 1)]


def domain_text(maars: int) -> str:
    lines = ["mode: proxy", "timers: {lifetime: 400}", "maars:"]
    for i in range(1, maars + 1):
        lines.append(f"  rr{i}: {{dpid: {i}, address: '2001:db8:ffff::{i}', "
                     f"pool: '2001:db8:{i}::/48', access_ports: [{ACCESS_PORT}], "
                     f"transport_ports: [{TRANSPORT_PORT}]}}")
    lines.append(f"cmd: {{address: '2001:db8:ffff::100', dpid: {CMD_DPID}, port: 1}}")
    return "\n".join(lines) + "\n"


def one_process(maars: int, extra: str = QUIET) -> Tuple[dict, Dict[str, str]]:
    """One manager serving every node: (running_managers plan, {node: process})."""
    return {"": (free_port(), 0, extra)}, {node: "" for node in node_names(maars)}


def _mac(n: int) -> str:
    return "0a:bb:00:%02x:%02x:%02x" % (n >> 16 & 255, n >> 8 & 255, n & 255)


def _bridge(node: str) -> str:
    return "rrcmd" if node == "cmd" else node


@contextlib.contextmanager
def _bridges(ports: Dict[str, int]):
    """Fabric + MAAR + CMD netdev bridges, patch-wired, each MAAR/CMD bridge
    pointed at its node's controller port (``ports``: {node: port}); yields
    the MAARs' access veths in order."""
    names = ["rrfab"] + [_bridge(node) for node in ports]
    veths = [f"rrv{i}" for i in range(1, len(ports))]
    try:
        vsctl("--may-exist", "add-br", "rrfab", "--", "set", "bridge", "rrfab",
              "datapath_type=netdev", "fail_mode=standalone")
        for i, (node, port) in enumerate(ports.items()):
            name, dpid = _bridge(node), CMD_DPID if node == "cmd" else i
            vsctl("--may-exist", "add-br", name, "--", "set", "bridge", name,
                  "datapath_type=netdev", "protocols=OpenFlow13", "fail_mode=secure",
                  f"other-config:datapath-id={dpid:016x}", "--", "set-controller", name,
                  f"tcp:127.0.0.1:{port}")
            vsctl("add-port", name, f"{name}-up", "--", "set", "interface", f"{name}-up",
                  "type=patch", f"options:peer={name}-fab", f"ofport_request={TRANSPORT_PORT}",
                  "--", "add-port", "rrfab", f"{name}-fab", "--", "set", "interface",
                  f"{name}-fab", "type=patch", f"options:peer={name}-up")
        for i, veth in enumerate(veths, start=1):
            subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name",
                            f"{veth}p"], check=True)
            for end in (veth, f"{veth}p"):  # no IPv6 of their own: only emulated MNs talk
                subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{end}.disable_ipv6=1"])
                subprocess.run(["ip", "link", "set", end, "up"], check=True)
            vsctl("add-port", f"rr{i}", f"{veth}p", "--", "set", "interface", f"{veth}p",
                  f"ofport_request={ACCESS_PORT}")
        yield veths
    finally:
        for name in names:
            vsctl("--if-exists", "del-br", name)
        for veth in veths:
            subprocess.run(["ip", "link", "del", veth], capture_output=True)


class Tracker:
    """The handovers in flight, at most one per MN: {MAC: (MAAR index, RS
    time)}.  The listener threads complete them; the driver expires them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: Dict[bytes, Tuple[int, float]] = {}
        self.latencies: List[float] = []
        self.done_at: List[float] = []

    def start(self, mac: bytes, maar: int, at: float) -> None:
        with self.lock:
            self.pending[mac] = (maar, at)

    def busy(self, mac: bytes) -> bool:
        return mac in self.pending

    def saw_ra(self, maar: int, mac: bytes, at: float) -> None:
        """An RA for ``mac`` left MAAR ``maar``: it completes the MN's handover there."""
        with self.lock:
            started = self.pending.get(mac)
            if started and started[0] == maar and at >= started[1]:
                del self.pending[mac]
                self.latencies.append(at - started[1])
                self.done_at.append(at)

    def expire(self, now: float, timeout: float) -> List[bytes]:
        """Drop (and return) the handovers older than ``timeout``: lost."""
        with self.lock:
            lost = [mac for mac, (_, at) in self.pending.items() if now - at > timeout]
            for mac in lost:
                del self.pending[mac]
        return lost

    def reset(self) -> None:
        with self.lock:
            self.pending.clear()
            self.latencies, self.done_at = [], []


class _Listener(threading.Thread):
    """Hands each RA leaving one MAAR's access veth to the tracker."""

    def __init__(self, intf: str, maar: int, tracker: Tracker):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
        self.sock.bind((intf, 0))
        self.sock.settimeout(0.2)
        self.maar, self.tracker, self.running = maar, tracker, True

    def run(self):
        while self.running:
            try:
                frame = self.sock.recv(2048)
            except socket.timeout:
                continue
            if len(frame) > 54 and frame[20] == 58 and frame[54] == 134:
                self.tracker.saw_ra(self.maar, frame[:6], time.perf_counter())
        self.sock.close()


def pct(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Stack:
    """The bridges, the managers of ``plan`` and the emulated MNs' sockets.

    ``plan``: (running_managers plan, {node: process name}); ``mns`` MNs
    spread over the MAARs are registered on entry, paced (a burst would
    only measure OVS's packet-in queue), RS resent to the silent ones
    every 2 s, up to 5 times."""

    def __init__(self, workdir: Path, plan: Tuple[dict, Dict[str, str]], mns: int,
                 seed: int = 1) -> None:
        self.workdir, (self.processes, self.process_of) = workdir, plan
        self.maars = len(self.process_of) - 1
        self.mns, self.rng = mns, random.Random(seed)
        self.where = {n: n % self.maars for n in range(mns)}
        self.macs = {n: mac_bytes(_mac(n)) for n in range(mns)}
        self.tracker = Tracker()

    def __enter__(self) -> "Stack":
        self.workdir.mkdir(parents=True, exist_ok=True)
        domain = self.workdir / "realrate.yaml"
        domain.write_text(domain_text(self.maars))
        ports = {node: self.processes[proc][0] for node, proc in self.process_of.items()}
        self._stack = contextlib.ExitStack()
        try:
            self.managers = self._stack.enter_context(
                running_managers("ryu-manager", domain, self.workdir, self.processes))
            veths = self._stack.enter_context(_bridges(ports))
            self._wait_joined()
            self._open(veths)
            self.registered = self._register()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc):
        for thread in self.listeners:
            thread.running = False
        for sock in self.senders:
            sock.close()
        return self._stack.__exit__(*exc)

    def _wait_joined(self) -> None:
        served: Dict[str, int] = {}
        for proc in self.process_of.values():
            served[proc] = served.get(proc, 0) + 1
        logs = {proc: self.managers[proc].log for proc in served}
        if not wait_for(lambda: all(logs[p].read_text().count(" joined") >= n
                                    for p, n in served.items()), timeout=30):
            raise RuntimeError(f"bridges did not join; see {list(logs.values())}")

    def _open(self, veths: List[str]) -> None:
        self.listeners = [_Listener(v, i, self.tracker) for i, v in enumerate(veths)]
        self.senders = [socket.socket(socket.AF_PACKET, socket.SOCK_RAW) for _ in veths]
        for sock, veth in zip(self.senders, veths):
            sock.bind((veth, 0))
        for thread in self.listeners:
            thread.start()

    def send_rs(self, n: int) -> None:
        """MN ``n`` solicits at its MAAR (``where``): a registration or handover starts."""
        self.tracker.start(self.macs[n], self.where[n], time.perf_counter())
        self.senders[self.where[n]].send(router_solicitation(_mac(n)))

    def _register(self, per_s: float = REGISTER_PER_S) -> int:
        silent = list(range(self.mns))
        for _ in range(5):
            for i, n in enumerate(silent):
                if i % 25 == 0:
                    time.sleep(25 / per_s)
                self.send_rs(n)
            wait_for(lambda: not self.tracker.pending, timeout=2, interval=0.05)
            silent = [n for n in silent if self.tracker.busy(self.macs[n])]
            if not silent:
                break
        self.tracker.reset()
        return self.mns - len(silent)

    def _free_mn(self) -> Optional[int]:
        """A random MN with no handover in flight (None after 20 busy draws)."""
        for _ in range(20):
            n = self.rng.randrange(self.mns)
            if not self.tracker.busy(self.macs[n]):
                return n
        return None

    def step(self, offered: float, handovers: int, timeout: float = 3.0) -> dict:
        """``handovers`` moves at ``offered``/s (the schedule slips while every
        MN is in flight); then wait for the stragglers."""
        self.tracker.reset()
        lost, stalled = 0, 0
        start = time.perf_counter()
        for h in range(handovers):
            delay = start + h / offered - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            n = self._free_mn()
            while n is None:
                stalled += 1
                time.sleep(0.001)
                lost += len(self.tracker.expire(time.perf_counter(), timeout))
                n = self._free_mn()
            if h % 64 == 0:
                lost += len(self.tracker.expire(time.perf_counter(), timeout))
            self.where[n] = self.rng.choice([m for m in range(self.maars) if m != self.where[n]])
            self.send_rs(n)
        sent_for = time.perf_counter() - start
        wait_for(lambda: not self.tracker.pending, timeout=timeout + 0.5, interval=0.05)
        lost += len(self.tracker.expire(float("inf"), -1))
        return self._row(offered, handovers, start, sent_for, lost, stalled)

    def _row(self, offered, handovers, start, sent_for, lost, stalled) -> dict:
        lat, done = list(self.tracker.latencies), list(self.tracker.done_at)
        elapsed = (max(done) - start) if done else float("nan")
        return {"offered_per_s": offered, "handovers": handovers, "completed": len(lat),
                "lost": lost, "sent_per_s": round(handovers / sent_for, 1),
                "stalled_all_busy_ms": stalled,
                "achieved_per_s": round(len(lat) / elapsed, 1) if lat else 0,
                "p50_ms": round(pct(lat, 50) * 1000, 2) if lat else None,
                "p99_ms": round(pct(lat, 99) * 1000, 2) if lat else None}


def run(workdir: Path, offered: float, mns: int = 200, handovers: int = 1000, maars: int = 4,
        seed: int = 1) -> dict:
    """One cold stack (one process): register ``mns`` MNs, then ``handovers`` moves at ``offered``/s."""
    with Stack(workdir, one_process(maars), mns, seed) as stack:
        row = stack.step(offered, handovers)
    return {**row, "mns": mns, "maars": maars, "registered_first": stack.registered}


if __name__ == "__main__":
    import json
    import sys

    for rate in [float(r) for r in sys.argv[1:]] or [100.0, 200.0, 400.0]:
        print(json.dumps(run(Path("/tmp/dmm-realrate"), rate)), flush=True)
