"""The loaded heap is frozen out of full collections (shell/heap.py)."""
import gc
import weakref

from dmm_ryu.shell.heap import YOUNG_THRESHOLD, freeze_loaded_heap


class Node:
    """A referent that can be part of a cycle and watched by a weak reference."""


def test_the_loaded_heap_is_frozen_and_later_garbage_still_collected():
    loaded = Node()
    thresholds = gc.get_threshold()
    try:
        frozen = freeze_loaded_heap()
        assert frozen == gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *thresholds[1:])
        assert gc.is_tracked(loaded) and not any(loaded is o for o in gc.get_objects())
        cycle = Node()
        cycle.self = cycle
        watch = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert watch() is None  # a cycle made after the freeze is still collected
        released = Node()
        watch = weakref.ref(released)
        gc.unfreeze()
        gc.freeze()
        del released
        assert watch() is None  # a frozen object is still freed by reference counting
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
