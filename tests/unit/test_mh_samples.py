"""Shared material for the Mobility Header tests: hypothesis strategies over
every field and option, fixed sample messages, and an independent checksum.

The other ``test_mh_*`` modules import from here; the tests in this module
only check that the material itself is sound.
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from hypothesis import given
from hypothesis import strategies as st

from dmm_ryu.wire.mh import (
    DMM_PBA_FLAGS,
    DMM_PBU_FLAGS,
    BAFlags,
    BUFlags,
    MobilityOptions,
    OptionType,
    PreviousMaar,
    ProxyBindingAck,
    ProxyBindingUpdate,
    UnknownOption,
    encode_mh,
)

SRC = IPv6Address("2001:db8:ffff::1")
DST = IPv6Address("2001:db8:ffff::2")
DMM_TYPES = tuple(range(65, 71))  # RFC 8885 options 65-70

addresses = st.integers(0, 2**128 - 1).map(IPv6Address)
prefixes = st.builds(lambda addr, plen: IPv6Network((addr, plen), strict=False),
                     st.integers(0, 2**128 - 1), st.integers(0, 128))
octets = st.integers(0, 255)
unknown_options = st.builds(
    UnknownOption,
    st.integers(2, 255).filter(lambda t: t not in set(OptionType) | set(DMM_TYPES)),
    st.binary(max_size=40))

options = st.builds(
    MobilityOptions,
    mn_id=st.none() | st.text(min_size=1, max_size=60),
    hnps=st.lists(prefixes, max_size=4).map(tuple),
    handoff=st.none() | octets,
    access_tech=st.none() | octets,
    timestamp=st.none() | st.integers(0, 2**64 - 1),
    link_local=st.none() | addresses,
    mn_link_layer_id=st.none() | st.binary(max_size=32),
    previous_maars=st.lists(st.builds(PreviousMaar, addresses, prefixes),
                            max_size=4).map(tuple),
    serving_maar=st.none() | addresses,
    anchored_prefixes=st.lists(prefixes, max_size=3).map(tuple),
    local_prefixes=st.lists(prefixes, max_size=3).map(tuple),
    dlif_link_locals=st.lists(addresses, max_size=3).map(tuple),
    dlif_link_layers=st.lists(st.binary(min_size=1, max_size=20), max_size=3).map(tuple),
    unknown=st.lists(unknown_options, max_size=3).map(tuple))

lifetimes = st.integers(0, 0xFFFF).map(lambda units: units * 4)
sequences = st.integers(0, 0xFFFF)
pbus = st.builds(ProxyBindingUpdate, sequences, lifetimes, options,
                 st.integers(0, 0xFFFF).map(lambda f: BUFlags(f & sum(BUFlags))))
pbas = st.builds(ProxyBindingAck, octets, sequences, lifetimes, options,
                 octets.map(lambda f: BAFlags(f & sum(BAFlags))))
messages = pbus | pbas

HNP = IPv6Network("2001:db8:1:1::/64")
FULL_OPTIONS = MobilityOptions(
    mn_id="mn1@dmm.example", hnps=(HNP, IPv6Network("2001:db8:1:2::/64")),
    handoff=1, access_tech=4, timestamp=0x0000655A5E00_8000,
    link_local=IPv6Address("fe80::1"), mn_link_layer_id=bytes.fromhex("020000000001"),
    previous_maars=(PreviousMaar(IPv6Address("2001:db8:ffff::3"), HNP),),
    serving_maar=IPv6Address("2001:db8:ffff::4"),
    anchored_prefixes=(HNP,), local_prefixes=(IPv6Network("2001:db8:4:1::/64"),),
    dlif_link_locals=(IPv6Address("fe80::3"),),
    dlif_link_layers=(bytes.fromhex("020000000003"),),
    unknown=(UnknownOption(200, b"opaque"),))
SAMPLES = (
    ProxyBindingUpdate(1, 3600, FULL_OPTIONS, DMM_PBU_FLAGS),
    ProxyBindingUpdate(2, 0, MobilityOptions(mn_id="mn1@dmm.example", hnps=(HNP,))),
    ProxyBindingAck(0, 1, 3600, FULL_OPTIONS, DMM_PBA_FLAGS),
    ProxyBindingAck(158, 3, 0, MobilityOptions()),
)


def words_checksum(src: IPv6Address, dst: IPv6Address, mh: bytes) -> int:
    """RFC 6275 checksum, computed the slow textbook way (word by word)."""
    data = src.packed + dst.packed + len(mh).to_bytes(4, "big") + b"\0\0\0\x87" + mh
    data += b"\0" * (len(data) % 2)
    total = 0
    for i in range(0, len(data), 2):
        total += int.from_bytes(data[i:i + 2], "big")
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def reseal(mh: bytes, src: IPv6Address = SRC, dst: IPv6Address = DST) -> bytes:
    """``mh`` with a checksum made valid again after a deliberate edit."""
    blank = mh[:4] + b"\0\0" + mh[6:]
    return mh[:4] + words_checksum(src, dst, blank).to_bytes(2, "big") + mh[6:]


def option_spans(mh: bytes):
    """(offset, type, length) of each option, walked without the codec."""
    pos = 12
    while pos < len(mh):
        if mh[pos] == 0:
            yield pos, 0, 0
            pos += 1
            continue
        yield pos, mh[pos], mh[pos + 1]
        pos += 2 + mh[pos + 1]


@given(messages)
def test_strategies_yield_encodable_messages(msg):
    assert len(encode_mh(msg, SRC, DST)) % 8 == 0


def test_samples_carry_valid_checksums():
    for msg in SAMPLES:
        mh = encode_mh(msg, SRC, DST)
        assert reseal(mh) == mh
