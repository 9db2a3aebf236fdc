"""Wireshark's mip6 dissector as an independent peer: every kind of message
the draft sends must decode in tshark to the values we set, with no
malformed-packet or warning expert info.

Wireshark 4.0 does not verify the MH checksum (its mip6 dissector has no
checksum-status field, and a corrupted checksum decodes silently), so the
checksum tshark reads is compared with a textbook computation instead.  It
does not know the RFC 8885 option types 65-70 either: it must list them as
unknown options (a "not dissected" note) and walk past them by Length.

The project's Lua dissector (``dmm_ryu/wire/wireshark/dmm_mh.lua``) fills
that gap; the second half of this module checks, through
``tshark -X lua_script:...``, every ``dmm.*`` field it shows against the
message the codec encoded.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import subprocess
import time
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.wire.mh import (
    DMM_PBA_FLAGS,
    DMM_PBU_FLAGS,
    AccessTechnology,
    BAFlags,
    BUFlags,
    HandoffIndicator,
    MobilityOptions,
    PreviousMaar,
    ProxyBindingAck,
    OptionTypes,
    ProxyBindingUpdate,
    Status,
    encode_packet,
)
from dmm_ryu.wire.constants import MH_PROTO
from dmm_ryu.wire.inet import ipv6_header
from dmm_ryu.wire.wireshark import tshark_options
from tests.unit.test_mh_samples import DST, SRC, reseal, words_checksum

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")

LINKTYPE_IPV6 = 229
HNP = IPv6Network("2001:db8:1:1::/64")
NOTE_UNDISSECTED = "IE data not dissected yet"
PBU_OPTIONS = MobilityOptions(
    mn_id="mn1@dmm.example", hnps=(HNP,), handoff=HandoffIndicator.NEW_INTERFACE,
    access_tech=AccessTechnology.IEEE_802_11, timestamp=0x655A5E00_8000)
PBA_OPTIONS = MobilityOptions(mn_id="mn1@dmm.example", hnps=(HNP,))


def _pba_from_cmd(sequence, count):
    """The CMD's PBA to an S-MAAR, naming ``count`` P-MAARs (draft 3.1)."""
    pmaars = tuple(PreviousMaar(IPv6Address(f"2001:db8:ffff::{i + 3}"),
                                IPv6Network(f"2001:db8:{i + 2}:1::/64")) for i in range(count))
    return ProxyBindingAck(Status.ACCEPTED, sequence, 3600,
                           _with(PBA_OPTIONS, previous_maars=pmaars), DMM_PBA_FLAGS)


def _pba_with_dlifs(sequence, count):
    """A PBA naming ``count`` P-MAARs, each with its DLIF (RFC 8885 4.7, 4.8),
    and the S-MAAR's local prefix."""
    pba = _pba_from_cmd(sequence, count)
    return ProxyBindingAck(pba.status, sequence, pba.lifetime, _with(
        pba.options, local_prefixes=(IPv6Network("2001:db8:9:1::/64"),),
        dlif_link_locals=tuple(IPv6Address(f"fe80::{i + 3}") for i in range(count)),
        dlif_link_layers=tuple(bytes((2, 0, 0, 0, 0, i + 3)) for i in range(count))),
        pba.flags)


def _with(options, **changes):
    return dataclasses.replace(options, **changes)


