"""The MN's journey of the draft's figures, pushed through fake switches.

States: fig1 (MN on MAAR1, Pref1 local), fig2 (moved to MAAR2: Pref1
anchored at MAAR1 and tunnelled, Pref2 local; Figures 2-4 differ only in
signalling, so share this data plane), three (then MAAR3) and back (then
MAAR1 again).  Each state is reached from the previous one by the actions
the core emits at each MAAR; the result must equal a rebuild from the
state, which proves removals leave nothing stale.
"""
import random
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from dmm_ryu.config.domainfile import parse
from dmm_ryu.core.actions import (ANCHOR, SERVING, InstallLocalRoute, InstallTunnel,
                                  RemoveLocalRoute, RemoveTunnel)
from dmm_ryu.of.context import GATEWAY_MAC, MaarDataplane
from dmm_ryu.of.admission import admission_flows, places, rebuild_flows
from dmm_ryu.of.flows import DEFAULT_PARSER, base_flows, flows_for, meter_mods
from dmm_ryu.of.render import format_flows
from dmm_ryu.testbed.fakeswitch import CONTROLLER, Fabric, FakeOFTable
from tests.unit import golden

GOLDEN = Path(__file__).resolve().parents[2] / "openflow_rules" / "golden"
MN = "mn1@dmm.example"
MN_MAC = "00:00:00:00:aa:01"
ACCESS, TRANSPORT = 2, 1
UPSTREAM_MAC = "0e:ff:00:00:00:fe"
CN = "2001:db8:cafe::1"
CMD_ADDRESS = IPv6Address("2001:db8:ffff::100")
NAMES = ("maar1", "maar2", "maar3")
DOMAIN = parse({
    "maars": {name: {"dpid": i, "address": f"2001:db8:ffff::{i}", "pool": f"2001:db8:{i}::/48",
                     "access_ports": [ACCESS, 3], "transport_ports": [TRANSPORT]}
              for i, name in enumerate(NAMES, start=1)},
    "cmd": {"address": str(CMD_ADDRESS), "maar": "maar1", "port": TRANSPORT},
})
CTX = {name: MaarDataplane.for_maar(DOMAIN, name, UPSTREAM_MAC) for name in NAMES}
PREF = {1: IPv6Network("2001:db8:1:5::/64"), 2: IPv6Network("2001:db8:2:7::/64"),
        3: IPv6Network("2001:db8:3::/64")}
ADDR = {n: DOMAIN.maars[f"maar{n}"].address for n in (1, 2, 3)}


def local(n):
    return InstallLocalRoute(MN, PREF[n], MN_MAC, ACCESS)


def anchor(n, peer):
    return InstallTunnel(MN, PREF[n], ADDR[peer], ANCHOR)


def serving(n, peer):
    return InstallTunnel(MN, PREF[n], ADDR[peer], SERVING, MN_MAC, ACCESS)


def undo(install):
    if isinstance(install, InstallLocalRoute):
        return RemoveLocalRoute(install.mn_id, install.prefix)
    return RemoveTunnel(install.mn_id, install.prefix, install.peer, install.role)


#: state -> (serving MAAR, what each MAAR has installed, how the core got there)
STATES = {
    "fig1": ("maar1", {"maar1": [local(1)]}, {"maar1": [local(1)]}),
    "fig2": ("maar2",
             {"maar1": [anchor(1, 2)], "maar2": [local(2), serving(1, 1)]},
             {"maar1": [undo(local(1)), anchor(1, 2)],
              "maar2": [local(2), serving(1, 1)]}),
    "three": ("maar3",
              {"maar1": [anchor(1, 3)], "maar2": [anchor(2, 3)],
               "maar3": [local(3), serving(1, 1), serving(2, 2)]},
              {"maar1": [undo(anchor(1, 2)), anchor(1, 3)],
               "maar2": [undo(local(2)), undo(serving(1, 1)), anchor(2, 3)],
               "maar3": [local(3), serving(1, 1), serving(2, 2)]}),
    "back": ("maar1",
             {"maar1": [local(1), serving(2, 2), serving(3, 3)], "maar2": [anchor(2, 1)],
              "maar3": [anchor(3, 1)]},
             {"maar1": [undo(anchor(1, 3)), local(1), serving(2, 2), serving(3, 3)],
              "maar2": [undo(anchor(2, 3)), anchor(2, 1)],
              "maar3": [undo(local(3)), undo(serving(1, 1)), undo(serving(2, 2)),
                        anchor(3, 1)]}),
}
ORDER = list(STATES)


