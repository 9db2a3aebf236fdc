"""RFC 5846 Binding Revocation Indication and Acknowledgement on the wire:
hypothesis round trips through our codec, the fixed layout checked by
hand, and the bytes read by two independent parsers (Wireshark's mip6
dissector through tshark; scapy, which has no BRI layer, only for the
generic Mobility Header and its checksum)."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
from ipaddress import IPv6Network

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import IPv6, MIP6MH_Generic

from dmm_ryu.wire.mh import (
    BindingRevocationAck,
    BindingRevocationIndication,
    BRFlags,
    MHDecodeError,
    MobilityOptions,
    Reason,
    RevocationStatus,
    RevocationTrigger,
    decode_mh,
    decode_packet,
    encode_mh,
    encode_packet,
)
from dmm_ryu.wire.inet import ethernet

from .test_mh_samples import DST, SRC, options, reseal, sequences, words_checksum

flags = st.integers(0, 0xFFFF).map(lambda f: BRFlags(f & sum(BRFlags)))
octets = st.integers(0, 255)
bris = st.builds(BindingRevocationIndication, octets, sequences, options, flags)
bras = st.builds(BindingRevocationAck, octets, sequences, options, flags)
revocations = bris | bras

HNP = IPv6Network("2001:db8:1:1::/64")
MN = MobilityOptions(mn_id="mn1@dmm.example", hnps=(HNP,))
BRI = BindingRevocationIndication(RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, 7, MN)
BRA = BindingRevocationAck(RevocationStatus.SUCCESS, 7, MobilityOptions(mn_id="mn1@dmm.example"))


@given(revocations)
def test_revocation_round_trip(msg):
    decoded = decode_mh(encode_mh(msg, SRC, DST), SRC, DST)
    assert decoded == msg and decoded.options.unknown == msg.options.unknown


@given(revocations)
def test_packet_round_trip_and_textbook_checksum(msg):
    packet = encode_packet(msg, SRC, DST)
    mh = packet[40:]
    assert decode_packet(packet).message == msg
    assert (mh[0], mh[2], len(mh) % 8, mh[1]) == (59, 16, 0, len(mh) // 8 - 1)
    assert words_checksum(SRC, DST, mh[:4] + b"\0\0" + mh[6:]) == int.from_bytes(mh[4:6], "big")


def test_fixed_fields_sit_where_rfc_5846_puts_them():
    """B.R. Type, trigger/status, sequence, then P|V|G in the top bits."""
    bri = encode_mh(BindingRevocationIndication(3, 0x1234, MN, BRFlags.P | BRFlags.G), SRC, DST)
    assert bri[6:12] == bytes((1, 3, 0x12, 0x34, 0xA0, 0))
    bra = encode_mh(BindingRevocationAck(2, 0xBEEF, MN, BRFlags.V), SRC, DST)
    assert bra[6:12] == bytes((2, 2, 0xBE, 0xEF, 0x40, 0))


def test_known_values_decode_as_enums_and_others_as_ints():
    decoded = decode_mh(encode_mh(BRI, SRC, DST), SRC, DST)
    assert decoded.trigger is RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN
    odd = decode_mh(encode_mh(BindingRevocationAck(77, 1, MN), SRC, DST), SRC, DST)
    assert odd.status == 77 and not isinstance(odd.status, RevocationStatus)


def test_reserved_flag_bits_are_ignored():
    mh = bytearray(encode_mh(BRI, SRC, DST))
    mh[11] = 0xFF
    mh[10] |= 0x1F
    assert decode_mh(reseal(bytes(mh)), SRC, DST).flags == BRFlags.P


@pytest.mark.parametrize("br_type", [0, 3, 255])
def test_unknown_br_type_is_a_decode_error(br_type):
    mh = bytearray(encode_mh(BRI, SRC, DST))
    mh[6] = br_type
    with pytest.raises(MHDecodeError) as err:
        decode_mh(reseal(bytes(mh)), SRC, DST)
    assert err.value.reason is Reason.UNKNOWN_BR_TYPE


def test_bad_checksum_and_truncation_are_decode_errors():
    mh = encode_mh(BRI, SRC, DST)
    with pytest.raises(MHDecodeError) as err:
        decode_mh(mh[:4] + bytes((mh[4] ^ 1,)) + mh[5:], SRC, DST)
    assert err.value.reason is Reason.BAD_CHECKSUM
    short = reseal(bytes((59, 0, 16, 0, 0, 0, 1, 0)))
    with pytest.raises(MHDecodeError) as err:
        decode_mh(short, SRC, DST)
    assert err.value.reason is Reason.TRUNCATED


def test_scapy_reads_the_generic_header_and_agrees_on_the_checksum():
    """scapy 2.8 has no BRI/BRA layer (its MH types stop at 10); its generic
    Mobility Header still reads our header, and building one around our
    message body it computes the same Header Len and checksum."""
    for msg in (BRI, BRA):
        packet = encode_packet(msg, SRC, DST)
        mh = IPv6(packet)[MIP6MH_Generic]
        assert (mh.nh, mh.len, mh.mhtype) == (59, packet[41], 16)
        rebuilt = IPv6(src=str(SRC), dst=str(DST)) / MIP6MH_Generic(mhtype=16, msg=packet[46:])
        assert bytes(rebuilt)[40:] == packet[40:]


def tshark_fields(frames, path, fields):
    """Wireshark's mip6 dissector (independent of our codec) on Ethernet
    ``frames`` written to the pcap ``path``: one dict of ``fields`` each."""
    with open(path, "wb") as pcap:
        pcap.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for number, frame in enumerate(frames):
            pcap.write(struct.pack("<IIII", number, 0, len(frame), len(frame)) + frame)
    args = ["tshark", "-r", str(path), "-T", "fields", "-E", "occurrence=a"]
    for name in fields:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "TZ": "UTC"}).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_our_bri_and_bra(tmp_path):
    """MH type 16, B.R. Type, trigger, status, sequence, P flag, MN-ID and
    HNP, and nothing malformed."""
    frames = [ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", encode_packet(m, SRC, DST))
              for m in (BRI, BRA)]
    fields = ("mip6.mhtype", "mip6.bri_br.type", "mip6.bri_r.trigger", "mip6.bri_status",
              "mip6.bri_seqnr", "mip6.bri_ip", "mip6.bri_ap", "mip6.mnid.identifier",
              "mip6.nemo.mnp.mnp", "_ws.malformed")
    rows = tshark_fields(frames, tmp_path / "bri.pcap", fields)
    assert [(r["mip6.mhtype"], r["mip6.bri_br.type"], r["mip6.bri_seqnr"]) for r in rows] == [
        ("16", "1", "7"), ("16", "2", "7")]
    assert (rows[0]["mip6.bri_r.trigger"], rows[0]["mip6.bri_ip"]) == ("4", "1")
    assert (rows[1]["mip6.bri_status"], rows[1]["mip6.bri_ap"]) == ("0", "1")
    assert [r["mip6.mnid.identifier"] for r in rows] == ["mn1@dmm.example"] * 2
    assert rows[0]["mip6.nemo.mnp.mnp"] == "2001:db8:1:1::"
    assert all(r["_ws.malformed"] == "" for r in rows)
