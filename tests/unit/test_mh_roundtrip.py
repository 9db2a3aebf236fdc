"""Property tests: every PBU and PBA survives encode then decode unchanged,
with RFC 6275 padding, RFC 5213 alignment and a textbook checksum."""
from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from dmm_ryu.wire.mh import (
    DecodedPacket,
    MobilityOptions,
    OptionTypes,
    ProxyBindingUpdate,
    UnknownOption,
    decode_mh,
    decode_packet,
    encode_mh,
    encode_packet,
    timestamp_from_unix,
    timestamp_to_unix,
)
from .test_mh_samples import DST, SRC, addresses, messages, option_spans, words_checksum

ALIGNMENT = {22: (8, 4), 25: (2, 0), 26: (8, 6), 27: (8, 2), 65: (8, 4), 66: (8, 4),
             67: (8, 4), 68: (8, 6), 69: (8, 6), 70: (2, 0)}
#: MobilityOptions field of each OptionTypes attribute.
DMM_FIELDS = {"previous_maar": "previous_maars", "serving_maar": "serving_maar",
              "anchored_prefix": "anchored_prefixes", "local_prefix": "local_prefixes",
              "dlif_link_local": "dlif_link_locals", "dlif_link_layer": "dlif_link_layers"}


def assert_same(decoded, msg):
    assert decoded == msg
    assert decoded.options.unknown == msg.options.unknown


@given(messages)
def test_mh_round_trip(msg):
    assert_same(decode_mh(encode_mh(msg, SRC, DST), SRC, DST), msg)


@given(messages, addresses, addresses, st.integers(0, 255))
def test_packet_round_trip(msg, src, dst, hop_limit):
    packet = encode_packet(msg, src, dst, hop_limit=hop_limit)
    assert packet[7] == hop_limit and packet[6] == 135
    decoded = decode_packet(packet)
    assert isinstance(decoded, DecodedPacket)
    assert (decoded.src, decoded.dst) == (src, dst)
    assert_same(decoded.message, msg)


@given(messages)
def test_header_len_padding_and_alignment(msg):
    mh = encode_mh(msg, SRC, DST)
    assert len(mh) % 8 == 0 and mh[1] == len(mh) // 8 - 1
    assert (mh[0], mh[2]) == (59, 5 if isinstance(msg, ProxyBindingUpdate) else 6)
    for offset, otype, _ in option_spans(mh):
        mult, rest = ALIGNMENT.get(otype, (1, 0))
        assert offset % mult == rest, (otype, offset)


@given(messages)
def test_checksum_matches_word_by_word_sum(msg):
    mh = encode_mh(msg, SRC, DST)
    assert int.from_bytes(mh[4:6], "big") in (
        words_checksum(SRC, DST, mh[:4] + b"\0\0" + mh[6:]), 0xFFFF)


@given(messages)
def test_addresses_accepted_as_text_or_bytes(msg):
    mh = encode_mh(msg, SRC, DST)
    assert encode_mh(msg, str(SRC), DST.packed) == mh
    assert_same(decode_mh(mh, SRC.packed, str(DST)), msg)


@given(messages, st.lists(st.integers(71, 255), min_size=6, max_size=6, unique=True))
def test_dmm_option_types_are_configurable(msg, numbers):
    types = OptionTypes(*numbers)
    msg = _without_unknown(msg)
    mh = encode_mh(msg, SRC, DST, option_types=types)
    assert_same(decode_mh(mh, SRC, DST, option_types=types), msg)
    spans = {otype for _, otype, _ in option_spans(mh)}
    assert not spans & set(range(65, 71))
    for attribute, field in DMM_FIELDS.items():
        present = getattr(msg.options, field) not in (None, ())
        assert (getattr(types, attribute) in spans) == present, attribute


def _without_unknown(msg):
    return dataclasses.replace(msg, options=dataclasses.replace(msg.options, unknown=()))


def test_dmm_options_under_other_types_are_reported_unknown():
    opts = MobilityOptions(serving_maar=SRC)
    mh = encode_mh(ProxyBindingUpdate(1, 4, opts), SRC, DST)
    decoded = decode_mh(mh, SRC, DST, option_types=OptionTypes(100, 101))
    assert decoded.options.serving_maar is None
    assert decoded.options.unknown == (UnknownOption(68, SRC.packed),)


@given(st.integers(0, 2**36), st.integers(0, 0xFFFF))  # exact in a float
def test_timestamp_is_48_16_fixed_point(seconds, fraction):
    value = seconds << 16 | fraction
    assert timestamp_from_unix(timestamp_to_unix(value)) == value
