"""DVC `record` stage: write every spooled run under reports/runs/ to the MLflow store, in batches.

    python pipelines/record.py [spool root]   # default: reports/runs

Idempotent (a spool already in the store is skipped; see scratchbench.tracking.spool). Draws the
learning-curve PNG each spooled run left to it, on the report's figure workers while it writes. The store is
params.yaml's `tracking.uri` (else MLFLOW_TRACKING_URI, else the project's SQLite store).
Writes reports/recorded.json: per spool, its MLflow run id and whether it was recorded or skipped.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml

from scratchbench import paths
from scratchbench.experiment.curves import render_deferred
from scratchbench.report.pool import FigurePool
from scratchbench.tracking import TrackingError
from scratchbench.tracking.spool import find_spools, record_spools
from scratchbench.tracking.store import init_store, resolve_uri


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else paths.reports_dir() / "runs"
    params_file = paths.project_root() / "params.yaml"
    tr = ((yaml.safe_load(params_file.read_text()) or {}) if params_file.is_file() else {}).get("tracking") or {}
    start = time.perf_counter()
    import matplotlib.figure  # noqa: F401 - imported once, before the drawing workers fork

    with FigurePool() as pool:
        pool.draw(int)  # fork the workers now, before the store opens connections or threads
        try:
            client = init_store(resolve_uri(tr.get("uri")), float(tr.get("connect_timeout", 5.0)))
        except TrackingError as exc:
            print(f"record: {exc}", file=sys.stderr)
            return 2
        done = record_spools(find_spools(root), client, render=render_deferred, submit=pool.draw)
    out = paths.reports_dir() / "recorded.json"
    rel = lambda p: str(Path(p).resolve().relative_to(paths.project_root().resolve()))  # noqa: E731
    out.write_text(json.dumps({rel(d["spool"]): {"run_id": d["run_id"], "action": d["action"]} for d in done},
                              indent=1, sort_keys=True) + "\n")
    n = sum(d["action"] == "recorded" for d in done)
    print(f"record: {n} run(s) recorded, {len(done) - n} already in the store, {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
