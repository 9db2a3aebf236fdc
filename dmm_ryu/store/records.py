"""Codecs between the nodes' state and the bytes of store records.

Every record is one JSON object ``{"v": 1, "kind": ..., ...}``: readable
with ``sqlite3`` and ``jq`` when an operator inspects a state file, and
versioned so that a later layout can still read (or clearly refuse) an
old file.  Decoding distrusts the bytes: anything malformed, of another
kind or of an unknown version raises :class:`RecordError`, which names the
record's key.

The BCE codecs are derived from the classes' type annotations, one field
encoder per type (str, int, float, bool, None, IPv6Address, IPv6Network,
Optional, Dict, FrozenSet, List, the core's dataclasses, the PBU, the BRI), so a
field added to :class:`~dmm_ryu.core.routes.MaarBce` or :class:`~dmm_ryu.core.store.CmdBce`
with one of those types needs no change here.  Messages are kept as Mobility Headers.

Time: every absolute time in a record is UNIX wall-clock seconds, never a
monotonic reading (monotonic clocks restart with the host, and the record
must outlive the process).  The core's ``now`` is already ``time.time()``
(``CmdBce.registered``); timer deadlines are stored as ``deadline_unix``
(:data:`DEADLINES`), and a runtime on a monotonic timer clock
converts at load: ``at = monotonic() + (deadline_unix - time.time())``.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import math
import typing
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from socket import AF_INET6, inet_ntop, inet_pton
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, Tuple, Union

import orjson

from dmm_ryu.core.actions import InstallLocalRoute, InstallTunnel
from dmm_ryu.core.routes import MaarBce
from dmm_ryu.core.store import CmdBce
from dmm_ryu.wire.memo import IdentityMemo
from dmm_ryu.wire.mh import (BindingRevocationIndication, MHDecodeError, ProxyBindingUpdate,
                             decode_mh, encode_mh)

VERSION = 1

#: Records are compact JSON, UTF-8, written and parsed by orjson: ten times
#: faster than the standard library's encoder and four times its parser (a
#: record is written after every event of its MN, which made encoding most
#: of what durability cost), and the same bytes for ASCII text.  orjson
#: writes a non-finite float as null and reads an integer beyond 64 bits as
#: a float, so :func:`storable` refuses both before they are written.
dumps: Callable[[Any], bytes] = orjson.dumps
loads: Callable[[Any], Any] = orjson.loads  # a parse error is a ValueError

_INT_RANGE = range(-(1 << 63), 1 << 64)

#: ``::``, packed once: what a stored message's checksum is computed over (never sent).
_MH_SRC = _MH_DST = bytes(16)


def storable(value: Any) -> Any:
    """``value``, once every number in it is known to come back exactly
    from a record (floats finite, integers within 64 bits); ValueError if not."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be stored (not a finite number)")
    elif isinstance(value, int):
        if value not in _INT_RANGE:
            raise ValueError(f"{value!r} cannot be stored (beyond 64 bits)")
    elif isinstance(value, (list, tuple)):
        for item in value:
            storable(item)
    elif isinstance(value, dict):
        for item in value.values():
            storable(item)
    return value


