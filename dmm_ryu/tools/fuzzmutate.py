"""How the fuzzer turns a valid :class:`~dmm_ryu.tools.fuzzseeds.Seed` into
an attack, as a node or MN on the transport or an access link could send.

* ``semantic``: decode the PBU/PBA/BRI/BRA, lie in its fields (sequence,
  lifetime, status, trigger, flags, MN-ID, prefixes of other pools or of any length,
  timestamps at the ends of the range, Serving/Previous MAAR options) and
  re-encode it with a valid checksum, so the lie reaches the core.
* ``forged``: another node's or MN's source MAC or address, another
  datapath or ingress port.
* ``length``: a lie in the IPv6 Payload Length, the MH Header Len, one
  mobility option's or ND option's length (checksum fixed or not).
* ``bytes``: bit flips, overwritten, inserted and removed octets.
* ``noise``: random octets, behind a valid Ethernet/IPv6 start or not.
"""
from __future__ import annotations

import dataclasses
import functools
import random
from ipaddress import IPv6Address, IPv6Network
from typing import Callable, List, NamedTuple, Sequence

from dmm_ryu.runtime.frames import is_mobility_header
from dmm_ryu.tools.fuzzseeds import MN_MACS, Seed
from dmm_ryu.wire import inet
from dmm_ryu.wire.constants import MH_PROTO
from dmm_ryu.wire.mh import (BindingRevocationAck, BindingRevocationIndication, ProxyBindingAck,
                             ProxyBindingUpdate, decode_packet, encode_packet)
from dmm_ryu.wire.mh.errors import MHDecodeError
from dmm_ryu.wire.mh.model import PreviousMaar

MH_AT = 54
OPTIONS_AT = MH_AT + 12
ND_OPTIONS_AT = {133: MH_AT + 8, 135: MH_AT + 24, 136: MH_AT + 24}
EDGE_INTS = (0, 1, 2, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF)
TIMESTAMPS = (None, 0, 1, 2 ** 63, 2 ** 64 - 1)


class Target(NamedTuple):
    """What the fuzzer may name in a lie: the domain's nodes and ports."""

    macs: Sequence[str]
    addresses: Sequence[IPv6Address]
    pools: Sequence[IPv6Network]
    dpids: Sequence[int]
    ports: Sequence[int]
    mn_ids: Sequence[str]


def target_of(dom) -> Target:
    """Every node's MAC and address, the MNs', the router's and broadcast,
    the pools, real and unknown datapaths, and ports of every role."""
    nodes = list(dom.dmm.directory)
    macs = [n.mac for n in nodes] + list(MN_MACS) + ["0e:00:00:00:ff:fe", "ff:ff:ff:ff:ff:ff"]
    return Target(macs, [n.address for n in nodes], [m.pool for m in dom.dmm.domain.maars.values()],
                  sorted(dom.wires) + [0, 99], [0, 1, 2, 3, 4, 0xFFFFFFFD],
                  [dom.dmm.domain.mn_id_for(m) or m for m in MN_MACS])


def _prefix(rng: random.Random, target: Target) -> IPv6Network:
    """Mostly a prefix of some MAAR's pool (often not the right one, often
    not a /64), else any prefix at all."""
    if rng.random() < 0.7:
        pool = rng.choice(target.pools)
        length = rng.choice((64, 64, 48, 56, 63, 65, 128, 0, rng.randrange(129)))
        return _network(int(pool.network_address) | rng.randrange(2 ** 16) << 64, length)
    return _network(rng.getrandbits(128), rng.randrange(129))


def _network(address: int, length: int) -> IPv6Network:
    return IPv6Network((address >> (128 - length) << (128 - length) if length else 0, length))


def _lie_options(rng: random.Random, opts, target: Target):
    """``opts`` with one to three options replaced by lies."""
    choices = {
        "mn_id": lambda: rng.choice([*target.mn_ids, None, "", "x" * 200, "mn@other"]),
        "hnps": lambda: tuple(_prefix(rng, target) for _ in range(rng.choice((0, 1, 1, 2, 5)))),
        "timestamp": lambda: rng.choice(TIMESTAMPS + (max(0, (opts.timestamp or 0)
                                                           + rng.randrange(-9, 9)),)),
        "serving_maar": lambda: rng.choice([*target.addresses, None, IPv6Address("::")]),
        "previous_maars": lambda: tuple(PreviousMaar(rng.choice(target.addresses),
                                                     _prefix(rng, target))
                                        for _ in range(rng.choice((0, 1, 2)))),
        "anchored_prefixes": lambda: (_prefix(rng, target),),
        "local_prefixes": lambda: (_prefix(rng, target),),
        "handoff": lambda: rng.choice((None, 0, 1, 2, 3, 4, 5, 255)),
        "access_tech": lambda: rng.choice((None, 0, 1, 255)),
    }
    changes = {name: make() for name, make in rng.sample(list(choices.items()), rng.randint(1, 3))}
    return dataclasses.replace(opts, **changes)


