"""Mobility options of the PBU and PBA: wire layout, alignment and parsing.

Every option the draft's signalling uses is described once, in ``_CODECS``,
by a small :class:`_OptionCodec` record; the encoder and the decoder both
walk that table, so a layout is never written twice.

Layouts (Type and Length octets not shown):

* Mobile Node Identifier, RFC 4283: Subtype (1 = NAI), identifier.
* Home Network Prefix, RFC 5213 8.3: Reserved, Prefix Length, Prefix.  8n+4.
* Handoff Indicator, RFC 5213 8.4: Reserved, HI.
* Access Technology Type, RFC 5213 8.5: Reserved, ATT.
* MN Link-layer Identifier, RFC 5213 8.6: Reserved (16), identifier.  2n.
* Link-local Address, RFC 5213 8.7: address.  8n+6.
* Timestamp, RFC 5213 8.8: 48-bit seconds since 1970 and 16-bit fraction
  (not NTP format, whatever older notes say).  8n+2.
* Anchored Prefix (65), RFC 8885 4.3, and Local Prefix (66), RFC 8885 4.4:
  Reserved, Prefix Length, Prefix; Length 18, the HNP option's layout.
* Previous MAAR (67), draft 3.6.1 / RFC 8885 4.5: Reserved, Prefix Length,
  P-MAAR address, HNP; Length 34.
* Serving MAAR (68), draft 3.6.2 / RFC 8885 4.6: S-MAAR address; Length 16.
* DLIF Link-local Address (69), RFC 8885 4.7: address; Length 16.
* DLIF Link-layer Address (70), RFC 8885 4.8: Reserved (16), link-layer
  address, the MN Link-layer Identifier's layout.  The address must not be
  empty, so Length is at least 3.
"""
from __future__ import annotations

import enum
from dataclasses import astuple, dataclass
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from .errors import MHDecodeError, Reason
from .intern import TABLE as _INTERNED
from .model import (
    ANCHORED_PREFIX_OPTION_TYPE,
    DLIF_LINK_LAYER_OPTION_TYPE,
    DLIF_LINK_LOCAL_OPTION_TYPE,
    LOCAL_PREFIX_OPTION_TYPE,
    PREVIOUS_MAAR_OPTION_TYPE,
    SERVING_MAAR_OPTION_TYPE,
    AccessTechnology,
    HandoffIndicator,
    MobilityOptions,
    PreviousMaar,
    UnknownOption,
)


class OptionType(enum.IntEnum):
    """Mobility option types with fixed IANA numbers (RFC 6275, 4283, 5213)."""

    PAD1 = 0
    PADN = 1
    MN_ID = 8
    HOME_NETWORK_PREFIX = 22
    HANDOFF_INDICATOR = 23
    ACCESS_TECH_TYPE = 24
    MN_LINK_LAYER_ID = 25
    LINK_LOCAL_ADDRESS = 26
    TIMESTAMP = 27


MN_ID_SUBTYPE_NAI = 1


@dataclass(frozen=True)
class OptionTypes:
    """Type numbers of the DMM options, which the draft left "to be assigned
    by IANA".

    The defaults are the numbers RFC 8885 obtained.  A deployment that talks
    to an older prototype can pass other numbers to the encoder and decoder.
    """

    previous_maar: int = PREVIOUS_MAAR_OPTION_TYPE
    serving_maar: int = SERVING_MAAR_OPTION_TYPE
    anchored_prefix: int = ANCHORED_PREFIX_OPTION_TYPE
    local_prefix: int = LOCAL_PREFIX_OPTION_TYPE
    dlif_link_local: int = DLIF_LINK_LOCAL_OPTION_TYPE
    dlif_link_layer: int = DLIF_LINK_LAYER_OPTION_TYPE

    def __post_init__(self) -> None:
        chosen = astuple(self)
        if len(set(chosen)) != len(chosen) or not all(1 < t < 256 for t in chosen):
            raise ValueError(f"option types must be distinct octets above PadN: {chosen}")
        if set(chosen) & set(OptionType):
            raise ValueError(f"option types collide with RFC 5213 options: {chosen}")


