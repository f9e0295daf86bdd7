"""Benchmarks: ``python -m scratchbench.bench mlp|cnn|scaling|readme`` (see ``__main__``).

Each implementation is timed in its own pinned worker process (``harness``, ``worker``) against
a floor of executed FLOPs (``floor``); ``host`` records the machine; ``readme`` turns the JSON
files into the README's tables.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any


def keras_epoch_timer(keras: ModuleType) -> Any:
    """A Keras callback recording ``(wall s, CPU s)`` from ``on_epoch_begin`` to ``on_epoch_end``.

    Timing inside the epoch leaves out what every ``fit`` call sets up (data adapter, callbacks),
    as the engine's own ``epoch_seconds`` do.
    """

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.epochs: list[tuple[float, float]] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._t0, self._c0 = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.epochs.append((time.perf_counter() - self._t0, time.process_time() - self._c0))

    return EpochTimer()
