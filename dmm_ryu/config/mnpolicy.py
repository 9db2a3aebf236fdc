"""Which MNs the domain serves, and under which MN-ID (NAI).

``mn_policy: listed`` serves only the MACs of ``mn_ids``; ``mn_policy: any``
serves every MAC, deriving the MN-ID of an unlisted one from
``mn_id_template``.  Authorising any MAC must be a choice: a file with
``mn_ids`` defaults to ``listed``; only a file with neither ``mn_ids`` nor
``mn_policy`` keeps the old behaviour (``any``), with a note saying so.

The template is checked the way the runtime will use it: ``str.format`` with
one field, ``mac``.  ``"{mac}@{domain}"`` would raise ``KeyError`` at the
first attachment, so any other field, index, conversion or format spec is
refused, and the result must be a valid MN-ID.  Two MACs must never share an
MN-ID (one BCE would then serve two MNs).
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from dmm_ryu.config import values as v

POLICIES = ("listed", "any")
DEFAULT_TEMPLATE = "{mac}@dmm.example"
MAX_LISTED = 100_000


@dataclass(frozen=True)
class MnPolicy:
    """The parsed ``mn_policy``, ``mn_ids`` and ``mn_id_template``."""

    policy: str
    mn_ids: Dict[str, str]
    template: Optional[str]
    notes: Tuple[str, ...] = ()


def template_pattern(template: str) -> "re.Pattern[str]":
    """A regex matching what ``template`` produces, the MAC's digits captured."""
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append("([0-9a-f]{12})")
    return re.compile("".join(parts))


def _template(value: Any) -> str:
    key = "mn_id_template"
    if not isinstance(value, str):
        v.fail(key, f"expected a string with {{mac}}, got {type(value).__name__}")
    try:
        fields = [f for f in string.Formatter().parse(value) if f[1] is not None]
    except ValueError as err:
        v.fail(key, f"not a format string ({err})")
    if not fields:
        v.fail(key, "must contain {mac} (or set mn_policy: listed)")
    for _, field, spec, conversion in fields:
        if field != "mac" or spec or conversion:
            v.fail(key, f"only the field {{mac}} is allowed, found {{{field}...}}")
    v.nai(value.format(mac="0" * 12), key)
    return value


def _mn_ids(raw: Any) -> Dict[str, str]:
    raw = v.mapping(raw, "mn_ids")
    if len(raw) > MAX_LISTED:
        v.fail("mn_ids", f"{len(raw)} MNs, at most {MAX_LISTED}")
    out: Dict[str, str] = {}
    owner: Dict[str, str] = {}
    for mac, nai in raw.items():
        key = f"mn_ids.{mac}"
        mac_s = v.mac(mac, key)
        if mac_s in out:
            v.fail(key, f"{mac_s} is listed twice")
        out[mac_s] = v.nai(nai, key)
        other = owner.setdefault(nai, mac_s)
        if other != mac_s:
            v.fail(key, f"MN-ID {nai!r} is already {other}'s")
    return out


def _no_template_clash(mn_ids: Mapping[str, str], template: str) -> None:
    """A listed MN-ID that the template gives another MAC would merge two MNs."""
    pattern = template_pattern(template)
    for mac, nai in mn_ids.items():
        match = pattern.fullmatch(nai)
        if match and len(set(match.groups())) == 1 and match.group(1) != mac.replace(":", ""):
            v.fail(f"mn_ids.{mac}", f"MN-ID {nai!r} is what mn_id_template gives another MAC")


def parse_policy(raw: Mapping) -> MnPolicy:
    """The MN policy of the top-level mapping ``raw``."""
    mn_ids = _mn_ids(raw.get("mn_ids", {}))
    given = raw.get("mn_id_template", DEFAULT_TEMPLATE)
    template = None if given is None else _template(given)
    notes: Tuple[str, ...] = ()
    if "mn_policy" in raw:
        policy = v.choice(raw["mn_policy"], "mn_policy", POLICIES)
    elif mn_ids or template is None:
        policy = "listed"
    else:
        policy = "any"
        notes = ("mn_policy: not set, so any MAC is served (MN-ID from mn_id_template); "
                 "list the MNs in mn_ids or set mn_policy: any to make it explicit",)
    if policy == "any" and template is None:
        v.fail("mn_id_template", "mn_policy any needs a template to name unlisted MNs")
    if policy == "listed":
        if "mn_id_template" in raw and template is not None:
            v.fail("mn_id_template", "only used with mn_policy: any (unlisted MNs are refused)")
        template = None
        if not mn_ids:
            notes = ("mn_policy: listed and mn_ids is empty: no MN can attach",)
    else:
        _no_template_clash(mn_ids, template)
    return MnPolicy(policy, mn_ids, template, notes)
