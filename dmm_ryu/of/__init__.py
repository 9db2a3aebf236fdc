"""OpenFlow 1.3 programming of the MAARs: pure functions from the protocol
core's actions to FlowMods, never sending anything (the adapter does).

* :mod:`pipeline` - tables, priority bands, metadata and cookie format.
* :mod:`labels` - MAAR ordinals, transport MACs, the MPLS label of a prefix.
* :mod:`context` - :class:`~dmm_ryu.of.context.MaarDataplane`, one MAAR's view.
* :mod:`flows` - ``base_flows``, ``flows_for``, ``delete_ours``.
* :mod:`admission` - MN admission rules, ``rebuild_flows``.
* :mod:`bundle` - wrap FlowMods in an atomic, ordered OVS bundle.
* :mod:`packed` - the hot path as bytes: route/tunnel FlowMods, bundles and
  packet-outs from per-prefix templates, identical to the framework's.
* :mod:`packed_state` - admission rules, meters and the reconnect rebuild
  as bytes (what the nodes send; flows/admission stay the reference).
* :mod:`ofwire` - the struct packers ``packed`` is built from.
* :mod:`render` - ``format_flows``: ovs-ofctl text for golden files.

The design and its reasons: ``openflow_rules/README.md``.
"""
