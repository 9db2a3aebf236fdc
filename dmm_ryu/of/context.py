"""What the OpenFlow layer needs to know about one MAAR, frozen.

The context holds configuration only, never live state: the routes and
tunnels of the moment come in as core actions, so the same context serves
every translation and a reconnect rebuild.
"""
from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import Optional, Tuple

from dmm_ryu.config.domainfile import CmdSection, DomainFile, MaarSection
from dmm_ryu.of.labels import LabelPlan, PlannedMaar

#: With ``gateway: shared`` every MAAR shows the MN the same default router,
#: RFC 5213's fixed link-local and link-layer address approach: a move keeps the
#: MN's neighbour cache valid.  ``gateway: dlif`` gives each MAAR a DLIF of
#: its own instead (RFC 8885; labels.dlif_mac, labels.dlif_link_local).
GATEWAY_MAC = "02:00:00:00:00:01"
GATEWAY_LL = IPv6Address("fe80::1")

Gateway = Tuple[str, IPv6Address]  # (MAC, link-local address)


@dataclass(frozen=True)
class MaarDataplane:
    """One MAAR's data plane: its config, the domain's numbering, the
    upstream router's MAC and, at the MAAR where the CMD is attached, the
    CMD (whose signalling it punts too)."""

    maar: MaarSection
    plan: LabelPlan
    upstream_mac: str
    cmd: Optional[CmdSection] = None
    gateway_mac: str = GATEWAY_MAC
    gateway_ll: IPv6Address = GATEWAY_LL
    #: Punts per second (and burst) each access port's meter lets through.
    punt_rate: int = 100
    punt_burst: int = 50
    #: ``gateway: dlif``: each anchor's DLIF instead of the shared gateway.
    dlif: bool = False

    @classmethod
    def for_maar(cls, domain: DomainFile, name: str, upstream_mac: str) -> "MaarDataplane":
        """The context of MAAR ``name`` in ``domain``."""
        return cls(
            maar=domain.maars[name],
            plan=LabelPlan.from_maars(domain.maars),
            upstream_mac=upstream_mac.lower(),
            cmd=domain.cmd if domain.cmd.maar == name else None,
            punt_rate=domain.punt_rate,
            punt_burst=domain.punt_burst,
            dlif=domain.gateway == "dlif",
        )

    @property
    def me(self) -> PlannedMaar:
        return self.plan.by_name(self.maar.name)

    @property
    def transport_mac(self) -> str:
        return self.me.transport_mac

    @property
    def uplink_port(self) -> int:
        """The transport port facing the fabric (routers, peers, CMD)."""
        return self.maar.transport_ports[0]

    @property
    def signalling_ports(self) -> Tuple[int, ...]:
        """Ports on which Mobility Header packets are accepted: the
        transport side, plus the CMD's attachment port at its MAAR.  An MN
        on an access port cannot inject a PBU."""
        extra = (self.cmd.port,) if self.cmd and self.cmd.port not in self.maar.transport_ports else ()
        return self.maar.transport_ports + extra

    def gateway_of(self, anchor: PlannedMaar) -> Gateway:
        """The router the MN sees for prefixes ``anchor`` anchors: its DLIF,
        or the shared gateway."""
        if self.dlif:
            return anchor.dlif_mac, anchor.dlif_ll
        return self.gateway_mac, self.gateway_ll

    def gateway_for(self, prefix: IPv6Network) -> Gateway:
        """The router the MN sees for ``prefix``: its anchor's DLIF (the
        pool holding it), or the shared gateway."""
        if self.dlif:
            return self.gateway_of(self.plan.anchor_of(prefix))
        return self.gateway_mac, self.gateway_ll

    @property
    def gateways(self) -> Tuple[Gateway, ...]:
        """Every router an MN here may address: each MAAR's DLIF (any MAAR
        can anchor a prefix of a session served here), or the shared one."""
        if self.dlif:
            return tuple(self.gateway_of(m) for m in self.plan.maars)
        return ((self.gateway_mac, self.gateway_ll),)

    def label(self, prefix: IPv6Network) -> int:
        return self.plan.label(prefix)

    def peer(self, address: IPv6Address) -> PlannedMaar:
        return self.plan.by_address(address)
