"""Optimizers updating parameter arrays in place: plain gradient descent, momentum, Adam, and
R6's gradient-free shrink-on-miss rule.

Each ``step`` reads as its formula (``g`` = dL/dθ, left untouched: the gradients keep meaning
gradients) and follows Keras, so a Keras twin with the same initial weights takes the same steps:

- SGD: ``θ -= lr g``
- momentum: ``v = μ v - lr g; θ += v`` (Nesterov: ``θ += μ v - lr g``)
- Adam: ``m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²; θ -= lr m̂ / (√v̂ + ε̂)`` with
  ``m̂ = m / (1-β1^t)``, ``v̂ = v / (1-β2^t)`` and Keras' ``ε̂ = ε / √(1-β2^t)``.

Temporaries (``lr g``, ``g²``, ...) go to buffers made on the first step, so a step allocates nothing.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


class Optimizer:
    learning_rate: float
    uses_gradients: bool = True  # False: the network skips backprop and calls ``shrink(params, misses)``

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``θ -= lr * g``."""

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = float(learning_rate)
        self.step_size: list[np.ndarray] | None = None  # lr * g, kept apart so the gradients stay dL/dθ

    def step(self, params, grads):
        if self.step_size is None:
            self.step_size = [np.empty_like(p) for p in params]
        for p, g, u in zip(params, grads, self.step_size):
            np.multiply(self.learning_rate, g, out=u)
            p -= u


class Momentum(Optimizer):
    """Gradient descent with (Keras-style, optionally Nesterov) momentum."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9, nesterov: bool = False) -> None:
        self.learning_rate, self.momentum, self.nesterov = float(learning_rate), float(momentum), bool(nesterov)
        self.velocity: list[np.ndarray] | None = None

    def step(self, params, grads):
        if self.velocity is None:
            self.velocity = [np.zeros_like(p) for p in params]
            self._lr_g = [np.empty_like(p) for p in params]
        lr, mu = self.learning_rate, self.momentum
        for p, g, v, lr_g in zip(params, grads, self.velocity, self._lr_g):
            np.multiply(lr, g, out=lr_g)
            v *= mu
            v -= lr_g  # v = μ v - lr g
            if self.nesterov:
                p += mu * v
                p -= lr_g  # θ += μ v - lr g
            else:
                p += v  # θ += v


class Adam(Optimizer):
    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7) -> None:
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = map(float, (learning_rate, beta_1, beta_2, epsilon))
        self.t = 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def step(self, params, grads):
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
            self._tmp = [np.empty_like(p) for p in params]
        self.t += 1
        lr, b1, b2 = self.learning_rate, self.beta_1, self.beta_2
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t  # bias corrections
        eps_hat = self.epsilon / np.sqrt(c2)
        for p, g, m, v, t in zip(params, grads, self.m, self.v, self._tmp):
            m *= b1
            m += np.multiply(1.0 - b1, g, out=t)  # m = β1 m + (1-β1) g
            v *= b2
            np.multiply(g, g, out=t)
            v += np.multiply(1.0 - b2, t, out=t)  # v = β2 v + (1-β2) g²
            np.divide(v, c2, out=t)
            np.sqrt(t, out=t)
            t += eps_hat  # √v̂ + ε̂
            np.divide(m, t, out=t)
            t *= lr / c1  # lr m̂ / (√v̂ + ε̂)
            p -= t


class ShrinkOnMiss(Optimizer):
    """R6's update as written: no gradient; after each misclassified sample ``w <- w - lr * w``.

    The network calls :meth:`shrink` with the number of misclassified samples of the batch
    (the tutorial trains one sample at a time, so that is 0 or 1).
    """

    uses_gradients = False

    def __init__(self, learning_rate: float = 0.001) -> None:
        self.learning_rate = float(learning_rate)

    def shrink(self, params: list[np.ndarray], misses: int) -> None:
        for _ in range(int(misses)):
            for p in params:
                p -= self.learning_rate * p

    def step(self, params, grads):
        raise TypeError("shrink_on_miss uses no gradients: call shrink(params, misses)")


_ALLOWED = {"name", "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon"}
OPTIMIZERS = ("sgd", "momentum", "adam", "shrink_on_miss")


def make_optimizer(cfg: Mapping[str, Any] | Optimizer | None) -> Optimizer:
    """Build an optimizer from ``{name: sgd|momentum|adam, learning_rate, momentum, beta_1, beta_2, epsilon}``.

    ``sgd`` with a non-zero ``momentum`` is momentum SGD (as Keras' ``SGD``).
    """
    if isinstance(cfg, Optimizer):
        return cfg
    cfg = dict(cfg or {"name": "sgd"})
    name = cfg.get("name", "sgd")
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer.name: unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    extra = set(cfg) - _ALLOWED
    if extra:
        raise ValueError(f"optimizer: unknown option(s) {sorted(extra)}; allowed: {sorted(_ALLOWED)}")
    for key in ("learning_rate", "momentum", "beta_1", "beta_2", "epsilon"):
        if cfg.get(key) is not None and not isinstance(cfg[key], (int, float)):
            raise ValueError(f"optimizer.{key}: expected a number, got {cfg[key]!r}")
    lr = cfg.get("learning_rate")
    lr = (0.001 if name in ("adam", "shrink_on_miss") else 0.01) if lr is None else lr
    if not lr > 0:
        raise ValueError(f"optimizer.learning_rate: must be > 0, got {lr}")
    def get(key: str, default: float) -> float:
        return default if cfg.get(key) is None else float(cfg[key])

    if name == "shrink_on_miss":
        return ShrinkOnMiss(lr)
    if name == "adam":
        return Adam(lr, get("beta_1", 0.9), get("beta_2", 0.999), get("epsilon", 1e-7))
    if name == "momentum":
        return Momentum(lr, get("momentum", 0.9), bool(cfg.get("nesterov", False)))
    mom = get("momentum", 0.0)
    if mom:
        return Momentum(lr, mom, bool(cfg.get("nesterov", False)))
    return SGD(lr)