CASES = [
    ProxyBindingUpdate(1, 3600, PBU_OPTIONS),
    ProxyBindingAck(Status.ACCEPTED, 1, 3600, PBA_OPTIONS),
    ProxyBindingUpdate(2, 3600, _with(
        PBU_OPTIONS, hnps=(HNP, IPv6Network("2001:db8:2:1::/64")),
        handoff=HandoffIndicator.BETWEEN_MAGS, link_local=IPv6Address("fe80::1"),
        mn_link_layer_id=bytes.fromhex("020000000001"),
        serving_maar=IPv6Address("2001:db8:ffff::4"))),
    _pba_from_cmd(2, 1),
    _pba_from_cmd(3, 3),
    ProxyBindingUpdate(4, 0, PBU_OPTIONS),  # de-registration
    # RFC 8885: the D flag, a PBU to a P-MAAR with its anchored prefixes,
    # a PBA with DLIFs, and an Access Technology Type without a name.
    ProxyBindingUpdate(6, 3600, _with(
        PBU_OPTIONS, access_tech=200, serving_maar=IPv6Address("2001:db8:ffff::4"),
        anchored_prefixes=(HNP, IPv6Network("2001:db8:1::/48"))), DMM_PBU_FLAGS),
    _pba_with_dlifs(6, 1),
    _pba_with_dlifs(7, 3),
] + [ProxyBindingAck(status, 5, 0, PBA_OPTIONS) for status in (
    Status.INSUFFICIENT_RESOURCES, Status.SEQUENCE_OUT_OF_WINDOW,
    Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG, Status.MISSING_HOME_NETWORK_PREFIX_OPTION)]

FIELDS = ("mip6.proto", "mip6.hlen", "mip6.mhtype", "mip6.csum",
          "mip6.bu.seqnr", "mip6.bu.a_flag", "mip6.bu.h_flag", "mip6.bu.p_flag",
          "mip6.bu.t_flag", "mip6.bu.lifetime", "mip6.ba.status", "mip6.ba.p_flag",
          "mip6.ba.seqnr", "mip6.ba.lifetime", "mip6.mnid.identifier",
          "mip6.nemo.mnp.pfl", "mip6.nemo.mnp.mnp", "mip6.hi", "mip6.att",
          "mip6.timestamp_tmp", "mip6.lila_lla", "mip6.mnlli.lli", "mip6.mobility_opt",
          "_ws.expert.message", "_ws.malformed")


def _flag(flags, bit):
    return "1" if flags & bit else "0"


def _wireshark_time(value):
    """How tshark prints an RFC 5213 (48.16 fixed point) timestamp in UTC."""
    seconds, fraction = divmod(value, 65536)
    text = time.strftime("%b %d, %Y %H:%M:%S", time.gmtime(seconds))
    return f"{text}.{fraction * 10**9 // 65536:09d} UTC"


