"""The config fuzz target: mutated domain files through the whole check.

:func:`dmm_ryu.config.fuzz.fuzz` mutates files and reads them; this module
gives it the two higher-layer steps.  ``build`` is what ``./dmm check`` and
the controller run (:func:`dmm_ryu.runtime.assembly.build`); ``run`` does what
the controller then does with an accepted file: build the CMD, every MAAR
and its OpenFlow rule set, and attach one MN at every MAAR, encoding the
resulting PBU with the domain's option types and decoding it back.  A file
the check accepts must survive all of it.
"""
from __future__ import annotations

from typing import Any, Dict

from dmm_ryu.config.domainfile import DomainFile
from dmm_ryu.config.fuzz import fuzz
from dmm_ryu.core.actions import SendMessage
from dmm_ryu.core.cmd import Cmd
from dmm_ryu.core.events import MnAttached
from dmm_ryu.core.maar import Maar
from dmm_ryu.of import admission, flows
from dmm_ryu.of.context import MaarDataplane
from dmm_ryu.runtime.assembly import CoreConfigs, build
from dmm_ryu.wire.mh.codec import decode_mh, encode_mh

UNLISTED_MAC = "0a:00:00:00:fe:01"
NOW = 1_000_000.0


def _roundtrip(domain: DomainFile, send: SendMessage) -> None:
    """The PBU must survive the wire with the domain's option numbers."""
    wire = encode_mh(send.message, send.src, send.dst, domain.option_types)
    back = decode_mh(wire, send.src, send.dst, domain.option_types)
    if back.options.mn_id != send.message.options.mn_id:
        raise AssertionError(f"MN-ID {send.message.options.mn_id!r} came back as "
                             f"{back.options.mn_id!r}")


def run(domain: DomainFile, configs: CoreConfigs) -> None:
    """Everything the controller derives from an accepted domain file."""
    Cmd(configs.cmd)
    if domain.cmd.maar is None:
        flows.cmd_switch_flows(domain.cmd)
    macs = list(domain.mn_ids)[:1] + [UNLISTED_MAC]
    for name, config in configs.maars.items():
        admission.rebuild_flows(MaarDataplane.for_maar(domain, name, domain.upstream_mac), (), ())
        maar = Maar(config)
        for mac in macs:
            mn_id = domain.mn_id_for(mac)
            if mn_id is None:
                continue
            port = domain.maars[name].access_ports[0]
            for action in maar.handle(MnAttached(mn_id, mac, port), NOW):
                if isinstance(action, SendMessage):
                    _roundtrip(domain, action)


def fuzz_domain_files(n_inputs: int, seed: int = 0) -> Dict[str, Any]:
    """``fuzz`` with the check's build and the controller's use of the file:
    ``crashes`` and ``accepted_but_unbuildable`` must both be 0."""
    return fuzz(n_inputs, seed, build=build, run=run)
