"""One timing/memory harness for every implementation, so numbers are comparable.

- ``fit_seconds``: wall time of ``impl.fit`` (includes per-epoch evaluation the implementation
  does); ``epoch_seconds`` come from each implementation's history (training only).
- ``inference_samples_per_second``: test-set size / wall time of one ``predict_proba`` over the
  whole test set, after a warm-up call on a few rows (graph tracing is not inference).
- ``peak_memory_mb``: peak resident set size (psutil RSS sampled by a background thread) during
  fit and inference. RSS, not tracemalloc, because TensorFlow allocates outside Python. It is
  the process peak, so it includes the interpreter, the data and the imported libraries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psutil

from scratchbench.models.base import EpochRecord, Implementation, OnEpoch, Split

MB = 1024.0 * 1024.0


def blas_threads() -> dict[str, int]:
    """BLAS/OpenMP thread pools loaded in this process (threadpoolctl), by API, max over libraries."""
    from threadpoolctl import threadpool_info

    out: dict[str, int] = {}
    for info in threadpool_info():
        key = f"{info['user_api']}_{info['internal_api']}"
        out[key] = max(out.get(key, 0), int(info["num_threads"]))
    return out


class PeakRSS:
    """Context manager sampling this process's RSS every ``interval`` seconds; ``peak_mb`` after."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._peak = 0
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        rss = self._proc.memory_info().rss
        if rss > self._peak:
            self._peak = rss

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "PeakRSS":
        self._sample()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    @property
    def peak_mb(self) -> float:
        return self._peak / MB


@dataclass
class MeasureResult:
    """Everything one measured run produced (history + final numbers)."""

    history: list[EpochRecord]
    fit_seconds: float
    inference_seconds: float
    inference_samples_per_second: float
    peak_memory_mb: float
    start_memory_mb: float
    test_accuracy: float
    n_params: int
    train_samples: int
    test_samples: int
    threads: dict[str, int] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)
    test_proba: np.ndarray | None = None

    @property
    def epoch_seconds(self) -> list[float]:
        return [r.epoch_seconds for r in self.history]

    def metrics(self) -> dict[str, float]:
        """Final metrics under their MLflow names."""
        return {
            "test_accuracy": float(self.test_accuracy),
            "fit_seconds": float(self.fit_seconds),
            "inference_samples_per_second": float(self.inference_samples_per_second),
            "peak_memory_mb": float(self.peak_memory_mb),
            "n_params": float(self.n_params),
            "train_samples": float(self.train_samples),
        }


def measure(
    impl: Implementation,
    train: Split,
    test: Split,
    val: Split | None = None,
    on_epoch: OnEpoch | None = None,
    interval: float = 0.01,
    warmup_rows: int = 8,
) -> MeasureResult:
    """Fit ``impl`` (already built) on ``train``, then time inference on ``test``."""
    if len(test.y) == 0:
        raise ValueError("measure: the test split is empty; inference throughput needs test samples")
    start_mb = psutil.Process().memory_info().rss / MB
    with PeakRSS(interval) as peak:
        t0 = time.perf_counter()
        history = impl.fit(train, val, on_epoch)
        fit_seconds = time.perf_counter() - t0
        impl.predict_proba(test.x[:warmup_rows])
        t0 = time.perf_counter()
        proba = np.asarray(impl.predict_proba(test.x))
        inference_seconds = max(time.perf_counter() - t0, 1e-9)
    accuracy = float(np.mean(proba.argmax(axis=1) == test.y))
    return MeasureResult(
        history=list(history),
        fit_seconds=fit_seconds,
        inference_seconds=inference_seconds,
        inference_samples_per_second=len(test.y) / inference_seconds,
        peak_memory_mb=peak.peak_mb,
        start_memory_mb=start_mb,
        test_accuracy=accuracy,
        n_params=int(impl.n_params()),
        train_samples=int(len(train.y)),
        test_samples=int(len(test.y)),
        threads=dict(impl.threads()),
        run_info=dict(getattr(impl, "run_info", dict)()),
        test_proba=proba,
    )
