"""The forwarding state a MAAR wants for one MN, and the actions that move
the installed state there.

Computing the wanted state from the BCE and emitting only the difference
makes every transition (handover, moving back, ping-pong, session end) the
same code path, and makes re-applying an event idempotent.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Collection, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple

from dmm_ryu.core.actions import (
    ANCHOR,
    SERVING,
    Action,
    InstallLocalRoute,
    InstallTunnel,
    RemoveLocalRoute,
    RemoveTunnel,
)
from dmm_ryu.wire.mh.model import ProxyBindingUpdate


class _SharedEmpty(dict):
    """An empty dict that refuses changes and copies (or pickles) as itself."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError("the shared empty P-MAAR list is read-only: assign a new dict")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> str:
        return "NO_P_MAARS"  # the module's global: copy and deepcopy keep it


#: The P-MAAR list of every BCE that has none (most of them: each P-MAAR's
#: BCE and every MN that never moved): one shared read-only dict instead of
#: a 64-byte dict per BCE (issue 17).  Code that adds to a P-MAAR list
#: assigns a new dict; code that removes goes through :func:`drop_p_maars`.
NO_P_MAARS: Dict[IPv6Network, IPv6Address] = _SharedEmpty()


class OnePMaar(Mapping):
    """A read-only P-MAAR list of exactly one prefix: what the S-MAAR's BCE
    holds after each handover of an MN that moved once (most of them).  A
    one-entry dict costs 224 bytes (its object and its smallest table),
    this 48 (issue 17, third pass).  Like :data:`NO_P_MAARS` it is never
    written: :func:`p_maar_list` makes every P-MAAR list that is assigned."""

    __slots__ = ("_prefix", "_peer")

    def __init__(self, prefix: IPv6Network, peer: IPv6Address) -> None:
        self._prefix, self._peer = prefix, peer

    def __getitem__(self, prefix: IPv6Network) -> IPv6Address:
        if prefix == self._prefix:
            return self._peer
        raise KeyError(prefix)

    def __contains__(self, prefix) -> bool:
        return prefix == self._prefix

    def __iter__(self) -> Iterator[IPv6Network]:
        return iter((self._prefix,))

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return repr({self._prefix: self._peer})

    def __reduce__(self) -> tuple:
        return OnePMaar, (self._prefix, self._peer)


def p_maar_list(pairs: Dict[IPv6Network, IPv6Address]) -> Dict[IPv6Network, IPv6Address]:
    """The P-MAAR list to assign for ``pairs`` in its smallest form: the
    shared empty one, a :class:`OnePMaar`, or (two or more) the dict."""
    if not pairs:
        return NO_P_MAARS
    if len(pairs) == 1:
        return OnePMaar(*next(iter(pairs.items())))
    return pairs


@dataclass(eq=False)
class MaarBce:
    """A MAAR's binding cache entry for one MN.

    ``serving`` is None while the MN is attached here (this MAAR is its
    S-MAAR; ``p_maars`` maps prefixes anchored elsewhere to their P-MAAR);
    otherwise this MAAR is a P-MAAR and ``serving`` points at the S-MAAR
    (draft Appendix B: a P-MAAR keeps only that pointer).  ``final`` is
    False for the temporal BCE of draft 3.1, until the CMD's PBA.
    ``installed`` holds the Install* actions in :func:`sync`'s order, as a
    tuple: a runtime keeps one per MN and BCE, and a one-element frozenset
    costs 216 bytes where a tuple costs 56 (issue 17); decoded records may
    bring a frozenset, which :func:`compact` turns back into the tuple.
    """

    __slots__ = ("mn_id", "mac", "port", "local", "serving", "p_maars", "final",
                 "leaving", "seq", "ts", "lifetime", "pending", "installed")

    mn_id: str
    mac: str
    port: int
    local: Optional[IPv6Network]
    serving: Optional[IPv6Address]
    p_maars: Dict[IPv6Network, IPv6Address]
    final: bool
    leaving: bool
    seq: int
    ts: int
    lifetime: int
    pending: Optional[ProxyBindingUpdate]
    installed: Collection

    @classmethod
    def temporal(cls, mn_id: str, local: Optional[IPv6Network]) -> "MaarBce":
        return cls(mn_id, "", 0, local, None, NO_P_MAARS, False, False, 0, 0, 0, None, ())

    @property
    def is_serving(self) -> bool:
        """The MN is (believed) attached here and not leaving the domain."""
        return self.serving is None and not self.leaving