def prefixes_of(state):
    return [n for n in PREF if any(a.prefix == PREF[n] for i in STATES[state][1].values() for a in i)]


def admission_msgs(state, name):
    """The MN admission changes the runtime adds to a state's bundle: the
    MN is admitted where it is delivered to, and nowhere else."""
    at = ORDER.index(state)
    before = places(STATES[ORDER[at - 1]][1].get(name, [])) if at else set()
    return admission_flows(CTX[name], before, places(STATES[state][1].get(name, [])))


def transition_msgs(state, name, reverse=False):
    actions = STATES[state][2].get(name, [])
    return ([m for a in (actions[::-1] if reverse else actions) for m in flows_for(a, CTX[name])]
            + admission_msgs(state, name))


def network(upto, reverse=False):
    """Three fake MAARs that lived through every state up to ``upto``."""
    fabric = Fabric()
    fabric.add_station("upstream", UPSTREAM_MAC)
    for name in NAMES:
        table = FakeOFTable()
        table.apply(meter_mods(CTX[name]) + base_flows(CTX[name]))
        for state in ORDER[:ORDER.index(upto) + 1]:
            table.apply(transition_msgs(state, name, reverse))
        fabric.add_switch(name, table, CTX[name].transport_mac, [TRANSPORT])
    return fabric


def rebuilt(state, name, parser=DEFAULT_PARSER):
    installed = STATES[state][1].get(name, [])
    routes = [a for a in installed if isinstance(a, InstallLocalRoute)]
    tunnels = [a for a in installed if isinstance(a, InstallTunnel)]
    return rebuild_flows(CTX[name], routes, tunnels, parser)


def table_of(msgs):
    table = FakeOFTable()
    table.apply(msgs)
    return table.snapshot()


def ipv6(src, dst, **more):
    return {"eth_type": 0x86DD, "ipv6_src": src, "ipv6_dst": dst, "ip_proto": 17,
            "hop_limit": 64, **more}


def host(n, suffix=0x10):
    return str(PREF[n].network_address + suffix)


def downlink(state, n, at=None):
    """A CN's packet for Pref<n>, handed by the upstream router to ``at``
    (by default the prefix's anchor, where the domain routes it)."""
    at = at or f"maar{n}"
    pkt = ipv6(CN, host(n), eth_src=UPSTREAM_MAC, eth_dst=CTX[at].transport_mac)
    return network(state).inject(at, TRANSPORT, pkt)


def uplink(state, n, dst=CN, fabric=None):
    pkt = ipv6(host(n), dst, eth_src=MN_MAC, eth_dst=GATEWAY_MAC)
    return (fabric or network(state)).inject(STATES[state][0], ACCESS, pkt)


CASES = [(s, n) for s in ORDER for n in prefixes_of(s)]


@pytest.mark.parametrize("state,n", CASES)
def test_downlink_reaches_the_mn_wherever_it_is(state, n):
    (got,) = downlink(state, n)
    assert (got.node, got.port) == (STATES[state][0], ACCESS)
    assert got.packet["eth_src"] == GATEWAY_MAC and got.packet["eth_dst"] == MN_MAC
    assert got.packet["eth_type"] == 0x86DD and got.packet["mpls"] == ()
    assert got.packet["ipv6_dst"] == host(n) and got.packet["hop_limit"] == 63


