"""PyBrain baseline (``pybrain``): ``buildNetwork`` + ``SupervisedDataSet`` + ``BackpropTrainer``.

PyBrain always backpropagates the error ``target - output`` (squared error; with a
``SoftmaxLayer`` output, whose backward pass is the identity, that is the cross-entropy
gradient), and learns one sample at a time (``batch_size`` 1 or any mini-batch size: online
learning, recorded as ``effective_batch_size: 1``) or full batch (``batch_size: null``:
``batchlearning=True``). The per-epoch ``loss`` is what ``trainer.train()`` returns:
mean over samples and outputs of ``0.5 * (t - y)**2``; ``train_accuracy`` is counted while
training (running, as the engine and Keras report it). SGD/momentum only.

Also home of the R4 quick start: :func:`quickstart_xor`.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from scratchbench.models.arch import dense_stack, require_activations, resolve_optimizer, target_values
from scratchbench.models.early_stop import EarlyStopping, record_epoch
from scratchbench.models.base import DataSpec, EpochRecord, Implementation, OnEpoch, Split
from scratchbench.models.pybrain_compat import pybrain3  # noqa: F401  (installs the compat layer)
from scratchbench.scratch.targets import encode_labels, two_class_proba

from pybrain3.datasets import SupervisedDataSet  # noqa: E402
from pybrain3.structure import LinearLayer, SigmoidLayer, SoftmaxLayer, TanhLayer  # noqa: E402
from pybrain3.structure.modules.neuronlayer import NeuronLayer  # noqa: E402
from pybrain3.supervised.trainers import BackpropTrainer  # noqa: E402
from pybrain3.tools.shortcuts import buildNetwork  # noqa: E402


class ReluLayer(NeuronLayer):
    """ReLU neurons (PyBrain ships none): forward and backward side by side."""

    def _forwardImplementation(self, inbuf, outbuf):  # noqa: ANN001
        outbuf[:] = np.maximum(inbuf, 0.0)

    def _backwardImplementation(self, outerr, inerr, outbuf, inbuf):  # noqa: ANN001
        inerr[:] = outerr * (inbuf > 0)


LAYER_CLASSES: dict[str, type] = {
    "sigmoid": SigmoidLayer,
    "tanh": TanhLayer,
    "linear": LinearLayer,
    "softmax": SoftmaxLayer,
    "relu": ReluLayer,
}


class RecordingTrainer(BackpropTrainer):
    """``BackpropTrainer`` that also counts correct outputs as it goes (running train accuracy,
    weights before each update, like the engine and Keras), at no extra forward pass."""

    correct = 0

    def train(self):  # noqa: ANN201 - pybrain signature
        self.correct = 0
        return super().train()

    def _calcDerivs(self, seq):  # noqa: ANN001, ANN202, N802
        result = super()._calcDerivs(seq)
        for offset, sample in enumerate(seq):
            out, target = self.module.outputbuffer[offset], sample[1]
            if len(target) == 1:
                self.correct += int((out[0] > self.threshold) == (target[0] > self.threshold))
            else:
                self.correct += int(np.argmax(out) == np.argmax(target))
        return result


def _seed(seed: int) -> None:
    random.seed(seed)  # BackpropTrainer shuffles with random.shuffle
    np.random.seed(seed)  # PyBrain initialises weights with (scipy.)random.randn


def _dataset(x: np.ndarray, t: np.ndarray) -> SupervisedDataSet:
    ds = SupervisedDataSet(x.shape[1], t.shape[1])
    ds.setField("input", np.asarray(x, dtype=float))
    ds.setField("target", np.asarray(t, dtype=float))
    return ds


def _build_net(sizes: list[int], activations: list[str], use_bias: bool) -> Any:
    hidden, out = activations[:-1], activations[-1]
    net = buildNetwork(
        *sizes,
        bias=use_bias,
        hiddenclass=LAYER_CLASSES[hidden[0]] if hidden else SigmoidLayer,
        outclass=LAYER_CLASSES[out],
    )
    net.sortModules()
    return net


def _connections(net: Any) -> dict[str, Any]:
    """The network's connections keyed by ``<from module>-><to module>`` (stable across processes)."""
    return {f"{c.inmod.name}->{c.outmod.name}": c for conns in net.connections.values() for c in conns}


