"""The attacks of issue #12, each as a forged message from a transport
address the runtime believes (a configured node): none may change any
state; each gets its PBA status or is dropped, and counts one reason.

Every test forges through the simulator (``Network.inject``), then checks
that the CMD's cache, every MAAR's BCEs and pool, and the installed state
are exactly as before, and that the domain still satisfies every invariant.
"""
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core.config import Mode
from dmm_ryu.core.events import MessageReceived, MnAttached
from dmm_ryu.core.messages import answer, options
from dmm_ryu.sim.domain import CMD_ADDRESS, build, violations
from dmm_ryu.wire.mh.model import (
    DMM_PBU_FLAGS,
    HandoffIndicator,
    PreviousMaar,
    ProxyBindingUpdate,
    Status,
    timestamp_from_unix,
)

P1 = IPv6Network("2001:db8:1::/64")   # mn1's prefix, anchored at MAAR1
P2 = IPv6Network("2001:db8:2::/64")   # mn2's prefix, anchored at MAAR2
STRANGER = IPv6Address("2001:db8:ffff::dead")


def settled(mode=Mode.PROXY, **kw):
    """mn1 on MAAR1, mn2 on MAAR2, both registered."""
    domain = build(3, mode, **kw)
    domain.move("mn1", 0)
    domain.move("mn2", 1)
    assert domain.net.settle() and violations(domain) == []
    return domain


def state(domain):
    """Everything an accepted forgery could change."""
    cmd = {b.mn_id: (b.proxy_coa, dict(b.anchors), b.lifetime, b.registered, b.ts, b.last_seq)
           for b in domain.cmd.store}
    maars = [({m: (b.local, b.serving, dict(b.p_maars), b.final, b.seq, b.ts, b.installed)
               for m, b in maar.bces.items()}, maar.pool.allocated()) for maar in domain.maars]
    return cmd, maars, set(domain.net.dataplane.entries())


def forge(domain, src, dst, message):
    """Deliver ``message`` as if from ``src``; the messages sent in answer."""
    since = len(domain.net.log)
    domain.net.inject(dst, MessageReceived(src, dst, message))
    return [sent.message for sent in domain.net.log[since:]]


def now_stamp(domain, ahead=0.0):
    return timestamp_from_unix(domain.net.now + ahead)


def pbu(mn_id, hnps, seq=1000, lifetime=40, stamp=0, handoff=HandoffIndicator.UNKNOWN,
        **extra):
    opts = replace(options(mn_id, hnps, handoff, 4, stamp), **extra)
    return ProxyBindingUpdate(sequence=seq, lifetime=lifetime, options=opts, flags=DMM_PBU_FLAGS)


def unchanged(domain, before):
    assert state(domain) == before
    assert domain.net.settle() and violations(domain) == []
    assert state(domain) == before


def addr(domain, index):
    return domain.maars[index].address


# -- 1: a prefix that is another MN's, or not in the sender's pool ----------

@pytest.mark.parametrize("sender, prefix", [
    (1, P1),                                  # MAAR2 claims MAAR1's prefix of mn1
    (0, P1),                                  # MAAR1's own prefix, but mn1's
    (1, IPv6Network("2001:db8:1:5::/64")),    # a free prefix of MAAR1's pool
    (1, IPv6Network("2001:db8:2:5::/80")),    # MAAR2's pool, wrong length
])
def test_attack1_pbu_claiming_a_prefix_not_its_own_is_refused_155(sender, prefix):
    domain = settled()
    before = state(domain)
    replies = forge(domain, addr(domain, sender), CMD_ADDRESS,
                    pbu("intruder", (prefix,), stamp=now_stamp(domain)))
    assert [m.status for m in replies] == [Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX]
    assert domain.cmd.counters["refused_155"] == 1
    unchanged(domain, before)


# -- 2: a de-registration with no timestamp, or an old sequence number -------

def test_attack2_deregistration_without_timestamp_is_refused_156():
    domain = settled()
    before = state(domain)
    forged = pbu("mn1", (P1,), lifetime=0, stamp=None)
    replies = forge(domain, addr(domain, 0), CMD_ADDRESS, forged)
    assert [m.status for m in replies] == [Status.TIMESTAMP_MISMATCH]
    assert domain.cmd.counters["refused_156"] == 1
    unchanged(domain, before)


def test_attack2_deregistration_with_an_old_sequence_is_refused_135():
    domain = settled()
    before = state(domain)
    last = domain.cmd.store.get("mn1").last_seq
    forged = pbu("mn1", (P1,), seq=last, lifetime=0, stamp=now_stamp(domain))
    replies = forge(domain, addr(domain, 0), CMD_ADDRESS, forged)
    assert [(m.status, m.sequence) for m in replies] == [(Status.SEQUENCE_OUT_OF_WINDOW, last)]
    assert domain.cmd.counters["refused_135"] == 1
    unchanged(domain, before)