def _expected_header(msg, packet):
    fields = {"mip6.proto": "59", "mip6.hlen": str(len(packet) // 8 - 6)}
    if isinstance(msg, ProxyBindingUpdate):
        return {**fields, "mip6.mhtype": "5", "mip6.bu.seqnr": str(msg.sequence),
                "mip6.bu.a_flag": _flag(msg.flags, BUFlags.A),
                "mip6.bu.h_flag": _flag(msg.flags, BUFlags.H),
                "mip6.bu.p_flag": _flag(msg.flags, BUFlags.P),
                "mip6.bu.t_flag": _flag(msg.flags, BUFlags.T),
                "mip6.bu.lifetime": str(msg.lifetime // 4)}
    return {**fields, "mip6.mhtype": "6", "mip6.ba.status": str(msg.status),
            "mip6.ba.p_flag": "1", "mip6.ba.seqnr": str(msg.sequence),
            "mip6.ba.lifetime": str(msg.lifetime // 4)}


def _dmm_types(opts):
    """The RFC 8885 option types of ``opts`` in the codec's wire order."""
    counts = (len(opts.anchored_prefixes), len(opts.local_prefixes), len(opts.previous_maars),
              int(opts.serving_maar is not None), len(opts.dlif_link_locals),
              len(opts.dlif_link_layers))
    return [str(otype) for otype, count in zip(range(65, 71), counts) for _ in range(count)]


def _expected_options(opts):
    dmm = _dmm_types(opts)
    optional = {"mip6.hi": opts.handoff, "mip6.att": opts.access_tech,
                "mip6.lila_lla": opts.link_local,
                "mip6.mnlli.lli": opts.mn_link_layer_id and opts.mn_link_layer_id.hex(),
                "mip6.timestamp_tmp": opts.timestamp and _wireshark_time(opts.timestamp)}
    return {"mip6.mnid.identifier": opts.mn_id,
            "mip6.nemo.mnp.pfl": ",".join(str(p.prefixlen) for p in opts.hnps),
            "mip6.nemo.mnp.mnp": ",".join(str(p.network_address) for p in opts.hnps),
            "mip6.mobility_opt": ",".join(dmm),
            "_ws.expert.message": ",".join([NOTE_UNDISSECTED] * len(dmm)),
            **{name: "" if value is None else str(int(value) if isinstance(value, int)
                                                   else value)
               for name, value in optional.items()}}


def _write_pcap(path, packets):
    with open(path, "wb") as pcap:
        pcap.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_IPV6))
        for number, packet in enumerate(packets):
            pcap.write(struct.pack("<IIII", number, 0, len(packet), len(packet)) + packet)


def _tshark(*args):
    env = {**os.environ, "TZ": "UTC"}
    done = subprocess.run(["tshark", *args], capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    assert "Lua" not in done.stderr, done.stderr  # a script error is only printed
    return done.stdout


def _field_rows(path, fields, *options):
    args = [*options, "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in fields:
        args += ["-e", name]
    return [dict(zip(fields, line.split("\t"))) for line in _tshark(*args).splitlines()]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    packets = [encode_packet(msg, SRC, DST) for msg in CASES]
    path = tmp_path_factory.mktemp("mh") / "dmm-signalling.pcap"
    _write_pcap(path, packets)
    return str(path), packets


@pytest.fixture(scope="module")
def decoded_rows(capture):
    return _field_rows(capture[0], FIELDS)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_tshark_decodes_what_we_set(capture, decoded_rows, index):
    msg, packet, row = CASES[index], capture[1][index], decoded_rows[index]
    expected = {**_expected_header(msg, packet), **_expected_options(msg.options),
                "_ws.malformed": ""}
    assert {name: row[name] for name in expected} == expected
    mh = packet[40:]
    assert int(row["mip6.csum"], 16) == words_checksum(SRC, DST, mh[:4] + b"\0\0" + mh[6:])


def test_tshark_reports_nothing_malformed(capture):
    verbose = _tshark("-r", capture[0], "-V")
    assert verbose.count("Mobile IPv6") >= len(CASES)
    for alarm in ("Malformed", "Expert Info (Warning", "Expert Info (Error",
                  "Invalid length"):
        assert alarm not in verbose


# ------------------------------------------------ the project's Lua dissector

DMM_FIELDS = ("dmm.bu.d_flag", "dmm.ba.d_flag", "dmm.option.type", "dmm.option.length",
              "dmm.anchored_prefix.prefix_length", "dmm.anchored_prefix.prefix",
              "dmm.local_prefix.prefix_length", "dmm.local_prefix.prefix",
              "dmm.previous_maar.prefix_length", "dmm.previous_maar.address",
              "dmm.previous_maar.hnp", "dmm.serving_maar.address",
              "dmm.dlif_link_local.address", "dmm.dlif_link_layer.address",
              "_ws.expert.message", "_ws.malformed")
BAD_LENGTH = "DMM option with a wrong Length"


def _joined(values):
    return ",".join(str(value) for value in values)


def _option_lengths(opts):
    sizes = ([18] * len(opts.anchored_prefixes) + [18] * len(opts.local_prefixes)
             + [34] * len(opts.previous_maars) + [16] * (opts.serving_maar is not None)
             + [16] * len(opts.dlif_link_locals) + [2 + len(a) for a in opts.dlif_link_layers])
    return _joined(sizes)


def _expected_dmm(msg):
    """Every dmm.* field as tshark prints it for ``msg``."""
    opts, is_pbu = msg.options, isinstance(msg, ProxyBindingUpdate)
    pmaars, dmm_types = opts.previous_maars, _dmm_types(opts)
    return {
        "dmm.bu.d_flag": _flag(msg.flags, BUFlags.D) if is_pbu else "",
        "dmm.ba.d_flag": "" if is_pbu else _flag(msg.flags, BAFlags.D),
        "dmm.option.type": ",".join(dmm_types), "dmm.option.length": _option_lengths(opts),
        "dmm.anchored_prefix.prefix_length": _joined(p.prefixlen for p in opts.anchored_prefixes),
        "dmm.anchored_prefix.prefix": _joined(p.network_address for p in opts.anchored_prefixes),
        "dmm.local_prefix.prefix_length": _joined(p.prefixlen for p in opts.local_prefixes),
        "dmm.local_prefix.prefix": _joined(p.network_address for p in opts.local_prefixes),
        "dmm.previous_maar.prefix_length": _joined(p.prefix.prefixlen for p in pmaars),
        "dmm.previous_maar.address": _joined(p.address for p in pmaars),
        "dmm.previous_maar.hnp": _joined(p.prefix.network_address for p in pmaars),
        "dmm.serving_maar.address": _joined([opts.serving_maar] if opts.serving_maar else []),
        "dmm.dlif_link_local.address": _joined(opts.dlif_link_locals),
        "dmm.dlif_link_layer.address": _joined(a.hex(":") for a in opts.dlif_link_layers),
        # mip6 still notes the options it does not know; the script adds nothing.
        "_ws.expert.message": ",".join([NOTE_UNDISSECTED] * len(dmm_types)),
        "_ws.malformed": "",
    }


@pytest.fixture(scope="module")
def dmm_rows(capture):
    return _field_rows(capture[0], DMM_FIELDS, *tshark_options())


def test_cases_cover_every_rfc_8885_field():
    shown = [_expected_dmm(msg) for msg in CASES]
    for name in DMM_FIELDS[:-2]:
        assert any(row[name] not in ("", "0") for row in shown), name


@pytest.mark.parametrize("index", range(len(CASES)))
def test_lua_dissector_shows_every_dmm_field(dmm_rows, index):
    assert dmm_rows[index] == _expected_dmm(CASES[index])


def test_lua_dissector_leaves_mip6_as_it_was(capture, decoded_rows):
    assert _field_rows(capture[0], FIELDS, *tshark_options()) == decoded_rows


def _hand_built_pba(option: bytes) -> bytes:
    """An IPv6 packet with a PBA (P and D flags) around raw option bytes."""
    body = bytes((59, 0, 6, 0, 0, 0, 0, 0x22, 0, 9, 0, 1)) + option
    body += bytes((1, -len(body) % 8 - 2)) + bytes(-len(body) % 8 - 2)
    mh = reseal(body[:1] + bytes((len(body) // 8 - 1,)) + body[2:])
    return ipv6_header(SRC.packed, DST.packed, MH_PROTO, len(mh), 64) + mh


def test_lua_dissector_flags_a_wrong_length(tmp_path):
    serving_maar_15 = b"\x44\x0f" + bytes(15)
    path = str(tmp_path / "bad.pcap")
    _write_pcap(path, [_hand_built_pba(serving_maar_15)])
    row, = _field_rows(path, DMM_FIELDS, *tshark_options())
    assert (row["dmm.option.type"], row["dmm.option.length"]) == ("68", "15")
    assert row["dmm.serving_maar.address"] == ""
    assert row["_ws.expert.message"] == f"{NOTE_UNDISSECTED},{BAD_LENGTH}"


def test_lua_dissector_follows_configured_option_types(tmp_path):
    types = OptionTypes(previous_maar=200, serving_maar=201)
    msg = _pba_from_cmd(8, 2)
    path = str(tmp_path / "types.pcap")
    _write_pcap(path, [encode_packet(msg, SRC, DST, option_types=types)])
    row, = _field_rows(path, DMM_FIELDS, *tshark_options(),
                       "-o", "dmm.previous_maar:200", "-o", "dmm.serving_maar:201")
    assert row["dmm.option.type"] == "200,200"
    pmaars = msg.options.previous_maars
    assert row["dmm.previous_maar.address"] == _joined(p.address for p in pmaars)
