"""The core's DLIF signalling rules (``gateway: dlif``): which DLIF options
a PBA carries, and which a receiver believes."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.core.config import Dlif
from dmm_ryu.core.messages import dlif_options
from dmm_ryu.core.trust import dlifs_ok
from dmm_ryu.of.labels import transport_mac
from dmm_ryu.wire.inet import ethernet
from dmm_ryu.wire.mh import (DMM_PBA_FLAGS, MobilityOptions, PreviousMaar, ProxyBindingAck,
                             encode_packet)
from tests.unit.test_dlif_fakedomain import MAAR1, MAAR2, CMD, moved

M1, M2 = IPv6Address("2001:db8:ffff::1"), IPv6Address("2001:db8:ffff::2")
D1 = Dlif(IPv6Address("fe80::400:ff:fe00:1"), bytes.fromhex("060000000001"))
D2 = Dlif(IPv6Address("fe80::400:ff:fe00:2"), bytes.fromhex("060000000002"))
DOMAIN = {M1: D1, M2: D2}


def test_no_dlif_options_with_the_shared_gateway():
    assert dlif_options({}, [M1, M2]) == {}


def test_dlif_options_follow_the_anchors_order():
    assert dlif_options(DOMAIN, [M2, M1, M2]) == {
        "dlif_link_locals": (D2.link_local, D1.link_local, D2.link_local),
        "dlif_link_layers": (D2.mac, D1.mac, D2.mac)}


def _opts(*dlifs: Dlif) -> MobilityOptions:
    return MobilityOptions(dlif_link_locals=tuple(d.link_local for d in dlifs),
                           dlif_link_layers=tuple(d.mac for d in dlifs))


@pytest.mark.parametrize("opts, anchors, believed", [
    (_opts(), [M1], True),                       # none sent: nothing to check
    (_opts(D1, D2), [M1, M2], True),
    (_opts(D2, D1), [M1, M2], False),            # paired with the wrong anchor
    (_opts(D1), [M1, M2], False),                # one pair missing
    (_opts(D1, D2), [M1], False),                # one pair too many
    (_opts(Dlif(D1.link_local, D2.mac)), [M1], False),
    (replace(_opts(D1), dlif_link_layers=()), [M1], False),  # a link-local without its MAC
    (_opts(D1), [IPv6Address("2001:db8:ffff::9")], False),   # not a MAAR of the domain
])
def test_dlif_options_must_name_each_anchors_own_dlif(opts, anchors, believed):
    assert dlifs_ok(opts, anchors, DOMAIN) is believed


def test_s_maar_drops_a_pba_naming_a_wrong_dlif():
    dom = moved()
    core = dom.dmm.nodes["maar2"].core
    installed = frozenset(core.installed())
    wrong = Dlif(D1.link_local, bytes.fromhex("06000000aaaa"))
    pba = ProxyBindingAck(0, 1, 40, replace(
        _opts(wrong), mn_id="0a0000000001@dmm.example", hnps=(IPv6Network("2001:db8:1::/64"),),
        previous_maars=(PreviousMaar(MAAR1, IPv6Network("2001:db8:1::/64")),)),
        flags=DMM_PBA_FLAGS)
    dom.inject("maar2", 1, ethernet(transport_mac(2), transport_mac(256),
                                    encode_packet(pba, CMD, MAAR2)))
    assert core.counters["dropped_pba_dlif"] == 1
    assert frozenset(core.installed()) == installed
