"""Keras baselines (``keras_mlp`` flat, ``keras_cnn`` image): twins of the NumPy engine.

Built from the same canonical layers (``arch.canonical_layers``), started from the very same
initial weights (copied from an engine ``Network`` built from the same config and seed), with
the same optimizer hyper-parameters and the same batch order (the engine's permutation from
``default_rng([seed, 1])`` is replayed: each epoch feeds pre-permuted data with
``shuffle=False``). TensorFlow runs seeded with op determinism on.

Losses (Keras reduces over the batch with a mean; the engine uses the same definitions):
``binary_crossentropy``/``categorical_crossentropy`` = batch mean of the per-sample log-loss;
``mse`` = mean over outputs and batch; ``mse_half`` = batch mean of ``0.5 * sum over outputs``
(R12's 1/(2n) form); ``sse`` = ``0.5 *`` sum over outputs and batch (R1-R3, as the engine). Epoch ``loss`` is Keras'
average of the batch losses seen during the epoch. Plain gradient descent is Keras ``SGD``
(momentum 0); ``momentum`` is classic momentum (``v = m*v - lr*g``); ``adam`` is Keras Adam.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from scratchbench.models.adapter import model_input_shape  # noqa: E402
from scratchbench.models.arch import canonical_layers, encode_targets, layer_bias, two_columns  # noqa: E402
from scratchbench.models.base import DataSpec, EpochRecord, Implementation, OnEpoch, Split  # noqa: E402

KERAS_ACTIVATIONS = {"sigmoid", "tanh", "relu", "softmax", "linear"}


def _tf():
    import tensorflow as tf

    return tf


def make_loss(name: str):
    """Keras loss matching the engine's definition of ``name``."""
    import keras

    ops = keras.ops
    if name == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy()
    if name == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy()
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mse_half":
        return _FnLoss(lambda t, y: 0.5 * ops.sum(ops.square(t - y), axis=-1), "mse_half", "sum_over_batch_size")
    if name == "sse":
        return _FnLoss(lambda t, y: 0.5 * ops.sum(ops.square(t - y), axis=-1), "sse", "sum")
    raise ValueError(
        f"model.loss={name!r} unknown; valid: ['binary_crossentropy', 'categorical_crossentropy', 'mse', 'mse_half', 'sse']"
    )


def _FnLoss(fn, name: str, reduction: str):  # noqa: N802 - factory that reads like a class
    import keras

    class FnLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return fn(y_true, y_pred)

    return FnLoss(name=name, reduction=reduction)


def make_optimizer(cfg: Mapping[str, Any]):
    import keras

    name = cfg.get("name", "sgd")
    lr = float(cfg.get("learning_rate", 0.01))
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD(learning_rate=lr, momentum=float(cfg.get("momentum") or 0.0))
    if name == "adam":
        return keras.optimizers.Adam(
            learning_rate=lr,
            beta_1=float(cfg.get("beta_1", 0.9)),
            beta_2=float(cfg.get("beta_2", 0.999)),
            epsilon=float(cfg.get("epsilon", 1e-7)),
        )
    raise ValueError(f"optimizer.name={name!r} unknown; valid: ['adam', 'momentum', 'sgd']")


def _activation(name: str, idx: int) -> str | None:
    """Keras activation string (``None`` for leaky_relu: a LeakyReLU layer follows)."""
    if name in KERAS_ACTIVATIONS:
        return name
    if name == "leaky_relu":
        return None  # caller appends LeakyReLU
    raise ValueError(f"keras: model.layers[{idx}].activation={name!r} unknown; valid: {sorted(KERAS_ACTIVATIONS | {'leaky_relu'})}")


def build_keras_model(canonical: list[dict], input_shape: tuple[int, ...], model_cfg: Mapping[str, Any], dtype: str):
    """A ``keras.Sequential`` mirroring the engine's canonical layers (weights: Keras defaults)."""
    import keras

    out: list = [keras.Input(shape=tuple(input_shape), dtype=dtype)]
    spatial = len(input_shape) > 1
    for i, layer in enumerate(canonical):
        kind = layer.get("type", "dense")
        act_name = str(layer.get("activation", "linear") or "linear")
        if kind == "dense":
            if spatial:
                out.append(keras.layers.Flatten(dtype=dtype))
                spatial = False
            act = _activation(act_name, i)
            out.append(keras.layers.Dense(int(layer.get("units", layer.get("output_dim"))), activation=act or "linear",
                                          use_bias=layer_bias(layer, model_cfg), dtype=dtype))
        elif kind == "conv2d":
            act = _activation(act_name, i)
            k = layer.get("kernel_size", 3)
            s = layer.get("strides", 1)
            out.append(keras.layers.Conv2D(
                int(layer["filters"]), tuple(k) if isinstance(k, (list, tuple)) else int(k),
                strides=tuple(s) if isinstance(s, (list, tuple)) else int(s), padding=str(layer.get("padding", "valid")),
                activation=act or "linear", use_bias=layer_bias(layer, model_cfg), dtype=dtype))
        elif kind == "maxpool2d":
            out.append(keras.layers.MaxPooling2D(pool_size=layer.get("pool_size", 2), strides=layer.get("strides"), dtype=dtype))
            continue
        elif kind == "flatten":
            out.append(keras.layers.Flatten(dtype=dtype))
            spatial = False
            continue
        elif kind == "dropout":
            out.append(keras.layers.Dropout(float(layer["rate"]), dtype=dtype))
            continue
        else:
            raise ValueError(f"keras: model.layers[{i}].type={kind!r} unknown; valid: conv2d, dense, dropout, flatten, maxpool2d")
        if act_name == "leaky_relu":
            out.append(keras.layers.LeakyReLU(negative_slope=float(layer.get("alpha", 0.01)), dtype=dtype))
    return keras.Sequential(out)


