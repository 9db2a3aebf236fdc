"""The mobility-domain file (YAML), parsed into typed, immutable values.

Like Faucet, every problem is reported as one :class:`InvalidConfigError`
whose message names the offending key (``maars.maar2.pool``) and the reason,
so an operator can fix the file without reading code.  A file :func:`parse`
accepts is one the controller can run: every value that reaches the wire,
the flow tables or a timer is checked here (finite, in range, unique where
it must be).  This module knows nothing about Ryu, OpenFlow or the protocol
core; ``dmm_ryu.runtime.assembly`` maps these values onto them.

Keys (defaults in brackets)::

    mode               relay | locator | proxy | pmipv6                    [proxy]
    lma                pmipv6 only: the name of the MAAR acting as LMA
    deregistration     serving-only | renew                               [serving-only]
    upstream_mac       unicast MAC of the upstream router        [0e:00:00:00:ff:fe]
    timers             lifetime (s, multiple of 4), refresh_ratio, retransmit_initial,
                       retransmit_max, retransmit_limit, aggregation_timeout,
                       prefix_idle (s an unused prefix is kept; 0 = never collected) [0],
                       timestamp_window (s a Timestamp may run ahead of our clock) [1]
    detach_guard       s a detached MN may take to reappear elsewhere   [10]
    mn_policy          listed | any: who may attach [listed with mn_ids, else any]
    mn_ids             MAC -> MN-ID (NAI); MN-IDs unique
    mn_id_template     MN-ID of an unlisted MAC under mn_policy any, one {mac} field
                                                                [{mac}@dmm.example]
    punt_rate          packets/s each access port may send to the controller [100]
    punt_burst         packets above punt_rate absorbed in a burst           [50]
    access_technology  RFC 5213 Access Technology Type: a name (802.11, 802.3,
                       802.16e, ppp, virtual) or a number 1..255             [802.11]
    option_types       {previous_maar, serving_maar}: option type numbers [67, 68]
    gateway            shared | dlif: one default router for the domain (RFC
                       5213's fixed link-local), or one DLIF per anchor
                       (RFC 8885, derived from each MAAR's dpid)          [shared]
    maars.NAME         dpid, address, pool, prefix_length [64], access_ports,
                       transport_ports (the first faces the fabric),
                       max_bindings (MNs served at once) [4096]
    cmd                address, port, and maar: NAME or dpid: N (own switch)

Bytes are read by :mod:`dmm_ryu.config.safeyaml` (no duplicate keys,
aliases or unbounded nesting); the MN policy is :mod:`dmm_ryu.config.mnpolicy`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Dict, Mapping, Optional, Tuple

from dmm_ryu.config import values as v
from dmm_ryu.config.mnpolicy import DEFAULT_TEMPLATE, parse_policy
from dmm_ryu.config.safeyaml import MAX_BYTES, load_yaml
from dmm_ryu.config.values import InvalidConfigError
from dmm_ryu.wire.mh.model import AccessTechnology
from dmm_ryu.wire.mh.options import DEFAULT_OPTION_TYPES, OptionTypes

__all__ = ["CmdSection", "DomainFile", "InvalidConfigError", "MaarSection", "load",
           "load_text", "parse"]

MODES = ("relay", "locator", "proxy", "pmipv6")
DEREGISTRATION_METHODS = ("serving-only", "renew")
GATEWAYS = ("shared", "dlif")
MAX_MAARS = 1024
MAX_BINDINGS = 1 << 20  # a 20-bit MPLS label numbers fewer prefixes per MAAR
DEFAULT_MAX_BINDINGS = 4096


@dataclass(frozen=True)
class MaarSection:
    """One MAAR: an OpenFlow switch with an exclusive prefix pool;
    ``max_bindings`` bounds the MNs it serves at once (an RS flood from
    fresh MACs cannot take the whole pool)."""

    name: str
    dpid: int
    address: IPv6Address
    pool: IPv6Network
    prefix_length: int
    access_ports: Tuple[int, ...]
    transport_ports: Tuple[int, ...]
    max_bindings: int = DEFAULT_MAX_BINDINGS


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
    """The whole mobility domain; ``notes`` are what the operator should know."""

    maars: Dict[str, MaarSection]
    cmd: CmdSection
    mode: str = "proxy"
    deregistration: str = "serving-only"
    upstream_mac: str = "0e:00:00:00:ff:fe"
    lma: Optional[str] = None
    timers: Mapping[str, float] = field(default_factory=dict)
    mn_ids: Dict[str, str] = field(default_factory=dict)
    mn_id_template: Optional[str] = DEFAULT_TEMPLATE
    detach_guard: float = 10.0
    mn_policy: str = "any"
    punt_rate: int = 100
    punt_burst: int = 50
    access_technology: int = AccessTechnology.IEEE_802_11
    option_types: OptionTypes = DEFAULT_OPTION_TYPES
    gateway: str = "shared"
    notes: Tuple[str, ...] = ()

    def maar_by_dpid(self, dpid: int) -> Optional[MaarSection]:
        """The MAAR configured for an OpenFlow datapath id, if any."""
        return next((m for m in self.maars.values() if m.dpid == dpid), None)

    def mn_id_for(self, mac: str) -> Optional[str]:
        """MN-ID (NAI) of a link-layer address; ``None`` if not authorised."""
        mac = mac.lower()
        if mac in self.mn_ids:
            return self.mn_ids[mac]
        if self.mn_policy != "any" or self.mn_id_template is None:
            return None
        return self.mn_id_template.format(mac=mac.replace(":", ""))


MAAR_KEYS = ("dpid", "address", "pool", "prefix_length", "access_ports", "transport_ports",
             "max_bindings")


def _maar(name: str, raw: Any) -> MaarSection:
    key = f"maars.{name}"
    raw = v.mapping(raw, key)
    v.only(raw, MAAR_KEYS, key)
    pool = v.network(v.need(raw, "pool", key), f"{key}.pool")
    plen = v.integer(raw.get("prefix_length", 64), f"{key}.prefix_length", 1, 128)
    if plen < pool.prefixlen:
        v.fail(f"{key}.prefix_length", f"/{plen} is shorter than the pool {pool}")
    access = v.ports(v.need(raw, "access_ports", key), f"{key}.access_ports")
    transport = v.ports(v.need(raw, "transport_ports", key), f"{key}.transport_ports")
    both = sorted(set(access) & set(transport))
    if both:
        v.fail(f"{key}.transport_ports", f"a port cannot be both access and transport ({both[0]})")
    return MaarSection(
        name=name,
        dpid=v.integer(v.need(raw, "dpid", key), f"{key}.dpid", 1),
        address=v.address(v.need(raw, "address", key), f"{key}.address"),
        pool=pool,
        prefix_length=plen,
        access_ports=access,
        transport_ports=transport,
        max_bindings=v.integer(raw.get("max_bindings", DEFAULT_MAX_BINDINGS),
                               f"{key}.max_bindings", 1, MAX_BINDINGS),
    )


def _check_exclusive(maars: Dict[str, MaarSection]) -> None:
    """Pools must be exclusive per MAAR (draft section 3); ids unique."""
    seen: Dict[Any, str] = {}
    for m in maars.values():
        for what, value in (("dpid", m.dpid), ("address", m.address)):
            other = seen.setdefault((what, value), m.name)
            if other != m.name:
                v.fail(f"maars.{m.name}.{what}", f"{value} already used by {other}")
    # Sorted by start, a block overlaps an earlier one iff it starts before
    # the furthest end seen so far: O(n log n) for any number of MAARs.
    ordered = sorted(maars.values(), key=lambda m: (m.pool.network_address, m.pool.prefixlen))
    reach = None
    for m in ordered:
        if reach is not None and m.pool.network_address <= reach.pool.broadcast_address:
            v.fail(f"maars.{m.name}.pool", f"{m.pool} overlaps {reach.name}'s {reach.pool}")
        if reach is None or m.pool.broadcast_address > reach.pool.broadcast_address:
            reach = m


def _maars(raw: Any) -> Dict[str, MaarSection]:
    raw = v.mapping(raw, "maars")
    if not raw:
        v.fail("maars", "at least one MAAR is required")
    if len(raw) > MAX_MAARS:
        v.fail("maars", f"{len(raw)} MAARs, at most {MAX_MAARS}")
    maars = {}
    for name, body in raw.items():
        v.name(name, f"maars.{name}")
        maars[name] = _maar(name, body)
    _check_exclusive(maars)
    return maars


def _cmd(raw: Any, maars: Dict[str, MaarSection]) -> CmdSection:
    raw = v.mapping(raw, "cmd")
    v.only(raw, ("address", "maar", "dpid", "port"), "cmd")
    if ("maar" in raw) == ("dpid" in raw):
        v.fail("cmd", "give either maar (CMD beside a MAAR) or dpid (its own switch)")
    maar = raw.get("maar")
    if "maar" in raw and (not isinstance(maar, str) or maar not in maars):
        v.fail("cmd.maar", f"unknown MAAR {v.short(maar)}")
    dpid = maars[maar].dpid if maar else v.integer(raw["dpid"], "cmd.dpid", 1)
    if maar is None and any(m.dpid == dpid for m in maars.values()):
        v.fail("cmd.dpid", f"{dpid} is a MAAR's switch: use cmd.maar instead")
    address = v.address(v.need(raw, "address", "cmd"), "cmd.address")
    if any(m.address == address for m in maars.values()):
        v.fail("cmd.address", f"{address} is also a MAAR address")
    port = v.integer(v.need(raw, "port", "cmd"), "cmd.port", 1, v.MAX_PORT)
    if maar and port in maars[maar].access_ports:
        v.fail("cmd.port", f"{port} is an access port of {maar}: MNs would reach the CMD")
    return CmdSection(address=address, dpid=dpid, port=port, maar=maar)


#: Timer keys the protocol core understands (dmm_ryu.core.config.Timers), as
#: (integer?, low, high, zero allowed); the core checks their mutual
#: consistency (dmm_ryu.runtime.assembly).
TIMERS = {
    "lifetime": (True, 4, 4 * 0xFFFF, False),
    "refresh_ratio": (False, 0.0, 1.0, False),
    "retransmit_initial": (False, 0.0, 3600.0, False),
    "retransmit_max": (False, 0.0, 3600.0, False),
    "retransmit_limit": (True, 1, 1000, False),
    "aggregation_timeout": (False, 0.0, 60.0, False),
    "prefix_idle": (False, 0.0, 30 * 86400.0, True),
    "timestamp_window": (False, 0.0, 3600.0, False),
}
TIMER_KEYS = tuple(TIMERS)


def _timers(raw: Any) -> Dict[str, float]:
    """Only the timers the file sets; the core's defaults fill the rest."""
    raw = v.mapping(raw, "timers")
    v.only(raw, TIMER_KEYS, "timers")
    out: Dict[str, float] = {}
    for name, value in raw.items():
        is_int, low, high, zero = TIMERS[name]
        key = f"timers.{name}"
        out[name] = (v.integer(value, key, low, high) if is_int
                     else v.number(value, key, low, high, zero))
    if out.get("lifetime", 4) % 4:
        v.fail("timers.lifetime", f"{out['lifetime']} is not a multiple of 4 (wire unit)")
    return out


