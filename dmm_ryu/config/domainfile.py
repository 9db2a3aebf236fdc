"""The mobility-domain file (YAML), parsed into typed, immutable values.

Like Faucet, every problem is reported as one :class:`InvalidConfigError`
whose message names the offending key (``maars.maar2.pool``) and the reason,
so an operator can fix the file without reading code.  This module knows
nothing about Ryu, OpenFlow or the protocol core; the adapter maps these
values onto them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

MODES = ("relay", "locator", "proxy", "pmipv6")
DEREGISTRATION_METHODS = ("serving-only", "renew")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class InvalidConfigError(ValueError):
    """The domain file is unusable; the message names the key and why."""


@dataclass(frozen=True)
class MaarSection:
    """One MAAR: an OpenFlow switch with an exclusive prefix pool."""

    name: str
    dpid: int
    address: IPv6Address
    pool: IPv6Network
    prefix_length: int
    access_ports: Tuple[int, ...]
    transport_ports: Tuple[int, ...]


@dataclass(frozen=True)
class CmdSection:
    """Where the Central Mobility Database is reached on the wire.

    The CMD sits behind ``port`` of either a MAAR's switch (``maar`` names
    it) or a switch of its own (``maar`` is None), identified by ``dpid``.
    """

    address: IPv6Address
    dpid: int
    port: int
    maar: Optional[str] = None


@dataclass(frozen=True)
class DomainFile:
    """The whole mobility domain."""

    maars: Dict[str, MaarSection]
    cmd: CmdSection
    mode: str = "proxy"
    deregistration: str = "serving-only"
    upstream_mac: str = "0e:00:00:00:ff:fe"
    lma: Optional[str] = None
    timers: Mapping[str, float] = field(default_factory=dict)
    mn_ids: Dict[str, str] = field(default_factory=dict)
    mn_id_template: Optional[str] = "{mac}@dmm.example"
    detach_guard: float = 10.0

    def maar_by_dpid(self, dpid: int) -> Optional[MaarSection]:
        """The MAAR configured for an OpenFlow datapath id, if any."""
        return next((m for m in self.maars.values() if m.dpid == dpid), None)

    def mn_id_for(self, mac: str) -> Optional[str]:
        """MN-ID (NAI) of a link-layer address; ``None`` if not authorised."""
        mac = mac.lower()
        if mac in self.mn_ids:
            return self.mn_ids[mac]
        if self.mn_id_template is None:
            return None
        return self.mn_id_template.format(mac=mac.replace(":", ""))


def _fail(key: str, reason: str):
    raise InvalidConfigError(f"{key}: {reason}")


def _need(raw: Mapping, name: str, key: str) -> Any:
    if name not in raw:
        _fail(f"{key}.{name}", "missing")
    return raw[name]


def _mapping(value: Any, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        _fail(key, f"expected a mapping, got {type(value).__name__}")
    return value


def _only(raw: Mapping, allowed: Tuple[str, ...], key: str) -> None:
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        _fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(allowed)})")


def _int(value: Any, key: str, low: int = 0, high: int = 2**64 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(key, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        _fail(key, f"{value} out of range {low}..{high}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        _fail(key, f"expected a positive number, got {value!r}")
    return float(value)


def _address(value: Any, key: str) -> IPv6Address:
    try:
        return IPv6Address(str(value))
    except ValueError as err:
        _fail(key, f"not an IPv6 address ({err})")


def _network(value: Any, key: str) -> IPv6Network:
    try:
        return IPv6Network(str(value))
    except ValueError as err:
        _fail(key, f"not an IPv6 prefix ({err})")


def _ports(value: Any, key: str) -> Tuple[int, ...]:
    if not isinstance(value, list) or not value:
        _fail(key, "expected a non-empty list of port numbers")
    ports = tuple(_int(p, f"{key}[{i}]", 1, 0xFFFFFF00) for i, p in enumerate(value))
    if len(set(ports)) != len(ports):
        _fail(key, "duplicate port")
    return ports


MAAR_KEYS = ("dpid", "address", "pool", "prefix_length", "access_ports", "transport_ports")


def _maar(name: str, raw: Any) -> MaarSection:
    key = f"maars.{name}"
    raw = _mapping(raw, key)
    _only(raw, MAAR_KEYS, key)
    pool = _network(_need(raw, "pool", key), f"{key}.pool")
    plen = _int(raw.get("prefix_length", 64), f"{key}.prefix_length", 1, 128)
    if plen < pool.prefixlen:
        _fail(f"{key}.prefix_length", f"/{plen} is shorter than the pool {pool}")
    access = _ports(_need(raw, "access_ports", key), f"{key}.access_ports")
    transport = _ports(_need(raw, "transport_ports", key), f"{key}.transport_ports")
    if set(access) & set(transport):
        _fail(f"{key}.transport_ports", "a port cannot be both access and transport")
    return MaarSection(
        name=name,
        dpid=_int(_need(raw, "dpid", key), f"{key}.dpid", 1),
        address=_address(_need(raw, "address", key), f"{key}.address"),
        pool=pool,
        prefix_length=plen,
        access_ports=access,
        transport_ports=transport,
    )


def _check_exclusive(maars: Dict[str, MaarSection]) -> None:
    """Pools must be exclusive per MAAR (draft section 3); ids unique."""
    seen: Dict[Any, str] = {}
    for m in maars.values():
        for what, value in (("dpid", m.dpid), ("address", m.address)):
            other = seen.setdefault((what, value), m.name)
            if other != m.name:
                _fail(f"maars.{m.name}.{what}", f"{value} already used by {other}")
    for a in maars.values():
        for b in maars.values():
            if a.name < b.name and a.pool.overlaps(b.pool):
                _fail(f"maars.{b.name}.pool", f"{b.pool} overlaps {a.name}'s {a.pool}")


def _maars(raw: Any) -> Dict[str, MaarSection]:
    raw = _mapping(raw, "maars")
    if not raw:
        _fail("maars", "at least one MAAR is required")
    maars = {str(name): _maar(str(name), body) for name, body in raw.items()}
    _check_exclusive(maars)
    return maars


def _cmd(raw: Any, maars: Dict[str, MaarSection]) -> CmdSection:
    raw = _mapping(raw, "cmd")
    _only(raw, ("address", "maar", "dpid", "port"), "cmd")
    if ("maar" in raw) == ("dpid" in raw):
        _fail("cmd", "give either maar (CMD beside a MAAR) or dpid (its own switch)")
    maar = str(raw["maar"]) if "maar" in raw else None
    if maar is not None and maar not in maars:
        _fail("cmd.maar", f"unknown MAAR {maar!r}")
    dpid = maars[maar].dpid if maar else _int(raw["dpid"], "cmd.dpid", 1)
    if maar is None and any(m.dpid == dpid for m in maars.values()):
        _fail("cmd.dpid", f"{dpid} is a MAAR's switch: use cmd.maar instead")
    address = _address(_need(raw, "address", "cmd"), "cmd.address")
    if any(m.address == address for m in maars.values()):
        _fail("cmd.address", f"{address} is also a MAAR address")
    return CmdSection(address=address, dpid=dpid, port=_int(_need(raw, "port", "cmd"), "cmd.port", 1),
                     maar=maar)


#: Timer keys the protocol core understands (dmm_ryu.core.config.Timers);
#: the core checks their mutual consistency (dmm_ryu.runtime.assembly).
TIMER_KEYS = ("lifetime", "refresh_ratio", "retransmit_initial", "retransmit_max",
              "retransmit_limit", "aggregation_timeout")
INTEGER_TIMERS = ("lifetime", "retransmit_limit")


def _timers(raw: Any) -> Dict[str, float]:
    """Only the timers the file sets; the core's defaults fill the rest."""
    raw = _mapping(raw, "timers")
    _only(raw, TIMER_KEYS, "timers")
    out: Dict[str, float] = {}
    for name, value in raw.items():
        key = f"timers.{name}"
        out[name] = _int(value, key, 1, 4 * 0xFFFF) if name in INTEGER_TIMERS else _number(value, key)
    if out.get("lifetime", 4) % 4:
        _fail("timers.lifetime", f"{out['lifetime']} is not a multiple of 4 (wire unit)")
    return out


