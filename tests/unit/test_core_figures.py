"""The message sequences of the draft's Figures 1-4, who sends what to whom
in which order with which options, and the final state of every cache."""
from ipaddress import IPv6Network

import pytest

from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.config import Mode
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import build, describe, violations
from dmm_ryu.wire.mh.model import DMM_PBA_FLAGS, DMM_PBU_FLAGS, AccessTechnology, HandoffIndicator

PREF1, PREF2, PREF3 = "2001:db8:1::/64", "2001:db8:2::/64", "2001:db8:3::/64"


def first_attachment(mode):
    domain = build(3, mode, link=Link(delay=0.01))
    domain.move("mn", 0)
    assert domain.net.settle()
    return domain


def handover(domain, to):
    mark = len(domain.net.log)
    domain.move("mn", to)
    assert domain.net.settle()
    assert violations(domain) == []
    return describe(domain, mark)


@pytest.mark.parametrize("mode", [Mode.RELAY, Mode.LOCATOR, Mode.PROXY])
def test_figure1_first_attachment(mode):
    domain = first_attachment(mode)
    assert describe(domain) == [
        ("MAAR1", "CMD", "PBU", None, (PREF1,), None, ()),
        ("CMD", "MAAR1", "PBA", 0, (PREF1,), None, ()),
    ]
    pbu, pba = (sent.message for sent in domain.net.log)
    assert pbu.flags == DMM_PBU_FLAGS and pba.flags == DMM_PBA_FLAGS and pbu.lifetime == 400
    assert pbu.options.mn_id == "mn" and pbu.options.handoff == HandoffIndicator.UNKNOWN
    assert pbu.options.access_tech == AccessTechnology.IEEE_802_11
    assert pbu.options.timestamp is not None
    assert (pba.sequence, pba.options.mn_id, pba.lifetime) == (pbu.sequence, "mn", 400)
    maar1 = domain.maars[0].bces["mn"]
    assert maar1.final and maar1.serving is None and maar1.p_maars == {}
    assert maar1.local == IPv6Network(PREF1)
    bce = domain.cmd.store.get("mn")
    assert bce.proxy_coa == domain.maars[0].address
    assert bce.anchors == {IPv6Network(PREF1): domain.maars[0].address} and bce.p_maars() == []
    assert domain.net.mns["mn"].prefixes == {IPv6Network(PREF1)}
    route = InstallLocalRoute("mn", IPv6Network(PREF1), maar1.mac, maar1.port)
    assert set(domain.net.dataplane.entries()) == {(domain.maars[0].address, route)}


def test_figure2_relay():
    domain = first_attachment(Mode.RELAY)
    assert handover(domain, 1) == [
        ("MAAR2", "CMD", "PBU", None, (PREF2,), None, ()),
        ("CMD", "MAAR1", "PBU", None, (PREF1,), "MAAR2", ()),
        ("MAAR1", "CMD", "PBA", 0, (PREF1,), "MAAR2", ()),
        ("CMD", "MAAR2", "PBA", 0, (PREF1, PREF2), None, (("MAAR1", PREF1),)),
    ]
    check_after_handover(domain)


def test_figure3_locator():
    """Figure 3 exactly: MAAR1's direct PBA is what accepts MAAR2's
    registration; the CMD sends MAAR2 nothing."""
    domain = first_attachment(Mode.LOCATOR)
    assert handover(domain, 1) == [
        ("MAAR2", "CMD", "PBU", None, (PREF2,), None, ()),
        ("CMD", "MAAR1", "PBU", None, (PREF1,), "MAAR2", ()),
        ("MAAR1", "MAAR2", "PBA", 0, (PREF1,), None, ()),
        ("MAAR1", "CMD", "PBA", 0, (PREF1,), "MAAR2", ()),
    ]
    check_after_handover(domain)


def test_figure4_proxy():
    domain = first_attachment(Mode.PROXY)
    assert handover(domain, 1) == [
        ("MAAR2", "CMD", "PBU", None, (PREF2,), None, ()),
        ("CMD", "MAAR2", "PBA", 0, (PREF1, PREF2), None, (("MAAR1", PREF1),)),
        ("CMD", "MAAR1", "PBU", None, (PREF1,), "MAAR2", ()),
        ("MAAR1", "CMD", "PBA", 0, (PREF1,), "MAAR2", ()),
    ]
    check_after_handover(domain)


def check_after_handover(domain):
    maar1, maar2 = (m.address for m in domain.maars[:2])
    p1, p2 = IPv6Network(PREF1), IPv6Network(PREF2)
    at_p = domain.maars[0].bces["mn"]
    assert (at_p.serving, at_p.local, at_p.p_maars) == (maar2, p1, {})
    at_s = domain.maars[1].bces["mn"]
    assert (at_s.serving, at_s.local, at_s.p_maars, at_s.final) == (None, p2, {p1: maar1}, True)
    bce = domain.cmd.store.get("mn")
    assert bce.proxy_coa == maar2 and bce.anchors == {p1: maar1, p2: maar2}
    assert [(p.address, p.prefix) for p in bce.p_maars()] == [(maar1, p1)]
    assert domain.maars[2].bces == {}
    mac, port = at_s.mac, at_s.port
    assert set(domain.net.dataplane.entries()) == {
        (maar1, InstallTunnel("mn", p1, maar2, ANCHOR)),
        (maar2, InstallTunnel("mn", p1, maar1, SERVING, mac, port)),
        (maar2, InstallLocalRoute("mn", p2, mac, port)),
    }
    assert domain.net.mns["mn"].prefixes == {p1, p2}


@pytest.mark.parametrize("mode", [Mode.RELAY, Mode.LOCATOR, Mode.PROXY])
def test_router_advert_prefers_the_local_prefix(mode):
    """Draft A.2: new flows use the local prefix, the anchored one stays
    valid (preferred lifetime 0) for the flows that still use it."""
    domain = first_attachment(mode)
    handover(domain, 1)
    node, advert = domain.net.adverts[-1]
    assert node == domain.maars[1].address and advert.mn_id == "mn"
    assert [(str(p.prefix), p.preferred_lifetime, p.valid_lifetime) for p in advert.prefixes] == [
        (PREF2, 400, 400), (PREF1, 0, 400)]


def test_relay_aggregates_two_p_maars_into_one_pba():
    """Draft 3.2, "for next MN's movements": copies of the PBU to the
    Proxy-CoA and every P-MAAR, one aggregated PBA to the S-MAAR."""
    domain = first_attachment(Mode.RELAY)
    handover(domain, 1)
    rows = handover(domain, 2)
    assert rows[0] == ("MAAR3", "CMD", "PBU", None, (PREF3,), None, ())
    assert sorted(rows[1:3]) == [("CMD", "MAAR1", "PBU", None, (PREF1,), "MAAR3", ()),
                                 ("CMD", "MAAR2", "PBU", None, (PREF2,), "MAAR3", ())]
    assert sorted(rows[3:5]) == [("MAAR1", "CMD", "PBA", 0, (PREF1,), "MAAR3", ()),
                                 ("MAAR2", "CMD", "PBA", 0, (PREF2,), "MAAR3", ())]
    assert rows[5:] == [("CMD", "MAAR3", "PBA", 0, (PREF1, PREF2, PREF3), None,
                         (("MAAR1", PREF1), ("MAAR2", PREF2)))]
