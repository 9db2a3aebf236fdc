"""The draft's message sequences as lists, and the check of a captured
window of signalling against them.

A message is a dict as :func:`dmm_ryu.testbed.report.signalling` or
:func:`tshark_signalling` gives it (``from``, ``to``, ``type``,
``serving_maar``, ``previous_maars``, ``lifetime``, ``handoff``, ...).  Its
*key* is what the figures draw: who to whom, PBU or PBA, the draft's
options (Serving MAAR present, how many Previous MAAR options) and whether
it de-registers (lifetime 0).

Re-registrations are not part of any figure: messages with Handoff
Indicator 5 (the S-MAAR's refresh, a "renew" P-MAAR's lifetime-0 PBU, and
the PBAs echoing them) are set aside before comparing (:func:`set_aside`).
"""
from __future__ import annotations

import os
import subprocess
from collections import Counter
from ipaddress import IPv6Address
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from dmm_ryu.wire.mh.model import HandoffIndicator
from dmm_ryu.wire.wireshark import tshark_options

Key = Tuple[str, str, str, bool, int, bool]
REFRESH = int(HandoffIndicator.NOT_CHANGED)


def key(msg: dict) -> Key:
    return (msg["from"], msg["to"], msg["type"], msg["serving_maar"], msg["previous_maars"],
            msg["lifetime"] == 0)


def _k(frm: str, to: str, kind: str, serving: bool = False, previous: int = 0,
       dereg: bool = False) -> Key:
    return (frm, to, kind, serving, previous, dereg)


def handover(mode: str, s_maar: str, p_maars: Sequence[str]) -> List[Key]:
    """The exact list of a registration at ``s_maar`` whose other MAARs
    are ``p_maars`` (one prefix each): Figure 1 with none, else Figures 2
    (relay), 3 (locator) or 4 (proxy).  P-MAARs in the given order; on the
    wire they interleave (see :func:`problems`)."""
    pbu = [_k(s_maar, "cmd", "PBU")]
    to_s = [_k("cmd", s_maar, "PBA", previous=len(p_maars))]
    notify = [_k("cmd", p, "PBU", serving=True) for p in p_maars]
    answers = [_k(p, "cmd", "PBA", serving=True) for p in p_maars]
    if not p_maars:
        return pbu + to_s
    if mode == "relay":
        return pbu + notify + answers + to_s
    if mode == "proxy":
        return pbu + to_s + notify + answers
    if mode == "locator":
        direct = [m for p in p_maars for m in (_k(p, s_maar, "PBA"),
                                                _k(p, "cmd", "PBA", serving=True))]
        return pbu + notify + direct
    raise ValueError(f"no figure for mode {mode!r}")


def leave(s_maar: str, p_maars: Sequence[str]) -> List[Key]:
    """Section 3.5: only the S-MAAR de-registers the session (lifetime 0),
    the CMD acknowledges it and de-registers every P-MAAR, which answers."""
    return ([_k(s_maar, "cmd", "PBU", dereg=True), _k("cmd", s_maar, "PBA", dereg=True)]
            + [_k("cmd", p, "PBU", dereg=True) for p in p_maars]
            + [_k(p, "cmd", "PBA", dereg=True) for p in p_maars])


def pmipv6(mag: str, lma: str, dereg: bool = False, previous: Optional[str] = None) -> List[Key]:
    """RFC 5213 (pmipv6 mode): the MAG's PBU straight to the LMA and the
    LMA's PBA, nothing to or from the CMD; none when the MN is at the LMA
    itself (co-located MAG).  ``dereg``: the lifetime-0 pair of a leave.
    Coming from a ``previous`` MAG, the LMA then revokes that MAG's binding
    (RFC 5846 BRI) and the MAG answers (BRA)."""
    pair = [] if mag == lma else [_k(mag, lma, "PBU", dereg=dereg),
                                  _k(lma, mag, "PBA", dereg=dereg)]
    if previous not in (None, mag, lma):
        pair += [_k(lma, previous, "BRI"), _k(previous, lma, "BRA")]
    return pair


def previous_mag_dereg(msgs: List[dict], mag: str, lma: str) -> Tuple[List[dict], List[dict]]:
    """(the rest, the de-registrations of MAGs other than ``mag`` and the
    LMA's answers): RFC 5213's previous MAG de-registers when its detach
    guard ends, at a time set by ``detach_guard``, not by the move."""
    def other(m):
        peer = m["from"] if m["to"] == lma else m["to"]
        return m["lifetime"] == 0 and peer not in (mag, lma)
    return [m for m in msgs if not other(m)], [m for m in msgs if other(m)]


def set_aside(msgs: List[dict]) -> Tuple[List[dict], List[dict]]:
    """(the figure's messages, the re-registrations: HI 5 and their PBAs)."""
    kept = [m for m in msgs if m.get("handoff") != REFRESH]
    return kept, [m for m in msgs if m.get("handoff") == REFRESH]


