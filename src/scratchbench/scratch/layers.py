"""Dense and Activation layers: forward and backward side by side, Keras weight layout.

Both reuse preallocated output buffers (grown on demand), so a training step allocates
nothing: the arrays they return are views that the next call overwrites — copy them if
you keep them (``Network`` does).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .activations import ACTIVATIONS, check_activation
from .initializers import check_spec, initialize
from .layer import Buffers, Layer


class Dense(Layer):
    """``z = x @ W + b`` with ``W`` of shape (in, out) and ``b`` (out,).

    ``needs_input_grad = False`` (set by the network on the first layer) skips ``dL/dx``.
    """

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        init: Mapping[str, Any] | str | None = None,
        bias_init: Mapping[str, Any] | str | None = None,
    ) -> None:
        super().__init__()
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.init = check_spec(init or {"name": "glorot_uniform"}, "Dense.init")
        self.bias_init = check_spec(bias_init or {"name": "zeros"}, "Dense.bias_init")
        self.needs_input_grad = True
        self._buf = Buffers()
        self._x: np.ndarray | None = None

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects flat inputs (features,), got per-sample shape {tuple(input_shape)}")
        n_in = int(input_shape[0])
        self.params = {"W": initialize(self.init, (n_in, self.units), n_in, self.units, rng, dtype)}
        if self.use_bias:
            self.params["b"] = initialize(self.bias_init, (self.units,), n_in, self.units, rng, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return (self.units,)

    def forward(self, x, training=False):
        self._x = x
        W = self.params["W"]
        z = np.dot(x, W, out=self._buf.get("z", (x.shape[0], self.units), W.dtype))
        if self.use_bias:
            z += self.params["b"]
        return z

    def backward(self, grad_out):
        x = self._x
        np.dot(x.T, grad_out, out=self.grads["W"])
        if self.use_bias:  # the column sums as a product with ones: BLAS beats numpy's row-by-row reduce
            ones = self._buf.get("ones", (grad_out.shape[0],), grad_out.dtype, fill=1)
            np.dot(ones, grad_out, out=self.grads["b"])
        if not self.needs_input_grad:
            return None
        W = self.params["W"]
        return np.dot(grad_out, W.T, out=self._buf.get("dx", (grad_out.shape[0], W.shape[0]), W.dtype))


class Activation(Layer):
    """Element-wise (or row-wise, for softmax) activation; caches its input and output."""

    def __init__(self, name: str, **params: Any) -> None:
        super().__init__()
        self.name = check_activation(name, params)
        self.act_params = params
        self.fn = ACTIVATIONS[self.name]
        self._buf = Buffers()
        self._z: np.ndarray | None = None
        self._a: np.ndarray | None = None

    def forward(self, x, training=False):
        self._z = x
        self._a = self.fn.f(x, out=self._buf.get("a", x.shape, x.dtype), **self.act_params)
        return self._a

    def backward(self, grad_out):
        out = self._buf.get("dz", grad_out.shape, grad_out.dtype)
        return self.fn.backprop(grad_out, self._z, self._a, out, **self.act_params)
