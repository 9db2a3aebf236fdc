"""pmipv6 mode (draft A.5) as plain RFC 5213 on the simulator: one MAAR is
the LMA and anchors every prefix; the others are MAGs that send their
PBUs straight to it.  The CMD takes no part."""
from ipaddress import IPv6Network

from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.core.events import MessageReceived
from dmm_ryu.core.messages import options
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import bindings, build, describe, violations
from dmm_ryu.wire.mh.model import (PBA_FLAGS, PBU_FLAGS, BRFlags, HandoffIndicator,
                                   ProxyBindingUpdate, RevocationTrigger)

LMA_PREFIX = "2001:db8:3::/64"
REGISTER = [("MAAR1", "MAAR3", "PBU", None, ("::/0",), None, ()),
            ("MAAR3", "MAAR1", "PBA", 0, (LMA_PREFIX,), None, ())]


def pmipv6(timers: Timers = Timers()):
    return build(3, Mode.PMIPV6, link=Link(delay=0.01), lma=2, timers=timers)


def messages(domain, since=0):
    return [sent.message for sent in domain.net.log[since:]]


def test_attach_to_a_mag_registers_at_the_lma_alone():
    domain = pmipv6()
    domain.move("mn", 0)
    assert domain.net.settle() and violations(domain) == []
    assert describe(domain) == REGISTER
    pbu, pba = messages(domain)
    assert (pbu.flags, pba.flags, pbu.options.handoff) == (PBU_FLAGS, PBA_FLAGS,
                                                           HandoffIndicator.UNKNOWN)
    assert pba.options.timestamp == pbu.options.timestamp and pba.lifetime == 400
    mag, lma = domain.maars[0], domain.maars[2]
    prefix = IPv6Network(LMA_PREFIX)
    bce = mag.bces["mn"]
    assert set(domain.net.dataplane.entries()) == {
        (lma.address, InstallTunnel("mn", prefix, mag.address, ANCHOR)),
        (mag.address, InstallTunnel("mn", prefix, lma.address, SERVING, bce.mac, bce.port)),
    }
    assert mag.pool.allocated() == {} and lma.pool.allocated() == {prefix: "mn"}
    assert lma.bces["mn"].serving == mag.address  # the Proxy-CoA
    assert len(domain.cmd.store) == 0 and domain.cmd.counters == {}
    # A MAG has no local prefix: the LMA's is the MN's home prefix, preferred.
    _, advert = domain.net.adverts[-1]
    assert [(p.preferred_lifetime, p.valid_lifetime) for p in advert.prefixes] == [(400, 400)]


def test_handover_between_mags_revokes_the_previous_mag():
    domain = pmipv6()
    domain.move("mn", 0)
    assert domain.net.settle()
    mark = len(domain.net.log)
    domain.move("mn", 1)
    assert domain.net.settle() and violations(domain) == []
    assert describe(domain, mark) == [
        ("MAAR2", "MAAR3", "PBU", None, ("::/0",), None, ()),
        ("MAAR3", "MAAR2", "PBA", 0, (LMA_PREFIX,), None, ()),
        # RFC 5846: the LMA revokes the previous MAG's binding at once, so
        # it neither waits for its detach guard nor de-registers after it.
        ("MAAR3", "MAAR1", "BRI", None, (LMA_PREFIX,), None, ()),
        ("MAAR1", "MAAR3", "BRA", 0, (LMA_PREFIX,), None, ()),
    ]
    bri = messages(domain, mark)[2]
    assert (bri.trigger, bri.flags, bri.options.mn_id) == (
        RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, BRFlags.P, "mn")
    assert domain.net.mns["mn"].prefixes == {IPv6Network(LMA_PREFIX)}
    assert domain.maars[0].bces == {} and domain.maars[0].counters["revoked"] == 1
    assert domain.maars[2].bces["mn"].serving == domain.maars[1].address
    assert domain.maars[2].counters["lma_revoked"] == 1
    domain.net.run_for(10)  # the detach guard would have ended by now
    assert len(domain.net.log) == mark + 4


def test_re_registration_names_the_known_prefix():
    domain = pmipv6(Timers(lifetime=40))
    domain.move("mn", 0)
    assert domain.net.settle()
    first = domain.maars[2].bces["mn"].ts
    mark = len(domain.net.log)
    domain.net.run_for(40 * 0.8 + 1)
    pbu, pba = messages(domain, mark)
    assert (pbu.options.hnps, pbu.options.handoff) == ((IPv6Network(LMA_PREFIX),),
                                                       HandoffIndicator.NOT_CHANGED)
    assert pba.status == 0 and domain.maars[2].bces["mn"].ts > first
    assert violations(domain) == []


def test_leaving_deregisters_and_frees_the_prefix():
    domain = pmipv6()
    domain.move("mn", 0)
    assert domain.net.settle()
    mark = len(domain.net.log)
    domain.move("mn", None)
    assert domain.net.settle() and violations(domain) == []
    assert [m.lifetime for m in messages(domain, mark)] == [0, 0]
    assert bindings(domain) == {} and domain.maars[2].pool.allocated() == {}
    assert list(domain.net.dataplane.entries()) == []


def test_an_unrenewed_binding_expires_at_the_lma():
    domain = pmipv6(Timers(lifetime=40))
    domain.move("mn", 0)
    assert domain.net.settle()
    domain.net.set_link(domain.maars[0].address, domain.maars[2].address, Link(loss=1.0))
    domain.net.run_for(45)
    lma = domain.maars[2]
    assert lma.counters["lma_expired"] == 1 and lma.bces == {} and lma.pool.allocated() == {}


def test_attaching_at_the_lma_itself_routes_locally_without_signalling():
    domain = pmipv6()
    domain.move("mn", 0)
    domain.net.run_for(0.001)
    domain.move("mn", 2)
    assert domain.net.settle() and violations(domain) == []
    lma = domain.maars[2]
    assert [type(e) for _, e in domain.net.dataplane.entries()] == [InstallLocalRoute]
    assert bindings(domain)["mn"].proxy_coa == lma.address
    # MAAR1's PBU was overtaken by the attachment at the LMA: 157.
    assert lma.counters["lma_refused_157"] == 1 and lma.counters["lma_local_attachments"] == 1


def test_many_mns_share_the_lma_pool():
    domain = pmipv6()
    for number in range(6):
        domain.move(f"mn{number}", number % 2)
    assert domain.net.settle() and violations(domain) == []
    assert len(domain.maars[2].pool.allocated()) == 6


def test_leaving_from_the_lma_itself_sends_nothing():
    domain = pmipv6()
    domain.move("mn", 2)
    assert domain.net.settle()
    domain.move("mn", None)
    assert domain.net.settle() and violations(domain) == []
    assert domain.net.log == [] and domain.maars[2].bces == {}
    assert domain.maars[2].pool.allocated() == {}


def test_the_cmd_refuses_any_pbu_in_pmipv6_mode():
    """RFC 5213 has no CMD: a PBU reaching it anyway gets 129 and no state."""
    domain = pmipv6()
    stray = ProxyBindingUpdate(1, 40, options("mn", (IPv6Network("::/0"),), 4, 4, 1), PBU_FLAGS)
    (reply,) = domain.cmd.handle(MessageReceived(domain.maars[0].address, domain.cmd.address,
                                                 stray), 0.0)
    assert reply.message.status == 129 and len(domain.cmd.store) == 0
