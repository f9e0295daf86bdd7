"""A 20-job Hydra sweep on 2 joblib workers vs the basic launcher, same session: the time ratio.

    uv run python benchmarks/sweep_ratio.py [--jobs 20] [--epochs 50000] [--repeats 3]

Each job is R1's single neuron (`experiment=r1_single_neuron profile=full`, ``--epochs`` full-batch
epochs: about 2-3 s of fitting) with its own seed, recorded directly in the MLflow store
(a fresh SQLite store per launcher, in a temp project root holding R1's features). Writes
reports/bench/sweep.json: ``--repeats`` pairs of sweeps (the launchers' order alternated, the machine's
speed drifts by 10 % from one sweep to the next), each launcher's median sweep with every wall time,
the median of the pairs' ratios and all of them (goal <= 0.6 on 2 cores), the runs each store holds
(every job FINISHED, nested under one parent), a per-process timeline, the CPU and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCHERS = {"basic": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]}


def _sweep(launcher: str, jobs: int, epochs: int, tmp: Path) -> dict:
    root = tmp / launcher
    (root / "data" / "features").mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "features" / "r1_table", root / "data" / "features" / "r1_table")
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(root)}
    env.pop("MLFLOW_TRACKING_URI", None)
    from scratchbench.tracking.store import init_store

    init_store(f"sqlite:///{root / 'mlflow.db'}")  # the schema once, outside the timing, as in a used project
    cmd = [sys.executable, "-m", "scratchbench.train", "--multirun", "experiment=r1_single_neuron", "profile=full",
           f"train.epochs={epochs}", f"seed=range({jobs})", *LAUNCHERS[launcher]]
    t0, t0_ms = time.perf_counter(), time.time() * 1000
    p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    end_ms = t0_ms + wall * 1000
    if p.returncode != 0:
        raise SystemExit(f"{launcher} sweep exited {p.returncode}:\n{p.stderr[-3000:]}")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=1000)
    children = [r for r in runs if r.data.tags.get("sweep") == "child"]
    fit = [r.data.metrics.get("fit_seconds", 0.0) for r in children]
    return {"wall_seconds": round(wall, 2), "runs_recorded": len(children),
            "runs_finished": sum(r.info.status == "FINISHED" for r in children),
            "fit_seconds_mean": round(sum(fit) / max(1, len(fit)), 3),
            "output_lines": len(p.stdout.splitlines()) + len(p.stderr.splitlines()),
            "timeline": timeline(children, t0_ms, end_ms)}


def timeline(runs: list, t0_ms: float, end_ms: float) -> dict:
    """Where a sweep's wall time went, per process that ran jobs (seconds): from the sweep's start to
    its first job's call, jobs' calls to their runs opening, runs open (fit and the rest), the gaps
    between one job's end and the next one's call, and the last run's end to the sweep's exit."""
    procs: dict[tuple, list] = {}
    for r in runs:
        procs.setdefault((r.data.tags.get("process_start_ms", "?"), r.data.tags.get("process_id")), []).append(r)
    out = []
    for (start, _), rs in sorted(procs.items(), key=lambda kv: str(kv[0])):
        rs.sort(key=lambda r: int(r.data.tags["run_call_ms"]))
        calls = [int(r.data.tags["run_call_ms"]) for r in rs]
        fit = sum(r.data.metrics.get("fit_seconds", 0.0) for r in rs)
        out.append({
            "runs": len(rs),
            "process_start_s": round((int(start) - t0_ms) / 1000, 2) if start != "?" else None,
            "first_call_s": round((calls[0] - t0_ms) / 1000, 2),
            "call_to_open_s": round(sum(r.info.start_time - c for r, c in zip(rs, calls, strict=True)) / 1000, 2),
            "open_s": round(sum(r.info.end_time - r.info.start_time for r in rs) / 1000, 2),
            "fit_s": round(fit, 2),
            "between_runs_s": round(sum(c - q.info.end_time for q, c in zip(rs[:-1], calls[1:], strict=True)) / 1e3, 2),
            "after_last_s": round((end_ms - rs[-1].info.end_time) / 1000, 2),
        })
    return {"processes": out}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=50000)
    ap.add_argument("--repeats", type=int, default=3, help="pairs of sweeps, the launchers' order alternated")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "sweep.json")
    args = ap.parse_args(argv)
    from scratchbench.bench.pipeline import cpu_info

    load_before = os.getloadavg()
    pairs: list[dict[str, dict]] = []
    for i in range(args.repeats):
        order = list(LAUNCHERS) if i % 2 == 0 else list(reversed(LAUNCHERS))
        with tempfile.TemporaryDirectory(prefix="sweep-ratio-") as tmp:
            pair = {name: _sweep(name, args.jobs, args.epochs, Path(tmp)) for name in order}
        for name in order:
            print(f"pair {i + 1} {name}: {pair[name]}", flush=True)
        pairs.append(pair)
    ratios = sorted(p["joblib"]["wall_seconds"] / p["basic"]["wall_seconds"] for p in pairs)
    ratio = statistics.median(ratios)
    # the launchers' figures: each one's median sweep (its full record), every wall time beside it
    res = {}
    for name in LAUNCHERS:
        runs = sorted((p[name] for p in pairs), key=lambda r: r["wall_seconds"])
        res[name] = {**runs[len(runs) // 2], "wall_seconds_all": [p[name]["wall_seconds"] for p in pairs]}
    out = {"jobs": args.jobs, "epochs": args.epochs, "preset": "r1_single_neuron", "repeats": args.repeats, **res,
           "ratio": round(ratio, 3), "ratios": [round(r, 3) for r in ratios],
           "goal": 0.6, "all_recorded": all(p[n]["runs_finished"] == args.jobs for p in pairs for n in LAUNCHERS),
           "cpu": cpu_info(), "nproc": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"ratio {ratio:.2f} (median of {args.repeats} alternated pairs: {ratios}; goal <= 0.6), wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
