"""The floor: the FLOPs the minimal algorithm executes, at the rate this machine multiplies them.

``floor seconds = executed epoch FLOPs / GEMM rate``. Executed means what a minimal training
step computes: per weighted layer the forward product and the weight gradient, plus the input
gradient for every layer but the first (nothing needs the gradient of the data); a conv layer
counts only its valid output positions (im2col form: ``Ho*Wo`` rows per image). The rate is
measured on exactly those GEMM shapes (preallocated outputs, nothing else) at the thread count
that does them fastest. Beside it the JSON keeps the square-GEMM rate and the theoretical peak
(:func:`theoretical_peak`), so a reader sees how far thin shapes sit below both.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

Shape = tuple[int, int, int]  # (m, k, n): an (m, k) @ (k, n) product, 2*m*k*n FLOPs
SQUARE: Shape = (2048, 2048, 2048)  # about the best rate this BLAS reaches


def gemm_flops(shapes: Iterable[Shape]) -> float:
    return float(sum(2.0 * m * k * n for m, k, n in shapes))


def layer_gemm(layer: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """A weighted layer's forward product per sample as ``(rows, k, n)``: dense ``(1, in, out)``,
    conv ``(Ho*Wo, kh*kw*Cin, filters)`` (valid output positions only); ``None`` for other layers."""
    if layer["type"] == "dense":
        return 1, math.prod(layer["input_shape"]), int(layer["units"])
    if layer["type"] == "conv2d":
        kh, kw = layer["kernel_size"]
        ho, wo, f = layer["output_shape"]
        return ho * wo, kh * kw * layer["input_shape"][2], int(f)
    return None


def step_shapes(layers: Sequence[Mapping[str, Any]], batch: int) -> list[Shape]:
    """The GEMMs of one minimal training step over canonical layers (``architecture.normalize_layers``):
    per weighted layer forward ``(m, k, n)`` and weight gradient ``(k, m, n)``; the input gradient
    ``(m, n, k)`` for every weighted layer but the first. ``m = batch * rows``."""
    shapes: list[Shape] = []
    first = True
    for layer in layers:
        g = layer_gemm(layer)
        if g is None:
            continue
        rows, k, n = g
        m = batch * rows
        shapes += [(m, k, n), (k, m, n)] + ([] if first else [(m, n, k)])
        first = False
    return shapes


def training_flops_per_sample(layers: Sequence[Mapping[str, Any]]) -> float:
    """Executed FLOPs of one training step per sample (``step_shapes`` at batch 1)."""
    return gemm_flops(step_shapes(layers, 1))


def epoch_flops(layers: Sequence[Mapping[str, Any]], samples: int) -> float:
    return training_flops_per_sample(layers) * samples






LAYOUTS = ("nn", "tn", "nt")  # which operand BLAS gets as a transposed view: neither, A (x.T @ dz), B (dz @ W.T)


def _operands(shape: Shape, layout: str, rng: np.random.Generator,
              dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m, k, n = shape

    def draw(rows: int, cols: int, transposed: bool) -> np.ndarray:
        a = rng.random((cols, rows) if transposed else (rows, cols), dtype=np.float64).astype(dtype)
        return a.T if transposed else a

    return draw(m, k, layout == "tn"), draw(k, n, layout == "nt"), np.empty((m, n), dtype=dtype)


def _best_layout(shape: Shape, rng: np.random.Generator, dtype: Any, probe_seconds: float) -> str:
    """The operand layout BLAS multiplies ``shape`` fastest in (a minimal algorithm may pick any)."""
    times = {}
    for layout in LAYOUTS:
        a, b, out = _operands(shape, layout, rng, dtype)
        np.dot(a, b, out=out)
        best, spent = math.inf, 0.0
        while spent < probe_seconds or best == math.inf:
            t0 = time.perf_counter()
            np.dot(a, b, out=out)
            dt = time.perf_counter() - t0
            best, spent = min(best, dt), spent + dt
        times[layout] = best
    return min(times, key=times.get)


def step_operands(shapes: Sequence[Shape], dtype: np.dtype | type = np.float32, probe_seconds: float = 0.02,
                  seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[str]]:
    """Operands and preallocated outputs for one step's products, each in the layout BLAS does fastest."""
    if not shapes:
        raise ValueError("floor: no GEMM shapes given (nothing weighted to multiply)")
    rng = np.random.default_rng(seed)
    layouts = [_best_layout(s, rng, dtype, probe_seconds) for s in shapes]
    return [_operands(s, layout, rng, dtype) for s, layout in zip(shapes, layouts, strict=True)], layouts


