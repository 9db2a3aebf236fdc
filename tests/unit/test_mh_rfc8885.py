"""The RFC 8885 parts of the wire format, checked against hand-written
bytes rather than against our own decoder: where the D flag sits in the
PBU and PBA, and the body of each of the options 65-70."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.wire.mh import (
    DMM_PBA_FLAGS,
    DMM_PBU_FLAGS,
    PBA_FLAGS,
    PBU_FLAGS,
    AccessTechnology,
    MobilityOptions,
    PreviousMaar,
    ProxyBindingAck,
    ProxyBindingUpdate,
    decode_mh,
    encode_mh,
)

from .test_mh_samples import DST, SRC, option_spans

P_MAAR = IPv6Address("2001:db8:ffff::3")
S_MAAR = IPv6Address("2001:db8:ffff::4")
ANCHORED = IPv6Network("2001:db8:2::/48")
LOCAL = IPv6Network("2001:db8:4:1::/64")
DLIF_LL = IPv6Address("fe80::3")
DLIF_MAC = bytes.fromhex("020000000003")
OPTIONS = MobilityOptions(
    previous_maars=(PreviousMaar(P_MAAR, ANCHORED),), serving_maar=S_MAAR,
    anchored_prefixes=(ANCHORED,), local_prefixes=(LOCAL,),
    dlif_link_locals=(DLIF_LL,), dlif_link_layers=(DLIF_MAC,))


def _bodies(mh):
    """{option type: Length and data} of every option but padding."""
    return {otype: mh[offset + 1:offset + 2 + length]
            for offset, otype, length in option_spans(mh) if otype > 1}


def test_option_bodies_follow_rfc_8885_section_4():
    bodies = _bodies(encode_mh(ProxyBindingAck(0, 1, 4, OPTIONS), SRC, DST))
    assert bodies == {
        65: b"\x12\x00\x30" + ANCHORED.network_address.packed,           # 4.3
        66: b"\x12\x00\x40" + LOCAL.network_address.packed,              # 4.4
        67: b"\x22\x00\x30" + P_MAAR.packed + ANCHORED.network_address.packed,  # 4.5
        68: b"\x10" + S_MAAR.packed,                                     # 4.6
        69: b"\x10" + DLIF_LL.packed,                                    # 4.7
        70: b"\x08\x00\x00" + DLIF_MAC,                                  # 4.8
    }


@pytest.mark.parametrize("msg, offset, octets, dmm", [
    (ProxyBindingUpdate(1, 4, MobilityOptions(), DMM_PBU_FLAGS), 8, b"\xc2\x10", True),
    (ProxyBindingUpdate(1, 4, MobilityOptions(), PBU_FLAGS), 8, b"\xc2\x00", False),
    (ProxyBindingAck(0, 1, 4, MobilityOptions(), DMM_PBA_FLAGS), 7, b"\x22", True),
    (ProxyBindingAck(0, 1, 4, MobilityOptions(), PBA_FLAGS), 7, b"\x20", False),
])
def test_d_flag_position(msg, offset, octets, dmm):
    """BU word A H L K M R P F T B S D (D = 0x0010); BA octet K R P T B S D
    (D = 0x02), RFC 8885 sections 4.1 and 4.2; decoded, not masked away."""
    mh = encode_mh(msg, SRC, DST)
    assert mh[offset:offset + len(octets)] == octets
    decoded = decode_mh(mh, SRC, DST)
    assert (decoded.flags, decoded.is_dmm) == (msg.flags, dmm)


def test_dlif_options_keep_their_order_for_pairing_with_previous_maars():
    pmaars = tuple(PreviousMaar(IPv6Address(f"2001:db8:ffff::{i}"),
                                IPv6Network(f"2001:db8:{i}::/48")) for i in (5, 3, 7))
    options = MobilityOptions(previous_maars=pmaars,
                              dlif_link_locals=tuple(IPv6Address(f"fe80::{i}") for i in (5, 3, 7)),
                              dlif_link_layers=tuple(bytes((2, 0, 0, 0, 0, i)) for i in (5, 3, 7)))
    decoded = decode_mh(encode_mh(ProxyBindingAck(0, 1, 4, options), SRC, DST), SRC, DST)
    assert decoded.options == options


@pytest.mark.parametrize("value, expected", [
    ("ieee_802_3", AccessTechnology.IEEE_802_3), ("VIRTUAL", AccessTechnology.VIRTUAL),
    (4, AccessTechnology.IEEE_802_11), ("3", AccessTechnology.IEEE_802_3),
    (200, 200), ("0", 0), (255, 255),
])
def test_access_technology_takes_names_and_any_octet(value, expected):
    parsed = AccessTechnology.parse(value)
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize("value", ["ethernet", 256, -1, "", None, 4.5j])
def test_access_technology_refuses_what_is_not_an_octet(value):
    with pytest.raises(ValueError):
        AccessTechnology.parse(value)


@pytest.mark.parametrize("att", [0, 6, 200, 255])
def test_unnamed_access_technologies_round_trip_as_int(att):
    msg = ProxyBindingUpdate(1, 4, MobilityOptions(access_tech=att))
    assert decode_mh(encode_mh(msg, SRC, DST), SRC, DST).options.access_tech == att
