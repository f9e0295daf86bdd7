"""A feed-forward network of scratch layers: build from config, fit, predict, save/load.

Seeding contract (so a Keras twin can replay a run):

- weights: ``np.random.default_rng(seed)`` (or, with model option ``rng: legacy``,
  ``np.random.RandomState(seed)`` as in ``np.random.seed(1)`` scripts, R1-R3) drawn layer
  by layer, W then b;
- batch order: a dedicated ``np.random.default_rng([seed, 1])`` created with the network,
  one ``permutation(n)`` per epoch (the k-th epoch over all ``fit`` calls uses the k-th
  permutation). Full-batch training never shuffles (the gradient does not depend on order).

History entries are ``{epoch, loss, train_accuracy, val_accuracy, epoch_seconds}``; ``loss``
and ``train_accuracy`` are running values over the epoch's batches (weights before each
update, as Keras reports them); for ``sse``/``sse_plain`` the epoch loss is the sum over batches.
"""

from __future__ import annotations

import json
import math
import operator
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .architecture import ArchitectureError, build_layers, normalize_layers
from .early_stopping import EarlyStopping
from .layer import Buffers
from .layers import Activation
from .losses import FUSED_HEADS, LOSSES, check_loss
from .optimizers import Optimizer, make_optimizer
from .targets import encode_labels, two_class_proba

INPUT_SCALINGS = ("none", "unit", "r5")
DTYPES = ("float32", "float64")


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


CACHE_LINE = 64  # bytes


def _zeros_on_cache_line(n: int, dtype: np.dtype) -> np.ndarray:
    """``n`` zeros whose first byte starts a cache line (NumPy's allocator only promises 16 bytes)."""
    raw = np.zeros(n * dtype.itemsize + CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + n * dtype.itemsize].view(dtype)


def _as_int(value: Any, field: str, minimum: int, extra: str = "") -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        number = None
    if number is None or number < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{field}: expected a {kind} integer{extra}, got {value!r}")
    return number