@pytest.mark.parametrize("state,n", CASES)
def test_uplink_leaves_from_the_prefix_anchor(state, n):
    (got,) = uplink(state, n)
    assert got.node == "upstream"
    assert got.packet["eth_src"] == CTX[f"maar{n}"].transport_mac
    assert got.packet["eth_dst"] == UPSTREAM_MAC
    assert got.packet["eth_type"] == 0x86DD and got.packet["mpls"] == ()
    assert got.packet["hop_limit"] == 63


def test_tunnel_carries_one_label_between_anchor_and_serving_maar():
    fabric = network("fig2")
    table, _ = fabric.switches["maar1"]
    pkt = ipv6(CN, host(1), eth_src=UPSTREAM_MAC, eth_dst=CTX["maar1"].transport_mac)
    ((port, sent),) = table.forward(TRANSPORT, pkt)
    assert port == TRANSPORT and sent["eth_type"] == 0x8847
    assert sent["mpls"] == (CTX["maar1"].label(PREF[1]),)
    assert (sent["eth_src"], sent["eth_dst"]) == (CTX["maar1"].transport_mac, CTX["maar2"].transport_mac)


@pytest.mark.parametrize("state", ORDER)
def test_prefix_not_served_here_is_dropped_not_bounced(state):
    for n in prefixes_of(state):
        for other in NAMES:
            if other != f"maar{n}":
                assert downlink(state, n, at=other) == []


def test_mns_on_one_maar_reach_each_other_directly():
    fabric = network("fig1")
    table, _ = fabric.switches["maar1"]
    neighbour = IPv6Network("2001:db8:1:9::/64")
    table.apply(flows_for(InstallLocalRoute("mn2", neighbour, "00:00:00:00:bb:02", 3), CTX["maar1"]))
    (got,) = uplink("fig1", 1, dst=str(neighbour.network_address + 1), fabric=fabric)
    assert (got.node, got.port, got.packet["eth_dst"]) == ("maar1", 3, "00:00:00:00:bb:02")


def test_hop_limit_expiry_drops_instead_of_forwarding():
    fabric = network("fig1")
    pkt = ipv6(CN, host(1), eth_src=UPSTREAM_MAC, eth_dst=CTX["maar1"].transport_mac, hop_limit=1)
    assert fabric.inject("maar1", TRANSPORT, pkt) == []


def icmp(kind, dst, **more):
    return ipv6("fe80::aa01", dst, ip_proto=58, icmpv6_type=kind, **more)


PUNTED = [
    ("router solicitation", ACCESS, icmp(133, "ff02::2", eth_dst="33:33:00:00:00:02")),
    ("NS for the gateway", 3, icmp(135, "ff02::1:ff00:1", ipv6_nd_target="fe80::1",
                                   eth_dst="33:33:ff:00:00:01")),
    ("NS for the MAAR", TRANSPORT, icmp(135, "ff02::1:ff00:1", ipv6_nd_target="2001:db8:ffff::1",
                                        eth_dst="33:33:ff:00:00:01")),
    ("NS for the CMD", TRANSPORT, icmp(135, "ff02::1:ff00:100", ipv6_nd_target=str(CMD_ADDRESS),
                                       eth_dst="33:33:ff:00:01:00")),
    ("PBU for the MAAR", TRANSPORT, ipv6("2001:db8:ffff::2", "2001:db8:ffff::1", ip_proto=135)),
    ("PBU for the CMD", TRANSPORT, ipv6("2001:db8:ffff::2", str(CMD_ADDRESS), ip_proto=135)),
    ("data from an MN with no session here", 3, ipv6(host(1), CN, eth_dst=GATEWAY_MAC,
                                                     eth_src="00:00:00:00:bb:02")),
    ("data to another MAC from an unknown source", ACCESS,
     ipv6(host(1), CN, eth_dst="0e:00:00:00:00:09", eth_src="00:00:00:00:bb:02")),
]
DROPPED = [
    ("NS for another target", ACCESS, icmp(135, "ff02::1:ff00:9", ipv6_nd_target="fe80::9",
                                           eth_dst="33:33:ff:00:00:09", eth_src=MN_MAC)),
    ("MH from an MN", ACCESS, ipv6(host(1), "2001:db8:ffff::1", ip_proto=135, eth_dst=GATEWAY_MAC,
                                   eth_src=MN_MAC)),
    ("ping to the gateway's link-local", ACCESS, ipv6(host(1), "fe80::1", eth_dst=GATEWAY_MAC,
                                                      eth_src=MN_MAC)),
    ("multicast from a known MN", ACCESS, ipv6(host(1), "ff02::16", eth_dst="33:33:00:00:00:16",
                                               eth_src=MN_MAC)),
    ("frame for another MAC", TRANSPORT, ipv6(CN, host(1), eth_dst="0e:00:00:00:00:09")),
]


