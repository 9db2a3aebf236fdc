"""The CMD's side of prefix garbage collection (:mod:`dmm_ryu.core.maar_gc`):
the S-MAAR de-registers the mobility session of an idle anchored prefix
with a PBU of lifetime 0, HI 5 (the MN did not move) and that prefix as
its HNP.  Only the MN's S-MAAR may (draft 3.5); the CMD drops the prefix
from the BCE, answers, and de-registers the P-MAAR with the lifetime-0
PBU that ends a session there, for that prefix alone.  The session goes
on with its other prefixes."""
from __future__ import annotations

from ipaddress import IPv6Address
from typing import List, Optional

from dmm_ryu.core.actions import Action, SendMessage
from dmm_ryu.core.messages import answer, seq_newer
from dmm_ryu.core.store import CmdBce
from dmm_ryu.wire.mh.model import HandoffIndicator, ProxyBindingUpdate, Status


class PrefixRelease:
    """Mixed into :class:`~dmm_ryu.core.cmd.Cmd`: uses its store, counters,
    ``_refuse`` and ``_forget``."""

    @staticmethod
    def _releasing(bce: Optional[CmdBce], src: IPv6Address, pbu: ProxyBindingUpdate) -> bool:
        """A release: lifetime 0, HI 5, from the S-MAAR (the Proxy-CoA),
        naming only prefixes the session has anchored at other MAARs."""
        hnps = pbu.options.hnps
        return (pbu.lifetime == 0 and pbu.options.handoff == HandoffIndicator.NOT_CHANGED
                and bce is not None and src == bce.proxy_coa and bool(hnps)
                and all(bce.anchors.get(p) not in (None, src) for p in hnps))

    def _release(self, bce: CmdBce, src: IPv6Address, pbu: ProxyBindingUpdate,
                 now: float) -> List[Action]:
        """Drop the prefixes from the binding, answer the S-MAAR (lifetime
        0, the released HNPs) and de-register each one at its P-MAAR."""
        if not seq_newer(pbu.sequence, bce.last_seq):
            return self._refuse(src, pbu, Status.SEQUENCE_OUT_OF_WINDOW, bce.last_seq)
        bce.last_seq = pbu.sequence
        anchors = {prefix: bce.anchors.pop(prefix) for prefix in pbu.options.hnps}
        self.store.put(bce)
        self.counters["prefixes_released"] += len(anchors)
        actions: List[Action] = [SendMessage(self.address, src, answer(pbu, lifetime=0))]
        for peer in sorted(set(anchors.values())):
            hnps = [prefix for prefix, anchor in anchors.items() if anchor == peer]
            actions += self._forget(bce.mn_id, hnps, peer, bce.ts, now)
        return actions
