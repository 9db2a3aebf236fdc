"""Every refusal: PBA status codes at the CMD and at MAARs, and the MAAR's
own refusal when its pool is exhausted."""
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core.actions import SendMessage
from dmm_ryu.core.config import Mode
from dmm_ryu.core.events import MessageReceived, MnAttached
from dmm_ryu.core.messages import answer, options
from dmm_ryu.wire.mh.model import timestamp_from_unix
from dmm_ryu.sim.domain import CMD_ADDRESS, build, violations
from dmm_ryu.wire.mh.model import DMM_PBU_FLAGS, HandoffIndicator, ProxyBindingUpdate, Status

PREF = IPv6Network("2001:db8:1::/64")


def pbu(seq=1, lifetime=400, stamp=0, handoff=HandoffIndicator.UNKNOWN, **changes):
    opts = replace(options("mn", (PREF,), handoff, 4, stamp), **changes)
    return ProxyBindingUpdate(sequence=seq, lifetime=lifetime, options=opts, flags=DMM_PBU_FLAGS)


def answers(node, src, message, now=0.0):
    """The PBAs ``node`` sends back to ``src``."""
    actions = node.handle(MessageReceived(src, node.address, message), now)
    return [a.message for a in actions if isinstance(a, SendMessage) and a.dst == src]


@pytest.fixture
def domain():
    return build(3)


def status_of(domain, message, src=None, now=0.0):
    (pba,) = answers(domain.cmd, src or domain.maars[0].address, message, now)
    return pba.status


def test_unknown_maar_is_not_authorized_154(domain):
    stranger = IPv6Address("2001:db8:ffff::dead")
    assert status_of(domain, pbu(), stranger) == Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG
    assert len(domain.cmd.store) == 0


@pytest.mark.parametrize("missing, status", [
    ({"mn_id": None}, Status.MISSING_MN_IDENTIFIER_OPTION),
    ({"hnps": ()}, Status.MISSING_HOME_NETWORK_PREFIX_OPTION),
    ({"handoff": None}, Status.MISSING_HANDOFF_INDICATOR_OPTION),
    ({"access_tech": None}, Status.MISSING_ACCESS_TECH_TYPE_OPTION),
])
def test_missing_mandatory_option(domain, missing, status):
    assert status_of(domain, pbu(**missing)) == status
    assert domain.cmd.counters[f"refused_{int(status)}"] == 1 and len(domain.cmd.store) == 0


def test_sequence_out_of_window_135_carries_the_last_accepted(domain):
    assert status_of(domain, pbu(seq=10)) == Status.ACCEPTED
    for stale in (10, 9, (10 + 0x8000) % 0x10000):
        (pba,) = answers(domain.cmd, domain.maars[0].address, pbu(seq=stale, stamp=1))
        assert (pba.status, pba.sequence) == (Status.SEQUENCE_OUT_OF_WINDOW, 10)
    assert status_of(domain, pbu(seq=11, stamp=1)) == Status.ACCEPTED


def test_sequence_window_wraps(domain):
    assert status_of(domain, pbu(seq=0xFFFF)) == Status.ACCEPTED
    assert status_of(domain, pbu(seq=0, stamp=1)) == Status.ACCEPTED


def test_maar_resynchronises_after_135():
    """The MAAR continues after the sequence number the PBA reports."""
    domain = build(2)
    maar = domain.maars[0]
    domain.cmd.handle(MessageReceived(maar.address, CMD_ADDRESS, pbu(seq=500)), 0.0)
    domain.cmd.handle(MessageReceived(maar.address, CMD_ADDRESS, pbu(seq=501)), 0.0)
    maar.bces.clear()  # the MAAR restarted and lost its counters
    domain.net.now = 1.0
    domain.move("mn", 0)
    assert domain.net.settle() and violations(domain) == []
    assert maar.counters["resynced"] == 1 and maar.bces["mn"].seq == 502


