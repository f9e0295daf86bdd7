"""The one protocol every from-scratch layer follows: forward and backward side by side."""

from __future__ import annotations

import numpy as np


class Layer:
    """A differentiable block.

    ``build`` is called once with the per-sample input shape (no batch axis), a seeded
    ``numpy.random.Generator`` and the dtype; it creates ``params`` and returns the
    per-sample output shape. ``forward`` caches what ``backward`` needs; ``backward``
    takes dLoss/dOutput, fills ``grads`` (same keys and shapes as ``params``) and
    returns dLoss/dInput. Arrays are batch-first (N, ...), images NHWC.
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype) -> tuple[int, ...]:
        return tuple(input_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))
