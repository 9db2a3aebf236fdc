"""Mobility Header messages of the draft: model, codec and errors.

``from dmm_ryu.wire.mh import encode_packet, decode_packet, ProxyBindingUpdate``
is all a MAAR or the CMD needs; ``dmm_ryu.wire.mh.scapy_layers`` is separate so
that the hot path never imports scapy.
"""
from dmm_ryu.wire.constants import MHType

from .codec import (
    DecodedPacket,
    decode_mh,
    decode_packet,
    encode_mh,
    encode_packet,
)
from .errors import MHDecodeError, Reason
from .model import (
    DMM_PBA_FLAGS,
    DMM_PBU_FLAGS,
    PBA_FLAGS,
    PBU_FLAGS,
    AccessTechnology,
    BAFlags,
    BindingRevocationAck,
    BindingRevocationIndication,
    BRFlags,
    BRType,
    BUFlags,
    HandoffIndicator,
    Message,
    MobilityOptions,
    PreviousMaar,
    ProxyBindingAck,
    ProxyBindingUpdate,
    Revocation,
    RevocationStatus,
    RevocationTrigger,
    Status,
    UnknownOption,
    message_name,
    missing_mandatory,
    timestamp_from_unix,
    timestamp_to_unix,
)
from .options import DEFAULT_OPTION_TYPES, OptionType, OptionTypes

__all__ = [
    "AccessTechnology", "BAFlags", "BRFlags", "BRType", "BUFlags",
    "BindingRevocationAck", "BindingRevocationIndication", "DEFAULT_OPTION_TYPES", "DMM_PBA_FLAGS",
    "DMM_PBU_FLAGS", "DecodedPacket",
    "HandoffIndicator", "MHDecodeError", "MHType", "Message", "MobilityOptions",
    "OptionType", "OptionTypes", "PBA_FLAGS", "PBU_FLAGS", "PreviousMaar",
    "ProxyBindingAck", "ProxyBindingUpdate", "Reason", "Revocation", "RevocationStatus",
    "RevocationTrigger", "Status", "UnknownOption",
    "decode_mh", "decode_packet", "encode_mh", "encode_packet", "message_name",
    "missing_mandatory",
    "timestamp_from_unix", "timestamp_to_unix",
]
