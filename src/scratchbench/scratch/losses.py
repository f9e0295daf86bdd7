"""Losses as a table, plus the two fused output heads (sigmoid+BCE, softmax+CCE).

Conventions (``a`` = network output (N, K), ``y`` = encoded targets (N, K)):

============================  =========================================  ===================
name                          value                                      dL/da
============================  =========================================  ===================
binary_crossentropy           mean over N and K of -[y ln a + (1-y) ln(1-a)]   (a-y)/(a(1-a)NK)
categorical_crossentropy      -(1/N) sum y ln a                           -y/(aN)
mse                           (1/NK) sum (a-y)^2   (Keras)               2(a-y)/(NK)
mse_half                      (1/2N) sum (a-y)^2   (R12)                 (a-y)/N
sse                           (1/2) sum (a-y)^2    (R1, R3, R5)          (a-y)
sse_plain                     sum (a-y)^2          (R2)                  2(a-y)
============================  =========================================  ===================

``sse`` carries the 1/2 so that plain gradient descent with step 1 is exactly the classic
``w += X.T @ (err * s'(out))`` update of R1 and R3; ``sse_plain`` has none, so step 1 is R2's
``w += X.T @ (2 * (y - out) * s'(out))``. Log-losses clip ``a`` to [1e-7, 1-1e-7] when
not fused; the fused heads work from the logits ``z`` and never take ``log(0)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .activations import sigmoid

EPS = 1e-7


class LossFn(NamedTuple):
    value: Callable[[np.ndarray, np.ndarray], float]
    grad: Callable[..., np.ndarray]  # grad(a, y, out) -> dL/da


def _clip(a):
    return np.clip(a, EPS, 1.0 - EPS)


def _bce(a, y):
    a = _clip(a)
    return float(-np.mean(y * np.log(a) + (1.0 - y) * np.log1p(-a)))


def _bce_grad(a, y, out):
    c = _clip(a)
    np.divide(c - y, c * (1.0 - c) * a.size, out=out)
    return out


def _cce(a, y):
    return float(-np.sum(y * np.log(_clip(a))) / a.shape[0])


def _cce_grad(a, y, out):
    np.divide(-y, _clip(a) * a.shape[0], out=out)
    return out


def _mse(a, y):
    return float(np.mean((a - y) ** 2))


def _mse_grad(a, y, out):
    np.subtract(a, y, out=out)
    out *= 2.0 / a.size
    return out


def _mse_half(a, y):
    return float(np.sum((a - y) ** 2) / (2.0 * a.shape[0]))


def _mse_half_grad(a, y, out):
    np.subtract(a, y, out=out)
    out *= 1.0 / a.shape[0]
    return out


def _sse(a, y):
    return float(0.5 * np.sum((a - y) ** 2))


def _sse_grad(a, y, out):
    return np.subtract(a, y, out=out)


def _sse_plain(a, y):
    return float(np.sum((a - y) ** 2))


def _sse_plain_grad(a, y, out):
    np.subtract(a, y, out=out)
    out *= 2.0
    return out


LOSSES: dict[str, LossFn] = {
    "binary_crossentropy": LossFn(_bce, _bce_grad),
    "categorical_crossentropy": LossFn(_cce, _cce_grad),
    "mse": LossFn(_mse, _mse_grad),
    "mse_half": LossFn(_mse_half, _mse_half_grad),
    "sse": LossFn(_sse, _sse_grad),
    "sse_plain": LossFn(_sse_plain, _sse_plain_grad),
}


def check_loss(name: object, where: str = "loss") -> str:
    name = getattr(name, "value", name)  # str enums from structured configs
    if name not in LOSSES:
        raise ValueError(f"{where}: unknown loss {name!r}; valid names: {', '.join(LOSSES)}")
    return str(name)


# Fused heads: (z, y, a_out, g_out, ysum=None) -> loss value; fill a_out = act(z), g_out = dL/dz. --------
# ``ysum`` = the row sums of y (N, 1) when the caller has them (``Network.fit`` computes them once per fit).
def sigmoid_bce_head(z: np.ndarray, y: np.ndarray, a: np.ndarray, g: np.ndarray,
                     ysum: np.ndarray | None = None) -> float:
    """Sigmoid + binary cross-entropy from the logits: dL/dz = (a - y) / (N K); ``ysum`` is not needed."""
    sigmoid(z, out=a)
    # ln(1 + e^-|z|) + max(z, 0) - z y  ==  -[y ln a + (1-y) ln(1-a)], never log(0)
    loss = np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - z * y
    np.subtract(a, y, out=g)
    g /= a.size
    return float(loss.sum() / a.size)


def softmax_cce_head(z: np.ndarray, y: np.ndarray, a: np.ndarray, g: np.ndarray,
                     ysum: np.ndarray | None = None) -> float:
    """Softmax + categorical cross-entropy from the logits: dL/dz = (a * sum_k y - y) / N."""
    n = z.shape[0]
    # the row max over a (K, N) copy: numpy reduces N short rows one call each, ~7x slower at N=1024
    # (a max is exact either way)
    m = np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)[:, None]
    np.subtract(z, m, out=a)
    np.exp(a, out=a)
    s = np.add.reduce(a, axis=1, keepdims=True)
    a /= s
    np.log(s, out=s)
    s += m  # log-sum-exp per row
    if ysum is None:
        ysum = np.add.reduce(y, axis=1, keepdims=True)
    loss = float(np.vdot(ysum, s) - np.vdot(y, z))  # sum_n ysum_n lse_n - sum y z
    np.multiply(a, ysum, out=g)
    g -= y
    g /= n
    return loss / n


FUSED_HEADS: dict[tuple[str, str], Callable[..., float]] = {
    ("sigmoid", "binary_crossentropy"): sigmoid_bce_head,
    ("softmax", "categorical_crossentropy"): softmax_cce_head,
}
