"""Weight initializers: a table of small functions, Keras-compatible names and layouts.

Spec: ``{"name": ..., **params, "layout": "in_out" | "out_in"}`` (layout optional).

Every initializer draws in float64 and casts to ``dtype``, so the same seed gives the same
values (up to rounding) in float32 and float64. ``rng`` may be a ``numpy.random.Generator``
or a legacy ``numpy.random.RandomState`` (R1-R3 reproduce ``np.random.seed(1)`` scripts).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

Rng = np.random.Generator | np.random.RandomState

_TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2] (Keras)


def _uniform(rng: Rng, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
    u = rng.random_sample(shape) if isinstance(rng, np.random.RandomState) else rng.random(shape)
    return low + (high - low) * u


def _truncated_normal(rng: Rng, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2.0
    while bad.any():  # resample outliers until every draw lies within two standard deviations
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2.0
    return x * (stddev / _TRUNC_STD)


def _randn(rng, shape, fan_in, fan_out, scale=1.0):
    return rng.standard_normal(shape) * scale


def _randn_sqrt_fan_in(rng, shape, fan_in, fan_out):
    return rng.standard_normal(shape) / np.sqrt(fan_in)


def _randn_sqrt_fan_out(rng, shape, fan_in, fan_out):
    return rng.standard_normal(shape) / np.sqrt(fan_out)


def _uniform_init(rng, shape, fan_in, fan_out, low=-0.05, high=0.05):
    if not high > low:
        raise ValueError(f"init uniform: 'high' ({high}) must be greater than 'low' ({low})")
    return _uniform(rng, shape, low, high)


def _glorot_uniform(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return _uniform(rng, shape, -limit, limit)


def _glorot_normal(rng, shape, fan_in, fan_out):
    return _truncated_normal(rng, shape, np.sqrt(2.0 / (fan_in + fan_out)))


def _he_normal(rng, shape, fan_in, fan_out):
    return _truncated_normal(rng, shape, np.sqrt(2.0 / fan_in))


def _he_uniform(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / fan_in)
    return _uniform(rng, shape, -limit, limit)


def _zeros(rng, shape, fan_in, fan_out):
    return np.zeros(shape)


def _constant(rng, shape, fan_in, fan_out, value=0.0):
    return np.full(shape, float(value))


INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "randn": _randn,  # standard normal * scale (R9/R11 scale 0.01, R10 0.1)
    "randn_sqrt_fan_in": _randn_sqrt_fan_in,  # standard normal / sqrt(fan_in) (the course run behind R11)
    "randn_sqrt_fan_out": _randn_sqrt_fan_out,  # standard normal / sqrt(fan_out) (the book behind R5)
    "uniform": _uniform_init,  # uniform in [low, high)
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,  # truncated normal, as Keras
    "he_normal": _he_normal,  # truncated normal, as Keras
    "he_uniform": _he_uniform,
    "zeros": _zeros,
    "constant": _constant,
}

_PARAMS = {"randn": {"scale"}, "uniform": {"low", "high"}, "constant": {"value"}}


def check_spec(spec: Mapping[str, Any] | str | None, where: str = "init") -> dict[str, Any]:
    """Validate an initializer spec (``{"name": ..., **params}`` or a bare name); return it as a dict."""
    if spec is None:
        raise ValueError(f"{where}: missing initializer spec")
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or spec.get("name") is None:
        raise ValueError(f"{where}: expected a mapping with a 'name' key, got {spec!r}")
    spec = {k: getattr(v, "value", v) for k, v in spec.items() if v is not None}  # unset fields / enums -> plain
    name = spec["name"]
    if name not in INITIALIZERS:
        raise ValueError(f"{where}: unknown initializer {name!r}; valid names: {', '.join(sorted(INITIALIZERS))}")
    extra = set(spec) - {"name", "layout"} - _PARAMS.get(name, set())
    if extra:
        allowed = sorted(_PARAMS.get(name, set()))
        raise ValueError(f"{where}: initializer {name!r} got unknown parameter(s) {sorted(extra)}; allowed: {allowed}")
    if spec.get("layout", "in_out") not in ("in_out", "out_in"):
        raise ValueError(f"{where}: layout must be 'in_out' or 'out_in', got {spec['layout']!r}")
    return dict(spec)


def initialize(
    spec: Mapping[str, Any] | str,
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    rng: Rng,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Draw an array of ``shape`` with the initializer named in ``spec`` (e.g. ``{"name": "randn", "scale": 0.01}``).

    ``layout: out_in`` draws a 2-D weight as (out, in) and transposes it, replaying scripts
    that store ``W`` as (out, in) (R9-R11: ``np.random.randn(n_out, n_in) * 0.01``).
    """
    spec = check_spec(spec)
    params = {k: v for k, v in spec.items() if k not in ("name", "layout")}
    transpose = spec.get("layout") == "out_in" and len(shape) == 2
    draw_shape = tuple(shape)[::-1] if transpose else tuple(shape)
    values = INITIALIZERS[spec["name"]](rng, draw_shape, int(fan_in), int(fan_out), **params)
    if transpose:
        values = values.T
    return np.ascontiguousarray(values, dtype=dtype)