DEFAULT_OPTION_TYPES = OptionTypes()

_NO_ALIGN = (1, 0)


@dataclass(frozen=True)
class _OptionCodec:
    """How one option kind maps to a :class:`MobilityOptions` field.

    ``size`` is the exact Length, or the minimum Length when ``variable``.
    ``unpack`` returns ``None`` for a variant the codec does not understand,
    which is then reported as an unknown option.
    """

    field: str
    type: Any  # an OptionType, or the name of an OptionTypes attribute
    size: int
    pack: Callable[[Any], bytes]
    unpack: Callable[[bytes], Any]
    align: Tuple[int, int] = _NO_ALIGN
    repeated: bool = False
    variable: bool = False

    def type_number(self, types: OptionTypes) -> int:
        return getattr(types, self.type) if isinstance(self.type, str) else self.type

    def length_ok(self, length: int) -> bool:
        return length >= self.size if self.variable else length == self.size


def _invalid(detail: str) -> MHDecodeError:
    return MHDecodeError(Reason.INVALID_FIELD, detail)


def _prefix_length(octet: int) -> int:
    if octet > 128:
        raise _invalid(f"prefix length {octet} > 128")
    return octet


def _network(packed: bytes, length: int) -> IPv6Network:
    """Build the prefix (the process's canonical object for it, see
    intern.py); host bits a sender left set are masked, not fatal."""
    return _INTERNED.get(("net", length, packed), lambda: IPv6Network(
        (packed, _prefix_length(length)), strict=False))


def address(packed: bytes) -> IPv6Address:
    """The canonical IPv6Address of ``packed`` (a MAAR's: a small set)."""
    return _INTERNED.get(("addr", packed), lambda: IPv6Address(packed))


def _pack_network(prefix: IPv6Network) -> Tuple[int, bytes]:
    """Prefix Length and Prefix octets, registering ``prefix`` as their
    canonical object so this process's decodes return it."""
    packed = prefix.network_address.packed
    _INTERNED.put(("net", prefix.prefixlen, packed), prefix)
    return prefix.prefixlen, packed


def _pack_prefix(prefix: IPv6Network) -> bytes:
    length, packed = _pack_network(prefix)
    return bytes((0, length)) + packed


def _pack_nai(nai: str) -> bytes:
    if not nai:
        raise ValueError("MN-ID must not be empty (RFC 4283)")
    body = bytes((MN_ID_SUBTYPE_NAI,)) + nai.encode("utf-8")
    _INTERNED.put(("nai", body), nai)
    return body


def _pack_timestamp(stamp: int) -> bytes:
    """The Timestamp option's 8 octets, registering ``stamp`` as their
    canonical int: the S-MAAR's, the CMD's and each P-MAAR's BCE keep the
    attachment's timestamp, 32 bytes a copy (issue 17)."""
    body = stamp.to_bytes(8, "big")
    _INTERNED.put(("ts", body), stamp)
    return body


def _unpack_timestamp(body: bytes) -> int:
    return _INTERNED.get(("ts", bytes(body)), lambda: int.from_bytes(body, "big"))


def _unpack_nai(body: bytes) -> Optional[str]:
    """The MN-ID (canonical, see intern.py), None for another subtype."""
    if body[0] != MN_ID_SUBTYPE_NAI:
        return None
    return _INTERNED.get(("nai", bytes(body)), lambda: _decode_nai(body))


def _decode_nai(body: bytes) -> str:
    try:
        return body[1:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"MN-ID is not UTF-8: {exc}") from None


def _unpack_prefix(body: bytes) -> IPv6Network:
    return _network(body[2:18], body[1])


