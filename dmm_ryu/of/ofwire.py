"""OpenFlow 1.3 pieces packed with ``struct``: OXM TLVs, matches, actions,
instructions and message headers, byte for byte as the framework's
serialiser writes them.

The framework builds a tree of objects and converts every address through
netaddr each time it serialises (about 30 us a FlowMod); these functions
write the same bytes directly (about 1 us).  Layouts, field numbers and
sizes come from the framework's own ``ofproto_v1_3`` tables, so nothing
here restates the protocol; ``tests/unit/test_of_packed.py`` proves the
bytes equal.  Values are given as the framework takes them (ints, MAC text, IPv6
text, ``(value, mask)`` for a masked match field) or as IPv6Address /
IPv6Network objects, as flows.Rule holds prefixes.
"""
from __future__ import annotations

import socket
import struct
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Callable, Dict, Iterable, Tuple

from dmm_ryu.of import compat
from dmm_ryu.of.labels import DataplaneError

OFP = compat.ofproto_v1_3

HEADER = struct.Struct(OFP.OFP_HEADER_PACK_STR)
FLOW_MOD = struct.Struct(OFP.OFP_HEADER_PACK_STR + OFP.OFP_FLOW_MOD_PACK_STR0[1:])
#: Where a FlowMod's match starts: its fixed part without ofp_match's header.
FLOW_MOD_FIXED = OFP.OFP_FLOW_MOD_SIZE - OFP.OFP_MATCH_SIZE
PACKET_OUT = struct.Struct(OFP.OFP_HEADER_PACK_STR + OFP.OFP_PACKET_OUT_PACK_STR[1:])
EXPERIMENTER = struct.Struct(OFP.OFP_HEADER_PACK_STR + OFP.OFP_EXPERIMENTER_HEADER_PACK_STR[1:])
BUNDLE_CTRL = struct.Struct(EXPERIMENTER.format + OFP.ONF_BUNDLE_CTRL_PACK_STR[1:])
BUNDLE_ADD = struct.Struct(EXPERIMENTER.format + OFP.ONF_BUNDLE_ADD_MSG_PACK_STR[1:])
#: The ONF extension's experimenter id (bundles), as the parser knows it.
ONF_EXPERIMENTER_ID = compat.ofproto_v1_3_parser.ofproto_common.ONF_EXPERIMENTER_ID
XID = struct.Struct("!I")
XID_MASK = OFP.MAX_XID

_TYPE_LEN = struct.Struct("!HH")  # ofp_match, ofp_action_set_field heads
_ACTION_OUTPUT = struct.Struct(OFP.OFP_ACTION_OUTPUT_PACK_STR)
_ACTION_HEADER = struct.Struct(OFP.OFP_ACTION_HEADER_PACK_STR)
_ACTION_ETHERTYPE = struct.Struct(OFP.OFP_ACTION_PUSH_PACK_STR)
_INSTRUCTION_ACTIONS = struct.Struct(OFP.OFP_INSTRUCTION_ACTIONS_PACK_STR)
_INSTRUCTION_GOTO = struct.Struct(OFP.OFP_INSTRUCTION_GOTO_TABLE_PACK_STR)
_INSTRUCTION_METADATA = struct.Struct(OFP.OFP_INSTRUCTION_WRITE_METADATA_PACK_STR)
_OXM_HEADER = struct.Struct("!I")
_ZEROS = bytes(8)


def _pad8(length: int) -> bytes:
    return _ZEROS[:-length % 8]


# --- OXM TLVs ----------------------------------------------------------------

def _mac(text: str) -> bytes:
    raw = bytes.fromhex(text.replace(":", ""))
    if len(raw) != 6:
        raise DataplaneError(f"not a MAC address: {text!r}")
    return raw


def _ipv6(text) -> bytes:
    if isinstance(text, IPv6Address):
        return text.packed
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, TypeError) as exc:
        raise DataplaneError(f"not an IPv6 address: {text!r}") from exc


def _encoder(field_type) -> Callable[[Any], bytes]:
    """Text or int -> the field's wire value, for the types our rules use."""
    name = getattr(field_type, "__name__", "")
    if name == "MacAddr":
        return _mac
    if name == "IPv6Addr":
        return _ipv6
    size = field_type.size
    return lambda value: int(value).to_bytes(size, "big")


Field = Tuple[int, Callable[[Any], bytes], int]


def _field(name: str) -> Field:
    """(OXM type number, value encoder, value size) from the framework's
    field table."""
    try:
        number, field_type = OFP.oxm_get_field_info_by_name(name)
    except KeyError as exc:
        raise DataplaneError(f"unknown OXM field {name!r}") from exc
    if not isinstance(number, int) or not hasattr(field_type, "size"):
        raise DataplaneError(f"OXM field {name!r} cannot be packed (experimenter class)")
    return number, _encoder(field_type), field_type.size


_FIELDS: Dict[str, Field] = {}


