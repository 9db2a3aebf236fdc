"""Crash consistency (issue #13): ``kill -9`` at every store commit of a
handover script, and the restarted controller completes the session.

A forked child runs the whole domain (:class:`FakeDomain`) on journal
or SQLite stores wrapped by the fault-injection hook, through attach at maar1 and
moves to maar2, maar3 and back to maar1; ``DMM_FAULT_KILL_AFTER_WRITES=N``
or ``DMM_FAULT_KILL_BEFORE_WRITE=N`` makes it die by SIGKILL at its Nth
commit.  The parent then starts a new domain on the same files (fresh
switches, rebuilt from state when they connect), lets the MN chatter at
the MAAR it last moved to, lets time pass, and checks the domain's
invariants; then the MN moves once more and they must hold again.

Every commit of the script is a kill point in every mode, killed after
it for odd and before it for even commit numbers (CI time);
``DMM_CRASH_LOOP_LONG=1`` kills on both sides of every commit of a longer
script (two rounds of the path).
"""
from __future__ import annotations

import os
import signal
import traceback
from pathlib import Path
from ipaddress import IPv6Address
from typing import Callable, List, NamedTuple

import pytest

from dmm_ryu.of.labels import transport_mac
from dmm_ryu.store import fault
from dmm_ryu.shell.state import BACKENDS, open_store
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.tools import fuzzcheck
from tests.unit.test_controller import MN_ID, MN_MAC, attach, downlink, where

MODES = ["relay", "locator", "proxy", "pmipv6"]
LONG = bool(os.environ.get("DMM_CRASH_LOOP_LONG"))
ROUNDS = 2 if LONG else 1
PATH = ("maar1",) + ("maar2", "maar3", "maar1") * ROUNDS
SETTLE = 8  # half-second steps after the restart: PBU retransmissions, guards
STEP = 0.5  # virtual seconds between the script's moves
RESTART_TAKES = 1.0  # virtual seconds from the kill to the new controller
KINDS = (fault.KILL_AFTER_ENV, fault.KILL_BEFORE_ENV)


def store_factory(backend: str, directory: Path, wrap: Callable = lambda s: s):
    """One file of ``backend`` per node in ``directory``, each store through ``wrap``."""
    return lambda name: wrap(open_store(backend, str(directory), name))


def run_script(mode: str, backend: str, directory: Path, wrap: Callable) -> None:
    """The handover script; the MN's position and the clock are written
    before each move (the MN moved before the controller heard of it)."""
    dom = FakeDomain(domain_text(mode), store_of=store_factory(backend, directory, wrap))
    for maar in PATH:
        (directory / "at").write_text(f"{maar} {dom.now}")
        attach(dom, maar)
        dom.advance(STEP)


def last_seen(directory: Path):
    """(the MAAR the MN is at, the clock when it got there)."""
    maar, now = (directory / "at").read_text().split()
    return maar, float(now)


class RestartedDomain(FakeDomain):
    """A domain whose clock starts where the dead one's stopped (plus the
    restart): the MAARs date their PBUs by it, and the CMD refuses an
    attachment dated before the one it registered."""

    def __init__(self, text: str, store_of, now: float) -> None:
        self._start = now
        super().__init__(text, store_of)

    def _controller(self):
        self.now = self._start
        return super()._controller()


def commits_of_script(mode: str, backend: str, directory: Path) -> int:
    """How many commits the whole script makes (the kill points)."""
    switch = fault.KillSwitch()
    run_script(mode, backend, directory, lambda s: fault.FaultInjectingStore(s, switch=switch))
    return switch.done


def crash_child(mode: str, backend: str, directory: Path, kind: str, nth: int) -> int:
    """Run the script in a forked child armed to die at commit ``nth``;
    returns the child's wait status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.environ[kind] = str(nth)
            fault.process_switch.cache_clear()
            run_script(mode, backend, directory, fault.wrap_from_env)
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1]


def restart(mode: str, backend: str, directory: Path) -> FakeDomain:
    """A new controller on the dead one's files; the MN chatters where it is."""
    at, now = last_seen(directory)
    dom = RestartedDomain(domain_text(mode), store_factory(backend, directory), now + STEP + RESTART_TAKES)
    settle(dom, at)
    return dom


