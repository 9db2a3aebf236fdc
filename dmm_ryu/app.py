"""The Ryu / os-ken application: ``ryu-manager dmm_ryu.app``.

A thin adapter: it reads the domain file named by ``[dmm] domain_file`` in
the manager's ``--config-file``, recognises each connecting datapath as a
configured MAAR and, for now, installs the table-miss rule and logs joins and
leaves.  Protocol decisions live in ``dmm_ryu.core``; OpenFlow construction in
``dmm_ryu.of``.
"""
from __future__ import annotations

from dmm_ryu import compat
from dmm_ryu.config import DomainConfig, InvalidConfigError, load

DEFAULT_DOMAIN_FILE = "/etc/dmm-ryu/dmm.yaml"

compat.cfg.CONF.register_opts(
    [
        compat.cfg.StrOpt(
            "domain_file",
            default=DEFAULT_DOMAIN_FILE,
            help="YAML file describing the mobility domain (MAARs, CMD, mode)",
        ),
    ],
    group="dmm",
)


def table_miss_flow(datapath):
    """Lowest-priority rule of table 0: drop what nothing else claims."""
    parser = datapath.ofproto_parser
    return parser.OFPFlowMod(
        datapath=datapath, table_id=0, priority=0, match=parser.OFPMatch(), instructions=[]
    )


class DmmApp(compat.RyuApp):
    """Mobility domain controller: CMD and MAAR logic behind OpenFlow 1.3."""

    OFP_VERSIONS = [compat.ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        path = compat.cfg.CONF.dmm.domain_file
        try:
            self.domain: DomainConfig = load(path)
        except InvalidConfigError as err:
            self.logger.error("dmm: invalid domain file: %s", err)
            raise
        self.logger.info(
            "dmm: %s loaded (%s mode, %d MAARs, framework %s)",
            path, self.domain.mode, len(self.domain.maars), compat.FRAMEWORK,
        )

    def _maar_name(self, dpid: int) -> str | None:
        maar = self.domain.maar_by_dpid(dpid)
        return maar.name if maar else None

    @compat.set_ev_cls(compat.ofp_event.EventOFPSwitchFeatures, compat.CONFIG_DISPATCHER)
    def switch_features(self, ev):
        """Install the table-miss rule on every configured MAAR."""
        datapath = ev.msg.datapath
        name = self._maar_name(datapath.id)
        if name is None:
            self.logger.warning("dmm: datapath %#x is not a configured MAAR; ignored", datapath.id)
            return
        datapath.send_msg(table_miss_flow(datapath))

    @compat.set_ev_cls(
        compat.ofp_event.EventOFPStateChange, [compat.MAIN_DISPATCHER, compat.DEAD_DISPATCHER]
    )
    def state_change(self, ev):
        """Log MAAR joins and leaves by their configured name."""
        datapath = ev.datapath
        if datapath.id is None:
            return
        name = self._maar_name(datapath.id) or "unconfigured"
        if ev.state == compat.MAIN_DISPATCHER:
            self.logger.info("dmm: MAAR %s (dpid %#x) joined", name, datapath.id)
        else:
            self.logger.info("dmm: MAAR %s (dpid %#x) left", name, datapath.id)
