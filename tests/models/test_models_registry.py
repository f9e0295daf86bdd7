"""Registry: names, lazy imports, clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path
import sys

import pytest

from scratchbench.models import registry


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        registry.get_implementation("torch_mlp")
    msg = str(err.value)
    assert "torch_mlp" in msg
    for name in ("numpy_mlp", "numpy_cnn", "keras_mlp", "keras_cnn", "sklearn_mlp", "pybrain"):
        assert name in msg


def test_input_kinds_and_classes_agree():
    assert registry.input_kind("numpy_cnn") == "image" and registry.input_kind("sklearn_mlp") == "flat"
    cls = registry.implementation_class("sklearn_mlp")
    assert cls.name == "sklearn_mlp" and cls.input_kind == registry.input_kind("sklearn_mlp")


def test_non_keras_implementations_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from scratchbench.models.registry import get_implementation, input_kind\n"
        "for n in ('sklearn_mlp', 'pybrain'):\n"
        "    get_implementation(n)\n"
        "input_kind('keras_cnn')\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


COMPETITOR = '''
"""A nearest-centroid competitor: the whole plugin is this module and one conf/model yaml."""
from pathlib import Path

import numpy as np

from scratchbench.models.base import EpochRecord, Implementation


class NearestMean(Implementation):
    name = "nearest_mean"
    input_kind = "flat"

    def build(self, cfg, spec):
        self.n_classes = spec.n_classes

    def fit(self, train, val=None, on_epoch=None):
        self.means = np.stack([train.x[train.y == k].mean(axis=0) for k in range(self.n_classes)])
        acc = float(np.mean(self.predict(train.x) == train.y))
        rec = EpochRecord(1, 0.0, acc, None if val is None else float(np.mean(self.predict(val.x) == val.y)), 0.0)
        if on_epoch:
            on_epoch(rec)
        return [rec]

    def predict_proba(self, x):
        d = -((np.asarray(x)[:, None, :] - self.means[None]) ** 2).sum(axis=2)
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path):
        path = Path(path).with_suffix(".npz")
        np.savez(path, means=self.means)
        return path

    @classmethod
    def load(cls, path):
        self = cls()
        self.means = np.load(path)["means"]
        return self

    def n_params(self):
        return int(self.means.size)
'''


def test_a_new_competitor_is_one_module_and_one_conf_model_yaml(tmp_path, monkeypatch):
    """No registry or schema edit: a module on sys.path + conf/model/<name>.yaml, found and run for real."""
    import shutil

    from scratchbench.config import ConfigError, validate
    from scratchbench.config.compose import compose_run
    from scratchbench.data.features import save_features
    from scratchbench.data.toy import moons_features
    from scratchbench.runner import run

    repo = Path(__file__).resolve().parents[2]
    root = tmp_path / "proj"
    shutil.copytree(repo / "conf", root / "conf")
    (root / "pyproject.toml").write_text("")
    (root / "conf" / "model" / "nearest_mean.yaml").write_text(
        "name: nearest_mean\nimplementation: tinycompetitor.nearest:NearestMean\ninput_kind: flat\n")
    pkg = tmp_path / "pkgs" / "tinycompetitor"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nearest.py").write_text(COMPETITOR)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    arrays, meta = moons_features()
    save_features("moons", arrays, meta, root / "data" / "features" / "moons")

    assert "nearest_mean" in registry.names()
    assert registry.implementation_class("nearest_mean").__name__ == "NearestMean"
    cfg = compose_run(["experiment=adhoc", "model=nearest_mean"], root=root)
    assert validate(cfg)["model"]["implementation"] == "tinycompetitor.nearest:NearestMean"
    result = run(cfg)
    assert result.status == "FINISHED" and result.metrics["test_accuracy"] > 0.7, result
    with pytest.raises(ConfigError, match="nearest_mean"):  # the choices listed come from conf/model/
        validate(compose_run(["experiment=adhoc", "model.name=nearest_meen"], root=root))
