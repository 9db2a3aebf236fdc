"""The pmipv6 LMA (core/lma.py, RFC 5213 section 5) fed PBUs directly, and
as a stock MAG sends them: built with scapy's own Mobility Header layers
(no project code), decoded by our codec, answered, and the PBA decoded by
scapy again.  Our MAG's PBU is checked the other way round."""
from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network

import pytest
from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BU, MIP6OptMNID, MIP6OptMobNetPrefix
from scapy.layers.inet6 import MIP6OptUnknown

from dmm_ryu.core.actions import ANCHOR, InstallTunnel, SendMessage
from dmm_ryu.core.config import Mode, Timers
from dmm_ryu.core.events import MessageReceived, TimerFired
from dmm_ryu.core.lma import BINDING
from dmm_ryu.sim.domain import build
from dmm_ryu.wire.mh import decode_packet, encode_packet
from dmm_ryu.wire.mh.model import (
    PBU_FLAGS,
    BindingRevocationIndication,
    BUFlags,
    HandoffIndicator,
    MobilityOptions,
    ProxyBindingUpdate,
    Status,
    timestamp_from_unix,
)

NOW = 1_700_000_000.0
HOME = IPv6Network("2001:db8:3::/64")
REQUEST = IPv6Network("::/0")


@pytest.fixture
def dom():
    return build(3, Mode.PMIPV6, lma=2, timers=Timers(lifetime=40))


def mag(dom, i):
    return dom.maars[i].address


def pbu(seq=1, lifetime=40, hnp=REQUEST, handoff=HandoffIndicator.UNKNOWN, at=NOW,
        flags=PBU_FLAGS, mn_id="mn", stamp=True):
    return ProxyBindingUpdate(seq, lifetime, MobilityOptions(
        mn_id=mn_id, hnps=(hnp,), handoff=handoff, access_tech=4,
        timestamp=timestamp_from_unix(at) if stamp else None), flags)


def send(dom, src, message, now=NOW):
    """Hand ``message`` from ``src`` to the LMA; its actions and its one PBA
    (anything else it sends is a BRI to a previous MAG)."""
    lma = dom.maars[2]
    actions = lma.handle(MessageReceived(src, lma.address, message), now)
    sent = [a for a in actions if isinstance(a, SendMessage)]
    replies = [a.message for a in sent if a.dst == src]
    assert len(replies) == 1
    assert all(isinstance(a.message, BindingRevocationIndication) for a in sent if a.dst != src)
    return actions, replies[0]


def test_registration_assigns_the_hnp_and_tunnels_to_the_proxy_coa(dom):
    actions, pba = send(dom, mag(dom, 0), pbu())
    assert (pba.status, pba.options.hnps, pba.lifetime, pba.sequence) == (0, (HOME,), 40, 1)
    assert not pba.is_dmm and pba.options.previous_maars == () and pba.options.serving_maar is None
    assert InstallTunnel("mn", HOME, mag(dom, 0), ANCHOR) in actions
    bce = dom.maars[2].bces["mn"]
    assert (bce.local, bce.serving, bce.ts) == (HOME, mag(dom, 0), timestamp_from_unix(NOW))


def test_lifetime_is_capped_at_the_configured_one(dom):
    _, pba = send(dom, mag(dom, 0), pbu(lifetime=4000))
    assert pba.lifetime == 40


def test_handover_moves_the_tunnel_and_re_registration_keeps_it(dom):
    send(dom, mag(dom, 0), pbu())
    actions, pba = send(dom, mag(dom, 1), pbu(at=NOW + 0.5), NOW + 0.5)
    assert pba.status == 0 and pba.options.hnps == (HOME,)
    assert [type(a).__name__ for a in actions[:2]] == ["RemoveTunnel", "InstallTunnel"]
    assert dom.maars[2].counters["lma_handoffs"] == 1
    actions, pba = send(dom, mag(dom, 1), pbu(2, hnp=HOME, handoff=HandoffIndicator.NOT_CHANGED,
                                              at=NOW + 0.9), NOW + 0.9)
    assert pba.status == 0 and not any(type(a).__name__.endswith("Tunnel") for a in actions)


def test_deregistration_from_the_proxy_coa_ends_the_binding(dom):
    send(dom, mag(dom, 0), pbu())
    _, pba = send(dom, mag(dom, 0), pbu(2, lifetime=0, hnp=HOME, at=NOW + 0.1), NOW + 0.1)
    assert (pba.status, pba.lifetime) == (0, 0)
    assert dom.maars[2].bces == {} and dom.maars[2].pool.allocated() == {}


