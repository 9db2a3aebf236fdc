"""From the validated domain file to the protocol core's configuration.

The YAML layer (``dmm_ryu.config``) checks each key on its own; the core's
``check()`` methods know the rules that tie keys together (timer ordering,
the LMA in pmipv6 mode).  Both run here, so ``dmm-ryu-check`` and the
controller refuse exactly the same files with the same message.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from dmm_ryu.config import DomainConfig, InvalidConfigError
from dmm_ryu.core import config as core


@dataclass(frozen=True)
class CoreConfigs:
    """Everything needed to build the CMD and one Maar per configured MAAR."""

    domain: core.DomainConfig
    cmd: core.CmdConfig
    maars: Dict[str, core.MaarConfig]


def build(domain: DomainConfig) -> CoreConfigs:
    """The core configuration of ``domain``, consistency-checked."""
    try:
        shared = core.DomainConfig(
            cmd=domain.cmd.address,
            mode=core.Mode(domain.mode),
            dereg=core.Dereg(domain.deregistration),
            timers=core.Timers(**domain.timers),
            lma=domain.maars[domain.lma].address if domain.lma else None,
        )
        cmd = core.CmdConfig(domain=shared,
                             maars=frozenset(m.address for m in domain.maars.values()))
        cmd.check()
        maars = {
            m.name: core.MaarConfig(name=m.name, address=m.address, pool=m.pool,
                                    domain=shared, prefix_len=m.prefix_length)
            for m in domain.maars.values()
        }
        for maar in maars.values():
            maar.check()
    except core.ConfigError as err:
        raise InvalidConfigError(f"timers: {err}") from err
    return CoreConfigs(domain=shared, cmd=cmd, maars=maars)
