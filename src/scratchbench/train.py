"""Entry point: ``python -m scratchbench.train experiment=r11_cat_tanh`` (console script ``scratchbench-train``).

Thin: Hydra composes ``conf/``; :func:`scratchbench.runner.run` does the work. In a
``--multirun`` a failed job is recorded FAILED and the sweep goes on.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from scratchbench import paths
from scratchbench.config import ConfigError, register
from scratchbench.tracking import TrackingError


_SHOW = ("test_accuracy", "final_loss", "fit_seconds", "new_input_prediction", "max_abs_error", "final_error",
         "max_derivative_error")


def _conf_dir() -> str:
    """``conf/`` of the checkout holding this code, else of the project root (absolute: cwd-proof)."""
    here = Path(__file__).resolve().parents[2] / "conf"
    return str(here if here.is_dir() else paths.project_root() / "conf")


@hydra.main(version_base=None, config_path=_conf_dir(), config_name="config")
def _app(cfg: DictConfig) -> float:
    from scratchbench.runner import run
    from scratchbench.tracking.callback import read_parent_run_id

    hc = HydraConfig.get()
    sweep = hc.mode == RunMode.MULTIRUN
    parent = read_parent_run_id(hc.sweep.dir) if sweep else None
    result = run(cfg, parent_run_id=parent, job=str(hc.job.num) if sweep else None, raise_on_failure=not sweep)
    if result.status != "FINISHED":
        print(f"[scratchbench] run {result.run_id} {result.status}: {result.error}", file=sys.stderr)
    else:
        shown = {k: round(v, 4) for k, v in result.metrics.items() if k in _SHOW}
        print(f"[scratchbench] run {result.run_id} FINISHED {shown}")
    return float(result.metrics.get("test_accuracy", math.nan))


def main() -> None:
    register()
    try:
        _app()
    except (ConfigError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
