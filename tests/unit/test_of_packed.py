"""The packed hot path (dmm_ryu/of/packed.py) writes exactly the framework's
bytes: every rule kind, across generated domains and actions (random pools,
prefix lengths, ports, MACs, dpids, so labels and peers vary), across the
actions the core emits in every mode, for bundles and packet-outs; it
refuses what flows.py refuses, with the same error; and fake switches fed
the packed bytes (decoded by the framework's parser) forward as switches
fed the framework's objects."""
import dataclasses
import importlib
import random
import re
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmm_ryu.config.domainfile import parse
from dmm_ryu.core.actions import (ANCHOR, SERVING, InstallLocalRoute, InstallTunnel,
                                  RemoveLocalRoute, RemoveTunnel, StartTimer)
from dmm_ryu.core.config import Mode
from dmm_ryu.of import bundle as fw_bundle
from dmm_ryu.of import compat, flows, ofwire, packed
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.of.labels import DataplaneError
from dmm_ryu.sim.domain import build, maar_address
from tests.unit import test_of_scenarios as sc
from tests.unit.fakeoftable import Fabric, FakeDatapath, FakeOFTable, decode, serialise
from tests.unit.test_of_messages import parsers

OFP = compat.ofproto_v1_3
PARSER = compat.ofproto_v1_3_parser
FLOW_ACTION_TYPES = (InstallLocalRoute, RemoveLocalRoute, InstallTunnel, RemoveTunnel)


def framework_bytes(msgs, xid, parser=PARSER):
    """What Datapath.send_msg writes for ``msgs`` given xids ``xid``, ``xid + 1``..."""
    for i, msg in enumerate(msgs):
        msg.xid = (xid + i) & OFP.MAX_XID
    return serialise(msgs, parser)


def assert_same_bytes(action, ctx, xid=0) -> int:
    """The packed FlowMods of ``action`` equal the framework's; how many."""
    fast = packed.flows_for(action, ctx, xid)
    slow = framework_bytes(flows.flows_for(action, ctx), xid)
    assert fast == slow, action
    return len(fast)


# --- generated domains and actions --------------------------------------------

def _mac(draw_int):
    return ":".join(f"{draw_int >> s & 0xFF:02x}" for s in range(40, -8, -8))


@st.composite
def domains(draw):
    """1-7 MAARs with /40 pools, random prefix lengths, dpids and ports,
    the CMD attached at one of them."""
    n = draw(st.integers(1, 7))
    dpids = draw(st.lists(st.integers(1, 2**40 - 1), min_size=n, max_size=n, unique=True))
    maars = {}
    for i in range(n):
        ports = draw(st.lists(st.integers(1, 0xFFFFFF00), min_size=2, max_size=4, unique=True))
        cut = draw(st.integers(1, len(ports) - 1))
        maars[f"m{i}"] = {"dpid": dpids[i], "address": f"2001:db8:ffff::{i + 1:x}",
                          "pool": f"2001:db8:{i + 1:x}00::/40",
                          "prefix_length": draw(st.integers(40, 128)),
                          "access_ports": ports[:cut], "transport_ports": ports[cut:]}
    home = draw(st.sampled_from(sorted(maars)))
    domain = parse({"maars": maars, "cmd": {"address": "2001:db8:ffff::100", "maar": home,
                                            "port": maars[home]["transport_ports"][0]}})
    upstream = _mac(draw(st.integers(0, 2**48 - 1)))
    return [MaarDataplane.for_maar(domain, name, upstream) for name in sorted(maars)]


