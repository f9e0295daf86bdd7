"""``python -m scratchbench.bench cnn``: the R7 CNN on MNIST, NumPy engine vs Keras (default and tuned) vs the floor.

The model is the ``r7_mnist_cnn`` preset as Hydra composes it (Conv2D(64,3,relu) -> Conv2D(32,3,relu)
-> Flatten -> Dense(10, softmax), adam lr 1e-3, categorical cross-entropy, float32), built for
every competitor through the registry (``numpy_cnn``, ``keras_cnn``); ``--preset`` picks another.
Each runs in its own pinned process, alternated ABBA (:mod:`scratchbench.bench.harness`).
The floor counts the FLOPs the minimal algorithm executes (only the valid conv rows, no input
gradient for the first layer) at the GEMM rate of exactly those im2col shapes; the square-GEMM
floor and the theoretical peak sit beside it. Profiling is a separate untimed pass after the
timed epochs (per layer, per conv step, per thread). ``--engine-commit REV`` also times the
engine of git revision ``REV`` (its ``src/scratchbench/scratch`` extracted to a temporary folder,
imported in its own worker), alternated with the others: the CNN epoch before and after a change,
in one session. Writes ``reports/bench/cnn.json`` (all cores) or ``cnn_threads<N>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from typing import Any, Sequence

from ..paths import reports_dir
from . import harness
from .harness import write_json
from .host import cpu_label

PRESET = "r7_mnist_cnn"
KINDS = ("numpy", "keras", "keras_tuned", "floor")
REGISTRY = {"numpy": "numpy_cnn", "keras": "keras_cnn", "keras_tuned": "keras_cnn", "floor": "numpy_cnn"}
# Rough seconds per image on 2 quiet cores (R7, batch 128), for the printed estimate only.
SECONDS_PER_IMAGE = {"numpy": 7e-4, "keras": 5.5e-4, "keras_tuned": 5e-4, "floor": 0.0}
FLOOR_SAMPLE_SECONDS = 2.0
TF_IMPORT_SECONDS = 25.0


def compose_model(preset: str) -> dict[str, Any]:
    from ..config.compose import compose_run

    cfg = compose_run([f"experiment={preset}", "model=numpy_cnn"])
    return {k: cfg[k] for k in ("model", "optimizer", "seed")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench cnn", description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default=PRESET, help=f"experiment preset giving the model (default {PRESET})")
    p.add_argument("--samples", type=int, default=4800, help="training images per epoch (default 4800)")
    p.add_argument("--repeats", type=int, default=10, help="timed epochs per implementation (default 10)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts (default: all cores)")
    p.add_argument("--engine-commit", default=None, metavar="REV",
                   help="also time the engine of git revision REV, alternated")
    p.add_argument("--profile-samples", type=int, default=1280,
                   help="images of the NumPy profiling pass (0: none; default 1280)")
    harness.add_common_options(p, KINDS, "synthetic, 64 images, batch 32, 2 repeats, 1 thread")
    args = p.parse_args(argv)
    harness.parse_only(p, args, KINDS)
    if args.quick:
        args.synthetic, args.samples, args.repeats, args.batch_size = True, 64, 2, 32
        args.profile_samples = min(args.profile_samples, 32)
        args.threads = args.threads or [1]
    args.threads = args.threads or [len(os.sched_getaffinity(0))]
    for name in ("samples", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1")
    if args.profile_samples < 0 or any(t < 1 for t in args.threads):
        p.error("--profile-samples must be >= 0 and --threads >= 1")
    return args


def run_threads(args: argparse.Namespace, threads: int, cfg: dict[str, Any], host: dict[str, Any],
                engine: tuple[str, str] | None) -> dict[str, Any]:
    from ..scratch.architecture import normalize_layers
    from .floor import epoch_flops

    layers = normalize_layers(cfg["model"], (28, 28, 1), 10)
    flops = epoch_flops(layers, args.samples)
    specs: dict[str, tuple[str, str | None]] = {k: (k, None) for k in KINDS if k in args.only}
    if engine:
        specs[f"numpy@{engine[0]}"] = ("numpy", engine[1])
    labels = list(specs)
    est = sum(TF_IMPORT_SECONDS for k in labels if k.startswith("keras"))
    for k in labels:
        epoch = SECONDS_PER_IMAGE.get(specs[k][0], 0) * args.samples + (FLOOR_SAMPLE_SECONDS if k == "floor" else 0)
        est += (args.repeats + 1 + (4 if k == "keras_tuned" else 0)) * epoch
    print(f"bench cnn, {threads} thread(s): {', '.join(labels)} x {args.repeats} repeats of {args.samples} images; "
          f"estimated {est / 60:.1f} min on 2 quiet cores", flush=True)
    t0 = time.perf_counter()
    base = {"cfg": cfg, "batch": args.batch_size,
            "data": {"source": "synthetic" if args.synthetic else "mnist", "samples": args.samples, "input": "image",
                     "seed": 0}}
    registry = {**REGISTRY, **{k: REGISTRY[v[0]] for k, v in specs.items()}}
    workers = harness.start_workers(specs, threads)
    profile: dict[str, Any] | None = None
    try:
        make = harness.make_setting_fn(args.quick, registry)
        measured = harness.measure(workers, [("epoch", base, list(workers))], threads, args.repeats, make)
        if "numpy" in workers and args.profile_samples and "summary" in measured["epoch"].get("numpy", {}):
            profile = workers["numpy"].ask(cmd="profile", key="epoch", samples=min(args.profile_samples, args.samples))
        hello = {label: w.hello | {"command": w.command} for label, w in workers.items()}
    finally:
        harness.close_all(workers)
    s = harness.summarise(measured, ["epoch"])
    med = s["medians"]["epoch"]
    result: dict[str, Any] = {k: med.get(k) for k in KINDS}
    if engine:
        result[f"numpy@{engine[0]}"] = med.get(f"numpy@{engine[0]}")
    floor_info = measured["epoch"].get("floor", {})
    square = floor_info.get("info", {}).get("square_gemm")
    result["floor_square_gemm"] = flops / (square["gflops"] * 1e9) if square else None
    if profile:
        result["profile"] = profile
    result["stats"] = s["stats"]["epoch"]
    ratios: dict[str, float] = {}
    if result["numpy"]:
        for other in ("keras", "keras_tuned"):
            if result[other]:
                ratios[f"numpy_over_{other}"] = result["numpy"] / result[other]
        if result["floor"]:
            ratios["floor_fraction_reached"] = result["floor"] / result["numpy"]
            ratios["numpy_over_floor"] = result["numpy"] / result["floor"]
        if engine and result.get(f"numpy@{engine[0]}"):
            ratios["numpy_over_engine_commit"] = result["numpy"] / result[f"numpy@{engine[0]}"]
    for other in ("keras", "keras_tuned"):
        if result[other] and result["floor"]:
            ratios[f"{other}_floor_fraction_reached"] = result["floor"] / result[other]
    step_rates = [i["gflops"] for i in floor_info.get("sample_info", [])]
    result["meta"] = {
        "preset": args.preset, "samples": args.samples, "batch_size": args.batch_size,
        "learning_rate": cfg["optimizer"]["learning_rate"], "repeats": args.repeats, "threads": threads,
        "data": "synthetic" if args.synthetic else "mnist", "quick": args.quick,
        "architecture": " -> ".join(_layer_label(layer) for layer in layers)
                        + f", {cfg['optimizer']['name']}, {cfg['model']['loss']}, {cfg['model']['dtype']}, x/255",
        "config": {"preset": args.preset, "registry": {k: registry[k] for k in labels}},
        "epoch_gflop": flops / 1e9,
        "floor_basis": "executed FLOPs (valid conv rows only, no input gradient for the first layer) / "
                       "the GEMM rate of the step's own im2col shapes at the best thread count",
        "gemm_rate_gflops_step_shapes": harness.median_or_none(step_rates),
        "gemm_rate_gflops_square": square["gflops"] if square else None, "square_gemm": square,
        "floor_gemm_shapes": floor_info.get("info", {}).get("step_shapes"),
        "ratios": ratios, "all_seconds": s["all_seconds"]["epoch"], "all_cpu_seconds": s["all_cpu_seconds"]["epoch"],
        "cpu_seconds_median": {k: v["cpu"]["median"] for k, v in s["stats"]["epoch"].items()},
        "threads_active": {k: v["threads_active"] for k, v in s["stats"]["epoch"].items()},
        "implementations": {label: r["info"] for label, r in measured["epoch"].items()},
        "engine_commit": {"rev": engine[0], "given": args.engine_commit, "label": f"numpy@{engine[0]}",
                          "what": f"the engine (src/scratchbench/scratch) of git revision {args.engine_commit} "
                                  f"({engine[0]}), extracted with git archive and imported in its own worker"}
                         if engine else None,
        "workers": hello, "order": measured["order"], "errors": measured["errors"],
        "numpy_threading": f"conv row chunks on {threads} worker thread(s) (scratch.conv.set_workers), "
                           "BLAS 1 thread each",
        "keras_threading": f"TensorFlow intra/inter-op threads = {threads}; op determinism off",
        "timing": "each implementation in its own process pinned with taskset; one untimed warm-up epoch; "
                  "repeats alternated ABBA, each after every worker's threads went quiet (bench.quiet); "
                  "wall seconds inside the training loop (engine epoch_seconds, "
                  "Keras on_epoch_begin..on_epoch_end); no profiling during timed epochs",
        "elapsed_seconds": time.perf_counter() - t0, "estimated_seconds": est,
        "host": host, "cpu": cpu_label(host), "load_average": host["load_average"], "timestamp_utc": host["date_utc"],
    }
    return result


def _layer_label(layer: dict[str, Any]) -> str:
    if layer["type"] == "conv2d":
        return f"Conv2D({layer['filters']},{layer['kernel_size'][0]},{layer.get('activation')})"
    if layer["type"] == "dense":
        return f"Dense({layer['units']},{layer.get('activation')})"
    return layer["type"].capitalize()


def report(result: dict[str, Any]) -> str:
    m = result["meta"]
    fmt = lambda v, f="{:.2f}": "-" if v is None else f.format(v)  # noqa: E731
    lines = [f"{m['preset']}, one epoch of {m['samples']} images, batch {m['batch_size']}, {m['threads']} thread(s), "
             f"median (IQR) of {m['repeats']}:"]
    for label, st in result["stats"].items():
        lines.append(f"  {label:<16} {st['median']:.3f} s  ({st['iqr'][0]:.3f}-{st['iqr'][1]:.3f}; "
                     f"95% CI {st['ci95_median'][0]:.3f}-{st['ci95_median'][1]:.3f}; "
                     f"{st['n_load_flagged']} load-flagged)")
    lines.append(f"  floor at the square-GEMM rate: {fmt(result['floor_square_gemm'], '{:.3f}')} s; "
                 f"{m['epoch_gflop']:.1f} GFLOP per epoch; "
                 f"step-shape rate {fmt(m['gemm_rate_gflops_step_shapes'], '{:.1f}')} GFLOP/s, "
                 f"square {fmt(m['gemm_rate_gflops_square'], '{:.1f}')}, "
                 f"peak {m['host']['theoretical_peak']['gflops']:.0f} (assumed)")
    lines.append("  " + ", ".join(f"{k} {v:.2f}" for k, v in m["ratios"].items()))
    prof = result.get("profile")
    if prof:
        total = prof["epoch_cpu_seconds_mean"]
        lines.append(f"Where a NumPy epoch's CPU time goes (separate pass over {prof['profile_samples']} images, "
                     f"scaled: {total:.2f} CPU s; "
                     f"{prof['threads_active']} of {prof['threads_total']} threads active, per thread "
                     f"{', '.join(f'{c:.2f}' for c in prof['thread_cpu_seconds_per_epoch'][:4])} s):")
        rows = [*prof["layers_seconds_per_epoch"].items(), *prof["conv_internals_seconds_per_epoch"].items()]
        for k, v in rows:
            lines.append(f"  {k:<34} {v:7.2f} s  {100 * v / max(total, 1e-12):5.1f}%")
    if m["errors"]:
        lines.append(f"  errors: {m['errors']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from .host import host_meta

    if not args.synthetic:
        harness.check_mnist()
    cfg = compose_model(args.preset)
    out_dir = args.out_dir or reports_dir() / "bench"
    with contextlib.ExitStack() as stack:
        engine = None
        if args.engine_commit:
            short = harness.git_rev(args.engine_commit)
            engine = (short, stack.enter_context(harness.engine_checkout(args.engine_commit)))
        for threads in args.threads:
            result = run_threads(args, threads, cfg, host_meta(), engine)
            print(report(result))
            path = harness.out_path(out_dir, "cnn", threads)
            write_json(path, result)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