class _KerasBase(Implementation):
    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        tf = _tf()
        import keras

        model = dict(cfg["model"])
        self.cfg, self.spec, self.model_cfg = cfg, spec, model
        self.seed = int(cfg.get("seed", 0))
        self.dtype = str(model.get("dtype", "float32") or "float32")
        self.input_shape = model_input_shape(spec, self.input_kind)
        self.canonical = canonical_layers(model, self.input_shape, spec.n_classes)
        self._check_layers()
        self.loss_name = str(model.get("loss", "categorical_crossentropy"))
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()
        self.model = build_keras_model(self.canonical, self.input_shape, model, self.dtype)
        self.model.set_weights(self._initial_weights())
        self.n_out = int(self.model.output_shape[-1])
        self.model.compile(optimizer=make_optimizer(dict(cfg.get("optimizer") or {})), loss=make_loss(self.loss_name))

    def _check_layers(self) -> None:
        pass

    def _initial_weights(self) -> list[np.ndarray]:
        """The engine Network's initial weights for the same config and seed (Keras order)."""
        from scratchbench.scratch.network import Network

        net = Network.from_config(self.model_cfg, self.input_shape, self.spec.n_classes, self.seed)
        ws = [np.asarray(w, dtype=self.dtype) for w in net.get_weights()]
        expected = [tuple(v.shape) for v in self.model.weights]
        got = [w.shape for w in ws]
        if got != expected:
            raise RuntimeError(f"{self.name}: engine weights {got} do not match the Keras layout {expected}")
        return ws

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        tcfg = dict(self.cfg.get("train") or {})
        epochs = int(tcfg.get("epochs", 1))
        shuffle = bool(tcfg.get("shuffle", True))
        batch_size = tcfg.get("batch_size")
        patience = tcfg.get("early_stopping_patience")
        n = len(train.y)
        bs = n if batch_size is None else int(batch_size)
        x = np.asarray(train.x, dtype=self.dtype)
        t = encode_targets(train.y, self.n_out, self.model_cfg, dtype=self.dtype)
        rng = np.random.default_rng([self.seed, 1])  # the engine's shuffling contract
        history: list[EpochRecord] = []
        best, since_best = np.inf, 0
        for epoch in range(1, epochs + 1):
            if shuffle:
                perm = rng.permutation(n)
                xe, te = x[perm], t[perm]
            else:
                xe, te = x, t
            start = time.perf_counter()
            h = self.model.fit(xe, te, batch_size=bs, epochs=1, shuffle=False, verbose=0)
            seconds = time.perf_counter() - start
            loss = float(h.history["loss"][-1])
            if not np.isfinite(loss):
                raise FloatingPointError(f"{self.name}: loss is {loss} at epoch {epoch}")
            rec = EpochRecord(
                epoch=epoch,
                loss=loss,
                train_accuracy=float(np.mean(self.predict(x) == train.y)),
                val_accuracy=None if val is None else float(np.mean(self.predict(val.x) == val.y)),
                epoch_seconds=seconds,
            )
            history.append(rec)
            if on_epoch is not None:
                on_epoch(rec)
            if patience:
                best, since_best = (loss, 0) if loss < best else (best, since_best + 1)
                if since_best >= int(patience):
                    break
        return history

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        p = np.asarray(self.model.predict(x, batch_size=1024, verbose=0), dtype=np.float64)
        return two_columns(p)

    def save(self, path: Path) -> Path:
        path = Path(path).with_suffix(".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(path)
        return path

    def n_params(self) -> int:
        return int(self.model.count_params())

    def threads(self) -> dict[str, int]:
        tf = _tf()
        return {
            "tf_intra_op": int(tf.config.threading.get_intra_op_parallelism_threads()),
            "tf_inter_op": int(tf.config.threading.get_inter_op_parallelism_threads()),
            "cpu_count": int(os.cpu_count() or 0),
        }

    def run_info(self) -> dict[str, Any]:
        return {"op_determinism": True, "initial_weights": "copied from scratchbench.scratch Network", "loss_used": self.loss_name}


class KerasMLP(_KerasBase):
    """Keras twin of a dense NumPy architecture (flat inputs)."""

    name = "keras_mlp"
    input_kind = "flat"

    def _check_layers(self) -> None:
        for i, layer in enumerate(self.canonical):
            if layer.get("type", "dense") not in ("dense", "dropout", "flatten"):
                raise ValueError(
                    f"keras_mlp: model.layers[{i}] has type {layer.get('type')!r}; keras_mlp takes dense "
                    f"layers on flat inputs — use keras_cnn for conv architectures"
                )


class KerasCNN(_KerasBase):
    """Keras CNN (R7 and variants) on image inputs."""

    name = "keras_cnn"
    input_kind = "image"
