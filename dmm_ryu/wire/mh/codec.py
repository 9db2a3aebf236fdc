"""Mobility Header codec for the PBU and PBA (RFC 6275 section 6.1) and the
BRI and BRA of RFC 5846 (MH type 16, section 6.1).

Plain ``struct``/``bytes`` code: the CMD and the MAARs decode every PBU on
the controller's hot path, so no packet library is involved here.  Encoding
trusts the model and raises ``ValueError`` for values that do not fit the
wire; decoding distrusts the bytes and raises only :class:`MHDecodeError`.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from ipaddress import IPv6Address
from typing import NamedTuple

from dmm_ryu.wire.constants import MH_PROTO, NO_NEXT_HEADER, MHType
from dmm_ryu.wire.memo import IdentityMemo
from dmm_ryu.wire.inet import (IPV6_HEADER, Address, checksum, checksum_residue, ipv6_header,
                          packed)

from .errors import MHDecodeError, Reason
from .model import (
    MAX_LIFETIME,
    BAFlags,
    BindingRevocationAck,
    BindingRevocationIndication,
    BRFlags,
    BRType,
    BUFlags,
    Message,
    ProxyBindingAck,
    ProxyBindingUpdate,
    RevocationStatus,
    RevocationTrigger,
    Status,
)
from .options import DEFAULT_OPTION_TYPES, OptionTypes, address, decode_options, encode_options

IPV6_HEADER_LEN = IPV6_HEADER.size

_HEADER = struct.Struct("!BBBBH")
_BU = struct.Struct("!HHH")  # sequence, flags, lifetime
_BA = struct.Struct("!BBHH")  # status, flags, sequence, lifetime
_BR = struct.Struct("!BBHH")  # B.R. Type, trigger or status, sequence, flags
_FIXED_LEN = _HEADER.size + _BU.size  # every message: options start at 12
_BU_FLAGS_MASK = sum(BUFlags)
_BA_FLAGS_MASK = sum(BAFlags)
_BR_FLAGS_MASK = sum(BRFlags)
_STATUS = Status._value2member_map_
_TRIGGER = RevocationTrigger._value2member_map_
_BR_STATUS = RevocationStatus._value2member_map_
_MH_TYPES = (MHType.BINDING_UPDATE, MHType.BINDING_ACK, MHType.BINDING_REVOCATION)


class DecodedPacket(NamedTuple):
    """What :func:`decode_packet` found in an IPv6 packet."""

    src: IPv6Address
    dst: IPv6Address
    message: Message


def _lifetime_units(seconds: int) -> int:
    if seconds % 4 or not 0 <= seconds <= MAX_LIFETIME:
        raise ValueError(f"lifetime {seconds} s is not a multiple of 4 in range")
    return seconds // 4


def _message_body(msg: Message) -> tuple:
    """(MH type, fixed message data) of a PBU, PBA, BRI or BRA."""
    if isinstance(msg, ProxyBindingUpdate):
        return MHType.BINDING_UPDATE, _BU.pack(
            msg.sequence, msg.flags, _lifetime_units(msg.lifetime))
    if isinstance(msg, ProxyBindingAck):
        return MHType.BINDING_ACK, _BA.pack(
            msg.status, msg.flags, msg.sequence, _lifetime_units(msg.lifetime))
    if isinstance(msg, BindingRevocationIndication):
        return MHType.BINDING_REVOCATION, _BR.pack(
            BRType.INDICATION, msg.trigger, msg.sequence, msg.flags)
    if isinstance(msg, BindingRevocationAck):
        return MHType.BINDING_REVOCATION, _BR.pack(
            BRType.ACKNOWLEDGEMENT, msg.status, msg.sequence, msg.flags)
    raise TypeError(f"not a PBU, PBA, BRI or BRA: {type(msg).__name__}")


def _unsummed(msg: Message, option_types: OptionTypes) -> bytes:
    """The Mobility Header of ``msg`` with its checksum field zero."""
    try:
        mh_type, body = _message_body(msg)
        options = encode_options(msg.options, option_types, _FIXED_LEN)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"field out of range: {exc}") from None
    header_len = (_HEADER.size + len(body) + len(options)) // 8 - 1
    if header_len > 255:
        raise ValueError("options exceed the 2048-octet Mobility Header")
    return _HEADER.pack(NO_NEXT_HEADER, header_len, mh_type, 0, 0) + body + options


#: The unsummed header of each PBU recently encoded with the default option
#: types: a PBU is stored in its MN's record before it is sent, so it is
#: encoded once (messages are frozen; only the checksum depends on the
#: addresses).  PBAs are sent once and never stored: not remembered.
_PBU_UNSUMMED = IdentityMemo(lambda msg: _unsummed(msg, DEFAULT_OPTION_TYPES), size=1024)


def encode_mh(msg: Message, src: Address, dst: Address,
              option_types: OptionTypes = DEFAULT_OPTION_TYPES) -> bytes:
    """The Mobility Header of ``msg``, checksummed for ``src`` -> ``dst``."""
    mh = (_PBU_UNSUMMED(msg) if type(msg) is ProxyBindingUpdate
          and option_types == DEFAULT_OPTION_TYPES else _unsummed(msg, option_types))
    return mh[:4] + checksum(packed(src), packed(dst), MH_PROTO, mh).to_bytes(2, "big") + mh[6:]


def encode_packet(msg: Message, src: Address, dst: Address, hop_limit: int = 64,
                  option_types: OptionTypes = DEFAULT_OPTION_TYPES) -> bytes:
    """A whole IPv6 packet (no extension headers) carrying ``msg``."""
    src, dst = packed(src), packed(dst)
    mh = encode_mh(msg, src, dst, option_types)
    return ipv6_header(src, dst, MH_PROTO, len(mh), hop_limit) + mh


def _check_header(mh: bytes, src: bytes, dst: bytes) -> None:
    """RFC 6275 section 9.2 checks that do not depend on the MH type."""
    if len(mh) < _HEADER.size:
        raise MHDecodeError(Reason.TRUNCATED, f"{len(mh)} octets")
    if (mh[1] + 1) * 8 != len(mh):
        raise MHDecodeError(Reason.HEADER_LEN_MISMATCH,
                            f"Header Len {mh[1]} for {len(mh)} octets")
    if checksum_residue(src, dst, MH_PROTO, mh):
        raise MHDecodeError(Reason.BAD_CHECKSUM, f"checksum {mh[4:6].hex()}")
    if mh[0] != NO_NEXT_HEADER:
        raise MHDecodeError(Reason.BAD_PAYLOAD_PROTO, f"Payload Proto {mh[0]}")


@lru_cache(maxsize=64)
def _seconds(units: int) -> int:
    """A lifetime in seconds (units of 4 s), one int object per value: a
    domain grants a handful of lifetimes and every BCE keeps one, where a
    fresh int above 256 costs 32 bytes (issue 17)."""
    return units * 4


def _decode_message(mh: bytes, option_types: OptionTypes) -> Message:
    mh_type = mh[2]
    if mh_type not in _MH_TYPES:
        raise MHDecodeError(Reason.UNKNOWN_MH_TYPE, f"MH Type {mh_type}")
    if len(mh) < _FIXED_LEN:
        raise MHDecodeError(Reason.TRUNCATED, f"MH Type {mh_type} in {len(mh)} octets")
    if mh_type == MHType.BINDING_REVOCATION:
        return _decode_revocation(mh, option_types)
    options = decode_options(mh, _FIXED_LEN, option_types)
    if mh_type == MHType.BINDING_UPDATE:
        sequence, flags, units = _BU.unpack_from(mh, _HEADER.size)
        return ProxyBindingUpdate(sequence, _seconds(units), options,
                                  BUFlags(flags & _BU_FLAGS_MASK))
    status, flags, sequence, units = _BA.unpack_from(mh, _HEADER.size)
    return ProxyBindingAck(_STATUS.get(status, status), sequence, _seconds(units), options,
                           BAFlags(flags & _BA_FLAGS_MASK))


def _decode_revocation(mh: bytes, option_types: OptionTypes) -> Message:
    """A BRI or BRA (RFC 5846 6.1): the B.R. Type is checked before the
    options are parsed; reserved flag bits are ignored."""
    br_type, value, sequence, flags = _BR.unpack_from(mh, _HEADER.size)
    if br_type not in (BRType.INDICATION, BRType.ACKNOWLEDGEMENT):
        raise MHDecodeError(Reason.UNKNOWN_BR_TYPE, f"B.R. Type {br_type}")
    options = decode_options(mh, _FIXED_LEN, option_types)
    flags = BRFlags(flags & _BR_FLAGS_MASK)
    if br_type == BRType.INDICATION:
        return BindingRevocationIndication(_TRIGGER.get(value, value), sequence, options, flags)
    return BindingRevocationAck(_BR_STATUS.get(value, value), sequence, options, flags)


def decode_mh(data: bytes, src: Address, dst: Address,
              option_types: OptionTypes = DEFAULT_OPTION_TYPES) -> Message:
    """The PBU, PBA, BRI or BRA in a Mobility Header received from ``src``
    for ``dst``.

    Raises :class:`MHDecodeError` for anything malformed; reserved bits are
    ignored, as RFC 6275 asks of receivers.
    """
    mh = bytes(data)
    _check_header(mh, packed(src), packed(dst))
    return _decode_message(mh, option_types)


def decode_packet(data: bytes,
                  option_types: OptionTypes = DEFAULT_OPTION_TYPES) -> DecodedPacket:
    """Source, destination and message of an IPv6 packet whose Next Header is
    the Mobility Header (extension headers before it are not supported)."""
    data = bytes(data)
    if len(data) < IPV6_HEADER_LEN:
        raise MHDecodeError(Reason.TRUNCATED, f"IPv6 header in {len(data)} octets")
    first, payload_len, next_header, _, src, dst = IPV6_HEADER.unpack_from(data)
    if first >> 28 != 6:
        raise MHDecodeError(Reason.BAD_IPV6_HEADER, f"version {first >> 28}")
    if IPV6_HEADER_LEN + payload_len > len(data):
        raise MHDecodeError(Reason.TRUNCATED, f"Payload Length {payload_len}")
    if IPV6_HEADER_LEN + payload_len < len(data):
        raise MHDecodeError(Reason.BAD_IPV6_HEADER, "octets after the payload")
    if next_header != MH_PROTO:
        raise MHDecodeError(Reason.NOT_MOBILITY_HEADER, f"Next Header {next_header}")
    message = decode_mh(data[IPV6_HEADER_LEN:], src, dst, option_types)
    return DecodedPacket(address(src), address(dst), message)
