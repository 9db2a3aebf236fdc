"""The handover scenario on the live testbed: one mode, one MN, a path of MAARs.

The MN is an unmodified Linux stack: it gets its addresses from the
controller's RAs (SLAAC, DAD) and nothing is configured on it.  At each
MAAR it opens a long-lived TCP flow from the newest prefix; a ping from
the first prefix runs throughout.  Each move is a ``roam`` (the MN keeps
its carrier and notices nothing) or a ``flap`` (its link goes down and
up); see ``network.move``.  After every move the scenario records
what an operator would ask: how long the signalling took, how long data
stopped, whether every flow and every address still works, and where each
prefix is anchored.  Checks only observe; ``report.py`` judges and prints.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path
from typing import Dict, List, Optional

from dmm_ryu.testbed.capture import Captures
from dmm_ryu.testbed.controller import free_port, joined, running_managers
from dmm_ryu.testbed.network import attach, leave, move, testbed
from dmm_ryu.testbed.ovs import dump_flows, wait_for
from mininet_topos.dmm import cn_address, domain_yaml, maar_pool, mn_mac

FLOW_PORT = 5001
PING_INTERVAL = 0.05
REGISTRATION_TIMEOUT = 15.0
FLOW_PATIENCE = 12.0
FLOWING_WINDOW = 1.0
#: after the CMD dropped the binding: until every MAAR forgot the MN, then
#: until the last packet reached the captures
LEAVE_SETTLE = 5.0
#: the testbed's access links are veth pairs, Ethernet: RFC 5213's Access
#: Technology Type 3 (IEEE 802.3); the product's default stays 802.11
ACCESS_TECHNOLOGY = "802.3"
CAPTURE_DRAIN = 1.0


@dataclass
class Step:
    """What was observed after the MN arrived at ``dst`` (``radio``: how the
    move looked to the MN, ``network.RADIO_MODELS``; None at attachment)."""

    mode: str
    src: Optional[str]
    dst: str
    moved_at: float
    radio: Optional[str] = None
    registered_after_s: Optional[float] = None  # None: never registered at dst
    signalling_ms: Optional[float] = None
    interruption_ms: Optional[float] = None
    prefixes: List[dict] = field(default_factory=list)
    reachable: Dict[str, bool] = field(default_factory=dict)
    flows_alive: Dict[str, bool] = field(default_factory=dict)
    new_flow_prefix: Optional[str] = None
    maars: List[dict] = field(default_factory=list)
    dmmctl: str = ""


@dataclass
class ModeRun:
    """One mode's run: its steps and the end-of-session cleanup check."""

    mode: str
    steps: List[Step] = field(default_factory=list)
    flows_started: Dict[str, float] = field(default_factory=dict)
    left_clean: Optional[dict] = None
    out: Optional[Path] = None
    left_at: Optional[float] = None


def mn_id(k: int = 1) -> str:
    return mn_mac(k).replace(":", "") + "@dmm.example"


def rest_get(port: int, path: str):
    """GET a REST resource; ``None`` for 404."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dmm/v1{path}", timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def global_addresses(mn) -> Dict[IPv6Network, dict]:
    """The MN's global addresses by /64: address and DAD/deprecation state."""
    found = {}
    for line in mn.cmd("ip -6 -o addr show scope global").splitlines():
        match = re.search(r"inet6 ([0-9a-f:]+)/(\d+)", line)
        if match:
            net = IPv6Network(f"{match.group(1)}/{match.group(2)}", strict=False)
            found[net] = {"address": match.group(1), "tentative": "tentative" in line,
                          "deprecated": "deprecated" in line}
    return found


def _usable(mn, prefix: IPv6Network) -> Optional[str]:
    """The MN's address in ``prefix`` once the kernel lets a socket bind it
    (DAD done): the ``ip`` flags lag behind for a moment after a link flap."""
    entry = global_addresses(mn).get(prefix)
    if not entry or entry["tentative"]:
        return None
    probe = (f"{sys.executable} -c \"import socket; "
             f"socket.socket(socket.AF_INET6).bind(('{entry['address']}', 0))\" && echo bound")
    return entry["address"] if "bound" in mn.cmd(probe) else None


def _registration_ms(log: Path, maar: str, after: int) -> Optional[float]:
    """The controller's own figure for the newest registration at ``maar``."""
    text = log.read_text()[after:]
    found = re.findall(rf"registered at {maar} in ([0-9.]+) ms", text)
    return float(found[-1]) if found else None


