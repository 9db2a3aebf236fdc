"""REST reads under native threads while handovers and timers run.

os-ken 4's default hub runs the OpenFlow handlers, the timer thread and
every REST connection as real threads, truly interleaved.  The runtime's
answer is one lock (``DmmController.lock``) around every state change and
snapshot reads for the operator plane; this test checks that design, not
luck: reader threads hammer the operator view (bindings, MAARs, health,
the /metrics exposition) while the main thread moves MNs from MAAR to MAAR,
fires timers and de-registers MNs, with a switch interval short enough that threads switch
inside the runtime's methods.  Afterwards no thread may have raised, and
every snapshot read must have been one the domain really was in.
"""
import os
import subprocess
import sys
import threading
from ipaddress import IPv6Address

import pytest

from dmm_ryu.ops.metrics import exposition, registry_for
from dmm_ryu.ops.runtime_view import ControllerView
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from tests.unit.test_controller import rs

MACS = ("0a:00:00:00:00:01", "0a:00:00:00:00:02", "0a:00:00:00:00:03")
ROUNDS = 6  # each MN visits every MAAR this many times: 54 handovers
READERS = 3
SWITCH_INTERVAL = 1e-5  # s: threads switch every few bytecodes, not every 5 ms


@pytest.fixture
def fast_switching():
    """Make the interpreter switch threads far more often than by default."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    yield
    sys.setswitchinterval(before)


def check_bindings(bindings, maar_addresses) -> None:
    """One read of the binding cache: no prefix held twice, and each BCE's
    serving MAAR is a MAAR of the domain that anchors one of its prefixes
    or is its S-MAAR (its newest prefix is anchored there)."""
    held = [p.prefix for b in bindings for p in b.prefixes]
    assert len(held) == len(set(held)), held
    for b in bindings:
        anchors = {p.anchor_address for p in b.prefixes}
        assert b.serving_maar_address in maar_addresses, b
        assert b.serving_maar_address in anchors, b
        assert sum(p.local for p in b.prefixes) == 1, b


def reader(view, registry, maar_addresses, stop, reads, errors) -> None:
    """Read every part of the operator view until ``stop``; record failures."""
    try:
        while not stop.is_set():
            check_bindings(view.bindings(), maar_addresses)
            maars = view.maars()
            assert [m.name for m in maars] == ["maar1", "maar2", "maar3"]
            assert all(0 <= m.pool_used <= m.pool_size for m in maars)
            health = view.health()
            assert 0 <= health["bindings"] <= len(MACS), health
            assert b"dmm_cmd_bindings" in exposition(registry)
            reads.append(1)
    except BaseException as err:  # any failure in a reader fails the test
        errors.append(err)


def handovers(dom: FakeDomain, view: ControllerView) -> int:
    """Every MN attaches at each MAAR in turn, with timers between moves;
    after each sweep one MN is de-registered (the REST command), so BCEs
    come and go while readers walk the binding cache."""
    solicitations = [rs(mac) for mac in MACS]  # built once: scapy is slow
    moves = 0
    for sweep in range(ROUNDS * 3):
        maar = f"maar{sweep % 3 + 1}"
        for i, frame in enumerate(solicitations):
            dom.inject(maar, 2 + i % 2, frame)
            moves += 1
        dom.advance(0.5)
        leaving = view.bindings()[sweep % len(MACS)].mn_id
        assert view.deregister(leaving)
    return moves


def test_rest_reads_during_handovers_see_consistent_snapshots(fast_switching):
    dom = FakeDomain(domain_text("proxy"))
    view = ControllerView(dom.dmm, dom.run, lambda: dom.now)
    registry = registry_for(view)
    maar_addresses = {IPv6Address(f"2001:db8:ffff::{i}") for i in (1, 2, 3)}
    stop, reads, errors = threading.Event(), [], []
    threads = [threading.Thread(target=reader, daemon=True,
                                args=(view, registry, maar_addresses, stop, reads, errors))
               for _ in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        moves = handovers(dom, view)
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    assert moves == ROUNDS * 9 and len(reads) > READERS
    final = view.bindings()
    check_bindings(final, maar_addresses)
    assert sorted(b.serving_maar for b in final) == ["maar3"] * (len(MACS) - 1)
    assert not [r for r in dom.dmm.stats.errors() if r.startswith("exception_")]


SPAWN_SCRIPT = """
from dmm_ryu.of import compat
done = []
thread = compat.spawn(done.append, True)
for _ in range(500):  # compat.sleep yields to green threads; time.sleep would not
    if done:
        break
    compat.sleep(0.01)
print(compat.HUB_TYPE, type(thread).__name__, getattr(thread, "daemon", None), done == [True])
"""


@pytest.mark.parametrize("hub, expected", [
    ("native", "native Thread True True"),             # a daemon: it never holds a stopped manager
    ("eventlet", "eventlet GreenThread None True"),    # eventlet's own, which passes Ctrl-C on
])
def test_compat_spawn_fits_the_hub(hub, expected):
    env = dict(os.environ, DMM_RYU_FRAMEWORK="os_ken", OSKEN_HUB_TYPE=hub)
    run = subprocess.run([sys.executable, "-c", SPAWN_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[-2] == expected