def _pack_previous_maar(pmaar: PreviousMaar) -> bytes:
    # RFC 8885 section 4.5 layout: Reserved, Prefix Length, P-MAAR address,
    # HNP.  The draft's figure omits the Reserved octet yet fixes Length 34,
    # which only adds up with it, so we follow RFC 8885.
    length, packed = _pack_network(pmaar.prefix)
    return bytes((0, length)) + pmaar.address.packed + packed


def _unpack_previous_maar(body: bytes) -> PreviousMaar:
    return PreviousMaar(address(body[2:18]), _network(body[18:34], body[1]))


def _enum_or_int(kind: type) -> Callable[[bytes], int]:
    """Octet 1 of a Reserved+value option, as ``kind`` when it is a known value."""
    known = kind._value2member_map_
    return lambda body: known.get(body[1], body[1])


def _pack_octet(value: int) -> bytes:
    return bytes((0, value))


def _pack_address(address: IPv6Address) -> bytes:
    return address.packed


def _pack_link_layer(address: bytes) -> bytes:
    """Reserved (16) and the address of a DLIF Link-layer Address option."""
    if not address:
        raise ValueError("a DLIF link-layer address must not be empty")
    return b"\0\0" + address


def _strip_reserved16(body: bytes) -> bytes:
    return body[2:]


_CODECS = (
    _OptionCodec("mn_id", OptionType.MN_ID, 2, _pack_nai, _unpack_nai,
                 variable=True),
    _OptionCodec("hnps", OptionType.HOME_NETWORK_PREFIX, 18, _pack_prefix,
                 _unpack_prefix, align=(8, 4), repeated=True),
    _OptionCodec("handoff", OptionType.HANDOFF_INDICATOR, 2, _pack_octet,
                 _enum_or_int(HandoffIndicator)),
    _OptionCodec("access_tech", OptionType.ACCESS_TECH_TYPE, 2, _pack_octet,
                 _enum_or_int(AccessTechnology)),
    _OptionCodec("timestamp", OptionType.TIMESTAMP, 8, _pack_timestamp,
                 _unpack_timestamp, align=(8, 2)),
    _OptionCodec("link_local", OptionType.LINK_LOCAL_ADDRESS, 16, _pack_address,
                 IPv6Address, align=(8, 6)),
    _OptionCodec("mn_link_layer_id", OptionType.MN_LINK_LAYER_ID, 2,
                 lambda lli: b"\0\0" + lli, _strip_reserved16, align=(2, 0),
                 variable=True),
    # Neither the draft nor RFC 8885 states an alignment for the DMM options;
    # we align them as RFC 5213 aligns the option of the same layout: HNP
    # (8n+4), Link-local Address (8n+6), MN Link-layer Identifier (2n).
    _OptionCodec("anchored_prefixes", "anchored_prefix", 18, _pack_prefix,
                 _unpack_prefix, align=(8, 4), repeated=True),
    _OptionCodec("local_prefixes", "local_prefix", 18, _pack_prefix,
                 _unpack_prefix, align=(8, 4), repeated=True),
    _OptionCodec("previous_maars", "previous_maar", 34, _pack_previous_maar,
                 _unpack_previous_maar, align=(8, 4), repeated=True),
    _OptionCodec("serving_maar", "serving_maar", 16, _pack_address,
                 address, align=(8, 6)),
    _OptionCodec("dlif_link_locals", "dlif_link_local", 16, _pack_address,
                 IPv6Address, align=(8, 6), repeated=True),
    _OptionCodec("dlif_link_layers", "dlif_link_layer", 3, _pack_link_layer,
                 _strip_reserved16, align=(2, 0), repeated=True, variable=True),
)


# --------------------------------------------------------------- encoding

def _make_padding(size: int) -> bytes:
    """Pad1 for one octet, PadN for more (RFC 6275 section 6.2.2/6.2.3)."""
    if size <= 1:
        return bytes(size)
    return bytes((OptionType.PADN, size - 2)) + bytes(size - 2)


