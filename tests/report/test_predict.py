"""``scratchbench.predict`` on a model saved by a real run; bad inputs give clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from run_helpers import temp_project
from PIL import Image

from scratchbench.predict import PredictError, image_to_features, load_run_model, main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cat_model(store):
    mp = pytest.MonkeyPatch()
    mp.setenv("SCRATCHBENCH_ROOT", str(store.root))
    mp.setenv("MLFLOW_TRACKING_URI", store.uri)
    try:
        yield load_run_model(store.runs["cat_numpy"], store.uri)
    finally:
        mp.undo()


def test_predict_matches_model_on_exact_size_image(in_store, cat_model, tmp_path, capsys):
    from scratchbench.data.features import load_features

    fs = load_features("catvnoncat")
    path = tmp_path / "cat.png"
    Image.fromarray(fs.images_test[0]).save(path)
    expected = cat_model.predict_proba(fs.x_test[:1])[0]
    assert main(["--run-id", in_store.runs["cat_numpy"], str(path), "--json", "--no-resize"]) == 0
    out = json.loads(capsys.readouterr().out)
    k = int(np.argmax(expected))
    assert out["class"] == ["non-cat", "cat"][k]
    assert out["probability"] == pytest.approx(expected[k], abs=1e-6)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0)


def test_latest_run_of_experiment_and_resize(in_store, cat_model, tmp_path, capsys):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.full((40, 30, 3), 200, np.uint8)).save(path)
    assert main(["--experiment", "r11_cat_tanh", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["run_id"] == in_store.runs["cat_numpy"]
    x = image_to_features(path, cat_model.spec)  # resized to the model's 8x8x3 input
    np.testing.assert_allclose(x, 200 / 255, rtol=1e-6)
    expected = cat_model.predict_proba(x)[0]
    k = int(np.argmax(expected))
    assert out["class"] == ["non-cat", "cat"][k] and out["probability"] == pytest.approx(expected[k], abs=1e-6)


def test_grayscale_is_converted(cat_model, tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path)
    x = image_to_features(path, cat_model.spec)
    assert x.shape == (1, 192) and x.dtype == np.float32


@pytest.mark.parametrize("case", ["text", "wrong_size", "missing"])
def test_bad_inputs(in_store, tmp_path, capsys, case):
    if case == "text":
        path = tmp_path / "notes.png"
        path.write_text("not an image")
        args, msg = [str(path)], "not a readable image"
    elif case == "wrong_size":
        path = tmp_path / "big.png"
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(path)
        args, msg = [str(path), "--no-resize"], "30x20 pixels but the model takes 8x8"
    else:
        path = tmp_path / "absent.png"
        args, msg = [str(path)], "does not exist"
    assert main(["--run-id", in_store.runs["cat_numpy"], *args]) == 2
    err = capsys.readouterr().err
    assert msg in err and path.name in err


def test_non_image_dataset_and_unknown_run(in_store, tmp_path, capsys):
    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(path)
    assert main(["--run-id", in_store.runs["moons_sklearn"], str(path)]) == 2
    assert "not an image dataset" in capsys.readouterr().err
    assert main(["--experiment", "r99_nothing", str(path)]) == 2
    assert "r99_nothing" in capsys.readouterr().err
    assert main(["--run-id", "0" * 32, str(path)]) == 2
    assert "no such run" in capsys.readouterr().err


def test_moons_model_loads_from_features_space(in_store):
    from scratchbench.data.features import load_features

    model = load_run_model(in_store.runs["moons_sklearn"], in_store.uri)
    fs = load_features("moons")
    p = model.predict_proba(fs.x_test)
    assert p.shape == (len(fs.x_test), 2) and np.allclose(p.sum(axis=1), 1.0)
    with pytest.raises(PredictError, match="not an image dataset"):
        image_to_features(in_store.root / "pyproject.toml", model.spec)


# --- real images from the dataset mirror: a 64x64 cat through an R11 model, an MNIST digit through a CNN ---


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """A tmp project with real catvnoncat and MNIST features (from the mirror) and two real runs."""
    import os

    from scratchbench.config.compose import compose_run
    from scratchbench.data.featurize import featurize_dataset
    from scratchbench.data.fetch import fetch_dataset
    from scratchbench.runner import run

    mirror = os.environ.get("SCRATCHBENCH_DATA_MIRROR", "")
    if not mirror or not os.path.isdir(mirror):
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set to a local dataset folder")
    root, uri, mp = temp_project(tmp_path_factory, "realroot")
    try:
        for ds in ("catvnoncat", "mnist"):
            fetch_dataset(ds, mirror=mirror, upstream=False, dest_dir=root / "data" / "raw" / ds)
            featurize_dataset(ds, {}, root / "data" / "raw" / ds, root / "data" / "features" / ds)
        runs = {
            "r11": run(compose_run(["experiment=r11_cat_tanh_intended", "train.epochs=30", "profile=full"],
                                   root=REPO)).run_id,
            "cnn": run(compose_run(["experiment=r7_mnist_cnn", "model=numpy_cnn", "train.epochs=1",
                                    "train.max_train_samples=600", "train.max_test_samples=100"], root=REPO)).run_id,
        }
        yield root, uri, runs
    finally:
        mp.undo()


def own_proba(run_id: str, uri: str, x_stored: np.ndarray) -> np.ndarray:
    """The model's own predict_proba (``Implementation.load`` on the run's artifact) on feature rows."""
    import yaml
    from mlflow.tracking import MlflowClient

    from scratchbench.data.features import load_features
    from scratchbench.models.adapter import adapt_x, data_spec
    from scratchbench.models.registry import implementation_class

    client = MlflowClient(uri)
    run = client.get_run(run_id)
    impl = run.data.tags["implementation"]
    tmp = Path(client.download_artifacts(run_id, "model", None))
    (saved,) = [p for p in tmp.iterdir() if p.is_file()]
    cfg = yaml.safe_load(Path(client.download_artifacts(run_id, "config.yaml", None)).read_text())
    model = cfg["model"]
    spec = data_spec(load_features(run.data.tags["dataset"]))
    x = adapt_x(x_stored, spec, model["input_kind"], model["input_scaling"], model["dtype"])
    return np.asarray(implementation_class(impl).load(saved).predict_proba(x), dtype=np.float64)


@pytest.mark.integration
def test_predict_a_real_cat_through_an_r11_model(real_store, tmp_path, capsys):
    import h5py

    from scratchbench.data.features import load_features

    root, uri, runs = real_store
    with h5py.File(root / "data" / "raw" / "catvnoncat" / "test_catvnoncat.h5") as h5:
        i = int(np.flatnonzero(np.asarray(h5["test_set_y"]) == 1)[0])
        image = np.asarray(h5["test_set_x"][i], dtype=np.uint8)
    assert image.shape == (64, 64, 3)
    path = tmp_path / "cat.png"
    Image.fromarray(image).save(path)
    fs = load_features("catvnoncat")
    x = image_to_features(path, load_run_model(runs["r11"], uri).spec, resize=False)
    np.testing.assert_array_equal(x, fs.x_test[i : i + 1])  # the PNG reads back as the feature row
    expected = own_proba(runs["r11"], uri, fs.x_test[i : i + 1])[0]
    assert expected.shape == (2,)

    assert main(["--run-id", runs["r11"], str(path), "--json", "--no-resize"]) == 0
    out = json.loads(capsys.readouterr().out)
    k = int(np.argmax(expected))
    assert out["class"] == ["non-cat", "cat"][k]
    np.testing.assert_allclose([out["probabilities"]["non-cat"], out["probabilities"]["cat"]], expected, atol=1e-12)
    assert main(["--run-id", runs["r11"], str(path)]) == 0
    assert f"{path}: {out['class']} (probability {expected[k]:.4f})" in capsys.readouterr().out


@pytest.mark.integration
def test_predict_a_real_mnist_digit_through_a_numpy_cnn(real_store, tmp_path, capsys):
    import gzip

    root, uri, runs = real_store
    raw = root / "data" / "raw" / "mnist"
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(raw / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8)
    i = int(np.flatnonzero(labels == 7)[0])
    path = tmp_path / "seven.png"
    Image.fromarray(images[i]).save(path)
    model = load_run_model(runs["cnn"], uri)
    assert model.implementation == "numpy_cnn"
    x = image_to_features(path, model.spec, resize=False)
    np.testing.assert_array_equal(x.reshape(28, 28), images[i])
    expected = own_proba(runs["cnn"], uri, x)[0]
    assert expected.shape == (10,)

    assert main(["--run-id", runs["cnn"], str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    k = int(np.argmax(expected))
    assert out["class"] == model.class_names[k]
    got = np.array([out["probabilities"][c] for c in model.class_names])
    np.testing.assert_allclose(got, expected, atol=1e-6)
