"""Prefix garbage collection (issue 16, core/maar_gc.py, core/cmd_release.py):
an anchored prefix whose tunnel counters stand still for ``prefix_idle``
is drained (RA valid lifetime = the binding's, counting down) and then
released by PBU/PBA at the CMD and the P-MAAR; traffic keeps it."""
from ipaddress import IPv6Network

import pytest

from dmm_ryu.core.actions import InstallTunnel, RemoveTunnel, SendRouterAdvert, StartTimer
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.core.events import MessageReceived, MnAttached, TimerFired, TunnelTraffic
from dmm_ryu.core.maar_gc import TWO_HOURS
from dmm_ryu.core.messages import options
from dmm_ryu.sim.domain import CMD_ADDRESS, build, violations
from dmm_ryu.sim.network import Link
from dmm_ryu.wire.mh.model import (DMM_PBU_FLAGS, HandoffIndicator, ProxyBindingUpdate,
                                   timestamp_from_unix)

LIFETIME = 40
IDLE = 3.0


def moved(mode=Mode.PROXY, idle=IDLE, lifetime=LIFETIME):
    """MN attached at MAAR1, then at MAAR2: MAAR1's prefix is anchored."""
    domain = build(3, mode, timers=Timers(lifetime=lifetime, prefix_idle=idle))
    domain.move("mn", 0)
    assert domain.net.settle()
    domain.move("mn", 1)
    assert domain.net.settle() and violations(domain) == []
    p_maar, s_maar = domain.maars[:2]
    return domain, p_maar, s_maar, p_maar.bces["mn"].local


def count(domain, s_maar, prefix, packets):
    """The runtime's counter reading at the S-MAAR."""
    domain.net.inject(s_maar.address, TunnelTraffic("mn", prefix, packets))


def idle_for(domain, s_maar, prefix, seconds, packets=0, step=1.0):
    """Readings every ``step`` seconds that never move."""
    end = domain.net.now + seconds
    while domain.net.now < end:
        count(domain, s_maar, prefix, packets)
        domain.net.run_for(step)


def last_lifetimes(domain, s_maar, prefix):
    """(preferred, valid) of ``prefix`` in the S-MAAR's last RA holding it."""
    for node, ra in reversed(domain.net.adverts):
        found = [p for p in ra.prefixes if p.prefix == prefix]
        if node == s_maar.address and found:
            return found[0].preferred_lifetime, found[0].valid_lifetime
    return None


def releases(domain, since):
    """The lifetime-0 messages since ``since`` (re-registrations aside)."""
    return [(s.src, s.dst, type(s.message).__name__, s.message.lifetime,
             s.message.options.hnps) for s in domain.net.log[since:] if not s.message.lifetime]


@pytest.mark.parametrize("mode", [Mode.PROXY, Mode.RELAY, Mode.LOCATOR])
def test_an_idle_prefix_drains_then_is_released_everywhere(mode):
    domain, p_maar, s_maar, prefix = moved(mode)
    local = s_maar.bces["mn"].local
    idle_for(domain, s_maar, prefix, IDLE + 1)
    assert s_maar.counters["prefix_draining"] == 1
    assert last_lifetimes(domain, s_maar, prefix) == (0, LIFETIME)
    mark = len(domain.net.log)
    domain.net.run_for(LIFETIME)
    assert domain.net.settle()
    pbu = (s_maar.address, CMD_ADDRESS, "ProxyBindingUpdate", 0, (prefix,))
    assert releases(domain, mark) == [
        pbu, (CMD_ADDRESS, s_maar.address, "ProxyBindingAck", 0, (prefix,)),
        (CMD_ADDRESS, p_maar.address, "ProxyBindingUpdate", 0, (prefix,)),
        (p_maar.address, CMD_ADDRESS, "ProxyBindingAck", 0, (prefix,))]
    assert [s.message.options.handoff for s in domain.net.log[mark:]
            if s.message.lifetime == 0][0] == HandoffIndicator.NOT_CHANGED
    assert last_lifetimes(domain, s_maar, prefix) == (0, 0)
    assert "mn" not in p_maar.bces and p_maar.pool.allocated() == {}
    assert list(domain.cmd.store.get("mn").anchors) == [local]
    assert s_maar.bces["mn"].p_maars == {} and "mn" not in s_maar._usage
    assert not any(isinstance(e[1], InstallTunnel) for e in domain.net.dataplane.entries())
    assert domain.net.mns["mn"].prefixes == {local} and violations(domain) == []


