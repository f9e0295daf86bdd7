"""Implementation name -> class, found from ``conf/model/<name>.yaml`` (imported lazily: TensorFlow
loads only for the Keras ones).

Each ``conf/model/<name>.yaml`` names its class (``implementation: module:Class``) and its
``input_kind``; adding a competitor = one module + one such file, no edit here. Files are read
from the ``conf/`` of the checkout holding this code and of the project root (``$SCRATCHBENCH_ROOT``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml

from scratchbench import paths
from scratchbench.models.base import Implementation, InputKind


def _model_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parents[3] / "conf" / "model", paths.project_root() / "conf" / "model"]
    return list(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))


def model_confs() -> dict[str, dict[str, Any]]:
    """``{name: the conf/model/<name>.yaml mapping}`` (the project's file wins over the checkout's)."""
    out: dict[str, dict[str, Any]] = {}
    for folder in _model_dirs():
        for path in sorted(folder.glob("*.yaml")):
            doc = yaml.safe_load(path.read_text()) or {}
            out[path.stem] = {**doc, "_file": str(path)}
    return out


def names() -> list[str]:
    """Every implementation name (the ``model=`` choices)."""
    return sorted(model_confs())


def _conf(name: str) -> dict[str, Any]:
    confs = model_confs()
    if name not in confs:
        raise ValueError(f"unknown implementation {name!r} (model.name); valid: {', '.join(sorted(confs))}")
    conf = confs[name]
    target = conf.get("implementation")
    if not isinstance(target, str) or ":" not in target or conf.get("input_kind") not in ("flat", "image"):
        raise ValueError(f"{conf['_file']}: needs `implementation: module:Class` and `input_kind: flat|image`")
    return conf


def input_kind(name: str) -> InputKind:
    """``flat`` or ``image`` without importing the implementation."""
    return _conf(name)["input_kind"]


def implementation_class(name: str) -> type[Implementation]:
    module, cls = _conf(name)["implementation"].split(":")
    return getattr(importlib.import_module(module), cls)


def get_implementation(name: str) -> Implementation:
    """A fresh, unbuilt instance of implementation ``name``."""
    return implementation_class(name)()
