"""A read-only view of the live mobility domain, for REST, metrics and dmmctl.

The operator-facing modules never touch core internals (the CMD's binding
store, a MAAR's pool): these small frozen values are built from the nodes'
snapshots at the moment they are asked for, and the runtime feeds one
:class:`~dmm_ryu.runtime.stats.Stats` recorder as messages cross it.  The values carry their own ``to_json()`` so
the REST API, dmmctl and the OpenAPI document agree on one shape.

Pure Python on purpose: no Prometheus or WebOb here, so the adapter and the
tests can build and feed a view without either.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Iterable, List, NamedTuple, Optional, Protocol, Tuple, runtime_checkable

from dmm_ryu.runtime.stats import Stats

def _plain(value):
    """A field as JSON: addresses and prefixes as text, nested views as objects."""
    if isinstance(value, (IPv6Address, IPv6Network)):
        return str(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


class _JsonFields:
    """``to_json()`` from the dataclass fields, so a new field cannot be
    forgotten in the REST answer (the OpenAPI test then notices it)."""

    def to_json(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class PrefixBinding(_JsonFields):
    """One prefix of a session and the MAAR that anchors it."""

    prefix: IPv6Network
    anchor: str
    anchor_address: IPv6Address
    local: bool


class PreviousMaarEntry(NamedTuple):
    """A P-MAAR of the session: where ``prefix`` stays anchored."""

    maar: str
    address: IPv6Address
    prefix: IPv6Network

    def to_json(self) -> dict:
        return {key: _plain(value) for key, value in self._asdict().items()}


@dataclass(frozen=True)
class BindingView(_JsonFields):
    """The CMD's BCE for one MN, with MAAR names resolved for operators."""

    mn_id: str
    serving_maar: str
    serving_maar_address: IPv6Address
    prefixes: Tuple[PrefixBinding, ...]
    previous_maars: Tuple[PreviousMaarEntry, ...]
    lifetime: int
    registered_at: float
    expires_at: float
    last_update: float

    def involves(self, maar: str) -> bool:
        """True if ``maar`` serves the MN or anchors one of its prefixes."""
        return maar == self.serving_maar or any(p.anchor == maar for p in self.prefixes)

    def holds_within(self, network: IPv6Network) -> bool:
        """True if one of the session's prefixes is ``network`` or inside it."""
        return any(p.prefix.subnet_of(network) for p in self.prefixes)


@dataclass(frozen=True)
class TunnelView(_JsonFields):
    """One tunnel end on a MAAR: ``anchor`` forwards toward the serving MAAR,
    ``serving`` toward the anchor of ``prefix``."""

    prefix: IPv6Network
    peer: str
    peer_address: IPv6Address
    role: str
    mn_id: str


@dataclass(frozen=True)
class MaarView(_JsonFields):
    """A configured MAAR: its pool, its switch and what it carries now.

    ``bindings`` counts the sessions it serves or anchors (the same rule as
    the ``maar`` filter of :meth:`DomainView.bindings`); ``pool_size`` and
    ``pool_used`` count prefixes of ``prefix_length`` in ``pool``.
    """

    name: str
    dpid: int
    address: IPv6Address
    pool: IPv6Network
    prefix_length: int
    pool_size: int
    pool_used: int
    connected: bool
    bindings: int
    tunnels: Tuple[TunnelView, ...]


@dataclass(frozen=True)
class PrefixView(_JsonFields):
    """Who holds a delegated prefix: the MN, its anchor and its serving MAAR."""

    prefix: IPv6Network
    mn_id: str
    anchor: str
    serving_maar: str


def select_bindings(bindings: Iterable[BindingView], maar: Optional[str] = None,
                    prefix: Optional[IPv6Network] = None) -> List[BindingView]:
    """The filter of :meth:`DomainView.bindings`, shared so every view agrees."""
    return [b for b in bindings
            if (maar is None or b.involves(maar)) and (prefix is None or b.holds_within(prefix))]


def find_prefix(bindings: Iterable[BindingView], network: IPv6Network) -> Optional[PrefixView]:
    """The delegated prefix equal to or containing ``network`` (an address as
    a /128 finds the prefix it belongs to), as :meth:`DomainView.prefix`."""
    for binding in bindings:
        for held in binding.prefixes:
            if network.subnet_of(held.prefix):
                return PrefixView(held.prefix, binding.mn_id, held.anchor, binding.serving_maar)
    return None


@runtime_checkable
class DomainView(Protocol):
    """What the operator-facing modules may know of the live domain.

    Every method returns fresh immutable values (or, for :meth:`stats`, the
    recorder whose readers return copies); :meth:`deregister` is the one
    command, and it only asks: the adapter signals the de-registration.
    """

    def bindings(self, maar: Optional[str] = None,
                 prefix: Optional[IPv6Network] = None) -> List[BindingView]:
        """Every BCE, or those involving ``maar`` (serving or anchoring) and
        holding a prefix equal to or inside ``prefix`` (see select_bindings)."""

    def binding(self, mn_id: str) -> Optional[BindingView]: ...

    def maars(self) -> List[MaarView]: ...

    def maar(self, name: str) -> Optional[MaarView]: ...

    def prefix(self, p: IPv6Network) -> Optional[PrefixView]:
        """The delegated prefix equal to or containing ``p`` (see find_prefix)."""

    def stats(self) -> Stats: ...

    def health(self) -> dict:
        """At least ``{"status": "ok" | "degraded" | "down"}``; other keys free."""

    def deregister(self, mn_id: str) -> bool:
        """Start a forced de-registration; False if the MN has no binding."""
