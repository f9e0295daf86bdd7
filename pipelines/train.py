"""DVC stage script for the `train-<preset>` stages and the `experiment` stage.

    python pipelines/train.py --preset <preset>  # train-<preset>: every train_matrix entry of that preset
    python pipelines/train.py <key>              # one train_matrix entry (by hand)
    python pipelines/train.py --current          # experiment: the run config composed into params.yaml

Reads params.yaml (composed from conf/ by `dvc exp run`, or by `python -m scratchbench.config.compose`).
A matrix entry names a preset + implementation, so its run config is that preset from conf/
with the `profile` (and `tracking`) of params.yaml; `--current` uses params.yaml as it is.
A preset's entries run side by side (`train_pipeline.workers` worker processes, each with
`train_pipeline.blas_threads` BLAS and TensorFlow threads), the longest predicted run first, and
are spooled (`train_pipeline.record: spool`) to reports/runs/<key>/run/ for the `record` stage.
The workers are forked after the configs are composed and the features loaded, so they start
with the imports and data in place. Writes reports/runs/<key>/metrics.json and
learning_curve.csv per run; any failed run exits 1.
"""

from __future__ import annotations

import os
import sys

from scratchbench.startup import collector_paused
from scratchbench.threads import THREAD_VARS

CURRENT = "current"


def run_config(key: str, params: dict) -> dict:
    """Run config for matrix entry ``key`` (or the composed top-level config for ``--current``)."""
    from scratchbench.config import ConfigError
    from scratchbench.config.compose import compose_run

    if key == CURRENT:
        return params
    matrix = params.get("train_matrix") or {}
    if key not in matrix:
        raise ConfigError(f"params.yaml train_matrix has no entry {key!r}; entries: {', '.join(matrix)}")
    item = matrix[key]
    missing = [k for k in ("experiment", "model", "dataset") if not item.get(k)]
    if missing:
        raise ConfigError(f"params.yaml train_matrix.{key}: missing {missing}")
    overrides = [f"experiment={item['experiment']}", f"model={item['model']}", *item.get("overrides", [])]
    cfg = compose_run(overrides)
    if cfg["dataset"]["name"] != item["dataset"]:
        raise ConfigError(f"params.yaml train_matrix.{key}: dataset {item['dataset']!r} but preset "
                          f"{item['experiment']!r} uses {cfg['dataset']['name']!r}")
    cfg["profile"] = params["profile"]
    cfg["tracking"] = dict(params.get("tracking", cfg["tracking"]))
    cfg["tracking"]["record"] = (params.get("train_pipeline") or {}).get("record", cfg["tracking"].get("record"))
    return cfg


def train_one(key: str, params: dict, cfg: dict | None = None) -> int:
    """Run one entry (or ``current``), composed here unless ``cfg`` is given; 0 finished, 1 failed,
    2 a config/store error."""
    with collector_paused(unless_imported="scratchbench.runner"):  # start-up: once per process
        from scratchbench import paths
        from scratchbench.config import ConfigError
        from scratchbench.runner import run
        from scratchbench.tracking import TrackingError

    item = (params.get("train_matrix") or {}).get(key) or {}
    stage = "experiment" if key == CURRENT else f"train-{item.get('experiment', key)}"
    try:
        if cfg is None:
            with collector_paused(unless_imported="scratchbench.config.compose"):  # the first one imports
                cfg = run_config(key, params)
        result = run(cfg, out_dir=paths.reports_dir() / "runs" / key, raise_on_failure=False,
                     extra_tags={"launcher": "dvc", "dvc_stage": stage, "matrix_key": key})
    except (ConfigError, TrackingError, FileNotFoundError) as exc:
        print(f"train {key}: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"train {key}: run {result.run_id} {result.status} {result.error or ''}".rstrip(), flush=True)
    return 0 if result.status == "FINISHED" else 1


def preset_keys(preset: str, params: dict) -> list[str]:
    return [k for k, item in (params.get("train_matrix") or {}).items() if item.get("experiment") == preset]


def predicted_seconds(cfg: dict) -> float:
    """The run's predicted fit seconds under its profile (0 when there is no cost table row)."""
    from scratchbench.runner import plan

    return float(plan(cfg).get("train.predicted_fit_seconds") or 0.0)


def longest_first(keys: list[str], params: dict) -> list[tuple[str, dict | None]]:
    """``(key, composed config)`` pairs, the longest predicted fit first (so the short runs fill the
    other worker while it runs); a key whose config does not compose keeps ``None`` (its run reports it)."""
    from scratchbench.config import ConfigError

    planned = []
    for i, key in enumerate(keys):
        try:
            cfg = run_config(key, params)
            cost = predicted_seconds(cfg)
        except (ConfigError, FileNotFoundError, ValueError):
            cfg, cost = None, float("inf")
        planned.append((-cost, i, key, cfg))
    return [(key, cfg) for _, _, key, cfg in sorted(planned, key=lambda p: p[:2])]


def train_preset(preset: str, params: dict) -> int:
    """Every matrix entry of ``preset``, side by side on the configured workers; worst exit code."""
    keys = preset_keys(preset, params)
    if not keys:
        print(f"train --preset {preset}: no train_matrix entry uses it", file=sys.stderr)
        return 2
    workers = _workers(params, keys)
    if workers == 1:
        return max(train_one(k, params) for k in keys)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with collector_paused():  # start-up: composes and loads the features here, before the fork
        jobs = longest_first(keys, params)
    # fork: the workers inherit the imports, configs and features (the parent has started no thread)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(train_one, key, params, cfg) for key, cfg in jobs]
        return max(f.result() for f in futures)


def _workers(params: dict, keys: list[str]) -> int:
    return max(1, min(int((params.get("train_pipeline") or {}).get("workers", 1)), len(keys)))


def main(argv: list[str]) -> int:
    if not argv or len(argv) > 2 or (argv[0] == "--preset") != (len(argv) == 2):
        print(__doc__, file=sys.stderr)
        return 2
    import yaml

    from scratchbench import paths

    params_file = paths.project_root() / "params.yaml"
    if not params_file.is_file():
        print(f"{params_file} not found; run `python -m scratchbench.config.compose`", file=sys.stderr)
        return 2
    params = yaml.safe_load(params_file.read_text()) or {}
    threads = (params.get("train_pipeline") or {}).get("blas_threads")
    if argv[0] == "--preset" and threads and _workers(params, preset_keys(argv[1], params)) > 1:
        # runs side by side: each holds `threads` BLAS threads, set before NumPy loads (loky workers inherit it)
        for var in THREAD_VARS:
            os.environ[var] = str(threads)
    if argv[0] == "--preset":
        return train_preset(argv[1], params)
    return train_one(CURRENT if argv[0] == "--current" else argv[0], params)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