def _access_technology(value: Any) -> int:
    """A name (``802.11``; YAML may read it as a float) or a type number."""
    names = {m.name.lower().removeprefix("ieee_").replace("_", "."): int(m)
             for m in AccessTechnology}
    names.update({m.name.lower(): int(m) for m in AccessTechnology})
    if isinstance(value, (str, float)) and str(value).lower() in names:
        return names[str(value).lower()]
    if isinstance(value, int) and not isinstance(value, bool):
        return v.integer(value, "access_technology", 1, 255)
    v.fail("access_technology", f"{value!r} is not one of {', '.join(sorted(names))} "
           "or a number 1..255")


def _option_types(raw: Any) -> OptionTypes:
    raw = v.mapping(raw, "option_types")
    v.only(raw, ("previous_maar", "serving_maar"), "option_types")
    chosen = {k: v.integer(raw.get(k, getattr(DEFAULT_OPTION_TYPES, k)), f"option_types.{k}", 1, 255)
              for k in ("previous_maar", "serving_maar")}
    try:
        return OptionTypes(**chosen)
    except ValueError as err:
        v.fail("option_types", str(err))


def _lma(raw: Mapping, mode: str, maars: Dict[str, MaarSection]) -> Optional[str]:
    lma = raw.get("lma")
    if mode != "pmipv6":
        if lma is not None:
            v.fail("lma", f"only used with mode pmipv6 (mode is {mode})")
        return None
    if not isinstance(lma, str) or lma not in maars:
        v.fail("lma", f"mode pmipv6 needs the LMA's MAAR name, got {v.short(lma)}")
    return lma


