"""Domain-wide numbering: MAAR ordinals, transport MACs and MPLS labels.

The tunnel-equivalent of an anchored prefix is one MPLS label.  Both ends
(P-MAAR and S-MAAR) compute it from the prefix and the domain config alone,
so no signalling carries it and a restarted controller finds the same
labels.  MAARs are numbered 1..N in name order; with ``o = N.bit_length()``
ordinal bits a 20-bit label keeps ``b = 20 - o`` bits for the prefix's index
inside its MAAR's pool::

    label = ordinal << b | index        (>= 2**b >= 16: never a reserved label)

Three MAARs give b = 18: 262,144 prefixes per MAAR.  Pools hand out their
lowest free index first (core/pool.py), so a pool larger than 2**b is fine
until that many prefixes are live at once; a prefix whose index does not fit
is refused with :class:`DataplaneError` rather than given a clashing label.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Mapping, Optional, Tuple

from dmm_ryu.config.domainfile import MaarSection
from dmm_ryu.of.pipeline import LABEL_BITS

MIN_INDEX_BITS = 4  # labels 0..15 are reserved (RFC 3032)
#: Labels remembered per plan (LRU): a handover asks for a prefix's label
#: several times (cookie, match, action) within milliseconds, then rarely
#: again, so the bound covers the prefixes of the handovers in flight at one
#: MAAR (each MAAR's context has its plan) with room to spare; at ~150 bytes
#: an entry, 1,024 per plan cost 1.2 MB in an 8-MAAR process (issue 17).
LABEL_CACHE = 128


class DataplaneError(ValueError):
    """The domain cannot be expressed in this data plane; says why."""


def _mac_of(top: int, dpid: int) -> str:
    raw = top << 40 | dpid & ((1 << 40) - 1)
    return ":".join(f"{raw >> shift & 0xFF:02x}" for shift in range(40, -8, -8))


def transport_mac(dpid: int) -> str:
    """A MAAR's own MAC on the transport network: locally administered
    (0x0e), unicast, the low 40 bits of its datapath id."""
    return _mac_of(0x0E, dpid)


def dlif_mac(dpid: int) -> str:
    """A MAAR's DLIF MAC (``gateway: dlif``, RFC 8885 4.8): locally
    administered (0x06), unicast, the low 40 bits of its datapath id, so
    it is unique in the domain exactly when its transport MAC is."""
    return _mac_of(0x06, dpid)


def dlif_link_local(mac: str) -> IPv6Address:
    """A DLIF's link-local address (RFC 8885 4.7): fe80::/64 with the
    modified EUI-64 interface identifier of its MAC (RFC 4291 appendix A),
    the address a router interface with that MAC would form."""
    raw = bytes.fromhex(mac.replace(":", ""))
    eui = bytes((raw[0] ^ 0x02,)) + raw[1:3] + b"\xff\xfe" + raw[3:]
    return IPv6Address(b"\xfe\x80" + bytes(6) + eui)


@dataclass(frozen=True)
class PlannedMaar:
    """What every controller of the domain agrees on about one MAAR."""

    name: str
    ordinal: int
    address: IPv6Address
    pool: IPv6Network
    prefix_length: int
    transport_mac: str
    dlif_mac: str

    @property
    def dlif_ll(self) -> IPv6Address:
        """The link-local address of this MAAR's DLIF."""
        return dlif_link_local(self.dlif_mac)

    def index_of(self, prefix: IPv6Network) -> int:
        """Position of ``prefix`` among the pool's /prefix_length blocks."""
        offset = int(prefix.network_address) - int(self.pool.network_address)
        return offset >> (128 - self.prefix_length)


