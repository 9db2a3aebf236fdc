"""Where the domain's bindings live: the CMD's binding cache, or in pmipv6
mode (RFC 5213: the CMD takes no part) the LMA's BCEs.

:func:`binding_source` gives the operator's view one object with the
CmdNode's read interface (``binding``, ``bindings``, ``count``) in every
mode, so REST, dmmctl and the metrics show the LMA's bindings as the CMD's
(one prefix each, anchored at the LMA, Proxy-CoA the serving MAG).  None
when this process serves neither the CMD nor the LMA.
"""
from __future__ import annotations

from typing import List, Optional

from dmm_ryu.core.routes import MaarBce
from dmm_ryu.runtime.snapshot import CmdBinding
from dmm_ryu.wire.mh.model import timestamp_to_unix


class LmaBindings:
    """The LMA node's BCEs as :class:`CmdBinding` snapshots, in MN-ID order.
    Callers hold the controller's lock, as they do for the CmdNode."""

    def __init__(self, node) -> None:
        self._node = node

    def _snapshot(self, bce: MaarBce) -> Optional[CmdBinding]:
        if not bce.final or bce.leaving or bce.local is None:
            return None  # temporal, or on its way out: not a binding yet / any more
        lma = self._node.core.address
        return CmdBinding(bce.mn_id, bce.serving or lma, ((bce.local, lma),), bce.lifetime,
                          timestamp_to_unix(bce.ts))

    def binding(self, mn_id: str) -> Optional[CmdBinding]:
        bce = self._node.core.bces.get(mn_id)
        return None if bce is None else self._snapshot(bce)

    def bindings(self, after: Optional[str] = None,
                 limit: Optional[int] = None) -> List[CmdBinding]:
        out = []
        for mn_id in sorted(self._node.core.bces):
            if after is not None and mn_id <= after:
                continue
            snap = self.binding(mn_id)
            if snap is not None:
                out.append(snap)
            if limit is not None and len(out) >= limit:
                break
        return out

    def count(self) -> int:
        """The LMA's head count of bindings (core/census.py): a scrape
        stays O(1) in pmipv6 mode too."""
        return self._node.counts()["bindings"]


def binding_source(controller):
    """The CmdNode, or in pmipv6 mode the LMA's bindings (None if the LMA
    is not served by this process)."""
    lma = getattr(controller.domain, "lma", None)
    if lma is None:
        return controller.cmd_node
    node = controller.nodes.get(lma)
    return None if node is None else LmaBindings(node)
