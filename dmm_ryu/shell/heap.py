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
"""
from __future__ import annotations

import gc


def freeze_loaded_heap() -> int:
    """Collect once, then freeze everything alive; the number frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
