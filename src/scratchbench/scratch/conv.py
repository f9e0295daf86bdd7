"""Image layers for the from-scratch engine: Conv2D, MaxPool2D, Flatten, Dropout (NHWC).

``conv_reference`` holds the textbook convolution (a loop over kernel offsets, forward and
backward side by side) and the output-size/padding rules; Conv2D computes the same numbers
(the tests check it against that reference) with one of two fast algorithms that do only
the arithmetic the model needs, ``2 * N*Ho*Wo * kh*kw*C*F`` FLOPs per GEMM pass.
``build`` picks one (``layer.algorithm``):

- ``im2col`` (strides > 1, or few input channels such as the first MNIST layer):
  ``sliding_window_view`` gives every kh x kw window as a zero-copy view, copied once into
  a reused buffer laid out like the kernel (kh, kw, cin) plus a column of ones, so
  ``cols @ [W; b]`` is the whole layer. Backward reuses the columns for dW (and db) and
  scatters dCols back with one strided add per kernel offset (col2im).
- ``shift`` (stride 1, cin >= 8, the costly layers). Per chunk of whole images, copy each
  padded input line's windows along x: ``X3[l, n, x] = xp[n, l, x : x + kw]`` (kw*cin
  contiguous floats, a kw-fold copy instead of im2col's kh*kw-fold; lines outermost, so a
  range of lines of all the chunk's images is one matrix). Input line l feeds output row
  ``l - i`` through kernel row i, so ``Y3 = X3 @ [W_row0 | W_row1 | ...]`` (K = kw*cin,
  N = kh*cout) and output row y is the sum over i of block i of line ``y + i``. Only the
  blocks that reach a valid output row are computed: the lines are split into groups that
  need the same kernel rows (``_line_groups``: all kh in the middle, fewer near the top
  and bottom edges), one GEMM per group. Backward is the transpose: ``G3[l] = [dz[l - i]
  for each i]`` (kh shifted copies of dz), ``dW3 += G3^T @ X3`` and ``dX3 = G3 @ W3^T`` over
  the same groups, then the kw blocks of dX3 are added back along x.

Python loops run over kernel offsets, line groups and image chunks only, never over pixels;
scratch buffers are reused across batches. Shapes and padding follow Keras (``W`` is HWIO,
``same`` pads ``total//2`` before and the rest after, so stride 2 pads asymmetrically). ReLU
(and bias) can be fused into Conv2D (``activation="relu"``); the engine does that for
relu/linear conv layers and appends other activations as their own layer. Returned arrays
may be reused buffers that the next call of the same mode overwrites.

Profiling: the costly steps are the module-level functions in ``_STEPS``; ``profiled()``
swaps in timed copies of them for the duration of a ``with`` block (the benchmark's
profiling pass) and nothing in the hot code knows about it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from scratchbench.scratch.conv_reference import PADDINGS, conv_geometry, conv_output_size, same_padding
from scratchbench.scratch.initializers import check_spec, initialize
from scratchbench.scratch.layer import Buffers, Layer

__all__ = ["Conv2D", "MaxPool2D", "Flatten", "Dropout", "conv_output_size", "profiled", "same_padding", "set_workers"]

FUSED_ACTIVATIONS = ("linear", "relu")  # applied inside Conv2D while its output is still in cache


# -- the costly steps (the profiling hook times these) --------------------------------------
_copy = np.copyto  # im2col / line windows: the copies of the input
_gemm = _gemm_dW = _gemm_dX = np.matmul


def _rows(a: np.ndarray) -> np.ndarray:
    """(..., k) -> (rows, k) without a copy (the leading axes of a chunk buffer are contiguous)."""
    return a.reshape(-1, a.shape[-1])


def _bias_relu(o: np.ndarray, b: np.ndarray | None, relu: bool, mask: np.ndarray | None) -> None:
    """``o = max(o + b, 0)`` in place, and the ReLU mask ``o > 0`` for backward."""
    if b is not None:
        o += b
    if relu:
        np.maximum(o, 0, out=o)
        if mask is not None:
            np.greater(o, 0, out=mask)


def _shift_add(o: np.ndarray, y3: np.ndarray, f: int) -> None:
    """Output rows ``o[y] = sum_i y3[y + i, ..., block i]`` (o: (Ho, n, Wo, F), y3: (lines, n, Wo, kh*F))."""
    kh, ho = y3.shape[-1] // f, o.shape[0]
    if kh == 1:
        np.copyto(o, y3[:ho])
        return
    np.add(y3[:ho, ..., :f], y3[1 : 1 + ho, ..., f : 2 * f], out=o)
    for i in range(2, kh):
        o += y3[i : i + ho, ..., i * f : (i + 1) * f]


def _grad_lines(g3: np.ndarray, g: np.ndarray, mask: np.ndarray | None, f: int) -> None:
    """``g3[l, ..., block i] = dz[l - i]`` for the valid lines, dz = g (times the ReLU mask), g3 lines-first."""
    ho, kh = g.shape[1], g3.shape[-1] // f
    dz = g3[:ho, ..., :f]
    if mask is None:
        np.copyto(dz, g.transpose(1, 0, 2, 3))
    else:
        np.multiply(g.transpose(1, 0, 2, 3), mask.transpose(1, 0, 2, 3), out=dz)
    for i in range(1, kh):
        np.copyto(g3[i : i + ho, ..., i * f : (i + 1) * f], dz)


def _add_back_x(dx: np.ndarray, dx3: np.ndarray, kw: int) -> None:
    """Shift path col2im along x: ``dx[n, l, x + j] (+)= dx3[l, n, x, block j]`` (dx: (n, lines, Wp, C))."""
    c, wo = dx3.shape[-1] // kw, dx3.shape[2]
    t = dx3.transpose(1, 0, 2, 3)
    np.copyto(dx[:, :, :wo], t[..., :c])
    dx[:, :, wo:] = 0
    for j in range(1, kw):
        dx[:, :, j : j + wo] += t[..., j * c : (j + 1) * c]


def _col2im(dxp: np.ndarray, d6: np.ndarray, strides: tuple[int, int]) -> None:
    """im2col path: add each kernel offset's slab of dCols (N, Ho, Wo, kh, kw, C) back where it was read."""
    (sh, sw), (ho, wo, kh, kw) = strides, d6.shape[1:5]
    for i in range(kh):
        for j in range(kw):
            dxp[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw, :] += d6[:, :, :, i, j, :]


