"""An operator's look into a journal while its controller runs.

``python3 -m dmm_ryu.store.journal_read <state_dir>/<node>.journal`` prints
one JSON line per live record (key, revision, the record), to read or pipe
to ``jq``: what ``sqlite3`` gives for the SQLite backend.
"""
from __future__ import annotations

import json
import sys
from typing import Dict, List, Optional

from .base import Record
from .journal import MAGIC, frames


def read_records(path: str) -> List[Record]:
    """The live records of the journal at ``path``, read without taking its
    lock (an operator's look while the controller runs: what replays is a
    prefix of the committed history, as a copy would be)."""
    with open(path, "rb") as file:
        data = file.read()
    if not data.startswith(MAGIC):
        raise ValueError(f"{path}: not a journal (bad magic)")
    live: Dict[str, Record] = {}
    for _, _, entries, _ in frames(data):
        for key, value, revision in entries:
            if value is None:
                live.pop(key, None)
            else:
                live[key] = Record(key, value, revision)
    return [live[key] for key in sorted(live)]


def main(argv: Optional[List[str]] = None) -> int:
    """``python3 -m dmm_ryu.store.journal_read FILE``: one JSON line per record
    (key, revision, the record), for an operator to read or pipe to ``jq``."""
    paths = sys.argv[1:] if argv is None else argv
    if len(paths) != 1:
        print("usage: python3 -m dmm_ryu.store.journal_read <state_dir>/<node>.journal", file=sys.stderr)
        return 2
    try:
        records = read_records(paths[0])
    except (OSError, ValueError) as exc:
        print(f"dmm journal: {exc}", file=sys.stderr)
        return 1
    for record in records:
        try:
            body = json.loads(record.value)
        except ValueError:
            body = {"undecodable": record.value.hex()}
        print(json.dumps({"key": record.key, "revision": record.revision, "record": body}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