@pytest.mark.parametrize("what,port,pkt", PUNTED, ids=[p[0] for p in PUNTED])
def test_signalling_reaches_the_controller(what, port, pkt):
    assert [(d.port, d.packet) for d in network("fig1").inject("maar1", port, pkt)] == [
        (CONTROLLER, {**pkt, "mpls": ()})]


@pytest.mark.parametrize("what,port,pkt", DROPPED, ids=[p[0] for p in DROPPED])
def test_everything_else_is_dropped(what, port, pkt):
    assert network("fig1").inject("maar1", port, pkt) == []


def test_cmd_signalling_is_punted_only_where_the_cmd_is_attached():
    pkt = ipv6("2001:db8:ffff::1", str(CMD_ADDRESS), ip_proto=135)
    assert network("fig1").inject("maar2", TRANSPORT, pkt) == []


@pytest.mark.parametrize("state", ORDER)
@pytest.mark.parametrize("reverse", [False, True], ids=["core-order", "reversed"])
def test_incremental_changes_equal_a_rebuild(state, reverse):
    fabric = network(state, reverse)
    for name in NAMES:
        assert fabric.switches[name][0].snapshot() == table_of(rebuilt(state, name)), name


@pytest.mark.parametrize("state", ORDER)
def test_removing_everything_leaves_the_base_flows(state):
    for name in NAMES:
        table = FakeOFTable()
        table.apply(rebuilt(state, name))
        installed = STATES[state][1].get(name, [])
        table.apply([m for a in installed for m in flows_for(undo(a), CTX[name])]
                    + admission_flows(CTX[name], places(installed), ()))
        assert table.snapshot() == table_of(base_flows(CTX[name])), name


@pytest.mark.parametrize("state", ORDER)
def test_reapplying_shuffled_and_repeated_changes_nothing(state):
    rng = random.Random(state)
    for name in NAMES:
        msgs = rebuilt(state, name)[1:]  # the adds, without the leading delete-all
        table = FakeOFTable()
        table.apply(msgs)
        before = table.snapshot()
        for _ in range(3):
            table.apply(rng.sample(msgs * 2, 2 * len(msgs)))
            assert table.snapshot() == before, name


def golden_text(state):
    """What ``openflow_rules/golden/<state>.txt`` holds (``./dmm golden`` writes it)."""
    parts = []
    for name in NAMES:
        if STATES[state][2].get(name):
            parts.append(f"# {name}: changes on arriving in {state}\n"
                         + format_flows(transition_msgs(state, name)))
        parts.append(f"# {name}: full rule set (rebuild) in {state}\n"
                     + format_flows(rebuilt(state, name)))
    return "\n".join(parts)


@pytest.mark.parametrize("state", ORDER)
def test_golden_rules(state):
    path = GOLDEN / f"{state}.txt"
    diff = golden.compare(golden.parse(path.read_text()), golden.parse(golden_text(state)))
    assert not diff, f"{path} differs from the rules emitted now:\n{diff}\n{golden.HOW_TO_UPDATE}"