def _ping_gap_ms(ping_log: Path, start: float, end: float) -> Optional[float]:
    """Longest silence between replies of the running ping inside [start, end]
    (from the second before the move); None if no reply came after the move."""
    stamps = [float(m) for m in re.findall(r"^\[([0-9.]+)\] \d+ bytes from",
                                            ping_log.read_text(), re.M)]
    window = [t for t in stamps if start - 1 <= t <= end]
    if len(window) < 2 or window[-1] <= start:
        return None
    return max(b - a for a, b in zip(window, window[1:])) * 1000


def _flows_alive(flows_log: Path, since: float, started: Dict[str, float]) -> Dict[str, bool]:
    """Each flow (by source prefix) is carrying data again after ``since``:
    its byte count grew during the last ``FLOWING_WINDOW`` seconds logged
    (one retransmitted segment that got through is not a flow that
    resumed), on its first and only connection; one opened before ``since``
    must also have been carrying data before it (so it crossed the move)."""
    rows = [json.loads(line) for line in flows_log.read_text().splitlines() if line]
    recent = max(since, rows[-1]["t"] - FLOWING_WINDOW) if rows else since
    alive = {}
    for prefix, opened in started.items():
        net = IPv6Network(prefix)
        mine = [r for r in rows if IPv6Address(r["peer"]) in net]
        after = [r["bytes"] for r in mine if r["t"] >= recent]
        carried = len(after) > 1 and after[-1] > after[0]
        crossed = opened > since or any(r["t"] < since and r["bytes"] for r in mine)
        alive[prefix] = carried and crossed and len({r["conn"] for r in mine}) == 1
    return alive