def flow_action(rng: random.Random, ctxs):
    """(ctx, one route or tunnel action at it): a prefix of any MAAR's pool
    that has a label, any MAAR as peer, a random MN MAC (either case) and
    port.  Drawn from a seeded generator, not from hypothesis, which would
    spend ten times the comparison's own cost drawing them."""
    ctx = rng.choice(ctxs)
    owner = rng.choice(ctx.plan.maars)
    index = rng.randrange(min(2 ** (owner.prefix_length - owner.pool.prefixlen),
                              2 ** ctx.plan.index_bits))
    base = int(owner.pool.network_address) + (index << (128 - owner.prefix_length))
    prefix = IPv6Network((base, owner.prefix_length))
    peer, role = rng.choice(ctx.plan.maars).address, rng.choice([ANCHOR, SERVING])
    mac = _mac(rng.getrandbits(48))
    mac, port = mac.upper() if rng.random() < 0.5 else mac, rng.randint(1, 0xFFFFFF00)
    return ctx, rng.choice([
        InstallLocalRoute("mn", prefix, mac, port),
        RemoveLocalRoute("mn", prefix),
        InstallTunnel("mn", prefix, peer, ANCHOR),
        InstallTunnel("mn", prefix, peer, SERVING, mac, port),
        RemoveTunnel("mn", prefix, peer, role),
    ])


ACTIONS_PER_DOMAIN = 700


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(ctxs=domains(), seed=st.integers(0, 2**32 - 1), xid=st.integers(0, OFP.MAX_XID))
def test_every_rule_kind_packs_to_the_framework_bytes(ctxs, seed, xid):
    """40 domains x 700 actions: about 43,000 FlowMods compared."""
    rng = random.Random(seed)
    for _ in range(ACTIONS_PER_DOMAIN):
        ctx, action = flow_action(rng, ctxs)
        assert_same_bytes(action, ctx, xid)


@pytest.mark.parametrize("parser", parsers(), ids=lambda p: p.__name__.split(".")[0])
def test_scenario_messages_match_both_frameworks(parser):
    """Ryu and os-ken serialise alike, so the packed bytes fit either."""
    for state in sc.STATES:
        for name, changes in sc.STATES[state][2].items():
            for action in changes + [sc.undo(a) for a in sc.STATES[state][1].get(name, [])]:
                slow = framework_bytes(flows.flows_for(action, sc.CTX[name], parser), 5, parser)
                assert packed.flows_for(action, sc.CTX[name], 5) == slow


# --- the core's own actions, in every mode --------------------------------------

def sim_contexts(n):
    """The of/ contexts matching sim.domain.build(n)'s MAARs."""
    domain = parse({
        "maars": {f"maar{i + 1}": {"dpid": i + 1, "address": str(maar_address(i)),
                                   "pool": f"2001:db8:{i + 1:x}::/48",
                                   "access_ports": [2], "transport_ports": [1]}
                  for i in range(n)},
        "cmd": {"address": "2001:db8:ffff::1", "maar": "maar1", "port": 1}})
    return {maar_address(i): MaarDataplane.for_maar(domain, f"maar{i + 1}", sc.UPSTREAM_MAC)
            for i in range(n)}


def core_flow_actions(mode, seed, n_maars=4, moves=60):
    """(node, action) for every route/tunnel action of a random walk."""
    domain = build(n_maars, mode, seed=seed, lma=1 if mode is Mode.PMIPV6 else None)
    seen = []
    apply = domain.net.dataplane.apply
    domain.net.dataplane.apply = lambda node, action: (seen.append((node, action)),
                                                       apply(node, action))
    rng = random.Random(seed)
    for _ in range(moves):
        domain.move(f"mn{rng.randrange(6)}", rng.randrange(n_maars))
        domain.net.run_for(rng.choice([0.001, 0.5]))
    domain.net.settle()
    return seen


@pytest.mark.parametrize("mode", list(Mode), ids=lambda m: m.value)
def test_the_core_actions_of_every_mode_pack_to_the_framework_bytes(mode):
    ctxs = sim_contexts(4)
    seen = core_flow_actions(mode, seed=17)
    kinds = {(type(a).__name__, getattr(a, "role", None)) for _, a in seen}
    assert len(kinds) >= 3, kinds  # local routes and both tunnel ends at least
    assert sum(assert_same_bytes(a, ctxs[node], xid) for xid, (node, a) in enumerate(seen)) > 100


