"""The one protocol every from-scratch layer follows (forward and backward side by side), and
the scratch buffers layers reuse so that a training step allocates nothing."""

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


class Buffers:
    """Scratch arrays keyed by name, reused while the batch fits.

    ``get`` returns a view of the first ``shape[0]`` rows of one array per name, grown when a
    larger batch (or another row shape or dtype) comes, so the full batches and the last
    partial batch of an epoch share it. ``zero=True`` zero-fills the array when it is made:
    callers that write only part of it (e.g. inside a zero border) rely on the rest staying 0;
    ``fill`` fills it with that value when it is made (constant arrays, e.g. ones).
    """

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}
        self._views: dict[tuple, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, zero: bool = False,
            fill: float | None = None) -> np.ndarray:
        view = self._views.get((name, shape))
        if view is not None and view.dtype == dtype:  # the hot path: same batch shape as before
            return view
        buf = self._bufs.get(name)
        if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:] or buf.dtype != dtype:
            buf = self._bufs[name] = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
            if fill is not None:
                buf.fill(fill)
            self._views = {k: v for k, v in self._views.items() if k[0] != name}
        if len(self._views) > 64:
            self._views.clear()
        view = self._views[(name, shape)] = buf[: shape[0]]
        return view
