"""The warm-restart scenario on the live testbed (issue #13).

The MN's session is running (flows, pings); the controller dies by
``kill -9`` and is started again with the same configuration and state
directory.  Recorded: whether the data plane kept forwarding while no
controller existed, how long the restarted one took to give the binding
back, and what a 10 ms ping from the CN to each of the MN's addresses saw
across the whole restart (every echo request numbered, so a loss is a
sequence number that never came back).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from dmm_ryu.testbed.controller import Manager, all_joined
from dmm_ryu.testbed.ovs import dump_flows, wait_for
from dmm_ryu.testbed.scenario import Scenario, Step, global_addresses, mn_id, rest_get

FAST_PING_INTERVAL = 0.01
REPLY = re.compile(r"^\[([0-9.]+)\] \d+ bytes from \S+ icmp_seq=(\d+)", re.M)
SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")


@dataclass
class PingRecord:
    """One fast ping from the CN, read after it ended."""

    target: str
    transmitted: int = 0
    received: int = 0
    missing: List[int] = field(default_factory=list)  # sequence numbers never answered
    replies_while_down: int = 0
    longest_gap_ms: float = 0.0

    @property
    def lost(self) -> int:
        return self.transmitted - self.received


@dataclass
class RestartRecord:
    """What the restart did, as an operator would measure it."""

    killed_at: float
    restarted_at: float = 0.0
    binding_back_after_s: Optional[float] = None  # from the restart; None: never
    binding_before: Optional[dict] = None
    binding_after: Optional[dict] = None
    pings: Dict[str, PingRecord] = field(default_factory=dict)  # by prefix
    flows_before: Dict[str, str] = field(default_factory=dict)  # bridge -> dump-flows
    flows_after: Dict[str, str] = field(default_factory=dict)
    step: Optional[Step] = None  # reachability and flows observed after it


def read_ping(log: Path, target: str, down: float, up: float) -> PingRecord:
    """Parse a ``ping -D`` log: totals, unanswered sequence numbers, replies
    between ``down`` and ``up`` (the controller's outage), longest silence."""
    text = log.read_text()
    replies = [(float(t), int(s)) for t, s in REPLY.findall(text)]
    summary = SUMMARY.search(text)
    record = PingRecord(target)
    if summary:
        record.transmitted, record.received = int(summary.group(1)), int(summary.group(2))
    seen = {s for _, s in replies}
    record.missing = sorted(set(range(1, record.transmitted + 1)) - seen)
    record.replies_while_down = sum(1 for t, _ in replies if down <= t <= up)
    stamps = [t for t, _ in replies]
    record.longest_gap_ms = max((b - a for a, b in zip(stamps, stamps[1:])), default=0) * 1000
    return record


def _binding_view(bce: Optional[dict]) -> Optional[dict]:
    """What must survive a restart: where the MN is served and its prefixes."""
    if bce is None:
        return None
    return {"serving_maar": bce["serving_maar"],
            "prefixes": sorted((p["prefix"], p["anchor"], p["local"]) for p in bce["prefixes"])}


class RestartScenario(Scenario):
    """A :class:`Scenario` (one controller process) whose controller can be
    killed and started again."""

    def _bridges(self) -> List[str]:
        return [f"maar{i}" for i in range(1, self.maars + 1)] + ["cmd"]

    def _fast_pings(self, count: int) -> Dict[str, tuple]:
        """``ping -i 0.01 -c count`` from the CN to each global address of
        the MN; by prefix: (address, process, log)."""
        pings = {}
        for prefix, entry in global_addresses(self.mn).items():
            log = self.out / f"cn-ping-{prefix.network_address}.log".replace(":", "_")
            with open(log, "w") as out:
                proc = self.cn.popen(["ping", "-6", "-D", "-i", str(FAST_PING_INTERVAL),
                                      "-W", "1", "-c", str(count), entry["address"]],
                                     stdout=out, stderr=subprocess.STDOUT)
            self._procs.append(proc)
            pings[str(prefix)] = (entry["address"], proc, log)
        return pings

    @property
    def log(self) -> Path:
        """The log of the controller process running now."""
        return self.managers[""].log

    def kill_controller(self) -> float:
        """``kill -9`` the manager; returns when it died.  Its log is kept
        as ``<log>.killed``."""
        proc = self.managers[""].proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.log.rename(self.log.with_suffix(".killed"))
        return time.time()

    def restart_controller(self) -> float:
        """Start the manager again on the same configuration and workdir (so
        the same state directory); returns when it started, before the
        switches reconnected.  The testbed's exit stops it."""
        started = time.time()
        of_port, rest_port = self.ports[""]
        self.managers[""] = Manager(self.manager, self.domain_file, self.out, of_port, rest_port)
        return started

    def crash_and_restart(self, outage: float = 3.0, before: float = 1.0,
                          ping_seconds: float = 30.0) -> RestartRecord:
        """Fast pings run from ``before`` s ahead of the kill until
        ``ping_seconds`` later; the controller stays dead ``outage`` s."""
        pings = self._fast_pings(int(ping_seconds / FAST_PING_INTERVAL))
        time.sleep(before)
        flows_before = {b: dump_flows(b) for b in self._bridges()}
        binding = _binding_view(rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}"))
        record = RestartRecord(self.kill_controller(), binding_before=binding,
                               flows_before=flows_before)
        time.sleep(outage)
        record.restarted_at = self.restart_controller()
        if wait_for(lambda: all_joined(self.log, self.maars), timeout=30, interval=0.1):
            back = wait_for(lambda: rest_get(self.rest_port, f"/cmd/bindings/{mn_id()}"),
                            timeout=10, interval=0.05)
            record.binding_after = _binding_view(back)
            record.binding_back_after_s = time.time() - record.restarted_at if back else None
        time.sleep(1.0)
        record.flows_after = {b: dump_flows(b) for b in self._bridges()}
        for prefix, (address, proc, log) in pings.items():
            proc.wait(timeout=ping_seconds * 2 + 30)
            record.pings[prefix] = read_ping(log, address, record.killed_at, record.restarted_at)
        record.step = Step(self.mode, binding and binding["serving_maar"],
                           binding and binding["serving_maar"], record.killed_at, "restart")
        self.run.steps.append(record.step)
        self.observe(record.step)
        return record
