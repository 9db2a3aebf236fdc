"""Fuzz the decoders: whatever the bytes, only MHDecodeError may escape.

Volume comes from a seeded ``random.Random`` loop rather than hypothesis:
120,000 inputs in a few seconds, reproducible from the seed.  Half of the
mutated headers get a valid checksum again, or nearly every input would
stop at the checksum and the option parser would go untested.
"""
from __future__ import annotations

import random
from collections import Counter

from dmm_ryu.wire.mh import MHDecodeError, decode_mh, decode_packet, encode_mh, encode_packet

from .test_mh_samples import DST, SAMPLES, SRC, reseal

SEED = 20171231
ROUNDS = 40_000  # three inputs per round


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        pos = rng.randrange(len(out) + 1)
        if choice < 0.6 and out:
            out[pos % len(out)] = rng.randrange(256)
        elif choice < 0.8:
            out.insert(pos, rng.randrange(256))
        elif out:
            del out[pos % len(out):pos % len(out) + rng.randint(1, 8)]
    return bytes(out)


def _sealed_header(rng: random.Random, data: bytes) -> bytes:
    """Keep the MH self-consistent so the message and option parsers run."""
    if len(data) < 8 or rng.random() < 0.5:
        return data
    data = data + bytes(-len(data) % 8)
    return reseal(data[:1] + bytes(((len(data) // 8 - 1) & 0xFF,)) + data[2:])


def _random_bytes(rng: random.Random) -> bytes:
    """Random bytes; half of them behind a plausible PBU/PBA header start."""
    noise = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    return noise if rng.random() < 0.5 else bytes((59, 0, rng.choice((5, 6)), 0)) + noise


def _outcome(decode, data: bytes) -> str:
    try:
        decode(data)
    except MHDecodeError as error:
        return error.reason.value
    return "decoded"


def test_only_mh_decode_error_escapes():
    rng = random.Random(SEED)
    headers = [encode_mh(msg, SRC, DST) for msg in SAMPLES]
    packets = [encode_packet(msg, SRC, DST) for msg in SAMPLES]
    decode = lambda data: decode_mh(data, SRC, DST)  # noqa: E731
    outcomes = Counter()
    for _ in range(ROUNDS):
        mutant = _sealed_header(rng, _mutate(rng, rng.choice(headers)))
        outcomes[_outcome(decode, mutant)] += 1
        outcomes[_outcome(decode, _sealed_header(rng, _random_bytes(rng)))] += 1
        outcomes[_outcome(decode_packet, _mutate(rng, rng.choice(packets)))] += 1
    assert sum(outcomes.values()) == 3 * ROUNDS
    # The inputs reached deep into the parser, not just the first check.
    assert {"decoded", "bad_checksum", "option_overrun", "bad_option_length",
            "invalid_field", "unknown_mh_type"} <= set(outcomes), outcomes