class Network:
    """Layers + loss + target encoding. Build with :meth:`from_config`."""

    def __init__(
        self,
        canonical: list[dict[str, Any]],
        input_shape: tuple[int, ...],
        n_outputs: int,
        *,
        loss: str = "categorical_crossentropy",
        dtype: str = "float32",
        seed: int = 0,
        rng: str = "default",
        input_scaling: str = "none",
        target_on: float = 1.0,
        target_off: float = 0.0,
        model_cfg: Mapping[str, Any] | None = None,
    ) -> None:
        self.loss_name = check_loss(loss, where="model.loss")
        if str(dtype) not in DTYPES:
            raise ValueError(f"model.dtype: unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
        if input_scaling not in INPUT_SCALINGS:
            raise ValueError(f"model.input_scaling: unknown scaling {input_scaling!r}; "
                             f"valid: {', '.join(INPUT_SCALINGS)}")
        if rng not in ("default", "legacy"):
            raise ValueError(f"model.rng: unknown generator {rng!r}; valid: default, legacy")
        self.dtype = np.dtype(str(dtype))
        self.canonical = canonical
        self.input_shape = tuple(int(s) for s in input_shape)
        self.n_outputs = int(n_outputs)
        self.seed = int(seed)
        self.rng_kind = rng
        self.input_scaling = input_scaling
        self.target_on, self.target_off = float(target_on), float(target_off)
        self.model_cfg = dict(model_cfg or {})

        specs = list(canonical)
        self._flatten_input = False
        while specs and specs[0]["type"] == "flatten":  # a leading flatten is a free reshape of the input
            specs.pop(0)
            self._flatten_input = True
        self.layers = build_layers(specs)
        init_rng = np.random.RandomState(self.seed) if rng == "legacy" else np.random.default_rng(self.seed)
        shape = (math.prod(self.input_shape),) if self._flatten_input else self.input_shape
        for layer in self.layers:
            shape = tuple(layer.build(shape, init_rng, self.dtype))
        self.output_units = int(shape[-1])
        widest = max([math.prod(self.input_shape)] + [math.prod(spec["output_shape"]) for spec in canonical])
        # ~64 MB per activation
        self._predict_batch = int(min(4096, max(16, (64 << 20) // (widest * self.dtype.itemsize))))
        self._flat_params, self._flat_grads = self._pack_parameters()
        self._shuffle_rng = np.random.default_rng([self.seed, 1])

        last = self.layers[-1]
        self._head = None
        if isinstance(last, Activation) and (last.name, self.loss_name) in FUSED_HEADS:
            self._head = FUSED_HEADS[(last.name, self.loss_name)]
        self._body = self.layers[:-1] if self._head else self.layers
        if self._body and hasattr(self._body[0], "params") and self._body[0].params:
            self._body[0].needs_input_grad = False
        self._buf = Buffers()

    # construction --------------------------------------------------------------------------
    @classmethod
    def from_config(cls, model_cfg: Mapping[str, Any], input_shape: tuple[int, ...], n_outputs: int,
                    seed: int) -> "Network":
        """Build from the run config's ``model`` section (see ``conf/model``)."""
        model_cfg = {k: getattr(v, "value", v) for k, v in dict(model_cfg).items()}  # str enums -> plain
        canonical = normalize_layers(model_cfg, tuple(input_shape), int(n_outputs))
        return cls(
            canonical, tuple(input_shape), int(n_outputs),
            loss=model_cfg.get("loss") or "categorical_crossentropy",
            dtype=str(model_cfg.get("dtype") or "float32"),
            seed=int(seed),
            rng=model_cfg.get("rng") or "default",
            input_scaling=model_cfg.get("input_scaling") or "none",
            target_on=1.0 if model_cfg.get("target_on") is None else model_cfg["target_on"],
            target_off=0.0 if model_cfg.get("target_off") is None else model_cfg["target_off"],
            model_cfg=model_cfg,
        )

    # parameters ----------------------------------------------------------------------------
    def _pack_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Move every parameter (and gradient) into one flat array, leaving views in the layers.

        Layers keep reading ``params[k]`` / writing ``grads[k]`` in place as before; the
        optimizer then updates the whole network with a handful of calls instead of a few per array.
        Each array starts on a 64-byte cache line (zero padding between them, which every update
        rule leaves at zero): with 2 BLAS threads, the bench MLP's epoch at batch 128 took 13%
        longer with the arrays where plain packing puts them (16-48 bytes off a line).
        """
        entries = [(layer, k) for layer in self.layers for k in layer.params]
        line = CACHE_LINE // self.dtype.itemsize  # elements per cache line
        offsets, total = [], 0
        for layer, k in entries:
            offsets.append(total)
            total += -(-layer.params[k].size // line) * line  # round up to whole lines
        flat_p, flat_g = _zeros_on_cache_line(total, self.dtype), _zeros_on_cache_line(total, self.dtype)
        for (layer, k), offset in zip(entries, offsets, strict=True):
            p = layer.params[k]
            view = flat_p[offset : offset + p.size].reshape(p.shape)
            view[...] = p
            layer.params[k] = view
            layer.grads[k] = flat_g[offset : offset + p.size].reshape(p.shape)
        return flat_p, flat_g

    def _params(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params.values()]

    def _grads(self) -> list[np.ndarray]:
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all parameters in Keras order (per layer: W then b)."""
        return [p.copy() for p in self._params()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        params = self._params()
        if len(weights) != len(params):
            raise ValueError(f"set_weights: expected {len(params)} arrays, got {len(weights)}")
        for i, (p, w) in enumerate(zip(params, weights, strict=True)):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(f"set_weights: array {i} has shape {w.shape}, expected {p.shape}")
        for p, w in zip(params, weights, strict=True):
            np.copyto(p, np.asarray(w, dtype=p.dtype))

    def n_params(self) -> int:
        return int(sum(p.size for p in self._params()))

    # data ----------------------------------------------------------------------------------
    def prepare_x(self, x: np.ndarray) -> np.ndarray:
        """Check shape, scale (``input_scaling``), cast to the network dtype, flatten if needed."""
        x = np.asarray(x)
        if x.ndim < 1 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"x: expected per-sample shape {self.input_shape}, got array of shape {x.shape}")
        raw_int = x.dtype == np.uint8
        if self.input_scaling == "none" or (self.input_scaling == "unit" and not raw_int):
            x = x.astype(self.dtype, copy=False)
        else:
            x = x.astype(self.dtype)  # a fresh copy we may scale in place
            if raw_int:
                x /= 255.0
            if self.input_scaling == "r5":
                x *= 0.99
                x += 0.01
        if self._flatten_input:
            x = x.reshape(x.shape[0], -1)
        return np.ascontiguousarray(x)

    @property
    def _threshold(self) -> float:
        return 0.5 * (self.target_on + self.target_off)

    def encode_targets(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer labels (N,) -> (targets (N, K) with target_on/off, labels); float targets pass through."""
        y = np.asarray(y)
        k = self.output_units
        if y.dtype.kind in "iub" and y.ndim == 1:
            return encode_labels(y, k, self.target_on, self.target_off, self.dtype), y.astype(np.int64)
        if y.dtype.kind not in "fiub":
            raise ValueError(f"y: expected integer labels (N,) or float targets (N, {k}), got dtype {y.dtype}")
        if y.ndim == 1 and k == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape[1] != k:
            raise ValueError(f"y: float targets must have shape (N, {k}), got {y.shape}")
        targets = np.ascontiguousarray(y, dtype=self.dtype)
        labels = targets.argmax(axis=1) if k > 1 else (targets[:, 0] > self._threshold).astype(np.int64)
        return targets, labels

    # inference -----------------------------------------------------------------------------
    def _forward_prepared(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        batch_size = batch_size or self._predict_batch
        out = np.empty((x.shape[0], self.output_units), dtype=self.dtype)
        for start in range(0, x.shape[0], batch_size):
            h = x[start : start + batch_size]
            for layer in self.layers:
                h = layer.forward(h, training=False)
            out[start : start + batch_size] = h
        return out

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Raw output activations (N, units) for raw inputs ``x``."""
        return self._forward_prepared(self.prepare_x(x))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Output activations; a single output unit becomes two columns ``[1 - p, p]``."""
        return two_class_proba(self.forward(x))

    def _labels_from_output(self, a: np.ndarray) -> np.ndarray:
        if self.output_units == 1:
            return (a[:, 0] > self._threshold).astype(np.int64)
        return a.argmax(axis=1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted integer labels."""
        return self._labels_from_output(self.forward(x))

    # training ------------------------------------------------------------------------------
    def _step(self, xb: np.ndarray, yb: np.ndarray, ysum: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Forward, loss, backward (fills every layer's ``grads`` with dL/dparam); returns (loss, output).

        ``ysum``: the row sums of ``yb`` (N, 1) if known, for the fused head."""
        h = xb
        for layer in self._body:
            h = layer.forward(h, training=True)
        g = self._buf.get("g", h.shape, h.dtype)
        if self._head is not None:
            a = self._buf.get("a", h.shape, h.dtype)
            loss = self._head(h, yb, a, g, ysum)
        else:
            a = h
            fn = LOSSES[self.loss_name]
            loss = fn.value(a, yb)
            fn.grad(a, yb, g)
        for layer in reversed(self._body):
            g = layer.backward(g)
        return loss, a

    def _forward_loss(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward pass and loss without backprop (for gradient-free update rules)."""
        h = xb
        for layer in self.layers:
            h = layer.forward(h, training=True)
        return LOSSES[self.loss_name].value(h, yb), h

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        """Loss and gradient copies (Keras order) for one batch, without updating anything."""
        xb = self.prepare_x(x)
        yb, _ = self.encode_targets(y)
        first = self._body[0]
        keep = getattr(first, "needs_input_grad", True)
        loss, _ = self._step(xb, yb)
        first.needs_input_grad = keep
        return float(loss), [g.copy() for g in self._grads()]

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Loss of the current weights on (x, y), in inference mode."""
        a = self.forward(x)
        yb, _ = self.encode_targets(y)
        return LOSSES[self.loss_name].value(a.astype(np.float64), yb.astype(np.float64))

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int | None = None,
        optimizer: Mapping[str, Any] | Optimizer | None = None,
        shuffle: bool = True,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callback: Callable[[dict[str, Any]], None] | None = None,
        early_stopping_patience: int | None = None,
    ) -> list[dict[str, Any]]:
        """Train; ``batch_size=None`` is full batch (one epoch = one iteration), 1 is per-sample.

        Early stopping monitors ``val_accuracy`` when validation data is given, else the
        training loss, and restores the best weights when it stops.
        """
        epochs = _as_int(epochs, "train.epochs", minimum=0)
        if batch_size is not None:
            batch_size = _as_int(batch_size, "train.batch_size", minimum=1, extra=" or null (full batch)")
        stopper = EarlyStopping(early_stopping_patience, self.get_weights, self.set_weights)
        if (x_val is None) != (y_val is None):
            raise ValueError("fit: give both x_val and y_val, or neither")
        xs = self.prepare_x(x)
        ys, labels = self.encode_targets(y)
        n = xs.shape[0]
        if n == 0 or ys.shape[0] != n:
            raise ValueError(f"fit: x has {n} samples but y has {ys.shape[0]}")
        bs = n if batch_size is None else min(batch_size, n)
        full_batch = bs >= n
        val = None
        if x_val is not None and y_val is not None:
            val = (self.prepare_x(x_val), self.encode_targets(y_val)[1])
        opt = make_optimizer(optimizer)
        gradient_free = not opt.uses_gradients  # R6's shrink-on-miss rule: forward pass only
        params, grads = [self._flat_params], [self._flat_grads]  # every parameter, one update
        sum_loss = self.loss_name in ("sse", "sse_plain")
        multi = self.output_units > 1
        thr = self._threshold
        if not full_batch and shuffle:
            xbuf = np.empty((bs, *xs.shape[1:]), dtype=xs.dtype)
            ys_epoch = np.empty_like(ys)  # the targets in this epoch's order: one gather per epoch, not per batch
        # the fused head's per-row target sums, once per fit (a row-wise reduce costs ~36 ns a row, per batch or not)
        ysums = np.add.reduce(ys, axis=1, keepdims=True) if self._head and not gradient_free else None
        ysums_epoch = ysums
        preds = np.empty(n, dtype=np.int64) if multi else np.empty(n, dtype=bool)  # per-epoch predictions
        targets_true = labels if multi else labels == 1  # what preds are compared with

        history: list[dict[str, Any]] = []
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for epoch in range(1, epochs + 1):
                t0 = time.perf_counter()
                perm = self._shuffle_rng.permutation(n) if (shuffle and not full_batch) else None
                truth = targets_true if perm is None else targets_true[perm]  # in this epoch's sample order
                if perm is not None:
                    ys.take(perm, axis=0, out=ys_epoch, mode="clip")
                    ysums_epoch = None if ysums is None else ysums[perm]
                total = 0.0
                for batch, start in enumerate(range(0, n, bs)):
                    stop = min(start + bs, n)
                    if perm is None:
                        xb, yb = xs[start:stop], ys[start:stop]
                    else:
                        xb = xs.take(perm[start:stop], axis=0, out=xbuf[: stop - start], mode="clip")
                        yb = ys_epoch[start:stop]
                    ysum = None if ysums_epoch is None else ysums_epoch[start:stop]
                    loss, a = self._forward_loss(xb, yb) if gradient_free else self._step(xb, yb, ysum)
                    if not math.isfinite(loss):
                        raise TrainingDivergedError(f"training diverged: loss is {loss} at epoch {epoch}, "
                                                    f"batch {batch} (try a smaller learning rate)")
                    total += loss if sum_loss else loss * (stop - start)
                    # running accuracy: predictions made before each batch's update, as Keras reports it
                    if multi:
                        a.argmax(axis=1, out=preds[start:stop])  # the method: np.argmax adds a Python wrapper
                    else:
                        np.greater(a[:, 0], thr, out=preds[start:stop])
                    if gradient_free:
                        opt.shrink(params, int(np.count_nonzero(preds[start:stop] != truth[start:stop])))
                    else:
                        opt.step(params, grads)
                correct = np.count_nonzero(preds == truth)
                record = {
                    "epoch": epoch,
                    "loss": float(total if sum_loss else total / n),
                    "train_accuracy": int(correct) / n,
                    "val_accuracy": None,
                    "epoch_seconds": 0.0,
                }
                if val is not None:
                    val_labels = self._labels_from_output(self._forward_prepared(val[0]))
                    record["val_accuracy"] = float(np.mean(val_labels == val[1]))
                record["epoch_seconds"] = time.perf_counter() - t0
                history.append(record)
                if callback is not None:
                    callback(dict(record))
                if stopper.update(record["loss"], record["val_accuracy"]):
                    break
        return history

    # persistence ---------------------------------------------------------------------------
    def architecture(self) -> dict[str, Any]:
        return {
            "format": "scratchbench.scratch.Network/1",
            "canonical": self.canonical,
            "input_shape": list(self.input_shape),
            "n_outputs": self.n_outputs,
            "loss": self.loss_name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            "rng": self.rng_kind,
            "input_scaling": self.input_scaling,
            "target_on": self.target_on,
            "target_off": self.target_off,
            "model_cfg": self.model_cfg,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write parameters + architecture JSON to ``path`` (``.npz`` appended if missing), atomically."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"param_{i:03d}": p for i, p in enumerate(self._params())}
        arrays["architecture"] = np.array(json.dumps(self.architecture(), default=str))
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Network":
        path = Path(path)
        if not path.is_file() and path.with_name(path.name + ".npz").is_file():
            path = path.with_name(path.name + ".npz")
        try:
            with np.load(path, allow_pickle=False) as data:
                arch = json.loads(str(data["architecture"]))
                weights = [data[k] for k in sorted(k for k in data.files if k.startswith("param_"))]
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a saved scratch Network ({exc})") from None
        net = cls(
            arch["canonical"], tuple(arch["input_shape"]), arch["n_outputs"], loss=arch["loss"], dtype=arch["dtype"],
            seed=arch["seed"], rng=arch["rng"], input_scaling=arch["input_scaling"], target_on=arch["target_on"],
            target_off=arch["target_off"], model_cfg=arch.get("model_cfg"),
        )
        net.set_weights(weights)
        return net


__all__ = ["Network", "TrainingDivergedError", "ArchitectureError"]