# --- refusals ------------------------------------------------------------------

CTX2 = sc.CTX["maar2"]
REFUSED = [
    InstallTunnel(sc.MN, sc.PREF[1], sc.ADDR[1], SERVING),                 # no MN location
    InstallTunnel(sc.MN, sc.PREF[1], sc.ADDR[1], "middle"),                # unknown role
    RemoveTunnel(sc.MN, sc.PREF[1], IPv6Address("2001:db8::9"), ANCHOR),  # unknown peer
    InstallLocalRoute(sc.MN, IPv6Network("2001:db8:9::/64"), sc.MN_MAC, 2),  # in no pool
    RemoveLocalRoute(sc.MN, IPv6Network("2001:db8:1::/56")),               # wrong length
    StartTimer("k", 1.0),                                                  # not a flow action
]


@pytest.mark.parametrize("action", REFUSED, ids=lambda a: type(a).__name__)
def test_packed_refuses_what_the_framework_path_refuses_with_its_words(action):
    with pytest.raises((DataplaneError, TypeError)) as slow:
        flows.flows_for(action, CTX2)
    with pytest.raises(type(slow.value), match=re.escape(str(slow.value))):
        packed.flows_for(action, CTX2)


def test_a_bad_mac_is_refused_clearly():
    with pytest.raises(DataplaneError, match="not a MAC address: 'aa:bb'"):
        packed.flows_for(InstallLocalRoute(sc.MN, sc.PREF[2], "aa:bb", 2), CTX2)


# --- bundles, packet-outs, xids ---------------------------------------------------

@settings(max_examples=200, deadline=None, derandomize=True)
@given(picks=st.lists(st.integers(0, 9), min_size=0, max_size=6),
       bundle_id=st.integers(0, 2**32 - 1), xid=st.integers(0, OFP.MAX_XID))
def test_bundles_pack_to_the_framework_bytes(picks, bundle_id, xid):
    actions = [a for state in sc.STATES.values() for a in state[2].get("maar3", [])]
    chosen = [actions[i % len(actions)] for i in picks]
    inner = [m for a in chosen for m in packed.flows_for(a, sc.CTX["maar3"])]
    slow = fw_bundle.bundle([m for a in chosen for m in flows.flows_for(a, sc.CTX["maar3"])],
                            FakeDatapath(), bundle_id)
    assert packed.bundle(inner, bundle_id, xid) == framework_bytes(slow, xid)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(port=st.integers(0, 2**32 - 1), frame=st.binary(max_size=200),
       in_port=st.none() | st.integers(0, 2**32 - 1), xid=st.integers(0, OFP.MAX_XID))
def test_packet_outs_pack_to_the_framework_bytes(port, frame, in_port, xid):
    slow = PARSER.OFPPacketOut(
        None, buffer_id=OFP.OFP_NO_BUFFER,
        in_port=OFP.OFPP_CONTROLLER if in_port is None else in_port,
        actions=[PARSER.OFPActionOutput(port)], data=frame)
    assert packed.packet_out(port, frame, in_port, xid) == framework_bytes([slow], xid)[0]


class XidCounter:
    """The xid counter of a Ryu/os-ken Datapath, and its set_xid."""

    ofproto = OFP

    def __init__(self, xid):
        self.xid = xid

    set_xid = importlib.import_module(f"{compat.FRAMEWORK}.controller.controller").Datapath.set_xid


@pytest.mark.parametrize("start", [0, 41, OFP.MAX_XID - 1])
def test_reserved_xids_are_those_send_msg_would_have_used(start):
    fast, slow = XidCounter(start), XidCounter(start)
    first = packed.reserve_xids(fast, 3)
    used = [slow.set_xid(PARSER.OFPBarrierRequest(None)) for _ in range(3)]
    assert [(first + i) & OFP.MAX_XID for i in range(3)] == used and fast.xid == slow.xid