class RecordError(ValueError):
    """A stored record cannot be decoded (corrupt, other kind, other version)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"record {key!r}: {reason}")
        self.key, self.reason = key, reason


@dataclass(frozen=True)
class PoolAllocation:
    """One prefix a MAAR handed out of its pool, and to whom."""

    prefix: IPv6Network
    mn_id: str


Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]
FieldCodec = Tuple[Encode, Decode]


def finite(value: float) -> float:
    """``value``, once it is known to be finite: orjson would write an
    infinity or NaN as null.  (An integer beyond 64 bits orjson refuses
    itself, with a TypeError, so integers need no check of their own.)"""
    if value - value != 0:  # inf - inf and nan - nan are nan
        raise ValueError(f"{value!r} cannot be stored (not a finite number)")
    return value


def _same(value: Any) -> Any:
    return value


def _scalar(kind: type) -> FieldCodec:
    encode = finite if kind is float else _same

    def decode(value: Any) -> Any:
        if kind is float and type(value) is int:
            return float(value)
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, found {type(value).__name__}")
        return value
    return encode, decode


def address_text(address: IPv6Address) -> str:
    """RFC 5952 text, five times faster than ``str()`` (restart loads 10,000s;
    every record written names several)."""
    return inet_ntop(AF_INET6, int(address).to_bytes(16, "big"))


def network_text(network: IPv6Network) -> str:
    return f"{address_text(network.network_address)}/{network.prefixlen}"


def _address_int(text: Any) -> int:
    if type(text) is not str:
        raise TypeError(f"expected an IPv6 address, found {type(text).__name__}")
    try:
        return int.from_bytes(inet_pton(AF_INET6, text), "big")
    except OSError:
        raise ValueError(f"{text!r} is not an IPv6 address") from None


@functools.lru_cache(maxsize=1 << 16)
def _address(text: Any) -> IPv6Address:
    """Parsed once per distinct text: a prefix or peer recurs in many records."""
    return IPv6Address(_address_int(text))


@functools.lru_cache(maxsize=1 << 16)
def _network(text: Any) -> IPv6Network:
    address, slash, length = text.partition("/") if type(text) is str else (text, "", "")
    if not slash or not length.isdigit():
        raise ValueError(f"{text!r} is not an IPv6 prefix")
    return IPv6Network((_address_int(address), int(length)))


def _mh_codec(cls: type, name: str) -> FieldCodec:
    """A message of ``cls`` (a PBU, a BRI: ``name``) as its Mobility Header, in base64."""
    def decode(value: Any) -> Any:
        try:
            message = decode_mh(base64.b64decode(_scalar(str)[1](value), validate=True),
                                _MH_SRC, _MH_DST)
        except (binascii.Error, MHDecodeError) as exc:
            raise ValueError(f"stored {name}: {exc}") from None
        if not isinstance(message, cls):
            raise ValueError(f"stored message is not a {name}")
        return message
    return IdentityMemo(lambda m: base64.b64encode(encode_mh(m, _MH_SRC, _MH_DST)).decode()), \
        decode


_LEAVES: Dict[Any, FieldCodec] = {
    str: _scalar(str), int: _scalar(int), float: _scalar(float), bool: _scalar(bool),
    IPv6Address: (IdentityMemo(address_text), _address),
    IPv6Network: (IdentityMemo(network_text), _network),
    ProxyBindingUpdate: _mh_codec(ProxyBindingUpdate, "PBU"),
    BindingRevocationIndication: _mh_codec(BindingRevocationIndication, "BRI"),
}


def _sequence(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _optional(inner: FieldCodec) -> FieldCodec:
    enc, dec = inner
    return (lambda v: None if v is None else enc(v)), (lambda v: None if v is None else dec(v))


def _mapping(keys: FieldCodec, values: FieldCodec) -> FieldCodec:
    """A dict as a list of pairs: keys need not be text, order is kept."""
    def decode(value: Any) -> dict:
        pairs = [_sequence(pair) for pair in _sequence(value)]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected [key, value] pairs")
        return {keys[1](k): values[1](v) for k, v in pairs}
    return (lambda d: [[keys[0](k), values[0](v)] for k, v in d.items()]), decode


def _collection(kind: type, items: FieldCodec) -> FieldCodec:
    """Sets are written sorted (by their JSON, which orjson writes ten times
    faster than ``repr``), so equal state always gives equal bytes; a
    frozenset (of the core's frozen values) is encoded once per object, as
    a JSON fragment: one untracked object per memo entry rather than a
    list and a dict per item for the garbage collector to rescan, and
    orjson copies its bytes instead of walking it again."""
    enc, dec = items
    if kind is frozenset:
        encode: Encode = IdentityMemo(
            lambda c: orjson.Fragment(b"[%s]" % b",".join(sorted([dumps(enc(i)) for i in c]))))
    else:
        encode = lambda c: [enc(i) for i in c]  # noqa: E731
    return encode, (lambda v: kind(dec(i) for i in _sequence(v)))


def _union(members: Tuple[type, ...], where: str) -> FieldCodec:
    """Records of several dataclasses, told apart by a ``type`` member."""
    if not all(dataclasses.is_dataclass(cls) for cls in members):
        raise TypeError(f"{where}: no record codec for a union of {members!r}")
    codecs = {cls: object_codec(cls, tag=cls.__name__) for cls in members}
    decoders = {cls.__name__: dec for cls, (_, dec) in codecs.items()}

    def encode(obj: Any) -> dict:
        return codecs[type(obj)][0](obj)

    def decode(value: Any) -> Any:
        name = value.get("type") if isinstance(value, dict) else None
        if name not in decoders:
            raise ValueError(f"type {name!r} is not one of {sorted(decoders)}")
        return decoders[name]({k: v for k, v in value.items() if k != "type"})
    return encode, decode


def field_codec(hint: Any, where: str) -> FieldCodec:
    """The (encode, decode) pair for values of type ``hint``.  Raises
    TypeError for a type without one, naming the field (``where``)."""
    if hint in _LEAVES:
        return _LEAVES[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Union:
        others = tuple(a for a in args if a is not type(None))
        if len(others) < len(args):
            return _optional(field_codec(Union[others], where))
        return _union(others, where)
    if origin is dict and len(args) == 2:
        return _mapping(field_codec(args[0], where), field_codec(args[1], where))
    if origin in (frozenset, list) and len(args) == 1:
        return _collection(origin, field_codec(args[0], where))
    if dataclasses.is_dataclass(hint):
        return object_codec(hint)
    raise TypeError(f"{where}: no record codec for type {hint!r}")


def object_codec(cls: type, overrides: Mapping[str, Any] = {},
                 codecs: Mapping[str, FieldCodec] = {}, tag: Optional[str] = None) -> FieldCodec:
    """A dataclass as a JSON object, one member per field, typed by its
    annotation unless ``overrides`` names another, or coded by the codec
    ``codecs`` gives for it (one written differently); ``tag`` (a union
    member) is written first, as ``"type"``.  Decoding ignores members
    it does not know (a field since removed) and gives a missing member the
    field's default, or fails."""
    fields = _field_codecs(cls, overrides, codecs)
    optional = {f.name for f in dataclasses.fields(cls)
                if f.default is not dataclasses.MISSING
                or f.default_factory is not dataclasses.MISSING}
    encode = _compiled_encoder(cls, fields, tag)

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"{cls.__name__}: expected an object, found {type(value).__name__}")
        kwargs = {}
        for name, (_, dec) in fields:
            if name in value:
                try:
                    kwargs[name] = dec(value[name])
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{cls.__name__}.{name}: {exc}") from None
            elif name not in optional:
                raise ValueError(f"{cls.__name__}.{name} is missing")
        return cls(**kwargs)
    return encode, decode


