"""Keras baselines (``keras_mlp`` flat, ``keras_cnn`` image): twins of the NumPy engine.

Built from the same canonical layers (``arch.canonical_layers``), started from the very same
initial weights (copied from an engine ``Network`` built from the same config and seed), with
the same optimizer hyper-parameters and the same batch order (the engine's permutation from
``default_rng([seed, 1])``, one per epoch over all fit calls, none for full batch, is
replayed: each epoch feeds pre-permuted data with ``shuffle=False``). TensorFlow runs seeded
with op determinism on. Like the engine, ``loss`` and ``train_accuracy`` are running values
over the epoch's batches (weights before each update) and ``epoch_seconds`` includes the
validation pass.

Losses (Keras reduces over the batch with a mean; the engine uses the same definitions):
``binary_crossentropy``/``categorical_crossentropy`` = batch mean of the per-sample log-loss;
``mse`` = mean over outputs and batch; ``mse_half`` = batch mean of ``0.5 * sum over outputs``
(R12's 1/(2n) form); ``sse`` = ``0.5 *`` sum over outputs and batch (R1-R3, as the engine; the
epoch loss is then the sum over batches, exact when the batch size divides N). Dropout layers
draw their own masks in each framework, so twins with dropout are not step-for-step equal. Plain
gradient descent is Keras ``SGD`` (momentum 0); ``momentum`` is classic momentum
(``v = m*v - lr*g``); ``adam`` is Keras Adam.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from scratchbench.models.adapter import model_input_shape  # noqa: E402
from scratchbench.models.arch import (  # noqa: E402
    SPATIAL,
    canonical_layers,
    layer_bias,
    reject_layers,
    resolve_optimizer,
    target_values,
)
from scratchbench.models.base import DataSpec, EpochRecord, Implementation, OnEpoch, Split  # noqa: E402
from scratchbench.models.early_stop import EarlyStopping, record_epoch  # noqa: E402
from scratchbench.models.keras_import import import_keras  # noqa: E402
from scratchbench.scratch.targets import encode_labels, two_class_proba  # noqa: E402
from scratchbench.threads import thread_budget  # noqa: E402

keras = import_keras()  # this module is imported only when a Keras implementation is used

KERAS_ACTIVATIONS = {"sigmoid", "tanh", "relu", "softmax", "linear"}


def _tf():
    import tensorflow as tf

    return tf


def limit_tf_threads() -> int | None:
    """TensorFlow's intra- and inter-op pools within the thread budget a launcher set (:mod:`scratchbench.threads`:
    the pipeline's side-by-side runs, joblib sweep workers), so two runs on two cores do not run four threads.
    Returns the budget applied (``None``: no budget, TensorFlow's defaults). Takes effect before the first op."""
    budget = thread_budget()
    if budget is None:
        return None
    tf = _tf()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(budget)
        tf.config.threading.set_inter_op_parallelism_threads(budget)
    except RuntimeError:  # the runtime is running already: its pools are fixed for this process
        return None
    return budget


@keras.saving.register_keras_serializable(package="scratchbench")
class HalfSumSquaredError(keras.losses.Loss):
    """Per sample ``0.5 * sum over outputs (t - y)^2``; batch mean = ``mse_half``, batch sum = ``sse``."""

    def call(self, y_true, y_pred):
        return 0.5 * keras.ops.sum(keras.ops.square(y_true - y_pred), axis=-1)


def make_loss(name: str) -> keras.losses.Loss:
    """Keras loss matching the engine's definition of ``name``."""
    if name == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy()
    if name == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy()
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mse_half":
        return HalfSumSquaredError(name="mse_half", reduction="sum_over_batch_size")
    if name == "sse":
        return HalfSumSquaredError(name="sse", reduction="sum")
    raise ValueError(
        f"keras: model.loss={name!r} is not built for Keras here; "
        "valid: ['binary_crossentropy', 'categorical_crossentropy', 'mse', 'mse_half', 'sse'] (the NumPy engine has it)"
    )


def make_optimizer(cfg: Mapping[str, Any]):
    """Keras optimizer with the engine's formulas and defaults (see ``arch.resolve_optimizer``)."""
    o = resolve_optimizer(cfg)
    if o["name"] == "adam":
        return keras.optimizers.Adam(learning_rate=o["learning_rate"], beta_1=o["beta_1"], beta_2=o["beta_2"],
                                     epsilon=o["epsilon"])
    return keras.optimizers.SGD(learning_rate=o["learning_rate"], momentum=o["momentum"], nesterov=o["nesterov"])


def _activation(name: str, idx: int) -> str | None:
    """Keras activation string (``None`` for leaky_relu: a LeakyReLU layer follows)."""
    if name in KERAS_ACTIVATIONS:
        return name
    if name == "leaky_relu":
        return None  # caller appends LeakyReLU
    valid = sorted(KERAS_ACTIVATIONS | {"leaky_relu"})
    raise ValueError(f"keras: model.layers[{idx}].activation={name!r} unknown; valid: {valid}")


def build_keras_model(canonical: list[dict], input_shape: tuple[int, ...], model_cfg: Mapping[str, Any], dtype: str):
    """A ``keras.Sequential`` mirroring the engine's canonical layers (weights: Keras defaults)."""
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
                strides=tuple(s) if isinstance(s, (list, tuple)) else int(s),
                padding=str(layer.get("padding", "valid")), activation=act or "linear",
                use_bias=layer_bias(layer, model_cfg), dtype=dtype))
        elif kind == "maxpool2d":
            out.append(keras.layers.MaxPooling2D(pool_size=layer.get("pool_size", 2), strides=layer.get("strides"),
                                                 dtype=dtype))
            continue
        elif kind == "flatten":
            out.append(keras.layers.Flatten(dtype=dtype))
            spatial = False
            continue
        elif kind == "dropout":
            out.append(keras.layers.Dropout(float(layer["rate"]), dtype=dtype))
            continue
        else:
            raise ValueError(f"keras: model.layers[{i}].type={kind!r} unknown; "
                             "valid: conv2d, dense, dropout, flatten, maxpool2d")
        if act_name == "leaky_relu":
            out.append(keras.layers.LeakyReLU(negative_slope=float(layer.get("alpha", 0.01)), dtype=dtype))
    return keras.Sequential(out)


