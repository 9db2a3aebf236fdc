"""The small parts: prefix pool, sequence arithmetic, timestamps, message
building, configuration checks, the binding store."""
from ipaddress import IPv6Address, IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dmm_ryu.core.config import CmdConfig, ConfigError, DomainConfig, MaarConfig, Mode, Timers
from dmm_ryu.core.messages import (
    REQUEST_PREFIX,
    answer,
    next_seq,
    options,
    seq_newer,
)
from dmm_ryu.wire.mh.model import missing_mandatory, timestamp_from_unix
from dmm_ryu.core.pool import PrefixPool
from dmm_ryu.core.store import CmdBce, MemoryStore
from dmm_ryu.wire.mh.model import PreviousMaar, ProxyBindingUpdate, Status

CMD = IPv6Address("2001:db8:ffff::1")


def test_pool_hands_out_distinct_prefixes_until_exhausted():
    pool = PrefixPool(IPv6Network("2001:db8:1::/62"), 64)
    prefixes = [pool.allocate(f"mn{i}") for i in range(4)]
    assert prefixes == [IPv6Network(f"2001:db8:1:{i}::/64") for i in range(4)]
    assert pool.allocate("mn4") is None and pool.available == 0
    pool.release(prefixes[1])
    pool.release(prefixes[1])  # twice: no-op
    pool.release(IPv6Network("2001:db8:9::/64"))  # never handed out: no-op
    assert pool.available == 1 and pool.owner(prefixes[1]) is None
    assert pool.allocate("mn5") == prefixes[1] and pool.owner(prefixes[1]) == "mn5"


def test_a_restored_pool_frees_the_gaps_and_ignores_prefixes_not_its_own():
    pool = PrefixPool(IPv6Network("2001:db8:1::/62"), 64)
    kept = {IPv6Network("2001:db8:1:2::/64"): "mn2", IPv6Network("2001:db8:1::/64"): "mn0"}
    pool.restore({**kept, IPv6Network("2001:db8:9::/64"): "mn9",
                  IPv6Network("2001:db8:1:1::/80"): "mn8"})
    assert pool.allocated() == kept and pool.used == 2 and pool.available == 2
    assert pool.owner(IPv6Network("2001:db8:1:2::/64")) == "mn2"
    assert pool.owner(IPv6Network("2001:db8:1:3::/64")) is None  # never handed out
    assert pool.allocate("mn1") == IPv6Network("2001:db8:1:1::/64")  # the gap first
    assert pool.allocate("mn3") == IPv6Network("2001:db8:1:3::/64")
    assert pool.allocate("mn4") is None


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7)), max_size=60))
def test_pool_never_gives_one_prefix_to_two_owners(operations):
    pool = PrefixPool(IPv6Network("2001:db8::/61"), 64)
    held = {}
    for allocate, index in operations:
        if allocate:
            prefix = pool.allocate(f"mn{index}")
            assert prefix is None or prefix not in held
            if prefix is not None:
                held[prefix] = f"mn{index}"
        elif held:
            prefix = sorted(held)[index % len(held)]
            pool.release(prefix)
            del held[prefix]
        assert pool.allocated() == held and pool.available == 8 - len(held)


@given(st.integers(0, 0xFFFF), st.integers(1, 0x7FFF))
def test_sequence_window(last, ahead):
    newer = (last + ahead) % 0x10000
    assert seq_newer(newer, last) and not seq_newer(last, newer)
    assert not seq_newer(last, last)


def test_sequence_wraps():
    assert next_seq(0xFFFF) == 0 and seq_newer(0, 0xFFFF)


def test_timestamp_is_rfc5213_48_16_fixed_point():
    assert timestamp_from_unix(1.5) == 3 << 15 and timestamp_from_unix(0) == 0


def test_answer_echoes_and_drops_the_draft_options():
    pbu = ProxyBindingUpdate(7, 400, options("mn", (REQUEST_PREFIX,), 4, 4, 99,
                                             serving_maar=CMD))
    pba = answer(pbu, Status.ACCEPTED, lifetime=8)
    assert (pba.status, pba.sequence, pba.lifetime) == (0, 7, 8)
    assert pba.options.serving_maar is None and pba.options.timestamp == 99
    assert answer(pbu, serving_maar=CMD).options.serving_maar == CMD
    assert missing_mandatory(pbu) is None


def domain(**changes):
    return DomainConfig(CMD, **changes)