def _field_codecs(cls: type, overrides: Mapping[str, Any],
                  codecs: Mapping[str, FieldCodec] = {}) -> list:
    """(name, codec) of each field of ``cls``: the one ``codecs`` gives, or
    one for its annotation unless ``overrides`` names another type."""
    hints = typing.get_type_hints(cls)
    return [(f.name, codecs.get(f.name) or field_codec(overrides.get(f.name, hints[f.name]),
                                                       f"{cls.__name__}.{f.name}"))
            for f in dataclasses.fields(cls)]


def _compiled_encoder(cls: type, fields: list, tag: Optional[str] = None) -> Encode:
    """One function that builds the object of ``cls``'s record in a single
    dict display, compiled from its fields as :mod:`dataclasses` compiles
    ``__init__``: a handover encodes ~7 records whose BCEs and rules are
    new objects, and a loop over per-field codecs made a cold S-MAAR record
    (three rules) cost 22-35 us where this costs 16-18 (issue 13).  Text,
    integer and bool fields are written as they are;
    ``tag`` (a union member) comes first, as ``"type"``."""
    scope: Dict[str, Any] = {}
    items = [] if tag is None else [f'"type": {tag!r}']
    for i, (name, (enc, _)) in enumerate(fields):
        if enc is _same:
            items.append(f"{name!r}: obj.{name}")
        else:
            scope[f"_e{i}"] = enc
            items.append(f"{name!r}: _e{i}(obj.{name})")
    source = f"def encode(obj):\n    return {{{', '.join(items)}}}\n"
    exec(compile(source, f"<record encoder of {cls.__name__}>", "exec"), scope)  # noqa: S102
    return scope["encode"]


