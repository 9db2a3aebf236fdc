"""A DomainView over fixed values, and a checker for the OpenAPI schemas.

The REST, metrics and dmmctl tests run against this fake instead of the Ryu
adapter; it answers through the same ``select_bindings``/``find_prefix``
helpers the adapter uses, so the filter semantics are the real ones.  The
schema checker covers the subset of OpenAPI 3.0 our document uses; no
validator package is pulled in for that.
"""
from __future__ import annotations

import bisect
from ipaddress import IPv6Address, IPv6Network, ip_address, ip_network
from typing import List, Optional

from dmm_ryu.ops.openapi import DOCUMENT
from dmm_ryu.ops.view import (
    BindingView, MaarView, PrefixBinding, PreviousMaarEntry, TunnelView,
    find_prefix, select_bindings,
)
from dmm_ryu.ops.runtime_view import maar_counts
from dmm_ryu.runtime.stats import Stats

ADDRESSES = {"maar1": IPv6Address("2001:db8:ff::1"), "maar2": IPv6Address("2001:db8:ff::2"),
             "maar3": IPv6Address("2001:db8:ff::3")}
POOLS = {"maar1": "2001:db8:1::/48", "maar2": "2001:db8:2::/48", "maar3": "2001:db8:3::/48"}
NOW = 1_700_000_000.0


def _held(prefix: str, anchor: str, serving: str) -> PrefixBinding:
    return PrefixBinding(IPv6Network(prefix), anchor, ADDRESSES[anchor], anchor == serving)


def _binding(mn_id: str, serving: str, held: List[tuple]) -> BindingView:
    prefixes = tuple(_held(p, a, serving) for p, a in held)
    previous = tuple(PreviousMaarEntry(p.anchor, p.anchor_address, p.prefix)
                     for p in prefixes if not p.local)
    return BindingView(mn_id, serving, ADDRESSES[serving], prefixes, previous,
                       lifetime=3600, registered_at=NOW - 60, expires_at=NOW + 3540,
                       last_update=NOW - 5)


def sample_bindings() -> List[BindingView]:
    """mn1 moved maar1 -> maar2 (one P-MAAR), mn2 never moved, mn3 on maar3."""
    return [
        _binding("mn1@dmm.example", "maar2",
                 [("2001:db8:1:1::/64", "maar1"), ("2001:db8:2:1::/64", "maar2")]),
        _binding("mn2@dmm.example", "maar1", [("2001:db8:1:2::/64", "maar1")]),
        _binding("mn3@dmm.example", "maar3", [("2001:db8:3:1::/64", "maar3")]),
    ]


def many_bindings(count: int) -> List[BindingView]:
    """``count`` MNs that never moved, spread over the three MAARs."""
    names = sorted(ADDRESSES)
    return [_binding(f"mn{i:05d}@dmm.example", names[i % 3],
                     [(f"2001:db8:{i % 3 + 1}:{i:x}::/64", names[i % 3])])
            for i in range(count)]


def _tunnels(name: str, bindings: List[BindingView]) -> tuple:
    """Tunnel ends implied by the bindings: the anchor end and the serving end."""
    ends = []
    for b in bindings:
        for p in b.prefixes:
            if p.local:
                continue
            if p.anchor == name:
                ends.append(TunnelView(p.prefix, b.serving_maar, b.serving_maar_address,
                                       "anchor", b.mn_id))
            if b.serving_maar == name:
                ends.append(TunnelView(p.prefix, p.anchor, p.anchor_address, "serving", b.mn_id))
    return tuple(ends)


def sample_maars(bindings: List[BindingView]) -> List[MaarView]:
    """maar3 is configured but its switch is not connected."""
    return [MaarView(name, dpid, ADDRESSES[name], IPv6Network(POOLS[name]), 64, 65536,
                     sum(p.anchor == name for b in bindings for p in b.prefixes),
                     name != "maar3", len(select_bindings(bindings, maar=name)),
                     _tunnels(name, bindings))
            for dpid, name in enumerate(sorted(ADDRESSES), start=1)]


def sample_stats() -> Stats:
    stats = Stats()
    for _ in range(3):
        stats.count("rx", "PBU")
    stats.count("tx", "PBA", 0)
    stats.count("tx", "PBA", 0)
    stats.count("tx", "PBA", 157)
    stats.count("tx", "RA")
    stats.error("mh_from_unknown_maar")
    for seconds in (0.004, 0.012, 0.03):
        stats.latency("proxy", seconds)
    stats.latency("relay", 1.5)
    return stats


