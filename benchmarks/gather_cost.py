"""What the shuffled row gather costs the minimal NumPy loop (``bench/minimal_mlp.py``), 1 thread.

``uv run python benchmarks/gather_cost.py [--batch 128] [--repeats 7]``: epochs of the bench MLP
(784-100 sigmoid-10 softmax, float32, 60,000 synthetic images) with the gather, with slices of
the data in stored order instead (still read from memory, sequentially), with the first batch's
rows every step (data that stays in cache, as the floor's operands do), and the gather alone;
medians in seconds, alternated, one process, with the 1-thread floor (``bench/floor.py``) measured in
the same process for the ratios. Prints a JSON line; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from scratchbench.bench.floor import epoch_flops, measure_gemm_rate, step_shapes
from scratchbench.bench.host import cpu_label, host_meta
from scratchbench.bench.minimal_mlp import MinimalMLP
from scratchbench.bench.mlp import compose_model
from scratchbench.scratch.architecture import normalize_layers
from scratchbench.scratch.network import Network


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    cfg = compose_model()
    rng = np.random.default_rng(0)
    x, y = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)
    net = Network.from_config({**cfg["model"], "input_scaling": "none"}, (784,), 10, seed=int(cfg["seed"]))
    targets = net.encode_targets(y)[0]
    loop = MinimalMLP(net.get_weights(), cfg["optimizer"]["learning_rate"], int(cfg["seed"]))
    buf = np.empty((args.batch, 784), np.float32)

    def gather_only() -> None:
        perm = rng.permutation(len(x))
        for start in range(0, len(x), args.batch):
            idx = perm[start:start + args.batch]
            x.take(idx, axis=0, out=buf[:len(idx)], mode="clip")

    cases = {"with_gather": lambda: loop.epoch(x, targets, args.batch),
             "stored_order_slices": lambda: loop.epoch(x, targets, args.batch, rows="stored"),
             "first_batch_in_cache": lambda: loop.epoch(x, targets, args.batch, rows="first"),
             "gather_alone": gather_only}
    times: dict[str, list[float]] = {k: [] for k in cases}
    with threadpool_limits(1, user_api="blas"):
        for fn in cases.values():
            fn()  # warm-up
        for _ in range(args.repeats):
            for name, fn in cases.items():
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
        layers = normalize_layers(cfg["model"], (784,), 10)
        floor = epoch_flops(layers, len(x)) / measure_gemm_rate(step_shapes(layers, args.batch))["median"]
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"batch": args.batch, "threads": 1, "median_seconds": med, "floor_seconds": floor,
                      "over_floor": {k: v / floor for k, v in med.items() if k != "gather_alone"},
                      "gather_in_loop_seconds": med["with_gather"] - med["stored_order_slices"],
                      "data_from_memory_seconds": med["stored_order_slices"] - med["first_batch_in_cache"],
                      "cpu": cpu_label(host_meta())}))


if __name__ == "__main__":
    main()