#: ``MaarBce.installed`` is annotated as a bare FrozenSet: what it holds.
INSTALLED = FrozenSet[Union[InstallLocalRoute, InstallTunnel]]


def _scalars(value: Any) -> tuple:
    """A timer key: a tuple of JSON scalars, like ``("expire", mn_id)``."""
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(p, (str, int, float, bool, type(None))) for p in value):
        raise TypeError(f"timer key {value!r} is not a tuple of JSON scalars")
    return tuple(value)


def _member(name: str, inner: FieldCodec) -> FieldCodec:
    """A value kept as the one member ``name`` of the record."""
    enc, dec = inner

    def decode(body: dict) -> Any:
        try:
            return dec(body.get(name))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from None
    return (lambda v: {name: enc(v)}), decode


def _small_dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _with_deadline(inner: FieldCodec) -> FieldCodec:
    """The CMD's BCE plus its derived expiry, for readers that re-arm timers
    or show it; decoding ignores it (``registered`` is the truth)."""
    enc, dec = inner
    return (lambda bce: {**enc(bce), "deadline_unix": bce.registered + bce.lifetime}), dec


class RecordKind:
    """One kind of record: ``encode(obj) -> bytes``, ``decode(key, bytes) -> obj``."""

    def __init__(self, name: str, codec: FieldCodec) -> None:
        self.name = name
        self._encode, self._decode = codec

    def encode(self, obj: Any) -> bytes:
        body = {"v": VERSION, "kind": self.name, **self._encode(obj)}
        return dumps(body)

    def decode(self, key: str, value: bytes) -> Any:
        """The object in ``value``; RecordError naming ``key`` if it is not one."""
        try:
            return self._decode(self._body(key, value))
        except RecordError:
            raise
        except (TypeError, ValueError) as exc:
            raise RecordError(key, str(exc)) from None

    def _body(self, key: str, value: bytes) -> dict:
        try:
            data = loads(value)
        except (TypeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise RecordError(key, f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RecordError(key, f"not a JSON object but {type(data).__name__}")
        if data.get("v") != VERSION:
            raise RecordError(key, f"version {data.get('v')!r}, this code reads {VERSION}")
        if data.get("kind") != self.name:
            raise RecordError(key, f"a {data.get('kind')!r} record, not {self.name!r}")
        return data


#: The CMD's BCE for one MN.
CMD_BCE = RecordKind("cmd_bce", _with_deadline(object_codec(CmdBce)))
#: A MAAR's BCE (serving, anchoring or temporal) for one MN.
MAAR_BCE = RecordKind("maar_bce", object_codec(MaarBce, {"installed": INSTALLED}))
#: One prefix of a MAAR's pool and the MN holding it.
POOL_ALLOCATION = RecordKind("pool", object_codec(PoolAllocation))
#: Timer deadlines (UNIX seconds) by timer key.
DEADLINES = RecordKind("deadlines", _member("deadline_unix", _mapping(
    (lambda k: storable(list(_scalars(k))), _scalars), _LEAVES[float])))
#: A small dict of JSON values (counters, sequence numbers, flags).
SMALL_DICT = RecordKind("dict", _member("data", (lambda d: storable(dict(d)), _small_dict)))