@pytest.mark.parametrize("build", [
    lambda: Timers(lifetime=402).check(),
    lambda: Timers(lifetime=0).check(),
    lambda: Timers(refresh_ratio=1.0).check(),
    lambda: Timers(retransmit_initial=2, retransmit_max=1).check(),
    lambda: Timers(retransmit_limit=0).check(),
    lambda: domain(mode=Mode.PMIPV6).check(),
    lambda: domain(lma=CMD).check(),
    lambda: MaarConfig("m", CMD, IPv6Network("2001:db8::/64"), domain(), 48).check(),
    lambda: CmdConfig(domain(mode=Mode.PMIPV6, lma=CMD), frozenset()).check(),
])
def test_config_refuses_inconsistencies(build):
    with pytest.raises(ConfigError):
        build()


def test_only_the_lma_anchors_in_pmipv6_mode():
    pmip = domain(mode=Mode.PMIPV6, lma=CMD)
    pool = IPv6Network("2001:db8::/48")
    assert MaarConfig("lma", CMD, pool, pmip).anchors_locally
    assert not MaarConfig("mag", IPv6Address("2001:db8::2"), pool, pmip).anchors_locally
    assert MaarConfig("maar", CMD, pool, domain()).anchors_locally


def test_memory_store_and_p_maar_list():
    store = MemoryStore()
    a, b = IPv6Address("2001:db8::a"), IPv6Address("2001:db8::b")
    p1, p2 = IPv6Network("2001:db8:1::/64"), IPv6Network("2001:db8:2::/64")
    bce = CmdBce("mn", b, {p2: b, p1: a}, 400, 0.0, 0, 1)
    store.put(bce)
    assert store.get("mn") is bce and len(store) == 1 and list(store) == [bce]
    assert bce.p_maars() == [PreviousMaar(a, p1)] and bce.involved() == {a, b}
    store.delete("mn")
    store.delete("mn")
    assert store.get("mn") is None and len(store) == 0


def test_held_down_mns_are_bounded_oldest_first():
    from dmm_ryu.core.attach import MAX_HELD, Attachments, Seen
    table = Attachments(guard=10.0, holddown=1.0)
    for i in range(MAX_HELD + 10):
        table.hold(f"mn{i}", 2, now=0.0)
    assert len(table.held) == MAX_HELD
    assert table.seen("mn0", "m", 2, now=0.5) is Seen.NEW       # its hold was dropped
    assert table.seen(f"mn{MAX_HELD + 9}", "m", 2, now=0.5) is Seen.HELD


def test_a_maar_never_tunnels_one_prefix_for_two_mns():
    """Found by the fuzz campaign (pmipv6): a second MN's session naming a
    prefix another MN's BCE here already tunnels would make both own one
    label's rules; the MAAR keeps the first owner and counts the refusal."""
    from ipaddress import IPv6Address, IPv6Network
    from dmm_ryu.core.routes import MaarBce, drop_p_maars
    from dmm_ryu.sim.domain import build
    maar = build(2).maars[1]
    prefix, anchor = IPv6Network("2001:db8:1::/64"), IPv6Address("2001:db8:ffff::64")
    first, second = MaarBce.temporal("mn1", None), MaarBce.temporal("mn2", None)
    maar.bces.update(mn1=first, mn2=second)
    assert maar._learn(first, [(prefix, anchor)])
    assert not maar._learn(second, [(prefix, anchor)])
    assert second.p_maars == {} and maar.counters["dropped_prefix_of_another_mn"] == 1
    drop_p_maars(first, [prefix])  # the first MN's session let it go: now it may move
    assert maar._learn(second, [(prefix, anchor)])


def test_the_cmd_cache_pages_in_mn_id_order_without_walking_itself(monkeypatch):
    store = MemoryStore()
    for mn_id in ("mn-c", "mn-a", "mn-d", "mn-b"):
        store.put(CmdBce(mn_id, None, {}, 0, 0.0, 0, 0))
    store.put(CmdBce("mn-a", None, {}, 0, 1.0, 0, 0))  # an update is no second entry
    store.delete("mn-c")
    store.delete("mn-x")  # unknown: nothing
    monkeypatch.setattr(MemoryStore, "__iter__", lambda self: iter(()))
    assert store.ids() == ["mn-a", "mn-b", "mn-d"]
    assert store.ids(after="mn-a", limit=1) == ["mn-b"]
    assert store.ids(after="mn-b") == ["mn-d"]
    assert store.ids(after="mn-d", limit=5) == []