def test_the_release_takes_exactly_idle_plus_the_binding_lifetime():
    """Released at last movement + prefix_idle (rounded up to a reading)
    + the valid lifetime of the drain's RA, not earlier."""
    domain, p_maar, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    domain.net.run_for(LIFETIME - 1.5)
    assert "mn" in p_maar.bces and prefix in s_maar.bces["mn"].p_maars
    domain.net.run_for(1)
    assert "mn" not in p_maar.bces


def test_moving_counters_keep_the_prefix():
    domain, p_maar, s_maar, prefix = moved()
    for packets in range(3 * LIFETIME):
        count(domain, s_maar, prefix, packets)
        domain.net.run_for(1)
    assert s_maar.counters["prefix_draining"] == 0 and "mn" in p_maar.bces
    assert violations(domain) == []


def test_a_flow_that_resumes_during_the_drain_keeps_the_prefix():
    domain, p_maar, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    domain.net.run_for(LIFETIME / 2)
    count(domain, s_maar, prefix, 7)
    assert s_maar.counters["prefix_resumed"] == 1
    assert last_lifetimes(domain, s_maar, prefix) == (0, LIFETIME)
    domain.net.run_for(LIFETIME)
    assert "mn" in p_maar.bces and prefix in s_maar.bces["mn"].p_maars
    assert prefix in domain.net.mns["mn"].prefixes and violations(domain) == []
    idle_for(domain, s_maar, prefix, IDLE + 1, packets=7)
    domain.net.run_for(LIFETIME)
    assert "mn" not in p_maar.bces and s_maar.counters["prefix_released"] == 1


def test_counters_reset_by_a_rebuild_are_not_traffic():
    domain, p_maar, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, 2, packets=50)
    idle_for(domain, s_maar, prefix, IDLE - 1, packets=0)
    assert s_maar.counters["prefix_draining"] == 1
    count(domain, s_maar, prefix, 1)
    assert s_maar.counters["prefix_resumed"] == 1


def test_rs_and_refresh_ras_count_the_valid_lifetime_down():
    """Never more than the MN has left (that would extend the address),
    and the 2-hour rule makes less pointless: exactly what is left."""
    domain, _, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    start = domain.net.now - 1
    domain.net.run_for(10)
    bce = s_maar.bces["mn"]
    mn = domain.net.mns["mn"]
    ras = [a for a in s_maar.handle(MnAttached("mn", mn.mac, mn.port), domain.net.now)
           if isinstance(a, SendRouterAdvert)]
    left = [p.valid_lifetime for p in ras[0].prefixes if p.prefix == prefix]
    assert left == [int(start + LIFETIME - domain.net.now + 0.999)]
    assert [p.valid_lifetime for p in ras[0].prefixes if p.prefix == bce.local] == [LIFETIME]
    domain.net.run_for(LIFETIME * 0.8 - 10)  # the re-registration's RA
    assert 0 < last_lifetimes(domain, s_maar, prefix)[1] < LIFETIME / 2


def test_a_long_binding_drains_for_two_hours_at_most():
    domain, p_maar, s_maar, prefix = moved(lifetime=4 * TWO_HOURS)
    idle_for(domain, s_maar, prefix, IDLE + 1)
    assert last_lifetimes(domain, s_maar, prefix) == (0, TWO_HOURS)


def test_an_unanswered_release_leaves_the_session_and_heals():
    """The CMD never hears the release: the MN keeps its session (the
    re-registration waits for the release to give up); the CMD's next PBA
    still lists the prefix and its tunnel comes back."""
    domain, p_maar, s_maar, prefix = moved(lifetime=200)
    idle_for(domain, s_maar, prefix, IDLE + 1)
    domain.net.run_for(200 - 2)
    domain.net.links[(s_maar.address, CMD_ADDRESS)] = Link(loss=1.0)
    for _ in range(60):
        domain.net.run_for(1)
        if s_maar.counters["release_unanswered"]:
            break
    assert s_maar.counters["release_unanswered"] == 1 and s_maar.bces["mn"].final
    assert prefix not in s_maar.bces["mn"].p_maars
    domain.net.links.clear()
    domain.net.run_for(200)
    assert s_maar.counters["refresh_registrations"] >= 2
    assert domain.net.settle() and prefix in s_maar.bces["mn"].p_maars
    assert violations(domain) == []


