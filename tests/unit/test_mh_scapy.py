"""Scapy as a second, independent decoder of our bytes, and our decoder on
bytes scapy built: header fields, flags, options and checksum must agree."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

from hypothesis import given, settings
from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BU, MIP6OptMNID

from dmm_ryu.wire.mh import ProxyBindingUpdate, decode_packet, encode_packet
from dmm_ryu.wire.mh import scapy_layers as layers

from .test_mh_samples import DST, SAMPLES, SRC, messages

PADS = (0, 1)


def _expected_options(opts):
    """(type, Length, value as scapy shows it) of each option the model holds."""
    out = [(8, 1 + len(opts.mn_id.encode()), opts.mn_id.encode())] if opts.mn_id else []
    out += [(22, 18, (p.prefixlen, p.network_address)) for p in opts.hnps]
    singles = ((23, 2, opts.handoff), (24, 2, opts.access_tech), (27, 8, opts.timestamp),
               (26, 16, opts.link_local), (68, 16, opts.serving_maar))
    out += [single for single in singles if single[2] is not None]
    if opts.mn_link_layer_id is not None:
        out.append((25, 2 + len(opts.mn_link_layer_id), opts.mn_link_layer_id))
    out += [(67, 34, (p.prefix.prefixlen, p.address, p.prefix.network_address))
            for p in opts.previous_maars]
    out += [(otype, 18, (p.prefixlen, p.network_address))
            for otype, prefixes in ((65, opts.anchored_prefixes), (66, opts.local_prefixes))
            for p in prefixes]
    out += [(69, 16, address) for address in opts.dlif_link_locals]
    out += [(70, 2 + len(lla), lla) for lla in opts.dlif_link_layers]
    out += [(u.type, len(u.data), u.data) for u in opts.unknown]
    return sorted(out, key=repr)


A = IPv6Address
_VALUE = {8: lambda o: o.id, 22: lambda o: (o.plen, A(o.prefix)), 23: lambda o: o.hi,
          24: lambda o: o.att, 25: lambda o: o.lli, 26: lambda o: A(o.lla),
          27: lambda o: o.timestamp, 65: lambda o: (o.plen, A(o.prefix)),
          66: lambda o: (o.plen, A(o.prefix)), 67: lambda o: (o.plen, A(o.pmaar), A(o.hnp)),
          68: lambda o: A(o.smaar), 69: lambda o: A(o.lla), 70: lambda o: o.lla}


def _scapy_options(mh):
    return sorted(((o.otype, o.olen, _VALUE.get(o.otype, lambda o: o.odata)(o))
                   for o in mh.options if o.otype not in PADS), key=repr)


#: Option types 2-16 are MIPv6 options scapy parses with fixed layouts; our
#: unknown-option strategy may give them any Length, which scapy cannot follow.
scapy_friendly = messages.filter(lambda m: all(u.type > 16 for u in m.options.unknown))


def _assert_header_fields(mh, msg):
    assert mh.seq == msg.sequence and mh.mhtime == msg.lifetime // 4
    if isinstance(msg, ProxyBindingUpdate):
        assert isinstance(mh, MIP6MH_BU)
        # scapy: 7 flag bits A..P, then 9 bits it calls reserved (F, T, B, ...).
        assert int(mh.flags) == msg.flags >> 9 and mh.reserved == msg.flags & 0x1FF
    else:
        assert isinstance(mh, MIP6MH_BA) and mh.status == msg.status
        assert int(mh.flags) == msg.flags >> 5 and mh.res2 == msg.flags & 0x1F


@settings(max_examples=150, deadline=None)
@given(scapy_friendly)
def test_scapy_reads_our_bytes_alike(msg):
    packet = encode_packet(msg, SRC, DST)
    parsed = IPv6(packet)
    mh = parsed.payload
    _assert_header_fields(mh, msg)
    assert _scapy_options(mh) == _expected_options(msg.options)
    mh.cksum = None  # scapy recomputes it over its own pseudo-header
    assert bytes(parsed) == packet


def test_our_decoder_reads_scapy_built_bytes():
    hnp = IPv6Network("2001:db8:1:1::/64")
    built = IPv6(src=str(SRC), dst=str(DST)) / MIP6MH_BU(
        seq=9, flags="AHP", reserved=0x10, mhtime=900, options=[  # 0x10 in reserved: D
            MIP6OptMNID(id=b"mn1@dmm.example"),
            layers.MIP6OptHomeNetworkPrefix(plen=64, prefix=str(hnp.network_address)),
            layers.MIP6OptHandoffIndicator(hi=3), layers.MIP6OptAccessTechType(att=200),
            layers.MIP6OptTimestamp(timestamp=7 << 16),
            layers.MIP6OptServingMaar(smaar="2001:db8:ffff::4")])
    message = decode_packet(bytes(built)).message
    assert (message.sequence, message.lifetime, message.flags) == (9, 3600, 0xC210)
    assert message.is_dmm
    opts = message.options
    assert (opts.mn_id, opts.hnps, opts.handoff, opts.access_tech, opts.timestamp) == (
        "mn1@dmm.example", (hnp,), 3, 200, 7 << 16)
    assert opts.serving_maar == IPv6Address("2001:db8:ffff::4")


def test_our_decoder_reads_scapy_built_rfc_8885_options():
    anchored, local = IPv6Network("2001:db8:2::/48"), IPv6Network("2001:db8:3:1::/64")
    built = IPv6(src=str(SRC), dst=str(DST)) / MIP6MH_BA(
        status=0, flags="P", res2=0x02, seq=4, mhtime=900, options=[  # 0x02 in res2: D
            layers.MIP6OptAnchoredPrefix(plen=48, prefix=str(anchored.network_address)),
            layers.MIP6OptLocalPrefix(plen=64, prefix=str(local.network_address)),
            layers.MIP6OptDlifLinkLocalAddress(lla="fe80::3"),
            layers.MIP6OptDlifLinkLayerAddress(lla=bytes.fromhex("020000000003"))])
    message = decode_packet(bytes(built)).message
    assert message.flags == 0x22 and message.is_dmm
    opts = message.options
    assert (opts.anchored_prefixes, opts.local_prefixes) == ((anchored,), (local,))
    assert opts.dlif_link_locals == (IPv6Address("fe80::3"),)
    assert opts.dlif_link_layers == (bytes.fromhex("020000000003"),)


def test_layers_show_every_option():
    shown = IPv6(encode_packet(SAMPLES[2], SRC, DST)).show(dump=True)
    for name in ("Home Network Prefix", "Handoff Indicator", "Access Technology Type",
                 "Link-layer Identifier", "Link-local Address", "Timestamp",
                 "Previous MAAR", "Serving MAAR", "Mobile Node Identifier",
                 "Anchored Prefix", "Local Prefix", "DLIF Link-local Address",
                 "DLIF Link-layer Address"):
        assert name in shown
    assert "2023-11-19" in shown  # the 48.16 timestamp shown as a date


def test_other_dmm_type_numbers_can_be_registered():
    layers.register_options(layers.OptionTypes(previous_maar=200, serving_maar=201))
    try:
        option = IPv6(bytes(IPv6() / MIP6MH_BU(options=[
            layers.MIP6OptServingMaar(otype=201, smaar="2001:db8::1")]))).payload.options[-1]
        assert isinstance(option, layers.MIP6OptServingMaar)
    finally:
        layers.register_options()
