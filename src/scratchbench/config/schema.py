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
    name: InitName = InitName.glorot_uniform
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
    rng: RngKind = RngKind.default
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
    max_fit_seconds: Optional[float] = None  # predicted fit time bound (experiment/caps.py)
    costs: Dict[str, Dict[str, float]] = field(default_factory=dict)  # implementation -> seconds per epoch/step/sample/mac


class RecordMode(str, Enum):
    direct = "direct"
    spool = "spool"


@dataclass
class TrackingConfig:
    uri: Optional[str] = None
    experiment_prefix: str = "scratchbench"
    connect_timeout: float = 5.0
    max_curve_points: int = 2000
    record: RecordMode = RecordMode.direct  # spool: files under the stage's output, stored by `record`


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


@dataclass
class ExperimentConfig:
    name: str = "adhoc"
    reference: Optional[str] = None
    title: Optional[str] = None
    task: Task = Task.train
    variant: str = "as written"  # as written | as intended | published run | ...
    published: List[PublishedConfig] = field(default_factory=list)
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