def problems(expected: List[Key], msgs: List[dict], nodes: Sequence[str]) -> List[str]:
    """How the captured ``msgs`` (time order) differ from ``expected``:
    the same messages, as many of each, and for every node in ``nodes``
    (the P-MAARs) the messages it sends or receives, plus those between
    the S-MAAR and the CMD, in the figure's order."""
    seen = [key(m) for m in msgs]
    if Counter(seen) != Counter(expected):
        return [f"{len(seen)} messages where the figure has {len(expected)}: "
                f"missing {_diff(expected, seen)}, unexpected {_diff(seen, expected)}"]
    found = []
    for node in nodes:
        got, want = _projection(seen, node, nodes), _projection(expected, node, nodes)
        if got != want:
            found.append(f"order at {node}: {[k[:3] for k in got]} where the figure has "
                         f"{[k[:3] for k in want]}")
    return found


def _projection(keys: List[Key], node: str, nodes: Sequence[str]) -> List[Key]:
    """The messages ``node`` sends or receives, and those touching no node
    of ``nodes`` (between the S-MAAR and the CMD), in their order: the
    causal chain through ``node``, which no interleaving may reorder."""
    return [k for k in keys if node in k[:2] or not set(k[:2]) & set(nodes)]


def _diff(a: List[Key], b: List[Key]) -> list:
    return sorted((Counter(a) - Counter(b)).elements())


# --- decoded by Wireshark ---------------------------------------------------

FIELDS = ("frame.time_epoch", "ipv6.src", "ipv6.dst", "mip6.mhtype", "mip6.bu.seqnr",
          "mip6.ba.seqnr", "mip6.bu.lifetime", "mip6.ba.lifetime", "mip6.ba.status", "mip6.hi", "mip6.att",
          "dmm.serving_maar.address", "dmm.previous_maar.address", "dmm.bu.d_flag",
          "dmm.ba.d_flag", "_ws.malformed", "mip6.bri_br.type", "mip6.bri_seqnr",
          "mip6.bri_status")


def tshark_signalling(pcap: Path, name: Callable[[IPv6Address], str]) -> List[dict]:
    """Every PBU/PBA (and BRI/BRA) of ``pcap`` as Wireshark decodes it, with the project's
    Lua dissector for the RFC 8885 options and the D flag (an independent
    decoder: the codec's own reading is :func:`report.signalling`)."""
    args = ["tshark", *tshark_options(), "-r", str(pcap), "-Y", "mipv6", "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in FIELDS:
        args += ["-e", field]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "TZ": "UTC"})
    if "Lua" in out.stderr:
        raise RuntimeError(f"the Lua dissector failed: {out.stderr}")
    return [_row(dict(zip(FIELDS, line.split("\t"))), name) for line in out.stdout.splitlines()]


def _row(f: Dict[str, str], name: Callable[[IPv6Address], str]) -> dict:
    if f["mip6.mhtype"] == "16":
        return _revocation_row(f, name)
    pbu = f["mip6.mhtype"] == "5"
    part = "bu" if pbu else "ba"
    return {"t": float(f["frame.time_epoch"]), "from": name(IPv6Address(f["ipv6.src"])),
            "to": name(IPv6Address(f["ipv6.dst"])), "type": "PBU" if pbu else "PBA",
            "seq": int(f[f"mip6.{part}.seqnr"]), "lifetime": 4 * int(f[f"mip6.{part}.lifetime"]),
            "status": None if pbu else int(f["mip6.ba.status"]),
            "handoff": int(f["mip6.hi"]) if f["mip6.hi"] else None,
            "access_tech": int(f["mip6.att"]) if f["mip6.att"] else None,
            "serving_maar": bool(f["dmm.serving_maar.address"]),
            "previous_maars": len([a for a in f["dmm.previous_maar.address"].split(",") if a]),
            "d_flag": f[f"dmm.{part}.d_flag"] in ("1", "True"),
            "malformed": bool(f["_ws.malformed"])}


def _revocation_row(f: Dict[str, str], name: Callable[[IPv6Address], str]) -> dict:
    """An RFC 5846 BRI or BRA: no lifetime, no DMM options, no D flag."""
    bri = f["mip6.bri_br.type"] == "1"
    return {"t": float(f["frame.time_epoch"]), "from": name(IPv6Address(f["ipv6.src"])),
            "to": name(IPv6Address(f["ipv6.dst"])), "type": "BRI" if bri else "BRA",
            "seq": int(f["mip6.bri_seqnr"]), "lifetime": None,
            "status": None if bri else int(f["mip6.bri_status"]), "handoff": None,
            "access_tech": None, "serving_maar": False, "previous_maars": 0,
            "d_flag": False, "malformed": bool(f["_ws.malformed"])}