class FakeView:
    """A DomainView over sample data (or the given bindings); ``fail`` makes
    every read raise.  ``bindings`` pages itself as ControllerView should, and
    records each (limit, after, returned) in ``pages_asked``."""

    def __init__(self, fail: bool = False, bindings: Optional[List[BindingView]] = None) -> None:
        self.fail = fail
        self._bindings = sorted(sample_bindings() if bindings is None else bindings,
                                key=lambda b: b.mn_id)
        self._mn_ids = [b.mn_id for b in self._bindings]
        self.pages_asked: List[tuple] = []
        self._maars = sample_maars(self._bindings)
        self._stats = sample_stats()
        self.health_status = "ok"
        self.deregistered: List[str] = []

    def _check(self) -> None:
        if self.fail:
            raise RuntimeError("view exploded")

    def bindings(self, maar: Optional[str] = None, prefix: Optional[IPv6Network] = None,
                 limit: Optional[int] = None, after: Optional[str] = None) -> List[BindingView]:
        """Filtered from the first MN-ID above ``after``, stopping at ``limit``."""
        self._check()
        start = 0 if after is None else bisect.bisect_right(self._mn_ids, after)
        found: List[BindingView] = []
        for binding in self._bindings[start:]:
            if limit is not None and len(found) == limit:
                break
            found += select_bindings([binding], maar, prefix)
        self.pages_asked.append((limit, after, len(found)))
        return found

    def binding(self, mn_id: str) -> Optional[BindingView]:
        self._check()
        return next((b for b in self._bindings if b.mn_id == mn_id), None)

    def maars(self) -> List[MaarView]:
        self._check()
        return list(self._maars)

    def maar(self, name: str) -> Optional[MaarView]:
        self._check()
        return next((m for m in self._maars if m.name == name), None)

    def prefix(self, p: IPv6Network):
        self._check()
        return find_prefix(self._bindings, p)

    def stats(self) -> Stats:
        return self._stats

    def health(self) -> dict:
        self._check()
        return {"status": self.health_status, "maars_connected": 2, "maars_total": 3,
                "bindings": len(self._bindings),
                "maars": {m.name: maar_counts(m) for m in self._maars}}

    def deregister(self, mn_id: str) -> bool:
        self._check()
        if self.binding(mn_id) is None:
            return False
        self.deregistered.append(mn_id)
        return True


class SchemaError(AssertionError):
    pass


def response_schema(template: str, method: str, status: int) -> dict:
    """The schema the document promises for this operation and status."""
    operation = DOCUMENT["paths"][template][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {template} may not answer {status}"
    return responses[str(status)]["content"]["application/json"]["schema"]


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]]


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
          "integer": int, "number": (int, float)}


def validate(value, schema: dict, where: str = "$") -> None:
    """Raise SchemaError unless ``value`` fits ``schema`` (OpenAPI 3.0 subset:
    $ref, type, nullable, enum, minimum/maximum, required, properties,
    additionalProperties, items, and our formats ipv6 / ipv6-prefix)."""
    schema = _resolve(schema)
    if value is None and schema.get("nullable"):
        return
    _check_type(value, schema, where)
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"{where}: {value!r} not in {schema['enum']}")
    _check_range(value, schema, where)
    _check_format(value, schema.get("format"), where)
    if isinstance(value, dict):
        _check_object(value, schema, where)
    if isinstance(value, list):
        for index, item in enumerate(value):
            validate(item, schema["items"], f"{where}[{index}]")


def _check_type(value, schema: dict, where: str) -> None:
    expected = schema.get("type")
    if expected is None:
        return
    is_bool = isinstance(value, bool)
    if not isinstance(value, _TYPES[expected]) or (is_bool and expected != "boolean"):
        raise SchemaError(f"{where}: {value!r} is not {expected}")


def _check_range(value, schema: dict, where: str) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        raise SchemaError(f"{where}: {value} below {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise SchemaError(f"{where}: {value} above {schema['maximum']}")


def _check_format(value, fmt: Optional[str], where: str) -> None:
    parse = {"ipv6": ip_address, "ipv6-prefix": ip_network}.get(fmt)
    if parse is None:
        return
    try:
        assert parse(value).version == 6
    except (ValueError, AssertionError):
        raise SchemaError(f"{where}: {value!r} is not {fmt}") from None


def _check_object(value: dict, schema: dict, where: str) -> None:
    for key in schema.get("required", []):
        if key not in value:
            raise SchemaError(f"{where}: missing {key!r}")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            validate(item, properties[key], f"{where}.{key}")
        elif extra is False:
            raise SchemaError(f"{where}: unexpected {key!r}")
        elif isinstance(extra, dict):
            validate(item, extra, f"{where}.{key}")
