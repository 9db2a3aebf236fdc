"""RFC 5213 / RFC 8885 flags (issue #16): every PBU carries P; in the DMM
modes every PBU and PBA carries D and receivers refuse or drop messages
without it; the PMIPv6 fallback speaks plain RFC 5213 (no D)."""
from dataclasses import replace

import pytest

from dmm_ryu.core.config import Mode
from dmm_ryu.core.messages import answer
from dmm_ryu.sim.domain import CMD_ADDRESS, build, violations
from dmm_ryu.wire.mh.model import PBA_FLAGS, PBU_FLAGS, BUFlags, ProxyBindingUpdate, Status
from tests.unit.test_attacks import P1, forge, now_stamp, pbu, settled, state, unchanged

DMM_MODES = [Mode.RELAY, Mode.LOCATOR, Mode.PROXY]


def walked(mode):
    domain = build(3, mode, lma=2 if mode is Mode.PMIPV6 else None)
    for where in (0, 1, 2, None):
        domain.move("mn", where)
        assert domain.net.settle() and violations(domain) == []
    return domain


@pytest.mark.parametrize("mode", DMM_MODES)
def test_every_dmm_message_carries_the_d_flag(mode):
    log = walked(mode).net.log
    assert log and all(sent.message.is_dmm for sent in log)
    assert all(sent.message.flags & BUFlags.P for sent in log
               if isinstance(sent.message, ProxyBindingUpdate))


def test_pmipv6_messages_are_plain_rfc5213():
    log = walked(Mode.PMIPV6).net.log
    assert log and not any(sent.message.is_dmm for sent in log)


@pytest.mark.parametrize("flags, status", [
    (PBU_FLAGS & ~BUFlags.P | BUFlags.D, Status.PROXY_REG_NOT_ENABLED),  # no P: not a proxy BU
    (PBU_FLAGS, Status.ADMINISTRATIVELY_PROHIBITED),                     # no D in a DMM mode
])
def test_cmd_refuses_a_pbu_without_the_p_or_d_flag(flags, status):
    domain = settled()
    before = state(domain)
    forged = replace(pbu("mn1", (P1,), stamp=now_stamp(domain)), flags=flags)
    replies = forge(domain, domain.maars[0].address, CMD_ADDRESS, forged)
    assert [m.status for m in replies] == [status]
    assert domain.cmd.counters[f"refused_{int(status)}"] == 1
    unchanged(domain, before)


def test_p_maar_refuses_a_cmd_pbu_without_the_d_flag():
    domain = settled()
    before = state(domain)
    forged = replace(pbu("mn1", (P1,), stamp=now_stamp(domain),
                         serving_maar=domain.maars[1].address), flags=PBU_FLAGS)
    replies = forge(domain, CMD_ADDRESS, domain.maars[0].address, forged)
    assert [m.status for m in replies] == [Status.ADMINISTRATIVELY_PROHIBITED]
    assert domain.maars[0].counters["refused_129"] == 1
    unchanged(domain, before)


def test_pba_without_the_d_flag_is_dropped_in_a_dmm_mode():
    domain = settled()
    maar = domain.maars[0]
    before = state(domain)
    registration = pbu("mn1", (P1,), seq=maar.bces["mn1"].seq, stamp=maar.bces["mn1"].ts)
    forged = replace(answer(registration, lifetime=0, status=Status.REASON_UNSPECIFIED),
                     flags=PBA_FLAGS)
    assert forge(domain, CMD_ADDRESS, maar.address, forged) == []
    assert maar.counters["dropped_no_d_flag"] == 1
    unchanged(domain, before)


# -- sequence numbers per (MN, P-MAAR), checked by the P-MAAR (RFC 6275 9.5.1) --

def cmd_pbus(domain, dst):
    return [(s.message.options.mn_id, s.message.sequence) for s in domain.net.log
            if s.src == CMD_ADDRESS and s.dst == dst and isinstance(s.message, ProxyBindingUpdate)]


def test_cmd_numbers_its_pbus_per_mn_and_p_maar():
    domain = settled()
    domain.move("mn1", 2)
    domain.move("mn2", 2)
    assert domain.net.settle() and violations(domain) == []
    assert cmd_pbus(domain, domain.maars[0].address) == [("mn1", 1)]
    assert cmd_pbus(domain, domain.maars[1].address) == [("mn2", 1)]


def test_p_maar_refuses_an_old_cmd_sequence_135():
    domain = settled()
    domain.move("mn1", 1)
    assert domain.net.settle()
    before = state(domain)
    forged = pbu("mn1", (P1,), seq=1, stamp=now_stamp(domain),
                 serving_maar=domain.maars[2].address)
    replies = forge(domain, CMD_ADDRESS, domain.maars[0].address, forged)
    assert [(m.status, m.sequence) for m in replies] == [(Status.SEQUENCE_OUT_OF_WINDOW, 1)]
    assert domain.maars[0].counters["refused_135"] == 1
    unchanged(domain, before)


def test_cmd_resynchronises_after_135_from_a_p_maar():
    """The CMD lost its counters (a restart): the P-MAAR's 135 reports the
    last number it accepted and the CMD's PBU goes again after it."""
    domain = settled()
    domain.move("mn1", 1)
    assert domain.net.settle()
    domain.cmd._seqs.clear()
    domain.move("mn1", 2)
    assert domain.net.settle() and violations(domain) == []
    assert domain.cmd.counters["resynced"] == 1
    assert cmd_pbus(domain, domain.maars[0].address)[-2:] == [("mn1", 1), ("mn1", 2)]


def test_prefix_owners_index_pool_prefixes_densely_and_others_in_a_dict():
    from ipaddress import IPv6Network
    from types import SimpleNamespace
    from dmm_ryu.core.config import Pool
    from dmm_ryu.core.trust import DENSE_SLACK, PrefixOwners
    pool = Pool(IPv6Network("2001:db8:1::/48"), 64)
    near, far = IPv6Network("2001:db8:1:3::/64"), IPv6Network("2001:db8:1:ffff::/64")
    odd, outside = IPv6Network("2001:db8:1:3::/80"), IPv6Network("2001:db8:9::/64")
    stored = SimpleNamespace(mn_id="mn0", anchors={IPv6Network("2001:db8:1::/64"): None})
    owners = PrefixOwners([stored], [pool])
    owners.record("mn1", [near, odd, outside, far])
    assert [owners.owner(p) for p in (near, odd, outside, far)] == ["mn1"] * 4
    assert owners.owner(IPv6Network("2001:db8:1::/64")) == "mn0"
    assert owners.owner(IPv6Network("2001:db8:1:2::/64")) is None
    assert len(owners._lists[0]) == 4 < DENSE_SLACK  # the far prefix did not grow it
    assert set(owners._other) == {odd, outside, far}
    owners.record("mn2", [near])  # overwritten: the newest claim wins
    store = {"mn1": SimpleNamespace(anchors={near: None}), "mn2": SimpleNamespace(anchors={})}
    assert owners.taken(near, "mn1", store) is False  # mn2 no longer anchors it
    owners.record("mn1", [near])
    assert owners.taken(near, "mn2", store) and not owners.taken(near, "mn1", store)