# -- 3: a timestamp far ahead of the receiver's clock ------------------------

@pytest.mark.parametrize("mn_id, sender, prefix", [
    ("mn1", 0, P1),                                   # the serving MAAR, mn1's session
    ("newcomer", 2, IPv6Network("2001:db8:3::/64")),  # a new MN
])
def test_attack3_timestamp_far_in_the_future_is_refused_156_and_not_recorded(
        mn_id, sender, prefix):
    domain = settled()
    before = state(domain)
    forged = pbu(mn_id, (prefix,), seq=5000, stamp=2**64 - 1)
    replies = forge(domain, addr(domain, sender), CMD_ADDRESS, forged)
    assert [m.status for m in replies] == [Status.TIMESTAMP_MISMATCH]
    assert domain.cmd.counters["refused_156"] == 1
    unchanged(domain, before)
    domain.move("mn1", 2)  # the MN is not locked out: its handover still works
    assert domain.net.settle() and violations(domain) == []
    assert domain.cmd.store.get("mn1").proxy_coa == addr(domain, 2)


def test_attack3_future_timestamp_from_the_cmd_is_refused_156_at_the_p_maar():
    domain = settled()
    domain.move("mn1", 1)
    assert domain.net.settle()
    before = state(domain)
    forged = pbu("mn1", (P1,), stamp=2**64 - 1, serving_maar=addr(domain, 2))
    replies = forge(domain, CMD_ADDRESS, addr(domain, 0), forged)
    assert [m.status for m in replies] == [Status.TIMESTAMP_MISMATCH]
    assert domain.maars[0].counters["refused_156"] == 1
    unchanged(domain, before)


# -- 4: direct PBAs outside locator mode, or naming what is not the sender's --

def direct_pba(mn_id, hnps, stamp):
    return answer(pbu(mn_id, hnps, stamp=stamp))


def test_attack4_direct_pba_in_proxy_mode_is_dropped():
    """MAAR2 "answers" MAAR1 directly that mn2's prefix is mn1's."""
    domain = settled()
    before = state(domain)
    assert forge(domain, addr(domain, 1), addr(domain, 0),
                 direct_pba("mn1", (P2,), now_stamp(domain))) == []
    assert domain.maars[0].counters["dropped_direct_pba"] == 1
    unchanged(domain, before)


@pytest.mark.parametrize("sender, hnps, reason", [
    (None, (IPv6Network("2001:db8:ffff:1::/64"),), "dropped_direct_pba"),  # not a MAAR
    (1, (P2,), "dropped_direct_pba_prefix"),     # MAAR2's, but mn2's, not in mn1's session
    (2, (P2,), "dropped_direct_pba_prefix"),     # MAAR2's prefix "from" MAAR3
    (1, (IPv6Network("2001:db8:2::/60"),), "dropped_direct_pba_prefix"),  # wrong length
])
def test_attack4_locator_direct_pba_naming_what_is_not_the_senders_is_dropped(
        sender, hnps, reason):
    domain = settled(Mode.LOCATOR)
    before = state(domain)
    src = STRANGER if sender is None else addr(domain, sender)
    assert forge(domain, src, addr(domain, 0), direct_pba("mn1", hnps, now_stamp(domain))) == []
    assert domain.maars[0].counters[reason] == 1
    unchanged(domain, before)


# -- 5: PBAs "from" the CMD naming prefixes outside every pool ---------------

@pytest.mark.parametrize("hnps, previous", [
    ((P1, IPv6Network("2001:db8:ee::/64")), ()),                     # HNP in no pool
    ((P1, IPv6Network("2001:db8:2::/56")), ()),                      # wrong length
    ((P1, P2), (PreviousMaar(CMD_ADDRESS, P2),)),                    # P-MAAR not a MAAR
    ((P1, P2), (PreviousMaar(IPv6Address("2001:db8:ffff::66"), P2),)),  # MAAR3, MAAR2's prefix
])
def test_attack5_pba_from_the_cmd_outside_the_pools_is_dropped(hnps, previous):
    domain = settled()
    maar = domain.maars[0]
    before = state(domain)
    registration = pbu("mn1", (P1,), seq=maar.bces["mn1"].seq, stamp=maar.bces["mn1"].ts)
    forged = answer(registration, hnps=hnps, previous_maars=previous)
    assert forge(domain, CMD_ADDRESS, maar.address, forged) == []
    assert maar.counters["dropped_pba_prefix"] == 1
    unchanged(domain, before)


# -- 6: a Serving MAAR option that is no other MAAR --------------------------