def _mac(value: Any, key: str) -> str:
    mac = str(value).lower()
    if not MAC_RE.match(mac):
        _fail(key, "not a MAC address (aa:bb:cc:dd:ee:ff)")
    return mac


def _mn_ids(raw: Any) -> Dict[str, str]:
    raw = _mapping(raw, "mn_ids")
    out = {}
    for mac, nai in raw.items():
        mac_s = _mac(mac, f"mn_ids.{mac}")
        if not isinstance(nai, str) or not nai or len(nai.encode()) > 250:
            _fail(f"mn_ids.{mac}", "MN-ID must be a non-empty NAI string (≤ 250 octets)")
        out[mac_s] = nai
    return out


def _choice(raw: Mapping, name: str, choices: Tuple[str, ...], default: str) -> str:
    value = raw.get(name, default)
    if value not in choices:
        _fail(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


TOP_KEYS = ("maars", "cmd", "mode", "deregistration", "lma", "timers", "mn_ids",
            "mn_id_template", "upstream_mac", "detach_guard")


def parse(raw: Any) -> DomainFile:
    """Validate a decoded YAML document and build the typed domain."""
    raw = _mapping(raw, "(top level)")
    _only(raw, TOP_KEYS, "(top level)")
    maars = _maars(_need(raw, "maars", "(top level)"))
    mode = _choice(raw, "mode", MODES, "proxy")
    lma = raw.get("lma")
    if mode == "pmipv6" and lma not in maars:
        _fail("lma", f"mode pmipv6 needs the LMA's MAAR name, got {lma!r}")
    template = raw.get("mn_id_template", DomainFile.mn_id_template)
    if template is not None and "{mac}" not in str(template):
        _fail("mn_id_template", "must contain {mac} (or be null to refuse unknown MNs)")
    return DomainFile(
        maars=maars,
        cmd=_cmd(_need(raw, "cmd", "(top level)"), maars),
        mode=mode,
        deregistration=_choice(raw, "deregistration", DEREGISTRATION_METHODS, "serving-only"),
        upstream_mac=_mac(raw.get("upstream_mac", DomainFile.upstream_mac), "upstream_mac"),
        lma=lma if mode == "pmipv6" else None,
        timers=_timers(raw.get("timers", {})),
        mn_ids=_mn_ids(raw.get("mn_ids", {})),
        mn_id_template=template,
        detach_guard=_number(raw.get("detach_guard", DomainFile.detach_guard), "detach_guard"),
    )


def load(path: str) -> DomainFile:
    """Read and validate a domain file."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
    except OSError as err:
        raise InvalidConfigError(f"{path}: cannot read ({err.strerror})") from err
    except yaml.YAMLError as err:
        raise InvalidConfigError(f"{path}: not valid YAML ({err})") from err
    return parse(raw)

