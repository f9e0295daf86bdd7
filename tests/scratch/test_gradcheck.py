"""Finite differences against backprop for every activation x loss x bias combination (float64)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from scratchbench.scratch.activations import ACTIVATIONS, NOT_DERIVATIVES
from scratchbench.scratch.losses import LOSSES

from scratch_helpers import targets_for, tiny_net


def _numeric_grads(net, x, y, eps=1e-6):
    weights = net.get_weights()
    grads = []
    for i, w in enumerate(weights):
        g = np.zeros_like(w)
        for j in np.ndindex(w.shape):
            for sign in (1, -1):
                trial = [v.copy() for v in weights]
                trial[i][j] += sign * eps
                net.set_weights(trial)
                g[j] += sign * net.loss(x, y) / (2 * eps)
        grads.append(g)
    net.set_weights(weights)
    return grads


def _rel_err(a, b):
    a, b = np.concatenate([v.ravel() for v in a]), np.concatenate([v.ravel() for v in b])
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def _output_for(act: str, loss: str) -> list[str]:
    if loss == "binary_crossentropy":
        return ["sigmoid", "softmax"]  # fused head, and the clipped generic path
    if loss == "categorical_crossentropy":
        return ["softmax", "sigmoid"]
    return [act]


CASES = [
    (act, loss, out, bias)
    for act in ACTIVATIONS if act not in NOT_DERIVATIVES  # a replayed bug is checked in test_reference_rules
    for loss in LOSSES
    for out in _output_for(act, loss)
    for bias in (True, False)
]


@pytest.mark.parametrize("act,loss,out,bias", CASES,
                         ids=[f"{a}-{loss}-{o}-{'bias' if b else 'nobias'}" for a, loss, o, b in CASES])
def test_backprop_matches_finite_differences(act, loss, out, bias):
    rng = np.random.default_rng(zlib.crc32(f"{act}-{loss}-{out}-{bias}".encode()))  # fixed per case, unlike hash()
    net = tiny_net(hidden=act, out=out, loss=loss, bias=bias, n_out=3)
    x = rng.normal(0.0, 1.0, (5, 3))
    y = targets_for(loss, out, 5, 3, rng)
    loss_value, grads = net.loss_and_grads(x, y)
    assert np.isclose(loss_value, net.loss(x, y), rtol=1e-10)
    numeric = _numeric_grads(net, x, y)
    assert len(grads) == (4 if bias else 2)
    assert _rel_err(grads, numeric) < 1e-6


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a not in NOT_DERIVATIVES])
def test_activation_backprop_and_derivative_match_finite_differences(act):
    """Every activation, softmax included: ``backprop`` is the vector-Jacobian product g^T df/dz and
    ``df`` the Jacobian's diagonal (the element-wise derivative for all but softmax), both checked
    against central differences of ``f`` on rows of several units."""
    rng = np.random.default_rng(zlib.crc32(act.encode()))
    z = rng.normal(0.0, 2.0, (4, 6))
    z += np.where(z >= 0, 0.05, -0.05)  # keep off the ReLU kink at 0
    g = rng.normal(0.0, 1.0, z.shape)
    params = {"alpha": 0.1} if act == "leaky_relu" else {}
    fn = ACTIVATIONS[act]
    vjp, diagonal = np.zeros_like(z), np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        step = np.zeros_like(z)
        step[idx] = 1e-6
        up, down = fn.f(z + step, **params), fn.f(z - step, **params)
        vjp[idx] = np.sum(g * (up - down)) / 2e-6
        diagonal[idx] = (up[idx] - down[idx]) / 2e-6
    a = fn.f(z, **params)
    np.testing.assert_allclose(fn.backprop(g, z, a, np.empty_like(z), **params), vjp, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fn.df(z, **params), diagonal, rtol=1e-6, atol=1e-9)
    if act == "softmax":  # rows couple: the VJP is not g times the diagonal
        assert not np.allclose(vjp, g * diagonal, atol=1e-3)
    if act == "leaky_relu":
        np.testing.assert_allclose(fn.df(z, alpha=0.1)[z < 0], 0.1)
