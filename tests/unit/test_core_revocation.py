"""RFC 5846 Binding Revocation in pmipv6 mode (core/revocation.py): the LMA
revokes the previous MAG's binding on a handoff and retransmits its BRI
until the BRA; the MAG drops the binding, so the MN's next frame there is a
new attachment, and refuses what it cannot revoke.  Cores fed directly."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Network

import pytest

from dmm_ryu.core.actions import CancelTimer, RemoveTunnel, SendMessage, SendRouterAdvert
from dmm_ryu.core.actions import StartTimer
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.core.events import MessageReceived, MnAttached, TimerFired
from dmm_ryu.core.revocation import REVOKE
from dmm_ryu.runtime.persistence import NodeState
from dmm_ryu.sim.domain import build
from dmm_ryu.sim.network import Link
from dmm_ryu.store.base import MemoryStore
from dmm_ryu.wire.mh.model import (
    BindingRevocationAck,
    BindingRevocationIndication,
    BRFlags,
    HandoffIndicator,
    MobilityOptions,
    ProxyBindingUpdate,
    RevocationStatus,
    RevocationTrigger,
)
from tests.unit.test_core_lma import NOW, mag, pbu, send

HOME = IPv6Network("2001:db8:3::/64")
TIMERS = Timers(lifetime=40, retransmit_limit=2)


@pytest.fixture
def dom():
    return build(3, Mode.PMIPV6, lma=2, timers=TIMERS)


def lma(dom):
    return dom.maars[2]


def sent(actions, kind=BindingRevocationIndication):
    return [a for a in actions if isinstance(a, SendMessage) and isinstance(a.message, kind)]


def handoff(dom, handoff=HandoffIndicator.UNKNOWN):
    """The MN registers from MAG 0, then MAG 1 takes it over: the LMA's
    actions for the handoff and its one BRI."""
    send(dom, mag(dom, 0), pbu())
    actions, _ = send(dom, mag(dom, 1), pbu(at=NOW + 0.5, handoff=handoff), NOW + 0.5)
    [bri] = sent(actions)
    return actions, bri


def bra(bri, status=RevocationStatus.SUCCESS, **changes):
    return replace(BindingRevocationAck(status, bri.message.sequence,
                                        MobilityOptions(mn_id="mn")), **changes)


# -- the LMA -----------------------------------------------------------------------

@pytest.mark.parametrize("hi, trigger", [
    (HandoffIndicator.UNKNOWN, RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN),
    (HandoffIndicator.NEW_INTERFACE, RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN),
    (HandoffIndicator.BETWEEN_MAGS, RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE),
    (HandoffIndicator.DIFFERENT_INTERFACE,
     RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE),
])
def test_handoff_sends_the_previous_mag_a_bri_after_the_pba(dom, hi, trigger):
    actions, bri = handoff(dom, hi)
    messages = [type(a.message).__name__ for a in actions if isinstance(a, SendMessage)]
    assert messages == ["ProxyBindingAck", "BindingRevocationIndication"]
    assert (bri.src, bri.dst) == (lma(dom).address, mag(dom, 0))
    assert (bri.message.trigger, bri.message.flags) == (trigger, BRFlags.P)
    assert (bri.message.options.mn_id, bri.message.options.hnps) == ("mn", (HOME,))
    key = (REVOKE, "mn", mag(dom, 0))
    assert StartTimer(key, NOW + 0.5 + TIMERS.retransmit_initial) in actions
    assert lma(dom).counters["lma_bri_sent"] == 1 and lma(dom).busy


def test_registration_and_re_registration_revoke_nobody(dom):
    actions, _ = send(dom, mag(dom, 0), pbu())
    assert sent(actions) == []
    actions, _ = send(dom, mag(dom, 0), pbu(2, hnp=HOME, handoff=HandoffIndicator.NOT_CHANGED,
                                            at=NOW + 1), NOW + 1)
    assert sent(actions) == [] and not lma(dom).busy


def test_the_bra_ends_the_revocation(dom):
    _, bri = handoff(dom)
    key = (REVOKE, "mn", mag(dom, 0))
    core = lma(dom)
    actions = core.handle(MessageReceived(mag(dom, 0), core.address, bra(bri)), NOW + 0.6)
    assert actions == [CancelTimer(key)]
    assert core.counters["lma_revoked"] == 1 and not core.busy
    assert core.handle(TimerFired(key), NOW + 2) == []


def test_a_refusing_bra_is_counted_by_its_status(dom):
    _, bri = handoff(dom)
    core = lma(dom)
    answer = bra(bri, RevocationStatus.BINDING_DOES_NOT_EXIST)
    assert core.handle(MessageReceived(mag(dom, 0), core.address, answer), NOW + 0.6) != []
    assert core.counters["lma_revocation_status_2"] == 1 and not core.busy


def test_the_bri_is_retransmitted_with_its_sequence_number_then_given_up(dom):
    _, bri = handoff(dom)
    key, core = (REVOKE, "mn", mag(dom, 0)), lma(dom)
    again = []
    for attempt in range(TIMERS.retransmit_limit):
        actions = core.handle(TimerFired(key), NOW + 2 + attempt)
        again += sent(actions)
        assert any(isinstance(a, StartTimer) and a.key == key for a in actions)
    assert [a.message for a in again] == [bri.message] * TIMERS.retransmit_limit
    assert core.handle(TimerFired(key), NOW + 10) == []
    assert core.counters["lma_bri_retransmitted"] == TIMERS.retransmit_limit
    assert core.counters["lma_revocation_failed"] == 1 and not core.busy
    late = core.handle(MessageReceived(mag(dom, 0), core.address, bra(bri)), NOW + 11)
    assert late == [] and core.counters["dropped_bra_unsolicited"] == 1


@pytest.mark.parametrize("case", ["other sequence", "other MAG", "no P flag", "other MN",
                                  "nothing outstanding"])
def test_an_unsolicited_bra_changes_nothing(dom, case):
    _, bri = handoff(dom)
    core = lma(dom)
    src, answer = mag(dom, 0), bra(bri)
    if case == "other sequence":
        answer = replace(answer, sequence=answer.sequence + 1)
    elif case == "other MAG":
        src = mag(dom, 1)
    elif case == "no P flag":
        answer = replace(answer, flags=BRFlags(0))
    elif case == "other MN":
        answer = replace(answer, options=MobilityOptions(mn_id="other"))
    else:
        core.handle(MessageReceived(src, core.address, answer), NOW + 0.6)
    before = dict(core._revoking.sent.of("mn"))
    assert core.handle(MessageReceived(src, core.address, answer), NOW + 0.7) == []
    assert core.counters["dropped_bra_unsolicited"] == 1 and core._revoking.sent.of("mn") == before


def test_moving_back_voids_the_revocation_of_the_new_proxy_coa(dom):
    handoff(dom)
    actions, _ = send(dom, mag(dom, 0), pbu(at=NOW + 0.8), NOW + 0.8)
    assert CancelTimer((REVOKE, "mn", mag(dom, 0))) in actions
    assert [a.dst for a in sent(actions)] == [mag(dom, 1)]
    assert set(lma(dom)._revoking.sent.of("mn")) == {(REVOKE, "mn", mag(dom, 1))}


def test_attaching_to_the_lma_itself_revokes_the_serving_mag(dom):
    send(dom, mag(dom, 0), pbu())
    core = lma(dom)
    actions = core.handle(MnAttached("mn", "02:00:00:00:00:09", 1), NOW + 1)
    [bri] = sent(actions)
    assert bri.dst == mag(dom, 0) and bri.message.options.hnps == (HOME,)
    assert any(isinstance(a, RemoveTunnel) for a in actions)


def test_a_revocation_timer_restored_without_its_bri_does_nothing(dom):
    assert lma(dom).handle(TimerFired((REVOKE, "mn", mag(dom, 0))), NOW) == []


# -- a MAG ---------------------------------------------------------------------------

@pytest.fixture
def served():
    """The MN registered at MAG 0 (MAAR1) on the simulator; the LMA is MAAR3."""
    domain = build(3, Mode.PMIPV6, link=Link(delay=0.01), lma=2, timers=TIMERS)
    domain.move("mn", 0)
    assert domain.net.settle()
    return domain


def revoke(domain, bri=None, src=None):
    core, lma_core = domain.maars[0], domain.maars[2]
    bri = bri or BindingRevocationIndication(
        RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, 9, MobilityOptions(mn_id="mn", hnps=(HOME,)))
    src = lma_core.address if src is None else src
    return core.handle(MessageReceived(src, core.address, bri), domain.net.now)


def test_the_mag_drops_the_binding_silently_and_answers(served):
    core = served.maars[0]
    mn = served.net.mns["mn"]
    repeat = core.handle(MnAttached("mn", mn.mac, mn.port), served.net.now)
    assert not any(isinstance(a, SendMessage) for a in repeat)  # still attached: only the RA
    actions = revoke(served)
    assert any(isinstance(a, RemoveTunnel) for a in actions)
    assert not any(isinstance(a, SendRouterAdvert) for a in actions)
    [answer] = sent(actions, BindingRevocationAck)
    assert answer.dst == served.maars[2].address
    assert (answer.message.status, answer.message.sequence, answer.message.flags) == (0, 9, BRFlags.P)
    assert answer.message.options.mn_id == "mn"
    assert core.bces == {} and core.counters["revoked"] == 1 and not core.busy
    again = core.handle(MnAttached("mn", mn.mac, mn.port), served.net.now)
    [registration] = [a.message for a in again if isinstance(a, SendMessage)]
    assert isinstance(registration, ProxyBindingUpdate) and registration.lifetime > 0
    assert registration.options.hnps == (IPv6Network("::/0"),)


@pytest.mark.parametrize("case, status", [
    ("global", RevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED),
    ("IPv4 only", RevocationStatus.IPV4_HOA_BINDING_DOES_NOT_EXIST),
    ("unknown MN", RevocationStatus.BINDING_DOES_NOT_EXIST),
    ("other HNP", RevocationStatus.CANNOT_IDENTIFY_BINDING),
    ("registering again", RevocationStatus.REVOCATION_FAILED_MN_ATTACHED),
])
def test_the_mag_refuses_what_it_cannot_revoke(served, case, status):
    core = served.maars[0]
    bri = BindingRevocationIndication(4, 9, MobilityOptions(mn_id="mn", hnps=(HOME,)))
    if case == "global":
        bri = replace(bri, flags=BRFlags.P | BRFlags.G)
    elif case == "IPv4 only":
        bri = replace(bri, flags=BRFlags.P | BRFlags.V)
    elif case == "unknown MN":
        bri = replace(bri, options=MobilityOptions(mn_id="other"))
    elif case == "other HNP":
        bri = replace(bri, options=MobilityOptions(mn_id="mn", hnps=(IPv6Network("2001:db8::/64"),)))
    else:
        core.bces["mn"].final = False
    bce = core.bces["mn"]
    actions = revoke(served, bri)
    assert [a.message.status for a in sent(actions, BindingRevocationAck)] == [status]
    assert len(actions) == 1 and core.bces["mn"] is bce
    assert core.counters[f"revocation_refused_{int(status)}"] == 1


@pytest.mark.parametrize("case, counter", [
    ("from a MAG", "dropped_bri_not_from_lma"),
    ("no P flag", "dropped_bri_malformed"),
    ("no MN-ID", "dropped_bri_malformed"),
])
def test_a_bri_not_believed_changes_nothing(served, case, counter):
    bri = BindingRevocationIndication(4, 9, MobilityOptions(mn_id="mn"))
    src = None
    if case == "from a MAG":
        src = served.maars[1].address
    elif case == "no P flag":
        bri = replace(bri, flags=BRFlags(0))
    else:
        bri = replace(bri, options=MobilityOptions())
    assert revoke(served, bri, src) == []
    assert served.maars[0].counters[counter] == 1 and "mn" in served.maars[0].bces


def test_the_lma_takes_no_bri_and_dmm_modes_no_revocation():
    domain = build(3, Mode.PMIPV6, lma=2)
    core = domain.maars[2]
    bri = BindingRevocationIndication(4, 1, MobilityOptions(mn_id="mn"))
    assert core.handle(MessageReceived(domain.maars[0].address, core.address, bri), NOW) == []
    assert core.counters["dropped_bri_not_from_lma"] == 1
    proxy = build(3, Mode.PROXY)
    maar, cmd = proxy.maars[0], proxy.cmd
    assert maar.handle(MessageReceived(cmd.address, maar.address, bri), NOW) == []
    assert maar.counters["dropped_revocation_not_pmipv6"] == 1
    assert cmd.handle(MessageReceived(maar.address, cmd.address, bri), NOW) == []
    assert cmd.counters["dropped_revocation"] == 1


def stored_handoff(dom, store):
    """:func:`handoff`, the LMA's state tracked and stored after each PBU
    (runtime/persistence.py, as a stored node does); its one BRI."""
    core, state = lma(dom), NodeState(store, lma(dom))
    bri = None
    for src, message, now in ((mag(dom, 0), pbu(), NOW),
                              (mag(dom, 1), pbu(at=NOW + 0.5), NOW + 0.5)):
        event = MessageReceived(src, core.address, message)
        actions = core.handle(event, now)
        state.save(state.track(event, actions)[0])
        bri = next(iter(sent(actions)), bri)
    return bri


def test_an_outstanding_revocation_survives_a_restart_and_its_bra_ends_it():
    store = MemoryStore()
    bri = stored_handoff(build(3, Mode.PMIPV6, lma=2, timers=TIMERS), store)
    dom = build(3, Mode.PMIPV6, lma=2, timers=TIMERS)  # the restarted controller
    key = (REVOKE, "mn", mag(dom, 0))
    timers = NodeState(store, lma(dom)).load(NOW + 1)
    assert key in [timer.key for timer in timers]
    resent = sent(lma(dom).handle(TimerFired(key), NOW + 3))
    assert [(a.dst, a.message) for a in resent] == [(bri.dst, bri.message)]
    assert lma(dom).handle(MessageReceived(mag(dom, 0), lma(dom).address, bra(bri)),
                           NOW + 3.1) == [CancelTimer(key)]
    assert lma(dom).counters["lma_revoked"] == 1
