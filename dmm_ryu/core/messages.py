"""Building and checking PBU/PBA model objects: the protocol rules shared by
the MAAR and the CMD (sequence arithmetic, timestamps, mandatory options)."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Dict, Iterable, Mapping, Optional

from dmm_ryu.core.config import Dlif, Mode
from dmm_ryu.wire.mh.model import (
    DMM_PBA_FLAGS,
    DMM_PBU_FLAGS,
    PBA_FLAGS,
    PBU_FLAGS,
    BUFlags,
    MobilityOptions,
    ProxyBindingAck,
    ProxyBindingUpdate,
    Status,
)

SEQ_MOD = 1 << 16

#: RFC 5213 6.9.1.x: an all-zero HNP asks the anchor to allocate a prefix.
#: PMIPv6 MAGs send it because they anchor nothing themselves.
REQUEST_PREFIX = IPv6Network("::/0")


def next_seq(seq: int) -> int:
    """The following 16-bit sequence number (wraps at 65536)."""
    return (seq + 1) % SEQ_MOD


def seq_newer(seq: int, last: int) -> bool:
    """RFC 6275 9.5.1 window: ``seq`` is newer than ``last`` when it lies in
    the half of the 16-bit circle that follows ``last``."""
    return 0 < (seq - last) % SEQ_MOD < SEQ_MOD // 2


def pbu_flags(mode: Mode) -> BUFlags:
    """A, H, P, and RFC 8885's D flag on every PBU of DMM signalling; the
    PMIPv6 fallback (draft A.5) speaks plain RFC 5213."""
    return PBU_FLAGS if mode is Mode.PMIPV6 else DMM_PBU_FLAGS


def answer(pbu: ProxyBindingUpdate, status: int = Status.ACCEPTED,
           lifetime: Optional[int] = None,
           hnps: Optional[Iterable[IPv6Network]] = None,
           **extra) -> ProxyBindingAck:
    """The PBA for ``pbu``: echoes its sequence number, MN-ID, HNPs, HI, ATT
    and timestamp (RFC 5213 5.3.6) and carries the D flag when the PBU
    does (RFC 8885 4.2); ``extra`` options replace or add fields, and the
    draft's two options are only carried when given."""
    opts = pbu.options
    fields = {"mn_id": opts.mn_id, "hnps": opts.hnps if hnps is None else tuple(hnps),
              "handoff": opts.handoff, "access_tech": opts.access_tech,
              "timestamp": opts.timestamp, "link_local": opts.link_local,
              "mn_link_layer_id": opts.mn_link_layer_id}
    fields.update(extra)
    return ProxyBindingAck(
        status=int(status), sequence=pbu.sequence,
        lifetime=pbu.lifetime if lifetime is None else lifetime,
        options=MobilityOptions(**fields),
        flags=DMM_PBA_FLAGS if pbu.is_dmm else PBA_FLAGS,
    )


def options(mn_id: str, hnps: Iterable[IPv6Network], handoff: int,
            access_tech: int, timestamp: int, **extra) -> MobilityOptions:
    """The options every PBU of the core carries (all mandatory ones)."""
    return MobilityOptions(mn_id=mn_id, hnps=tuple(hnps), handoff=handoff,
                           access_tech=access_tech, timestamp=timestamp, **extra)


def dlif_options(dlifs: Mapping[IPv6Address, Dlif],
                 anchors: Iterable[IPv6Address]) -> Dict[str, tuple]:
    """DLIF Link-local and Link-layer options (RFC 8885 4.7, 4.8) naming
    the DLIF of each of ``anchors`` in order, as keyword arguments for
    :func:`answer`; none when the domain has no DLIFs (shared gateway)."""
    if not dlifs:
        return {}
    chosen = [dlifs[a] for a in anchors]
    return {"dlif_link_locals": tuple(d.link_local for d in chosen),
            "dlif_link_layers": tuple(d.mac for d in chosen)}
