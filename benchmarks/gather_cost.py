"""What reading the data costs the minimal NumPy loop (``bench/minimal_mlp.py``), and what any loop must cost, 1 thread.

``uv run python benchmarks/gather_cost.py [--batch-sizes 128 512 1024] [--repeats 15]``: epochs of the bench
MLP (784-100 sigmoid-10 softmax, float32, 60,000 synthetic images) with the gather, with slices of
the data in stored order instead (still read from memory, sequentially), with the first batch's
rows every step (data that stays in cache, as the floor's operands do), and the gather alone;
then the same three ways of reading rows with only the step's GEMMs and no element-wise pass at
all (``gemms_*``: a lower bound for any loop that reads its batches that way), and with the gather
and the SGD subtraction over the weights (``gemms_update_with_gather``); medians in seconds,
alternated with an epoch's worth of the 1-thread floor's products (``bench/floor.py``) in one
process, for the ratios. Writes ``reports/bench/gather_cost.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from scratchbench.bench.harness import write_json
from scratchbench.bench.floor import epoch_flops, measure_gemm_rate, run_steps, step_operands, step_shapes
from scratchbench.bench.host import cpu_label, host_meta
from scratchbench.bench.stats import load_flagged
from scratchbench.bench.minimal_mlp import MinimalMLP, batch_rows
from scratchbench.bench.mlp import compose_model
from scratchbench.scratch.architecture import normalize_layers
from scratchbench.paths import reports_dir
from scratchbench.scratch.network import Network


def gemms_only(x: np.ndarray, weights: list[np.ndarray], batch: int, rows: str,
               rng: np.random.Generator, update: bool = False) -> float:
    """An epoch of only what no shuffled mini-batch loop can skip: the batch's rows (``rows`` as in
    ``MinimalMLP.epoch``) and the step's GEMMs (forward, weight gradients, input gradients but the
    first layer's) in the minimal loop's layouts, with no element-wise pass: a lower bound for any loop.
    ``update`` adds the one pass NumPy cannot fold into a product (``np.dot`` has no ``C -= A @ B``): the
    SGD subtraction over each weight matrix (written to a scratch array, so the weights do not drift).
    Returns the FLOPs its products executed (the floor's count, ``floor.epoch_flops``)."""
    W = weights[0::2]
    xbuf = np.empty((batch, x.shape[1]), x.dtype)
    h = [np.empty((batch, w.shape[1]), x.dtype) for w in W]
    gW = [np.empty_like(w) for w in W]
    scratch = [np.empty_like(w) for w in W]
    perm = rng.permutation(len(x))
    flops = 0.0

    def dot(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        nonlocal flops
        flops += 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
        return np.dot(a, b, out=out)

    for start in range(0, len(x), batch):
        m = min(batch, len(x) - start)
        xb = batch_rows(x, perm, start, start + m, rows, xbuf)
        inp = xb
        for i, w in enumerate(W):
            inp = dot(inp, w, h[i][:m])
        delta = inp
        for i in range(len(W) - 1, -1, -1):
            below = xb if i == 0 else h[i - 1][:m]
            dot(below.T, delta, gW[i])
            if update:
                np.subtract(W[i], gW[i], out=scratch[i])
            if i > 0:
                delta = dot(delta, W[i].T, h[i - 1][:m])
    return flops


def measure(batch: int, repeats: int, cfg: dict, x: np.ndarray, targets: np.ndarray) -> dict:
    """One batch size at 1 BLAS thread: the cases and the floor's products (an epoch's worth of the step,
    operands in cache) alternated ``repeats`` times; the floor's rate-based figure (as ``bench mlp``
    computes it) beside it as a check."""
    rng = np.random.default_rng(1)
    net = Network.from_config({**cfg["model"], "input_scaling": "none"}, (784,), 10, seed=int(cfg["seed"]))
    loop = MinimalMLP(net.get_weights(), cfg["optimizer"]["learning_rate"], int(cfg["seed"]))
    buf = np.empty((batch, 784), np.float32)
    weights = [w.copy() for w in net.get_weights()]
    layers = normalize_layers(cfg["model"], (784,), 10)
    shapes = step_shapes(layers, batch)
    steps = math.ceil(len(x) / batch)
    floor_scale = len(x) / (batch * steps)  # the floor counts the short last batch as a fraction of a step

    def gather_only() -> None:
        perm = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = perm[start:start + batch]
            x.take(idx, axis=0, out=buf[:len(idx)], mode="clip")

    cases = {"with_gather": lambda: loop.epoch(x, targets, batch),
             "stored_order_slices": lambda: loop.epoch(x, targets, batch, rows="stored"),
             "first_batch_in_cache": lambda: loop.epoch(x, targets, batch, rows="first"),
             "gather_alone": gather_only,
             "gemms_with_gather": lambda: gemms_only(x, weights, batch, "shuffled", rng),
             "gemms_update_with_gather": lambda: gemms_only(x, weights, batch, "shuffled", rng, update=True),
             "gemms_stored_order": lambda: gemms_only(x, weights, batch, "stored", rng),
             "gemms_first_batch": lambda: gemms_only(x, weights, batch, "first", rng)}
    with threadpool_limits(1, user_api="blas"):
        ops, _ = step_operands(shapes)
        cases["floor"] = lambda: run_steps(ops, steps)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for fn in cases.values():
            fn()  # warm-up
        for _ in range(repeats):
            for name, fn in cases.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        rate_floor = epoch_flops(layers, len(x)) / measure_gemm_rate(shapes)["median"]
    times["floor"] = [t * floor_scale for t in times["floor"]]
    med = {k: statistics.median(v) for k, v in times.items()}
    floor = med.pop("floor")
    return {"median_seconds": med, "samples": times, "floor_seconds": floor, "floor_seconds_from_rate": rate_floor,
            "over_floor": {k: v / floor for k, v in med.items() if k != "gather_alone"},
            "gather_in_loop_seconds": med["with_gather"] - med["stored_order_slices"],
            "data_from_memory_seconds": med["stored_order_slices"] - med["first_batch_in_cache"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512, 1024])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--out", type=Path, default=reports_dir() / "bench" / "gather_cost.json")
    args = p.parse_args()
    cfg = compose_model()
    rng = np.random.default_rng(0)
    x, y = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)
    targets = np.eye(10, dtype=np.float32)[y]
    host = host_meta()
    result = {f"batch_{b}": measure(b, args.repeats, cfg, x, targets) for b in args.batch_sizes}
    after = list(os.getloadavg())
    result["meta"] = {"threads": 1, "repeats": args.repeats, "samples": len(x), "data": "synthetic",
                      "load_average_after": after,
                      "load_flagged": load_flagged([host["load_average"][0], after[0]], 1),
                      "what": __doc__.split("\n\n")[1].replace("\n", " "), "host": host, "cpu": cpu_label(host)}
    write_json(args.out, result)
    for key, r in result.items():
        if key != "meta":
            print(key, {k: round(v, 3) for k, v in r["over_floor"].items()},
                  f"floor {r['floor_seconds']:.3f} s (from its rate {r['floor_seconds_from_rate']:.3f} s)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
