"""Handover rate against the real stack: ``ryu-manager dmm_ryu.app`` and
netdev OVS bridges, many emulated MNs.

Each MAAR is a real bridge whose transport port is a patch port into a
standalone fabric bridge (the CMD has a bridge of its own there); its access
port is a veth whose other end we hold with an AF_PACKET socket.  An MN is
a MAC address: a handover is a Router Solicitation from that MAC on another
MAAR's access veth, and it completes when the RA for that MAC comes back out
of that veth.  Everything between (packet-in, the core, PBU/PBA packet-outs
crossing the fabric, FlowMod bundles) is the product running for real.
"""
from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List

from dmm_ryu.wire.inet import mac_bytes
from dmm_ryu.wire.ndp import router_solicitation
from dmm_ryu.testbed.controller import free_port, running_manager
from dmm_ryu.testbed.ovs import vsctl, wait_for

ACCESS_PORT, TRANSPORT_PORT = 2, 1
CMD_DPID = 0x100


def _domain(maars: int) -> str:
    lines = ["mode: proxy", "timers: {lifetime: 400}", "maars:"]
    for i in range(1, maars + 1):
        lines.append(f"  rr{i}: {{dpid: {i}, address: '2001:db8:ffff::{i}', "
                     f"pool: '2001:db8:{i}::/48', access_ports: [{ACCESS_PORT}], "
                     f"transport_ports: [{TRANSPORT_PORT}]}}")
    lines.append(f"cmd: {{address: '2001:db8:ffff::100', dpid: {CMD_DPID}, port: 1}}")
    return "\n".join(lines) + "\n"


def _mac(n: int) -> str:
    return "0a:bb:00:%02x:%02x:%02x" % (n >> 16 & 255, n >> 8 & 255, n & 255)


@contextlib.contextmanager
def _bridges(maars: int, port: int):
    """Fabric + MAAR + CMD netdev bridges, patch-wired; access veths."""
    names = ["rrfab"] + [f"rr{i}" for i in range(1, maars + 1)] + ["rrcmd"]
    veths = [f"rrv{i}" for i in range(1, maars + 1)]
    try:
        vsctl("--may-exist", "add-br", "rrfab", "--", "set", "bridge", "rrfab",
              "datapath_type=netdev", "fail_mode=standalone")
        for i, name in enumerate(names[1:], start=1):
            dpid = CMD_DPID if name == "rrcmd" else i
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


class _Listener(threading.Thread):
    """Records when each MN's RA comes out of one access veth."""

    def __init__(self, intf: str, seen: Dict[bytes, List[float]]):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
        self.sock.bind((intf, 0))
        self.sock.settimeout(0.2)
        self.seen, self.running = seen, True

    def run(self):
        while self.running:
            try:
                frame = self.sock.recv(2048)
            except socket.timeout:
                continue
            if len(frame) > 54 and frame[20] == 58 and frame[54] == 134:
                self.seen.setdefault(frame[:6], []).append(time.perf_counter())


def _pct(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(workdir: Path, offered: float, mns: int = 200, handovers: int = 1000, maars: int = 4,
        seed: int = 1) -> dict:
    """Register ``mns`` MNs, then ``handovers`` moves at ``offered``/s."""
    workdir.mkdir(parents=True, exist_ok=True)
    domain = workdir / "realrate.yaml"
    domain.write_text(_domain(maars))
    port = free_port()
    with running_manager("ryu-manager", domain, workdir, port) as log, \
            _bridges(maars, port) as veths:
        if not wait_for(lambda: log.read_text().count("joined") >= maars + 1, timeout=30):
            raise RuntimeError(f"bridges did not join; see {log}")
        seen: Dict[bytes, List[float]] = {}
        listeners = [_Listener(v, seen) for v in veths]
        senders = [socket.socket(socket.AF_PACKET, socket.SOCK_RAW) for _ in veths]
        for sock, veth in zip(senders, veths):
            sock.bind((veth, 0))
        for thread in listeners:
            thread.start()
        rng = random.Random(seed)
        where = {n: n % maars for n in range(mns)}
        for n in range(mns):
            senders[where[n]].send(router_solicitation(_mac(n)))
        wait_for(lambda: len(seen) >= mns, timeout=60, interval=0.1)
        registered = len(seen)
        seen.clear()
        sent: List[tuple] = []
        start = time.perf_counter()
        for h in range(handovers):
            n = rng.randrange(mns)
            where[n] = rng.choice([m for m in range(maars) if m != where[n]])
            delay = start + h / offered - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent.append((mac_bytes(_mac(n)), time.perf_counter()))
            senders[where[n]].send(router_solicitation(_mac(n)))
        wait_for(lambda: sum(len(v) for v in seen.values()) >= handovers, timeout=30,
                 interval=0.1)
        for thread in listeners:
            thread.running = False
        latencies, done_at = _match(sent, seen)
    elapsed = (max(done_at) - start) if done_at else float("nan")
    return {"offered_per_s": offered, "mns": mns, "maars": maars, "handovers": handovers,
            "registered_first": registered, "completed": len(latencies),
            "achieved_per_s": round(len(latencies) / elapsed, 1) if latencies else 0,
            "p50_ms": round(_pct(latencies, 50) * 1000, 2) if latencies else None,
            "p99_ms": round(_pct(latencies, 99) * 1000, 2) if latencies else None}


def _match(sent, seen):
    """Pair each RS with the next RA to the same MN (in order per MN)."""
    pending: Dict[bytes, List[float]] = {}
    for mac, t in sent:
        pending.setdefault(mac, []).append(t)
    latencies, done = [], []
    for mac, times in seen.items():
        for t_rs, t_ra in zip(pending.get(mac, []), times):
            if t_ra >= t_rs:
                latencies.append(t_ra - t_rs)
                done.append(t_ra)
    return latencies, done


if __name__ == "__main__":
    import json
    import sys

    for rate in [float(r) for r in sys.argv[1:]] or [100.0, 200.0, 400.0]:
        print(json.dumps(run(Path("/tmp/dmm-realrate"), rate)), flush=True)