def test_a_packer_lives_as_long_as_its_context():
    ctx = dataclasses.replace(sc.CTX["maar1"])
    assert packed.packer(ctx) is packed.packer(ctx)
    key = id(ctx)
    del ctx
    assert key not in packed._PACKERS


def test_prefix_templates_are_bounded(monkeypatch):
    monkeypatch.setattr(packed, "PREFIX_CACHE", 64)
    p = packed.MaarPacker(sc.CTX["maar1"])
    for i in range(packed.PREFIX_CACHE + 10):
        p.template(IPv6Network(f"2001:db8:1:{i:x}::/64"), packed.LOCAL)
    assert p.template.cache_info().currsize == packed.PREFIX_CACHE


def test_masked_values_are_sent_masked_as_the_framework_normalises_them():
    fields = (("ipv6_dst", ("2001:db8::ff", "ffff:ffff::")), ("metadata", (3, 1)))
    assert ofwire.match(fields) == _framework_match(dict(fields))


def _framework_match(fields):
    buf = bytearray()
    PARSER.OFPMatch(**fields).serialize(buf, 0)
    return bytes(buf)


# --- the fake switches fed packed bytes ------------------------------------------

def packed_network(upto, reverse=False):
    """test_of_scenarios.network, with every change sent as packed bytes in
    one bundle per MAAR per state, decoded by the framework's parser."""
    fabric = Fabric()
    fabric.add_station("upstream", sc.UPSTREAM_MAC)
    for number, name in enumerate(sc.NAMES):
        table = FakeOFTable()
        table.apply(serialised(flows.meter_mods(sc.CTX[name]) + flows.base_flows(sc.CTX[name])))
        for state in sc.ORDER[:sc.ORDER.index(upto) + 1]:
            changes = sc.STATES[state][2].get(name, [])
            msgs = [m for a in (changes[::-1] if reverse else changes)
                    for m in packed.flows_for(a, sc.CTX[name])]
            table.apply(decode(b"".join(packed.bundle(msgs, number, 100 * number))))
            table.apply(serialised(sc.admission_msgs(state, name)))
        fabric.add_switch(name, table, sc.CTX[name].transport_mac, [sc.TRANSPORT])
    return fabric


def serialised(msgs):
    """Framework objects as they are once sent (serialising fills in lengths)."""
    serialise(msgs)
    return msgs


@pytest.mark.parametrize("state", sc.ORDER)
@pytest.mark.parametrize("reverse", [False, True], ids=["core-order", "reversed"])
def test_packed_incremental_changes_equal_a_framework_rebuild(state, reverse):
    """test_of_scenarios' incremental-equals-rebuild, the changes packed."""
    fast = packed_network(state, reverse)
    for name in sc.NAMES:
        rebuilt = FakeOFTable()
        rebuilt.apply(serialised(sc.rebuilt(state, name)))
        assert fast.switches[name][0].snapshot() == rebuilt.snapshot(), name


@pytest.mark.parametrize("state,n", sc.CASES)
def test_packed_tables_forward_as_the_framework_tables(state, n):
    for where in (None, *sc.NAMES):
        at = where or f"maar{n}"
        down = sc.ipv6(sc.CN, sc.host(n), eth_src=sc.UPSTREAM_MAC, eth_dst=sc.CTX[at].transport_mac)
        assert (packed_network(state).inject(at, sc.TRANSPORT, down)
                == sc.network(state).inject(at, sc.TRANSPORT, down))
    assert sc.uplink(state, n, fabric=packed_network(state)) == sc.uplink(state, n)
    (got,) = sc.uplink(state, n, fabric=packed_network(state))
    assert got.node == "upstream"


def test_decoded_packet_outs_reach_the_fake_switch():
    table = FakeOFTable()
    table.apply(decode(packed.packet_out(3, b"\x33\x33frame", in_port=2, xid=9)))
    (out,) = table.packet_outs
    assert (out.in_port, out.data, out.xid, [a.port for a in out.actions]) == \
        (2, b"\x33\x33frame", 9, [3])