def test_older_attachment_is_refused_157(domain):
    maar1, maar2 = domain.maars[0].address, domain.maars[1].address
    later = timestamp_from_unix(2.0)
    assert status_of(domain, pbu(stamp=later, hnps=(IPv6Network("2001:db8:2::/64"),)),
                     maar2, now=2.0) == Status.ACCEPTED
    older = pbu(stamp=timestamp_from_unix(1.0), hnps=(IPv6Network("2001:db8:1:1::/64"),))
    assert status_of(domain, older, maar1, now=2.0) == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert domain.cmd.store.get("mn").proxy_coa == maar2


def test_binding_cache_full_is_130():
    domain = build(2, max_bindings=1)
    assert status_of(domain, pbu()) == Status.ACCEPTED
    other = pbu(mn_id="mn2", hnps=(IPv6Network("2001:db8:1:1::/64"),))
    assert status_of(domain, other) == Status.INSUFFICIENT_RESOURCES
    assert len(domain.cmd.store) == 1


def test_exhausted_pool_refuses_the_mn_without_registering():
    """A /63 pool holds two /64s: the third MN gets no prefix and no PBU is
    sent; the reason is counted."""
    domain = build(1, pool_len=63)
    for mn in ("a", "b", "c"):
        domain.move(mn, 0)
    assert domain.net.settle() and violations(domain) == []
    maar = domain.maars[0]
    assert set(maar.bces) == {"a", "b"} and maar.counters["refused_pool_exhausted"] == 1
    assert domain.cmd.store.get("c") is None and domain.net.mns["c"].prefixes == set()
    domain.move("a", None)
    assert domain.net.settle()
    domain.move("c", 0)
    assert domain.net.settle() and violations(domain) == []
    assert set(maar.bces) == {"b", "c"}


def test_exhausted_lma_pool_refuses_the_registration_130():
    """PMIPv6 (RFC 5213): the LMA cannot allocate, so it refuses the MAG
    with 130 and the MAG forgets the MN."""
    domain = build(2, Mode.PMIPV6, pool_len=64, lma=1)
    domain.move("a", 0)
    domain.move("b", 0)
    assert domain.net.settle() and violations(domain) == []
    assert domain.maars[1].counters["lma_refused_130"] == 1
    assert domain.maars[0].counters["rejected_130"] == 1
    assert domain.maars[1].counters["refused_pool_exhausted"] == 1
    assert set(domain.maars[0].bces) == {"a"}


def test_maar_only_takes_pbus_from_its_cmd(domain):
    maar = domain.maars[0]
    (pba,) = answers(maar, domain.maars[1].address, pbu(serving_maar=domain.maars[1].address))
    assert pba.status == Status.ADMINISTRATIVELY_PROHIBITED


def test_p_maar_without_the_mn_answers_153(domain):
    maar = domain.maars[0]
    (pba,) = answers(maar, CMD_ADDRESS, pbu(serving_maar=domain.maars[1].address))
    assert pba.status == Status.NOT_LMA_FOR_THIS_MOBILE_NODE


@pytest.mark.parametrize("status", [Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG,
                                    Status.MISSING_HANDOFF_INDICATOR_OPTION,
                                    Status.INSUFFICIENT_RESOURCES])
def test_maar_rejected_registration_forgets_the_mn(domain, status):
    """Any refusal of its PBU makes the MAAR drop the temporal BCE and
    return the prefix to the pool; nothing was installed."""
    maar = domain.maars[0]
    actions = maar.handle(MnAttached("mn", "02:00:00:00:00:01", 1), 0.0)
    (sent,) = [a.message for a in actions if isinstance(a, SendMessage)]
    assert answers(maar, CMD_ADDRESS, answer(sent, status, lifetime=0)) == []
    assert maar.bces == {} and maar.pool.allocated() == {}
    assert maar.counters[f"rejected_{int(status)}"] == 1
