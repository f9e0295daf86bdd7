"""Measure the quick profile's cost table: seconds per epoch, step, sample and sample-MAC per implementation.

    uv run python benchmarks/quick_costs.py            # measure, rewrite conf/profile/quick.yaml's costs
    uv run python benchmarks/quick_costs.py --dry-run  # measure and print only

For each implementation, a few short probe runs (matrix entries of conf/pipeline/train.yaml
that use it, at two training-set sizes, profile=full, a few epochs, spooled to a temp dir):
the median of each run's per-epoch ``epoch_seconds`` (first epoch left out: tracing, warm-up)
is fitted by non-negative least squares to ``epoch + step*steps + sample*n + mac*n*macs``;
``run`` is the median time outside the epochs (set-up, first-epoch tracing). The caps in
``experiment/caps.py`` divide ``profile.max_fit_seconds`` by this prediction. Measured as the
pipeline runs: one BLAS and TensorFlow thread, with a companion process keeping the other core
busy (``--alone``: without it) as the pipeline's second side-by-side run does; the CPU is written
beside the table. On a shared machine the costs come out high (caps conservative): measure when
it is quiet.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# as the pipeline runs them: two runs side by side, one BLAS thread each (a lone run with two is faster)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
             "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUICK = ROOT / "conf" / "profile" / "quick.yaml"
BEGIN, END = "# --- costs (benchmarks/quick_costs.py) ---", "# --- end costs ---"
# per implementation: training-set sizes of the probes and their epochs (heavy per-sample/conv ones smaller)
PROBE = {"numpy_mlp": ((300, 2000), 4), "keras_mlp": ((300, 2000), 4), "sklearn_mlp": ((300, 2000), 4),
         "pybrain": ((100, 400), 3), "numpy_cnn": ((100, 300), 3), "keras_cnn": ((200, 800), 3)}
MAX_PRESETS = 4  # presets of distinct datasets probed per implementation, the larger datasets first
DATASET_ORDER = ("mnist", "fruits360", "catvnoncat", "moons", "xor", "xor3", "r1_table")


def _probes(matrix: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    order = lambda kv: DATASET_ORDER.index(kv[1]["dataset"]) if kv[1]["dataset"] in DATASET_ORDER else 99  # noqa: E731
    for key, item in sorted(matrix.items(), key=order):
        preset = yaml.safe_load((ROOT / "conf" / "experiment" / f"{item['experiment']}.yaml").read_text()) or {}
        if (preset.get("experiment") or {}).get("task", "train") != "train":
            continue  # R8's activation check trains nothing
        seen = {p["dataset"] for p in out.get(item["model"], [])}
        if item["dataset"] in seen or len(seen) >= MAX_PRESETS:
            continue
        out.setdefault(item["model"], []).append({"key": key, **item})
    return out


def _probe(item: dict, n: int, epochs: int, tmp: Path, extra: tuple[str, ...] = ()) -> dict | None:
    from scratchbench.config.compose import compose_run
    from scratchbench.runner import run
    from scratchbench.tracking.spool import read_spool

    overrides = [f"experiment={item['experiment']}", f"model={item['model']}", *item.get("overrides", []),
                 "profile=full", "tracking.record=spool", f"train.epochs={epochs}", f"train.max_train_samples={n}",
                 f"train.max_test_samples={max(100, n // 2)}", "train.early_stopping_patience=null", *extra]
    out = tmp / f"{item['key']}-{n}{len(extra)}"
    res = run(compose_run(overrides), out_dir=out)
    s = read_spool(out / "run")
    p = s["params"]
    if res.status != "FINISHED" or "data.train_samples" not in p:  # e.g. R8's activation check trains nothing
        print(f"skip {item['key']}: {res.status} {res.error or 'no training'}", flush=True)
        return None
    per_epoch = [v for k, v, _, step in s["metrics"] if k == "epoch_seconds" and step > 1]
    n_train = int(p["data.train_samples"])
    batch = None if p["train.batch_size"] == "None" else int(p["train.batch_size"])
    epoch = statistics.median(per_epoch) if per_epoch else res.metrics["fit_seconds"] / epochs
    return {"key": item["key"], "n": n_train, "macs": int(p.get("train.macs_per_sample", 0)),
            "val": int(p["data.val_samples"]), "batch": batch, "steps": 1 if batch is None else -(-n_train // batch),
            "epoch_seconds": epoch,
            "run_seconds": max(0.0, res.metrics["fit_seconds"] - epoch * int(res.metrics["epochs_run"]))}


def fit(rows: list[dict]) -> dict[str, float]:
    from scipy.optimize import nnls

    from scratchbench.experiment.caps import COST_TERMS, epoch_features

    terms = COST_TERMS[1:]
    a = np.array([[epoch_features(r["n"], r["batch"], r["macs"], r["val"])[t] for t in terms] for r in rows])
    y = np.array([r["epoch_seconds"] for r in rows])
    w = 1.0 / np.maximum(y, 1e-6)  # relative error: a tiny epoch predicted 10x off matters as much as a big one
    a, y = a * w[:, None], y * w
    scale = a.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale, y)
    coef = coef / scale
    return {"run": round(statistics.median(r["run_seconds"] for r in rows), 4),
            **{k: float(f"{c:.4g}") for k, c in zip(terms, coef, strict=True)}}


def write_table(costs: dict[str, dict[str, float]], cpu: str) -> None:
    lines = [BEGIN, f"# measured {time.strftime('%Y-%m-%d')} on {cpu}", "costs:"]
    for impl, c in sorted(costs.items()):
        row = ", ".join(f"{k}: {float(format(v, '.4g'))!r}" for k, v in c.items())  # floats: 0.0, not 0
        lines.append(f"  {impl}: {{{row}}}")
    lines.append(END)
    text = QUICK.read_text()
    block = "\n".join(lines)
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n" + block + "\n"
    QUICK.write_text(text)


COMPANION = ("import numpy as np\n"
             "a = np.random.default_rng(0).random((2000, 784), dtype=np.float32)\n"
             "w = np.random.default_rng(1).random((784, 100), dtype=np.float32)\n"
             "while True:\n    (a @ w).T @ a\n")  # a 1-thread dense training-like load


def companion() -> subprocess.Popen:
    """A process busy on one core the way the pipeline's other worker is (GEMMs on one BLAS thread)."""
    return subprocess.Popen([sys.executable, "-c", COMPANION], env=os.environ.copy())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--only", nargs="*", help="implementations to measure (default: all in the matrix)")
    ap.add_argument("--alone", action="store_true", help="no companion load on the other core")
    args = ap.parse_args(argv)
    import yaml

    from scratchbench.tracking.provenance import cpu_description

    matrix = yaml.safe_load((ROOT / "conf" / "pipeline" / "train.yaml").read_text())["train_matrix"]
    old = (yaml.safe_load(QUICK.read_text()) or {}).get("costs") or {}
    costs = dict(old)
    beside = None if args.alone else companion()
    try:
        with tempfile.TemporaryDirectory(prefix="quick-costs-") as tmp:
            _measure(matrix, costs, args, Path(tmp))
    finally:
        if beside is not None:
            beside.kill()
            beside.wait()
    if not args.dry_run:
        write_table(costs, cpu_description() + ("" if args.alone else "; the other core busy, as in the pipeline"))
        print(f"wrote {QUICK.relative_to(ROOT)}")
    return 0


def _measure(matrix: dict, costs: dict, args: argparse.Namespace, tmp: Path) -> None:
    """Probe each implementation and fit its cost row into ``costs``."""
    for impl, items in _probes(matrix).items():
        if args.only and impl not in args.only:
            continue
        sizes, epochs = PROBE.get(impl, ((300, 1000), 3))
        rows = [r for item in items for n in sizes if (r := _probe(item, n, epochs, tmp))]
        # one full-batch probe more: tells a per-step cost from a per-sample one (PyBrain's batch
        # learning still loops over samples)
        full = _probe(items[-1], sizes[-1], epochs, tmp, ("train.batch_size=null",))
        rows += [full] if full else []
        costs[impl] = fit(rows)
        for r in rows:
            print(f"{impl:12s} {r['key']:45s} n={r['n']:5d} steps={r['steps']:5d} macs={r['macs']:9d} "
                  f"val={r['val']:5d} epoch={r['epoch_seconds']:.4f}s run={r['run_seconds']:.3f}s", flush=True)
        print(f"{impl}: {costs[impl]}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
