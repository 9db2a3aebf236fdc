"""Typed, immutable model of the Proxy Binding Update and Acknowledgement,
and of RFC 5846's Binding Revocation Indication and Acknowledgement.

The protocol core speaks only this model; ``dmm_ryu.wire.mh.codec`` turns it into
Mobility Header bytes and back.  Both message kinds carry the same family of
mobility options, so the options live in one shared :class:`MobilityOptions`
value instead of being repeated on each message class.

Lifetimes are kept in seconds (the wire carries units of 4 s), so a lifetime
must be a multiple of 4 between 0 and 4 * 0xFFFF.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Optional, Tuple, Union

#: IANA numbers of the RFC 8885 mobility options (its section 6); the codec
#: takes others (:class:`~dmm_ryu.wire.mh.options.OptionTypes`) because the
#: draft left them "to be assigned".
ANCHORED_PREFIX_OPTION_TYPE = 65
LOCAL_PREFIX_OPTION_TYPE = 66
PREVIOUS_MAAR_OPTION_TYPE = 67
SERVING_MAAR_OPTION_TYPE = 68
DLIF_LINK_LOCAL_OPTION_TYPE = 69
DLIF_LINK_LAYER_OPTION_TYPE = 70

MAX_LIFETIME = 4 * 0xFFFF


class BUFlags(enum.IntFlag):
    """Flag bits of the 16-bit word after the BU sequence number.

    D (RFC 8885 section 4.1) marks a PBU sent by a MAAR or the CMD, as
    opposed to one from a plain RFC 5213 MAG.
    """

    A = 0x8000
    H = 0x4000
    L = 0x2000
    K = 0x1000
    M = 0x0800
    R = 0x0400
    P = 0x0200
    F = 0x0100
    T = 0x0080
    B = 0x0040
    D = 0x0010


class BAFlags(enum.IntFlag):
    """Flag bits of the octet after the BA status; D as in :class:`BUFlags`
    (RFC 8885 section 4.2)."""

    K = 0x80
    R = 0x40
    P = 0x20
    T = 0x10
    B = 0x08
    D = 0x02


#: What a PBU sets (RFC 5213 section 6.9.1.5): Acknowledge, Home, Proxy.
PBU_FLAGS = BUFlags.A | BUFlags.H | BUFlags.P
PBA_FLAGS = BAFlags.P
#: The same with RFC 8885's D flag, for the PBUs and PBAs of DMM signalling.
DMM_PBU_FLAGS = PBU_FLAGS | BUFlags.D
DMM_PBA_FLAGS = PBA_FLAGS | BAFlags.D


class Status(enum.IntEnum):
    """PBA status codes (RFC 6275 / RFC 5213)."""

    ACCEPTED = 0
    REASON_UNSPECIFIED = 128
    ADMINISTRATIVELY_PROHIBITED = 129
    INSUFFICIENT_RESOURCES = 130
    SEQUENCE_OUT_OF_WINDOW = 135
    PROXY_REG_NOT_ENABLED = 152
    NOT_LMA_FOR_THIS_MOBILE_NODE = 153
    MAG_NOT_AUTHORIZED_FOR_PROXY_REG = 154
    NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX = 155
    TIMESTAMP_MISMATCH = 156
    TIMESTAMP_LOWER_THAN_PREV_ACCEPTED = 157
    MISSING_HOME_NETWORK_PREFIX_OPTION = 158
    BCE_PBU_PREFIX_SET_DO_NOT_MATCH = 159
    MISSING_MN_IDENTIFIER_OPTION = 160
    MISSING_HANDOFF_INDICATOR_OPTION = 161
    MISSING_ACCESS_TECH_TYPE_OPTION = 162


class HandoffIndicator(enum.IntEnum):
    """Handoff Indicator option values (RFC 5213 section 8.4)."""

    NEW_INTERFACE = 1
    DIFFERENT_INTERFACE = 2
    BETWEEN_MAGS = 3
    UNKNOWN = 4
    NOT_CHANGED = 5


class AccessTechnology(enum.IntEnum):
    """Access Technology Type option values named by RFC 5213 section 8.5.

    The option's field is a plain octet: :class:`MobilityOptions` takes any
    value 0-255, and the decoder returns a bare ``int`` for unnamed ones.
    """

    VIRTUAL = 1
    PPP = 2
    IEEE_802_3 = 3
    IEEE_802_11 = 4
    IEEE_802_16E = 5

    @classmethod
    def parse(cls, value: Union[int, str]) -> int:
        """The ATT octet for a configured value: a member name in any case
        (``"ieee_802_3"``), or a number 0-255 as ``int`` or text."""
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"not an access technology: {value!r}") from None
        if not 0 <= number <= 255:
            raise ValueError(f"access technology {number} is not an octet")
        return cls._value2member_map_.get(number, number)


@dataclass(frozen=True, slots=True)
class PreviousMaar:
    """Previous MAAR option: a P-MAAR and the prefix it anchors (draft 3.6.1,
    RFC 8885 section 4.5)."""

    address: IPv6Address
    prefix: IPv6Network


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """A mobility option the codec skipped by its length; kept for reporting."""

    type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class MobilityOptions:
    """The mobility options carried by a PBU or PBA.

    ``None`` means the option is absent.  Repeated options are tuples in
    wire order.  ``unknown`` holds options the decoder did not understand.

    The RFC 8885 options besides Previous and Serving MAAR:

    * ``anchored_prefixes``: Anchored Prefix options (section 4.3), prefixes
      anchored at the MAAR the message concerns.
    * ``local_prefixes``: Local Prefix options (section 4.4), prefixes the
      serving MAAR allocated and anchors itself.
    * ``dlif_link_locals`` / ``dlif_link_layers``: DLIF Link-local Address
      (4.7) and DLIF Link-layer Address (4.8) options, the address and MAC
      of a distributed logical interface.  When a PBA names several
      P-MAARs, the i-th DLIF option of each kind belongs to the i-th entry
      of ``previous_maars`` (the codec keeps each kind's wire order).
    """

    mn_id: Optional[str] = None
    hnps: Tuple[IPv6Network, ...] = ()
    handoff: Optional[int] = None
    access_tech: Optional[int] = None
    timestamp: Optional[int] = None
    link_local: Optional[IPv6Address] = None
    mn_link_layer_id: Optional[bytes] = None
    previous_maars: Tuple[PreviousMaar, ...] = ()
    serving_maar: Optional[IPv6Address] = None
    anchored_prefixes: Tuple[IPv6Network, ...] = ()
    local_prefixes: Tuple[IPv6Network, ...] = ()
    dlif_link_locals: Tuple[IPv6Address, ...] = ()
    dlif_link_layers: Tuple[bytes, ...] = ()
    unknown: Tuple[UnknownOption, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class ProxyBindingUpdate:
    """PBU (MH type 5 with the P flag).  ``lifetime`` 0 de-registers."""

    sequence: int
    lifetime: int
    options: MobilityOptions
    flags: BUFlags = PBU_FLAGS

    @property
    def is_deregistration(self) -> bool:
        return self.lifetime == 0

    @property
    def is_dmm(self) -> bool:
        """Whether the D flag says a MAAR or the CMD sent it (RFC 8885)."""
        return bool(self.flags & BUFlags.D)


@dataclass(frozen=True, slots=True)
class ProxyBindingAck:
    """PBA (MH type 6); echoes the PBU's sequence number."""

    status: int
    sequence: int
    lifetime: int
    options: MobilityOptions
    flags: BAFlags = PBA_FLAGS

    @property
    def is_dmm(self) -> bool:
        """Whether the D flag marks it as DMM signalling (RFC 8885)."""
        return bool(self.flags & BAFlags.D)


class BRType(enum.IntEnum):
    """B.R. Type, the first octet of a Binding Revocation message (MH type
    16, RFC 5846 section 6.1)."""

    INDICATION = 1
    ACKNOWLEDGEMENT = 2


class BRFlags(enum.IntFlag):
    """Flag bits of the 16-bit word after a BRI's or BRA's sequence number
    (RFC 5846 6.1.1/6.1.2; Wireshark's mip6 dissector agrees): Proxy
    binding, IPv4 HoA binding only, Global (per-peer) revocation.  The
    format has no Acknowledge flag: every BRI is answered."""

    P = 0x8000
    V = 0x4000
    G = 0x2000


class RevocationTrigger(enum.IntEnum):
    """Revocation Trigger values of a BRI (RFC 5846 section 6.1.1)."""

    UNSPECIFIED = 0
    ADMINISTRATIVE_REASON = 1
    INTER_MAG_HANDOVER_SAME_ACCESS_TYPE = 2
    INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE = 3
    INTER_MAG_HANDOVER_UNKNOWN = 4
    USER_INITIATED_SESSION_TERMINATION = 5
    ACCESS_NETWORK_SESSION_TERMINATION = 6
    POSSIBLE_OUT_OF_SYNC_BCE_STATE = 7
    PER_PEER_POLICY = 128
    REVOKING_MOBILITY_NODE_LOCAL_POLICY = 129


class RevocationStatus(enum.IntEnum):
    """Status values of a BRA (RFC 5846 section 6.1.2)."""

    SUCCESS = 0
    PARTIAL_SUCCESS = 1
    BINDING_DOES_NOT_EXIST = 2
    IPV4_HOA_BINDING_DOES_NOT_EXIST = 3
    GLOBAL_REVOCATION_NOT_AUTHORIZED = 4
    CANNOT_IDENTIFY_BINDING = 5
    REVOCATION_FAILED_MN_ATTACHED = 6


class _PlainRfc5846:
    """Binding Revocation has no D flag: it is never DMM signalling."""

    __slots__ = ()

    @property
    def is_dmm(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class BindingRevocationIndication(_PlainRfc5846):
    """BRI (MH type 16, B.R. Type 1): the LMA tells a MAG to drop the
    binding(s) the options identify (MN-ID, HNP)."""

    trigger: int
    sequence: int
    options: MobilityOptions
    flags: BRFlags = BRFlags.P


@dataclass(frozen=True, slots=True)
class BindingRevocationAck(_PlainRfc5846):
    """BRA (MH type 16, B.R. Type 2); echoes the BRI's sequence number."""

    status: int
    sequence: int
    options: MobilityOptions
    flags: BRFlags = BRFlags.P


Revocation = Union[BindingRevocationIndication, BindingRevocationAck]
Message = Union[ProxyBindingUpdate, ProxyBindingAck, BindingRevocationIndication,
                BindingRevocationAck]


_NAMES = {ProxyBindingUpdate: "PBU", ProxyBindingAck: "PBA",
          BindingRevocationIndication: "BRI", BindingRevocationAck: "BRA"}


def message_name(message: Message) -> str:
    """"PBU", "PBA", "BRI" or "BRA": how logs, counters and figures name it."""
    return _NAMES[type(message)]


def timestamp_from_unix(seconds: float) -> int:
    """The Timestamp option value for a UNIX time: 48.16 fixed point."""
    return round(seconds * 65536)


def timestamp_to_unix(value: int) -> float:
    """The UNIX time a Timestamp option value stands for."""
    return value / 65536


def missing_mandatory(pbu: ProxyBindingUpdate) -> Optional[Status]:
    """The PBA status for the first mandatory PBU option that is absent.

    Checked in the order of RFC 5213 section 5.3.1: MN-ID (160), HNP (158),
    Handoff Indicator (161), Access Technology Type (162).  Every PBU needs
    them, including a de-registration and one the CMD relays to a P-MAAR.
    Returns ``None`` when all are present.
    """
    opts = pbu.options
    if opts.mn_id is None:
        return Status.MISSING_MN_IDENTIFIER_OPTION
    if not opts.hnps:
        return Status.MISSING_HOME_NETWORK_PREFIX_OPTION
    if opts.handoff is None:
        return Status.MISSING_HANDOFF_INDICATOR_OPTION
    if opts.access_tech is None:
        return Status.MISSING_ACCESS_TECH_TYPE_OPTION
    return None
