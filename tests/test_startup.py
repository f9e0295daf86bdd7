"""Start-up's paused collector: no collection inside the block, what it made frozen afterwards."""

from __future__ import annotations

import gc

from scratchbench.startup import collector_paused


def test_collector_paused_then_restored_and_start_up_objects_frozen() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with collector_paused():
            assert not gc.isenabled()
            made = [[i] for i in range(1000)]  # tracked container objects
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(made)
        gc.disable()
        with collector_paused():
            pass
        assert not gc.isenabled()  # a collector the caller had off stays off
        gc.enable()
        frozen = gc.get_freeze_count()
        with collector_paused(unless_imported="gc"):  # start-up is over: an ordinary block
            assert gc.isenabled()
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == frozen and kept
    finally:
        gc.unfreeze()
        gc.enable()
