"""``scratchbench.predict`` on a model saved by a real run; bad inputs give clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scratchbench.predict import PredictError, image_to_features, load_run_model, main


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
