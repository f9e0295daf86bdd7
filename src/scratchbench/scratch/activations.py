"""Activation functions as a table, each with its derivative and a fused in-place backprop.

``ACTIVATIONS[name]`` is an :class:`ActivationFn` ``(f, df, backprop)``:

- ``f(z, out=None, **params) -> a`` — numerically stable, never overflows (sigmoid uses
  ``0.5 * (1 + tanh(z / 2))``, softmax subtracts the row max);
- ``df(z, **params) -> f'(z)`` element-wise (for softmax: the Jacobian's diagonal), for plots;
- ``backprop(grad_a, z, a, out, **params) -> dL/dz`` — the vector-Jacobian product written
  into ``out`` from cached ``z``/``a`` (no exp recomputed).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np


class ActivationFn(NamedTuple):
    f: Callable[..., np.ndarray]
    df: Callable[..., np.ndarray]
    backprop: Callable[..., np.ndarray]


def _out(z: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    return np.empty_like(z) if out is None else out


# sigmoid ---------------------------------------------------------------------------------
def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = np.multiply(z, 0.5, out=_out(z, out))
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _sigmoid_df(z):
    s = sigmoid(np.asarray(z, dtype=float))
    return s * (1.0 - s)


def _sigmoid_bp(g, z, a, out):
    np.subtract(1.0, a, out=out)
    out *= a
    out *= g
    return out


# tanh ------------------------------------------------------------------------------------
def _tanh(z, out=None):
    return np.tanh(z, out=_out(z, out))


def _tanh_df(z):
    return 1.0 - np.tanh(z) ** 2


def _tanh_bp(g, z, a, out):
    np.multiply(a, a, out=out)
    np.subtract(1.0, out, out=out)
    out *= g
    return out


def _tanh_sigmoid_grad_df(z):
    s = sigmoid(np.asarray(z, dtype=float))
    return 1.0 - s**2


def _tanh_sigmoid_grad_bp(g, z, a, out):
    """R11's tanh_backward as written: ``1 - sigmoid(z)**2`` in place of ``1 - tanh(z)**2``."""
    sigmoid(z, out=out)
    np.multiply(out, out, out=out)
    np.subtract(1.0, out, out=out)
    out *= g
    return out


# relu / leaky relu -----------------------------------------------------------------------
def _relu(z, out=None):
    return np.maximum(z, 0.0, out=_out(z, out))


def _relu_df(z):
    return (np.asarray(z) > 0).astype(float)


def _relu_bp(g, z, a, out):
    return np.multiply(g, z > 0, out=out)


def _leaky(z, out=None, alpha=0.01):
    out = _out(z, out)
    out[...] = np.where(z > 0, z, alpha * z)
    return out


def _leaky_df(z, alpha=0.01):
    return np.where(np.asarray(z) > 0, 1.0, alpha)


def _leaky_bp(g, z, a, out, alpha=0.01):
    out[...] = np.where(z > 0, g, alpha * g)
    return out


# softmax ---------------------------------------------------------------------------------
def softmax(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    out = np.subtract(z, z.max(axis=-1, keepdims=True), out=_out(z, out))
    np.exp(out, out=out)
    out /= out.sum(axis=-1, keepdims=True)
    return out


def _softmax_df(z):
    s = softmax(np.asarray(z, dtype=float))
    return s * (1.0 - s)


def _softmax_bp(g, z, a, out):
    dot = np.einsum("ij,ij->i", g, a)[:, None]
    np.subtract(g, dot, out=out)
    out *= a
    return out


# linear ----------------------------------------------------------------------------------
def _linear(z, out=None):
    if out is None:
        return np.array(z, copy=True)
    np.copyto(out, z)
    return out


def _linear_df(z):
    return np.ones_like(np.asarray(z, dtype=float))


def _linear_bp(g, z, a, out):
    np.copyto(out, g)
    return out


ACTIVATIONS: dict[str, ActivationFn] = {
    "sigmoid": ActivationFn(sigmoid, _sigmoid_df, _sigmoid_bp),
    "tanh": ActivationFn(_tanh, _tanh_df, _tanh_bp),
    # R11 as written: tanh forward, derivative computed from sigmoid(z) (the tutorial's bug)
    "tanh_sigmoid_grad": ActivationFn(_tanh, _tanh_sigmoid_grad_df, _tanh_sigmoid_grad_bp),
    "relu": ActivationFn(_relu, _relu_df, _relu_bp),
    "leaky_relu": ActivationFn(_leaky, _leaky_df, _leaky_bp),  # param alpha (default 0.01; R8 uses 0.1)
    "softmax": ActivationFn(softmax, _softmax_df, _softmax_bp),
    "linear": ActivationFn(_linear, _linear_df, _linear_bp),
}

ACTIVATION_PARAMS: dict[str, set[str]] = {"leaky_relu": {"alpha"}}

# Replayed tutorial bugs: their df/backprop are deliberately NOT the derivative of f.
NOT_DERIVATIVES: tuple[str, ...] = ("tanh_sigmoid_grad",)


def check_activation(name: object, params: dict | None = None, where: str = "activation") -> str:
    """Raise a ValueError listing valid names if ``name`` (or one of its params) is unknown."""
    name = getattr(name, "value", name)  # str enums from structured configs
    if name not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {name!r}; valid names: {', '.join(ACTIVATIONS)}")
    extra = set(params or {}) - ACTIVATION_PARAMS.get(str(name), set())
    if extra:
        raise ValueError(f"{where}: activation {name!r} got unknown parameter(s) {sorted(extra)}")
    return str(name)
