"""Each way a Mobility Header can be malformed maps to one documented
:class:`Reason`; unknown options are skipped, not fatal; encoding refuses
values the wire cannot carry; ``missing_mandatory`` follows RFC 5213."""
from __future__ import annotations

import dataclasses
import struct
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.wire.mh import (
    MHDecodeError,
    MobilityOptions,
    OptionTypes,
    ProxyBindingAck,
    ProxyBindingUpdate,
    Reason,
    Status,
    UnknownOption,
    decode_mh,
    decode_packet,
    encode_mh,
    encode_packet,
    missing_mandatory,
)
from .test_mh_samples import DST, SAMPLES, SRC, reseal

HNP = b"\x16\x12\x00\x40" + IPv6Network("2001:db8::/64").network_address.packed


def mh(options: bytes = b"", mh_type: int = 5, proto: int = 59) -> bytes:
    """A sealed MH around hand-written option bytes, padded with PadN."""
    body = struct.pack("!BBBBH", proto, 0, mh_type, 0, 0) + bytes(6) + options
    pad = -len(body) % 8
    body += b"\0" if pad == 1 else bytes((1, pad - 2)) + bytes(pad - 2) if pad else b""
    return reseal(body[:1] + bytes((len(body) // 8 - 1,)) + body[2:])


def reason_of(data: bytes, decode=lambda d: decode_mh(d, SRC, DST)) -> Reason:
    with pytest.raises(MHDecodeError) as info:
        decode(data)
    assert isinstance(info.value, ValueError)
    return info.value.reason


PACKET = encode_packet(SAMPLES[0], SRC, DST)


@pytest.mark.parametrize("data, reason", [
    (b"\x3b\x00\x05", Reason.TRUNCATED),
    (reseal(b"\x3b\x00\x05\x00\x00\x00\x00\x00"), Reason.TRUNCATED),
    (mh()[:-8], Reason.HEADER_LEN_MISMATCH),
    (mh() + bytes(8), Reason.HEADER_LEN_MISMATCH),
    (mh(proto=6), Reason.BAD_PAYLOAD_PROTO),
    (mh()[:4] + b"\xde\xad" + mh()[6:], Reason.BAD_CHECKSUM),
    (mh(mh_type=7), Reason.UNKNOWN_MH_TYPE),
    (mh(b"\x16\x30" + bytes(8)), Reason.OPTION_OVERRUN),
    (mh(b"\x00" * 3 + b"\x16"), Reason.OPTION_OVERRUN),
    (mh(HNP[:1] + b"\x11" + HNP[2:-1]), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x44\x0f" + bytes(15)), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x08\x01\x01"), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x17\x02\x00\x01" * 2), Reason.DUPLICATE_OPTION),
    (mh(HNP[:3] + b"\x81" + HNP[4:]), Reason.INVALID_FIELD),
    (mh(b"\x43\x22\x00\xc8" + bytes(32)), Reason.INVALID_FIELD),
    (mh(b"\x08\x03\x01\xff\xfe"), Reason.INVALID_FIELD),
    # RFC 8885 options: Anchored/Local Prefix Length 18, DLIF Link-local
    # Address 16, DLIF Link-layer Address at least 3; prefix length <= 128.
    (mh(b"\x41\x12" + bytes(10)), Reason.OPTION_OVERRUN),
    (mh(b"\x41\x11" + HNP[2:-1]), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x42\x13" + HNP[2:] + b"\0"), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x45\x11" + bytes(17)), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x46\x02\x00\x00"), Reason.BAD_OPTION_LENGTH),
    (mh(b"\x41\x12\x00\x81" + bytes(16)), Reason.INVALID_FIELD),
    (mh(b"\x42\x12\x00\xff" + bytes(16)), Reason.INVALID_FIELD),
])
def test_decode_mh_reasons(data, reason):
    assert reason_of(data) is reason


def test_checksum_covers_the_pseudo_header():
    data = encode_mh(SAMPLES[0], SRC, DST)
    assert reason_of(data, lambda d: decode_mh(d, SRC, IPv6Address("2001:db8::9"))) \
        is Reason.BAD_CHECKSUM


@pytest.mark.parametrize("data, reason", [
    (PACKET[:39], Reason.TRUNCATED),
    (PACKET[:-8], Reason.TRUNCATED),
    (PACKET + b"\0", Reason.BAD_IPV6_HEADER),
    (b"\x40" + PACKET[1:], Reason.BAD_IPV6_HEADER),
    (PACKET[:6] + b"\x11" + PACKET[7:], Reason.NOT_MOBILITY_HEADER),
    (PACKET[:-1] + bytes((PACKET[-1] ^ 1,)), Reason.BAD_CHECKSUM),
])
def test_decode_packet_reasons(data, reason):
    assert reason_of(data, decode_packet) is reason


def test_reasons_are_the_documented_set():
    assert {r.value for r in Reason} == {
        "truncated", "header_len_mismatch", "bad_payload_proto", "bad_checksum",
        "option_overrun", "bad_option_length", "duplicate_option", "unknown_mh_type",
        "invalid_field", "bad_ipv6_header", "not_mobility_header", "unknown_br_type"}


def test_error_carries_reason_and_detail():
    error = MHDecodeError(Reason.BAD_CHECKSUM, "checksum dead")
    assert (error.reason, error.detail, str(error)) == (
        Reason.BAD_CHECKSUM, "checksum dead", "bad_checksum: checksum dead")


def test_unknown_options_are_skipped_and_reported():
    msg = decode_mh(mh(b"\xc8\x03abc\x17\x02\x00\x05"), SRC, DST)
    assert msg.options.unknown == (UnknownOption(200, b"abc"),)
    assert msg.options.handoff == 5


def test_pad_options_and_non_nai_identifiers_are_not_fatal():
    msg = decode_mh(mh(b"\x00\x01\x01\x00\x08\x03\x02ab"), SRC, DST)
    assert msg.options.mn_id is None
    assert msg.options.unknown == (UnknownOption(8, b"\x02ab"),)


def test_host_bits_of_a_prefix_are_masked():
    hnp = HNP[:-1] + b"\x01"
    assert decode_mh(mh(hnp), SRC, DST).options.hnps == (IPv6Network("2001:db8::/64"),)


def test_reserved_bits_are_ignored():
    data = bytearray(encode_mh(SAMPLES[0], SRC, DST))
    data[3] = 0xFF
    data[9] |= 0x2F  # every flag bit in this octet but T, B and RFC 8885's D
    assert decode_mh(reseal(bytes(data)), SRC, DST) == SAMPLES[0]



@pytest.mark.parametrize("msg", [
    ProxyBindingUpdate(1, 6, MobilityOptions()),
    ProxyBindingUpdate(1, 4 * 0x10000, MobilityOptions()),
    ProxyBindingUpdate(0x10000, 4, MobilityOptions()),
    ProxyBindingAck(256, 1, 4, MobilityOptions()),
    ProxyBindingUpdate(1, 4, MobilityOptions(mn_id="")),
    ProxyBindingUpdate(1, 4, MobilityOptions(mn_id="x" * 255)),
    ProxyBindingUpdate(1, 4, MobilityOptions(handoff=256)),
    ProxyBindingUpdate(1, 4, MobilityOptions(timestamp=2**64)),
    ProxyBindingUpdate(1, 4, MobilityOptions(unknown=(UnknownOption(22, b""),))),
    ProxyBindingUpdate(1, 4, MobilityOptions(unknown=(UnknownOption(1, b""),))),
    ProxyBindingUpdate(1, 4, MobilityOptions(hnps=(IPv6Network("::/0"),) * 120)),
    ProxyBindingUpdate(1, 4, MobilityOptions(dlif_link_layers=(b"",))),
    ProxyBindingUpdate(1, 4, MobilityOptions(dlif_link_layers=(bytes(254),))),
    ProxyBindingUpdate(1, 4, MobilityOptions(unknown=(UnknownOption(69, b""),))),
])
def test_encode_refuses_what_the_wire_cannot_carry(msg):
    with pytest.raises(ValueError):
        encode_mh(msg, SRC, DST)


def test_encode_refuses_other_objects():
    with pytest.raises(TypeError):
        encode_mh(object(), SRC, DST)


@pytest.mark.parametrize("types", [(67, 67), (22, 68), (0, 68), (1, 68), (67, 256),
                                   (69, 68), (71, 72, 73, 74, 75, 71)])
def test_option_types_must_be_distinct_free_octets(types):
    with pytest.raises(ValueError):
        OptionTypes(*types)


COMPLETE = MobilityOptions(mn_id="mn", hnps=(IPv6Network("::/0"),), handoff=1, access_tech=4)


@pytest.mark.parametrize("missing, status", [
    ({"mn_id": None, "hnps": (), "handoff": None}, Status.MISSING_MN_IDENTIFIER_OPTION),
    ({"hnps": (), "handoff": None}, Status.MISSING_HOME_NETWORK_PREFIX_OPTION),
    ({"handoff": None, "access_tech": None}, Status.MISSING_HANDOFF_INDICATOR_OPTION),
    ({"access_tech": None}, Status.MISSING_ACCESS_TECH_TYPE_OPTION),
    ({}, None),
])
def test_missing_mandatory_in_rfc_5213_order(missing, status):
    options = dataclasses.replace(COMPLETE, **missing)
    for lifetime in (3600, 0):  # a de-registration needs them too
        assert missing_mandatory(ProxyBindingUpdate(1, lifetime, options)) == status
