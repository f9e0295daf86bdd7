"""A real MLflow SQLite store in a tmp project root, filled by tiny real training runs.

Runs go through the real pipeline (Hydra compose of ``conf/`` -> ``scratchbench.runner.run``)
on features the fixture writes itself: the toy moons set and a tiny 8x8x3 "catvnoncat".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from run_helpers import temp_project


CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
TINY_IMG = (8, 8, 3)


def write_tiny_features(root: Path) -> None:
    from scratchbench.data.features import save_features
    from scratchbench.data.toy import moons_features

    arrays, meta = moons_features()
    save_features("moons", arrays, meta, root / "data" / "features" / "moons")
    rng = np.random.default_rng(0)
    n_train, n_test = 48, 16
    y = rng.integers(0, 2, n_train + n_test)
    imgs = rng.integers(0, 120, (n_train + n_test, *TINY_IMG)).astype(np.uint8)
    imgs[y == 1, :, :, 0] += 120  # "cats" are redder: learnable
    flat = imgs.reshape(len(imgs), -1).astype(np.float32) / 255.0
    save_features("catvnoncat", {
        "x_train": flat[:n_train], "y_train": y[:n_train], "x_test": flat[n_train:], "y_test": y[n_train:],
        "images_train": imgs[:n_train], "images_test": imgs[n_train:], "class_names": np.array(["non-cat", "cat"]),
    }, {"source": "tests/report tiny synthetic"}, root / "data" / "features" / "catvnoncat")


def run_preset(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from scratchbench.config import register
    from scratchbench.runner import run

    register()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose(config_name="config", overrides=overrides)
    return run(cfg)


def _sweep_parent(uri: str) -> None:
    """A Hydra-sweep parent run as the tracking callback logs it: newest, no model, no implementation tag."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("scratchbench-catvnoncat") or client.search_experiments()[0]
    run = client.create_run(exp.experiment_id, tags={"sweep": "parent", "experiment": "r11_cat_tanh",
                                                     "reference": "R11", "dataset": "catvnoncat"})
    client.log_metric(run.info.run_id, "children", 1)
    client.set_terminated(run.info.run_id, "FINISHED")


@dataclass
class Store:
    root: Path
    uri: str
    runs: dict[str, str] = field(default_factory=dict)  # label -> run id


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root, uri, mp = temp_project(tmp_path_factory, "sbroot")
    write_tiny_features(root)
    st = Store(root, uri)
    plan = {
        "moons_numpy_s0_old": ["experiment=r10_moons", "train.epochs=40", "optimizer.learning_rate=0.5", "seed=0"],
        "moons_numpy_s0": ["experiment=r10_moons", "train.epochs=40", "optimizer.learning_rate=0.5", "seed=0"],
        "moons_numpy_s1": ["experiment=r10_moons", "train.epochs=40", "optimizer.learning_rate=0.5", "seed=1"],
        "moons_sklearn": ["experiment=r10_moons", "model=sklearn_mlp", "train.epochs=5", "train.batch_size=32",
                          "optimizer.learning_rate=0.05", "seed=0"],
        "cat_numpy": ["experiment=r11_cat_tanh", "model.layers_dims=[192,6,1]", "train.epochs=120",
                      "optimizer.learning_rate=0.5", "seed=1"],
        "activations": ["experiment=r8_activations"],
    }
    try:
        for label, overrides in plan.items():
            res = run_preset(overrides + ["profile=quick"])
            assert res.status == "FINISHED", (label, res.error)
            st.runs[label] = res.run_id
        _sweep_parent(uri)
        with pytest.raises(ValueError, match="bias"):  # recorded FAILED: the report must say so
            run_preset(["experiment=r10_moons", "model=sklearn_mlp", "model.bias=false", "profile=quick"])
    finally:
        mp.undo()  # tests that need the store's root ask for it (in_store, built): nothing else sees it
    yield st


@pytest.fixture
def in_store(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Per-test env pointing at the session store's root."""
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(store.root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    return store