def test_leaving_the_domain_during_the_drain_ends_it_with_the_session():
    """The MN leaves while its de-registration goes unanswered for a while:
    the drain's end finds no MN served here and releases nothing."""
    domain, p_maar, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    domain.net.run_for(LIFETIME - 5)
    domain.net.links[(s_maar.address, CMD_ADDRESS)] = Link(loss=1.0)
    domain.move("mn", None)
    domain.net.run_for(6)
    assert s_maar.bces["mn"].leaving and s_maar.bces["mn"].pending is not None
    assert s_maar.counters["prefix_released"] == 0 and "mn" not in s_maar._usage
    domain.net.links.clear()
    domain.net.run_for(60)
    assert domain.net.settle() and domain.cmd.store.get("mn") is None
    assert all(m.bces == {} for m in domain.maars) and violations(domain) == []


def test_a_handover_during_the_drain_forgets_it():
    domain, p_maar, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    domain.move("mn", 2)
    assert domain.net.settle()
    domain.net.run_for(2 * LIFETIME)
    assert "mn" not in s_maar._usage and s_maar.counters["prefix_released"] == 0
    assert prefix in domain.maars[2].bces["mn"].p_maars and violations(domain) == []


@pytest.mark.parametrize("idle,mode", [(0.0, Mode.PROXY), (IDLE, Mode.PMIPV6)])
def test_readings_are_ignored_when_collection_is_off_or_pmipv6(idle, mode):
    domain = build(3, mode, timers=Timers(lifetime=LIFETIME, prefix_idle=idle))
    domain.move("mn", 1)
    assert domain.net.settle()
    maar = domain.maars[1]
    prefix = next(iter(maar.bces["mn"].p_maars), IPv6Network("2001:db8:1::/64"))
    assert maar.handle(TunnelTraffic("mn", prefix, 0), domain.net.now) == []
    assert maar.counters["traffic_ignored"] == 1 and maar._usage == {}


def test_only_the_s_maar_releases_and_only_prefixes_anchored_elsewhere():
    """A PBU from the P-MAAR naming its own prefix, or from the S-MAAR
    naming its local one, is no release (draft 3.5: the S-MAAR alone
    de-registers, and never its own prefix this way)."""
    domain, p_maar, s_maar, prefix = moved()
    cmd = domain.cmd
    local = s_maar.bces["mn"].local
    for src, hnp in ((p_maar.address, prefix), (s_maar.address, local)):
        pbu = ProxyBindingUpdate(
            sequence=cmd.store.get("mn").last_seq + 1, lifetime=0, flags=DMM_PBU_FLAGS,
            options=options("mn", (hnp,), HandoffIndicator.NOT_CHANGED, 4,
                            timestamp_from_unix(domain.net.now)))
        cmd.handle(MessageReceived(src, CMD_ADDRESS, pbu), domain.net.now)
    assert cmd.counters["prefixes_released"] == 0
    assert set(cmd.store.get("mn").anchors) == {prefix, local}


def test_one_pbu_at_a_time_a_release_and_a_re_registration_wait_for_each_other():
    """A drain that ends while a re-registration awaits its PBA, and a
    re-registration due while a release awaits its PBA, both follow a
    retransmission interval later (Timers.retransmit_initial)."""
    domain, _, s_maar, prefix = moved()
    idle_for(domain, s_maar, prefix, IDLE + 1)
    bce, now = s_maar.bces["mn"], domain.net.now + LIFETIME
    s_maar.handle(TimerFired(("refresh", "mn")), now - 1)
    assert bce.pending.lifetime == LIFETIME
    assert s_maar.handle(TimerFired(("drain", "mn")), now) == [StartTimer(("drain", "mn"), now + 1)]
    bce.pending = None
    sent = s_maar.handle(TimerFired(("drain", "mn")), now)
    assert bce.pending.lifetime == 0 and bce.pending.options.hnps == (prefix,)
    assert any(isinstance(a, RemoveTunnel) and a.prefix == prefix for a in sent)
    assert s_maar.handle(TimerFired(("refresh", "mn")), now) == [
        StartTimer(("refresh", "mn"), now + 1)]
