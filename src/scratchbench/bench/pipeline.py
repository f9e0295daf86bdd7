"""Pipeline wall time: a fresh clone per revision, `dvc repro`, and where each stage's time went.

    python -m scratchbench.bench pipeline --rev main --rev h12 [--stages STAGE ...] [--out reports/bench/pipeline.json]

For each ``--rev``: ``git clone`` of this repository into a temp dir, checkout, ``data/`` and
``.dvc/cache`` hard-linked in from this checkout (already fetched and featurized: DVC finds the
outputs its lock names in its cache and skips those stages, or reruns featurize where the revision
changed it; the fetch-from-mirror time is left out for every revision alike), a fresh MLflow
store, then ``dvc repro`` (all stages, or ``--stages``) with this environment's Python packages
and ``$SCRATCHBENCH_DATA_MIRROR``.

Per stage: wall time (from DVC's ``Running stage`` lines), and per run recorded by it: time before
the run opened (run start - tag ``process_start_ms`` for a process's first run, - ``run_call_ms``
for the later runs of a worker), run overhead (open -> close minus
``fit_seconds``) and fit time. Totals, the CPU (lscpu family/model/flags) and the load average
before and after go with it; the machine may be shared, so compare revisions of one session.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratchbench import paths
from scratchbench.bench.readme_pipeline import stage_table

STAGE_LINE = re.compile(r"Running stage '([^']+)'")


def cpu_info() -> dict[str, Any]:
    """lscpu's model name, family, model and the SIMD flags that matter here."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    f = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}
    flags = set(f.get("Flags", "").split())
    return {"model_name": f.get("Model name", ""), "family": f.get("CPU family", ""), "model": f.get("Model", ""),
            "cpus": f.get("CPU(s)", ""),
            "flags": sorted(flags & {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"})}


def _stream(cmd: list[str], cwd: Path, env: dict, log: Path) -> tuple[int, list[tuple[str, float]], float]:
    """Run ``cmd``; (exit code, [(stage, start offset s)], total s). Output goes to ``log``."""
    t0 = time.perf_counter()
    starts: list[tuple[str, float]] = []
    with open(log, "w") as fh:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert p.stdout is not None
        for line in p.stdout:
            fh.write(line)
            m = STAGE_LINE.search(line)
            if m:
                starts.append((m.group(1), time.perf_counter() - t0))
        rc = p.wait()
    return rc, starts, time.perf_counter() - t0


def _runs(clone: Path) -> list[dict[str, Any]]:
    """Every run of the clone's store: stage, timings (s)."""
    db = clone / "mlflow.db"
    if not db.is_file():
        return []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    exps = [e.experiment_id for e in client.search_experiments()]
    out = []
    for r in client.search_runs(exps, max_results=5000) if exps else []:
        tags, m = r.data.tags, r.data.metrics
        if tags.get("sweep") == "parent":
            continue
        open_close = ((r.info.end_time or r.info.start_time) - r.info.start_time) / 1000
        fit = m.get("fit_seconds")
        first = tags.get("process_runs_before", "0") == "0"  # later runs of a worker: from their call
        start_ms = tags.get("process_start_ms") if first else tags.get("run_call_ms")
        read = tags.get("process_read_bytes") if first else None  # cumulative per process: a first run's alone
        faults = tags.get("process_major_faults") if first else None
        out.append({"stage": tags.get("dvc_stage", ""), "run": r.info.run_name, "status": r.info.status,
                    "before_open_seconds": (None if not start_ms
                                            else round((r.info.start_time - int(start_ms)) / 1000, 3)),
                    "disk_read_mib_before_open": None if read is None else round(int(read) / 2**20, 1),
                    "major_faults_before_open": None if faults is None else int(faults),
                    "open_close_seconds": round(open_close, 3),
                    "overhead_seconds": None if fit is None else round(open_close - fit, 3),
                    "fit_seconds": None if fit is None else round(fit, 3)})
    return out


def _link_tree(src: Path, dst: Path) -> None:
    """Hard links where possible (DVC replaces outputs, never writes into them), else copies."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True, copy_function=link)


def bench_rev(repo: Path, rev: str, stages: list[str], work: Path) -> dict[str, Any]:
    clone = work / re.sub(r"[^A-Za-z0-9_.-]", "_", rev)
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True, timeout=300)
    subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True, timeout=60)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    t = time.perf_counter()
    for part in ("data", ".dvc/cache"):  # the outputs and the cache DVC checks them against
        if (repo / part).is_dir():
            _link_tree(repo / part, clone / part)
    copy_s = time.perf_counter() - t
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "SCRATCHBENCH_ROOT": str(clone),
           # the revision's own code, not the package this environment installed (editable from this checkout)
           "PYTHONPATH": os.pathsep.join(filter(None, [str(clone / "src"), os.environ.get("PYTHONPATH")]))}
    env.pop("MLFLOW_TRACKING_URI", None)
    load_before = os.getloadavg()
    rc, starts, total = _stream(["dvc", "repro", *stages], clone, env, work / f"{clone.name}.log")
    load_after = os.getloadavg()
    runs = _runs(clone)
    table = []
    for i, (stage, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else total
        mine = [r for r in runs if r["stage"] == stage or (stage == "experiment" and r["stage"] == "experiment")]
        row: dict[str, Any] = {"stage": stage, "wall_seconds": round(end - start, 3), "runs": len(mine)}
        for key in ("before_open_seconds", "overhead_seconds", "fit_seconds"):
            vals = [r[key] for r in mine if r[key] is not None]
            row[key] = round(sum(vals), 3) if vals else None
        table.append(row)
    keys = ("before_open_seconds", "overhead_seconds", "fit_seconds")
    return {"rev": rev, "commit": commit, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "exit_code": rc, "stages_requested": stages or "all",
            "data": f"data/ and .dvc/cache linked from the benchmark's checkout ({copy_s:.1f} s, not counted): "
                    "fetch/featurize skip where the revision's lock matches",
            "wall_seconds": round(total, 3), "stages": table, "runs": runs,
            "totals": {"stages_run": len(table), "runs": len(runs),
                       **{k: round(sum(r[k] or 0.0 for r in runs), 3) for k in keys}},
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after]}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m scratchbench.bench pipeline", description=__doc__.splitlines()[0])
    ap.add_argument("--rev", action="append", help="git revision (repeat; default HEAD)")
    ap.add_argument("--stages", nargs="*", default=[], help="dvc repro targets (default: the whole pipeline)")
    ap.add_argument("--repo", type=Path, default=None, help="repository to clone (default: this checkout)")
    ap.add_argument("--out", type=Path, default=None, help="default reports/bench/pipeline.json")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep the clones and dvc logs here (default: a temp dir)")
    args = ap.parse_args(argv)
    repo = (args.repo or paths.project_root()).resolve()
    out = args.out or paths.reports_dir() / "bench" / "pipeline.json"
    if not os.environ.get("SCRATCHBENCH_DATA_MIRROR"):
        print("note: SCRATCHBENCH_DATA_MIRROR is not set; stages that fetch data download it", file=sys.stderr)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for rev in args.rev or ["HEAD"]:
            res = bench_rev(repo, rev, list(args.stages), work)
            print(f"{rev} ({res['commit'][:10]}): dvc repro {res['wall_seconds']:.1f} s, exit {res['exit_code']}, "
                  f"{res['totals']['runs']} runs, fit {res['totals']['fit_seconds']:.1f} s, "
                  f"overhead {res['totals']['overhead_seconds']:.1f} s, "
                  f"before open {res['totals']['before_open_seconds']:.1f} s",
                  flush=True)
            print(stage_table(res), flush=True)
            results.append(res)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpu": cpu_info(), "nproc": os.cpu_count(), "revs": results}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["exit_code"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
