"""Config composition: every preset composes and validates, CLI model= beats the preset, bad values fail early."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scratchbench.config import ConfigError, validate
from scratchbench.config.compose import compose_run

from run_helpers import REPO, train_cli

PRESETS = {
    "r1_single_neuron": ("R1", "r1_table", "numpy_mlp"), "r2_two_layer_class": ("R2", "xor3", "numpy_mlp"),
    "r3_eleven_lines": ("R3", "xor3", "numpy_mlp"), "r4_xor": ("R4", "xor", "pybrain"),
    "r5_mnist_perceptron": ("R5", "mnist", "numpy_mlp"), "r6_fruits_hue": ("R6", "fruits360", "numpy_mlp"),
    "r7_mnist_cnn": ("R7", "mnist", "keras_cnn"), "r7_mnist_cnn_pool": ("R7", "mnist", "keras_cnn"),
    "r8_activations": ("R8", "moons", "numpy_mlp"), "r9_cat_relu": ("R9", "catvnoncat", "numpy_mlp"),
    "r10_moons": ("R10", "moons", "numpy_mlp"), "r11_cat_tanh": ("R11", "catvnoncat", "numpy_mlp"),
    "r12_mnist_mse": ("R12", "mnist", "numpy_mlp"),
    "r10_moons_notebook": ("R10", "moons", "numpy_mlp"),  # the notebook's wider network (variant)
    # variants where what the text wrote, meant or printed part ways
    "r1_single_neuron_outputs": ("R1", "r1_table", "numpy_mlp"),
    "r5_mnist_perceptron_book": ("R5", "mnist", "numpy_mlp"),
    "r6_fruits_hue_backprop": ("R6", "fruits360", "numpy_mlp"),
    "r11_cat_tanh_intended": ("R11", "catvnoncat", "numpy_mlp"),
    "r11_cat_course": ("R11", "catvnoncat", "numpy_mlp"),
}


def test_preset_files_are_exactly_the_contract_names() -> None:
    names = {p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml")}
    assert names == set(PRESETS) | {"adhoc"}
    contract = {f"r{i}_" for i in range(1, 13)}
    assert all(any(n.startswith(c) for n in names) for c in contract)  # every reference experiment has its preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_composes_validates_and_stores_its_published_figure(name: str) -> None:
    ref, dataset, impl = PRESETS[name]
    cfg = validate(compose_run([f"experiment={name}"], root=REPO))
    assert (cfg["experiment"]["name"], cfg["experiment"]["reference"]) == (name, ref)
    assert (cfg["dataset"]["name"], cfg["model"]["name"]) == (dataset, impl)
    assert cfg["experiment"]["variant"]
    for pub in cfg["experiment"]["published"]:
        assert pub["text"] and pub["metric"], "each figure says what it is and which metric it is judged on"
        if pub["value"] is not None:
            assert isinstance(pub["value"], float)
    if cfg["experiment"]["task"] == "train":
        assert cfg["model"]["layers"] or cfg["model"]["layers_dims"]


def test_preset_specifics_match_the_reference_text() -> None:
    r11 = validate(compose_run(["experiment=r11_cat_tanh"], root=REPO))
    assert r11["model"]["layers_dims"] == [12288, 20, 7, 5, 1]
    assert r11["model"]["hidden_activation"] == "tanh_sigmoid_grad"
    assert (r11["optimizer"]["learning_rate"], r11["train"]["epochs"], r11["seed"]) == (0.0075, 3000, 1)
    r1 = validate(compose_run(["experiment=r1_single_neuron"], root=REPO))
    assert r1["experiment"]["probes"][0]["metric"] == "new_input_prediction"
    assert r1["experiment"]["probes"][0]["inputs"] == [[1, 0, 0]]
    pool = validate(compose_run(["experiment=r7_mnist_cnn_pool"], root=REPO))
    assert len(pool["experiment"]["published"][0]["values"]) == pool["train"]["epochs"] == 10


def test_cli_model_override_beats_the_presets_override() -> None:
    cfg = validate(compose_run(["experiment=r10_moons", "model=keras_mlp"], root=REPO))
    assert cfg["model"]["name"] == "keras_mlp"
    # the preset's architecture still applies to the swapped-in implementation
    assert cfg["model"]["layers"][0] == {"input_dim": 2, "output_dim": 4, "activation": "relu"}
    cnn = validate(compose_run(["experiment=r7_mnist_cnn", "model=numpy_cnn"], root=REPO))
    assert cnn["model"]["name"] == "numpy_cnn" and cnn["model"]["input_kind"] == "image"
    assert cnn["model"]["layers"][0]["type"] == "conv2d"


@pytest.mark.parametrize("override,expect", [
    ("model.loss=hinge",
     "expected one of [binary_crossentropy, categorical_crossentropy, mse, mse_half, sse, sse_plain]"),
    ("optimizer.name=rmsprop", "expected one of [sgd, momentum, adam, shrink_on_miss]"),
    ("model.layers=[{units:3,activation:swish}]",
     "sigmoid, tanh, tanh_sigmoid_grad, relu, leaky_relu, softmax, linear"),
    ("+model.colour=red", "Key 'colour' not in 'ModelConfig'"),
])
def test_wrong_values_fail_naming_key_and_valid_choices(override: str, expect: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate(compose_run([override], root=REPO))
    assert expect in str(err.value)


def test_cli_rejects_bad_value_and_unknown_group_before_training(fresh_root: Path) -> None:
    bad = train_cli(fresh_root, "model.dtype=float16", check=False)
    assert bad.returncode == 2
    assert "model.dtype" in bad.stderr and "float32, float64" in bad.stderr
    layer = train_cli(fresh_root, "model.layers=[{type:dense,units:4,activation:reluu},{units:1,activation:sigmoid}]",
                      check=False)
    assert layer.returncode == 2 and "Traceback" not in layer.stderr  # one clear line, exit 2
    assert layer.stderr.strip().splitlines()[-1].startswith("error: ") and "reluu" in layer.stderr
    unknown = train_cli(fresh_root, "experiment=r99_nope", check=False)
    assert unknown.returncode != 0 and "r11_cat_tanh" in unknown.stderr  # Hydra lists the valid presets
    assert not (fresh_root / "mlflow.db").exists(), "nothing is written before the config is valid"


def test_params_yaml_is_the_composition_of_conf(tmp_path: Path) -> None:
    """params.yaml is generated from conf/ (DVC Hydra composition): hand edits would be lost by `dvc exp run`."""
    from scratchbench.config.compose import compose_params

    out = compose_params(root=REPO, out=tmp_path / "params.yaml")
    composed = yaml.safe_load(out.read_text())
    committed = yaml.safe_load((REPO / "params.yaml").read_text())
    assert composed == committed, (
        "params.yaml drifted from conf/: edit conf/ and run `python -m scratchbench.config.compose`")
    assert {"fetch", "featurize", "train_matrix", "profile", "model"} <= set(committed)


@pytest.mark.parametrize("launcher,target", [
    ("basic", "BasicLauncher"), ("joblib", "JoblibLauncher"),
    ("submitit_local", "LocalLauncher"), ("submitit_slurm", "SlurmLauncher"),
])
def test_every_launcher_choice_composes_with_the_sweep_callback(launcher: str, target: str) -> None:
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(str(REPO / "conf"), version_base=None):
        cfg = compose("config", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith(target)
    assert cfg.hydra.callbacks.mlflow_sweep._target_ == "scratchbench.tracking.callback.MlflowSweepCallback"
    assert cfg.hydra.job.chdir is False  # runs never move the cwd; store paths are absolute anyway


def test_every_train_matrix_entry_composes_and_validates() -> None:
    """Each DVC train stage's preset x model (+ overrides) composes; a typo'd override fails here, not mid-pipeline."""
    matrix = yaml.safe_load((REPO / "params.yaml").read_text())["train_matrix"]
    for key, item in matrix.items():
        cfg = validate(compose_run([f"experiment={item['experiment']}", f"model={item['model']}",
                                    *item.get("overrides", [])], root=REPO))
        assert cfg["dataset"]["name"] == item["dataset"], key
    for key in ("r10_moons-keras_mlp", "r10_moons_notebook-keras_mlp"):  # the tutorial's Keras defaults
        item = matrix[key]
        cfg = compose_run([f"experiment={item['experiment']}", f"model={item['model']}", *item["overrides"]], root=REPO)
        assert cfg["model"]["init"] == {"name": "glorot_uniform"} and cfg["model"]["bias_init"] == {"name": "zeros"}
        assert (cfg["train"]["batch_size"], cfg["train"]["shuffle"], cfg["train"]["epochs"]) == (32, True, 200)
