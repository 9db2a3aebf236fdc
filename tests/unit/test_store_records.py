"""Record codecs: every kind round-trips exactly, and anything else stored
under a key decodes to one clear RecordError naming that key."""
from __future__ import annotations

import base64
import dataclasses
import json
import typing
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmm_ryu.core.actions import ANCHOR, SERVING, InstallLocalRoute, InstallTunnel
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.store import CmdBce
from dmm_ryu.store.records import (CMD_BCE, DEADLINES, MAAR_BCE, POOL_ALLOCATION, SMALL_DICT,
                                   PoolAllocation, RecordError, RecordKind, object_codec)
from dmm_ryu.wire.mh import MobilityOptions, ProxyBindingAck, ProxyBindingUpdate, encode_mh

from .test_mh_samples import addresses, pbus, prefixes

texts = st.text(max_size=24)
macs = st.sampled_from(["", "02:00:00:00:00:01", "0a:1b:2c:3d:4e:5f"])
ports = st.integers(0, 2**32 - 1)
ints64 = st.integers(-2**63, 2**64 - 1)  # what a record holds exactly
installs = st.builds(InstallLocalRoute, texts, prefixes, macs, ports) | st.builds(
    InstallTunnel, texts, prefixes, addresses, st.sampled_from([ANCHOR, SERVING]), macs, ports)

#: Strategies by annotation; a field of a type missing here fails loudly below.
LEAVES = {
    str: texts, int: ints64, bool: st.booleans(),
    float: st.floats(allow_nan=False, allow_infinity=False), type(None): st.none(),
    IPv6Address: addresses, IPv6Network: prefixes, ProxyBindingUpdate: pbus,
}


