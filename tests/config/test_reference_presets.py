"""The presets say what the tutorials say (issue: every reference experiment as written, with a verdict).

Each test here would have failed before the presets were checked against the texts in shared/seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchbench.config import validate
from scratchbench.config.compose import compose_run
from scratchbench.data import toy
from scratchbench.report.reproduction import load_checks


REPO = Path(__file__).resolve().parents[2]


def preset(name: str, *overrides: str) -> dict:
    return validate(compose_run([f"experiment={name}", *overrides], root=REPO))


def test_xor3_is_xor_of_the_first_two_inputs_in_the_tutorials_row_order():
    x, y = toy.TABLES["xor3"]
    np.testing.assert_array_equal(x, [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(y, np.logical_xor(x[:, 0], x[:, 1]).astype(int))
    x1, y1 = toy.TABLES["r1_table"]
    np.testing.assert_array_equal(y1, x1[:, 0])  # R1: the target is the first input


def test_r2_uses_plain_sse_at_step_one():
    cfg = preset("r2_two_layer_class")
    assert cfg["model"]["loss"] == "sse_plain" and cfg["optimizer"]["learning_rate"] == 1.0
    assert cfg["dataset"]["name"] == "xor3" and cfg["train"]["epochs"] == 1500


def test_r4_trains_the_tanh_hidden_network_the_text_builds():
    layers = preset("r4_xor")["model"]["layers"]
    assert [layer["activation"] for layer in layers] == ["tanh", "linear"]
    assert [layer["units"] for layer in layers] == [3, 1]


def test_r5_as_written_and_the_books_settings():
    cfg = preset("r5_mnist_perceptron")
    assert (cfg["optimizer"]["learning_rate"], cfg["train"]["shuffle"], cfg["train"]["epochs"],
            cfg["train"]["batch_size"]) == (0.5, False, 5, 1)
    book = preset("r5_mnist_perceptron_book")
    assert book["optimizer"]["learning_rate"] == 0.1 and book["train"]["shuffle"] is False
    (as_written,) = cfg["experiment"]["published"]
    assert as_written["compare"] == "none" and as_written["value"] is None  # the tutorial prints no accuracy
    (figure,) = book["experiment"]["published"]
    assert figure["value"] == 0.9661 and figure["source"].startswith("external")


def test_r6_as_written_shrinks_weights_without_biases_and_scores_the_training_data():
    cfg = preset("r6_fruits_hue")
    assert cfg["optimizer"]["name"] == "shrink_on_miss" and cfg["optimizer"]["learning_rate"] == 0.001
    assert cfg["model"]["bias"] is False and cfg["model"]["init"] == {"name": "uniform", "low": -0.1, "high": 0.1}
    assert (cfg["train"]["epochs"], cfg["train"]["batch_size"], cfg["train"]["shuffle"]) == (10, 1, False)
    (figure,) = cfg["experiment"]["published"]
    assert (figure["metric"], figure["value"], figure["compare"]) == ("train_set_accuracy", 0.45, "at_most")
    assert preset("r6_fruits_hue_backprop")["optimizer"]["name"] == "adam"


@pytest.mark.parametrize("name", ["r7_mnist_cnn", "r7_mnist_cnn_pool"])
def test_r7_feeds_raw_pixels(name):
    assert preset(name)["model"]["input_scaling"] == "none"


def test_r8_leaky_relu_slope_is_the_tutorials():
    assert preset("r8_activations")["experiment"]["leaky_alpha"] == 0.1


def test_r11_has_the_three_runs():
    written, intended, course = (preset(n)["model"] for n in ("r11_cat_tanh", "r11_cat_tanh_intended",
                                                              "r11_cat_course"))
    assert written["hidden_activation"] == "tanh_sigmoid_grad" and intended["hidden_activation"] == "tanh"
    for m in (written, intended):
        assert m["init"] == {"name": "randn", "scale": 0.01, "layout": "out_in"} and m["rng"] == "legacy"
    assert course["hidden_activation"] == "relu" and course["init"] == {"name": "randn_sqrt_fan_in", "layout": "out_in"}
    assert course["rng"] == "legacy"
    epochs = [preset(n)["train"]["epochs"] for n in ("r11_cat_tanh", "r11_cat_tanh_intended", "r11_cat_course")]
    assert epochs == [3000, 3000, 2500]


@pytest.mark.parametrize("name", ["r5_mnist_perceptron_book", "r12_mnist_mse", "r10_moons_notebook"])
def test_figures_from_outside_the_tutorial_are_labelled_external(name):
    sources = [c.source for c in load_checks() if c.preset == name]
    assert sources and all(s.startswith("external") for s in sources)


def test_r9_figures_are_the_expected_failure_with_the_courses_schedule():
    checks = [c for c in load_checks() if c.preset == "r9_cat_relu"]
    assert {c.metric for c in checks} == {"final_loss", "test_accuracy"}
    assert all(c.expected_failure and "external" in c.source for c in checks)


def test_every_reference_preset_has_a_judged_figure_or_says_why_not():
    by_preset: dict[str, list] = {}
    for c in load_checks():
        by_preset.setdefault(c.preset, []).append(c)
    refs = {c.reference for cs in by_preset.values() for c in cs}
    assert refs == {f"R{i}" for i in range(1, 13)}
    for name, checks in by_preset.items():
        for c in checks:
            assert c.text, name
            if c.compare == "none" or c.value is None:
                assert c.reason, f"{name}: a figure that is not compared must say why"


@pytest.mark.parametrize("model", ["keras_mlp", "sklearn_mlp", "pybrain"])
def test_frameworks_refuse_the_engine_only_rule_by_name(model):
    from scratchbench.models.arch import resolve_optimizer

    with pytest.raises(ValueError, match="shrink_on_miss.*NumPy engine only"):
        resolve_optimizer(preset("r6_fruits_hue", f"model={model}")["optimizer"])


@pytest.mark.parametrize("name", ["r10_moons", "r10_moons_notebook"])
def test_r10_starts_from_the_texts_own_draws(name):
    """init_layers(nn_architecture, 2): np.random.seed(2), per layer randn(out, in)*0.1 then randn(out, 1)*0.1."""
    from scratchbench.scratch.network import Network

    cfg = preset(name)
    net = Network.from_config(cfg["model"], (2,), 2, seed=cfg["seed"])
    weights = net.get_weights()
    np.random.seed(2)
    for i, layer in enumerate(cfg["model"]["layers"]):
        w = np.random.randn(layer["output_dim"], layer["input_dim"]) * 0.1
        b = np.random.randn(layer["output_dim"], 1) * 0.1
        np.testing.assert_array_equal(weights[2 * i], w.T)
        np.testing.assert_array_equal(weights[2 * i + 1], b[:, 0])
