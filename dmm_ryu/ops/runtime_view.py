"""The live domain as the operator sees it: ``DomainView`` over the runtime.

Built only from the nodes' immutable snapshots (the CMD's bindings, each
MAAR's :class:`~dmm_ryu.runtime.snapshot.MaarState`) and the configuration,
with node names resolved through the directory; REST, metrics and
``dmmctl`` never touch core state.  The one command, forced
de-registration, is an event for the CMD, whose OpenFlow output goes to
the adapter's ``send``.
"""
from __future__ import annotations

import time
from ipaddress import IPv6Network
from typing import Callable, List, Optional

from dmm_ryu.of import compat
from dmm_ryu.ops.view import (BindingView, MaarView, PrefixBinding, PrefixView,
                              PreviousMaarEntry, TunnelView, find_prefix, select_bindings)
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.runtime.lma_bindings import binding_source
from dmm_ryu.runtime.snapshot import CmdBinding, MaarState
from dmm_ryu.runtime.stats import Stats


class ControllerView:
    """:class:`dmm_ryu.ops.view.DomainView` of one :class:`DmmController`."""

    def __init__(self, controller: DmmController, send: Callable[[list], None],
                 clock: Callable[[], float] = time.time,
                 leadership: Optional[Callable[[], dict]] = None) -> None:
        self._c = controller
        self._leadership = leadership
        self._send = send
        self._clock = clock
        self._name = controller.directory.name_of

    def _binding(self, snap: CmdBinding) -> BindingView:
        serving = snap.serving
        prefixes = tuple(PrefixBinding(prefix, self._name(anchor), anchor, anchor == serving)
                         for prefix, anchor in snap.anchors)
        previous = tuple(PreviousMaarEntry(self._name(anchor), anchor, prefix)
                         for prefix, anchor in snap.anchors if anchor != serving)
        return BindingView(
            mn_id=snap.mn_id, serving_maar=self._name(serving), serving_maar_address=serving,
            prefixes=prefixes, previous_maars=previous, lifetime=snap.lifetime,
            registered_at=snap.registered, expires_at=snap.registered + snap.lifetime,
            last_update=snap.registered)

    def _snapshots(self, after=None, limit=None) -> List[CmdBinding]:
        cmd = binding_source(self._c)
        if cmd is None:
            return []
        with self._c.lock:
            return cmd.bindings(after, limit)

    def bindings(self, maar: Optional[str] = None, prefix: Optional[IPv6Network] = None,
                 limit: Optional[int] = None, after: Optional[str] = None) -> List[BindingView]:
        """BCEs in MN-ID order; with ``limit``, at most that many matching
        ones after the MN-ID ``after`` (a page)."""
        if maar is None and prefix is None:
            return [self._binding(s) for s in self._snapshots(after, limit)]
        chosen = select_bindings((self._binding(s) for s in self._snapshots(after)), maar, prefix)
        return chosen if limit is None else chosen[:limit]

    def binding(self, mn_id: str) -> Optional[BindingView]:
        cmd = binding_source(self._c)
        with self._c.lock:
            snap = None if cmd is None else cmd.binding(mn_id)
        return None if snap is None else self._binding(snap)

    def _maar(self, name: str) -> MaarView:
        cfg = self._c.domain.maars[name]
        node = self._c.nodes.get(name)
        with self._c.lock:
            state = None if node is None else node.snapshot()
        return _maar_view(cfg, state, self._name)

    def maars(self) -> List[MaarView]:
        return [self._maar(name) for name in sorted(self._c.domain.maars)]

    def maar(self, name: str) -> Optional[MaarView]:
        return self._maar(name) if name in self._c.domain.maars else None

    def prefix(self, p: IPv6Network) -> Optional[PrefixView]:
        return find_prefix(self.bindings(), p)

    def stats(self) -> Stats:
        return self._c.stats

    def health(self) -> dict:
        maars = self._c.maar_nodes
        up = sum(node.connected for node in maars)
        status = "ok" if up == len(maars) else ("down" if up == 0 else "degraded")
        cmd = binding_source(self._c)
        health = {"status": status, "maars_connected": up, "maars_total": len(maars),
                  "mode": self._c.domain.mode, "framework": compat.FRAMEWORK,
                  "bindings": 0 if cmd is None else cmd.count(),
                  "nodes": sorted(self._c.nodes),
                  "maars": {name: self._counts(name) for name in sorted(self._c.domain.maars)}}
        if self._leadership is not None:
            health["leadership"] = self._leadership()
        return health

    def _counts(self, name: str) -> dict:
        """One MAAR's figures, kept by its node as events happen: O(1) per
        scrape, whatever the number of bindings (issue 12)."""
        node = self._c.nodes.get(name)
        if node is None:
            return maar_counts(_maar_view(self._c.domain.maars[name], None, self._name))
        with self._c.lock:
            return node.counts()

    def deregister(self, mn_id: str) -> bool:
        outputs = self._c.deregister(mn_id, self._clock())
        if outputs is None:
            return False
        self._send(outputs)
        return True


def maar_counts(maar) -> dict:
    """The figures /metrics and /health report of one MAAR (from a
    MaarView or a MaarState: they name them alike)."""
    return {"bindings": maar.bindings, "tunnels": len(maar.tunnels),
            "connected": maar.connected, "pool_used": maar.pool_used,
            "pool_size": maar.pool_size}


def _maar_view(cfg, state: Optional[MaarState], name_of) -> MaarView:
    """A configured MAAR, with what its node reports when it is served here."""
    size = 2 ** (cfg.prefix_length - cfg.pool.prefixlen)
    tunnels = () if state is None else tuple(
        TunnelView(t.prefix, name_of(t.peer), t.peer, t.role, t.mn_id) for t in state.tunnels)
    return MaarView(
        name=cfg.name, dpid=cfg.dpid, address=cfg.address, pool=cfg.pool,
        prefix_length=cfg.prefix_length, pool_size=size if state is None else state.pool_size,
        pool_used=0 if state is None else state.pool_used,
        connected=False if state is None else state.connected,
        bindings=0 if state is None else state.bindings, tunnels=tunnels)
