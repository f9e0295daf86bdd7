"""DVC stage script for the `train` (matrix) and `experiment` stages.

    python pipelines/train.py <key>      # train@<key>: entry <key> of params.yaml `train_matrix`
    python pipelines/train.py --current  # experiment: the run config composed into params.yaml

Reads params.yaml (composed from conf/ by `dvc exp run`, or by `python -m scratchbench.config.compose`).
A matrix entry names a preset + implementation, so its run config is that preset from conf/
with the `profile` (and `tracking`) of params.yaml; `--current` uses params.yaml as it is.
Writes reports/runs/<key>/metrics.json and learning_curve.csv; a failed run exits 1.
"""

from __future__ import annotations

import sys

from scratchbench import paths
from scratchbench.config import ConfigError
from scratchbench.config.compose import compose_run, read_params
from scratchbench.tracking import TrackingError

CURRENT = "current"


def run_config(key: str, params: dict) -> dict:
    """Run config for matrix entry ``key`` (or the composed top-level config for ``--current``)."""
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
    cfg["tracking"] = params.get("tracking", cfg["tracking"])
    return cfg


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    key = CURRENT if argv[0] == "--current" else argv[0]
    from scratchbench.runner import run

    try:
        cfg = run_config(key, read_params())
        result = run(cfg, out_dir=paths.reports_dir() / "runs" / key, raise_on_failure=False,
                     extra_tags={"launcher": "dvc", "dvc_stage": "experiment" if key == CURRENT else f"train@{key}"})
    except (ConfigError, TrackingError, FileNotFoundError) as exc:
        print(f"train {key}: {exc}", file=sys.stderr)
        return 2
    print(f"train {key}: run {result.run_id} {result.status} {result.error or ''}".rstrip())
    return 0 if result.status == "FINISHED" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