def run_steps(ops: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], iters: int) -> float:
    """Seconds for ``iters`` steps of ``ops`` (from :func:`step_operands`), products only."""
    t0 = time.perf_counter()
    for _ in range(iters):
        for a, b, out in ops:
            np.dot(a, b, out=out)
    return time.perf_counter() - t0


def measure_gemm_rate(
    shapes: Sequence[Shape],
    dtype: np.dtype | type = np.float32,
    repeats: int = 3,
    min_seconds: float = 0.3,
    seed: int = 0,
) -> dict[str, Any]:
    """Time ``shapes`` (one step's products) in a loop; return FLOP/s ``median`` and ``best`` over ``repeats``.

    Each product runs in the operand layout BLAS does fastest (``layouts``: plain, or A or B a
    transposed view, as a training step passes them), so the floor is never slower than the
    products an implementation actually calls."""
    ops, layouts = step_operands(shapes, dtype, min_seconds / (4 * len(LAYOUTS) * max(1, len(shapes))), seed)
    step_flops = gemm_flops(shapes)
    run_steps(ops, 1)  # warm-up
    iters, elapsed = 1, run_steps(ops, 1)
    while elapsed < min_seconds / 4:  # calibrate so each sample lasts about min_seconds
        iters *= 2
        elapsed = run_steps(ops, iters)
    iters = max(1, int(iters * min_seconds / max(elapsed, 1e-9)))
    rates = [step_flops * iters / run_steps(ops, iters) for _ in range(max(1, repeats))]
    return {"median": statistics.median(rates), "best": max(rates), "iters": float(iters), "layouts": layouts}


def best_thread_rate(shapes: Sequence[Shape], max_threads: int, **kw: Any) -> dict[str, Any]:
    """``measure_gemm_rate`` under a BLAS limit of 1..``max_threads`` threads; the best median wins."""
    from threadpoolctl import threadpool_limits

    rates, layouts = {}, {}
    for t in range(1, max_threads + 1):
        with threadpool_limits(t, user_api="blas"):
            r = measure_gemm_rate(shapes, **kw)
        rates[t], layouts[t] = r["median"], r["layouts"]
    best = max(rates, key=rates.get)
    return {"rate": rates[best], "threads": best, "layouts": layouts[best],
            "rate_by_threads": {str(t): r for t, r in rates.items()}}




def theoretical_peak(flags: Iterable[str], mhz: float, cores: int, vendor: str = "",
                     family: int | None = None) -> dict[str, Any]:
    """float32 FLOP/s = cores x clock x FMA units x lanes x 2 (an FMA is two FLOPs).

    Assumes two FMA units per core (Zen 2-4, Skylake-X and later big cores; some parts have one).
    Lanes follow the widest FMA datapath, not the widest instruction: Zen 3 and Zen 4 (AMD family
    25) run AVX-512 as two 256-bit halves, so they count 8 float32 lanes, as AVX2 does.
    """
    flags = set(flags)
    half_pumped = "AMD" in vendor.upper() and family == 25
    if "avx512f" in flags and not half_pumped:
        lanes, kind = 16, "AVX-512"
    elif {"avx2", "fma"} <= flags or "avx512f" in flags:
        lanes, kind = 8, "256-bit FMA (AVX-512 split into two 256-bit halves)" if "avx512f" in flags else "AVX2+FMA"
    else:
        lanes, kind = 4, "SSE"
    fma_units = 2
    return {"gflops": cores * mhz / 1e3 * fma_units * lanes * 2, "cores": cores, "mhz": mhz, "fp32_lanes": lanes,
            "fma_units_assumed": fma_units,
            "assumption": f"{cores} core(s) x {mhz:.0f} MHz (/proc/cpuinfo, not the boost clock) "
                          f"x 2 FMA units (assumed) x {lanes} float32 lanes ({kind}) x 2 FLOPs per FMA"}