TOP_KEYS = ("maars", "cmd", "mode", "deregistration", "lma", "timers", "mn_ids",
            "mn_id_template", "upstream_mac", "detach_guard", "mn_policy", "punt_rate",
            "punt_burst", "access_technology", "option_types", "gateway")


def parse(raw: Any) -> DomainFile:
    """Validate a decoded YAML document and build the typed domain."""
    top = "(top level)"
    raw = v.mapping(raw, top)
    v.only(raw, TOP_KEYS, top)
    maars = _maars(v.need(raw, "maars", top))
    mode = v.choice(raw.get("mode", "proxy"), "mode", MODES)
    policy = parse_policy(raw)
    return DomainFile(
        maars=maars,
        cmd=_cmd(v.need(raw, "cmd", top), maars),
        mode=mode,
        deregistration=v.choice(raw.get("deregistration", "serving-only"), "deregistration",
                                DEREGISTRATION_METHODS),
        upstream_mac=v.mac(raw.get("upstream_mac", DomainFile.upstream_mac), "upstream_mac"),
        lma=_lma(raw, mode, maars),
        timers=_timers(raw.get("timers", {})),
        mn_ids=policy.mn_ids,
        mn_id_template=policy.template,
        detach_guard=v.number(raw.get("detach_guard", DomainFile.detach_guard), "detach_guard",
                              0.0, 3600.0),
        mn_policy=policy.policy,
        punt_rate=v.integer(raw.get("punt_rate", DomainFile.punt_rate), "punt_rate", 1, 10**6),
        punt_burst=v.integer(raw.get("punt_burst", DomainFile.punt_burst), "punt_burst", 1, 10**6),
        access_technology=_access_technology(raw.get("access_technology", "802.11")),
        option_types=_option_types(raw.get("option_types", {})),
        gateway=v.choice(raw.get("gateway", "shared"), "gateway", GATEWAYS),
        notes=policy.notes,
    )


def load_text(data) -> DomainFile:
    """Validate a domain file given as bytes or text."""
    return parse(load_yaml(data))


def load(path: str) -> DomainFile:
    """Read and validate a domain file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise InvalidConfigError(f"{path}: cannot read ({err.strerror})") from err
    return load_text(data)
