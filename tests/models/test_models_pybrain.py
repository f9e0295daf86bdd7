"""PyBrain: compat layer in a fresh interpreter, R4 quick start, the common interface."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from models_helpers import make_cfg

FRESH_XOR = r"""
import warnings
warnings.simplefilter("error")  # no deprecation noise from the compat layer either
import sys
from scratchbench.models import pybrain_compat  # must come first
from pybrain3.tools.shortcuts import buildNetwork
from pybrain3.datasets import SupervisedDataSet
from pybrain3.supervised.trainers import BackpropTrainer
import random, numpy as np
random.seed(0); np.random.seed(0)
net = buildNetwork(2, 3, 1, bias=True)
ds = SupervisedDataSet(2, 1)
for a, b, t in [(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]:
    ds.addSample((a, b), (t,))
trainer = BackpropTrainer(net, ds, learningrate=0.3, momentum=0.5)
first = trainer.train()
for _ in range(400):
    last = trainer.train()
print(first, last)
"""


def test_compat_imports_in_fresh_interpreter_and_trains_xor():
    proc = subprocess.run([sys.executable, "-c", FRESH_XOR], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, last = map(float, proc.stdout.split())
    assert last < 0.05 < first


def test_plain_pybrain_import_is_broken_without_compat():
    """Guards the reason the compat layer exists (fails if SciPy re-adds the names)."""
    proc = subprocess.run([sys.executable, "-c", "import pybrain3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "scipy" in proc.stderr


def test_every_scipy_name_pybrain_imports_is_provided():
    import scipy

    from scratchbench.models import pybrain_compat

    root = Path(pybrain_compat.pybrain3.__file__).parent
    wanted = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "scipy":
                wanted |= {a.name for a in node.names}
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "scipy":
                wanted.add(node.attr)
    missing = sorted(n for n in wanted - {"weave"} if not hasattr(scipy, n))
    assert missing == []
    assert scipy.random is np.random


def test_partial_softmax_fixed():
    from scratchbench.models.pybrain_compat import pybrain3  # noqa: F401
    from pybrain3.structure.modules.softmax import PartialSoftmaxLayer

    layer = PartialSoftmaxLayer(4, 2)
    out = layer.activate(np.array([0.0, 0.0, 1.0, 3.0]))
    np.testing.assert_allclose(out[:2], [0.5, 0.5])
    np.testing.assert_allclose(out[2:].sum(), 1.0)


@pytest.mark.parametrize(("variant", "lr", "momentum"),
                         [("sigmoid", 0.3, 0.5), ("tanh", 0.1, 0.0), ("softmax", 0.1, 0.0)])
def test_quickstart_xor_variants(variant, lr, momentum):
    from scratchbench.models.pybrain_net import quickstart_xor

    res = quickstart_xor(variant, until_convergence=False, epochs=400, learning_rate=lr, momentum=momentum, seed=1)
    assert res["train_errors"][-1] < res["train_errors"][0]
    assert res["outputs"].shape == ((4, 2) if variant == "softmax" else (4, 1))
    assert list(res["predictions"]) == [0, 1, 1, 0]
    assert res["final_error"] < 0.01


def test_quickstart_train_until_convergence():
    from scratchbench.models.pybrain_net import quickstart_xor

    res = quickstart_xor("sigmoid", until_convergence=True, epochs=50, seed=0)
    # PyBrain holds out 1 of the 4 rows and returns one error per epoch (+ a final one)
    assert 1 < len(res["train_errors"]) <= 52
    assert len(res["val_errors"]) == len(res["train_errors"])
    assert np.isfinite(res["final_error"]) and res["n_params"] == 13


def test_quickstart_bad_variant():
    from scratchbench.models.pybrain_net import quickstart_xor

    with pytest.raises(ValueError, match="valid: \\['sigmoid', 'softmax', 'tanh'\\]"):
        quickstart_xor("relu")


def _fit(spec, train, test, cfg):
    from scratchbench.models.registry import get_implementation

    impl = get_implementation("pybrain")
    impl.build(cfg, spec)
    hist = impl.fit(train, test)
    return impl, hist


def test_pybrain_beats_chance_and_is_deterministic(three_blobs):
    spec, train, test = three_blobs
    cfg = make_cfg(optimizer={"learning_rate": 0.05}, train={"epochs": 3})
    impl, hist = _fit(spec, train, test, cfg)
    assert len(hist) == 3 and hist[-1].loss < hist[0].loss
    assert 0.8 < hist[-1].train_accuracy <= 1.0 and hist[0].train_accuracy < hist[-1].train_accuracy
    acc = float(np.mean(impl.predict(test.x) == test.y))
    assert acc > 0.8  # chance is 1/3
    proba = impl.predict_proba(test.x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    impl2, hist2 = _fit(spec, train, test, cfg)
    assert [h.loss for h in hist] == [h.loss for h in hist2]
    assert [h.val_accuracy for h in hist] == [h.val_accuracy for h in hist2]
    assert impl.run_info()["effective_batch_size"] == 1


def test_pybrain_binary_sigmoid_full_batch(two_blobs, tmp_path):
    spec, train, test = two_blobs
    cfg = make_cfg(
        model={"layers": [{"units": 5, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
               "loss": "binary_crossentropy"},
        optimizer={"learning_rate": 0.01},
        train={"epochs": 30, "batch_size": None},
    )
    impl, hist = _fit(spec, train, test, cfg)
    assert impl.run_info()["effective_batch_size"] == "full"
    assert impl.predict_proba(test.x).shape == (len(test.y), 2)
    assert np.mean(impl.predict(test.x) == test.y) > 0.75
    assert impl.n_params() == 4 * 5 + 5 + 5 + 1
    saved = impl.save(tmp_path / "model")
    with np.load(saved) as z:
        assert sum(z[k].size for k in z.files if k.startswith("conn:")) == impl.n_params()
    # PyBrain's flat parameter order changes between interpreters: reload in fresh ones with
    # different hash seeds and get the very same predictions.
    np.save(tmp_path / "x.npy", test.x)
    expected = impl.predict_proba(test.x)
    code = (
        "import sys, numpy as np\n"
        "from scratchbench.models.pybrain_net import PyBrainNet\n"
        "net = PyBrainNet.load(sys.argv[1])\n"
        "np.save(sys.argv[3], net.predict_proba(np.load(sys.argv[2])))\n"
    )
    for hash_seed in ("1", "2", "3"):
        out = tmp_path / f"p{hash_seed}.npy"
        subprocess.run([sys.executable, "-c", code, str(saved), str(tmp_path / "x.npy"), str(out)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed}, timeout=120)
        np.testing.assert_allclose(np.load(out), expected, rtol=0, atol=1e-12)


def test_pybrain_rejects_conv_and_adam(three_blobs):
    from scratchbench.models.pybrain_net import PyBrainNet

    spec, _, _ = three_blobs
    img_spec = type(spec)("img", (6, 6, 1), 3, ("a", "b", "c"), (6, 6, 1))
    conv = make_cfg(model={"layers": [{"type": "conv2d", "filters": 2, "kernel_size": 3, "activation": "relu"},
                                      {"type": "flatten"}, {"units": 3, "activation": "softmax"}]})
    with pytest.raises(ValueError, match="pybrain.*conv2d"):
        PyBrainNet().build(conv, img_spec)
    with pytest.raises(ValueError, match="optimizer.name='adam'"):
        PyBrainNet().build(make_cfg(optimizer={"name": "adam"}), spec)


def test_quickstart_cli(capsys):
    from scratchbench.models.pybrain_net import main

    assert main(["--variant", "tanh", "--learning-rate", "0.1", "--epochs", "300", "--no-convergence",
                 "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "epochs: 300" in out and "(1, 1) -> [" in out
    with pytest.raises(SystemExit):
        main(["--variant", "relu"])
