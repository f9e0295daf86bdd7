"""scikit-learn baseline (``sklearn_mlp``): ``MLPClassifier`` with the matching dense layers.

Hidden sizes and the (single) hidden activation come from the shared architecture
(sigmoid -> logistic, tanh, relu, linear -> identity). The output layer and loss are
MLPClassifier's own (softmax + log-loss, or one logistic unit + log-loss for two classes);
what was used is recorded in ``run_info``. Optimizer: ``sgd``/``momentum`` -> ``solver="sgd"``
(classic momentum, constant rate), ``adam`` -> ``solver="adam"``. No L2 penalty (``alpha=0``)
so it optimises the same objective as the other implementations. One ``partial_fit`` call per
epoch (keeps the optimizer state) gives the per-epoch history; ``batch_size: null`` = full batch.
"""

from __future__ import annotations

import pickle
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from scratchbench.models.arch import dense_stack, require_activations, resolve_optimizer
from scratchbench.models.early_stop import EarlyStopping, record_epoch
from scratchbench.models.base import DataSpec, EpochRecord, Implementation, OnEpoch, Split

ACTIVATIONS = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "linear": "identity"}
SOLVERS = {"sgd": "sgd", "momentum": "sgd", "adam": "adam"}


class SklearnMLP(Implementation):
    name = "sklearn_mlp"
    input_kind = "flat"

    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        model = cfg["model"]
        sizes, acts, use_bias = dense_stack(self.name, model, spec)
        hidden = acts[:-1]
        require_activations(self.name, "MLPClassifier", hidden, hidden, ACTIVATIONS)
        if not use_bias:
            raise ValueError("sklearn_mlp: MLPClassifier always has biases; model.bias=false is not supported")
        opt = resolve_optimizer(cfg.get("optimizer"))
        if opt.get("nesterov"):
            raise ValueError("sklearn_mlp: optimizer.nesterov=true is not supported here (keep it false)")
        train = dict(cfg.get("train") or {})
        self.cfg, self.spec, self.out_activation = cfg, spec, acts[-1]
        self.batch_size = train.get("batch_size")
        self.clf = MLPClassifier(
            hidden_layer_sizes=tuple(sizes[1:-1]),
            activation=ACTIVATIONS[hidden[0]] if hidden else "identity",
            solver=SOLVERS[opt["name"]],
            alpha=0.0,
            batch_size=self.batch_size if self.batch_size is not None else 1,  # replaced in fit
            learning_rate="constant",
            learning_rate_init=opt["learning_rate"],
            nesterovs_momentum=False,
            **{k: opt[k] for k in ("momentum", "beta_1", "beta_2", "epsilon") if k in opt},  # the solver's own options
            shuffle=bool(train.get("shuffle", True)),
            random_state=int(cfg.get("seed", 0)),
            max_iter=1,
        )

    def run_info(self) -> dict[str, Any]:
        return {
            "output_used": "logistic (1 unit) + log-loss" if self.spec.n_classes == 2 else "softmax + log-loss",
            "output_requested": self.out_activation,
            "loss_requested": self.cfg["model"].get("loss"),
            "init_used": "scikit-learn's own Glorot uniform (random_state=seed; model.init not used)",
        }

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        tcfg = dict(self.cfg.get("train") or {})
        epochs = int(tcfg.get("epochs", 1))
        stopper = EarlyStopping(
            tcfg.get("early_stopping_patience"),
            lambda: [a.copy() for a in self.clf.coefs_ + self.clf.intercepts_],
            lambda saved: [np.copyto(a, w) for a, w in zip(self.clf.coefs_ + self.clf.intercepts_, saved)],
        )
        if self.batch_size is None:
            self.clf.set_params(batch_size=len(train.y))
        classes = np.arange(self.spec.n_classes)
        history: list[EpochRecord] = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.clf.partial_fit(train.x, train.y, classes=classes)
            loss = float(self.clf.loss_)
            if not np.isfinite(loss):
                raise FloatingPointError(f"sklearn_mlp: training diverged, loss is {loss} at epoch {epoch}")
            val_acc = None if val is None else float(np.mean(self.predict(val.x) == val.y))
            seconds = time.perf_counter() - start
            rec = EpochRecord(
                epoch=epoch,
                loss=loss,
                train_accuracy=float(np.mean(self.predict(train.x) == train.y)),  # after the epoch (not timed)
                val_accuracy=val_acc,
                epoch_seconds=seconds,
            )
            if record_epoch(rec, history, on_epoch, stopper):
                break
        return history

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.clf.predict_proba(x)

    def save(self, path: Path) -> Path:
        path = Path(path).with_suffix(".pkl")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(self.clf))
        return path

    @classmethod
    def load(cls, path: Path) -> "SklearnMLP":
        self = cls.__new__(cls)
        self.clf = pickle.loads(Path(path).read_bytes())  # our own run artifact, written by save
        return self

    def weights(self) -> list[np.ndarray] | None:
        return [a.copy() for pair in zip(self.clf.coefs_, self.clf.intercepts_) for a in pair]

    def n_params(self) -> int:
        return int(sum(w.size for w in self.clf.coefs_) + sum(b.size for b in self.clf.intercepts_))

    def threads(self) -> dict[str, int]:
        from scratchbench.models.measure import blas_threads

        return blas_threads()
