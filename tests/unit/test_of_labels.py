"""The label plan and the cookie format: both ends agree, bounds are
enforced with a clear error, and a cookie names its owner exactly."""
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.config.domainfile import MaarSection
from dmm_ryu.of import pipeline as pl
from dmm_ryu.of.labels import DataplaneError, LabelPlan, transport_mac
from tests.unit.test_of_scenarios import CTX, DOMAIN, PREF


def maar(i, name=None, pool=None, dpid=None, prefix_length=64):
    return MaarSection(name or f"maar{i}", dpid or i, IPv6Address(f"2001:db8:ffff::{i:x}"),
                      IPv6Network(pool or f"2001:db8:{i:x}::/48"), prefix_length, (2,), (1,))


def plan_of(*maars):
    return LabelPlan.from_maars({m.name: m for m in maars})


def test_label_is_ordinal_then_index_and_both_ends_agree():
    plan = LabelPlan.from_maars(DOMAIN.maars)
    assert plan.index_bits == 18
    assert plan.label(PREF[1]) == 1 << 18 | 5
    assert plan.label(PREF[2]) == 2 << 18 | 7
    assert {c.label(PREF[3]) for c in CTX.values()} == {3 << 18}


def test_labels_are_unique_and_never_reserved():
    plan = plan_of(*(maar(i) for i in range(1, 8)))
    labels = {plan.label(IPv6Network(f"2001:db8:{i:x}:{j:x}::/64"))
              for i in range(1, 8) for j in range(0, 300, 7)}
    assert len(labels) == 7 * len(range(0, 300, 7))
    assert min(labels) >= 16 and max(labels) < 1 << 20


def test_ordinals_follow_names_not_config_order():
    assert plan_of(maar(2, "b"), maar(1, "a")).by_name("a").ordinal == 1


@pytest.mark.parametrize("prefix,why", [
    ("2001:db8:9::/64", "in no MAAR's pool"),
    ("2001:db8:1::/56", "hands out /64"),
])
def test_prefixes_that_cannot_have_a_label_are_refused(prefix, why):
    with pytest.raises(DataplaneError, match=why):
        plan_of(maar(1)).label(IPv6Network(prefix))


def test_index_beyond_the_label_bound_is_refused_with_the_bound():
    plan = plan_of(maar(1, pool="2001:db8::/40"))  # 2**24 prefixes, 2**19 fit
    assert plan.label(IPv6Network("2001:db8:7:ffff::/64")) == 1 << 19 | 0x7FFFF
    with pytest.raises(DataplaneError, match="only 524288 prefixes per MAAR"):
        plan.label(IPv6Network("2001:db8:8::/64"))


def test_transport_macs_are_local_unicast_and_must_differ():
    assert transport_mac(0x1234) == "0e:00:00:00:12:34"
    assert int(transport_mac(0xFFFF_FFFF_FFFF).split(":")[0], 16) & 0b11 == 0b10
    with pytest.raises(DataplaneError, match="share transport MAC"):
        plan_of(maar(1), maar(2, dpid=1 + (1 << 40)))


def test_unknown_peer_is_a_clear_error():
    with pytest.raises(DataplaneError, match="no MAAR has address 2001:db8::9"):
        CTX["maar1"].peer(IPv6Address("2001:db8::9"))


def test_cookie_fields():
    value = pl.cookie(pl.Kind.TUNNEL, label=0x40005, peer=2)
    assert value == 0xD303_0000_0024_0005
    assert value & pl.COOKIE_APP_MASK == pl.COOKIE_APP
    assert value >> 48 & 0xFF == pl.Kind.TUNNEL
    with pytest.raises(ValueError):
        pl.cookie(pl.Kind.LOCAL, label=1 << 20)