def drop_p_maars(bce: MaarBce, prefixes: Iterable[IPv6Network]) -> None:
    """Take ``prefixes`` out of the P-MAAR list, never mutating it (it may
    be the shared empty one or a :class:`OnePMaar`): a new list is assigned."""
    gone = set(prefixes)
    if gone.isdisjoint(bce.p_maars):
        return
    bce.p_maars = p_maar_list({p: a for p, a in bce.p_maars.items() if p not in gone})


def compact(bce: MaarBce) -> MaarBce:
    """The BCE in its smallest form (one decoded from a record, or built by
    hand): the P-MAAR list as :func:`p_maar_list` makes it, ``installed`` as
    the ordered tuple."""
    if isinstance(bce.p_maars, dict) and len(bce.p_maars) < 2:
        bce.p_maars = p_maar_list(bce.p_maars)
    if not isinstance(bce.installed, tuple):
        bce.installed = ordered(bce.installed)
    return bce


def ordered(installs: Iterable) -> Tuple:
    """Install* actions as ``installed`` keeps them: sorted, so equal
    state is an equal tuple."""
    return tuple(sorted(installs, key=_order))


def settled(bce: MaarBce) -> bool:
    """The BCE calls for a rule set (:func:`wanted` is not None), and so,
    once :func:`sync` has run, ``installed`` is exactly that set: a record
    need not store it (issue 13).  Only a temporal BCE keeps the rules of
    the state before it."""
    return bce.leaving or bce.serving is not None or bce.final


def wanted(bce: MaarBce) -> Optional[FrozenSet]:
    """The Install* actions the BCE calls for; None keeps the installed
    state (a temporal BCE changes nothing until its registration is accepted)."""
    if not settled(bce):
        return None
    if bce.leaving:
        return frozenset()
    if bce.serving is not None:
        if bce.local is None:
            return frozenset()
        return frozenset({InstallTunnel(bce.mn_id, bce.local, bce.serving, ANCHOR)})
    routes = {InstallTunnel(bce.mn_id, prefix, peer, SERVING, bce.mac, bce.port)
              for prefix, peer in bce.p_maars.items()}
    if bce.local is not None:
        routes.add(InstallLocalRoute(bce.mn_id, bce.local, bce.mac, bce.port))
    return frozenset(routes)


def undo(install) -> Action:
    """The Remove* action that reverses one Install* action."""
    if isinstance(install, InstallTunnel):
        return RemoveTunnel(install.mn_id, install.prefix, install.peer, install.role)
    return RemoveLocalRoute(install.mn_id, install.prefix)


def sync(bce: MaarBce) -> List[Action]:
    """Removals first (a prefix that becomes local again drops its tunnel
    before its local route appears), then installs, each in a stable order."""
    target = wanted(bce)
    if target is None:
        return []
    installed = bce.installed
    if len(target) == len(installed) and target.issuperset(installed):
        return []
    gone = sorted([install for install in installed if install not in target], key=_order)
    new = sorted(target.difference(installed), key=_order)
    bce.installed = ordered(target)
    return [undo(install) for install in gone] + new


def _order(install) -> tuple:
    """A sort key that is cheap (``repr`` of a dataclass formats every
    field, prefixes as text) and still total: local routes before tunnels,
    then by prefix, role and peer."""
    prefix = install.prefix
    peer = getattr(install, "peer", None)
    return (type(install).__name__, int(prefix.network_address), prefix.prefixlen,
            getattr(install, "role", ""), 0 if peer is None else int(peer))
