"""of/packed_state.py writes exactly what admission.py and flows.py build on
the framework's classes: admission changes between any two sets of places,
the rebuild of every scenario state, the punt meters and a CMD switch's
rules; and a fake switch fed the packed rebuild (one bundle, decoded) holds
the framework rebuild's table."""
import random

import pytest

from dmm_ryu.config.domainfile import CmdSection
from dmm_ryu.core.actions import InstallLocalRoute, InstallTunnel
from dmm_ryu.of import admission, flows, ofwire, packed, packed_state
from dmm_ryu.testbed.fakeswitch import FakeOFTable
from dmm_ryu.testbed.ofdecode import decode, serialise
from tests.unit import test_of_scenarios as sc


def unnumbered(msgs):
    """The messages under xid 0: the sender numbers them (shell/sender.py)."""
    return [ofwire.with_xid(m, 0) for m in msgs]


def places(rng, n):
    return {(f"0e:00:00:00:{rng.randrange(256):02x}:{rng.randrange(256):02x}",
             rng.choice((2, 3))) for _ in range(n)}


@pytest.mark.parametrize("seed", range(20))
def test_admission_changes_pack_to_the_framework_bytes(seed):
    rng = random.Random(seed)
    shared = places(rng, rng.randrange(3))
    before, after = shared | places(rng, rng.randrange(4)), shared | places(rng, rng.randrange(4))
    ctx = sc.CTX[rng.choice(sc.NAMES)]
    fast = packed_state.admission_flows(ctx, before, after)
    assert unnumbered(fast) == serialise(admission.admission_flows(ctx, before, after))
    assert len(fast) == 2 * len(before ^ after)


@pytest.mark.parametrize("state", sc.ORDER)
@pytest.mark.parametrize("name", sc.NAMES)
def test_the_rebuild_of_every_state_packs_to_the_framework_bytes(state, name):
    installed = sc.STATES[state][1].get(name, [])
    routes = [a for a in installed if isinstance(a, InstallLocalRoute)]
    tunnels = [a for a in installed if isinstance(a, InstallTunnel)]
    fast = packed_state.rebuild_flows(sc.CTX[name], routes, tunnels)
    assert unnumbered(fast) == serialise(sc.rebuilt(state, name))
    again = packed_state.rebuild_flows(sc.CTX[name], routes, tunnels)
    assert again == fast  # the cached base flows are not altered by use


def test_meters_and_a_cmd_switch_pack_to_the_framework_bytes():
    ctx = sc.CTX["maar1"]
    assert packed_state.meter_mods(ctx) == serialise(flows.meter_mods(ctx))
    cmd = CmdSection(address=sc.CTX["maar1"].maar.address, dpid=9, port=4, maar=None)
    assert packed_state.serialised(flows.cmd_switch_flows(cmd)) == serialise(
        flows.cmd_switch_flows(cmd))


@pytest.mark.parametrize("state", sc.ORDER)
def test_a_switch_fed_the_packed_rebuild_holds_the_framework_table(state):
    for name in sc.NAMES:
        installed = sc.STATES[state][1].get(name, [])
        routes = [a for a in installed if isinstance(a, InstallLocalRoute)]
        tunnels = [a for a in installed if isinstance(a, InstallTunnel)]
        fast = FakeOFTable()
        fast.apply(decode(b"".join(packed_state.meter_mods(sc.CTX[name]))))
        fast.apply(decode(b"".join(packed.bundle(
            packed_state.rebuild_flows(sc.CTX[name], routes, tunnels), 1, 10))))
        slow = FakeOFTable()
        msgs = flows.meter_mods(sc.CTX[name]) + sc.rebuilt(state, name)
        serialise(msgs)
        slow.apply(msgs)
        assert fast.snapshot() == slow.snapshot() and fast.flows, name
        assert fast.meters.keys() == slow.meters.keys()
