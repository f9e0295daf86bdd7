"""The GEMM floor: how fast this machine multiplies matrices of the shapes a training step uses.

``floor seconds = epoch FLOPs / measured FLOP rate``, the rate being measured on exactly the
GEMM shapes of one step (preallocated outputs, nothing else), so it is what an epoch would
cost if the matrix products were all there is. Reused by the CNN benchmark with its own shapes.
"""

from __future__ import annotations

import statistics
import time
from typing import Iterable, Sequence

import numpy as np

Shape = tuple[int, int, int]  # (m, k, n): an (m, k) @ (k, n) product, 2*m*k*n FLOPs


def gemm_flops(shapes: Iterable[Shape]) -> float:
    return float(sum(2.0 * m * k * n for m, k, n in shapes))


def dense_step_shapes(batch: int, sizes: Sequence[int]) -> list[Shape]:
    """GEMMs of one forward+backward step of a dense net ``sizes = [n_in, h1, ..., n_out]``:
    per layer ``x @ W`` (B,in,out), ``x.T @ dz`` (in,B,out) and ``dz @ W.T`` (B,out,in)."""
    shapes: list[Shape] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        shapes += [(batch, n_in, n_out), (n_in, batch, n_out), (batch, n_out, n_in)]
    return shapes


def dense_epoch_flops(n_samples: int, sizes: Sequence[int]) -> float:
    """Forward + backward ≈ 3 × 2·N·Σ(in·out)."""
    return 3.0 * 2.0 * n_samples * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def measure_gemm_rate(
    shapes: Sequence[Shape],
    dtype: np.dtype | type = np.float32,
    repeats: int = 3,
    min_seconds: float = 0.3,
    seed: int = 0,
) -> dict[str, float]:
    """Time ``shapes`` (one step's products) in a loop; return FLOP/s ``median`` and ``best`` over ``repeats``."""
    if not shapes:
        raise ValueError("measure_gemm_rate: no GEMM shapes given")
    rng = np.random.default_rng(seed)
    ops = [
        (rng.random((m, k), dtype=np.float64).astype(dtype), rng.random((k, n), dtype=np.float64).astype(dtype), np.empty((m, n), dtype=dtype))
        for m, k, n in shapes
    ]
    step_flops = gemm_flops(shapes)

    def run(iters: int) -> float:
        t0 = time.perf_counter()
        for _ in range(iters):
            for a, b, out in ops:
                np.dot(a, b, out=out)
        return time.perf_counter() - t0

    run(2)  # warm-up
    iters, elapsed = 1, run(1)
    while elapsed < min_seconds / 4:  # calibrate so each sample lasts about min_seconds
        iters *= 2
        elapsed = run(iters)
    iters = max(1, int(iters * min_seconds / max(elapsed, 1e-9)))
    rates = [step_flops * iters / run(iters) for _ in range(max(1, repeats))]
    return {"median": statistics.median(rates), "best": max(rates), "iters": float(iters)}


def floor_seconds(flops: float, rate: float) -> float:
    return flops / rate