class _KerasBase(Implementation):
    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        tf = _tf()
        limit_tf_threads()

        model = dict(cfg["model"])
        self.cfg, self.spec, self.model_cfg = cfg, spec, model
        self.seed = int(cfg.get("seed", 0))
        self.dtype = str(model.get("dtype", "float32") or "float32")
        self._check_layers()
        self.input_shape = model_input_shape(spec, self.input_kind)
        self.canonical = canonical_layers(model, self.input_shape, spec.n_classes)
        self.loss_name = str(model.get("loss", "categorical_crossentropy"))
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()
        self.model = build_keras_model(self.canonical, self.input_shape, model, self.dtype)
        self.model.set_weights(self._initial_weights())
        self._shuffle_rng = np.random.default_rng([self.seed, 1])  # the engine's batch-order contract
        self.n_out = int(self.model.output_shape[-1])
        if self.n_out == 1:
            on, off = target_values(model)
            acc = keras.metrics.BinaryAccuracy(name="acc", threshold=0.5 * (on + off))
        else:
            acc = keras.metrics.CategoricalAccuracy(name="acc")
        self.model.compile(optimizer=make_optimizer(dict(cfg.get("optimizer") or {})), loss=make_loss(self.loss_name),
                           metrics=[acc])

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
        """One ``model.fit`` over a generator replaying the engine's batch order, epoch by epoch."""
        tf = _tf()

        tcfg = dict(self.cfg.get("train") or {})
        epochs = int(tcfg.get("epochs", 1))
        shuffle = bool(tcfg.get("shuffle", True))
        batch_size = tcfg.get("batch_size")
        stopper = EarlyStopping(tcfg.get("early_stopping_patience"), self.model.get_weights, self.model.set_weights)
        n = len(train.y)
        if n == 0:
            raise ValueError(f"{self.name}: the training split is empty")
        bs = n if batch_size is None else min(int(batch_size), n)
        n_batches = -(-n // bs)
        full_batch = bs >= n
        x = np.ascontiguousarray(train.x, dtype=self.dtype)
        t = encode_labels(train.y, self.n_out, *target_values(self.model_cfg), dtype=self.dtype)
        rng = self._shuffle_rng

        def batches():
            for _ in range(epochs):
                perm = rng.permutation(n) if (shuffle and not full_batch) else None
                for s in range(0, n, bs):
                    if perm is None:
                        yield x[s : s + bs], t[s : s + bs]
                    else:
                        idx = perm[s : s + bs]
                        yield x[idx], t[idx]

        sig = (
            tf.TensorSpec((None, *x.shape[1:]), tf.as_dtype(self.dtype)),
            tf.TensorSpec((None, t.shape[1]), tf.as_dtype(self.dtype)),
        )
        data = tf.data.Dataset.from_generator(batches, output_signature=sig)
        history: list[EpochRecord] = []
        impl = self
        xv = None if val is None else np.ascontiguousarray(val.x, dtype=self.dtype)

        def val_accuracy() -> float:
            return float(np.mean(self._forward(xv).argmax(axis=1) == val.y))

        class Recorder(keras.callbacks.Callback):
            t0 = 0.0

            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                loss = float(logs["loss"])
                if impl.loss_name == "sse":  # engine: sum of batch losses; Keras: their size-weighted mean
                    loss *= n_batches
                if not np.isfinite(loss):
                    raise FloatingPointError(f"{impl.name}: training diverged, loss is {loss} at epoch {epoch + 1}")
                val_acc = None if val is None else val_accuracy()
                rec = EpochRecord(epoch=epoch + 1, loss=loss, train_accuracy=float(logs["acc"]),
                                  val_accuracy=val_acc, epoch_seconds=time.perf_counter() - self.t0)
                if record_epoch(rec, history, on_epoch, stopper):
                    self.model.stop_training = True

        self.model.fit(data, epochs=epochs, steps_per_epoch=n_batches, shuffle=False, verbose=0, callbacks=[Recorder()])
        return history

    def _forward(self, x: np.ndarray) -> np.ndarray:
        """Output probabilities in batches of 1,024 through one traced ``model(x, training=False)``.

        Per-epoch validation and the test predictions share it: ``model.predict`` sets up and traces
        its own function per call (~0.2-0.3 s), which dominated many-epoch full-batch runs (R11: 3,000
        epochs) and a run's time after its fit.
        """
        if getattr(self, "_traced_forward", None) is None:
            self._traced_forward = _tf().function(lambda xb: self.model(xb, training=False), reduce_retracing=True)
        x = np.ascontiguousarray(x, dtype=self.dtype)
        out = [np.asarray(self._traced_forward(x[i : i + 1024])) for i in range(0, len(x), 1024)]
        if not out:
            return two_class_proba(np.zeros((0, int(self.model.outputs[0].shape[-1]))))
        return two_class_proba(np.concatenate(out).astype(np.float64))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x)

    def save(self, path: Path) -> Path:
        path = Path(path).with_suffix(".keras")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.save(path)
        return path

    @classmethod
    def load(cls, path: Path) -> "_KerasBase":
        self = cls.__new__(cls)
        self.model = keras.saving.load_model(Path(path), compile=False, custom_objects={
            "HalfSumSquaredError": HalfSumSquaredError})
        self.dtype = str(self.model.inputs[0].dtype)
        return self

    def weights(self) -> list[np.ndarray] | None:
        return [np.asarray(w) for w in self.model.get_weights()]

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
        return {"op_determinism": True, "initial_weights": "copied from scratchbench.scratch Network",
                "loss_used": self.loss_name}


class KerasMLP(_KerasBase):
    """Keras twin of a dense NumPy architecture (flat inputs)."""

    name = "keras_mlp"
    input_kind = "flat"

    def _check_layers(self) -> None:
        reject_layers(self.name, self.model_cfg, SPATIAL, "keras_cnn")


class KerasCNN(_KerasBase):
    """Keras CNN (R7 and variants) on image inputs."""

    name = "keras_cnn"
    input_kind = "image"
