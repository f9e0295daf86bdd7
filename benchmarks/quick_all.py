"""Every preset with every implementation under the quick profile, on 2 joblib workers: how long each run takes.

    uv run python benchmarks/quick_all.py [--out reports/bench/quick_all.json]

One Hydra multirun (``hydra/launcher=joblib hydra.launcher.n_jobs=2``) over every preset in
``conf/experiment`` but ``adhoc`` and every model in ``conf/model``, recorded directly in a fresh
SQLite store in a temp project root that links this checkout's ``data/features`` (run the pipeline's
data stages first). A pairing an implementation cannot take ends FAILED at its start with an error
naming what is missing; every other run must finish within the goal (60 s from its start to its end,
fitting included, two runs side by side on 2 cores). Writes each run's status, seconds open, fit
seconds, the cap the quick profile applied and its predicted fit time, the errors, the CPU and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 60.0


def names(group: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / "conf" / group).glob("*.yaml") if p.stem != "adhoc")


def collect(store: str) -> list[dict]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], max_results=5000)
    out = []
    for r in runs:
        t, p, m = r.data.tags, r.data.params, r.data.metrics
        if t.get("sweep") != "child":
            continue
        out.append({"preset": t.get("experiment"), "implementation": t.get("implementation"),
                    "status": r.info.status, "seconds_open": round((r.info.end_time - r.info.start_time) / 1e3, 2),
                    "fit_seconds": round(m["fit_seconds"], 2) if "fit_seconds" in m else None,
                    "epochs_cap_source": p.get("train.epochs_cap_source"),
                    "predicted_fit_seconds": float(p["train.predicted_fit_seconds"])
                    if p.get("train.predicted_fit_seconds") not in (None, "None") else None,
                    "error": t.get("error")})
    return sorted(out, key=lambda r: (r["preset"] or "", r["implementation"] or ""))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "quick_all.json")
    args = ap.parse_args(argv)
    features = ROOT / "data" / "features"
    if not features.is_dir():
        raise SystemExit(f"quick_all: {features} is missing; run the pipeline's data stages first (uv run dvc repro)")
    from scratchbench.bench.pipeline import cpu_info

    presets, models = names("experiment"), names("model")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="quick-all-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        (root / "data" / "features").symlink_to(features)
        env = {**os.environ, "SCRATCHBENCH_ROOT": str(root)}
        env.pop("MLFLOW_TRACKING_URI", None)
        cmd = [sys.executable, "-m", "scratchbench.train", "--multirun", "hydra/launcher=joblib",
               "hydra.launcher.n_jobs=2", "profile=quick", f"experiment={','.join(presets)}",
               f"model={','.join(models)}"]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"quick_all: the sweep exited {p.returncode}:\n{p.stderr[-3000:]}")
        runs = collect(f"sqlite:///{root / 'mlflow.db'}")
    finished = [r for r in runs if r["status"] == "FINISHED"]
    longest = max(finished, key=lambda r: r["seconds_open"]) if finished else None
    out = {"presets": presets, "models": models, "pairs": len(presets) * len(models), "runs_recorded": len(runs),
           "finished": len(finished), "not_finished": len(runs) - len(finished),
           "errors": dict(Counter((r["error"] or "?").split(";")[0][:160] for r in runs if r["status"] != "FINISHED")),
           "longest": longest, "goal_seconds": GOAL_SECONDS,
           "all_within_goal": bool(finished) and all(r["seconds_open"] <= GOAL_SECONDS for r in finished),
           "sweep_wall_seconds": round(wall, 1), "runs": runs, "cpu": cpu_info(), "nproc": os.cpu_count(),
           "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(finished)} of {len(runs)} runs finished; longest {longest and longest['seconds_open']} s "
          f"({longest and longest['preset']}-{longest and longest['implementation']}); goal <= {GOAL_SECONDS:.0f} s: "
          f"{'meets' if out['all_within_goal'] else 'MISSES'}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
