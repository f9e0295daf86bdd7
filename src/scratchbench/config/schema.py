"""Structured-config dataclasses for one run: a wrong value fails at start with the valid choices.

The schema holds types and choices, never a default: every value comes from ``conf/`` (fields
are ``MISSING``; ``None`` on an optional field means "not set"). They mirror ``conf/`` and are
registered in Hydra's ConfigStore (group ``schema``) by :func:`register`. ``conf/`` itself does not
point at them (DVC composes ``conf/`` into ``params.yaml`` without importing this package), so
:func:`scratchbench.config.validate` merges the composed config onto :class:`RunConfig` at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Dict, List, Optional

from omegaconf import MISSING


class DatasetName(str, Enum):
    mnist = "mnist"
    catvnoncat = "catvnoncat"
    fruits360 = "fruits360"
    moons = "moons"
    r1_table = "r1_table"
    xor3 = "xor3"
    xor = "xor"


class Activation(str, Enum):
    sigmoid = "sigmoid"
    tanh = "tanh"
    tanh_sigmoid_grad = "tanh_sigmoid_grad"  # R11 as written: tanh with the derivative taken from sigmoid(z)
    relu = "relu"
    leaky_relu = "leaky_relu"
    softmax = "softmax"
    linear = "linear"


class Loss(str, Enum):
    binary_crossentropy = "binary_crossentropy"
    categorical_crossentropy = "categorical_crossentropy"
    mse = "mse"
    mse_half = "mse_half"
    sse = "sse"
    sse_plain = "sse_plain"


class InitName(str, Enum):
    randn = "randn"
    randn_sqrt_fan_in = "randn_sqrt_fan_in"
    randn_sqrt_fan_out = "randn_sqrt_fan_out"
    uniform = "uniform"
    glorot_uniform = "glorot_uniform"
    glorot_normal = "glorot_normal"
    he_normal = "he_normal"
    he_uniform = "he_uniform"
    zeros = "zeros"
    constant = "constant"


class InitLayout(str, Enum):
    in_out = "in_out"
    out_in = "out_in"  # draw W as (out, in) and transpose: replays scripts that store W that way


class RngKind(str, Enum):
    default = "default"  # numpy.random.default_rng(seed)
    legacy = "legacy"  # numpy.random.RandomState(seed), as np.random.seed(seed) scripts draw


class OptimizerName(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"
    shrink_on_miss = "shrink_on_miss"  # R6 as written: w <- w - lr*w after each misclassified sample


class InputScaling(str, Enum):
    none = "none"
    unit = "unit"
    r5 = "r5"


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"


class InputKind(str, Enum):
    flat = "flat"
    image = "image"


class LayerType(str, Enum):
    dense = "dense"
    conv2d = "conv2d"
    maxpool2d = "maxpool2d"
    flatten = "flatten"
    dropout = "dropout"


class Padding(str, Enum):
    valid = "valid"
    same = "same"


class Task(str, Enum):
    train = "train"
    activations = "activations"


class ProbeKind(str, Enum):
    predict_input = "predict_input"
    final_loss = "final_loss"
    loss_monotonic = "loss_monotonic"
    max_abs_error = "max_abs_error"
    mean_abs_error = "mean_abs_error"
    first_loss = "first_loss"
    train_set_accuracy = "train_set_accuracy"
    param_dump = "param_dump"


class Compare(str, Enum):
    within = "within"  # |ours - value| <= tolerance
    at_most = "at_most"  # ours <= value + tolerance
    at_least = "at_least"  # ours >= value - tolerance
    none = "none"  # nothing to compare with: the row is "not comparable" (say why in `reason`)


@dataclass
class InitConfig:
    name: InitName = MISSING
    scale: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None
    value: Optional[float] = None
    layout: Optional[InitLayout] = None


@dataclass
class LayerConfig:
    """One layer; unset fields are dropped before the implementation sees the dict."""

    type: Optional[LayerType] = None  # None = dense
    units: Optional[int] = None
    input_dim: Optional[int] = None
    output_dim: Optional[int] = None
    activation: Optional[Activation] = None
    alpha: Optional[float] = None
    filters: Optional[int] = None
    kernel_size: Optional[Any] = None
    strides: Optional[Any] = None
    padding: Optional[Padding] = None
    pool_size: Optional[Any] = None
    rate: Optional[float] = None
    use_bias: Optional[bool] = None  # None = model.bias
    init: Optional[InitConfig] = None  # None = model.init
    bias_init: Optional[InitConfig] = None  # None = model.bias_init


@dataclass
class ModelConfig:
    name: str = MISSING  # a conf/model/<name>.yaml (checked in validate: choices come from conf/model/)
    implementation: str = MISSING  # module:Class of the Implementation
    input_kind: InputKind = MISSING
    layers: Optional[List[LayerConfig]] = MISSING
    layers_dims: Optional[List[int]] = MISSING
    hidden_activation: Activation = MISSING
    alpha: Optional[float] = MISSING  # leaky_relu slope of layers_dims' hidden layers (None: the engine's 0.01)
    output_activation: Activation = MISSING
    bias: bool = MISSING
    loss: Loss = MISSING
    init: InitConfig = MISSING
    bias_init: Optional[InitConfig] = MISSING
    dtype: DType = MISSING
    rng: RngKind = MISSING
    input_scaling: InputScaling = MISSING
    target_on: float = MISSING
    target_off: float = MISSING
    sample_caps: Dict[str, Optional[int]] = MISSING


@dataclass
class OptimizerConfig:
    name: OptimizerName = MISSING
    learning_rate: float = MISSING
    momentum: float = MISSING
    beta_1: float = MISSING
    beta_2: float = MISSING
    epsilon: float = MISSING


@dataclass
class TrainConfig:
    epochs: int = MISSING
    batch_size: Optional[int] = MISSING
    shuffle: bool = MISSING
    max_train_samples: Optional[int] = MISSING
    max_test_samples: Optional[int] = MISSING
    val_samples: Optional[int] = MISSING
    early_stopping_patience: Optional[int] = MISSING


@dataclass
class DatasetConfig:
    name: DatasetName = MISSING
    n_classes: int = MISSING


@dataclass
class ProfileConfig:
    name: str = MISSING
    max_train_samples: Optional[int] = MISSING
    max_test_samples: Optional[int] = MISSING
    max_epochs: Optional[int] = MISSING
    max_iterations: Optional[int] = MISSING
    max_sample_passes: Optional[int] = MISSING
    max_work: Optional[float] = MISSING
    max_fit_seconds: Optional[float] = MISSING  # predicted fit time bound (experiment/caps.py)
    costs: Dict[str, Dict[str, float]] = MISSING  # implementation -> seconds per run/epoch/step/sample/mac


class RecordMode(str, Enum):
    direct = "direct"
    spool = "spool"


@dataclass
class TrackingConfig:
    uri: Optional[str] = MISSING
    experiment_prefix: str = MISSING
    connect_timeout: float = MISSING
    max_curve_points: int = MISSING
    record: RecordMode = MISSING  # spool: files under the stage's output, stored by `record`


@dataclass
class ProbeConfig:
    kind: ProbeKind = ProbeKind.final_loss
    metric: str = "final_loss"
    inputs: Optional[List[Any]] = None  # rows of input values (predict_input)
    dump: Optional[Dict[str, Any]] = None  # param_dump: printed parameters, see experiment/probes.py


@dataclass
class PublishedConfig:
    """One published figure and how ours is judged against it (a row of the reproduction table)."""

    metric: Optional[str] = None  # the run metric compared
    value: Optional[float] = None
    values: Optional[List[float]] = None  # a published curve (per epoch)
    text: Optional[str] = None  # what the source says, in our words
    source: str = "tutorial"  # "tutorial", or the external book/course the figure comes from
    tolerance: float = 0.0
    compare: Compare = Compare.within
    implementations: Optional[List[str]] = None  # only these are judged; others "not comparable"
    reason: Optional[Any] = None  # why it differs / is not comparable: text, or {implementation: text}


class FigureKind(str, Enum):
    cost_curve = "cost_curve"  # training cost per iteration of `presets` (default: this one)
    published_curve = "published_curve"  # the published per-epoch `metric` against ours
    decision_boundary = "decision_boundary"  # each implementation's probability over the plane (2-D data)


@dataclass
class FigureConfig:
    """A preset-specific figure of the report (``report/build.py`` draws what presets declare)."""

    kind: FigureKind = MISSING
    file: str = MISSING  # PNG name under reports/figures/
    presets: Optional[List[str]] = None  # cost_curve: the presets overlaid
    metric: Optional[str] = None  # published_curve: the metric compared


@dataclass
class ExperimentConfig:
    name: str = MISSING
    reference: Optional[str] = MISSING
    title: Optional[str] = MISSING
    task: Task = MISSING
    variant: str = MISSING  # as written | as intended | published run | ...
    published: List[PublishedConfig] = MISSING
    note: Optional[str] = MISSING
    probes: List[ProbeConfig] = MISSING
    figures: List[FigureConfig] = MISSING
    activations: List[Activation] = MISSING
    leaky_alpha: float = MISSING
    z_min: float = MISSING
    z_max: float = MISSING
    n_points: int = MISSING


@dataclass
class RunConfig:
    """Everything one run needs (the keys ``Implementation.build`` and the runner read)."""

    seed: int = MISSING
    dataset: DatasetConfig = MISSING
    model: ModelConfig = MISSING
    optimizer: OptimizerConfig = MISSING
    train: TrainConfig = MISSING
    profile: ProfileConfig = MISSING
    tracking: TrackingConfig = MISSING
    experiment: ExperimentConfig = MISSING


RUN_KEYS: tuple[str, ...] = tuple(RunConfig.__dataclass_fields__)
