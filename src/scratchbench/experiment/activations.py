"""R8: activation functions and their derivatives on a grid, drawn as a 2x2 figure (no training).

The derivative check compares each analytic derivative with a central difference; the run logs
``max_derivative_error`` and the figure ``activations.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

Fn = Callable[[np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def table(alpha: float = 0.01) -> dict[str, tuple[Fn, Fn]]:
    """name -> (function, derivative)."""
    return {
        "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
        "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
        "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(z.dtype)),
        "leaky_relu": (lambda z: np.where(z > 0, z, alpha * z), lambda z: np.where(z > 0, 1.0, alpha)),
    }


def derivative_errors(names: list[str], z: np.ndarray, alpha: float = 0.01, h: float = 1e-5) -> dict[str, float]:
    """max |analytic - central difference| per activation (kinks at 0 excluded)."""
    fns = table(alpha)
    zz = z[np.abs(z) > 10 * h]
    return {n: float(np.max(np.abs(fns[n][1](zz) - (fns[n][0](zz + h) - fns[n][0](zz - h)) / (2 * h)))) for n in names}


def plot(names: list[str], z: np.ndarray, path: Path, alpha: float = 0.01) -> Path:
    from matplotlib.figure import Figure  # not pyplot: no GUI backend machinery (~1 s) in a run

    fns = table(alpha)
    rows = int(np.ceil(len(names) / 2))
    fig = Figure(figsize=(10, 4 * rows))
    axes = fig.subplots(rows, 2, squeeze=False)
    for ax, n in zip(axes.ravel(), names):
        f, d = fns[n]
        ax.plot(z, f(z), label=n)
        ax.plot(z, d(z), "--", label=f"{n}'")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(n if n != "leaky_relu" else f"leaky_relu (alpha={alpha})")
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
