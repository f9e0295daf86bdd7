"""Read the ``fetch:`` / ``featurize:`` sections of ``params.yaml``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scratchbench import paths


def load_params(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The whole ``params.yaml`` (default: project root); missing file -> ``{}``."""
    import yaml

    p = Path(path) if path is not None else paths.project_root() / "params.yaml"
    if not p.is_file():
        if path is not None:
            raise FileNotFoundError(f"params file {p} not found")
        return {}
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: top level must be a mapping")
    return data


def section(name: str, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    value = load_params(path).get(name) or {}
    if not isinstance(value, dict):
        raise ValueError(f"params.yaml: `{name}` must be a mapping, got {type(value).__name__}")
    return value


def fetch_params(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``fetch:`` with defaults (mirror None, upstream True, timeout 60, workers 8)."""
    defaults = {"mirror": None, "upstream": True, "timeout": 60.0, "workers": 8}
    p = {**defaults, **section("fetch", path)}
    unknown = set(p) - set(defaults)
    if unknown:
        raise ValueError(f"params.yaml fetch: unknown key(s) {sorted(unknown)}; valid: {', '.join(defaults)}")
    return p


def featurize_params(dataset: str, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """``featurize.<dataset>`` (empty dict when absent)."""
    value = section("featurize", path).get(dataset) or {}
    if not isinstance(value, dict):
        raise ValueError(f"params.yaml: featurize.{dataset} must be a mapping")
    return value
