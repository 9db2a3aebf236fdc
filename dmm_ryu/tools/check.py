"""``dmm-ryu-check FILE``: validate a domain file the way the controller will.

Exit status 0 and a one-line summary when valid; 1 and the error (naming
the key and the reason) when not.
"""
from __future__ import annotations

import argparse
import sys

from dmm_ryu.config.domainfile import InvalidConfigError, load
from dmm_ryu.runtime.assembly import build


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dmm-ryu-check", description=__doc__.splitlines()[0])
    parser.add_argument("domain_file")
    args = parser.parse_args(argv)
    try:
        domain = load(args.domain_file)
        notes = build(domain).notes
    except InvalidConfigError as err:
        print(f"{args.domain_file}: invalid: {err}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"{args.domain_file}: note: {note}")
    maars = ", ".join(f"{m.name} ({m.pool})" for m in domain.maars.values())
    print(f"{args.domain_file}: ok: {domain.mode} mode, CMD {domain.cmd.address}, MAARs {maars}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
