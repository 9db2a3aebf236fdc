"""Real Open vSwitch helpers (tests, demo): netdev bridges that are always
removed, ``ovs-ofctl`` dumps, polling."""
from __future__ import annotations

import contextlib
import os
import subprocess
import time


def vsctl(*args: str) -> str:
    return subprocess.run(
        ["ovs-vsctl", "--timeout=10", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def dump_flows(bridge: str) -> str:
    return subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", bridge],
        check=True, capture_output=True, text=True,
    ).stdout


def unique_name(prefix: str) -> str:
    """Short (≤ 15 chars, the Linux limit) bridge name unique to this run."""
    return f"{prefix}{os.getpid() % 100000}"[:15]


@contextlib.contextmanager
def netdev_bridge(name: str, dpid: int, controller):
    """A user-space (netdev) OpenFlow 1.3 bridge pointed at ``controller``
    (one target, or a list: the bridge connects to each)."""
    targets = [controller] if isinstance(controller, str) else list(controller)
    vsctl("--if-exists", "del-br", name)
    vsctl(
        "add-br", name,
        "--", "set", "bridge", name, "datapath_type=netdev", "protocols=OpenFlow13",
        f"other-config:datapath-id={dpid:016x}", "fail_mode=secure",
        "--", "set-controller", name, *targets,
    )
    try:
        yield name
    finally:
        vsctl("--if-exists", "del-br", name)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.25):
    """Poll ``predicate`` until it returns a truthy value or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
