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

    def __init__(self, learning_rate: float) -> None:
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

    def __init__(self, learning_rate: float, momentum: float, nesterov: bool = False) -> None:
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
    def __init__(self, learning_rate: float, beta_1: float, beta_2: float, epsilon: float) -> None:
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

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = float(learning_rate)

    def shrink(self, params: list[np.ndarray], misses: int) -> None:
        for _ in range(int(misses)):
            for p in params:
                p -= self.learning_rate * p

    def step(self, params, grads):
        raise TypeError("shrink_on_miss uses no gradients: call shrink(params, misses)")


# The one home of the optimizers' defaults (the other implementations read them through
# ``optimizer_settings``); a row lists every option its optimizer takes.
DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "momentum": {"learning_rate": 0.01, "momentum": 0.9, "nesterov": False},
    "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "shrink_on_miss": {"learning_rate": 0.001},
}
OPTIMIZERS = tuple(DEFAULTS)
_ALLOWED = {"name", "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon"}


def optimizer_settings(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated settings ``{name, <options of that optimizer>}`` from the config, ``DEFAULTS`` filling the gaps.

    Options another optimizer takes (a composed config carries them all) are ignored.
    """
    cfg = dict(cfg or {"name": "sgd"})
    name = cfg.get("name") or "sgd"
    if name not in DEFAULTS:
        raise ValueError(f"optimizer.name: unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    extra = set(cfg) - _ALLOWED
    if extra:
        raise ValueError(f"optimizer: unknown option(s) {sorted(extra)}; allowed: {sorted(_ALLOWED)}")
    settings: dict[str, Any] = {"name": name, **DEFAULTS[name]}
    for key, default in DEFAULTS[name].items():
        value = cfg.get(key)
        if value is None:
            continue
        if isinstance(default, bool):
            settings[key] = bool(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            settings[key] = float(value)
        else:
            raise ValueError(f"optimizer.{key}: expected a number, got {value!r}")
    if not settings["learning_rate"] > 0:
        raise ValueError(f"optimizer.learning_rate: must be > 0, got {settings['learning_rate']}")
    return settings


def make_optimizer(cfg: Mapping[str, Any] | Optimizer | None) -> Optimizer:
    """Build an optimizer from ``{name: sgd|momentum|adam|shrink_on_miss, learning_rate, ...}`` (see ``DEFAULTS``).

    ``sgd`` with a non-zero ``momentum`` is momentum SGD (as Keras' ``SGD``).
    """
    if isinstance(cfg, Optimizer):
        return cfg
    o = optimizer_settings(cfg)
    if o["name"] == "shrink_on_miss":
        return ShrinkOnMiss(o["learning_rate"])
    if o["name"] == "adam":
        return Adam(o["learning_rate"], o["beta_1"], o["beta_2"], o["epsilon"])
    if o["momentum"]:
        return Momentum(o["learning_rate"], o["momentum"], o["nesterov"])
    return SGD(o["learning_rate"])