def _tdot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a.T @ b`` for tall a, b (a reduction over the batch rows): OpenBLAS is very slow
    when the result has few rows and many columns, so compute the transpose then."""
    if a.shape[1] >= b.shape[1]:
        return np.matmul(a.T, b, out=out)
    return np.matmul(b.T, a, out=None if out is None else out.T).T


# module global -> profile key; ``profiled`` replaces each global by a timed copy
_STEPS = {"_copy": "conv.copy", "_gemm": "conv.gemm", "_gemm_dW": "conv.gemm_dW", "_tdot": "conv.gemm_dW",
          "_gemm_dX": "conv.gemm_dX", "_shift_add": "conv.shift_add", "_bias_relu": "conv.bias_relu",
          "_grad_lines": "conv.relu_mask", "_add_back_x": "conv.col2im", "_col2im": "conv.col2im"}


@contextmanager
def profiled(clock: Callable[[], float] = time.thread_time) -> Iterator[dict[str, float]]:
    """Within the block, sum the ``clock`` seconds of each conv step (keys of ``_STEPS``) into the yielded dict.

    The default per-thread CPU clock counts a step where it runs, also on the chunk workers,
    so the sum over steps is CPU time of all threads. Not reentrant.
    """
    seconds: dict[str, float] = defaultdict(float)
    lock = threading.Lock()
    saved = {name: globals()[name] for name in _STEPS}

    def timed(fn: Callable[..., Any], key: str) -> Callable[..., Any]:
        def step(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                dt = clock() - t0
                with lock:
                    seconds[key] += dt
        return step

    globals().update({name: timed(fn, _STEPS[name]) for name, fn in saved.items()})
    try:
        yield seconds
    finally:
        globals().update(saved)


# -- chunk workers -------------------------------------------------------------------------
# The conv loops run over independent row chunks. With ``set_workers(n)``, n > 1, n Python
# threads pull chunks from a shared queue (NumPy releases the GIL in matmul and ufuncs), each
# calling a single-threaded BLAS: many small GEMMs parallelise far better this way than
# through a multi-threaded BLAS (which splits every GEMM and spin-waits between them), and a
# worker slowed by another process simply takes fewer chunks. Use it with BLAS limited to
# one thread (e.g. ``threadpoolctl.threadpool_limits(1)``), else the two oversubscribe.
_WORKERS = {"n": 1, "pool": None}


def set_workers(n: int) -> None:
    """Number of threads the conv layers split their row chunks over (1 = the caller only)."""
    n = int(n)
    if n < 1:
        raise ValueError(f"conv workers must be >= 1, got {n!r}")
    if n != _WORKERS["n"] and _WORKERS["pool"] is not None:
        _WORKERS["pool"].shutdown()
        _WORKERS["pool"] = None
    _WORKERS["n"] = n


def workers() -> int:
    return _WORKERS["n"]


def _run_chunks(fn, starts: range) -> None:
    """``fn(start, worker)`` for every chunk start, on ``workers()`` threads pulling chunks in turn."""
    n = min(_WORKERS["n"], len(starts))
    if n <= 1:
        for s in starts:
            fn(s, 0)
        return
    if _WORKERS["pool"] is None:
        _WORKERS["pool"] = ThreadPoolExecutor(_WORKERS["n"], thread_name_prefix="conv")
    queue, lock = iter(starts), threading.Lock()

    def work(w: int) -> None:
        while True:
            with lock:
                s = next(queue, None)
            if s is None:
                return
            fn(s, w)

    for fut in [_WORKERS["pool"].submit(work, w) for w in range(n)]:
        fut.result()


def _by_images(n: int, fn) -> None:
    """``fn(a, b)`` over slices [a, b) of the n images, split among the workers (element-wise passes)."""
    step = max(1, -(-n // (4 * _WORKERS["n"]))) if _WORKERS["n"] > 1 else n
    _run_chunks(lambda a, _w: fn(a, min(a + step, n)), range(0, n, step))


def _pair(v: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2 or min(v) < 1:
        raise ValueError(f"{name} must be a positive int or a pair of them, got {v!r}")
    return v  # type: ignore[return-value]


def _line_groups(lines: int, ho: int, kh: int, keep: range) -> list[tuple[int, int, int, int]]:
    """Runs ``(l0, l1, lo, hi)`` of the padded input lines in ``keep`` that feed output rows
    through the same kernel rows ``lo..hi`` (line l reaches row ``l - i`` for ``0 <= l - i < ho``)."""
    groups: list[list[int]] = []
    for l in range(lines):
        lo, hi = max(0, l - ho + 1), min(kh - 1, l)
        if l not in keep or lo > hi:
            continue
        if groups and groups[-1][1] == l and groups[-1][2:] == [lo, hi]:
            groups[-1][1] = l + 1
        else:
            groups.append([l, l + 1, lo, hi])
    return [tuple(g) for g in groups]  # type: ignore[misc]


class Conv2D(Layer):
    """2-D convolution (cross-correlation, like Keras), NHWC, with an optional fused ReLU.

    ``activation="relu"`` gives ``max(conv(x) + b, 0)`` (exactly Keras' ``Conv2D(...,
    activation="relu")``); the bias and ReLU are applied per chunk while the GEMM output
    is in cache, and backward masks the gradient with ``output > 0``.
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int] = 3, strides: int | tuple[int, int] = 1,
                 padding: str = "valid", use_bias: bool = True, init: Mapping[str, Any] | str | None = None,
                 bias_init: Mapping[str, Any] | str | None = None, activation: str = "linear") -> None:
        super().__init__()
        if int(filters) < 1:
            raise ValueError(f"conv2d filters must be >= 1, got {filters!r}")
        if activation not in FUSED_ACTIVATIONS:
            raise ValueError(f"conv2d activation must be one of {', '.join(FUSED_ACTIVATIONS)} "
                             f"(others go in their own Activation layer), got {activation!r}")
        self.activation = activation
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "conv2d kernel_size")
        self.strides = _pair(strides, "conv2d strides")
        self.padding = str(padding).lower()
        if self.padding not in PADDINGS:
            raise ValueError(f"conv2d padding must be one of {', '.join(PADDINGS)}, got {padding!r}")
        self.use_bias = bool(use_bias)
        self.init = check_spec(init or {"name": "glorot_uniform"}, "Conv2D.init")  # Keras' defaults, as Dense
        self.bias_init = check_spec(bias_init or {"name": "zeros"}, "Conv2D.bias_init")
        self.needs_input_grad = True  # the network sets False on its first layer: skip dL/dInput
        self.shift_min_channels = 8  # below this the shift GEMM is too thin: use im2col
        self.chunk_rows = 1024  # GEMM rows per chunk (whole images in the shift path): stays in L2
        self._buf = Buffers()

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 3:
            raise ValueError(f"conv2d expects per-sample input (H, W, C), got shape {tuple(input_shape)}")
        h, w, c = (int(a) for a in input_shape)
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        try:
            (ho, wo), self.pads = conv_geometry((h, w), (kh, kw), (sh, sw), self.padding)
        except ValueError as exc:
            raise ValueError(f"conv2d {exc}") from None
        self.in_shape, self.out_shape = (h, w, c), (ho, wo, self.filters)
        self.dtype = np.dtype(dtype)
        fan_in, fan_out = kh * kw * c, kh * kw * self.filters
        self.params = {"W": initialize(self.init, (kh, kw, c, self.filters), fan_in, fan_out, rng, self.dtype)}
        if self.use_bias:
            self.params["b"] = initialize(self.bias_init, (self.filters,), fan_in, fan_out, rng, self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        shift = self.strides == (1, 1) and c >= self.shift_min_channels
        self.algorithm = "shift" if shift else "im2col"
        if shift:
            hp, pt = h + sum(self.pads[0]), self.pads[0][0]
            self._groups = _line_groups(hp, ho, kh, range(hp))
            self._groups_dx = _line_groups(hp, ho, kh, range(pt, pt + h))  # padding lines need no gradient
        return self.out_shape

    # -- helpers --------------------------------------------------------------------------
    def _scratch(self, name: str, shape: tuple[int, ...], dtype: np.dtype, training: bool, zero: bool = False) -> np.ndarray:
        """A reused buffer at training; a fresh array for inference (large, rare batches give their memory back)."""
        if training:
            return self._buf.get(name, shape, dtype, zero=zero)
        return np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)

    def _pad(self, x: np.ndarray, training: bool) -> np.ndarray:
        (pt, pb), (pl, pr) = self.pads
        if pt == pb == pl == pr == 0:
            return x
        n, h, w, c = x.shape
        xp = self._scratch("pad", (n, h + pt + pb, w + pl + pr, c), x.dtype, training, zero=True)
        xp[:, pt:pt + h, pl:pl + w, :] = x  # the border stays 0
        return xp

    def _windows(self, xp: np.ndarray) -> np.ndarray:
        """View (N, Ho, Wo, kh, kw, C) of every receptive field (no copy)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        ho, wo, _ = self.out_shape
        v = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        return v.transpose(0, 1, 2, 4, 5, 3)

    def _chunks(self, total: int, per: int = 1) -> tuple[range, int]:
        """Chunk starts (and size) over ``total`` units of ``per`` rows, about ``chunk_rows`` rows each."""
        step = max(1, min(round(self.chunk_rows / per), total))
        return range(0, total, step), step

    def forward(self, x, training=False):
        x = np.asarray(x)
        if x.shape[1:] != self.in_shape:
            raise ValueError(f"conv2d expected input (N, {', '.join(map(str, self.in_shape))}), got {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        fwd = self._forward_shift if self.algorithm == "shift" else self._forward_im2col
        return fwd(x, training)

    def backward(self, grad_out):
        g = np.ascontiguousarray(grad_out, dtype=self.dtype)
        bwd = self._backward_shift if self.algorithm == "shift" else self._backward_im2col
        return bwd(g)

    # -- shift algorithm (module docstring) ------------------------------------------------
    def _line_buffers(self, name: str, n: int, step: int, lines: int, width: int) -> tuple[list[np.ndarray], Callable]:
        """Per worker, a flat buffer for ``step`` images of lines-first (lines, n, Wo, width) data,
        and ``view(buf, m)`` giving it as (lines, m, Wo, width) for a chunk of m images."""
        wo = self.out_shape[1]
        per = lines * wo * width
        bufs = [self._buf.get(f"{name}{w}", (step * per,), self.dtype) for w in range(min(workers(), -(-n // step)))]
        return bufs, lambda buf, m: buf[: m * per].reshape(lines, m, wo, width)

    def _copy_lines(self, x3: np.ndarray, xp: np.ndarray, a: int) -> None:
        """``x3[l, n, x] = xp[a + n, l, x : x + kw]`` flattened (kw*C contiguous floats per window row)."""
        lines, m, wo, k = x3.shape
        it, wp, c = xp.itemsize, xp.shape[2], xp.shape[3]
        src = as_strided(xp[a:], shape=(lines, m, wo, k), strides=(wp * c * it, lines * wp * c * it, c * it, it), writeable=False)
        _copy(x3, src)

    def _forward_shift(self, x, training):
        n, f = x.shape[0], self.filters
        (kh, kw), c = self.kernel_size, self.in_shape[2]
        xp = np.ascontiguousarray(self._pad(x, training))
        w3 = self.params["W"].transpose(1, 2, 0, 3).reshape(kw * c, kh * f)  # [W_row0 | W_row1 | ...]
        b = self.params["b"] if self.use_bias else None
        out = self._scratch("out", (n, *self.out_shape), x.dtype, training)
        relu = self.activation == "relu"
        mask = self._buf.get("mask", out.shape, np.bool_) if training and relu else None
        starts, step = self._chunks(n, per=xp.shape[1] * self.out_shape[1])
        x3s, view = self._line_buffers("X3", n, step, xp.shape[1], kw * c)
        y3s, yview = self._line_buffers("Y3", n, step, xp.shape[1], kh * f)

        def chunk(a: int, wk: int) -> None:
            m = min(step, n - a)
            x3, y3 = view(x3s[wk], m), yview(y3s[wk], m)
            self._copy_lines(x3, xp, a)
            for l0, l1, lo, hi in self._groups:  # only the kernel rows that reach a valid output row
                cols = slice(lo * f, (hi + 1) * f)
                _gemm(_rows(x3[l0:l1]), w3[:, cols], out=_rows(y3[l0:l1])[:, cols])
            _shift_add(out[a : a + m].transpose(1, 0, 2, 3), y3, f)
            _bias_relu(out[a : a + m], b, relu, None if mask is None else mask[a : a + m])

        _run_chunks(chunk, starts)
        if training:
            self._xp, self._mask = xp, mask
        return out

    def _backward_shift(self, g):
        n, f = g.shape[0], self.filters
        (kh, kw), (h, _, c) = self.kernel_size, self.in_shape
        ho, wo = self.out_shape[:2]
        (pt, _), (pl, _) = self.pads
        xp, mask = self._xp, self._mask
        w3t = self.params["W"].transpose(0, 3, 1, 2).reshape(kh * f, kw * c)  # W3^T
        starts, step = self._chunks(n, per=xp.shape[1] * wo)
        x3s, view = self._line_buffers("X3", n, step, xp.shape[1], kw * c)
        g3s, gview = self._line_buffers("G3", n, step, xp.shape[1], kh * f)
        nw = len(x3s)
        dw3 = np.zeros((nw, kh * f, kw * c), self.dtype)  # per worker: dW3^T = sum of G3^T @ X3
        parts = np.empty_like(dw3)
        db = np.zeros((nw, f), self.dtype)
        ones = np.ones(step * ho * wo, self.dtype)
        dxp = self._buf.get("dxp", xp.shape, self.dtype) if self.needs_input_grad else None

        def chunk(a: int, wk: int) -> None:
            m = min(step, n - a)
            x3, g3 = view(x3s[wk], m), gview(g3s[wk], m)
            _grad_lines(g3, g[a : a + m], None if mask is None else mask[a : a + m], f)
            if self.use_bias:  # db = column sums of dz, as a GEMV (np.sum over rows is slower)
                db[wk] += np.dot(ones[: m * ho * wo], _rows(g3[:ho])[:, :f])
            self._copy_lines(x3, xp, a)
            for l0, l1, lo, hi in self._groups:
                cols = slice(lo * f, (hi + 1) * f)
                dw3[wk, cols] += _gemm_dW(_rows(g3[l0:l1])[:, cols].T, _rows(x3[l0:l1]), out=parts[wk, cols])
            if dxp is None:
                return
            dx3 = x3  # X3 is spent: its buffer takes dX3
            for l0, l1, lo, hi in self._groups_dx:
                cols = slice(lo * f, (hi + 1) * f)
                _gemm_dX(_rows(g3[l0:l1])[:, cols], w3t[cols], out=_rows(dx3[l0:l1]))
            _add_back_x(dxp[a : a + m, pt : pt + h], dx3[pt : pt + h], kw)

        _run_chunks(chunk, starts)
        self.grads["W"][...] = dw3.sum(axis=0).reshape(kh, f, kw, c).transpose(0, 2, 3, 1)
        if self.use_bias:
            self.grads["b"][...] = db.sum(axis=0)
        if dxp is None:
            return None
        return dxp[:, pt : pt + h, pl : pl + self.in_shape[1], :]

    # -- im2col algorithm (module docstring) -----------------------------------------------
    def _forward_im2col(self, x, training):
        # cols gets a trailing column of ones when there is a bias, so the bias rides along
        # in the GEMM (and its gradient comes out of the dW GEMM as the last row).
        n = x.shape[0]
        (kh, kw), c = self.kernel_size, self.in_shape[2]
        ho, wo, f = self.out_shape
        m, k = n * ho * wo, kh * kw * c
        xp = self._pad(x, training)
        cols = self._scratch("cols", (m, k + self.use_bias), x.dtype, training)
        c6, win = cols[:, :k].reshape(n, ho, wo, kh, kw, c), self._windows(xp)
        _by_images(n, lambda a, b: _copy(c6[a:b], win[a:b]))  # im2col: the only copy of the input
        wm = self.params["W"].reshape(k, f)
        if self.use_bias:
            cols[:, k] = 1.0
            wm = np.concatenate([wm, self.params["b"][None, :]])
        out = self._scratch("out", (m, f), x.dtype, training)
        relu = self.activation == "relu"
        mask = self._buf.get("mask", (m, f), np.bool_) if training and relu else None
        starts, step = self._chunks(m)

        def chunk(r0: int, wk: int) -> None:  # GEMM then ReLU (and its mask), while the chunk is in cache
            rows = slice(r0, r0 + step)
            _gemm(cols[rows], wm, out=out[rows])
            _bias_relu(out[rows], None, relu, None if mask is None else mask[rows])

        _run_chunks(chunk, starts)
        if training:
            self._cols, self._n, self._mask = cols, n, mask
        return out.reshape(n, ho, wo, f)

    def _backward_im2col(self, g):
        (kh, kw), (h, w, c) = self.kernel_size, self.in_shape
        ho, wo, f = self.out_shape
        n, k = self._n, kh * kw * c
        m, cols = n * ho * wo, self._cols
        g = g.reshape(m, f)
        if self.activation == "relu":  # per cache-sized chunk: ReLU mask, then dW (and db) += cols.T @ dz
            dz = self._buf.get("dz", (m, f), self.dtype) if self.needs_input_grad else None
            starts, step = self._chunks(m)
            nw = min(workers(), len(starts))
            zbufs = np.empty((nw, step, f), self.dtype)
            dwbs, parts = np.zeros((nw, cols.shape[1], f), self.dtype), np.empty((nw, cols.shape[1], f), self.dtype)
            mask = self._mask

            def chunk(r0: int, wk: int) -> None:
                r = min(step, m - r0)
                z = dz[r0 : r0 + r] if dz is not None else zbufs[wk, :r]
                np.multiply(g[r0 : r0 + r], mask[r0 : r0 + r], out=z)
                dwbs[wk] += _tdot(cols[r0 : r0 + r], z, out=parts[wk])

            _run_chunks(chunk, starts)
            dwb = dwbs.sum(axis=0) if nw > 1 else dwbs[0]
            g = dz  # None when the input gradient is not needed
        else:
            dwb = _tdot(cols, g)  # (k [+1], f): dW rows, then db
        self.grads["W"][...] = dwb[:k].reshape(kh, kw, c, f)
        if self.use_bias:
            self.grads["b"][...] = dwb[k]
        if not self.needs_input_grad:
            return None
        dcols = self._buf.get("dcols", (m, k), self.dtype)
        _gemm_dX(g, self.params["W"].reshape(k, f).T, out=dcols)
        (pt, pb), (pl, pr) = self.pads
        dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=self.dtype)
        _col2im(dxp, dcols.reshape(n, ho, wo, kh, kw, c), self.strides)
        return dxp[:, pt : pt + h, pl : pl + w, :]


class MaxPool2D(Layer):
    """Max pooling, Keras defaults: ``strides = pool_size``, valid padding; gradient goes to the first max."""

    def __init__(self, pool_size: int | tuple[int, int] = 2, strides: int | tuple[int, int] | None = None) -> None:
        super().__init__()
        self.pool_size = _pair(pool_size, "maxpool2d pool_size")
        self.strides = self.pool_size if strides is None else _pair(strides, "maxpool2d strides")

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 3:
            raise ValueError(f"maxpool2d expects per-sample input (H, W, C), got shape {tuple(input_shape)}")
        h, w, c = (int(a) for a in input_shape)
        try:
            (ho, wo), _ = conv_geometry((h, w), self.pool_size, self.strides, "valid")
        except ValueError:
            raise ValueError(f"maxpool2d pool {self.pool_size} does not fit input {h}x{w}") from None
        self.in_shape, self.out_shape = (h, w, c), (ho, wo, c)
        return self.out_shape

    def forward(self, x, training=False):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo, c = self.out_shape
        win = sliding_window_view(x, (ph, pw), axis=(1, 2))[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        flat = win.reshape(x.shape[0], ho, wo, c, ph * pw)  # copies: (N, Ho, Wo, C, ph*pw)
        idx = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
        if training:
            self._idx, self._x_shape = idx, x.shape
        return out

    def backward(self, grad_out):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo, _ = self.out_shape
        dx = np.zeros(self._x_shape, dtype=grad_out.dtype)
        for i in range(ph):
            for j in range(pw):
                hit = self._idx == i * pw + j
                dx[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw, :] += np.where(hit, grad_out, 0)
        return dx


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C) in C order, same as Keras ``Flatten`` on NHWC."""

    def build(self, input_shape, rng, dtype):
        self.in_shape = tuple(int(a) for a in input_shape)
        return (int(np.prod(self.in_shape)),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        return grad_out.reshape((grad_out.shape[0],) + self.in_shape)


class Dropout(Layer):
    """Inverted dropout: at training zero a fraction ``rate`` and scale the rest by 1/(1-rate)."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        rate = float(rate)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
        self.rate = rate

    def build(self, input_shape, rng, dtype):
        self.rng, self.dtype = rng, np.dtype(dtype)
        return tuple(input_shape)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float64 if self.dtype == np.float64 else np.float32) >= self.rate
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self._mask

    def backward(self, grad_out):
        return grad_out if self._mask is None else grad_out * self._mask
