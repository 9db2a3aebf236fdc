"""Scapy layers for the PMIPv6 and DMM mobility options.

Scapy (``scapy.layers.inet6``) already parses the Binding Update and Ack
(``MIP6MH_BU``, ``MIP6MH_BA``) and the Mobile Node Identifier option
(``MIP6OptMNID``), but shows the RFC 5213 options and the RFC 8885 options
(Anchored and Local Prefix, Previous and Serving MAAR, DLIF Link-local and
Link-layer Address) as "Unknown".  Importing this module adds those
option layers and registers them in scapy's mobility option dispatch, so
captures of our signalling can be crafted and ``.show()``-n in scapy::

    from dmm_ryu.wire.mh import scapy_layers
    IPv6(raw_bytes).show()

The codec never imports this module: scapy stays off the hot path.
"""
from __future__ import annotations

import time

from scapy.fields import (
    ByteEnumField,
    ByteField,
    FieldLenField,
    IP6Field,
    LongField,
    ShortField,
    StrLenField,
)
from scapy.layers import inet6
from scapy.layers.inet6 import MIP6OptMNID, _MIP6OptAlign

from .model import AccessTechnology, HandoffIndicator
from .model import timestamp_to_unix
from .options import DEFAULT_OPTION_TYPES, OptionType, OptionTypes

__all__ = [
    "MIP6OptAccessTechType", "MIP6OptAnchoredPrefix", "MIP6OptDlifLinkLayerAddress",
    "MIP6OptDlifLinkLocalAddress", "MIP6OptHandoffIndicator", "MIP6OptHomeNetworkPrefix",
    "MIP6OptLinkLocalAddress", "MIP6OptLocalPrefix", "MIP6OptMNID", "MIP6OptMNLinkLayerId",
    "MIP6OptPreviousMaar", "MIP6OptServingMaar", "MIP6OptTimestamp",
    "Pmip6TimestampField",
    "register_options",
]

#: Names for ``show()``; scapy's enum fields copy this dict when a layer is
#: defined, so it is filled in before the classes below.
_TYPES = inet6._mobopttypes
_TYPES.update({
    OptionType.HOME_NETWORK_PREFIX: "Home Network Prefix (RFC5213)",
    OptionType.HANDOFF_INDICATOR: "Handoff Indicator (RFC5213)",
    OptionType.ACCESS_TECH_TYPE: "Access Technology Type (RFC5213)",
    OptionType.MN_LINK_LAYER_ID: "Mobile Node Link-layer Identifier (RFC5213)",
    OptionType.LINK_LOCAL_ADDRESS: "Link-local Address (RFC5213)",
    OptionType.TIMESTAMP: "Timestamp (RFC5213)",
    DEFAULT_OPTION_TYPES.anchored_prefix: "Anchored Prefix (RFC8885)",
    DEFAULT_OPTION_TYPES.local_prefix: "Local Prefix (RFC8885)",
    DEFAULT_OPTION_TYPES.previous_maar: "Previous MAAR (RFC8885)",
    DEFAULT_OPTION_TYPES.serving_maar: "Serving MAAR (RFC8885)",
    DEFAULT_OPTION_TYPES.dlif_link_local: "DLIF Link-local Address (RFC8885)",
    DEFAULT_OPTION_TYPES.dlif_link_layer: "DLIF Link-layer Address (RFC8885)",
})


def _names(kind) -> dict:
    return {member.value: member.name for member in kind}


class Pmip6TimestampField(LongField):
    """RFC 5213 timestamps are 48.16 fixed point since 1970, not NTP time
    (scapy's ``NTPTimestampField`` would show the wrong date)."""

    def i2repr(self, pkt, x):
        seconds = timestamp_to_unix(x or 0)
        try:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
        except (OverflowError, OSError, ValueError):
            when = "out of range"
        return f"{x} ({when})"


def _option_layer(class_name: str, title: str, otype: int, olen, fields: list,
                  align=(0, 0)) -> type:
    """A scapy option layer: Type, Length (a value or a length field), fields.

    ``align`` is scapy's (x, y) for an xn+y alignment, used by its autopad.
    """
    length = olen if isinstance(olen, FieldLenField) else ByteField("olen", olen)
    return type(class_name, (_MIP6OptAlign,), {
        "__doc__": f"{title} option.", "__module__": __name__, "name": title,
        "fields_desc": [ByteEnumField("otype", otype, _TYPES), length, *fields],
        "x": align[0], "y": align[1]})


def _prefix_fields() -> list:
    """Reserved, Prefix Length, Prefix: HNP, Anchored and Local Prefix."""
    return [ByteField("reserved", 0), ByteField("plen", 64), IP6Field("prefix", "::")]


def _link_layer_layer(class_name: str, title: str, otype: int, name: str) -> type:
    """Reserved (16) then a link-layer address filling the rest of Length."""
    return _option_layer(
        class_name, title, otype,
        FieldLenField("olen", None, length_of=name, fmt="B", adjust=lambda pkt, x: x + 2),
        [ShortField("reserved", 0), StrLenField(name, b"", length_from=lambda pkt: pkt.olen - 2)],
        (2, 0))


