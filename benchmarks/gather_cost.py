"""What the shuffled row gather costs the minimal NumPy loop (``bench/minimal_mlp.py``), 1 thread.

``uv run python benchmarks/gather_cost.py [--batch-sizes 128 512] [--repeats 15]``: epochs of the bench MLP
(784-100 sigmoid-10 softmax, float32, 60,000 synthetic images) with the gather, with slices of
the data in stored order instead (still read from memory, sequentially), with the first batch's
rows every step (data that stays in cache, as the floor's operands do), and the gather alone;
medians in seconds, alternated, one process, with the 1-thread floor (``bench/floor.py``) measured in
the same process for the ratios. Writes ``reports/bench/gather_cost.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from scratchbench.bench.harness import write_json
from scratchbench.bench.floor import epoch_flops, measure_gemm_rate, step_shapes
from scratchbench.bench.host import cpu_label, host_meta
from scratchbench.bench.minimal_mlp import MinimalMLP
from scratchbench.bench.mlp import compose_model
from scratchbench.scratch.architecture import normalize_layers
from scratchbench.paths import reports_dir
from scratchbench.scratch.network import Network


def measure(batch: int, repeats: int, cfg: dict, x: np.ndarray, targets: np.ndarray) -> dict:
    """One batch size: the four cases alternated ``repeats`` times, and the floor, at 1 BLAS thread."""
    rng = np.random.default_rng(1)
    net = Network.from_config({**cfg["model"], "input_scaling": "none"}, (784,), 10, seed=int(cfg["seed"]))
    loop = MinimalMLP(net.get_weights(), cfg["optimizer"]["learning_rate"], int(cfg["seed"]))
    buf = np.empty((batch, 784), np.float32)

    def gather_only() -> None:
        perm = rng.permutation(len(x))
        for start in range(0, len(x), batch):
            idx = perm[start:start + batch]
            x.take(idx, axis=0, out=buf[:len(idx)], mode="clip")

    cases = {"with_gather": lambda: loop.epoch(x, targets, batch),
             "stored_order_slices": lambda: loop.epoch(x, targets, batch, rows="stored"),
             "first_batch_in_cache": lambda: loop.epoch(x, targets, batch, rows="first"),
             "gather_alone": gather_only}
    times: dict[str, list[float]] = {k: [] for k in cases}
    with threadpool_limits(1, user_api="blas"):
        for fn in cases.values():
            fn()  # warm-up
        for _ in range(repeats):
            for name, fn in cases.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        layers = normalize_layers(cfg["model"], (784,), 10)
        floor = epoch_flops(layers, len(x)) / measure_gemm_rate(step_shapes(layers, batch))["median"]
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_seconds": med, "samples": times, "floor_seconds": floor,
            "over_floor": {k: v / floor for k, v in med.items() if k != "gather_alone"},
            "gather_in_loop_seconds": med["with_gather"] - med["stored_order_slices"],
            "data_from_memory_seconds": med["stored_order_slices"] - med["first_batch_in_cache"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 512])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--out", type=Path, default=reports_dir() / "bench" / "gather_cost.json")
    args = p.parse_args()
    cfg = compose_model()
    rng = np.random.default_rng(0)
    x, y = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)
    targets = np.eye(10, dtype=np.float32)[y]
    host = host_meta()
    result = {f"batch_{b}": measure(b, args.repeats, cfg, x, targets) for b in args.batch_sizes}
    result["meta"] = {"threads": 1, "repeats": args.repeats, "samples": len(x), "data": "synthetic",
                      "what": __doc__.split("\n\n")[1].replace("\n", " "), "host": host, "cpu": cpu_label(host)}
    write_json(args.out, result)
    for key, r in result.items():
        if key != "meta":
            print(key, {k: round(v, 3) for k, v in r["over_floor"].items()}, f"floor {r['floor_seconds']:.3f} s")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