#: Every padding an option or the message end can need (alignments are at
#: most 8), built once: encoding a PBU pads up to eight times.
_PADDINGS = tuple(_make_padding(size) for size in range(8))
_padding = _PADDINGS.__getitem__


def _wire_options(opts: MobilityOptions,
                  types: OptionTypes) -> Iterator[Tuple[Tuple[int, int], int, bytes]]:
    """(alignment, type, data) of every option to send, in a fixed order."""
    for codec in _CODECS:
        value = getattr(opts, codec.field)
        values = value if codec.repeated else () if value is None else (value,)
        for item in values:
            yield codec.align, codec.type_number(types), codec.pack(item)
    for unknown in opts.unknown:
        if unknown.type in _decoders(types) or unknown.type <= OptionType.PADN:
            raise ValueError(f"unknown option reuses a known type: {unknown.type}")
        yield _NO_ALIGN, unknown.type, unknown.data


def encode_options(opts: MobilityOptions, types: OptionTypes, start: int) -> bytes:
    """Options padded for alignment; ``start`` is their offset in the MH.

    The result ends on a multiple of 8 octets of the MH, as RFC 6275 requires.
    Unknown options are re-sent verbatim so a relay can pass them through.
    """
    parts = []
    pos = start
    for (mult, offset), otype, data in _wire_options(opts, types):
        if len(data) > 255:
            raise ValueError(f"option {otype} data too long: {len(data)} octets")
        pad = _padding((offset - pos) % mult)
        parts += (pad, bytes((otype, len(data))), data)
        pos += len(pad) + 2 + len(data)
    parts.append(_padding(-pos % 8))
    return b"".join(parts)


# --------------------------------------------------------------- decoding

_PAD1, _PADN = int(OptionType.PAD1), int(OptionType.PADN)


@lru_cache(maxsize=8)
def _decoders(types: OptionTypes) -> Dict[int, _OptionCodec]:
    return {codec.type_number(types): codec for codec in _CODECS}


def _store(codec: _OptionCodec, value: Any, found: Dict[str, Any]) -> None:
    if codec.repeated:
        found.setdefault(codec.field, []).append(value)
    elif codec.field in found:
        raise MHDecodeError(Reason.DUPLICATE_OPTION, codec.field)
    else:
        found[codec.field] = value


def _decode_one(codec: Optional[_OptionCodec], otype: int, body: bytes,
                found: Dict[str, Any], unknown: list) -> None:
    value = None
    if codec is not None:
        if not codec.length_ok(len(body)):
            raise MHDecodeError(Reason.BAD_OPTION_LENGTH,
                                f"{codec.field}: Length {len(body)}")
        value = codec.unpack(body)
    if value is None:
        unknown.append(UnknownOption(otype, body))
    else:
        _store(codec, value, found)


def decode_options(data: bytes, pos: int, types: OptionTypes) -> MobilityOptions:
    """Parse the options from ``pos`` to the end of ``data`` (the whole MH).

    Unknown option types are skipped by their Length and kept in
    ``MobilityOptions.unknown``; padding is dropped.
    """
    decoders = _decoders(types)
    found: Dict[str, Any] = {}
    unknown: list = []
    end = len(data)
    while pos < end:
        otype = data[pos]
        if otype == _PAD1:
            pos += 1
            continue
        nxt = pos + 2 + (data[pos + 1] if pos + 1 < end else 0)
        if nxt > end:
            raise MHDecodeError(Reason.OPTION_OVERRUN, f"option {otype} at {pos}")
        if otype != _PADN:
            _decode_one(decoders.get(otype), otype, data[pos + 2:nxt], found, unknown)
        pos = nxt
    for codec in _CODECS:
        if codec.repeated and codec.field in found:
            found[codec.field] = tuple(found[codec.field])
    return MobilityOptions(unknown=tuple(unknown), **found)


