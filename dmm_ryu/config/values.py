"""Checks of single values of the domain file, each naming its key.

Every helper either returns the value in its typed form or raises
:class:`InvalidConfigError` with ``"<key path>: <reason>"``, so the parser
reads as a list of what each key must be.  Booleans are refused where a
number is expected (YAML turns ``yes`` into ``True``, and ``True == 1``), and
non-finite floats (``.nan``, ``.inf``, ``1e999``) are refused everywhere: a
NaN timer would never fire and compare false with every deadline.
"""
from __future__ import annotations

import math
import re
from ipaddress import IPv6Address, IPv6Network
from typing import Any, Mapping, NoReturn, Tuple, Union

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
#: Node names appear in logs, REST paths and metric labels; ``cmd`` is the
#: runtime's key for the CMD itself.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
RESERVED_NAMES = ("cmd",)
MAX_PORTS = 4096
MAX_PORT = 0xFFFFFF00  # OFPP_MAX: above it the numbers are reserved ports


class InvalidConfigError(ValueError):
    """The domain file is unusable; the message names the key and why."""


def fail(key: str, reason: str) -> NoReturn:
    raise InvalidConfigError(f"{key}: {reason}")


def need(raw: Mapping, name: str, key: str) -> Any:
    if name not in raw:
        fail(f"{key}.{name}", "missing")
    return raw[name]


def mapping(value: Any, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        fail(key, f"expected a mapping, got {type(value).__name__}")
    return value


def only(raw: Mapping, allowed: Tuple[str, ...], key: str) -> None:
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        fail(f"{key}.{unknown[0]}", f"unknown key (allowed: {', '.join(allowed)})")


def integer(value: Any, key: str, low: int = 0, high: int = 2**64 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(key, f"expected an integer, got {short(value)}")
    if not low <= value <= high:
        fail(key, f"{short(value)} out of range {low}..{high}")
    return value


def number(value: Any, key: str, low: float = 0.0, high: float = 86400.0,
           zero: bool = False) -> float:
    """A finite number in (low, high], or [low, high] when ``zero`` allows it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(key, f"expected a number, got {short(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        fail(key, f"{value} is not a finite number")
    if not (low <= value if zero else low < value) or value > high:
        shown = f"{value:g}" if isinstance(value, float) else short(value)
        fail(key, f"{shown} out of range {'[' if zero else '('}{low:g}, {high:g}]")
    return float(value)


def choice(value: Any, key: str, choices: Tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        fail(key, f"{short(value)} is not one of {', '.join(choices)}")
    return value


def name(value: Any, key: str) -> str:
    """A node name: a short identifier, and not the CMD's."""
    if not isinstance(value, str) or not NAME_RE.match(value):
        fail(key, "a MAAR name must be an identifier (letters, digits, _; at most 32)")
    if value.lower() in RESERVED_NAMES:
        fail(key, f"{value!r} is reserved for the CMD")
    return value


def _usable(address: Union[IPv6Address, IPv6Network], key: str) -> None:
    """Refuses what no node or pool can be; a scope (``%eth0``) too, which
    Python accepts but OpenFlow and the wire do not carry."""
    if getattr(address, "network_address", address).scope_id is not None:
        fail(key, f"{address} has a scope (%...): not allowed here")
    for what in ("multicast", "unspecified", "loopback", "link_local"):
        if getattr(address, f"is_{what}"):
            fail(key, f"{address} is a {what.replace('_', '-')} address")


def _ip(kind, what: str, value: Any, key: str):
    if not isinstance(value, str):
        fail(key, f"expected an {what}, got {short(value)}")
    try:
        parsed = kind(value)
    except ValueError as err:
        fail(key, f"not an {what} ({err})")
    _usable(parsed, key)
    return parsed


def address(value: Any, key: str) -> IPv6Address:
    """A unicast global (or ULA) IPv6 address: a node's PBU source."""
    return _ip(IPv6Address, "IPv6 address", value, key)


def network(value: Any, key: str) -> IPv6Network:
    return _ip(IPv6Network, "IPv6 prefix", value, key)


def ports(value: Any, key: str) -> Tuple[int, ...]:
    if not isinstance(value, list) or not value:
        fail(key, "expected a non-empty list of port numbers")
    if len(value) > MAX_PORTS:
        fail(key, f"{len(value)} ports, at most {MAX_PORTS}")
    out = tuple(integer(p, f"{key}[{i}]", 1, MAX_PORT) for i, p in enumerate(value))
    if len(set(out)) != len(out):
        fail(key, "duplicate port")
    return out


def mac(value: Any, key: str) -> str:
    """A unicast MAC; a hint when YAML read an unquoted MAC as a number."""
    if isinstance(value, int) and not isinstance(value, bool):
        fail(key, "not a MAC address (YAML read it as a number: quote it)")
    text = str(value).lower()
    if not MAC_RE.match(text):
        fail(key, "not a MAC address (aa:bb:cc:dd:ee:ff)")
    if int(text[:2], 16) & 1:
        fail(key, f"{text} is a multicast MAC")
    return text


def nai(value: Any, key: str) -> str:
    """An MN-ID (RFC 7542 NAI): it travels in a one-octet-length option."""
    if not isinstance(value, str) or not value:
        fail(key, f"MN-ID must be a non-empty NAI string, got {short(value)}")
    if len(value.encode("utf-8", "surrogatepass")) > 250:
        fail(key, "MN-ID longer than 250 octets")
    if any(c.isspace() or not c.isprintable() for c in value) or not _utf8(value):
        fail(key, f"MN-ID {value!r} holds spaces, control or unencodable characters")
    return value


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def short(value: Any) -> str:
    """``repr`` cut short: an error message must not echo a megabyte."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 60 else text[:57] + "..."
