"""Encode and decode rates of the Mobility Header codec, in messages/s.

Run: ``python3 benchmarks/bench_codec.py [--seconds N]``.  Measures one core
with ``timeit``; the draft's controller target is 50,000 PBU decodes/s.
"""
from __future__ import annotations

import argparse
import timeit
from ipaddress import IPv6Address, IPv6Network

from dmm_ryu.mh import (
    AccessTechnology,
    HandoffIndicator,
    MobilityOptions,
    PreviousMaar,
    ProxyBindingAck,
    ProxyBindingUpdate,
    Status,
    decode_mh,
    decode_packet,
    encode_mh,
    encode_packet,
)

SRC = IPv6Address("2001:db8:ffff::1")
DST = IPv6Address("2001:db8:ffff::2")
HNP = IPv6Network("2001:db8:1:1::/64")


def typical_pbu() -> ProxyBindingUpdate:
    """What a MAAR sends the CMD on attachment (draft section 3.1)."""
    return ProxyBindingUpdate(4242, 3600, MobilityOptions(
        mn_id="mn1@dmm.example", hnps=(HNP,),
        handoff=HandoffIndicator.NEW_INTERFACE,
        access_tech=AccessTechnology.IEEE_802_11, timestamp=0xE1A2B3C4D5E6F708))


def pba_with_previous_maars() -> ProxyBindingAck:
    """What the CMD answers an S-MAAR after two handovers plus one prefix."""
    pmaars = tuple(PreviousMaar(IPv6Address(f"2001:db8:ffff::{i}"),
                                IPv6Network(f"2001:db8:{i}:1::/64")) for i in (3, 4, 5))
    return ProxyBindingAck(Status.ACCEPTED, 4242, 3600, MobilityOptions(
        mn_id="mn1@dmm.example", hnps=(HNP,), previous_maars=pmaars))


def rate(func, seconds: float) -> float:
    """Calls per second of ``func``, sized so one run lasts about ``seconds``."""
    timer = timeit.Timer(func)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / elapsed))
    return number / min(timer.repeat(repeat=3, number=number))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    seconds = parser.parse_args().seconds
    for name, msg in (("PBU", typical_pbu()), ("PBA+3 P-MAAR", pba_with_previous_maars())):
        mh = encode_mh(msg, SRC, DST)
        packet = encode_packet(msg, SRC, DST)
        print(f"{name:13} {len(mh):4d} octets  "
              f"encode_mh {rate(lambda: encode_mh(msg, SRC, DST), seconds):9,.0f}/s  "
              f"decode_mh {rate(lambda: decode_mh(mh, SRC, DST), seconds):9,.0f}/s  "
              f"decode_packet {rate(lambda: decode_packet(packet), seconds):9,.0f}/s")


if __name__ == "__main__":
    main()
