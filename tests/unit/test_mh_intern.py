"""Decoded MN-IDs, prefixes and addresses are the process's canonical
objects (wire/mh/intern.py), and the table stays bounded."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.wire.mh import MobilityOptions, ProxyBindingUpdate, decode_packet, encode_packet
from dmm_ryu.wire.mh.intern import InternTable
from dmm_ryu.wire.mh.model import PreviousMaar

SRC, DST = "2001:db8:ff::1", "2001:db8:ff::2"


def _pbu(mn_id: str, prefix: IPv6Network, serving: IPv6Address) -> ProxyBindingUpdate:
    return ProxyBindingUpdate(7, 60, MobilityOptions(
        mn_id=mn_id, hnps=(prefix,), serving_maar=serving,
        previous_maars=(PreviousMaar(serving, prefix),)))


def test_decode_returns_the_encoded_objects():
    mn_id, prefix = "".join(["mn-", "intern-1"]), IPv6Network("2001:db8:1:7::/64")
    serving = IPv6Address("2001:db8:ff::9")
    opts = decode_packet(encode_packet(_pbu(mn_id, prefix, serving), SRC, DST)).message.options
    assert opts.mn_id is mn_id
    assert opts.hnps[0] is prefix and opts.previous_maars[0].prefix is prefix
    assert opts.previous_maars[0].address is opts.serving_maar == serving


def test_two_decodes_share_objects_the_encoder_never_saw():
    packet = encode_packet(_pbu("mn-intern-2", IPv6Network("2001:db8:2::/64"),
                                IPv6Address("2001:db8:ff::8")), SRC, DST)
    first, again = (decode_packet(bytes(packet)).message.options for _ in range(2))
    assert again.hnps[0] is first.hnps[0] and again.mn_id is first.mn_id
    assert again.serving_maar is first.serving_maar


def test_table_keeps_the_newest_keys_only():
    table = InternTable(capacity=2)
    for key in "abc":
        table.put(key, key.upper())
    assert len(table) == 2
    assert table.get("a", lambda: "fresh") == "fresh"
    assert table.get("c", lambda: "unused") == "C"


def test_a_failing_build_is_not_stored():
    table = InternTable()

    def fail():
        raise ValueError("bad")
    with pytest.raises(ValueError):
        table.get("k", fail)
    assert len(table) == 0


def test_timestamps_and_lifetimes_decode_to_shared_ints():
    """Every BCE keeps the attachment's timestamp and its lifetime: a decode
    returns the int the encoder sent, and equal lifetimes are one int."""
    stamp = 0x5F5E1000_0001 + 7  # a 48.16 timestamp, far above the small-int cache
    pbu = ProxyBindingUpdate(9, 65532, MobilityOptions(
        mn_id="mn-intern-3", hnps=(IPv6Network("2001:db8:3::/64"),), timestamp=stamp))
    packet = encode_packet(pbu, SRC, DST)
    first, again = (decode_packet(bytes(packet)).message for _ in range(2))
    assert first.options.timestamp is stamp and again.options.timestamp is stamp
    assert first.lifetime == 65532 and again.lifetime is first.lifetime
