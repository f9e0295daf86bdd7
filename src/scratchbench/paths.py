"""Where the project keeps its files (absolute, so Hydra's cwd changes do not matter)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout root: ``$SCRATCHBENCH_ROOT``, else the folder holding this package's pyproject."""
    env = os.environ.get("SCRATCHBENCH_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file():
        return here
    return Path.cwd().resolve()


def data_dir() -> Path:
    return project_root() / "data"


def raw_dir(dataset: str) -> Path:
    return data_dir() / "raw" / dataset


def features_dir(dataset: str) -> Path:
    return data_dir() / "features" / dataset


def reports_dir() -> Path:
    return project_root() / "reports"
