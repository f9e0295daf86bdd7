"""The from-scratch engine behind the common interface: ``numpy_mlp`` (flat) and ``numpy_cnn`` (image)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from scratchbench.models.adapter import model_input_shape
from scratchbench.models.arch import SPATIAL, macs_per_sample, reject_layers
from scratchbench.models.base import DataSpec, EpochRecord, Implementation, OnEpoch, Split
from scratchbench.threads import cores

_RECORD_KEYS = ("epoch", "loss", "train_accuracy", "val_accuracy", "epoch_seconds")

# Below this many multiply-accumulates per dense training step, a multi-threaded OpenBLAS GEMM is
# slower than one thread (thread hand-off costs more than it saves). Measured on 2 cores: MNIST
# 784-100-10 at batch 32 (2.5 M MACs) is 1.36x slower on 2 threads, at 64 1.18x, equal at 128
# (10 M), 0.83x at 256; 784-300-100-10 is equal at batch 32 (8.5 M) and faster above.
SMALL_STEP_MACS = 8_000_000


def dense_blas_threads(macs_per_sample: int, rows: int, available: int | None = None) -> int:
    """BLAS threads for dense steps of ``rows`` samples: one for small steps, else every core."""
    return 1 if macs_per_sample * rows < SMALL_STEP_MACS else (available or cores())


def to_record(h: Mapping[str, Any]) -> EpochRecord:
    """Engine history dict -> ``EpochRecord`` (unknown numeric keys go to ``extra``)."""
    val = h.get("val_accuracy")
    extra = {k: float(v) for k, v in h.items() if k not in _RECORD_KEYS and isinstance(v, (int, float, np.number))}
    return EpochRecord(
        epoch=int(h["epoch"]),
        loss=float(h["loss"]),
        train_accuracy=float(h["train_accuracy"]),
        val_accuracy=None if val is None else float(val),
        epoch_seconds=float(h["epoch_seconds"]),
        extra=extra,
    )


class _NumpyBase(Implementation):
    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        from scratchbench.scratch.network import Network

        self.cfg, self.spec = cfg, spec
        # the adapter already applied model.input_scaling: the engine must not scale again
        model = {**dict(cfg["model"]), "input_scaling": "none"}
        self._check_layers(model)
        self.input_shape = model_input_shape(spec, self.input_kind)
        self.net = Network.from_config(model, self.input_shape, spec.n_classes, int(cfg.get("seed", 0)))

    def _check_layers(self, model_cfg: Mapping[str, Any]) -> None:
        pass

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        tcfg = dict(self.cfg.get("train") or {})
        callback = None if on_epoch is None else (lambda h: on_epoch(to_record(h)))
        history = self.net.fit(
            train.x,
            train.y,
            epochs=int(tcfg.get("epochs", 1)),
            batch_size=tcfg.get("batch_size"),
            optimizer=dict(self.cfg.get("optimizer") or {}),
            shuffle=bool(tcfg.get("shuffle", True)),
            x_val=None if val is None else val.x,
            y_val=None if val is None else val.y,
            callback=callback,
            early_stopping_patience=tcfg.get("early_stopping_patience"),
        )
        return [to_record(h) for h in history]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.net.predict_proba(x))

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.net.save(path)

    @classmethod
    def load(cls, path: Path) -> "_NumpyBase":
        from scratchbench.scratch.network import Network

        self = cls.__new__(cls)
        self.net = Network.load(path)
        self._restored()
        return self

    def _restored(self) -> None:
        """Set what ``build`` sets beside the network (a loaded model predicts without ``build``)."""

    def weights(self) -> list[np.ndarray] | None:
        return self.net.get_weights()

    def n_params(self) -> int:
        return int(self.net.n_params())

    def threads(self) -> dict[str, int]:
        from scratchbench.models.measure import blas_threads

        return blas_threads()


class NumpyMLP(_NumpyBase):
    """Dense engine network on flat inputs.

    BLAS threads follow the step size (:func:`dense_blas_threads`): one thread for small
    mini-batches, every core for big ones.
    """

    name = "numpy_mlp"
    input_kind = "flat"

    def _check_layers(self, model_cfg: Mapping[str, Any]) -> None:
        reject_layers(self.name, model_cfg, SPATIAL, "numpy_cnn")

    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        super().build(cfg, spec)
        self._restored()

    def _restored(self) -> None:
        self._macs = macs_per_sample(self.net.canonical)
        self._used: dict[str, int] = {}  # phase -> BLAS threads chosen

    def _blas_limit(self, phase: str, rows: int):
        from threadpoolctl import threadpool_limits

        self._used[phase] = n = dense_blas_threads(self._macs, rows)
        return threadpool_limits(n, user_api="blas")

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        batch = (self.cfg.get("train") or {}).get("batch_size")
        n = len(train.x)
        with self._blas_limit("blas_fit", n if batch is None else min(int(batch), n)):
            return super().fit(train, val, on_epoch)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        with self._blas_limit("blas_predict", min(len(x), self.net._predict_batch)):
            return super().predict_proba(x)

    def threads(self) -> dict[str, int]:
        """BLAS threads chosen for training and for prediction (so far)."""
        return dict(self._used) or {"blas_fit": cores()}


class NumpyCNN(_NumpyBase):
    """Engine network with conv layers on image inputs (NHWC).

    Conv layers split their row chunks over one worker thread per core, each with a one-thread
    BLAS: multi-threaded OpenBLAS on many chunk-sized GEMMs thrashes (measured 5x slower).
    """

    name = "numpy_cnn"
    input_kind = "image"

    def _workers(self) -> int:
        return cores()

    def _threading(self):
        from threadpoolctl import threadpool_limits

        from scratchbench.scratch.conv import set_workers

        set_workers(self._workers())
        return threadpool_limits(1, user_api="blas")

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        with self._threading():
            return super().fit(train, val, on_epoch)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        with self._threading():
            return super().predict_proba(x)

    def threads(self) -> dict[str, int]:
        return {"conv_workers": self._workers(), "blas_per_worker": 1}
