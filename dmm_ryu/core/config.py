"""Typed configuration of the protocol core.

The Ryu adapter's YAML loader builds these objects; the core only reads them.
Everything a node of the domain must agree on (the CMD's address, the mode,
the de-registration method, the timers) sits in one shared
:class:`DomainConfig`, so a MAAR and the CMD cannot be configured with two
different modes by accident.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import FrozenSet, Mapping, Optional

from dmm_ryu.wire.mh.model import MAX_LIFETIME, AccessTechnology


class ConfigError(ValueError):
    """One clear message about the first inconsistency found."""


class Mode(str, enum.Enum):
    """Role of the CMD (draft 3.2-3.4), or the PMIPv6 fallback (draft A.5)
    as plain RFC 5213 without the CMD (:mod:`dmm_ryu.core.lma`)."""

    RELAY = "relay"
    LOCATOR = "locator"
    PROXY = "proxy"
    PMIPV6 = "pmipv6"


class Dereg(str, enum.Enum):
    """The two de-registration methods of draft 3.5."""

    SERVING_ONLY = "serving-only"
    RENEW = "renew"


@dataclass(frozen=True)
class Timers:
    """Lifetimes in seconds (multiples of 4, as on the wire); delays in seconds."""

    lifetime: int = 400
    refresh_ratio: float = 0.8
    retransmit_initial: float = 1.0
    retransmit_max: float = 8.0
    retransmit_limit: int = 6
    aggregation_timeout: float = 0.5
    detach_guard: float = 10.0
    #: seconds a prefix no MN uses is kept before it returns to the pool; 0 = never
    prefix_idle: float = 0.0
    #: how far a Timestamp option may lie ahead of the receiver's clock
    #: (RFC 5213 5.5 TimestampValidityWindow; status 156 beyond it)
    timestamp_window: float = 1.0

    def check(self) -> None:
        if self.lifetime <= 0 or self.lifetime % 4 or self.lifetime > MAX_LIFETIME:
            raise ConfigError(f"lifetime {self.lifetime} must be a positive multiple of 4")
        if not 0 < self.refresh_ratio < 1:
            raise ConfigError("refresh_ratio must lie strictly between 0 and 1")
        if not 0 < self.retransmit_initial <= self.retransmit_max:
            raise ConfigError("need 0 < retransmit_initial <= retransmit_max")
        if self.retransmit_limit < 1 or self.aggregation_timeout <= 0:
            raise ConfigError("retransmit_limit >= 1 and aggregation_timeout > 0")
        if not 0 < self.detach_guard < float("inf"):
            raise ConfigError("detach_guard must be a positive, finite number of seconds")
        if self.prefix_idle < 0:
            raise ConfigError("prefix_idle must be >= 0 (0 keeps prefixes until the session ends)")
        if not 0 < self.timestamp_window < float("inf"):
            raise ConfigError("timestamp_window must be a positive, finite number of seconds")


@dataclass(frozen=True)
class Dlif:
    """A MAAR's distributed logical interface (RFC 8885): the link-local
    address and MAC an S-MAAR presents to an MN for prefixes that MAAR
    anchors; signalled in DLIF Link-local (69) and Link-layer (70) options."""

    link_local: IPv6Address
    mac: bytes


@dataclass(frozen=True)
class DomainConfig:
    """What every node of one mobility domain shares.

    ``lma`` is the address of the MAAR that is the RFC 5213 LMA in
    ``Mode.PMIPV6`` (it anchors every prefix; the other MAARs are MAGs
    that signal it directly, and the CMD takes no part).

    ``dlifs`` maps each MAAR's address to its :class:`Dlif` with
    ``gateway: dlif``; empty for the shared gateway, and then no DLIF
    option is sent.
    """

    cmd: IPv6Address
    mode: Mode = Mode.PROXY
    dereg: Dereg = Dereg.SERVING_ONLY
    timers: Timers = field(default_factory=Timers)
    lma: Optional[IPv6Address] = None
    access_tech: int = AccessTechnology.IEEE_802_11
    dlifs: Mapping[IPv6Address, Dlif] = field(default_factory=dict)

    def check(self) -> None:
        self.timers.check()
        if (self.mode is Mode.PMIPV6) != (self.lma is not None):
            raise ConfigError("an LMA address is required in pmipv6 mode, and only there")


@dataclass(frozen=True)
class Pool:
    """The usable part of one MAAR's pool and the length of the prefixes it
    hands out: the only prefixes signalling may name for that MAAR."""

    network: IPv6Network
    prefix_len: int = 64

    def holds(self, prefix: IPv6Network) -> bool:
        return prefix.prefixlen == self.prefix_len and prefix.network_address in self.network


@dataclass(frozen=True)
class MaarConfig:
    """One MAAR: ``pool`` is exclusive to it and handed out in /``prefix_len``;
    ``max_bindings`` bounds its BCEs (MNs served here or anchored here; None:
    the pool's size); ``peers`` holds every MAAR's pool (its own entry, if
    any, is replaced by ``pool``): the only addresses and prefixes the CMD's
    messages and direct PBAs may name."""

    name: str
    address: IPv6Address
    pool: IPv6Network
    domain: DomainConfig
    prefix_len: int = 64
    max_bindings: Optional[int] = None
    peers: Mapping[IPv6Address, Pool] = field(default_factory=dict)

    def check(self) -> None:
        self.domain.check()
        if self.max_bindings is not None and self.max_bindings < 1:
            raise ConfigError(f"{self.name}: max_bindings must be at least 1")
        if not self.pool.prefixlen <= self.prefix_len <= 128:
            raise ConfigError(f"{self.name}: cannot cut /{self.prefix_len} out of {self.pool}")
        if self.domain.cmd in self.peers:
            raise ConfigError(f"{self.name}: the CMD's address cannot be a MAAR's")

    @property
    def pools(self) -> Mapping[IPv6Address, Pool]:
        """Every MAAR's pool, this one's included."""
        return {**self.peers, self.address: Pool(self.pool, self.prefix_len)}

    @property
    def anchors_locally(self) -> bool:
        """PMIPv6 MAGs anchor nothing: every prefix comes from the LMA."""
        return self.domain.mode is not Mode.PMIPV6 or self.domain.lma == self.address


@dataclass(frozen=True)
class CmdConfig:
    """The CMD: ``maars`` is the set of MAARs allowed to register (else 154).

    ``max_bindings`` bounds the binding cache; a registration beyond it is
    refused with status 130 (insufficient resources).  ``pools`` holds each
    MAAR's usable pool: a MAAR may claim only prefixes of its own (else 155).
    """

    domain: DomainConfig
    maars: FrozenSet[IPv6Address]
    max_bindings: Optional[int] = None
    pools: Mapping[IPv6Address, Pool] = field(default_factory=dict)

    def check(self) -> None:
        self.domain.check()
        if set(self.pools) != set(self.maars):
            raise ConfigError("every MAAR needs its pool at the CMD, and only MAARs have one")
        if self.domain.lma is not None and self.domain.lma not in self.maars:
            raise ConfigError("the pmipv6 LMA must be one of the configured MAARs")

    @property
    def address(self) -> IPv6Address:
        return self.domain.cmd
