"""Tiny shared builders for the scratch-engine tests."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np

from scratchbench.scratch.network import Network

REPO = Path(__file__).resolve().parents[2]

TABLE_X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=float)


def tiny_net(hidden="tanh", out="sigmoid", loss="mse", bias=True, dtype="float64", seed=0, n_in=3, n_hidden=4, n_out=2,
             **extra):
    hidden_spec = {"units": n_hidden, "activation": hidden}
    if hidden == "leaky_relu":
        hidden_spec["alpha"] = 0.1
    out_spec = {"units": n_out, "activation": out}
    if out == "leaky_relu":
        out_spec["alpha"] = 0.1
    cfg = {"layers": [hidden_spec, out_spec], "bias": bias, "loss": loss, "dtype": dtype,
           "init": {"name": "uniform", "low": -1.0, "high": 1.0},
           "bias_init": {"name": "uniform", "low": -0.5, "high": 0.5}, **extra}
    return Network.from_config(cfg, (n_in,), n_out, seed)


def targets_for(loss: str, out: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Float targets valid for the loss: one-hot-ish rows for CCE, values in (0,1) for BCE, anything else."""
    if loss == "categorical_crossentropy":
        return np.eye(k)[rng.integers(0, k, n)] * 0.9 + 0.05
    if loss == "binary_crossentropy":
        return rng.uniform(0.05, 0.95, (n, k))
    return rng.normal(0.0, 1.0, (n, k))


@functools.cache
def _preset_model(name: str) -> dict[str, Any]:
    from scratchbench.config import validate
    from scratchbench.config.compose import compose_run

    return validate(compose_run([f"experiment={name}"], root=REPO))["model"]


def preset_model(name: str) -> dict[str, Any]:
    """The ``model`` section of experiment preset ``name`` as a run composes it (``conf/experiment/<name>.yaml``)."""
    return copy.deepcopy(_preset_model(name))


def preset_layers(name: str) -> list[dict[str, Any]]:
    """The layer list of experiment preset ``name``: tests take R7's layers from the preset, never a copy."""
    return preset_model(name)["layers"]
