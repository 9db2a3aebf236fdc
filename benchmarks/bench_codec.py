"""Encode and decode rates of the Mobility Header codec, in messages/s.

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/bench_codec.py [--seconds N]

One core, best of three ``timeit`` runs.  The controller's target is 50,000
PBU decodes/s; this is a measurement, not a test.
"""
from __future__ import annotations

import argparse
import timeit
from ipaddress import IPv6Address, IPv6Network

from dmm_ryu.wire import mh

SRC = IPv6Address("2001:db8:ffff::1")
DST = IPv6Address("2001:db8:ffff::2")
HNP = IPv6Network("2001:db8:1:1::/64")


def typical_pbu() -> mh.ProxyBindingUpdate:
    """What a MAAR sends the CMD on attachment (draft section 3.1)."""
    return mh.ProxyBindingUpdate(4242, 3600, mh.MobilityOptions(
        mn_id="mn1@dmm.example", hnps=(HNP,),
        handoff=mh.HandoffIndicator.NEW_INTERFACE,
        access_tech=mh.AccessTechnology.IEEE_802_11,
        timestamp=mh.timestamp_from_unix(1_700_000_000.25)))


def pba_with_previous_maars() -> mh.ProxyBindingAck:
    """What the CMD answers an S-MAAR for a MN with three anchored prefixes."""
    pmaars = tuple(mh.PreviousMaar(IPv6Address(f"2001:db8:ffff::{i}"),
                                   IPv6Network(f"2001:db8:{i}:1::/64")) for i in (3, 4, 5))
    return mh.ProxyBindingAck(mh.Status.ACCEPTED, 4242, 3600, mh.MobilityOptions(
        mn_id="mn1@dmm.example", hnps=(HNP,), previous_maars=pmaars))


def rate(func, seconds: float) -> float:
    """Calls per second of ``func``, sized so one run lasts about ``seconds``."""
    timer = timeit.Timer(func)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / elapsed))
    return number / min(timer.repeat(repeat=3, number=number))


def report(name: str, msg: mh.Message, seconds: float) -> str:
    header = mh.encode_mh(msg, SRC, DST)
    packet = mh.encode_packet(msg, SRC, DST)
    rates = (("encode_mh", lambda: mh.encode_mh(msg, SRC, DST)),
             ("decode_mh", lambda: mh.decode_mh(header, SRC, DST)),
             ("encode_packet", lambda: mh.encode_packet(msg, SRC, DST)),
             ("decode_packet", lambda: mh.decode_packet(packet)))
    return f"{name:13} {len(header):4d} octets  " + "  ".join(
        f"{label} {rate(func, seconds):9,.0f}/s" for label, func in rates)


def main() -> None:
    parser = argparse.ArgumentParser(description="Mobility Header codec rates")
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    seconds = parser.parse_args().seconds
    print(report("PBU", typical_pbu(), seconds))
    print(report("PBA+3 P-MAAR", pba_with_previous_maars(), seconds))


if __name__ == "__main__":
    main()