@dataclass(frozen=True)
class LabelPlan:
    """The numbering of one domain, shared by all its MAARs."""

    maars: Tuple[PlannedMaar, ...]
    index_bits: int

    #: Lookups by name, by address and by pool (its length, then its
    #: network as an int): built once, so a handover never scans the plan.
    _by_name: Dict[str, PlannedMaar] = field(init=False, repr=False, compare=False)
    _by_address: Dict[IPv6Address, PlannedMaar] = field(init=False, repr=False, compare=False)
    _by_pool: Tuple[Tuple[int, Dict[int, PlannedMaar]], ...] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Memoised per instance (a frozen plan is a pure function of the
        # config); hashing the plan itself for a shared cache would cost
        # more than the lookup it saves.
        object.__setattr__(self, "label", lru_cache(maxsize=LABEL_CACHE)(self._label))
        object.__setattr__(self, "_by_name", {m.name: m for m in reversed(self.maars)})
        object.__setattr__(self, "_by_address", {m.address: m for m in reversed(self.maars)})
        pools: Dict[int, Dict[int, PlannedMaar]] = {}
        for m in reversed(self.maars):  # the first MAAR wins, as a scan would
            pools.setdefault(m.pool.prefixlen, {})[_top_bits(m.pool, m.pool.prefixlen)] = m
        object.__setattr__(self, "_by_pool", tuple(sorted(pools.items())))

    @classmethod
    def from_maars(cls, maars: Mapping[str, MaarSection]) -> "LabelPlan":
        index_bits = LABEL_BITS - len(maars).bit_length()
        if index_bits < MIN_INDEX_BITS:
            raise DataplaneError(f"{len(maars)} MAARs leave no room for prefixes in a 20-bit label")
        planned = tuple(
            PlannedMaar(m.name, ordinal, m.address, m.pool, m.prefix_length,
                        transport_mac(m.dpid), dlif_mac(m.dpid))
            for ordinal, m in enumerate(sorted(maars.values(), key=lambda m: m.name), start=1)
        )
        _check_unique_macs(planned)
        return cls(planned, index_bits)

    def by_name(self, name: str) -> PlannedMaar:
        found = self._by_name.get(name)
        if found is None:
            raise DataplaneError(f"no MAAR named {name!r}")
        return found

    def by_address(self, address: IPv6Address) -> PlannedMaar:
        found = self._by_address.get(address)
        if found is None:
            raise DataplaneError(f"no MAAR has address {address}")
        return found

    def anchor_of(self, prefix: IPv6Network) -> PlannedMaar:
        """The MAAR whose exclusive pool holds ``prefix`` (draft section 3)."""
        owner = self._pool_holding(prefix)
        if owner is None:
            raise DataplaneError(f"{prefix} is in no MAAR's pool")
        if prefix.prefixlen != owner.prefix_length:
            raise DataplaneError(f"{prefix}: {owner.name} hands out /{owner.prefix_length} prefixes")
        return owner

    def _pool_holding(self, prefix: IPv6Network) -> Optional[PlannedMaar]:
        """One dict probe per distinct pool length (usually one)."""
        for length, pools in self._by_pool:
            if prefix.prefixlen >= length:
                found = pools.get(_top_bits(prefix, length))
                if found is not None:
                    return found
        return None

    def _label(self, prefix: IPv6Network) -> int:
        """The MPLS label of ``prefix`` (``label``, memoised); DataplaneError
        when it does not fit."""
        owner = self.anchor_of(prefix)
        index = owner.index_of(prefix)
        if index >= 1 << self.index_bits:
            raise DataplaneError(
                f"{prefix} is prefix #{index} of {owner.name}'s pool; with "
                f"{len(self.maars)} MAARs a 20-bit label numbers only "
                f"{1 << self.index_bits} prefixes per MAAR")
        return owner.ordinal << self.index_bits | index



def _top_bits(network: IPv6Network, length: int) -> int:
    """The first ``length`` bits of ``network``'s address."""
    return int(network.network_address) >> (128 - length)


def _check_unique_macs(planned: Tuple[PlannedMaar, ...]) -> None:
    seen = {}
    for maar in planned:
        other = seen.setdefault(maar.transport_mac, maar.name)
        if other != maar.name:
            raise DataplaneError(
                f"{maar.name} and {other} would share transport MAC {maar.transport_mac} "
                "(their dpids agree in the low 40 bits)")
