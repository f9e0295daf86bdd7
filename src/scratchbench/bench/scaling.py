"""``python -m scratchbench.bench scaling``: how an epoch's cost grows with batch size and width.

MLP 784-W-10 (the ``bench mlp`` model, :func:`scratchbench.bench.mlp.compose_model`): batch
32..1024 at the bench width 100, then width 32..1024 at batch 128, at 1 and 2 threads, for the
engine, Keras default, Keras tuned and scikit-learn, each in its own pinned worker, alternated
ABBA (:mod:`scratchbench.bench.harness`). Per implementation and thread count it fits, by
non-negative least squares on relative errors over the settings' medians,

    epoch seconds = a x steps + executed FLOPs / rate

so per-step overhead (``a``) and compute speed (``rate``) are separate numbers. Writes
``reports/bench/scaling.json`` and the figure ``reports/bench/scaling.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from ..paths import reports_dir
from . import harness
from .harness import write_json
from .mlp import ESTIMATE, REGISTRY, TF_IMPORT_SECONDS, compose_model

KINDS = ("numpy", "keras", "keras_tuned", "sklearn")
BATCHES = [32, 64, 128, 256, 512, 1024]
WIDTHS = [32, 64, 128, 256, 512, 1024]
BASE_WIDTH, BASE_BATCH = 100, 128


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench scaling", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=6144, help="training images per epoch (default 6144)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed epochs per implementation and setting (default 3: 12 settings per fit)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=BATCHES)
    p.add_argument("--widths", type=int, nargs="+", default=WIDTHS)
    p.add_argument("--threads", type=int, nargs="+", default=None,
                   help="thread counts (default 1 and 2, within the cores available)")
    harness.add_common_options(p, KINDS, "synthetic, 256 images, 2 batch sizes, 2 widths, 2 repeats, 1 thread")
    args = p.parse_args(argv)
    harness.parse_only(p, args, KINDS)
    if args.quick:
        args.synthetic, args.samples, args.repeats = True, 256, 2
        args.batch_sizes, args.widths, args.threads = args.batch_sizes[:2], args.widths[:2], args.threads or [1]
    args.threads = args.threads or [t for t in (1, 2) if t <= len(os.sched_getaffinity(0))]
    if args.samples < 1 or args.repeats < 1 or any(v < 1 for v in args.batch_sizes + args.widths + args.threads):
        p.error("--samples, --repeats, --batch-sizes, --widths and --threads must be >= 1")
    return args


def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The settings: the batch sweep at the base width, then the width sweep at the base batch."""
    from ..scratch.architecture import normalize_layers
    from .floor import epoch_flops

    rows = [(b, BASE_WIDTH) for b in args.batch_sizes] + [(BASE_BATCH, w) for w in args.widths]
    out, seen = [], set()
    for batch, width in rows:
        if (batch, width) in seen:
            continue
        seen.add((batch, width))
        cfg = compose_model(width)
        flops = epoch_flops(normalize_layers(cfg["model"], (784,), 10), args.samples)
        out.append({"key": f"b{batch}_w{width}", "batch": batch, "width": width, "steps": -(-args.samples // batch),
                    "gflop": flops / 1e9, "cfg": cfg, "sweep": "batch" if width == BASE_WIDTH else "width"})
    return out


def fit_cost(steps: Sequence[float], gflop: Sequence[float], seconds: Sequence[float]) -> dict[str, Any]:
    """Non-negative least squares ``seconds = a * steps + gflop / rate`` on relative errors (rows divided by the
    measured time, so a 30 ms setting weighs as much as a 3 s one): ``a`` s/step, ``rate`` GFLOP/s, R^2."""
    import numpy as np
    from scipy.optimize import nnls

    A = np.column_stack([np.asarray(steps, float), np.asarray(gflop, float)])
    t = np.asarray(seconds, float)
    (a, inv_rate), _ = nnls(A / t[:, None], np.ones_like(t))
    pred = A @ np.array([a, inv_rate])
    ss = float(np.sum((t - t.mean()) ** 2))
    return {"seconds_per_step": float(a), "gflops": float(1.0 / inv_rate) if inv_rate > 0 else None,
            "r2": 1.0 - float(np.sum((t - pred) ** 2)) / ss if ss > 0 else None, "n_points": len(t),
            "predicted": [float(v) for v in pred]}


def figure(result: dict[str, Any], path: Path) -> None:
    """Measured medians (markers) and the fitted model (lines): one panel per sweep (matplotlib Figure API)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    settings = result["settings"]
    colors = {"numpy": "tab:blue", "keras": "tab:red", "keras_tuned": "tab:orange", "sklearn": "tab:green"}
    for ax, sweep, xkey in ((axes[0], "batch", "batch"), (axes[1], "width", "width")):
        idx = [i for i, s in enumerate(settings) if s["sweep"] == sweep]
        xs = [settings[i][xkey] for i in idx]
        for tkey, fits in result["fits"].items():
            style = "-" if tkey == "threads_1" else "--"
            for kind, fit in fits.items():
                med = result["medians"][tkey][kind]
                ys = [med.get(settings[i]["key"]) for i in idx]
                pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
                if not pts:
                    continue
                ax.plot(*zip(*pts, strict=True), "o", color=colors.get(kind), ms=4)
                pred = [fit["predicted"][fit["keys"].index(settings[i]["key"])]
                        for i in idx if settings[i]["key"] in fit["keys"]]
                ax.plot(xs[: len(pred)], pred, style, color=colors.get(kind), lw=1.2,
                        label=f"{kind}, {tkey.split('_')[1]} thr: {1e6 * fit['seconds_per_step']:.0f} µs/step, "
                              f"{fit['gflops'] or float('inf'):.0f} GFLOP/s")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size (width 100)" if sweep == "batch" else f"hidden width (batch {BASE_BATCH})")
        ax.set_ylabel(f"seconds per epoch ({result['meta']['samples']} images)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=6.5, loc="best")
    fig.suptitle(f"Epoch time = a x steps + FLOPs / rate ({result['meta']['cpu_label']})", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from .host import cpu_label, host_meta

    if not args.synthetic:
        harness.check_mnist()
    settings = plan(args)
    kinds = [k for k in KINDS if k in args.only]
    est = 0.0
    for _ in args.threads:
        est += TF_IMPORT_SECONDS * sum(k.startswith("keras") for k in kinds)
        for s in settings:
            for k in kinds:
                a, rate = ESTIMATE[k]
                est += (args.repeats + 1 + (4 if k == "keras_tuned" else 0)) * (a * s["steps"] + s["gflop"] / rate)
    print(f"bench scaling: {len(settings)} settings x {len(kinds)} implementations x {len(args.threads)} "
          f"thread count(s) x {args.repeats} repeats; estimated {est / 60:.1f} min on 2 quiet cores", flush=True)
    t0 = time.perf_counter()
    data = {"source": "synthetic" if args.synthetic else "mnist", "samples": args.samples, "input": "flat", "seed": 0}
    result: dict[str, Any] = {"settings": [{k: v for k, v in s.items() if k != "cfg"} for s in settings],
                              "medians": {}, "stats": {}, "fits": {}}
    meta_workers, errors, order = {}, {}, {}
    for threads in args.threads:
        tkey = f"threads_{threads}"
        workers = harness.start_workers({k: (k, None) for k in kinds}, threads)
        try:
            jobs = [(s["key"], {"cfg": s["cfg"], "batch": s["batch"], "data": data}, list(workers)) for s in settings]
            make = harness.make_setting_fn(args.quick, REGISTRY)
            measured = harness.measure(workers, jobs, threads, args.repeats, make)
            meta_workers[tkey] = {label: w.hello | {"command": w.command} for label, w in workers.items()}
        finally:
            harness.close_all(workers)
        summ = harness.summarise(measured, [s["key"] for s in settings])
        errors[tkey], order[tkey] = measured["errors"], measured["order"]
        result["medians"][tkey] = {k: {key: row[k] for key, row in summ["medians"].items() if k in row} for k in kinds}
        result["stats"][tkey] = summ["stats"]
        result["fits"][tkey] = {}
        for k in kinds:
            pts = [(s["key"], s["steps"], s["gflop"], summ["medians"][s["key"]][k])
                   for s in settings if k in summ["medians"][s["key"]]]
            if len(pts) >= 2:
                keys, steps, gflop, secs = zip(*pts, strict=True)
                result["fits"][tkey][k] = {**fit_cost(steps, gflop, secs), "keys": list(keys)}
    host = host_meta()
    result["meta"] = {
        "samples": args.samples, "repeats": args.repeats, "threads": args.threads, "data": data["source"],
        "quick": args.quick,
        "model": "784-W(sigmoid)-10(softmax), CCE, SGD lr 0.01, float32 (bench mlp's model, width W)",
        "sweeps": {"batch": {"batch_sizes": args.batch_sizes, "width": BASE_WIDTH},
                   "width": {"widths": args.widths, "batch": BASE_BATCH}},
        "fit": "non-negative least squares on relative errors over the settings' median epoch seconds: "
               "t = a * steps + executed GFLOP / rate",
        "workers": meta_workers, "errors": errors, "order": order, "elapsed_seconds": time.perf_counter() - t0,
        "estimated_seconds": est,
        "host": host, "cpu_label": cpu_label(host), "timestamp_utc": host["date_utc"],
    }
    out_dir = args.out_dir or reports_dir() / "bench"
    write_json(out_dir / "scaling.json", result)
    figure(result, out_dir / "scaling.png")
    for tkey, fits in result["fits"].items():
        for k, f in fits.items():
            r2 = f["r2"] if f["r2"] is not None else float("nan")
            print(f"  {tkey} {k:<12} a = {1e6 * f['seconds_per_step']:8.1f} µs/step   rate = "
                  f"{(f['gflops'] or float('inf')):8.1f} GFLOP/s   R^2 = {r2:.3f}")
    print(f"wrote {out_dir / 'scaling.json'} and {out_dir / 'scaling.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