def _field_of(name: str) -> Field:
    found = _FIELDS.get(name)
    if found is None:
        found = _FIELDS[name] = _field(name)
    return found


def oxm(name: str, value: Any) -> bytes:
    """One OXM TLV; a ``(value, mask)`` pair (or an IPv6Network) is sent
    masked, the value ANDed with the mask as the framework's OFPMatch
    normalises it."""
    number, encode, _ = _field_of(name)
    if isinstance(value, IPv6Network):  # its address is masked already
        raw, mask = value.network_address.packed, value.netmask.packed
        return _OXM_HEADER.pack(number << 9 | 1 << 8 | 2 * len(raw)) + raw + mask
    if isinstance(value, tuple):
        mask = encode(value[1])
        raw = (int.from_bytes(encode(value[0]), "big") & int.from_bytes(mask, "big")
               ).to_bytes(len(mask), "big")
        return _OXM_HEADER.pack(number << 9 | 1 << 8 | 2 * len(raw)) + raw + mask
    raw = encode(value)
    return _OXM_HEADER.pack(number << 9 | len(raw)) + raw


def match(fields: Iterable[Tuple[str, Any]]) -> bytes:
    """An OXM ofp_match, fields in OXM-number order (as OFPMatch sorts
    them), padded to 8 bytes."""
    ordered = sorted(fields, key=lambda item: _field_of(item[0])[0])
    body = b"".join(oxm(name, value) for name, value in ordered)
    length = _TYPE_LEN.size + len(body)
    return _TYPE_LEN.pack(OFP.OFPMT_OXM, length) + body + _pad8(length)


# --- actions and instructions ---------------------------------------------------

def _setter(name: str) -> Callable[[Any], bytes]:
    number, encode, size = _field_of(name)
    length = _TYPE_LEN.size + _OXM_HEADER.size + size
    head = (_TYPE_LEN.pack(OFP.OFPAT_SET_FIELD, length + -length % 8)
            + _OXM_HEADER.pack(number << 9 | size))
    pad = _pad8(length)
    return lambda value: head + encode(value) + pad


_SETTERS: Dict[str, Callable[[Any], bytes]] = {}


def set_field(name: str, value: Any) -> bytes:
    """A set_field action (unmasked); its head is packed once per field,
    so a per-MN value (MAC, label) costs one encode and a join."""
    setter = _SETTERS.get(name)
    if setter is None:
        setter = _SETTERS[name] = _setter(name)
    return setter(value)


def output(port: int, max_len: int = OFP.OFPCML_MAX) -> bytes:
    return _ACTION_OUTPUT.pack(OFP.OFPAT_OUTPUT, _ACTION_OUTPUT.size, port, max_len)


DEC_NW_TTL = _ACTION_HEADER.pack(OFP.OFPAT_DEC_NW_TTL, _ACTION_HEADER.size)


def push_mpls(ethertype: int) -> bytes:
    return _ACTION_ETHERTYPE.pack(OFP.OFPAT_PUSH_MPLS, _ACTION_ETHERTYPE.size, ethertype)


def pop_mpls(ethertype: int) -> bytes:
    return _ACTION_ETHERTYPE.pack(OFP.OFPAT_POP_MPLS, _ACTION_ETHERTYPE.size, ethertype)


def apply_actions(actions: bytes) -> bytes:
    return _INSTRUCTION_ACTIONS.pack(OFP.OFPIT_APPLY_ACTIONS,
                                     _INSTRUCTION_ACTIONS.size + len(actions)) + actions


def goto_table(table_id: int) -> bytes:
    return _INSTRUCTION_GOTO.pack(OFP.OFPIT_GOTO_TABLE, _INSTRUCTION_GOTO.size, table_id)


def write_metadata(metadata: int, mask: int) -> bytes:
    return _INSTRUCTION_METADATA.pack(OFP.OFPIT_WRITE_METADATA, _INSTRUCTION_METADATA.size,
                                      metadata, mask)


# --- messages -------------------------------------------------------------------

def flow_mod(xid: int, cookie: int, cookie_mask: int, command: int, table_id: int,
             priority: int, match_bytes: bytes, instructions: bytes = b"") -> bytes:
    """A FlowMod as flows.py builds them: no timeouts, no buffer, any
    out port and group, no flags."""
    body = match_bytes + instructions
    return FLOW_MOD.pack(OFP.OFP_VERSION, OFP.OFPT_FLOW_MOD, FLOW_MOD_FIXED + len(body),
                         xid & XID_MASK,
                         cookie, cookie_mask, table_id, command, 0, 0, priority,
                         OFP.OFP_NO_BUFFER, OFP.OFPP_ANY, OFP.OFPG_ANY, 0) + body


def with_xid(msg: bytes, xid: int) -> bytes:
    """The same message under another transaction id."""
    return msg[:4] + XID.pack(xid & XID_MASK) + msg[8:]
