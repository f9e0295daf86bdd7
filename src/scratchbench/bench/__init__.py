"""Benchmarks: ``python -m scratchbench.bench mlp|cnn`` (one-epoch timings against a GEMM floor)."""

from __future__ import annotations

import os
import time
from types import ModuleType
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else ``platform.processor()``): benchmarks are per machine."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def keras_with_threads(threads: int) -> ModuleType:
    """Import Keras with TensorFlow's intra/inter-op thread pools set to ``threads``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TF already initialised in this process
        pass
    import keras

    return keras


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