def strategy_for(hint):
    """Values of an annotated type, mirroring what the codecs accept."""
    if hint in LEAVES:
        return LEAVES[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        return st.one_of([strategy_for(a) for a in args])
    if origin is dict:
        return st.dictionaries(strategy_for(args[0]), strategy_for(args[1]), max_size=4)
    if origin is frozenset:
        return st.frozensets(strategy_for(args[0]), max_size=4)
    raise AssertionError(f"no test strategy for {hint!r}: add one")


def instances(cls, overrides=None):
    """Instances of a dataclass with every field drawn from its annotation."""
    hints = typing.get_type_hints(cls)
    overrides = overrides or {}
    return st.builds(cls, **{f.name: overrides[f.name] if f.name in overrides
                             else strategy_for(hints[f.name])
                             for f in dataclasses.fields(cls)})


maar_bces = instances(MaarBce, {"installed": st.frozensets(installs, max_size=4)})
cmd_bces = instances(CmdBce)


def assert_same_slots(decoded, original):
    """Equal and of the same type in every slot: IPv6Network, not its text."""
    assert type(decoded) is type(original)
    for name in original.__slots__:
        mine, theirs = getattr(decoded, name), getattr(original, name)
        assert (mine, type(mine)) == (theirs, type(theirs)), name


@settings(max_examples=50)
@given(maar_bces)
def test_maar_bce_round_trips_in_every_slot(bce):
    stored = MAAR_BCE.encode(bce)
    assert_same_slots(MAAR_BCE.decode("bce/x", stored), bce)
    assert MAAR_BCE.encode(MAAR_BCE.decode("bce/x", stored)) == stored


def test_maar_bce_codec_writes_every_slot_and_nothing_else():
    body = json.loads(MAAR_BCE.encode(MaarBce.temporal("mn1", None)))
    assert set(body) - {"v", "kind"} == set(MaarBce.__slots__)
    assert {f.name for f in dataclasses.fields(MaarBce)} == set(MaarBce.__slots__)


@given(cmd_bces)
def test_cmd_bce_round_trips_and_carries_its_deadline(bce):
    stored = CMD_BCE.encode(bce)
    assert_same_slots(CMD_BCE.decode("bce/x", stored), bce)
    assert json.loads(stored)["deadline_unix"] == bce.registered + bce.lifetime


@given(st.builds(PoolAllocation, prefixes, texts))
def test_pool_allocation_round_trips(allocation):
    stored = POOL_ALLOCATION.encode(allocation)
    assert POOL_ALLOCATION.decode("pool/x", stored) == allocation


timer_keys = st.tuples(st.sampled_from(["expire", "retx", "locate"]), texts) | st.tuples(
    texts, ints64, st.booleans())


@settings(max_examples=50)
@given(st.dictionaries(timer_keys, st.floats(allow_nan=False, allow_infinity=False), max_size=6))
def test_deadlines_round_trip_with_tuple_keys(deadlines):
    assert DEADLINES.decode("timers/x", DEADLINES.encode(deadlines)) == deadlines


json_values = st.recursive(
    st.none() | st.booleans() | ints64 | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8)


@pytest.mark.parametrize("number", [float("inf"), -float("inf"), float("nan")])
def test_a_non_finite_float_is_refused_not_written_as_null(number):
    """JSON has no such number (orjson would write null): refused at encode."""
    for kind, value in ((SMALL_DICT, {"n": [1, {"x": number}]}), (DEADLINES, {("retx", "m"): number})):
        with pytest.raises(ValueError, match="not a finite number"):
            kind.encode(value)


@pytest.mark.parametrize("number", [2**64, -2**63 - 1, 2**200])
def test_an_integer_beyond_64_bits_is_refused_not_read_back_as_a_float(number):
    for kind, value in ((SMALL_DICT, {"n": [number]}), (DEADLINES, {("retx", number): 1.0})):
        with pytest.raises(ValueError, match="beyond 64 bits"):
            kind.encode(value)


def test_the_64_bit_extremes_come_back_exactly():
    data = {"low": -2**63, "high": 2**64 - 1}
    assert SMALL_DICT.decode("meta/x", SMALL_DICT.encode(data)) == data


@settings(max_examples=50)
@given(st.dictionaries(texts, json_values, max_size=6))
def test_small_dict_round_trips(data):
    assert SMALL_DICT.decode("meta/x", SMALL_DICT.encode(data)) == data


@dataclass
class Grown:
    """What the lead adds to a BCE: simple fields of every supported type."""

    name: str
    count: int
    at: float
    on: bool
    peer: Optional[IPv6Address]
    prefix: IPv6Network
    note: Optional[str] = None


@settings(max_examples=50)
@given(instances(Grown))
def test_new_simple_fields_need_no_codec_change(obj):
    kind = RecordKind("grown", object_codec(Grown))
    assert kind.decode("g", kind.encode(obj)) == obj


def test_a_missing_field_with_a_default_takes_it():
    kind = RecordKind("grown", object_codec(Grown))
    body = json.loads(kind.encode(Grown("a", 1, 2.0, True, None, IPv6Network("2001:db8::/64"))))
    del body["note"]
    assert kind.decode("g", json.dumps(body).encode()).note is None


def test_a_field_of_an_unsupported_type_fails_when_the_codec_is_built():
    @dataclass
    class Odd:
        blob: bytes

    @dataclass
    class Either:
        value: typing.Union[int, str]

    with pytest.raises(TypeError, match="Odd.blob"):
        object_codec(Odd)
    with pytest.raises(TypeError, match="Either.value"):
        object_codec(Either)


SAMPLE = MaarBce("mn1", "02:00:00:00:00:01", 3, IPv6Network("2001:db8:1::/64"), None,
                 {IPv6Network("2001:db8:2::/64"): IPv6Address("2001:db8::2")}, True, False,
                 7, 9, 3600, ProxyBindingUpdate(7, 3600, MobilityOptions(mn_id="mn1")),
                 frozenset({InstallLocalRoute("mn1", IPv6Network("2001:db8:1::/64"),
                                              "02:00:00:00:00:01", 3)}))
GOOD = json.loads(MAAR_BCE.encode(SAMPLE))
PBA = ProxyBindingAck(0, 7, 3600, MobilityOptions(mn_id="mn1"))


def edited(**members):
    return json.dumps({**GOOD, **members}).encode()


def without(member):
    return json.dumps({k: v for k, v in GOOD.items() if k != member}).encode()


def pba_b64():
    return base64.b64encode(encode_mh(PBA, "::", "::")).decode()


CORRUPT = {
    "not json": (b"\x00\xff{", "not JSON"),
    "json list": (b"[1, 2]", "not a JSON object"),
    "old version": (edited(v=0), "version 0"),
    "no version": (without("v"), "version None"),
    "other kind": (edited(kind="cmd_bce"), "'cmd_bce' record"),
    "port as text": (edited(port="3"), "MaarBce.port: expected int"),
    "final as 1": (edited(final=1), "MaarBce.final: expected bool"),
    "bad prefix": (edited(local="2001:db8::/129"), "MaarBce.local"),
    "prefix without length": (edited(local="2001:db8::"), "MaarBce.local: .* not an IPv6 prefix"),
    "prefix with host bits": (edited(local="2001:db8::1/64"), "MaarBce.local: .*host bits"),
    "serving not an address": (edited(serving="2001:db8::zz"), "MaarBce.serving: .*not an IPv6"),
    "serving as a number": (edited(serving=5), "MaarBce.serving: expected an IPv6 address"),
    "missing field": (without("seq"), "MaarBce.seq is missing"),
    "p_maars not pairs": (edited(p_maars=[["2001:db8::/64"]]), "MaarBce.p_maars"),
    "pending not base64": (edited(pending="!!"), "MaarBce.pending: stored PBU"),
    "pending corrupt": (edited(pending="AAAA"), "MaarBce.pending: stored PBU"),
    "pending is a PBA": (edited(pending=pba_b64()), "not a PBU"),
    "unknown action": (edited(installed=[{"type": "Evil"}]), "MaarBce.installed"),
    "action missing peer": (edited(installed=[{"type": "InstallTunnel", "mn_id": "m"}]),
                            "InstallTunnel.prefix is missing"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_or_old_records_raise_record_error_naming_the_key(case):
    value, reason = CORRUPT[case]
    with pytest.raises(RecordError, match=reason) as caught:
        MAAR_BCE.decode("bce/mn1", value)
    assert caught.value.key == "bce/mn1" and "'bce/mn1'" in str(caught.value)


@settings(max_examples=150)
@given(st.integers(0, len(MAAR_BCE.encode(SAMPLE)) - 1), st.integers(0, 255))
def test_any_one_byte_corruption_decodes_or_raises_record_error(index, byte):
    stored = bytearray(MAAR_BCE.encode(SAMPLE))
    stored[index] = byte
    try:
        assert isinstance(MAAR_BCE.decode("bce/mn1", bytes(stored)), MaarBce)
    except RecordError as exc:
        assert exc.key == "bce/mn1"


@given(st.binary(max_size=64))
def test_arbitrary_bytes_raise_only_record_error(value):
    for kind in (CMD_BCE, MAAR_BCE, POOL_ALLOCATION, DEADLINES, SMALL_DICT):
        with pytest.raises(RecordError):
            kind.decode("k", value)


def test_a_timer_key_must_be_a_tuple_of_scalars():
    with pytest.raises(TypeError, match="not a tuple"):
        DEADLINES.encode({"expire": 1.0})
    with pytest.raises(RecordError, match="deadline_unix"):
        DEADLINES.decode("timers/x", b'{"v":1,"kind":"deadlines","deadline_unix":[[[{}],1.0]]}')


class IteratesAs(frozenset):
    """A frozenset that iterates in a given order, as hash seeds may."""

    def __new__(cls, items):
        items = list(items)
        made = super().__new__(cls, items)
        made.order = items
        return made

    def __iter__(self):
        return iter(self.order)


def test_installed_sets_encode_in_one_order():
    """Equal state gives equal bytes, whatever the set's iteration order."""
    tunnels = [InstallTunnel("mn1", IPv6Network(f"2001:db8:{i}::/64"), IPv6Address("2001:db8::9"),
                             ANCHOR) for i in range(4)]
    one = dataclasses.replace(SAMPLE, installed=IteratesAs(tunnels))
    other = dataclasses.replace(SAMPLE, installed=IteratesAs(reversed(tunnels)))
    assert MAAR_BCE.encode(one) == MAAR_BCE.encode(other)
    assert MAAR_BCE.decode("bce/mn1", MAAR_BCE.encode(one)).installed == frozenset(tunnels)


#: A version-1 MAAR BCE record, byte for byte, as files on disk hold it.
V1_MAAR_BCE = (
    b'{"v":1,"kind":"maar_bce","mn_id":"mn1","mac":"02:00:00:00:00:01","port":3,'
    b'"local":"2001:db8:1::/64","serving":null,"p_maars":[["2001:db8:2::/64","2001:db8::2"]],'
    b'"final":true,"leaving":false,"seq":7,"ts":9,"lifetime":3600,'
    b'"pending":"OwIFAIEsAAfCAAOECAQBbW4xAQQAAAAA","installed":['
    b'{"type":"InstallLocalRoute","mn_id":"mn1","prefix":"2001:db8:1::/64",'
    b'"mac":"02:00:00:00:00:01","port":3},'
    b'{"type":"InstallTunnel","mn_id":"mn1","prefix":"2001:db8:2::/64","peer":"2001:db8::2",'
    b'"role":"serving","mac":"02:00:00:00:00:01","port":3}]}')


def test_the_version_1_layout_is_written_byte_for_byte():
    """The compiled encoders (issue 13) write exactly the bytes of version 1:
    member order, the union's leading ``type``, rules sorted by their JSON."""
    bce = MaarBce("mn1", "02:00:00:00:00:01", 3, IPv6Network("2001:db8:1::/64"), None,
                  {IPv6Network("2001:db8:2::/64"): IPv6Address("2001:db8::2")}, True, False,
                  7, 9, 3600, ProxyBindingUpdate(7, 3600, MobilityOptions(mn_id="mn1")),
                  (InstallTunnel("mn1", IPv6Network("2001:db8:2::/64"), IPv6Address("2001:db8::2"),
                                 SERVING, "02:00:00:00:00:01", 3),
                   InstallLocalRoute("mn1", IPv6Network("2001:db8:1::/64"),
                                     "02:00:00:00:00:01", 3)))
    assert MAAR_BCE.encode(bce) == V1_MAAR_BCE
    assert MAAR_BCE.encode(MAAR_BCE.decode("bce/mn1", V1_MAAR_BCE)) == V1_MAAR_BCE
