"""Legacy PMIPv6 fallback (draft A.5): one configured MAAR is the LMA and
anchors every prefix; the other MAARs act as MAGs and tunnel to it.  Same
classes, only configuration differs."""
from ipaddress import IPv6Network

from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.config import Mode
from dmm_ryu.sim.network import Link
from dmm_ryu.sim.domain import build, describe, violations

LMA_PREFIX = "2001:db8:3::/64"


def pmipv6():
    return build(3, Mode.PMIPV6, link=Link(delay=0.01), lma=2)


def test_attach_to_a_mag_gets_a_prefix_from_the_lma():
    domain = pmipv6()
    domain.move("mn", 0)
    assert domain.net.settle() and violations(domain) == []
    assert describe(domain) == [
        ("MAAR1", "CMD", "PBU", None, ("::/0",), None, ()),
        ("CMD", "MAAR3", "PBU", None, ("::/0",), "MAAR1", ()),
        ("MAAR3", "CMD", "PBA", 0, (LMA_PREFIX,), "MAAR1", ()),
        ("CMD", "MAAR1", "PBA", 0, (LMA_PREFIX,), None, (("MAAR3", LMA_PREFIX),)),
    ]
    mag, lma = domain.maars[0], domain.maars[2]
    prefix = IPv6Network(LMA_PREFIX)
    bce = mag.bces["mn"]
    assert set(domain.net.dataplane.entries()) == {
        (lma.address, InstallTunnel("mn", prefix, mag.address, ANCHOR)),
        (mag.address, InstallTunnel("mn", prefix, lma.address, SERVING, bce.mac, bce.port)),
    }
    assert mag.pool.allocated() == {} and lma.pool.allocated() == {prefix: "mn"}
    # A MAG has no local prefix: the LMA's is the MN's home prefix, preferred.
    _, advert = domain.net.adverts[-1]
    assert [(p.preferred_lifetime, p.valid_lifetime) for p in advert.prefixes] == [(400, 400)]


def test_handover_between_mags_keeps_the_single_home_prefix():
    domain = pmipv6()
    domain.move("mn", 0)
    assert domain.net.settle()
    mark = len(domain.net.log)
    domain.move("mn", 1)
    assert domain.net.settle() and violations(domain) == []
    rows = describe(domain, mark)
    assert rows[0] == ("MAAR2", "CMD", "PBU", None, ("::/0",), None, ())
    assert rows[-1] == ("CMD", "MAAR2", "PBA", 0, (LMA_PREFIX,), None, (("MAAR3", LMA_PREFIX),))
    assert domain.net.mns["mn"].prefixes == {IPv6Network(LMA_PREFIX)}
    assert domain.maars[0].bces == {}


def test_attaching_at_the_lma_itself_routes_locally():
    domain = pmipv6()
    domain.move("mn", 0)
    domain.net.run_for(0.001)
    domain.move("mn", 2)
    assert domain.net.settle() and violations(domain) == []
    lma = domain.maars[2]
    assert [type(e) for _, e in domain.net.dataplane.entries()] == [InstallLocalRoute]
    assert domain.cmd.store.get("mn").anchors == {IPv6Network(LMA_PREFIX): lma.address}


def test_many_mns_share_the_lma_pool():
    domain = pmipv6()
    for number in range(6):
        domain.move(f"mn{number}", number % 2)
    assert domain.net.settle() and violations(domain) == []
    assert len(domain.maars[2].pool.allocated()) == 6
