"""pmipv6 mode through the whole controller on fake switches: an MN
attaches at MAG maar2, moves to MAG maar3; the LMA is maar1.  Every
signalling frame on the wire is an RFC 5213 PBU/PBA between a MAG and the
LMA (none to or from the CMD), and data follows the fake flow tables."""
from __future__ import annotations

import shutil
from ipaddress import IPv6Address, IPv6Network

import pytest

from dmm_ryu.of.labels import transport_mac
from dmm_ryu.runtime.lma_bindings import binding_source
from dmm_ryu.testbed.fakedomain import FakeDomain, domain_text
from dmm_ryu.runtime.stats import MessageKey
from dmm_ryu.wire.inet import ethernet
from dmm_ryu.wire.mh import (BindingRevocationAck, BindingRevocationIndication, MobilityOptions,
                             ProxyBindingUpdate, codec, decode_packet, encode_packet,
                             message_name)
from tests.unit.test_mh_revocation import tshark_fields
from tests.unit.test_mh_samples import reseal
from tests.unit.test_controller import (MN_ID, MN_MAC, attach, downlink, ra_prefixes, rs,
                                       uplink, where)
from tests.unit.test_roam import data

LMA, MAG2, MAG3 = (IPv6Address(f"2001:db8:ffff::{i}") for i in (1, 2, 3))
CMD = IPv6Address("2001:db8:ffff::100")


def signalling(dom: FakeDomain, since: int = 0):
    """(src, dst, message) of every Mobility Header frame sent on the wire."""
    return [(p.src, p.dst, p.message) for p in (decode_packet(f[14:]) for f in dom.wire[since:])]


def transport_frame(dom: FakeDomain, sender: str, receiver: str, packet: bytes) -> bytes:
    """``packet`` as ``sender`` puts it on the transport for ``receiver``."""
    directory = dom.dmm.directory
    return ethernet(directory.named(receiver).mac, directory.named(sender).mac, packet)


def rows(sent):
    return [(str(s)[-1], str(d)[-1], message_name(m), getattr(m, "status", None),
             getattr(m, "lifetime", None)) for s, d, m in sent]


@pytest.fixture
def moved():
    dom = FakeDomain(domain_text("pmipv6"))
    attach(dom, "maar2")
    first = rows(signalling(dom))
    home = IPv6Network(ra_prefixes(dom.last_ra("maar2")[2])[0][0])
    address = str(home.network_address + 0x10)
    before = where(dom.forward("maar1", 1, {**downlink(address), "eth_dst": transport_mac(1)}))
    mark = len(dom.wire)
    dom.run(dom.dmm.port_down(dom.dpid("maar2"), 2, dom.now))
    attach(dom, "maar3")
    dom.advance(2.5)  # maar2's detach guard (2 s) ends: it de-registers
    return dom, home, address, first, before, signalling(dom, mark)


def test_attach_and_move_signal_only_mag_and_lma(moved):
    dom, home, _, first, _, after = moved
    assert home.subnet_of(IPv6Network("2001:db8:1::/48"))  # the LMA's pool
    assert first == [("2", "1", "PBU", None, 40), ("1", "2", "PBA", 0, 40)]
    # RFC 5846: the LMA revokes maar2 at once; its detach guard then ends
    # with nothing left to de-register.
    assert rows(after) == [("3", "1", "PBU", None, 40), ("1", "3", "PBA", 0, 40),
                           ("1", "2", "BRI", None, None), ("2", "1", "BRA", 0, None)]
    every = signalling(dom)
    assert all(CMD not in (s, d) for s, d, _ in every)
    assert all(not m.options.previous_maars and m.options.serving_maar is None
               for _, _, m in every)
    assert not any(m.is_dmm for _, _, m in every if message_name(m) in ("PBU", "PBA"))
    assert dom.dmm.cmd_node.count() == 0
    lma = dom.dmm.nodes["maar1"].core
    assert (lma.bces[MN_ID].serving, lma.bces[MN_ID].local) == (MAG3, home)
    assert MN_ID not in dom.dmm.nodes["maar2"].core.bces


