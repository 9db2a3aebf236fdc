"""The live domain as the operator sees it: ``DomainView`` over the runtime.

Read-only snapshots built from the CMD's binding cache and each MAAR's pool,
BCEs and installed tunnels, so REST, metrics and ``dmmctl`` never touch core
internals.  The one command, forced de-registration, is handed back to the
runtime and its OpenFlow output to the adapter's ``send``.
"""
from __future__ import annotations

import time
from ipaddress import IPv6Network
from typing import Callable, List, Optional

from dmm_ryu.of import compat
from dmm_ryu.runtime.controller import DmmController
from dmm_ryu.ops.view import (BindingView, MaarView, PrefixBinding, PrefixView, PreviousMaarEntry,
                          Stats, TunnelView, find_prefix, select_bindings)


class ControllerView:
    """:class:`dmm_ryu.ops.view.DomainView` of one :class:`DmmController`."""

    def __init__(self, controller: DmmController, send: Callable[[list], None],
                 clock: Callable[[], float] = time.time) -> None:
        self._c = controller
        self._send = send
        self._clock = clock
        self._name = controller.node_name

    def _binding(self, bce) -> BindingView:
        serving = bce.proxy_coa
        prefixes = tuple(
            PrefixBinding(prefix, self._name(anchor), anchor, anchor == serving)
            for prefix, anchor in sorted(bce.anchors.items()))
        previous = tuple(PreviousMaarEntry(self._name(pm.address), pm.address, pm.prefix)
                         for pm in bce.p_maars())
        return BindingView(
            mn_id=bce.mn_id, serving_maar=self._name(serving), serving_maar_address=serving,
            prefixes=prefixes, previous_maars=previous, lifetime=bce.lifetime,
            registered_at=bce.registered, expires_at=bce.registered + bce.lifetime,
            last_update=bce.registered)

    def bindings(self, maar: Optional[str] = None,
                 prefix: Optional[IPv6Network] = None) -> List[BindingView]:
        every = sorted((self._binding(b) for b in self._c.cmd.store), key=lambda b: b.mn_id)
        return select_bindings(every, maar, prefix)

    def binding(self, mn_id: str) -> Optional[BindingView]:
        bce = self._c.cmd.store.get(mn_id)
        return None if bce is None else self._binding(bce)

    def _maar(self, name: str) -> MaarView:
        cfg = self._c.domain.maars[name]
        core = self._c.maars[name]
        tunnels = tuple(
            TunnelView(t.prefix, self._name(t.peer), t.peer, t.role, t.mn_id)
            for t in sorted(self._c.switches[cfg.dpid].tunnels.values(), key=lambda t: t.prefix))
        return MaarView(
            name=name, dpid=cfg.dpid, address=cfg.address, pool=cfg.pool,
            prefix_length=cfg.prefix_length,
            pool_size=2 ** (cfg.prefix_length - core.config.pool.prefixlen),
            pool_used=len(core.pool.allocated()), connected=cfg.dpid in self._c.connected,
            bindings=len(core.bces), tunnels=tunnels)

    def maars(self) -> List[MaarView]:
        return [self._maar(name) for name in sorted(self._c.domain.maars)]

    def maar(self, name: str) -> Optional[MaarView]:
        return self._maar(name) if name in self._c.domain.maars else None

    def prefix(self, p: IPv6Network) -> Optional[PrefixView]:
        return find_prefix(self.bindings(), p)

    def stats(self) -> Stats:
        return self._c.stats

    def health(self) -> dict:
        total = len(self._c.domain.maars)
        up = sum(m.dpid in self._c.connected for m in self._c.domain.maars.values())
        status = "ok" if up == total else ("down" if up == 0 else "degraded")
        return {"status": status, "maars_connected": up, "maars_total": total,
                "mode": self._c.domain.mode, "framework": compat.FRAMEWORK,
                "bindings": len(self._c.cmd.store)}

    def deregister(self, mn_id: str) -> bool:
        outputs = self._c.deregister(mn_id, self._clock())
        if outputs is None:
            return False
        self._send(outputs)
        return True