def settle(dom: FakeDomain, maar: str) -> None:
    attach(dom, maar)
    for _ in range(SETTLE):
        dom.advance(STEP)


class Binding(NamedTuple):
    mn_id: str
    serving: IPv6Address
    anchors: tuple


def domain_bindings(dom: FakeDomain) -> List[Binding]:
    """The CMD's bindings, or in pmipv6 mode (RFC 5213, the CMD idles)
    the LMA's BCEs: Proxy-CoA and home network prefix."""
    lma = dom.dmm.cmd_node.core.config.domain.lma
    if lma is None:
        return [Binding(b.mn_id, b.serving, tuple(b.anchors)) for b in dom.dmm.cmd_node.bindings()]
    core = dom.dmm.nodes[dom.dmm.node_name(lma)].core
    return [Binding(b.mn_id, b.serving or lma, ((b.local, lma),))
            for b in core.bces.values() if b.final and not b.leaving and b.local is not None]


def problems(dom: FakeDomain, at: str) -> List[str]:
    """Every violated domain invariant, in words (empty: all hold)."""
    found = []
    bindings = domain_bindings(dom)
    owners = {}
    for b in bindings:
        for prefix, _ in b.anchors:
            if prefix in owners:
                found.append(f"{prefix} in the bindings of {owners[prefix]} and {b.mn_id}")
            owners[prefix] = b.mn_id
    anchored = {(b.mn_id, p, a) for b in bindings for p, a in b.anchors}
    for maar in dom.dmm.maar_nodes:
        for prefix, mn in maar.core.pool.allocated().items():
            if (mn, prefix, maar.info.address) not in anchored:
                found.append(f"{maar.name} allocated {prefix} to {mn}, in no session")
    found += [f"{b.kind}: {b.detail}" for b in fuzzcheck.rule_breaks(dom)]
    mine = next((b for b in bindings if b.mn_id == MN_ID), None)
    if mine is None:
        return found + ["the MN has no session"]
    if dom.dmm.node_name(mine.serving) != at:
        found.append(f"S-MAAR is {dom.dmm.node_name(mine.serving)}, the MN is at {at}")
    for prefix, anchor in mine.anchors:
        name = dom.dmm.node_name(anchor)
        packet = {**downlink(str(prefix.network_address + 5)),
                  "eth_dst": transport_mac(dom.dpid(name))}
        reached = where(dom.forward(name, 1, packet))
        if reached != [(at, 2, MN_MAC, ())]:
            found.append(f"downlink to {prefix} via {name} reached {reached}")
    return found


def kill_points(mode: str, backend: str, tmp_path: Path):
    total = commits_of_script(mode, backend, tmp_path / "count")
    return [(kind, n) for n in range(1, total + 1)
            for kind in (KINDS if LONG else KINDS[n % 2:n % 2 + 1])]


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "count").mkdir()
    return tmp_path


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("mode", MODES)
def test_every_kill_point_of_a_handover_script_recovers(mode, backend, scratch):
    points = kill_points(mode, backend, scratch)
    # pmipv6 (RFC 5213) has no CMD: only the MAG and the LMA write
    assert len(points) >= (8 if mode == "pmipv6" else 20), points
    for kind, nth in points:
        directory = scratch / f"{kind}-{nth}"
        directory.mkdir()
        status = crash_child(mode, backend, directory, kind, nth)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
            (kind, nth, status)
        dom = restart(mode, backend, directory)
        at = last_seen(directory)[0]
        assert problems(dom, at) == [], (kind, nth, "after the restart")
        onward = "maar2" if at != "maar2" else "maar3"
        settle(dom, onward)
        assert problems(dom, onward) == [], (kind, nth, "at the next move")


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_an_unarmed_child_runs_the_whole_script(backend, scratch):
    """The kill points are the script's commits, no more: a child armed
    past the last one ends normally, and its domain holds the invariants."""
    total = commits_of_script("proxy", backend, scratch / "count")
    status = crash_child("proxy", backend, scratch, fault.KILL_AFTER_ENV, total + 1)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert problems(restart("proxy", backend, scratch), PATH[-1]) == []
