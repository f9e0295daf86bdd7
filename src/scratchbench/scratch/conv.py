"""Image layers for the from-scratch engine: Conv2D, MaxPool2D, Flatten, Dropout (NHWC).

Conv2D has two exact algorithms; ``build`` picks one (``layer.algorithm``):

- ``im2col`` (strides > 1, or few input channels such as the first MNIST layer):
  ``sliding_window_view`` gives every kh x kw window as a zero-copy view, copied once into
  a reused buffer laid out like the kernel (kh, kw, cin) plus a column of ones, so
  ``cols @ [W; b]`` is the whole layer. Backward reuses the columns for dW (and db) and
  scatters dCols back with one strided add per kernel offset (col2im).
- ``shift`` (stride 1, cin >= 8, the costly layers): flatten the padded input to X with
  P = N*Hp*Wp rows; kernel offset (i, j) is then a shift by ``i*Wp + j`` rows, so output
  row r = sum_o X[r + off_o] @ W_o on the full Hp x Wp grid (rows outside Ho x Wo are
  dropped). Forward, per cache-sized chunk of image rows, only over the Wo columns that
  start a window: X3[(n, y), x] = X[n, y, x : x + kw] (kw*cin contiguous floats, a kw-fold
  copy instead of im2col's kh*kw-fold), one GEMM ``X3 @ [W_row0 | W_row1 | ...]`` (K =
  kw*cin, N = kh*cout) and kh - 1 adds shifted by whole image rows, then bias, ReLU and its
  mask while the chunk is in cache. Backward copies the K shifted views of the
  (zero-extended) output gradient chunk by chunk and gets dW and dX from one GEMM each
  (db from one GEMV). (Measured alternatives:
  one GEMM per offset with K = cin (more shifted adds), full im2col with K = 9*cin (a
  bigger copy, and OpenBLAS is slower with N = cout = 32), kernel-row grouping in
  backward (slower GEMM shapes) — all slower here.)

Python loops run over kernel offsets and row chunks only, never over pixels or samples;
scratch buffers are reused across batches of the same shape. Shapes and padding follow
Keras (``W`` is HWIO, ``same`` pads ``total//2`` before and the rest after, so stride 2
pads asymmetrically). ReLU (and bias) can be fused into Conv2D (``activation="relu"``); the
engine does that for relu/linear conv layers and appends other activations as their own layer.
Returned arrays may be reused buffers that the next call of the same mode overwrites.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from scratchbench.scratch.layer import Layer

__all__ = ["Conv2D", "MaxPool2D", "Flatten", "Dropout", "PROFILE", "conv_output_size", "same_padding", "set_workers"]

# Seconds spent per phase, summed over calls while ``PROFILE.enabled`` (the benchmark reads it).


class _Profile:
    """Seconds per phase; ``clock`` may be swapped (e.g. ``time.process_time`` on a busy machine)."""

    def __init__(self) -> None:
        self.enabled = False
        self.clock = time.perf_counter
        self.seconds: dict[str, float] = defaultdict(float)

    def reset(self) -> None:
        self.seconds.clear()

    def now(self) -> float:
        return self.clock()

    def add(self, key: str, t0: float) -> float:
        t1 = self.clock()
        if self.enabled:
            self.seconds[key] += t1 - t0
        return t1


PROFILE = _Profile()
FUSED_ACTIVATIONS = ("linear", "relu")  # applied inside Conv2D while its output is still in cache


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


def same_padding(size: int, k: int, s: int) -> tuple[int, int]:
    """Keras/TF ``same`` padding (before, after) along one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, k: int, s: int, padding: str) -> int:
    if padding == "same":
        return -(-size // s)
    return (size - k) // s + 1


def _initialize(spec: Mapping[str, Any] | str | None, default: str, shape: tuple[int, ...], fan_in: int,
                fan_out: int, rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Use the engine's initializer table; a spec of None means ``default``."""
    try:
        from scratchbench.scratch.initializers import initialize
    except ImportError:  # engine not there yet: the two defaults only
        initialize = _fallback_initialize
    if spec is None:
        spec = {"name": default}
    elif isinstance(spec, str):
        spec = {"name": spec}
    return np.asarray(initialize(dict(spec), shape, fan_in, fan_out, rng, dtype), dtype=dtype)


def _fallback_initialize(spec, shape, fan_in, fan_out, rng, dtype):
    name = spec.get("name")
    if name == "zeros":
        return np.zeros(shape, dtype=dtype)
    if name == "glorot_uniform":
        lim = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-lim, lim, size=shape).astype(dtype)
    raise ValueError(f"unknown init {name!r}")


def _tdot(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a.T @ b`` for tall a, b (a reduction over the batch rows): OpenBLAS is very slow
    when the result has few rows and many columns, so compute the transpose then."""
    if a.shape[1] >= b.shape[1]:
        return np.matmul(a.T, b, out=out)
    return np.matmul(b.T, a, out=None if out is None else out.T).T


class _Buffers:
    """Scratch arrays reused across batches of the same shape (and kept apart for train/eval)."""

    def __init__(self) -> None:
        self._store: dict[tuple, np.ndarray] = {}

    def get(self, tag: str, shape: tuple[int, ...], dtype: np.dtype, zero: bool = False) -> np.ndarray:
        """A buffer for ``tag``; ``zero`` zeroes it when first made (callers rely on untouched parts staying 0).

        Tags starting with "eval" get a fresh array: inference batches are large and rare, so
        their memory is given back instead of being kept next to the training buffers.
        """
        if tag.startswith("eval"):
            return np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
        key = (tag, shape, np.dtype(dtype).str)
        buf = self._store.get(key)
        if buf is None:
            # keep at most a couple of shapes per tag (full batch + last partial batch)
            stale = [k for k in self._store if k[0] == tag]
            if len(stale) >= 2:
                del self._store[stale[0]]
            buf = self._store[key] = np.zeros(shape, dtype=dtype) if zero else np.empty(shape, dtype=dtype)
        return buf


class Conv2D(Layer):
    """2-D convolution (cross-correlation, like Keras), NHWC, with an optional fused ReLU.

    ``activation="relu"`` gives ``max(conv(x) + b, 0)`` (exactly Keras' ``Conv2D(...,
    activation="relu")``); the bias and ReLU are applied per row chunk while the GEMM output
    is in cache, and backward masks the gradient with ``output > 0``.
    """

    def __init__(self, filters: int, kernel_size: int | tuple[int, int] = 3, strides: int | tuple[int, int] = 1,
                 padding: str = "valid", use_bias: bool = True, init: Mapping[str, Any] | str | None = None,
                 bias_init: Mapping[str, Any] | str | None = None, activation: str = "linear") -> None:
        super().__init__()
        if int(filters) < 1:
            raise ValueError(f"conv2d filters must be >= 1, got {filters!r}")
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"conv2d padding must be 'valid' or 'same', got {padding!r}")
        if activation not in FUSED_ACTIVATIONS:
            raise ValueError(f"conv2d activation must be one of {', '.join(FUSED_ACTIVATIONS)} "
                             f"(others go in their own Activation layer), got {activation!r}")
        self.activation = activation
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "conv2d kernel_size")
        self.strides = _pair(strides, "conv2d strides")
        self.padding = padding
        self.use_bias = bool(use_bias)
        self.init, self.bias_init = init, bias_init
        self.needs_input_grad = True  # the network sets False on its first layer: skip dL/dInput
        self.shift_min_channels = 8  # below this the shift GEMM is too thin: use im2col
        self.chunk_rows = 1024  # rows per chunk: GEMM blocks of ~1 MB at R7's widths (stay in L2)
        self._buf = _Buffers()

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 3:
            raise ValueError(f"conv2d expects per-sample input (H, W, C), got shape {tuple(input_shape)}")
        h, w, c = (int(a) for a in input_shape)
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        if self.padding == "same":
            self.pads = (same_padding(h, kh, sh), same_padding(w, kw, sw))
        else:
            self.pads = ((0, 0), (0, 0))
        ho, wo = conv_output_size(h, kh, sh, self.padding), conv_output_size(w, kw, sw, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError(f"conv2d kernel {self.kernel_size} does not fit input {h}x{w} with padding {self.padding!r}")
        self.in_shape, self.out_shape = (h, w, c), (ho, wo, self.filters)
        self.dtype = np.dtype(dtype)
        self.params = {"W": _initialize(self.init, "glorot_uniform", (kh, kw, c, self.filters),
                                        kh * kw * c, kh * kw * self.filters, rng, self.dtype)}
        if self.use_bias:
            self.params["b"] = _initialize(self.bias_init, "zeros", (self.filters,), kh * kw * c,
                                           kh * kw * self.filters, rng, self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        shift = self.strides == (1, 1) and c >= self.shift_min_channels
        self.algorithm = "shift" if shift else "im2col"
        return self.out_shape

    # -- helpers --------------------------------------------------------------------------
    def _pad(self, x: np.ndarray, tag: str) -> np.ndarray:
        (pt, pb), (pl, pr) = self.pads
        if pt == pb == pl == pr == 0:
            return x
        n, h, w, c = x.shape
        xp = self._buf.get(tag + "pad", (n, h + pt + pb, w + pl + pr, c), x.dtype, zero=True)
        xp[:, pt:pt + h, pl:pl + w, :] = x
        return xp

    def _windows(self, xp: np.ndarray) -> np.ndarray:
        """View (N, Ho, Wo, kh, kw, C) of every receptive field (no copy)."""
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        ho, wo, _ = self.out_shape
        v = sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        return v.transpose(0, 1, 2, 4, 5, 3)

    # -- forward / backward (the two algorithms are described in the module docstring) ----

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

    def _offsets(self, wp: int) -> list[int]:
        kh, kw = self.kernel_size
        return [i * wp + j for i in range(kh) for j in range(kw)]

    def _chunks(self, total: int, per: int = 1) -> tuple[range, int]:
        """Chunk starts (and size) over ``total`` units of ``per`` rows, about ``chunk_rows`` rows each."""
        step = max(1, min(self.chunk_rows // per, total))
        return range(0, total, step), step

    def _forward_shift(self, x, training):
        t = PROFILE.now()
        n = x.shape[0]
        (kh, kw), c = self.kernel_size, self.in_shape[2]
        ho, wo, f = self.out_shape
        tag = "train" if training else "eval"
        xp = self._pad(x, tag)
        hp, wp = xp.shape[1:3]
        X = np.ascontiguousarray(xp).reshape(n * hp * wp, c)
        it = X.itemsize
        # Rows are image rows (n, y) of the padded input, only the Wo columns x that start a
        # window: X3[(n, y), x] = X[n, y, x : x + kw] flattened (kw*C contiguous floats).
        X3 = as_strided(X, shape=(n * hp, wo, kw * c), strides=(wp * c * it, c * it, it), writeable=False)
        # kernel rows side by side: row (j, c) of W3 holds W[i, j, c, :] for i = 0..kh-1
        w3 = self.params["W"].transpose(1, 2, 0, 3).reshape(kw * c, kh * f)
        b = self.params["b"] if self.use_bias else None
        lines = n * hp - (kh - 1)  # image rows whose kernel rows all exist (every valid output row is one)
        O = self._buf.get(tag + "O", (n * hp * wo, f), x.dtype)
        M = self._buf.get("mask", O.shape, np.bool_) if training and self.activation == "relu" else None
        starts, step = self._chunks(lines, per=wo)
        ext = (step + kh - 1) * wo  # rows of X3 / Y3 a chunk needs
        nw = min(workers(), len(starts))
        X3s = [self._buf.get(f"X3{w}", (ext, kw * c), x.dtype) for w in range(nw)]
        Y3s = [self._buf.get(f"Y3{w}", (ext, kh * f), x.dtype) for w in range(nw)]
        t = PROFILE.add("conv.pad", t)

        def chunk(l0: int, wk: int) -> None:
            t = PROFILE.now()
            r, e = min(step, lines - l0) * wo, (min(step, lines - l0) + kh - 1) * wo
            x3 = X3s[wk][:e]
            np.copyto(x3.reshape(-1, wo, kw * c), X3[l0 : l0 + e // wo])  # the only copy: kw x the input
            t = PROFILE.add("conv.shift_copy_fwd", t)
            y3 = np.matmul(x3, w3, out=Y3s[wk][:e])  # block i: every kernel row i at once
            t = PROFILE.add("conv.gemm", t)
            q0 = l0 * wo
            o = O[q0 : q0 + r]  # output (y, x) sums kernel row i's block from image row y + i
            np.copyto(o, y3[:r, :f])
            for i in range(1, kh):
                o += y3[i * wo : i * wo + r, i * f : (i + 1) * f]
            t = PROFILE.add("conv.shift_add", t)
            if b is not None:
                o += b
            if self.activation == "relu":
                np.maximum(o, 0, out=o)
                if M is not None:  # the ReLU mask for backward, taken while o is in cache
                    np.greater(o, 0, out=M[q0 : q0 + r])
            PROFILE.add("conv.bias_relu", t)

        _run_chunks(chunk, starts)
        t = PROFILE.now()
        out = self._buf.get(tag + "out", (n, ho, wo, f), x.dtype)
        valid = O.reshape(n, hp, wo, f)[:, :ho]  # drop the last kh-1 image rows
        _by_images(n, lambda a, b: np.copyto(out[a:b], valid[a:b]))
        PROFILE.add("conv.crop", t)
        if training:
            self._X, self._n, self._hpwp = X, n, (hp, wp)
            self._mask = None if M is None else M.reshape(n, hp, wo, f)[:, :ho]
        return out

    def _backward_shift(self, g):
        t = PROFILE.now()
        (kh, kw), (h, w, c) = self.kernel_size, self.in_shape
        ho, wo, f = self.out_shape
        (pt, _), (pl, _) = self.pads
        X, n, (hp, wp) = self._X, self._n, self._hpwp
        p, kk = n * hp * wp, kh * kw
        # G: dL/dz on the full grid, behind `lead` zero rows; zero outside Ho x Wo forever
        # (only the valid part is ever written), so gcols[q, o] = G[q - off_o] is a strided
        # view (negative steps over the kernel axes), copied chunk by chunk.
        lead = self._offsets(wp)[-1]
        Gp = self._buf.get("G", (lead + p, f), self.dtype, zero=True)
        G = Gp[lead:]
        Gv = G.reshape(n, hp, wp, f)[:, :ho, :wo, :]
        if self.activation == "relu":
            _by_images(n, lambda a, b: np.multiply(g[a:b], self._mask[a:b], out=Gv[a:b]))
        else:
            _by_images(n, lambda a, b: np.copyto(Gv[a:b], g[a:b]))
        if self.use_bias:  # db = column sums of G, as a GEMV (np.sum over axis 0 is 3x slower here)
            if getattr(self, "_ones", None) is None or self._ones.shape[0] != p:
                self._ones = np.ones(p, dtype=self.dtype)
            np.dot(self._ones, G, out=self.grads["b"])
        t = PROFILE.add("conv.relu_mask", t)
        it = G.itemsize
        # within a kernel row i the kw shifted copies of G are kw*F contiguous floats (in
        # reverse j order), so gcols blocks are ordered (i, kw-1-j) and each row copy is long
        wt = self.params["W"][:, ::-1].transpose(0, 1, 3, 2).reshape(kk * f, c)  # [W_(0,kw-1)^T; ...]
        dX = self._buf.get("dX", (p, c), self.dtype) if self.needs_input_grad else None
        starts, step = self._chunks(p)
        nw = min(workers(), len(starts))
        dwts = np.zeros((nw, kk * f, c), dtype=self.dtype)  # per worker: block o is dW_o^T
        parts = np.empty_like(dwts)
        gbufs = [self._buf.get(f"gcols{w}", (step, kk * f), self.dtype) for w in range(nw)]

        def chunk(q0: int, wk: int) -> None:
            t = PROFILE.now()
            r = min(step, p - q0)
            gc = gbufs[wk][:r]
            view = as_strided(Gp[lead + q0 - kw + 1 :], shape=(r, kh, kw * f), strides=(f * it, -wp * f * it, it), writeable=False)
            np.copyto(gc.reshape(r, kh, kw * f), view)
            t = PROFILE.add("conv.shift_copy", t)
            dwts[wk] += np.matmul(gc.T, X[q0 : q0 + r], out=parts[wk])
            t = PROFILE.add("conv.gemm_dW", t)
            if dX is not None:
                np.matmul(gc, wt, out=dX[q0 : q0 + r])
                PROFILE.add("conv.gemm_dX", t)

        _run_chunks(chunk, starts)
        dwt = dwts.sum(axis=0) if nw > 1 else dwts[0]
        self.grads["W"][...] = dwt.reshape(kh, kw, f, c)[:, ::-1].transpose(0, 1, 3, 2)
        if dX is None:
            return None
        return dX.reshape(n, hp, wp, c)[:, pt : pt + h, pl : pl + w, :]

    def _forward_im2col(self, x, training):
        # cols gets a trailing column of ones when there is a bias, so the bias rides along
        # in the GEMM (and its gradient comes out of the dW GEMM as the last row).
        t = PROFILE.now()
        n = x.shape[0]
        (kh, kw), c = self.kernel_size, self.in_shape[2]
        ho, wo, f = self.out_shape
        m, k = n * ho * wo, kh * kw * c
        tag = "train" if training else "eval"
        xp = self._pad(x, tag)
        cols = self._buf.get(tag + "cols", (m, k + self.use_bias), x.dtype)
        c6, win = cols[:, :k].reshape(n, ho, wo, kh, kw, c), self._windows(xp)
        _by_images(n, lambda a, b: np.copyto(c6[a:b], win[a:b]))  # im2col: the only copy of the input
        t = PROFILE.add("conv.im2col", t)
        wm = self.params["W"].reshape(k, f)
        if self.use_bias:
            cols[:, k] = 1.0
            wm = np.concatenate([wm, self.params["b"][None, :]])
        out = self._buf.get(tag + "out", (m, f), x.dtype)
        M = self._buf.get("mask", (m, f), np.bool_) if training and self.activation == "relu" else None
        starts, step = self._chunks(m)

        def chunk(r0: int, wk: int) -> None:  # GEMM then ReLU (and its mask), while the chunk is in cache
            o = np.matmul(cols[r0 : r0 + step], wm, out=out[r0 : r0 + step])
            if self.activation == "relu":
                np.maximum(o, 0, out=o)
                if M is not None:
                    np.greater(o, 0, out=M[r0 : r0 + step])

        _run_chunks(chunk, starts)
        PROFILE.add("conv.gemm", t)
        out = out.reshape(n, ho, wo, f)
        if training:
            self._cols, self._n, self._mask = cols, n, M
        return out

    def _backward_im2col(self, g):
        t = PROFILE.now()
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        h, w, c = self.in_shape
        ho, wo, f = self.out_shape
        n, k = self._n, kh * kw * c
        m, cols = n * ho * wo, self._cols
        g = g.reshape(m, f)
        relu = self.activation == "relu"
        if relu:  # per cache-sized chunk: ReLU mask, then dW (and db) += cols.T @ dz
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
        t = PROFILE.add("conv.gemm_dW", t)
        wm = self.params["W"].reshape(k, f)
        if not self.needs_input_grad:
            return None
        dcols = self._buf.get("dcols", (n * ho * wo, kh * kw * c), self.dtype)
        np.matmul(g, wm.T, out=dcols)
        t = PROFILE.add("conv.gemm_dX", t)
        # col2im: add each kernel offset's slab back where it was read from
        (pt, pb), (pl, pr) = self.pads
        dxp = np.zeros((n, h + pt + pb, w + pl + pr, c), dtype=self.dtype)
        d6 = dcols.reshape(n, ho, wo, kh, kw, c)
        for i in range(kh):
            for j in range(kw):
                dxp[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw, :] += d6[:, :, :, i, j, :]
        PROFILE.add("conv.col2im", t)
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
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo = (h - ph) // sh + 1, (w - pw) // sw + 1
        if ho < 1 or wo < 1:
            raise ValueError(f"maxpool2d pool {self.pool_size} does not fit input {h}x{w}")
        self.in_shape, self.out_shape = (h, w, c), (ho, wo, c)
        return self.out_shape

    def forward(self, x, training=False):
        t = PROFILE.now()
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo, c = self.out_shape
        win = sliding_window_view(x, (ph, pw), axis=(1, 2))[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        flat = win.reshape(x.shape[0], ho, wo, c, ph * pw)  # copies: (N, Ho, Wo, C, ph*pw)
        idx = flat.argmax(axis=-1)
        out = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
        if training:
            self._idx, self._x_shape = idx, x.shape
        PROFILE.add("pool", t)
        return out

    def backward(self, grad_out):
        t = PROFILE.now()
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo, _ = self.out_shape
        dx = np.zeros(self._x_shape, dtype=grad_out.dtype)
        for i in range(ph):
            for j in range(pw):
                hit = self._idx == i * pw + j
                dx[:, i : i + (ho - 1) * sh + 1 : sh, j : j + (wo - 1) * sw + 1 : sw, :] += np.where(hit, grad_out, 0)
        PROFILE.add("pool", t)
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
