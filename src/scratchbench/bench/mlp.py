"""``python -m scratchbench.bench mlp``: one epoch of MLP 784-100-10 on MNIST, every competitor.

The model is the R12 preset (MNIST, mini-batch SGD) composed through Hydra with the bench's
overrides (``OVERRIDES``: 784-100 sigmoid-10 softmax, categorical cross-entropy, Glorot, float32,
lr 0.01), and every competitor is built from it through the registry: the engine
(``numpy_mlp``), Keras at its defaults and tuned (``keras_mlp``, ``steps_per_execution=64``, jit
tried), scikit-learn (``sklearn_mlp``, one ``partial_fit`` per epoch), PyBrain (``pybrain``, a
slice of images: it learns one sample at a time; reported per 1,000 images), the minimal NumPy
loop (``numpy_minimal``, :mod:`scratchbench.bench.minimal_mlp`: the same training written out by
hand, the lower bound for a NumPy implementation) and the floor (:mod:`scratchbench.bench.floor`).
Each runs in its own pinned process, alternated ABBA, at each thread count
(:mod:`scratchbench.bench.harness`). Writes ``reports/bench/mlp.json`` (all cores) and
``mlp_threads<N>.json`` for the other thread counts.
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

PRESET = "r12_mnist_mse"
OVERRIDES = [
    "model.layers=[{type:dense,units:100,activation:sigmoid},{type:dense,units:10,activation:softmax}]",
    "model.loss=categorical_crossentropy", "~model.init", "+model.init={name:glorot_uniform}", "~model.bias_init",
    "+model.bias_init={name:zeros}", "model.dtype=float32", "optimizer.learning_rate=0.01",
]
KINDS = ("numpy", "numpy_minimal", "keras", "keras_tuned", "sklearn", "pybrain", "floor")
BATCH_SIZES = [32, 128, 512, 1024]  # the floor goal is stated for batch 128 and above
REGISTRY = {"numpy": "numpy_mlp", "numpy_minimal": "numpy_mlp", "keras": "keras_mlp", "keras_tuned": "keras_mlp",
            "sklearn": "sklearn_mlp",
            "pybrain": "pybrain", "floor": "numpy_mlp"}
# Rough cost model per kind on 2 cores (seconds per step, GFLOP/s), for the printed estimate only.
ESTIMATE = {"numpy": (1.5e-4, 40), "numpy_minimal": (1.2e-4, 40), "keras": (1.6e-3, 25), "keras_tuned": (3e-4, 25),
            "sklearn": (2e-4, 30),
            "floor": (0.0, 1e9), "pybrain": (0.0, 1e9)}
TF_IMPORT_SECONDS = 25.0


def compose_model(width: int | None = None) -> dict[str, Any]:
    """The bench's run config (``model``, ``optimizer``, ``seed``) composed from the preset.

    ``width`` = hidden units."""
    from ..config.compose import compose_run

    overrides = list(OVERRIDES) + ([f"model.layers.0.units={width}"] if width else [])
    cfg = compose_run([f"experiment={PRESET}", "model=numpy_mlp", *overrides])
    return {k: cfg[k] for k in ("model", "optimizer", "seed")}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench mlp", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=60000, help="training images per epoch (default 60000)")
    p.add_argument("--repeats", type=int, default=10, help="timed epochs per implementation and setting (default 10)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None,
                   help=f"batch sizes (default {' '.join(map(str, BATCH_SIZES))}; --quick: the first two)")
    p.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts (default: 1 and all cores)")
    p.add_argument("--pybrain-images", type=int, default=500, help="images per PyBrain epoch (default 500)")
    p.add_argument("--profile-samples", type=int, default=None,
                   help="images of the engine's separate profiling pass per batch size (default: the epoch's; 0: none)")
    p.add_argument("--engine-commit", default=None, metavar="REV",
                   help="also time the engine of git revision REV (numpy@REV), alternated with the others")
    harness.add_common_options(p, KINDS, "synthetic, 512 images, 2 repeats, 1 thread, tiny floor")
    args = p.parse_args(argv)
    harness.parse_only(p, args, KINDS)
    if args.quick:
        args.synthetic, args.samples, args.repeats, args.pybrain_images = True, 512, 2, 50
        args.threads = args.threads or [1]
        args.batch_sizes = args.batch_sizes or BATCH_SIZES[:2]
    args.batch_sizes = args.batch_sizes or BATCH_SIZES
    if args.threads is None:
        args.threads = sorted({1, len(os.sched_getaffinity(0))})
    args.profile_samples = args.samples if args.profile_samples is None else min(args.profile_samples, args.samples)
    for name in ("samples", "repeats", "pybrain_images"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1")
    if any(b < 1 for b in args.batch_sizes) or any(t < 1 for t in args.threads):
        p.error("--batch-sizes / --threads: must be >= 1")
    return args


def data_setting(args: argparse.Namespace, samples: int | None = None) -> dict[str, Any]:
    return {"source": "synthetic" if args.synthetic else "mnist", "samples": samples or args.samples, "input": "flat",
            "seed": 0}


def estimate_seconds(plan: Sequence[tuple[str, int, int, float]], repeats: int, keras_workers: int,
                     extra_epochs: dict[str, int]) -> float:
    """``plan`` rows (kind, steps per epoch, samples, FLOPs per epoch).

    (repeats + warm-ups) x a*steps + FLOPs/rate, plus TF imports."""
    total = keras_workers * TF_IMPORT_SECONDS
    for kind, steps, _, flops in plan:
        a, rate = ESTIMATE.get(kind, (0.0, 1e9))
        if kind in ("floor", "pybrain"):
            per = 2.0 if kind == "floor" else 1.5
        else:
            per = a * steps + flops / (rate * 1e9)
        total += per * (repeats + 1 + extra_epochs.get(kind, 0))
    return total


def profile_groups(profile: dict[str, Any]) -> dict[str, float]:
    """The profiling pass's CPU seconds per epoch in groups: dense layers (their GEMMs and bias), activations,
    the softmax + loss head, the optimizer step and the rest (batch gather, bookkeeping, loop)."""
    groups = {"dense layers (GEMMs, bias)": 0.0, "activations": 0.0, "softmax+loss head": 0.0, "optimizer step": 0.0,
              "other (batch gather, bookkeeping, loop)": 0.0}
    for key, sec in profile["layers_seconds_per_epoch"].items():
        name = "dense layers (GEMMs, bias)" if ":Dense " in key else "activations" if ":Activation " in key else key
        groups[name] = groups.get(name, 0.0) + sec
    return groups


def ratios(row: dict[str, float]) -> dict[str, float]:
    r = {}
    if "numpy" in row and "floor" in row:
        r["numpy_over_floor"] = row["numpy"] / row["floor"]
    if "numpy_minimal" in row:
        if "numpy" in row:
            r["numpy_over_minimal"] = row["numpy"] / row["numpy_minimal"]
        if "floor" in row:
            r["minimal_over_floor"] = row["numpy_minimal"] / row["floor"]
    for other in ("keras", "keras_tuned", "sklearn"):
        if "numpy" in row and other in row:
            r[f"{other}_over_numpy"] = row[other] / row["numpy"]
        if other in row and "floor" in row:
            r[f"{other}_over_floor"] = row[other] / row["floor"]
    return r


def run_threads(args: argparse.Namespace, threads: int, cfg: dict[str, Any], host: dict[str, Any],
                engine: tuple[str, str] | None = None) -> dict[str, Any]:
    from ..scratch.architecture import normalize_layers
    from .floor import epoch_flops

    layers = normalize_layers(cfg["model"], (784,), 10)
    flops = epoch_flops(layers, args.samples)
    kinds = [k for k in KINDS if k in args.only]
    specs = {f"numpy@{engine[0]}": ("numpy", engine[1])} if engine else {}
    kinds += list(specs)
    registry = {**REGISTRY, **{label: REGISTRY[kind] for label, (kind, _) in specs.items()}}
    settings: list[harness.Setting] = []
    for i, b in enumerate(args.batch_sizes):
        labels = [k for k in kinds if k != "pybrain" or i == 0]  # PyBrain is online (batch 1): once per thread count
        base = {"cfg": cfg, "batch": b, "data": data_setting(args), "slice": args.pybrain_images}
        settings.append((f"batch_{b}", base, labels))
    plan = [(k, -(-args.samples // base["batch"]), args.samples, flops) for _, base, labels in settings for k in labels]
    keras_workers = len(settings) * sum(k.startswith("keras") for k in kinds)
    est = estimate_seconds(plan, args.repeats, keras_workers, {"keras_tuned": 4})
    print(f"bench mlp, {threads} thread(s): {len(settings)} setting(s) x {len(kinds)} implementation(s) "
          f"x {args.repeats} repeats; estimated {est / 60:.1f} min on 2 quiet cores", flush=True)
    t0 = time.perf_counter()
    def profile(key: str, workers: dict[str, Any]) -> dict[str, Any] | None:
        if "numpy" not in workers or not args.profile_samples:
            return None
        return workers["numpy"].ask(cmd="profile", key=key, samples=args.profile_samples)

    measured, hello = harness.measure_in_fresh_workers(settings, threads, args.repeats,
                                                       harness.make_setting_fn(args.quick, registry), specs=specs,
                                                       after=profile)
    s = harness.summarise(measured, [k for k, _, _ in settings])
    result: dict[str, Any] = {}
    for key, row in s["medians"].items():
        result[key] = {k: v for k, v in row.items() if k != "pybrain"}
    first = settings[0][0]
    if "pybrain" in s["stats"].get(first, {}):
        pb = measured[first]["pybrain"]
        result["pybrain"] = {"seconds_per_1000_images": s["medians"][first]["pybrain"],
                             "images_per_epoch": args.pybrain_images,
                             "note": "PyBrain learns one sample at a time (online), whatever the batch size; "
                                     f"an epoch of {args.pybrain_images} images, reported per 1,000 images",
                             "stats": s["stats"][first]["pybrain"], "info": pb["info"]}
        for key in s["stats"]:
            s["stats"][key].pop("pybrain", None)
    result["ratios"] = {key: ratios(row) for key, row in result.items() if key.startswith("batch_")}
    for key, row in result.items():
        if engine and key.startswith("batch_") and row.get("numpy") and row.get(f"numpy@{engine[0]}"):
            result["ratios"][key]["numpy_over_engine_commit"] = row["numpy"] / row[f"numpy@{engine[0]}"]
    result["stats"] = s["stats"]
    profiles = {key: p for key, p in (measured.get("after") or {}).items() if p and "error" not in p}
    if profiles:
        result["profile"] = {key: {**p, "groups_cpu_seconds_per_epoch": profile_groups(p)}
                             for key, p in profiles.items()}
    info = {key: {label: r["info"] for label, r in measured[key].items()} for key, _, _ in settings}
    floor = {}
    for key, _, _ in settings:
        f = measured.get(key, {}).get("floor")
        if f and f["sample_info"]:
            floor[key] = {"gflops_median": harness.median_or_none([i["gflops"] for i in f["sample_info"]]),
                          "best_threads": [i["best_threads"] for i in f["sample_info"]],
                          "square_gemm": f["info"]["square_gemm"], "step_shapes": f["info"]["step_shapes"]}
    numpy_blas = {key: measured[key]["numpy"]["sample_info"][0]["threads"].get("blas_fit") for key, _, _ in settings
                  if measured.get(key, {}).get("numpy", {}).get("sample_info")}
    result["meta"] = {
        "samples": args.samples, "repeats": args.repeats, "threads": threads, "batch_sizes": args.batch_sizes,
        "data": "synthetic" if args.synthetic else "mnist", "quick": args.quick,
        "architecture": "784-100(sigmoid)-10(softmax), CCE, SGD lr 0.01, float32, x/255",
        "config": {"preset": PRESET, "overrides": OVERRIDES, "registry": {k: registry[k] for k in kinds}},
        "engine_commit": ({"rev": engine[0], "given": args.engine_commit, "label": f"numpy@{engine[0]}",
                           "what": f"the engine (src/scratchbench/scratch) of git revision {args.engine_commit}"}
                          if engine else None),
        "learning_rate": cfg["optimizer"]["learning_rate"], "epoch_gflop": flops / 1e9, "floor": floor,
        "numpy_blas_threads": numpy_blas,
        "floor_gflop_per_second": {key: flops / 1e9 / row["floor"] for key, row in result.items()
                                   if key.startswith("batch_") and "floor" in row},
        "implementations": info, "workers": hello, "order": measured["order"], "errors": measured["errors"],
        "all_seconds": s["all_seconds"], "all_cpu_seconds": s["all_cpu_seconds"],
        "timing": "each implementation and setting in its own process pinned with taskset to the first `threads` "
                  "cores; one untimed warm-up epoch; repeats alternated ABBA, each after every worker's threads went "
                  "quiet (bench.quiet); wall seconds of the epoch inside the "
                  "training loop (engine epoch_seconds, Keras on_epoch_begin..on_epoch_end, scikit-learn one "
                  "partial_fit call, PyBrain its epoch per 1,000 images, floor = executed FLOPs / best-thread-count "
                  "GEMM rate on the step's shapes)",
        "threading": f"BLAS limited to {threads} thread(s) in every process; engine and scikit-learn: one BLAS thread "
                     f"for steps under models.numpy_net.SMALL_STEP_MACS, else {threads}; TensorFlow intra- and "
                     f"inter-op threads = {threads}; floor: best of 1..{threads}",
        "keras_op_determinism": False, "elapsed_seconds": time.perf_counter() - t0, "estimated_seconds": est,
        "host": host, "cpu": cpu_label(host), "load_average": host["load_average"], "timestamp_utc": host["date_utc"],
    }
    return result


def print_table(result: dict[str, Any]) -> None:
    m = result["meta"]
    cols = ("numpy", "numpy_minimal", "keras", "keras_tuned", "sklearn", "floor")
    if m.get("engine_commit"):
        cols += (m["engine_commit"]["label"],)
    print(f"One epoch, MLP 784-100-10, {m['samples']} samples, {m['threads']} thread(s): median seconds (IQR)")
    for key, st in result["stats"].items():
        cells = [f"{c} {st[c]['median']:.3f} ({st[c]['iqr'][0]:.3f}-{st[c]['iqr'][1]:.3f})" for c in cols if c in st]
        print(f"  {key}: " + "; ".join(cells))
        print("    " + ", ".join(f"{k} {v:.2f}x" for k, v in result["ratios"][key].items()))
    if "pybrain" in result:
        print(f"  pybrain: {result['pybrain']['seconds_per_1000_images']:.3f} s per 1,000 images")
    for key, prof in (result.get("profile") or {}).items():
        groups = prof["groups_cpu_seconds_per_epoch"]
        print(f"  engine profile, {key} (CPU s per epoch, separate pass; epoch {prof['epoch_cpu_seconds_mean']:.3f}): "
              + ", ".join(f"{k} {v:.3f}" for k, v in groups.items()))
    if m["errors"]:
        print(f"  errors: {m['errors']}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from .host import host_meta

    if not args.synthetic:
        harness.check_mnist()
    cfg = compose_model()
    out_dir = args.out_dir or reports_dir() / "bench"
    with contextlib.ExitStack() as stack:
        engine = None
        if args.engine_commit:
            checkout = stack.enter_context(harness.engine_checkout(args.engine_commit))
            engine = (harness.git_rev(args.engine_commit), checkout)
        for threads in args.threads:
            result = run_threads(args, threads, cfg, host_meta(), engine)
            print_table(result)
            path = harness.out_path(out_dir, "mlp", threads)
            write_json(path, result)
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