class PyBrainNet(Implementation):
    name = "pybrain"
    input_kind = "flat"

    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        model = cfg["model"]
        sizes, activations, use_bias = dense_stack(self.name, model, spec)
        require_activations(self.name, "PyBrain's buildNetwork", activations, activations[:-1], LAYER_CLASSES)
        opt = resolve_optimizer(cfg.get("optimizer"))
        if opt["name"] not in ("sgd", "momentum") or opt["nesterov"]:
            raise ValueError(f"pybrain: optimizer.name={opt['name']!r} (nesterov={opt.get('nesterov', False)}) unsupported; "
                             "valid: ['momentum', 'sgd']")
        self.cfg, self.spec, self.model_cfg = cfg, spec, model
        self.seed = int(cfg.get("seed", 0))
        self.sizes, self.activations, self.use_bias = sizes, activations, use_bias
        _seed(self.seed)
        self.net = _build_net(sizes, activations, use_bias)
        self.learning_rate, self.momentum = opt["learning_rate"], opt["momentum"]

    def run_info(self) -> dict[str, Any]:
        bs = (self.cfg.get("train") or {}).get("batch_size")
        return {
            "effective_batch_size": "full" if bs is None else 1,
            "loss_used": "pybrain squared error 0.5*(t-y)^2 (softmax out: cross-entropy gradient)",
            "init_used": "pybrain randomize(): N(0, 1) for every weight and bias (model.init not used)",
        }

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        tcfg = dict(self.cfg.get("train") or {})
        epochs = int(tcfg.get("epochs", 1))
        stopper = EarlyStopping(
            tcfg.get("early_stopping_patience"), lambda: self.net.params.copy(), lambda w: self.net.params.__setitem__(slice(None), w)
        )
        on, off = target_values(self.model_cfg)
        t = encode_labels(train.y, self.sizes[-1], on, off)
        trainer = RecordingTrainer(
            self.net,
            _dataset(train.x, t),
            learningrate=self.learning_rate,
            momentum=self.momentum,
            batchlearning=tcfg.get("batch_size") is None,
        )
        trainer.threshold = 0.5 * (on + off)
        _seed(self.seed + 1)
        history: list[EpochRecord] = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            loss = float(trainer.train())
            if not np.isfinite(loss):
                raise FloatingPointError(f"pybrain: training diverged, loss is {loss} at epoch {epoch}")
            val_acc = None if val is None else float(np.mean(self.predict(val.x) == val.y))
            rec = EpochRecord(
                epoch=epoch,
                loss=loss,
                train_accuracy=trainer.correct / len(train.y),
                val_accuracy=val_acc,
                epoch_seconds=time.perf_counter() - start,
            )
            if record_epoch(rec, history, on_epoch, stopper):
                break
        return history

    def _outputs(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return np.array([self.net.activate(row) for row in x]).reshape(len(x), -1)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        out = self._outputs(x)
        if out.shape[1] == 1:
            return two_class_proba(out)
        if self.activations[-1] != "softmax":
            out = np.clip(out, 1e-12, None)
            out = out / out.sum(axis=1, keepdims=True)
        return out

    def save(self, path: Path) -> Path:
        """Parameters per named connection (``in->hidden0`` ...): PyBrain's flat order is not stable across processes."""
        path = Path(path).with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        arch = {"sizes": self.sizes, "activations": self.activations, "bias": self.use_bias}
        arrays = {f"conn:{key}": np.asarray(c.params).copy() for key, c in _connections(self.net).items()}
        np.savez(path, architecture=json.dumps(arch), **arrays)
        return path

    @classmethod
    def load(cls, path: Path) -> "PyBrainNet":
        """Rebuild the network from :meth:`save`'s file (for prediction)."""
        with np.load(path, allow_pickle=False) as z:
            arch = json.loads(str(z["architecture"]))
            saved = {k[len("conn:"):]: z[k] for k in z.files if k.startswith("conn:")}
        self = cls.__new__(cls)
        self.sizes, self.activations, self.use_bias = list(arch["sizes"]), list(arch["activations"]), bool(arch["bias"])
        self.net = _build_net(self.sizes, self.activations, self.use_bias)
        conns = _connections(self.net)
        if set(conns) != set(saved):
            raise ValueError(f"{path}: saved connections {sorted(saved)} do not match the architecture's {sorted(conns)}")
        for key, c in conns.items():
            if c.params.shape != saved[key].shape:
                raise ValueError(f"{path}: connection {key} has {saved[key].shape} parameters, expected {c.params.shape}")
            c.params[:] = saved[key]
        return self

    def n_params(self) -> int:
        return int(len(self.net.params))

    def threads(self) -> dict[str, int]:
        return {"python": 1}


XOR_INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
XOR_TARGETS = (0, 1, 1, 0)


def quickstart_xor(
    variant: str = "sigmoid",
    *,
    until_convergence: bool = True,
    epochs: int = 1000,
    learning_rate: float = 0.01,
    momentum: float = 0.0,
    seed: int = 0,
) -> dict[str, Any]:
    """R4, PyBrain's quick start on XOR, as documented.

    ``variant``: ``sigmoid`` (``buildNetwork(2, 3, 1, bias=True)``, sigmoid hidden, linear
    out), ``tanh`` (``hiddenclass=TanhLayer``) or ``softmax`` (``buildNetwork(2, 3, 2,
    hiddenclass=TanhLayer, outclass=SoftmaxLayer)``, one-hot targets). With
    ``until_convergence`` it calls ``trainer.trainUntilConvergence(maxEpochs=epochs)``
    (25% of the 4 rows held out, as PyBrain does), else ``trainer.train()`` ``epochs`` times.
    Returns per-epoch ``train_errors`` (and ``val_errors``), ``outputs`` for the 4 inputs and
    ``final_error`` (``trainer.testOnData`` on all 4 rows).
    """
    variants = {
        "sigmoid": dict(layers=(2, 3, 1), opts={}),
        "tanh": dict(layers=(2, 3, 1), opts={"hiddenclass": TanhLayer}),
        "softmax": dict(layers=(2, 3, 2), opts={"hiddenclass": TanhLayer, "outclass": SoftmaxLayer}),
    }
    if variant not in variants:
        raise ValueError(f"quickstart_xor: variant={variant!r}; valid: {sorted(variants)}")
    v = variants[variant]
    _seed(seed)
    net = buildNetwork(*v["layers"], bias=True, **v["opts"])
    n_out = v["layers"][-1]
    ds = SupervisedDataSet(2, n_out)
    for inp, target in zip(XOR_INPUTS, XOR_TARGETS):
        ds.addSample(inp, (target,) if n_out == 1 else tuple(np.eye(2)[target]))
    trainer = BackpropTrainer(net, ds, learningrate=learning_rate, momentum=momentum)
    if until_convergence:
        train_errors, val_errors = trainer.trainUntilConvergence(maxEpochs=epochs)
    else:
        train_errors, val_errors = [trainer.train() for _ in range(epochs)], []
    outputs = np.array([net.activate(inp) for inp in XOR_INPUTS])
    return {
        "variant": variant,
        "train_errors": [float(e) for e in train_errors],
        "val_errors": [float(e) for e in val_errors],
        "outputs": outputs,
        "predictions": outputs.argmax(axis=1) if n_out > 1 else (outputs[:, 0] > 0.5).astype(int),
        "final_error": float(trainer.testOnData(ds)),
        "n_params": int(len(net.params)),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m scratchbench.models.pybrain_net [--variant tanh] [--epochs N] [--no-convergence]``."""
    import argparse

    p = argparse.ArgumentParser(description="R4: PyBrain's XOR quick start")
    p.add_argument("--variant", default="sigmoid", choices=["sigmoid", "tanh", "softmax"])
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-convergence", action="store_true", help="call trainer.train() --epochs times instead")
    a = p.parse_args(argv)
    res = quickstart_xor(a.variant, until_convergence=not a.no_convergence, epochs=a.epochs,
                         learning_rate=a.learning_rate, momentum=a.momentum, seed=a.seed)
    print(f"epochs: {len(res['train_errors'])}  first error: {res['train_errors'][0]:.6f}  "
          f"last error: {res['train_errors'][-1]:.6f}  final error (4 rows): {res['final_error']:.6f}")
    for inp, out in zip(XOR_INPUTS, res["outputs"]):
        print(f"  {inp} -> {np.round(out, 4).tolist()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
