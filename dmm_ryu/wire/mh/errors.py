"""The single exception the Mobility Header decoder lets escape.

Bytes arriving from the network are untrusted: a receiver must be able to
drop any malformed packet with one ``except MHDecodeError`` and still log
why, so every decoding failure carries a machine-readable :class:`Reason`.
"""
from __future__ import annotations

import enum


class Reason(str, enum.Enum):
    """Why a Mobility Header (or its IPv6 packet) was rejected."""

    #: The bytes end before a fixed-size field (header, message body).
    TRUNCATED = "truncated"
    #: Header Len disagrees with the number of bytes received.
    HEADER_LEN_MISMATCH = "header_len_mismatch"
    #: Payload Proto is not 59 (No Next Header), RFC 6275 section 9.2.
    BAD_PAYLOAD_PROTO = "bad_payload_proto"
    #: The Internet checksum over the pseudo-header and MH does not verify.
    BAD_CHECKSUM = "bad_checksum"
    #: An option's Length runs past the end of the Mobility Header.
    OPTION_OVERRUN = "option_overrun"
    #: A fixed-size option carries the wrong Length.
    BAD_OPTION_LENGTH = "bad_option_length"
    #: A single-instance option (e.g. Handoff Indicator) appears twice.
    DUPLICATE_OPTION = "duplicate_option"
    #: MH Type is not Binding Update (5), Acknowledgement (6) or Revocation (16).
    UNKNOWN_MH_TYPE = "unknown_mh_type"
    #: A Binding Revocation message (MH Type 16) whose B.R. Type is neither
    #: Indication (1) nor Acknowledgement (2), RFC 5846 section 6.1.
    UNKNOWN_BR_TYPE = "unknown_br_type"
    #: A field holds a value it cannot have (prefix length > 128, bad UTF-8).
    INVALID_FIELD = "invalid_field"
    #: Not an IPv6 header (version), or Payload Length disagrees with the bytes.
    BAD_IPV6_HEADER = "bad_ipv6_header"
    #: The IPv6 Next Header is not 135, so there is no Mobility Header.
    NOT_MOBILITY_HEADER = "not_mobility_header"


class MHDecodeError(ValueError):
    """Raised for any bytes the decoder cannot turn into a PBU, PBA, BRI or BRA.

    ``reason`` is a :class:`Reason`; ``detail`` is free text for logs.
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail
