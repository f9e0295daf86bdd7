"""The minimal NumPy loop: shuffled mini-batch SGD for the bench MLP, written out by hand.

It does what any NumPy implementation of that training must do per step, and nothing else:
gather the batch's rows; per hidden layer one product, the bias add and a sigmoid (as tanh);
the output product and a softmax; the softmax + cross-entropy delta, pre-scaled by
``lr / batch`` so the products already give the updates; the weight products (no input
gradient for the first layer), the bias gradients as products with ones, and the subtractions.
No loss value, no running accuracy, no divergence check, no layer objects.

Its epoch over the floor's is what NumPy costs beyond the GEMMs (one Python call per
operation, the row gather, the element-wise passes); the engine's epoch over this one is what
the engine's own design costs. Same sample order as the engine (``Network``'s shuffle
generator), so with the same initial weights both train the same model.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def check_layers(layers: Sequence[Mapping[str, Any]], loss: str) -> None:
    """Raise ``ValueError`` unless ``layers`` (canonical) are dense sigmoid layers then a dense softmax, with CCE."""
    acts = [spec.get("activation") for spec in layers]
    ok = (loss == "categorical_crossentropy" and bool(layers)
          and all(spec["type"] == "dense" and spec.get("use_bias", True) for spec in layers)
          and acts == ["sigmoid"] * (len(layers) - 1) + ["softmax"])
    if not ok:
        got = [f"{spec['type']}:{spec.get('activation')}" for spec in layers]
        raise ValueError("minimal_mlp: takes dense layers with biases, sigmoid between them, softmax last and "
                         f"categorical_crossentropy; got {got}, {loss}")


ROWS = ("shuffled", "stored", "first")


def batch_rows(x: np.ndarray, perm: np.ndarray, start: int, stop: int, rows: str, out: np.ndarray) -> np.ndarray:
    """The batch's rows of ``x``: ``perm[start:stop]`` gathered into ``out`` (``"shuffled"``), the slice
    ``x[start:stop]`` in stored order (``"stored"``), or the first ``stop - start`` rows (``"first"``)."""
    if rows == "shuffled":
        return x.take(perm[start:stop], axis=0, out=out[: stop - start], mode="clip")
    return x[start:stop] if rows == "stored" else x[: stop - start]


class MinimalMLP:
    """``weights`` = ``[W0, b0, W1, b1, ...]`` (Keras order, updated in place); ``seed`` as the engine's."""

    def __init__(self, weights: Sequence[np.ndarray], learning_rate: float, seed: int) -> None:
        self.W = list(weights[0::2])
        self.b = list(weights[1::2])
        self.dtype = self.W[0].dtype
        self.lr = self.dtype.type(learning_rate)
        self._shuffle_rng = np.random.default_rng([seed, 1])  # the engine's batch order
        self._bufs: dict[int, tuple] = {}

    def _buffers(self, bs: int) -> tuple:
        if bs not in self._bufs:
            dt = self.dtype
            h = [np.empty((bs, W.shape[1]), dt) for W in self.W]  # activations per layer (the last: softmax)
            d = [np.empty((bs, W.shape[1]), dt) for W in self.W[:-1]]  # hidden deltas
            gW = [np.empty_like(W) for W in self.W]
            gb = [np.empty_like(b) for b in self.b]
            self._bufs[bs] = (np.empty((bs, self.W[0].shape[0]), dt), h, d, gW, gb, np.ones(bs, dt),
                              np.empty((bs, 1), dt))
        return self._bufs[bs]

    def epoch(self, x: np.ndarray, targets: np.ndarray, batch_size: int, rows: str = "shuffled") -> None:
        """One epoch over ``x`` (N, features) and one-hot ``targets`` (N, classes), both of the weights' dtype.

        For timing what reading the data costs (``benchmarks/gather_cost.py``), ``rows`` may be
        ``"stored"`` (slices of ``x`` in stored order, no gather) or ``"first"`` (the first batch's
        rows every step: data that stays in cache, like the floor's operands); the targets stay
        shuffled either way, so those train nothing useful."""
        if rows not in ROWS:
            raise ValueError(f"rows: unknown {rows!r}; valid: {', '.join(ROWS)}")
        n = len(x)
        perm = self._shuffle_rng.permutation(n)
        y = targets[perm]
        W, b, last = self.W, self.b, len(self.W) - 1
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            m = stop - start
            xbuf, h_all, d_all, gW, gb, ones_all, s_all = self._buffers(batch_size)
            xb = batch_rows(x, perm, start, stop, rows, xbuf)
            h = [a[:m] for a in h_all]
            ones, s = ones_all[:m], s_all[:m]
            inp = xb
            for i in range(last):
                np.dot(inp, W[i], out=h[i])
                h[i] += b[i]
                h[i] *= 0.5
                np.tanh(h[i], out=h[i])
                h[i] *= 0.5
                h[i] += 0.5
                inp = h[i]
            z = h[last]
            np.dot(inp, W[last], out=z)
            z += b[last]
            np.maximum.reduce(np.ascontiguousarray(z.T), axis=0, out=s[:, 0])
            z -= s
            np.exp(z, out=z)
            np.add.reduce(z, axis=1, keepdims=True, out=s)
            z /= s
            z -= y[start:stop]
            z *= self.lr / m  # the update of the output layer's pre-activation
            delta = z
            for i in range(last, -1, -1):
                below = xb if i == 0 else h[i - 1]
                np.dot(below.T, delta, out=gW[i])
                np.dot(ones, delta, out=gb[i])
                if i > 0:
                    d = np.dot(delta, W[i].T, out=d_all[i - 1][:m])
                    d *= below  # sigmoid': a (1 - a)
                    np.subtract(1.0, below, out=below)
                    d *= below
                    delta = d
                W[i] -= gW[i]
                b[i] -= gb[i]