@pytest.mark.parametrize("serving", [CMD_ADDRESS, STRANGER, IPv6Address("2001:db8:ffff::64")])
def test_attack6_pbu_from_the_cmd_with_a_bad_serving_maar_is_refused(serving):
    """The CMD's own address, no node at all, the receiving MAAR1 itself."""
    domain = settled()
    maar = domain.maars[0]
    before = state(domain)
    forged = pbu("mn1", (P1,), stamp=now_stamp(domain), serving_maar=serving,
                 handoff=HandoffIndicator.BETWEEN_MAGS)
    replies = forge(domain, CMD_ADDRESS, maar.address, forged)
    assert [m.status for m in replies] == [Status.REASON_UNSPECIFIED]
    assert maar.counters["refused_serving_maar"] == 1
    unchanged(domain, before)


# -- 7: more MNs than a MAAR may serve --------------------------------------

def test_attack7_max_bindings_refuses_new_mns_and_holds_them_down():
    domain = build(2, maar_max_bindings=2)
    for mn in ("a", "b", "c"):
        domain.move(mn, 0)
    assert domain.net.settle() and violations(domain) == []
    maar = domain.maars[0]
    assert set(maar.bces) == {"a", "b"} and maar.counters["refused_max_bindings"] == 1
    assert domain.cmd.store.get("c") is None and maar.pool.used == 2
    mn = domain.net.mns["c"]
    domain.net.inject(maar.address, MnAttached("c", mn.mac, mn.port))  # within the hold-down
    assert maar.counters["attach_held_down"] == 1
    domain.move("a", 1)  # a's prefix stays anchored here: still two bindings
    assert domain.net.settle() and violations(domain) == []
    domain.move("a", None)
    assert domain.net.settle()
    domain.net.run_for(5)
    domain.net.chatter()
    assert domain.net.settle() and violations(domain, attached_served=True) == []
    assert set(maar.bces) == {"b", "c"}


# -- 5 and 6 through the runtime: once they raised out of packet_in ---------

def runtime_forgery(message, mode="proxy"):
    """An MN registered at MAAR1 of a fake domain, then ``message`` "from"
    the CMD reaches MAAR1 as a frame on its transport port: returns the
    domain, MAAR1's core and whether MAAR1's switch rules stayed as they were."""
    from dmm_ryu.of.labels import transport_mac
    from dmm_ryu.wire.inet import ethernet
    from dmm_ryu.wire.mh import encode_packet
    from tests.unit.fakedomain import FakeDomain, domain_text
    from tests.unit.test_controller import attach

    dom = FakeDomain(domain_text(mode))
    attach(dom, "maar1")
    core = dom.dmm.nodes["maar1"].core
    before = dom.tables[1].snapshot()
    frame = ethernet(transport_mac(1), transport_mac(256),
                     encode_packet(message(core), "2001:db8:ffff::100", "2001:db8:ffff::1"))
    dom.inject("maar1", 1, frame)
    return dom, core, dom.tables[1].snapshot() == before


def test_attack5_runtime_pba_with_a_prefix_in_no_pool_changes_no_rule():
    def forged(core):
        (mn_id, bce), = core.bces.items()
        registration = pbu(mn_id, (bce.local,), seq=bce.seq, stamp=bce.ts)
        return answer(registration, hnps=(bce.local, IPv6Network("2001:db8:ee::/64")),
                      previous_maars=(PreviousMaar(IPv6Address("2001:db8:ffff::2"),
                                                   IPv6Network("2001:db8:2::/56")),))
    _, core, unchanged_rules = runtime_forgery(forged)
    assert unchanged_rules and core.counters["dropped_pba_prefix"] == 1


def test_attack6_runtime_pbu_naming_the_cmd_as_serving_maar_changes_no_rule():
    def forged(core):
        (mn_id, bce), = core.bces.items()
        return pbu(mn_id, (bce.local,), stamp=bce.ts, handoff=HandoffIndicator.BETWEEN_MAGS,
                   serving_maar=IPv6Address("2001:db8:ffff::100"))
    dom, core, unchanged_rules = runtime_forgery(forged)
    assert unchanged_rules and core.counters["refused_serving_maar"] == 1
    assert next(iter(core.bces.values())).serving is None


def test_attack1_pba_from_a_p_maar_claiming_another_maars_prefix_is_dropped():
    """The CMD awaits MAAR1's PBA (mn1 moved to MAAR2; MAAR1 is cut off):
    a PBA "from" MAAR1 with the right sequence number but MAAR2's prefix
    of mn2 is not believed."""
    from dmm_ryu.sim.network import Link
    domain = settled()
    domain.net.set_link(CMD_ADDRESS, addr(domain, 0), Link(loss=1.0))
    domain.move("mn1", 1)
    domain.net.run_for(0.1)
    (sent,) = [s.message for s in domain.net.log if s.dst == addr(domain, 0) and s.lost][-1:]
    before = state(domain)
    assert forge(domain, addr(domain, 0), CMD_ADDRESS, answer(sent, hnps=(P2,))) == []
    assert domain.cmd.counters["dropped_pba_prefix"] == 1
    assert state(domain) == before
