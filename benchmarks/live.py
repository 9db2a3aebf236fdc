"""Live testbed plumbing for the benchmarks: the real manager (ryu-manager)
with timestamped logs, the Mininet testbed with per-link netem delays, MN
address discovery, and parsing of the controller's signalling log lines.

Everything here only *uses* dmm_ryu.testbed and mininet_topos; nothing in
those packages is modified.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from dmm_ryu.testbed.controller import all_joined, free_port, running_manager, stop
from dmm_ryu.testbed.network import TRANSPORT_MTU, testbed
from dmm_ryu.testbed.ovs import wait_for
from mininet_topos.dmm import domain_yaml, mn_mac

ROOT = Path(__file__).resolve().parent.parent

LOG_CONF = """[loggers]
keys=root

[handlers]
keys=file

[formatters]
keys=stamped

[logger_root]
level=INFO
handlers=file

[handler_file]
class=FileHandler
level=INFO
formatter=stamped
args=('{path}', 'w')

[formatter_stamped]
format=%(created).6f %(name)s %(message)s
"""


def write_domain(path: Path, maars: int, mns: int, mode: str, lifetime: int = 60,
                 aggregation_timeout: Optional[float] = None) -> str:
    """domain_yaml's file, with an aggregation timeout added to ``timers``."""
    text = domain_yaml(maars, mns, mode, lifetime)
    if aggregation_timeout is not None:
        text = text.replace(f"timers: {{lifetime: {lifetime}}}",
                            f"timers: {{lifetime: {lifetime}, "
                            f"aggregation_timeout: {aggregation_timeout}}}")
        assert "aggregation_timeout" in text
    path.write_text(text)
    return text


def mn_id(k: int) -> str:
    return mn_mac(k).replace(":", "") + "@dmm.example"


def link_intfs(net, a: str, b: str):
    link = net.linksBetween(net.get(a), net.get(b))[0]
    return link.intf1.name, link.intf2.name


def insert_delays(net, delays: Dict[str, float], veths: List[str]):
    """Put every ``node``-fabric link behind the user-space delay line
    (``benchmarks.delayline``): ``delays[node]`` ms each way, so a one-way
    trip X -> Y over the fabric costs d_X + d_Y.  Returns (process, veths
    to delete, the commands run)."""
    specs, cmds = [], []
    for n, (node, ms) in enumerate(sorted(delays.items())):
        if ms <= 0:
            continue
        a, b = link_intfs(net, node, "t0")
        fabric_end = b if b.startswith("t0-") else a
        near, far = f"bdl{os.getpid() % 10000}{n}a", f"bdl{os.getpid() % 10000}{n}b"
        subprocess.run(["ip", "link", "del", near], capture_output=True)  # a killed run's
        veths.append(near)
        steps = [["ovs-vsctl", "del-port", "t0", fabric_end],
                 ["ip", "link", "add", near, "type", "veth", "peer", "name", far],
                 ["ip", "link", "set", near, "up"], ["ip", "link", "set", far, "up"],
                 ["ovs-vsctl", "add-port", "t0", far]]
        for intf in (fabric_end, near, far):
            steps.append(["ip", "link", "set", intf, "mtu", str(TRANSPORT_MTU)])
            steps.append(["ethtool", "-K", intf, "tx", "off", "tso", "off", "gso", "off",
                          "gro", "off"])
        for step in steps:
            subprocess.run(step, check=step[0] != "ethtool", capture_output=True)
            cmds.append(" ".join(step))
        specs.append(f"{fabric_end},{near},{ms}")
    proc = None
    if specs:
        argv = [sys.executable, "-m", "benchmarks.delayline", *specs]
        proc = subprocess.Popen(argv, cwd=str(ROOT))
        cmds.append(" ".join(argv[1:]))
    return proc, veths, cmds


@contextlib.contextmanager
def live_domain(workdir: Path, mode: str, maars: int = 3, mns: int = 1, cns: int = 1,
                aggregation_timeout: Optional[float] = None, manager: str = "ryu-manager",
                delays: Optional[Dict[str, float]] = None, lifetime: int = 60):
    """Controller + Mininet with per-link delays; yields (net, log path, info)."""
    workdir.mkdir(parents=True, exist_ok=True)
    domain = workdir / "dmm.yaml"
    write_domain(domain, maars, mns, mode, lifetime, aggregation_timeout)
    logconf = workdir / "logging.conf"
    log = workdir / "controller.log"
    logconf.write_text(LOG_CONF.format(path=log))
    port = free_port()
    extra = f"\n[DEFAULT]\nlog_config_file = {logconf}\n"
    with _exclusive(), running_manager(manager, domain, workdir, port, extra_conf=extra), \
            testbed(port, maars=maars, mns=mns, cns=cns) as net:
        proc, veths = None, []
        try:
            proc, veths, cmds = insert_delays(net, delays or {}, veths)
            if not wait_for(lambda: all_joined(log, maars), timeout=30):
                raise RuntimeError(f"switches did not join the controller (see {log})")
            yield net, log, {"domain_file": str(domain), "delay_commands": cmds,
                             "manager": manager, "domain_yaml": domain.read_text()}
        finally:
            if proc is not None:
                stop(proc, timeout=5)
            for veth in veths:
                subprocess.run(["ip", "link", "del", veth], capture_output=True)


@contextlib.contextmanager
def _exclusive():
    """One live benchmark testbed at a time on this machine (the smoke test
    may run inside someone's full suite while a benchmark runs)."""
    with open("/tmp/dmm-ryu-bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def mn_addresses(net, k: int) -> List[str]:
    mn = net.get(f"mn{k}")
    out = mn.cmd(f"ip -6 -o addr show dev mn{k}-eth0 scope global")
    return re.findall(r"inet6 ([0-9a-f:]+)/", out)


def wait_address(net, k: int, pool_index: int, timeout: float = 15.0) -> Optional[str]:
    prefix = f"2001:db8:{pool_index:x}:"

    def found():
        return next((a for a in mn_addresses(net, k) if a.startswith(prefix)), None)
    return wait_for(found, timeout=timeout, interval=0.1)


def bounce(net, k: int) -> None:
    """The MN's link down and up: a fresh RS / DAD probe (first attachment)."""
    mn = net.get(f"mn{k}")
    mn.cmd(f"ip link set mn{k}-eth0 down; ip link set mn{k}-eth0 up")


LINE = re.compile(r"^(\d+\.\d+) (\S+) (.*)$")


def read_log(log: Path, since: float = 0.0) -> List[tuple]:
    rows = []
    for line in log.read_text().splitlines():
        m = LINE.match(line)
        if m and float(m.group(1)) >= since:
            rows.append((float(m.group(1)), m.group(3)))
    return rows


