"""Rewrite ``openflow_rules/golden/*.txt`` from the rules the code emits now.

The only way the golden dumps change (``./dmm golden``): the tests compare
but never write, so an intended change to the rules reaches the files by
this command and a reviewer sees it as a git diff.  Run from the checkout
with it on ``PYTHONPATH`` (``./dmm golden`` does).
"""
from __future__ import annotations

import sys

from tests.unit.test_of_scenarios import GOLDEN, ORDER, golden_text


def main() -> int:
    for state in ORDER:
        path = GOLDEN / f"{state}.txt"
        text = golden_text(state)
        changed = not path.exists() or path.read_text() != text
        path.write_text(text)
        print(f"{'rewritten' if changed else 'unchanged'}: {path}")
    print("review with: git diff -- openflow_rules/golden/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
