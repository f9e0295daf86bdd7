"""Architecture from config: normalise the two seed styles into one canonical layer list.

Pure Python (the framework baselines reuse it). Accepted input styles:

- ``layers``: list of dicts; ``type`` defaults to ``dense``. Dense takes ``units`` or
  ``output_dim`` (R10), optional ``input_dim`` (checked), ``activation`` (default linear),
  ``alpha`` (leaky_relu), ``use_bias``, ``init``, ``bias_init``. Also ``conv2d``
  ``{filters, kernel_size, strides=1, padding=valid, activation}``, ``maxpool2d``
  ``{pool_size=2, strides=None}``, ``flatten``, ``dropout {rate}``.
- ``layers_dims`` (R11): ``[n_in, h1, ..., n_out]`` + ``hidden_activation`` /
  ``output_activation``.

Canonical entries always carry ``type``, ``input_shape`` and ``output_shape`` (lists);
dense adds ``units, activation, use_bias, init, bias_init`` (+ ``alpha`` for leaky_relu),
conv2d adds ``filters, kernel_size [k,k], strides [s,s], padding, activation, use_bias,
init, bias_init``, maxpool2d ``pool_size [p,p], strides [s,s]``, dropout ``rate``. A
``flatten`` entry is inserted wherever a dense layer meets a multi-dimensional input.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .activations import ACTIVATION_PARAMS, check_activation
from .conv_reference import PADDINGS, conv_geometry
from .initializers import check_spec
from .losses import check_loss

LAYER_TYPES = ("dense", "conv2d", "maxpool2d", "flatten", "dropout")
_ALIASES = {
    "conv": "conv2d", "conv2d": "conv2d", "maxpooling2d": "maxpool2d", "maxpool": "maxpool2d", "linear": "dense",
}
_KEYS = {
    "dense": {"type", "units", "output_dim", "input_dim", "activation", "alpha", "use_bias", "bias", "init",
              "bias_init"},
    "conv2d": {"type", "filters", "kernel_size", "strides", "padding", "activation", "alpha", "use_bias", "bias",
               "init", "bias_init"},
    "maxpool2d": {"type", "pool_size", "strides"},
    "flatten": {"type"},
    "dropout": {"type", "rate"},
}
DEFAULT_INIT = {"name": "glorot_uniform"}
DEFAULT_BIAS_INIT = {"name": "zeros"}


class ArchitectureError(ValueError):
    """A model config that does not describe a valid network for the data."""


def _pair(value: Any, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value)):
        raise ArchitectureError(f"{where}: expected a positive int or a pair of them, got {value!r}")
    return [int(v) for v in value]


def _positive_int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArchitectureError(f"{where}: expected a positive integer, got {value!r}")
    return value


def _output_hw(shape: list[int], kernel: list[int], strides: list[int], padding: str, where: str) -> list[int]:
    """Output (H, W) of a conv/pool window, by the same rule the layers use."""
    try:
        return list(conv_geometry(tuple(shape[:2]), tuple(kernel), tuple(strides), padding)[0])
    except ValueError:
        raise ArchitectureError(f"{where}: {kernel} is larger than the input {shape[:2]}") from None


def _activation(spec: Mapping[str, Any], where: str, default: str = "linear") -> dict[str, Any]:
    name = getattr(spec.get("activation"), "value", spec.get("activation")) or default
    params = {k: spec[k] for k in ACTIVATION_PARAMS.get(str(name), set()) if spec.get(k) is not None}
    try:
        check_activation(name, params, where=f"{where}.activation")
    except ValueError as exc:
        raise ArchitectureError(str(exc)) from None
    out: dict[str, Any] = {"activation": name}
    if name == "leaky_relu":
        out["alpha"] = float(params.get("alpha", 0.01))
    return out


def _inits(spec: Mapping[str, Any], model_cfg: Mapping[str, Any], where: str) -> dict[str, Any]:
    init_cfg = model_cfg.get("init") or DEFAULT_INIT
    if isinstance(init_cfg, Mapping):
        init_cfg = dict(init_cfg)
        nested_bias = init_cfg.pop("bias_init", None)
    else:
        nested_bias = None
    bias_cfg = model_cfg.get("bias_init") or nested_bias or DEFAULT_BIAS_INIT
    try:
        return {
            "init": check_spec(spec.get("init") or init_cfg, f"{where}.init"),
            "bias_init": check_spec(spec.get("bias_init") or bias_cfg, f"{where}.bias_init"),
        }
    except ValueError as exc:
        raise ArchitectureError(str(exc)) from None


def _use_bias(spec: Mapping[str, Any], model_cfg: Mapping[str, Any]) -> bool:
    for key in ("use_bias", "bias"):
        if spec.get(key) is not None:
            return bool(spec[key])
    return bool(model_cfg.get("bias", True))


def _from_layers_dims(model_cfg: Mapping[str, Any]) -> list[dict[str, Any]]:
    dims = model_cfg["layers_dims"]
    if not isinstance(dims, (list, tuple)) or len(dims) < 2:
        raise ArchitectureError(f"model.layers_dims: expected a list [n_in, ..., n_out] of at least 2 sizes, "
                                f"got {dims!r}")
    for i, d in enumerate(dims):
        _positive_int(d, f"model.layers_dims[{i}]")
    hidden = getattr(model_cfg.get("hidden_activation"), "value", model_cfg.get("hidden_activation")) or "relu"
    output = getattr(model_cfg.get("output_activation"), "value", model_cfg.get("output_activation")) or "sigmoid"
    specs = []
    for i, units in enumerate(dims[1:]):
        last = i == len(dims) - 2
        spec = {"type": "dense", "units": units, "activation": output if last else hidden}
        if i == 0:
            spec["input_dim"] = dims[0]
        if model_cfg.get("alpha") is not None:
            spec["alpha"] = model_cfg["alpha"]
        specs.append(spec)
    return specs


def normalize_layers(model_cfg: Mapping[str, Any], input_shape: tuple[int, ...],
                     n_outputs: int) -> list[dict[str, Any]]:
    """Check the architecture in ``model_cfg`` against the data and return canonical layer dicts.

    ``n_outputs`` is the number of classes (or target columns). For a binary problem
    (``n_outputs == 2``) a last layer of 1 unit (sigmoid) or 2 units (softmax) is accepted.
    Errors name the layer index and field and list the valid names.
    """
    layers_cfg = model_cfg.get("layers")
    dims = model_cfg.get("layers_dims")
    if layers_cfg and dims:
        raise ArchitectureError("model: give either 'layers' or 'layers_dims', not both")
    if dims:
        specs = _from_layers_dims(model_cfg)
        prefix = "model.layers_dims"
    elif layers_cfg:
        if not isinstance(layers_cfg, (list, tuple)):
            raise ArchitectureError(f"model.layers: expected a list of layer dicts, got {type(layers_cfg).__name__}")
        specs = list(layers_cfg)
        prefix = "model.layers"
    else:
        raise ArchitectureError("model: no architecture; set 'layers' (list of layer dicts) or 'layers_dims'")
    if model_cfg.get("loss") is not None:
        try:
            check_loss(model_cfg["loss"], where="model.loss")
        except ValueError as exc:
            raise ArchitectureError(str(exc)) from None

    shape = [int(s) for s in input_shape]
    if not shape or any(s <= 0 for s in shape):
        raise ArchitectureError(f"input_shape: expected positive sizes, got {tuple(input_shape)}")
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        where = f"{prefix}[{i}]"
        if not isinstance(spec, Mapping):
            raise ArchitectureError(f"{where}: expected a dict, got {spec!r}")
        spec = {k: getattr(v, "value", v) for k, v in spec.items() if v is not None}  # unset fields / enums -> plain
        raw_type = str(spec.get("type", "dense")).lower()
        kind = _ALIASES.get(raw_type, raw_type)
        if kind not in LAYER_TYPES:
            raise ArchitectureError(f"{where}.type: unknown layer type {spec.get('type')!r}; "
                                    f"valid types: {', '.join(LAYER_TYPES)}")
        unknown = set(spec) - _KEYS[kind]
        if unknown:
            raise ArchitectureError(f"{where}: unknown field(s) {sorted(unknown)} for a {kind} layer; "
                                    f"allowed: {sorted(_KEYS[kind])}")
        layer: dict[str, Any] = {"type": kind}
        if kind == "dense":
            if len(shape) > 1:
                flat = math.prod(shape)
                out.append({"type": "flatten", "input_shape": list(shape), "output_shape": [flat]})
                shape = [flat]
            units, odim = spec.get("units"), spec.get("output_dim")
            if units is not None and odim is not None and units != odim:
                raise ArchitectureError(f"{where}: 'units' ({units}) and 'output_dim' ({odim}) disagree")
            units = units if units is not None else odim
            if units is None:
                raise ArchitectureError(f"{where}.units: missing (give 'units' or 'output_dim')")
            units = _positive_int(units, f"{where}.units")
            if spec.get("input_dim") is not None and spec["input_dim"] != shape[0]:
                from_data = not out or all(o["type"] == "flatten" for o in out)
                src = "the data's features" if from_data else f"layer {i - 1}'s output"
                raise ArchitectureError(
                    f"{where}.input_dim: {spec['input_dim']} does not match {src} ({shape[0]})"
                )
            layer.update(units=units, **_activation(spec, where), use_bias=_use_bias(spec, model_cfg),
                         **_inits(spec, model_cfg, where))
            new_shape = [units]
        elif kind == "conv2d":
            if len(shape) != 3:
                raise ArchitectureError(f"{where}: conv2d needs image inputs (H, W, C), "
                                        f"got per-sample shape {tuple(shape)}")
            filters = _positive_int(spec.get("filters"), f"{where}.filters")
            k = _pair(spec.get("kernel_size"), f"{where}.kernel_size")
            s = _pair(spec.get("strides", 1), f"{where}.strides")
            padding = str(spec.get("padding", "valid")).lower()
            if padding not in PADDINGS:
                raise ArchitectureError(f"{where}.padding: unknown padding {spec.get('padding')!r}; "
                                        f"valid: {', '.join(PADDINGS)}")
            hw = _output_hw(shape, k, s, padding, f"{where}.kernel_size")
            layer.update(filters=filters, kernel_size=k, strides=s, padding=padding, **_activation(spec, where),
                         use_bias=_use_bias(spec, model_cfg), **_inits(spec, model_cfg, where))
            new_shape = [*hw, filters]
        elif kind == "maxpool2d":
            if len(shape) != 3:
                raise ArchitectureError(f"{where}: maxpool2d needs image inputs (H, W, C), "
                                        f"got per-sample shape {tuple(shape)}")
            p = _pair(spec.get("pool_size", 2), f"{where}.pool_size")
            s = _pair(spec.get("strides") if spec.get("strides") is not None else p, f"{where}.strides")
            hw = _output_hw(shape, p, s, "valid", f"{where}.pool_size")
            layer.update(pool_size=p, strides=s)
            new_shape = [*hw, shape[2]]
        elif kind == "flatten":
            new_shape = [math.prod(shape)]
        else:  # dropout
            rate = spec.get("rate")
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
                raise ArchitectureError(f"{where}.rate: expected a number in [0, 1), got {rate!r}")
            layer["rate"] = float(rate)
            new_shape = list(shape)
        layer["input_shape"], layer["output_shape"] = list(shape), list(new_shape)
        out.append(layer)
        shape = new_shape

    if len(shape) != 1:
        raise ArchitectureError(f"{prefix}[{len(specs) - 1}]: the network must end with a flat output, "
                                f"got shape {tuple(shape)}")
    ok = {1, 2} if n_outputs == 2 else {n_outputs}
    if shape[0] not in ok:
        want = "1 (sigmoid) or 2 (softmax)" if n_outputs == 2 else str(n_outputs)
        raise ArchitectureError(f"{prefix}[{len(specs) - 1}].units: last layer has {shape[0]} units "
                                f"but the data needs {want}")
    if getattr(model_cfg.get("loss"), "value", model_cfg.get("loss")) == "categorical_crossentropy" and shape[0] == 1:
        raise ArchitectureError("model.loss: categorical_crossentropy needs >= 2 output units; "
                                "use binary_crossentropy with 1 unit")
    return out


def build_layers(canonical: list[dict[str, Any]]) -> list:
    """Map canonical layer dicts to scratch ``Layer`` objects (Dense/Conv2D followed by Activation;
    Conv2D runs relu/linear itself)."""
    from .layers import Activation, Dense

    def arg(pair: list[int]):  # square kernels/strides/pools as a plain int
        return pair[0] if pair[0] == pair[1] else tuple(pair)

    layers: list = []
    for spec in canonical:
        kind = spec["type"]
        if kind == "dense":
            layers.append(Dense(spec["units"], use_bias=spec["use_bias"], init=spec["init"],
                                bias_init=spec["bias_init"]))
        elif kind == "conv2d":
            from .conv import FUSED_ACTIVATIONS, Conv2D  # lazy: dense nets never need conv.py

            fused = spec["activation"] if spec["activation"] in FUSED_ACTIVATIONS else "linear"
            layers.append(Conv2D(spec["filters"], arg(spec["kernel_size"]), strides=arg(spec["strides"]),
                                 padding=spec["padding"], use_bias=spec["use_bias"], init=spec["init"],
                                 bias_init=spec["bias_init"], activation=fused))
            if fused == spec["activation"]:
                continue  # relu/linear run inside Conv2D (one pass less over the feature maps)
        elif kind == "maxpool2d":
            from .conv import MaxPool2D

            layers.append(MaxPool2D(pool_size=arg(spec["pool_size"]), strides=arg(spec["strides"])))
        elif kind == "flatten":
            from .conv import Flatten

            layers.append(Flatten())
        elif kind == "dropout":
            from .conv import Dropout

            layers.append(Dropout(spec["rate"]))
        if kind in ("dense", "conv2d") and spec["activation"] != "linear":
            params = {"alpha": spec["alpha"]} if spec["activation"] == "leaky_relu" else {}
            layers.append(Activation(spec["activation"], **params))
    return layers