def test_deregistration_from_a_previous_mag_leaves_the_binding(dom):
    send(dom, mag(dom, 0), pbu())
    send(dom, mag(dom, 1), pbu(at=NOW + 0.2), NOW + 0.2)
    _, pba = send(dom, mag(dom, 0), pbu(2, lifetime=0, hnp=HOME, at=NOW + 0.4), NOW + 0.4)
    assert (pba.status, pba.lifetime) == (0, 0)
    assert dom.maars[2].bces["mn"].serving == mag(dom, 1)


def test_a_registration_overtaken_by_its_deregistration_is_refused(dom):
    send(dom, mag(dom, 0), pbu(2, lifetime=0, at=NOW + 0.1), NOW + 0.1)
    _, pba = send(dom, mag(dom, 0), pbu(1, at=NOW), NOW + 0.2)
    assert pba.status == Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED and dom.maars[2].bces == {}
    dom.maars[2].handle(TimerFired(("lma_gone", "mn")), NOW + 2)
    assert dom.maars[2]._lma_gone == {}


def test_the_binding_expires_without_re_registration(dom):
    send(dom, mag(dom, 0), pbu())
    actions = dom.maars[2].handle(TimerFired((BINDING, "mn")), NOW + 40)
    assert [type(a).__name__ for a in actions][0] == "RemoveTunnel"
    assert dom.maars[2].bces == {} and dom.maars[2].counters["lma_expired"] == 1


@pytest.mark.parametrize("case, status", [
    ("no P flag", Status.PROXY_REG_NOT_ENABLED),
    ("not a MAG", Status.MAG_NOT_AUTHORIZED_FOR_PROXY_REG),
    ("no MN-ID", Status.MISSING_MN_IDENTIFIER_OPTION),
    ("ahead of the window", Status.TIMESTAMP_MISMATCH),
    ("behind the window", Status.TIMESTAMP_MISMATCH),
    ("older than accepted", Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED),
    ("sequence not newer", Status.SEQUENCE_OUT_OF_WINDOW),
    ("named prefix, no BCE", Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX),
    ("named prefix not the BCE's", Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH),
    ("re-registration from a stale MAG", Status.REASON_UNSPECIFIED),
])
def test_refusals_carry_rfc_5213_status(dom, case, status):
    src, message, now = mag(dom, 0), pbu(), NOW
    first = {"older than accepted", "sequence not newer", "named prefix not the BCE's",
             "re-registration from a stale MAG"}
    if case in first:
        send(dom, mag(dom, 0), pbu(5, stamp=case != "sequence not newer"))
    if case == "no P flag":
        message = pbu(flags=BUFlags.A | BUFlags.H)
    elif case == "not a MAG":
        src = IPv6Address("2001:db8:ffff::99")
    elif case == "no MN-ID":
        message = replace(message, options=replace(message.options, mn_id=None))
    elif case == "ahead of the window":
        message = pbu(at=NOW + 5)
    elif case == "behind the window":
        message = pbu(at=NOW - 5)
    elif case == "older than accepted":
        message, now = pbu(6, at=NOW - 0.5), NOW
    elif case == "sequence not newer":
        message = pbu(5, stamp=False)
    elif case in ("named prefix, no BCE", "named prefix not the BCE's"):
        message = pbu(6, hnp=IPv6Network("2001:db8:3:9::/64"), at=NOW + 0.1)
    else:
        src = mag(dom, 1)
        message = pbu(6, hnp=HOME, handoff=HandoffIndicator.NOT_CHANGED, at=NOW + 0.1)
    before = {k: (b.serving, b.ts) for k, b in dom.maars[2].bces.items()}
    _, pba = send(dom, src, message, now)
    assert pba.status == status and pba.lifetime == 0
    assert {k: (b.serving, b.ts) for k, b in dom.maars[2].bces.items()} == before
    assert dom.maars[2].counters[f"lma_refused_{int(status)}"] == 1
    if status == Status.SEQUENCE_OUT_OF_WINDOW:
        assert pba.sequence == 5  # RFC 5213 5.5.2: the last accepted one
    if case == "ahead of the window":
        assert pba.options.timestamp == timestamp_from_unix(NOW)  # 5.5.1: our clock


def test_pool_exhausted_is_130():
    dom = build(3, Mode.PMIPV6, lma=2, pool_len=64)  # room for one /64
    send(dom, mag(dom, 0), pbu())
    _, pba = send(dom, mag(dom, 0), pbu(mn_id="other"))
    assert pba.status == Status.INSUFFICIENT_RESOURCES


# --- a stock MAG, as scapy builds it -------------------------------------------