def semantic(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """A decodable PBU/PBA/BRI/BRA whose fields lie (octet mutations if the seed
    does not decode or the lie does not encode)."""
    decoded = _decoded(seed.frame)
    if decoded is None:
        return bytes_(rng, seed, target)
    src, dst, msg = decoded
    fields = {"options": _lie_options(rng, msg.options, target)}
    if rng.random() < 0.5:
        near = (msg.sequence + rng.randrange(-3, 4)) % 65536
        fields["sequence"] = rng.choice(EDGE_INTS + (near,))
    if hasattr(msg, "lifetime") and rng.random() < 0.4:  # a PBU or PBA
        fields["lifetime"] = rng.choice((0, 4, 40, 262140, rng.randrange(0, 262141, 4)))
    if hasattr(msg, "status") and rng.random() < 0.4:  # a PBA or BRA
        fields["status"] = rng.choice((0, 1, 2, 6, 128, 130, 155, 157, 174, rng.randrange(256)))
    if hasattr(msg, "trigger") and rng.random() < 0.4:  # a BRI
        fields["trigger"] = rng.randrange(256)
    msg = dataclasses.replace(msg, **fields)
    if rng.random() < 0.1:
        msg = _flip_kind(msg)
    try:
        packet = encode_packet(msg, src, dst)
    except ValueError:
        return bytes_(rng, seed, target)
    return seed._replace(frame=seed.frame[:14] + packet)


@functools.lru_cache(maxsize=4096)
def _decoded(frame: bytes):
    """The seed's PBU/PBA (most semantic lies start from a corpus frame)."""
    try:
        return decode_packet(frame[14:])
    except MHDecodeError:
        return None


def _flip_kind(msg):
    """The message answering ``msg``, or answered by it, with its fields."""
    if isinstance(msg, ProxyBindingUpdate):
        return ProxyBindingAck(0, msg.sequence, msg.lifetime, msg.options)
    if isinstance(msg, ProxyBindingAck):
        return ProxyBindingUpdate(msg.sequence, msg.lifetime, msg.options)
    if isinstance(msg, BindingRevocationIndication):
        return BindingRevocationAck(0, msg.sequence, msg.options)
    return BindingRevocationIndication(4, msg.sequence, msg.options)


def forged(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """Another sender, switch or port; the MH checksum kept valid."""
    frame = bytearray(seed.frame)
    what = rng.randrange(5)
    if what == 0:
        frame[6:12] = inet.mac_bytes(rng.choice(target.macs))
    elif what == 1 and len(frame) >= MH_AT:
        frame[22:38] = rng.choice(target.addresses).packed
    elif what == 2 and len(frame) >= MH_AT:
        frame[38:54] = rng.choice(target.addresses).packed
    elif what == 3:
        return seed._replace(dpid=rng.choice(target.dpids))
    else:
        return seed._replace(port=rng.choice(target.ports))
    return seed._replace(frame=fix_checksum(bytes(frame)))


def fix_checksum(frame: bytes) -> bytes:
    """The frame with its Mobility Header checksum recomputed (if MH)."""
    if not is_mobility_header(frame) or len(frame) < MH_AT + 6:
        return frame
    mh = bytearray(frame[MH_AT:])
    mh[4:6] = b"\0\0"
    value = inet.checksum(frame[22:38], frame[38:54], MH_PROTO, bytes(mh))
    return frame[:MH_AT + 4] + value.to_bytes(2, "big") + frame[MH_AT + 6:]


def _option_offsets(frame: bytes, start: int) -> List[int]:
    """Where each option's length octet sits (Pad1 has none)."""
    found, at = [], start
    while at + 1 < len(frame):
        if frame[at] == 0:
            at += 1
            continue
        found.append(at + 1)
        at += 2 + frame[at + 1]
    return found


def length(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """A lie in one length field; for MH, mostly with a valid checksum."""
    frame = bytearray(seed.frame)
    if not frame:
        return seed
    if is_mobility_header(seed.frame):
        spots = [18, 19, MH_AT + 1] + _option_offsets(seed.frame, OPTIONS_AT)
    else:
        nd_at = ND_OPTIONS_AT.get(seed.frame[MH_AT] if len(frame) > MH_AT else -1, len(frame))
        spots = [18, 19] + _option_offsets(seed.frame, nd_at)
    spot = rng.choice([s for s in spots if s < len(frame)] or [len(frame) - 1])
    frame[spot] = rng.choice((0, 1, 2, 255, (frame[spot] + rng.choice((-1, 1, 8))) % 256,
                              rng.randrange(256)))
    out = bytes(frame)
    return seed._replace(frame=fix_checksum(out) if rng.random() < 0.8 else out)


def bytes_(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """Flips, overwrites, inserts and cuts; the checksum fixed half the time."""
    frame = bytearray(seed.frame)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        at = rng.randrange(len(frame) + 1)
        op = rng.randrange(5)
        if op == 0 and at < len(frame):
            frame[at] ^= 1 << rng.randrange(8)
        elif op == 1 and at < len(frame):
            frame[at] = rng.choice(EDGE_INTS[:6])
        elif op == 2:
            frame[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.choice((1, 2, 8))))
        elif op == 3:
            del frame[at:at + rng.choice((1, 2, 8))]
        else:
            del frame[at:]
    out = bytes(frame)
    return seed._replace(frame=fix_checksum(out) if rng.random() < 0.5 else out)


def noise(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """Random octets, half of them behind the seed's Ethernet/IPv6 header."""
    size = rng.choice((0, 1, 13, 54, 55, 66, 80, 200, rng.randrange(1600)))
    tail = bytes(rng.getrandbits(8) for _ in range(size))
    frame = seed.frame[:MH_AT] + tail if rng.random() < 0.5 else tail
    return seed._replace(frame=fix_checksum(frame))


MUTATORS: List[Callable[[random.Random, Seed, Target], Seed]] = [
    semantic, semantic, semantic, forged, forged, length, length, bytes_, bytes_, noise]


def mutate(rng: random.Random, seed: Seed, target: Target) -> Seed:
    """One attack: one or two mutations of ``seed``."""
    for _ in range(rng.choice((1, 1, 1, 2))):
        seed = rng.choice(MUTATORS)(rng, seed, target)
    return seed
