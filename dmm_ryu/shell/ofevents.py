"""Reading OpenFlow events the shell reacts to, framework-free."""
from __future__ import annotations

from typing import Tuple

#: OpenFlow 1.3 message type names by number, for error logs.
_MSG_TYPES = {14: "FLOW_MOD", 13: "PACKET_OUT", 15: "GROUP_MOD", 29: "METER_MOD",
              4: "EXPERIMENTER (bundle)", 18: "MULTIPART_REQUEST", 24: "ROLE_REQUEST"}


def is_link_down(msg) -> bool:
    """A port status saying the port went away or lost its link."""
    ofp = msg.datapath.ofproto
    return msg.reason == ofp.OFPPR_DELETE or bool(msg.desc.state & ofp.OFPPS_LINK_DOWN)


def live_ports(ports, ofp) -> list:
    """The port numbers of a port description whose link is up."""
    return [p.port_no for p in ports if not p.state & ofp.OFPPS_LINK_DOWN]


def error_summary(msg) -> Tuple[str, str]:
    """The counter reason and the log text of an OpenFlow error message:
    its type, code, xid and the kind of message it refuses (the switch
    echoes the first bytes of that message)."""
    data = bytes(msg.data or b"")
    refused = _MSG_TYPES.get(data[1], f"type {data[1]}") if len(data) > 1 else "unknown"
    reason = f"of_error_{msg.type}_{msg.code}"
    return reason, f"error type {msg.type} code {msg.code} xid {msg.xid} refusing {refused}"