def stock_pbu(src, dst, seq, at, hnp="::", plen=0, handoff=4, lifetime_units=10, flags="AHP"):
    """A PBU as RFC 5213 6.9.1.5 has a MAG send it, from scapy's layers only:
    flags A, H, P; MN-ID (RFC 4283), HNP (type 22, laid out as RFC 3963's
    Mobile Network Prefix option), HI (23), ATT (24), Timestamp (27)."""
    stamp = timestamp_from_unix(at).to_bytes(8, "big")
    return bytes(IPv6(src=str(src), dst=str(dst)) / MIP6MH_BU(
        seq=seq, flags=flags, mhtime=lifetime_units, options=[
            MIP6OptMNID(subtype=1, id=b"mn@stock.example"),
            MIP6OptMobNetPrefix(otype=22, plen=plen, prefix=hnp),
            MIP6OptUnknown(otype=23, odata=bytes([0, handoff])),
            MIP6OptUnknown(otype=24, odata=bytes([0, 3])),
            MIP6OptUnknown(otype=27, odata=stamp)]))


def answered_by_scapy(dom, raw, now):
    """Decode ``raw`` with our codec, hand it to the LMA, and parse its
    PBA with scapy: (BA layer, {option type: raw option bytes})."""
    packet = decode_packet(raw)
    lma = dom.maars[2]
    out = [a for a in lma.handle(MessageReceived(packet.src, packet.dst, packet.message), now)
           if isinstance(a, SendMessage)]
    assert len(out) == 1
    reply = IPv6(encode_packet(out[0].message, out[0].src, out[0].dst))
    ba = reply[MIP6MH_BA]
    return ba, {bytes(o)[0]: bytes(o) for o in ba.options if bytes(o)[0] > 1}


def test_lma_answers_a_stock_mag_pbu_built_by_scapy(dom):
    ba, opts = answered_by_scapy(dom, stock_pbu(mag(dom, 0), mag(dom, 2), 7, NOW), NOW)
    assert (ba.status, ba.seq, ba.mhtime, "P" in ba.flags) == (0, 7, 10, True)
    hnp = opts[22]
    assert (hnp[3], IPv6Address(hnp[4:20])) == (64, HOME.network_address)
    assert opts[8][3:] == b"mn@stock.example" and opts[23][3] == 4 and opts[24][3] == 3
    assert opts[27][2:] == timestamp_from_unix(NOW).to_bytes(8, "big")
    assert not {65, 66, 67, 68, 69, 70} & set(opts)
    # the stock MAG re-registers with the HNP it got, then de-registers
    again = stock_pbu(mag(dom, 0), mag(dom, 2), 8, NOW + 0.5, str(HOME.network_address), 64, 5)
    ba, _ = answered_by_scapy(dom, again, NOW + 0.5)
    assert ba.status == 0
    leave = stock_pbu(mag(dom, 0), mag(dom, 2), 9, NOW + 0.6, str(HOME.network_address), 64, 4, 0)
    ba, _ = answered_by_scapy(dom, leave, NOW + 0.6)
    assert (ba.status, ba.mhtime) == (0, 0) and dom.maars[2].bces == {}


def test_lma_refuses_a_stock_pbu_without_the_p_flag(dom):
    ba, _ = answered_by_scapy(dom, stock_pbu(mag(dom, 0), mag(dom, 2), 7, NOW, flags="AH"), NOW)
    assert ba.status == Status.PROXY_REG_NOT_ENABLED


def our_mag_pbu():
    """The PBU our MAG (MAAR1) sends when an MN attaches, on the wire."""
    dom = build(3, Mode.PMIPV6, lma=2)
    dom.move("mn", 0)
    sent = dom.net.log[0]
    assert sent.dst == dom.maars[2].address
    return sent, encode_packet(sent.message, sent.src, sent.dst)


def test_our_mag_pbu_decodes_in_scapy_as_rfc_5213():
    sent, raw = our_mag_pbu()
    bu = IPv6(raw)[MIP6MH_BU]
    assert set(str(bu.flags)) == set("AHP") and bu.reserved == 0  # no D flag (RFC 8885)
    assert bu.seq == sent.message.sequence and bu.mhtime == 100
    opts = {bytes(o)[0]: bytes(o) for o in bu.options if bytes(o)[0] > 1}
    assert sorted(opts) == [8, 22, 23, 24, 27]  # no 67/68, nor any RFC 8885 option
    assert opts[22][3] == 0 and IPv6Address(opts[22][4:20]) == IPv6Address("::")
    assert opts[23][3] == HandoffIndicator.UNKNOWN
    assert opts[27][2:] == sent.message.options.timestamp.to_bytes(8, "big")
