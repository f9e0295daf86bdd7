"""The GEMM floor: how fast this machine multiplies matrices of the shapes a training step uses.

``floor seconds = epoch FLOPs / measured FLOP rate``, the rate being measured on exactly the
GEMM shapes of one step (preallocated outputs, nothing else), so it is what an epoch would
cost if the matrix products were all there is. Reused by the CNN benchmark with its own shapes.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

Shape = tuple[int, int, int]  # (m, k, n): an (m, k) @ (k, n) product, 2*m*k*n FLOPs


def gemm_flops(shapes: Iterable[Shape]) -> float:
    return float(sum(2.0 * m * k * n for m, k, n in shapes))


def dense_step_shapes(batch: int, sizes: Sequence[int]) -> list[Shape]:
    """GEMMs of one forward+backward step of a dense net ``sizes = [n_in, h1, ..., n_out]``:
    per layer ``x @ W`` (B,in,out) and ``x.T @ dz`` (in,B,out), and ``dz @ W.T`` (B,out,in)
    for every layer but the first (nothing needs the gradient of the input data)."""
    shapes: list[Shape] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes += [(batch, n_in, n_out), (n_in, batch, n_out)] + ([(batch, n_out, n_in)] if i else [])
    return shapes


def dense_epoch_flops(n_samples: int, sizes: Sequence[int]) -> float:
    """The GEMM FLOPs of ``dense_step_shapes`` per sample, times ``n_samples``."""
    return gemm_flops(dense_step_shapes(1, sizes)) * n_samples


def training_flops_per_sample(layers: Sequence[Mapping[str, Any]]) -> float:
    """GEMM FLOPs of one training step per sample, from canonical layers (``architecture.normalize_layers``).

    A dense or conv layer's forward product has ``m`` multiply-adds (dense: in*out; conv:
    Ho*Wo*kh*kw*Cin*F); forward, the weight gradient and the input gradient each cost ``2m``
    FLOPs, and the first weighted layer has no input gradient to compute."""
    total, first = 0.0, True
    for layer in layers:
        if layer["type"] == "dense":
            macs = math.prod(layer["input_shape"]) * layer["units"]
        elif layer["type"] == "conv2d":
            kh, kw = layer["kernel_size"]
            macs = math.prod(layer["output_shape"]) * kh * kw * layer["input_shape"][2]
        else:
            continue
        total += 2.0 * macs * (2 if first else 3)
        first = False
    return total


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
