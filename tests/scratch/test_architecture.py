"""Config -> canonical layers: both seed styles, shape chaining, and errors that name the field."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.scratch.architecture import ArchitectureError, normalize_layers
from scratchbench.scratch.initializers import INITIALIZERS, initialize
from scratchbench.scratch.network import Network

R10 = [
    {"input_dim": 2, "output_dim": 4, "activation": "relu"},
    {"input_dim": 4, "output_dim": 6, "activation": "relu"},
    {"input_dim": 6, "output_dim": 6, "activation": "relu"},
    {"input_dim": 6, "output_dim": 4, "activation": "relu"},
    {"input_dim": 4, "output_dim": 1, "activation": "sigmoid"},
]


def test_r10_layer_dicts_and_r11_layers_dims():
    layers = normalize_layers({"layers": R10, "loss": "binary_crossentropy"}, (2,), 2)
    assert [layer["units"] for layer in layers] == [4, 6, 6, 4, 1]
    assert [layer["input_shape"] for layer in layers] == [[2], [4], [6], [6], [4]]
    assert layers[-1]["activation"] == "sigmoid" and layers[0]["use_bias"] is True
    r11 = normalize_layers({"layers_dims": [12288, 20, 7, 5, 1], "hidden_activation": "tanh",
                            "output_activation": "sigmoid", "init": {"name": "randn", "scale": 0.01}}, (12288,), 2)
    assert [(layer["units"], layer["activation"]) for layer in r11] == [
        (20, "tanh"), (7, "tanh"), (5, "tanh"), (1, "sigmoid")]
    assert r11[0]["init"] == {"name": "randn", "scale": 0.01} and r11[0]["bias_init"] == {"name": "zeros"}


def test_r10_init_randn_for_weights_and_biases():
    cfg = {"layers": R10, "loss": "binary_crossentropy", "dtype": "float64", "init": {"name": "randn", "scale": 0.1},
           "bias_init": {"name": "randn", "scale": 0.1}}
    net = Network.from_config(cfg, (2,), 2, seed=2)
    rng = np.random.default_rng(2)
    expected = []
    for n_in, n_out in [(2, 4), (4, 6), (6, 6), (6, 4), (4, 1)]:  # layer by layer, W then b
        expected += [rng.standard_normal((n_in, n_out)) * 0.1, rng.standard_normal(n_out) * 0.1]
    for got, want in zip(net.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_binary_outputs_image_flatten_and_conv_shapes():
    two = normalize_layers({"layers": [{"units": 2, "activation": "softmax"}]}, (5,), 2)
    one = normalize_layers({"layers": [{"units": 1, "activation": "sigmoid"}]}, (5,), 2)
    assert two[-1]["units"] == 2 and one[-1]["units"] == 1
    flat = normalize_layers({"layers": [{"units": 10, "activation": "softmax"}]}, (28, 28, 1), 10)
    assert flat[0] == {"type": "flatten", "input_shape": [28, 28, 1], "output_shape": [784]}
    cnn = normalize_layers({"layers": [
        {"type": "conv2d", "filters": 64, "kernel_size": 3, "activation": "relu"},
        {"type": "maxpool2d"},
        {"type": "conv2d", "filters": 128, "kernel_size": 3, "activation": "relu"},
        {"type": "flatten"}, {"type": "dropout", "rate": 0.5},
        {"units": 10, "activation": "softmax"}]}, (28, 28, 1), 10)
    assert [layer["output_shape"] for layer in cnn] == [
        [26, 26, 64], [13, 13, 64], [11, 11, 128], [15488], [15488], [10]]
    same = normalize_layers({"layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
        {"units": 3}]}, (7, 7, 1), 3)
    assert same[0]["output_shape"] == [4, 4, 4] and same[1]["type"] == "flatten"


def test_image_input_dense_network_trains():
    cfg = {"layers": [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
           "input_scaling": "unit"}
    net = Network.from_config(cfg, (4, 4, 1), 3, 0)
    x = np.random.default_rng(0).integers(0, 256, (30, 4, 4, 1)).astype(np.uint8)
    hist = net.fit(x, np.arange(30) % 3, epochs=2, batch_size=8)
    assert len(hist) == 2 and net.predict(x).shape == (30,)


@pytest.mark.parametrize(
    "cfg,input_shape,n_out,message",
    [
        ({"layers": [{"input_dim": 3, "output_dim": 4}, {"input_dim": 5, "output_dim": 1}]}, (3,), 1,
         r"model.layers\[1\].input_dim: 5 does not match layer 0's output \(4\)"),
        ({"layers": [{"input_dim": 3, "output_dim": 4}]}, (2,), 4,
         r"model.layers\[0\].input_dim: 3 does not match the data's features \(2\)"),
        ({"layers_dims": [3, 4, 1]}, (5,), 2,
         r"model.layers_dims\[0\].input_dim: 3 does not match the data's features \(5\)"),
        ({"layers": [{"units": 4, "activation": "swish"}]}, (3,), 4,
         r"model.layers\[0\].activation: unknown activation 'swish'; "
         r"valid names: sigmoid, tanh, tanh_sigmoid_grad, relu, leaky_relu, softmax, linear"),
        ({"layers": [{"units": 4}], "loss": "hinge"}, (3,), 4,
         r"model.loss: unknown loss 'hinge'; valid names: binary_crossentropy, "),
        ({"layers": [{"units": 4}]}, (3,), 10,
         r"model.layers\[0\].units: last layer has 4 units but the data needs 10"),
        ({"layers": [{"units": 3}]}, (3,), 2,
         r"last layer has 3 units but the data needs 1 \(sigmoid\) or 2 \(softmax\)"),
        ({"layers": [{"type": "lstm", "units": 4}]}, (3,), 4,
         r"model.layers\[0\].type: unknown layer type 'lstm'; valid types: dense, conv2d"),
        ({"layers": [{"units": 4, "init": {"name": "orthogonal"}}]}, (3,), 4,
         r"model.layers\[0\].init: unknown initializer 'orthogonal'; valid names:"),
        ({"layers": [{"units": 4, "kernel": 3}]}, (3,), 4, r"model.layers\[0\]: unknown field\(s\) \['kernel'\]"),
        ({"layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3}]}, (12,), 4,
         r"model.layers\[0\]: conv2d needs image inputs"),
        ({"layers": [{"units": 4}], "layers_dims": [3, 4]}, (3,), 4, r"either 'layers' or 'layers_dims'"),
        ({"layers": [{"units": 1, "activation": "sigmoid"}], "loss": "categorical_crossentropy"}, (3,), 2,
         r"needs >= 2 output units"),
        ({}, (3,), 2, r"no architecture"),
    ],
)
def test_errors_name_the_layer_and_field(cfg, input_shape, n_out, message):
    with pytest.raises(ArchitectureError, match=message):
        normalize_layers(cfg, input_shape, n_out)


def test_network_option_errors():
    base = {"layers": [{"units": 2, "activation": "softmax"}]}
    with pytest.raises(ValueError, match="model.dtype: unknown dtype 'float16'"):
        Network.from_config({**base, "dtype": "float16"}, (3,), 2, 0)
    with pytest.raises(ValueError, match="model.input_scaling"):
        Network.from_config({**base, "input_scaling": "minmax"}, (3,), 2, 0)


def test_initializers_ranges_and_errors():
    rng = np.random.default_rng(0)
    u = initialize({"name": "uniform", "low": -0.5, "high": 0.5}, (200, 50), 200, 50, rng, np.float32)
    assert u.dtype == np.float32 and u.min() >= -0.5 and u.max() < 0.5 and abs(u.mean()) < 0.01
    g = initialize({"name": "glorot_uniform"}, (200, 50), 200, 50, rng, np.float64)
    assert np.abs(g).max() <= np.sqrt(6 / 250)
    for name in ("glorot_normal", "he_normal"):
        t = initialize(name, (400, 100), 400, 100, rng, np.float64)
        std = np.sqrt(2 / 500) if name == "glorot_normal" else np.sqrt(2 / 400)
        assert abs(t.std() / std - 1) < 0.05 and np.abs(t).max() <= 2 * std / 0.8796 + 1e-12
    assert np.all(initialize("zeros", (3,), 1, 3, rng) == 0)
    r = initialize({"name": "randn", "scale": 0.01}, (1000,), 1, 1, np.random.default_rng(1), np.float64)
    np.testing.assert_array_equal(r, np.random.default_rng(1).standard_normal(1000) * 0.01)
    for name, fan in (("randn_sqrt_fan_in", 400), ("randn_sqrt_fan_out", 100)):  # the R11 course run, the R5 book
        w = initialize(name, (400, 100), 400, 100, np.random.default_rng(2), np.float64)
        np.testing.assert_array_equal(w, np.random.default_rng(2).standard_normal((400, 100)) / np.sqrt(fan))
    assert set(INITIALIZERS) >= {"randn", "uniform", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                                 "zeros"}
    with pytest.raises(ValueError, match=r"initializer 'randn' got unknown parameter\(s\) \['std'\]"):
        initialize({"name": "randn", "std": 1}, (2,), 1, 1, rng)


def test_r10_legacy_out_in_layout_replays_the_notebook_draws():
    # the R10 notebook: np.random.seed(2); W = randn(out, in) * 0.1; b = randn(out, 1) * 0.1, layer by layer
    spec = {"name": "randn", "scale": 0.1, "layout": "out_in"}
    cfg = {"layers": R10, "loss": "binary_crossentropy", "dtype": "float64", "rng": "legacy", "init": spec,
           "bias_init": spec}
    net = Network.from_config(cfg, (2,), 2, seed=2)
    np.random.seed(2)
    expected = []
    for n_in, n_out in [(2, 4), (4, 6), (6, 6), (6, 4), (4, 1)]:
        expected += [(np.random.randn(n_out, n_in) * 0.1).T, (np.random.randn(n_out, 1) * 0.1).ravel()]
    for got, want in zip(net.get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="layout must be 'in_out' or 'out_in'"):
        initialize({"name": "zeros", "layout": "nhwc"}, (2, 2), 2, 2, np.random.default_rng(0))


def test_structured_config_shapes_are_accepted():
    # what a Hydra structured config hands over: unset fields as None, names as str enums
    from enum import Enum

    class Act(str, Enum):
        relu = "relu"
        softmax = "softmax"

    cfg = {"layers": [{"type": None, "units": 4, "activation": Act.relu, "alpha": None},
                      {"units": 3, "activation": Act.softmax, "rate": None}],
           "init": {"name": "uniform", "scale": None, "low": -0.5, "high": 0.5}, "bias_init": None,
           "hidden_activation": "relu", "output_activation": "sigmoid", "layers_dims": None, "dtype": "float64"}
    net = Network.from_config(cfg, (2,), 3, 0)
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Activation", "Dense", "Activation"]
    assert net.layers[1].name == "relu" and np.abs(net.get_weights()[0]).max() <= 0.5