class Scenario:
    """Drives one mode on a fresh testbed; use as a context manager.

    ``distributed``: the CMD and each MAAR in a controller process of their
    own (``[dmm] nodes``), each switch connected to its node's process only;
    the scenario then asks each process about its own node.  ``dereg``:
    the de-registration method of draft 3.5 (``serving-only`` or ``renew``).
    """

    def __init__(self, mode: str, out: Path, manager: str = "ryu-manager", maars: int = 3,
                 lifetime: int = 40, detach_guard: float = 3.0, distributed: bool = False,
                 dereg: str = "serving-only"):
        self.mode, self.out, self.manager, self.maars = mode, out, manager, maars
        self.nodes = ["cmd"] + [f"maar{i}" for i in range(1, maars + 1)]
        self.mns = 1  #: MNs in the testbed; mn1 is the one the scenario drives
        self.run = ModeRun(mode, out=out)
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob("*"):
            stale.unlink()
        domain = out / "dmm.yaml"
        domain.write_text(domain_yaml(maars, 1, mode=mode, lifetime=lifetime)
                          + f"detach_guard: {detach_guard}\nderegistration: {dereg}\n"
                          + f"access_technology: {ACCESS_TECHNOLOGY}\n")
        self.domain_file = domain
        # {process: (OpenFlow port, REST port)}; a process is named after the
        # node it serves, "" for the one serving every node
        self.ports = {name: (free_port(), free_port())
                      for name in (self.nodes if distributed else [""])}
        self._procs: List[subprocess.Popen] = []

    def _process_of(self, node: str) -> str:
        return node if node in self.ports else ""

    def log_of(self, node: str) -> Path:
        """The log of the controller process serving ``node``."""
        return self.managers[self._process_of(node)].log

    def rest_of(self, node: str) -> int:
        """The REST port of the controller process serving ``node``."""
        return self.ports[self._process_of(node)][1]

    @property
    def rest_port(self) -> int:
        """The CMD's REST API: the binding cache."""
        return self.rest_of("cmd")

    def plan(self) -> dict:
        """{process: (OpenFlow port, REST port, its [dmm] lines)}."""
        return {name: (of, rest, f"nodes = {name}\n" if name else "")
                for name, (of, rest) in self.ports.items()}

    def switches(self) -> dict:
        """{switch: the OpenFlow port(s) of its controller(s)}."""
        return {node: self.ports[self._process_of(node)][0] for node in self.nodes}

    def __enter__(self):
        self._stack = contextlib.ExitStack()
        try:
            self.managers = self._stack.enter_context(running_managers(
                self.manager, self.domain_file, self.out, self.plan()))
            self.net = self._stack.enter_context(testbed(self.switches(), maars=self.maars,
                                                         mns=self.mns))
            self.captures = Captures(self.net, self.out)
            self._stack.callback(self.captures.stop)
            self._stack.callback(self._stop_processes)
        except BaseException:
            self._stack.close()
            raise
        self.mn, self.cn = self.net.get("mn1"), self.net.get("cn1")
        return self

    def __exit__(self, *exc):
        """Processes, captures, testbed, controller: always, in that order."""
        return self._stack.__exit__(*exc)

    def _stop_processes(self) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait()

    def _spawn(self, host, argv: List[str], log: Path) -> subprocess.Popen:
        with open(log, "w") as out:
            proc = host.popen(argv, stdout=out, stderr=subprocess.STDOUT)
        self._procs.append(proc)
        return proc

    def _wait_serving(self, maar: str) -> bool:
        def serving():
            bce = rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}")
            return bce is not None and bce["serving_maar"] == maar
        return bool(wait_for(serving, timeout=REGISTRATION_TIMEOUT, interval=0.05))

    def _local_prefix(self, maar: str) -> Optional[IPv6Network]:
        bce = rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}") or {"prefixes": []}
        pool = IPv6Network(maar_pool(int(maar[4:])))
        return next((IPv6Network(p["prefix"]) for p in bce["prefixes"]
                     if IPv6Network(p["prefix"]).subnet_of(pool)), None)

    def maar_views(self) -> List[dict]:
        """Each MAAR as the process serving it reports it."""
        return [rest_get(self.rest_of(node), f"/maars/{node}") for node in self.nodes[1:]]

    def start(self) -> None:
        """Wait for the MAARs, start the captures and the CN's flow server,
        then bring the MN's link up at maar1."""
        if not wait_for(lambda: all(joined(self.log_of(n), n) for n in self.nodes), timeout=30):
            raise RuntimeError("the switches did not all join their controllers; see "
                               + ", ".join(str(m.log) for m in self.managers.values()))
        self.captures.start()
        self._spawn(self.cn, [sys.executable, "-m", "dmm_ryu.testbed.probes", "server",
                              "--port", str(FLOW_PORT), "--log", str(self.out / "flows.jsonl")],
                    self.out / "flow-server.log")
        attach(self.net, 1)
        step = self._arrived(None, "maar1", time.time(), log_offset=0)
        time.sleep(1.0)
        self.observe(step)

    def _arrived(self, src: Optional[str], dst: str, moved_at: float, log_offset: int,
                 radio: Optional[str] = None) -> Step:
        step = Step(self.mode, src, dst, moved_at, radio)
        if self._wait_serving(dst):
            step.registered_after_s = time.time() - moved_at
        local = self._local_prefix(dst)
        if local is not None:
            wait_for(lambda: _usable(self.mn, local), timeout=10, interval=0.1)
            if str(local) not in self.run.flows_started:
                self._start_flow(local)
                step.new_flow_prefix = str(local)
        # The CMD's cache (REST) can show the move before the S-MAAR has its
        # PBA and logs the registration: wait for that line.
        step.signalling_ms = wait_for(lambda: _registration_ms(self.log_of(dst), dst,
                                                               log_offset),
                                      timeout=5, interval=0.05)
        self.run.steps.append(step)
        return step

    def _start_flow(self, prefix: IPv6Network) -> None:
        """A TCP flow (and, for the first prefix, a ping) from ``prefix``."""
        source = _usable(self.mn, prefix)
        tag = str(prefix.network_address).strip(":").replace(":", "_")
        self._spawn(self.mn, [sys.executable, "-m", "dmm_ryu.testbed.probes", "client",
                              "--bind", source, "--to", cn_address(1), "--port",
                              str(FLOW_PORT)], self.out / f"flow-{tag}.log")
        if not self.run.flows_started:
            self.ping_log = self.out / "ping.log"
            self._spawn(self.mn, ["ping", "-6", "-D", "-i", str(PING_INTERVAL), "-W", "1", "-I",
                                  source, cn_address(1)], self.ping_log)
        self.run.flows_started[str(prefix)] = time.time()

    def handover(self, src: str, dst: str, radio: str = "flap", settle: float = 1.0) -> Step:
        """Move the MN (radio model ``radio``) and observe the domain once it
        settled at ``dst``."""
        offset = len(self.log_of(dst).read_text())
        moved_at = time.time()
        move(self.net, 1, src, dst, radio=radio)
        step = self._arrived(src, dst, moved_at, offset, radio)
        time.sleep(settle)
        self.observe(step)
        return step

    def observe(self, step: Step) -> None:
        """Reachability of every MN address from the CN, flow liveness,
        anchoring, and the data interruption seen by the ping."""
        bce = rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}") or {"prefixes": []}
        step.prefixes = [{"prefix": p["prefix"], "anchor": p["anchor"], "local": p["local"]}
                         for p in bce["prefixes"]]
        step.maars = [{k: m[k] for k in ("name", "pool_used", "bindings", "tunnels")}
                      for m in self.maar_views()]
        step.dmmctl = subprocess.run(
            [str(Path(sys.executable).parent / "dmmctl"), "--url",
             f"http://127.0.0.1:{self.rest_port}", "binding", mn_id()],
            capture_output=True, text=True).stdout
        for prefix, entry in global_addresses(self.mn).items():
            step.reachable[entry["address"]] = any(
                " 0% packet loss" in self.cn.cmd(f"ping -6 -c1 -W1 {entry['address']}")
                for _ in range(3))
        # TCP resumes at its next retransmission, which backs off while the
        # MN's addresses are in DAD: give it up to FLOW_PATIENCE seconds.
        def alive():
            return _flows_alive(self.out / "flows.jsonl", step.moved_at + 0.2,
                                self.run.flows_started)
        wait_for(lambda: all(alive().values()), timeout=FLOW_PATIENCE, interval=0.2)
        step.flows_alive = alive()
        if step.src is not None and hasattr(self, "ping_log"):
            step.interruption_ms = _ping_gap_ms(self.ping_log, step.moved_at, time.time())

    def leave(self, lifetime_wait: float) -> dict:
        """The MN leaves the domain: flows stop, it leaves radio range.  After
        the guard and the signalling, nothing of it may remain anywhere.
        The captures run until the leave's last PBA is on the wire (every
        MAAR forgot the MN) and a drain after it, then stop."""
        self.run.left_at = time.time()
        for proc in self._procs[1:]:
            proc.kill()
        leave(self.net, 1)
        bindings_gone = wait_for(lambda: rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}")
                                 is None, timeout=lifetime_wait, interval=0.2)
        wait_for(lambda: not self._leftovers(), timeout=LEAVE_SETTLE, interval=0.2)
        time.sleep(CAPTURE_DRAIN)
        self.captures.stop()
        stale_rules = {f"maar{i}": [line for line in dump_flows(f"maar{i}").splitlines()
                                    if "cookie=0xd302" in line or "cookie=0xd303" in line]
                       for i in range(1, self.maars + 1)}
        self.run.left_clean = {"binding_removed": bool(bindings_gone),
                               "leftovers": self._leftovers(),
                               "stale_rules": {k: v for k, v in stale_rules.items() if v}}
        return self.run.left_clean

    def _leftovers(self) -> Dict[str, dict]:
        """What each MAAR still holds of any MN (prefixes, BCEs, tunnels)."""
        return {m["name"]: {"pool_used": m["pool_used"], "bindings": m["bindings"],
                            "tunnels": len(m["tunnels"])}
                for m in self.maar_views() if m["pool_used"] or m["bindings"] or m["tunnels"]}


def run_mode(mode: str, out: Path, manager: str = "ryu-manager",
             path=("maar1", "maar2", "maar3", "maar1"), radios=("flap",),
             distributed: bool = False, dereg: str = "serving-only", lifetime: int = 40,
             linger: float = 0.0) -> ModeRun:
    """The whole scenario for one mode: attach, move along ``path``, stay
    ``linger`` seconds at its end (long enough, and the S-MAAR refreshes and
    "renew" P-MAARs renew on the wire), leave.  The moves take the radio
    models in ``radios`` in turn (cycling); ``distributed``: a controller
    process per node (see ``Scenario``)."""
    with Scenario(mode, out, manager=manager, maars=len(set(path)), lifetime=lifetime,
                  distributed=distributed, dereg=dereg) as sc:
        sc.start()
        for (src, dst), radio in zip(zip(path, path[1:]), itertools.cycle(radios)):
            sc.handover(src, dst, radio=radio)
        time.sleep(linger)
        sc.leave(lifetime_wait=30)
    return sc.run
