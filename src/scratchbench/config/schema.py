"""Structured-config dataclasses for one run: a wrong value fails at start with the valid choices.

They mirror ``conf/`` and are registered in Hydra's ConfigStore (group ``schema``) by
:func:`register`. ``conf/`` itself does not point at them (DVC composes ``conf/`` into
``params.yaml`` without importing this package), so :func:`scratchbench.config.validate`
merges the composed config onto :class:`RunConfig` at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional


class ModelName(str, Enum):
    numpy_mlp = "numpy_mlp"
    numpy_cnn = "numpy_cnn"
    keras_mlp = "keras_mlp"
    keras_cnn = "keras_cnn"
    sklearn_mlp = "sklearn_mlp"
    pybrain = "pybrain"


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


class InitName(str, Enum):
    randn = "randn"
    uniform = "uniform"
    glorot_uniform = "glorot_uniform"
    glorot_normal = "glorot_normal"
    he_normal = "he_normal"
    he_uniform = "he_uniform"
    zeros = "zeros"


class OptimizerName(str, Enum):
    sgd = "sgd"
    momentum = "momentum"
    adam = "adam"


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


@dataclass
class InitConfig:
    name: InitName = InitName.glorot_uniform
    scale: Optional[float] = None
    low: Optional[float] = None
    high: Optional[float] = None


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


@dataclass
class ModelConfig:
    name: ModelName = ModelName.numpy_mlp
    input_kind: InputKind = InputKind.flat
    layers: Optional[List[LayerConfig]] = None
    layers_dims: Optional[List[int]] = None
    hidden_activation: Activation = Activation.relu
    output_activation: Activation = Activation.sigmoid
    bias: bool = True
    loss: Loss = Loss.categorical_crossentropy
    init: InitConfig = field(default_factory=InitConfig)
    bias_init: Optional[InitConfig] = None
    dtype: DType = DType.float32
    input_scaling: InputScaling = InputScaling.unit
    target_on: float = 1.0
    target_off: float = 0.0
    sample_caps: Dict[str, Optional[int]] = field(default_factory=dict)


@dataclass
class OptimizerConfig:
    name: OptimizerName = OptimizerName.sgd
    learning_rate: float = 0.01
    momentum: float = 0.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1.0e-7


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: Optional[int] = 32
    shuffle: bool = True
    max_train_samples: Optional[int] = None
    max_test_samples: Optional[int] = None
    val_samples: Optional[int] = None
    early_stopping_patience: Optional[int] = None


@dataclass
class DatasetConfig:
    name: DatasetName = DatasetName.moons
    n_classes: int = 2


@dataclass
class ProfileConfig:
    name: str = "quick"
    max_train_samples: Optional[int] = None
    max_test_samples: Optional[int] = None
    max_epochs: Optional[int] = None
    max_iterations: Optional[int] = None
    max_sample_passes: Optional[int] = None
    max_work: Optional[float] = None


@dataclass
class TrackingConfig:
    uri: Optional[str] = None
    experiment_prefix: str = "scratchbench"
    connect_timeout: float = 5.0
    max_curve_points: int = 2000


@dataclass
class ProbeConfig:
    kind: ProbeKind = ProbeKind.final_loss
    metric: str = "final_loss"
    inputs: Optional[List[Any]] = None  # rows of input values


@dataclass
class PublishedConfig:
    metric: Optional[str] = None
    value: Optional[float] = None
    values: Optional[List[float]] = None
    text: Optional[str] = None


@dataclass
class ExperimentConfig:
    name: str = "adhoc"
    reference: Optional[str] = None
    title: Optional[str] = None
    task: Task = Task.train
    published: PublishedConfig = field(default_factory=PublishedConfig)
    note: Optional[str] = None
    probes: List[ProbeConfig] = field(default_factory=list)
    activations: List[Activation] = field(default_factory=lambda: [Activation.sigmoid, Activation.tanh, Activation.relu, Activation.leaky_relu])
    leaky_alpha: float = 0.01
    z_min: float = -10.0
    z_max: float = 10.0
    n_points: int = 2001


@dataclass
class RunConfig:
    """Everything one run needs (the keys ``Implementation.build`` and the runner read)."""

    seed: int = 0
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)


RUN_KEYS: tuple[str, ...] = tuple(RunConfig.__dataclass_fields__)
