"""Every option the engine accepts can be set from ``conf/`` and reaches the built network.

Real Hydra composition of ``conf/`` (no hand-made dicts), then ``validate`` and the registry's
implementation builds the network; the assertions read the scratch layers themselves.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from omegaconf import MISSING

from scratchbench.config import ConfigError, schema, validate
from scratchbench.config.compose import compose_run
from scratchbench.models.base import DataSpec
from scratchbench.models.registry import get_implementation
from scratchbench.scratch.conv import Conv2D
from scratchbench.scratch.layers import Dense

REPO = Path(__file__).resolve().parents[2]


def built(*overrides: str, input_shape=(2,), image_shape=None):
    cfg = validate(compose_run(["experiment=adhoc", *overrides], root=REPO))
    impl = get_implementation(cfg["model"]["name"])
    spec = DataSpec(cfg["dataset"]["name"], tuple(input_shape), cfg["dataset"]["n_classes"], ("a", "b"), image_shape)
    impl.build(cfg, spec)
    return cfg, impl.net


def dense_layers(net) -> list[Dense]:
    return [layer for layer in net.layers if isinstance(layer, Dense)]


def test_rng_legacy_layout_out_in_constant_and_per_layer_inits_reach_the_dense_layers():
    layers = ("model.layers=[{type:dense,units:3,activation:tanh,init:{name:constant,value:0.25},"
              "bias_init:{name:constant,value:-0.5}},{type:dense,units:2,activation:softmax,use_bias:false}]")
    cfg, net = built("model=numpy_mlp", "dataset=moons", "seed=7", "model.rng=legacy", "model.dtype=float64",
                     "model.init.name=randn", "+model.init.scale=0.5", "+model.init.layout=out_in", layers)
    assert cfg["model"]["layers"][0]["init"] == {"name": "constant", "value": 0.25}
    first, second = dense_layers(net)
    np.testing.assert_array_equal(first.params["W"], np.full((2, 3), 0.25))
    np.testing.assert_array_equal(first.params["b"], np.full(3, -0.5))
    assert first.use_bias and not second.use_bias and "b" not in second.params
    # constant draws nothing, so the second layer's W is the legacy stream's first draw, made (out, in)
    expected = np.random.RandomState(7).randn(2, 3).T * 0.5
    np.testing.assert_array_equal(second.params["W"], expected)


def test_rng_default_differs_from_legacy_for_the_same_seed():
    _, legacy = built("model=numpy_mlp", "seed=7", "model.rng=legacy", "model.dtype=float64")
    _, default = built("model=numpy_mlp", "seed=7", "model.rng=default", "model.dtype=float64")
    assert not np.allclose(dense_layers(legacy)[0].params["W"], dense_layers(default)[0].params["W"])


def test_conv_layers_take_per_layer_init_bias_init_and_use_bias():
    layers = ("model.layers=[{type:conv2d,filters:2,kernel_size:3,padding:same,activation:relu,"
              "init:{name:constant,value:0.125},bias_init:{name:constant,value:0.5}},"
              "{type:conv2d,filters:1,kernel_size:3,activation:relu,use_bias:false},{type:flatten},"
              "{type:dense,units:2,activation:softmax}]")
    _, net = built("model=numpy_cnn", "dataset=mnist", "dataset.n_classes=2", layers,
                   input_shape=(6, 6, 1), image_shape=(6, 6, 1))
    convs = [layer for layer in net.layers if isinstance(layer, Conv2D)]
    assert len(convs) == 2
    np.testing.assert_array_equal(convs[0].params["W"], np.full_like(convs[0].params["W"], 0.125))
    np.testing.assert_array_equal(convs[0].params["b"], np.full(2, 0.5))
    assert convs[0].use_bias and not convs[1].use_bias


def test_model_alpha_sets_the_leaky_relu_slope_of_layers_dims():
    _, net = built("model=numpy_mlp", "model.layers=null", "model.layers_dims=[2,4,2]",
                   "model.hidden_activation=leaky_relu", "model.output_activation=softmax", "model.alpha=0.2")
    hidden = [layer for layer in net.layers if getattr(layer, "name", None) == "leaky_relu"]
    assert hidden and all(layer.act_params == {"alpha": 0.2} for layer in hidden)


def test_a_typo_in_a_per_layer_init_names_the_field_and_the_choices():
    with pytest.raises(ConfigError, match=r"model.layers\[0\].init.name.*glorot_uniform"):
        built("model=numpy_mlp", "model.layers=[{type:dense,units:2,activation:softmax,init:{name:glorot}}]")


OWNED_BY_CONF = (schema.RunConfig, schema.ModelConfig, schema.OptimizerConfig, schema.TrainConfig,
                 schema.DatasetConfig, schema.ProfileConfig, schema.TrackingConfig, schema.ExperimentConfig)


@pytest.mark.parametrize("node", OWNED_BY_CONF, ids=lambda n: n.__name__)
def test_the_schema_holds_no_default_that_conf_owns(node):
    """A default lives in conf/ only: every field of a section conf/ sets is MISSING in the schema."""
    with_default = [f.name for f in dataclasses.fields(node)
                    if f.default is not MISSING or f.default_factory is not dataclasses.MISSING]
    assert with_default == [], f"{node.__name__} carries defaults for {with_default}; set them in conf/"


def test_a_key_conf_does_not_set_is_reported_by_name():
    cfg = compose_run(["experiment=adhoc"], root=REPO)
    del cfg["train"]["epochs"]
    with pytest.raises(ConfigError, match=r"train.epochs"):
        validate(cfg)