MIP6OptHomeNetworkPrefix = _option_layer(  # RFC 5213 section 8.3
    "MIP6OptHomeNetworkPrefix", "PMIPv6 Option - Home Network Prefix",
    OptionType.HOME_NETWORK_PREFIX, 18, _prefix_fields(), (8, 4))
MIP6OptHandoffIndicator = _option_layer(  # RFC 5213 section 8.4
    "MIP6OptHandoffIndicator", "PMIPv6 Option - Handoff Indicator",
    OptionType.HANDOFF_INDICATOR, 2,
    [ByteField("reserved", 0), ByteEnumField("hi", HandoffIndicator.NEW_INTERFACE,
                                             _names(HandoffIndicator))])
MIP6OptAccessTechType = _option_layer(  # RFC 5213 section 8.5
    "MIP6OptAccessTechType", "PMIPv6 Option - Access Technology Type",
    OptionType.ACCESS_TECH_TYPE, 2,
    [ByteField("reserved", 0), ByteEnumField("att", AccessTechnology.IEEE_802_11,
                                             _names(AccessTechnology))])
MIP6OptMNLinkLayerId = _link_layer_layer(  # RFC 5213 section 8.6
    "MIP6OptMNLinkLayerId", "PMIPv6 Option - Mobile Node Link-layer Identifier",
    OptionType.MN_LINK_LAYER_ID, "lli")
MIP6OptLinkLocalAddress = _option_layer(  # RFC 5213 section 8.7
    "MIP6OptLinkLocalAddress", "PMIPv6 Option - Link-local Address",
    OptionType.LINK_LOCAL_ADDRESS, 16, [IP6Field("lla", "::")], (8, 6))
MIP6OptTimestamp = _option_layer(  # RFC 5213 section 8.8
    "MIP6OptTimestamp", "PMIPv6 Option - Timestamp",
    OptionType.TIMESTAMP, 8, [Pmip6TimestampField("timestamp", 0)], (8, 2))
# The DMM options: layouts of RFC 8885 section 4, alignments as options.py.
MIP6OptAnchoredPrefix = _option_layer(  # RFC 8885 section 4.3
    "MIP6OptAnchoredPrefix", "DMM Option - Anchored Prefix",
    DEFAULT_OPTION_TYPES.anchored_prefix, 18, _prefix_fields(), (8, 4))
MIP6OptLocalPrefix = _option_layer(  # RFC 8885 section 4.4
    "MIP6OptLocalPrefix", "DMM Option - Local Prefix",
    DEFAULT_OPTION_TYPES.local_prefix, 18, _prefix_fields(), (8, 4))
# Draft section 3.6.1 with the Reserved octet of RFC 8885 section 4.5.
MIP6OptPreviousMaar = _option_layer(
    "MIP6OptPreviousMaar", "DMM Option - Previous MAAR",
    DEFAULT_OPTION_TYPES.previous_maar, 34,
    [ByteField("reserved", 0), ByteField("plen", 64), IP6Field("pmaar", "::"),
     IP6Field("hnp", "::")], (8, 4))
MIP6OptServingMaar = _option_layer(  # draft 3.6.2, RFC 8885 section 4.6
    "MIP6OptServingMaar", "DMM Option - Serving MAAR",
    DEFAULT_OPTION_TYPES.serving_maar, 16, [IP6Field("smaar", "::")], (8, 6))
MIP6OptDlifLinkLocalAddress = _option_layer(  # RFC 8885 section 4.7
    "MIP6OptDlifLinkLocalAddress", "DMM Option - DLIF Link-local Address",
    DEFAULT_OPTION_TYPES.dlif_link_local, 16, [IP6Field("lla", "::")], (8, 6))
MIP6OptDlifLinkLayerAddress = _link_layer_layer(  # RFC 8885 section 4.8
    "MIP6OptDlifLinkLayerAddress", "DMM Option - DLIF Link-layer Address",
    DEFAULT_OPTION_TYPES.dlif_link_layer, "lla")


_PMIP6_LAYERS = (MIP6OptHomeNetworkPrefix, MIP6OptHandoffIndicator,
                 MIP6OptAccessTechType, MIP6OptMNLinkLayerId,
                 MIP6OptLinkLocalAddress, MIP6OptTimestamp)
#: The layer of each OptionTypes attribute.
_DMM_LAYERS = {"anchored_prefix": MIP6OptAnchoredPrefix, "local_prefix": MIP6OptLocalPrefix,
               "previous_maar": MIP6OptPreviousMaar, "serving_maar": MIP6OptServingMaar,
               "dlif_link_local": MIP6OptDlifLinkLocalAddress,
               "dlif_link_layer": MIP6OptDlifLinkLayerAddress}


def register_options(types: OptionTypes = DEFAULT_OPTION_TYPES) -> None:
    """Make scapy dispatch our option types to these layers.

    Called on import with the RFC 8885 numbers; call it again with the
    :class:`OptionTypes` of a deployment that uses other numbers (and set
    ``otype`` explicitly when crafting its DMM options).
    """
    layers = {layer.fields_desc[0].default: layer for layer in _PMIP6_LAYERS}
    layers.update({getattr(types, name): layer for name, layer in _DMM_LAYERS.items()})
    for otype, layer in layers.items():
        inet6.moboptcls[otype] = layer

register_options()
