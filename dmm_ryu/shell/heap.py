"""The loaded controller's heap, kept out of the garbage collector's way.

CPython's full collections rescan every object the collector tracks.  A
controller that has imported its framework, parsed its domain and restored
its state holds ~146,000 of them before its first MN moves (and more for
the MNs it restored), and each full collection then stalls the event loop
for ~70 ms on this project's machine: longer than the 50 ms p99 a handover
is allowed (issue 17), and, because the durability path keeps more objects
alive for a while, more often with a store than without (issue 13).  None of
that startup heap is ever released, so after loading it is moved to the
permanent generation (``gc.freeze``), which collections skip.  Frozen
objects that are released later are still freed by reference counting;
only a reference cycle among them would outlive its last use, and the
runtime's state (dataclasses in dicts) makes none.

The youngest generation is then collected every ``YOUNG_THRESHOLD`` net
allocations instead of CPython's 700.  Nearly everything a handover makes
dies by reference counting; what survives a while (the records a commit
encodes, the rules of a handover in flight) was promoted and rescanned by
young and middle collections at the default: 30-90 us of every handover on
a store, 20-30 without (``gc.callbacks`` in the in-process handover run,
200 MNs, 16 at once), ~3 us at 20,000, where one young collection is still
about a millisecond.  Cycles are still collected, a little later.
"""
from __future__ import annotations

import gc

#: Net allocations between two collections of the youngest generation.
YOUNG_THRESHOLD = 20_000


def freeze_loaded_heap() -> int:
    """Collect once, freeze everything alive and raise the youngest
    generation's threshold; the number of objects frozen."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    return gc.get_freeze_count()
