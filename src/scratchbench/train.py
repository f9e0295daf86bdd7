"""Entry point: ``python -m scratchbench.train experiment=r11_cat_tanh`` (console script ``scratchbench-train``).

Thin: Hydra composes ``conf/``; :func:`scratchbench.runner.run` does the work. In a
``--multirun`` a failed job is recorded FAILED and the sweep goes on. A job of a Slurm sweep
(``hydra/launcher=submitit_slurm``) is its own Slurm job: ``scancel`` on it records its run KILLED
and the rest of the sweep goes on.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from scratchbench import paths
from scratchbench.config import ConfigError, register
from scratchbench.tracking import TrackingError


_SHOW = ("test_accuracy", "final_loss", "fit_seconds", "new_input_prediction", "max_abs_error", "mean_abs_error",
         "final_error", "max_derivative_error", "first_loss", "train_set_accuracy", "param_dump_max_abs_diff")


def _conf_dir() -> str:
    """``conf/`` of the checkout holding this code, else of the project root (absolute: cwd-proof)."""
    here = Path(__file__).resolve().parents[2] / "conf"
    return str(here if here.is_dir() else paths.project_root() / "conf")


@hydra.main(version_base=None, config_path=_conf_dir(), config_name="config")
def _app(cfg: DictConfig) -> float:
    from scratchbench.startup import collector_paused

    with collector_paused(unless_imported="scratchbench.runner"):  # a sweep worker's first job imports them
        from scratchbench.runner import RunKilled, run
        from scratchbench.tracking.callback import read_parent_run_id

    hc = HydraConfig.get()
    sweep = hc.mode == RunMode.MULTIRUN
    parent = read_parent_run_id(hc.sweep.dir) if sweep else None
    try:
        result = run(cfg, parent_run_id=parent, job=str(hc.job.num) if sweep else None, raise_on_failure=not sweep,
                     extra_tags=_slurm_tags())
    except (ConfigError, TrackingError) as exc:  # one clear line, not Hydra's chained tracebacks
        if sweep:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except RunKilled:
        if not (sweep and "Slurm" in str(hc.launcher.get("_target_", ""))):
            raise
        print("[scratchbench] run KILLED by the scheduler (scancel / time limit); the sweep goes on", file=sys.stderr)
        return math.nan  # this Slurm job alone was signalled: return, so submitit records a result
    if result.status != "FINISHED":
        print(f"[scratchbench] run {result.run_id} {result.status}: {result.error}", file=sys.stderr)
    else:
        shown = {k: round(v, 4) for k, v in result.metrics.items() if k in _SHOW}
        print(f"[scratchbench] run {result.run_id} FINISHED {shown}")
    return float(result.metrics.get("test_accuracy", math.nan))


def _slurm_tags() -> dict[str, str] | None:
    """``slurm_job_id`` (``<array job>_<task>`` for array jobs) when running inside a Slurm job."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return {"slurm_job_id": f"{array}_{task}" if array and task else job}


def plan(overrides: list[str]) -> int:
    """``--plan``: the caps each run would get (epochs, samples, the cap that bites, predicted fit time)."""
    import json

    from scratchbench.config.compose import compose_run
    from scratchbench.runner import plan as run_plan

    try:
        rec = run_plan(compose_run(overrides))
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    keys = ("train.epochs_requested", "train.epochs_effective", "train.epochs_cap_source",
            "train.predicted_fit_seconds", "train.max_train_samples_effective", "sample_cap_source",
            "data.train_samples", "data.val_samples", "train.macs_per_sample")
    print(json.dumps({k: rec[k] for k in keys if k in rec} or rec, indent=1))
    return 0


def main() -> None:
    from scratchbench.config.cli import check_hydra_command_line

    register()
    if "--plan" in sys.argv[1:]:  # list the caps without training (no Hydra run dir, no store)
        sys.exit(plan([a for a in sys.argv[1:] if a != "--plan"]))
    try:
        check_hydra_command_line(sys.argv[1:], _conf_dir())  # every job composed and validated: one error line, exit 2
        _app()
    except (ConfigError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