def test_data_follows_the_lma_tunnel_to_the_serving_mag(moved):
    dom, _, address, _, before, _ = moved
    assert before == [("maar2", 2, MN_MAC, ())]
    packet = {**downlink(address), "eth_dst": transport_mac(1)}
    assert where(dom.forward("maar1", 1, packet)) == [("maar3", 2, MN_MAC, ())]
    up = where(dom.forward("maar3", 2, uplink(address)))
    assert [hop[0] for hop in up] == ["router"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_rfc_5213_from_our_mag_and_lma(moved, tmp_path):
    """P flag set, HNP, HI, ATT, Timestamp present, no option 67/68; the
    BRI/BRA pair of the move as RFC 5846 lays it out."""
    dom = moved[0]
    fields = ("mip6.mhtype", "mip6.bu.p_flag", "mip6.ba.status", "mip6.nemo.mnp.pfl",
              "mip6.hi", "mip6.att", "mip6.timestamp_tmp", "mip6.mobility_opt",
              "_ws.malformed", "mip6.bri_br.type", "mip6.bri_r.trigger", "mip6.bri_status",
              "mip6.bri_ip", "mip6.bri_ap", "mip6.mnid.identifier")
    decoded = tshark_fields(dom.wire, tmp_path / "pmipv6.pcap", fields)
    ours = [m for _, _, m in signalling(dom)]
    assert len(decoded) == len(ours) == 6
    bri, bra = decoded[4:]
    assert [bri[f] for f in ("mip6.mhtype", "mip6.bri_br.type", "mip6.bri_r.trigger",
                             "mip6.bri_ip", "mip6.mnid.identifier")] == ["16", "1", "4", "1", MN_ID]
    assert [bra[f] for f in ("mip6.mhtype", "mip6.bri_br.type", "mip6.bri_status",
                             "mip6.bri_ap", "mip6.mnid.identifier")] == ["16", "2", "0", "1", MN_ID]
    assert bri["_ws.malformed"] == bra["_ws.malformed"] == ""
    for row, message in zip(decoded[:4], ours[:4]):
        is_pbu = isinstance(message, ProxyBindingUpdate)
        assert row["mip6.mhtype"] == ("5" if is_pbu else "6")
        assert row["mip6.bu.p_flag"] == ("1" if is_pbu else "")
        assert row["mip6.ba.status"] == ("" if is_pbu else "0")
        assert row["mip6.nemo.mnp.pfl"] in ("0", "64")
        assert row["mip6.hi"] and row["mip6.att"] and row["mip6.timestamp_tmp"]
        assert row["mip6.mobility_opt"] == "" and row["_ws.malformed"] == ""


def test_binding_source_shows_the_lmas_bindings_as_the_cmds(moved):
    dom, home, _, _, _, _ = moved
    source = binding_source(dom.dmm)
    snap = source.binding(MN_ID)
    assert (snap.serving, snap.anchors, snap.lifetime) == (MAG3, ((home, LMA),), 40)
    assert [b.mn_id for b in source.bindings()] == [MN_ID] and source.count() == 1
    assert source.bindings(after=MN_ID) == [] and source.binding("nobody") is None
    proxy = FakeDomain(domain_text("proxy"))
    assert binding_source(proxy.dmm) is proxy.dmm.cmd_node


def test_an_mn_back_at_a_mag_whose_link_never_went_down_registers_at_once():
    """The limitation RFC 5846 closes: the MN roams maar2 -> maar3 -> maar2
    with maar2's link up throughout.  The LMA revokes maar2 when maar3 takes
    over, so the MN's first frame back at maar2 registers it, the binding
    follows at once, and maar3 is revoked in turn."""
    dom = FakeDomain(domain_text("pmipv6"))
    attach(dom, "maar2")
    address = str(IPv6Network(ra_prefixes(dom.last_ra("maar2")[2])[0][0]).network_address + 0x10)
    lma = dom.dmm.nodes["maar1"].core
    mark = len(dom.wire)
    dom.inject("maar3", 2, data(address))
    dom.advance(0.01)
    assert lma.bces[MN_ID].serving == MAG3 and MN_ID not in dom.dmm.nodes["maar2"].core.bces
    dom.inject("maar2", 2, data(address))
    dom.advance(0.01)
    assert lma.bces[MN_ID].serving == MAG2
    assert MN_ID not in dom.dmm.nodes["maar3"].core.bces
    assert rows(signalling(dom, mark)) == [
        ("3", "1", "PBU", None, 40), ("1", "3", "PBA", 0, 40),
        ("1", "2", "BRI", None, None), ("2", "1", "BRA", 0, None),
        ("2", "1", "PBU", None, 40), ("1", "2", "PBA", 0, 40),
        ("1", "3", "BRI", None, None), ("3", "1", "BRA", 0, None)]
    assert (lma.counters["lma_bri_sent"], lma.counters["lma_revoked"]) == (2, 2)
    assert [dom.dmm.nodes[m].core.counters["revoked"] for m in ("maar2", "maar3")] == [1, 1]
    messages = dom.dmm.stats.messages()
    assert [messages[MessageKey(d, t, s)] for d, t, s in (
        ("tx", "BRI", None), ("rx", "BRI", None), ("tx", "BRA", 0), ("rx", "BRA", 0))] == [2] * 4
    packet = {**downlink(address), "eth_dst": transport_mac(1)}
    assert where(dom.forward("maar1", 1, packet)) == [("maar2", 2, MN_MAC, ())]


def test_malformed_and_unsolicited_revocations_change_nothing():
    """A BRI with a bad checksum or an unknown B.R. Type never reaches a
    core; a BRA answering nothing reaches the LMA and is counted."""
    dom = FakeDomain(domain_text("pmipv6"))
    attach(dom, "maar2")
    lma, mag = dom.dmm.nodes["maar1"].core, dom.dmm.nodes["maar2"].core
    bri = BindingRevocationIndication(4, 1, MobilityOptions(mn_id=MN_ID))
    good = encode_packet(bri, LMA, MAG2)
    frame = transport_frame(dom, "maar1", "maar2", good[:45] + bytes((good[45] ^ 1,)) + good[46:])
    dom.run(dom.dmm.packet_in(dom.dpid("maar2"), 1, frame, dom.now))
    retyped = bytearray(codec.encode_mh(bri, LMA, MAG2))
    retyped[6] = 9
    frame = transport_frame(dom, "maar1", "maar2", good[:40] + reseal(bytes(retyped), LMA, MAG2))
    dom.run(dom.dmm.packet_in(dom.dpid("maar2"), 1, frame, dom.now))
    errors = dom.dmm.stats.errors()
    assert errors["mh_malformed_bad_checksum"] == errors["mh_malformed_unknown_br_type"] == 1
    assert MN_ID in mag.bces and mag.counters["revoked"] == 0
    bra = BindingRevocationAck(0, 1, MobilityOptions(mn_id=MN_ID))
    frame = transport_frame(dom, "maar2", "maar1", encode_packet(bra, MAG2, LMA))
    dom.run(dom.dmm.packet_in(dom.dpid("maar1"), 1, frame, dom.now))
    assert lma.counters["dropped_bra_unsolicited"] == 1
    assert dom.dmm.stats.errors()["bra_ignored"] == 1 and lma.bces[MN_ID].serving == MAG2


@pytest.mark.parametrize("batched", [False, True])
def test_an_mn_at_the_lma_itself_is_registered_and_logged_at_once(caplog, batched):
    """No signalling at the LMA's own access link, but the operator's log
    (and the demo, which reads it) still sees the registration end; also
    when the event is carried out at the end of its round, as the shell
    runs it (regression: the attachment time was dropped before the RA
    that ends the registration went out)."""
    import contextlib
    import logging
    from dmm_ryu.store.base import MemoryStore
    dom = FakeDomain(domain_text("pmipv6"), store_of=lambda name: MemoryStore())
    with caplog.at_level(logging.INFO, logger="dmm"):
        with dom.dmm.batch() if batched else contextlib.nullcontext() as batch:
            dom.dmm.packet_in(dom.dpid("maar1"), 2, rs(MN_MAC), dom.now) if batched \
                else attach(dom, "maar1")
        if batched:
            dom.run(batch.outputs)
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith(f"dmm: MN {MN_ID} registered at maar1 in 0.0 ms") for line in lines)
    assert dom.dmm.nodes["maar1"]._attach_time == {}
    with caplog.at_level(logging.INFO, logger="dmm"):
        caplog.clear()
        attach(dom, "maar1")  # a repeat RS: the RA again, no second registration line
    assert not [r for r in caplog.records if "registered at" in r.getMessage()]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_the_reports_tshark_reader_agrees_with_our_codec_on_the_revocation(moved, tmp_path):
    """figures.tshark_signalling (Wireshark plus our Lua dissector) and
    report.signalling (our codec) give the same rows for the move."""
    from dmm_ryu.testbed import figures, report
    dom = moved[0]
    path = tmp_path / "signalling.pcap"
    tshark_fields(dom.wire, path, ("frame.number",))  # writes the pcap
    theirs = figures.tshark_signalling(path, report._node)
    ours = report.signalling(path)
    keep = ("from", "to", "type", "lifetime", "seq")
    assert [{k: m[k] for k in keep} for m in theirs] == [{k: m[k] for k in keep} for m in ours]
    assert [(m["type"], m["status"]) for m in theirs[4:]] == [("BRI", None), ("BRA", 0)]


def test_signalling_log_lines_and_stats_keys_name_the_revocation_messages():
    from dmm_ryu.runtime.node import Described, message_kind
    bri = BindingRevocationIndication(4, 3, MobilityOptions(mn_id=MN_ID))
    bra = BindingRevocationAck(2, 3, MobilityOptions(mn_id=MN_ID))
    assert (message_kind(bri), message_kind(bra)) == (("BRI", None), ("BRA", 2))
    assert str(Described(LMA, MAG2, bri)) == (f"BRI {LMA} -> {MAG2} mn={MN_ID} seq=3 lifetime=- "
                                              "hnp=- trigger=4")
    assert str(Described(MAG2, LMA, bra)).endswith("hnp=- status=2")
