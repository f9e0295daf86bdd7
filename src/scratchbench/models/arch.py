"""Architecture and target helpers shared by every implementation.

All implementations read the architecture through the engine's
``scratchbench.scratch.architecture.normalize_layers`` (pure Python), so the same config gives
the same layers and the same errors everywhere.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np

from scratchbench.models.base import DataSpec

DENSE_ONLY_TYPES = ("dense",)
SPATIAL = ("conv2d", "conv", "maxpool2d", "maxpool", "maxpooling2d")
NOT_DENSE = SPATIAL + ("dropout",)


def canonical_layers(model_cfg: Mapping[str, Any], input_shape: tuple[int, ...], n_outputs: int) -> list[dict]:
    """Canonical layer dicts (type dense/conv2d/maxpool2d/flatten/dropout) with chaining checks."""
    from scratchbench.scratch.architecture import normalize_layers

    return normalize_layers(dict(model_cfg), tuple(int(d) for d in input_shape), int(n_outputs))


def macs_per_sample(canonical_layers: list[dict[str, Any]]) -> int:
    """Multiply-accumulates of one forward pass of one sample through canonical layers."""
    total = 0
    for layer in canonical_layers:
        if layer["type"] == "dense":
            total += math.prod(layer["input_shape"]) * int(layer["units"])
        elif layer["type"] == "conv2d":
            kh, kw = layer["kernel_size"]
            out_h, out_w, filters = layer["output_shape"]
            total += out_h * out_w * filters * kh * kw * int(layer["input_shape"][-1])
    return int(total)


def reject_layers(impl: str, model_cfg: Mapping[str, Any], kinds: tuple[str, ...], instead: str) -> None:
    """Raise naming ``impl`` and the layer when ``model.layers`` has a type in ``kinds``."""
    for i, layer in enumerate(model_cfg.get("layers") or []):
        kind = str(layer.get("type", "dense")).lower() if isinstance(layer, Mapping) else "dense"
        if kind in kinds:
            raise ValueError(
                f"{impl}: model.layers[{i}] has type {kind!r}, but {impl} only takes dense layers on "
                f"flat inputs; use {instead} for this architecture"
            )


def layer_units(layer: Mapping[str, Any]) -> int:
    return int(layer.get("units", layer.get("output_dim")))


def layer_bias(layer: Mapping[str, Any], model_cfg: Mapping[str, Any]) -> bool:
    for key in ("use_bias", "bias"):
        if key in layer:
            return bool(layer[key])
    return bool(model_cfg.get("bias", True))


def dense_stack(impl: str, model_cfg: Mapping[str, Any], spec: DataSpec) -> tuple[list[int], list[str], bool]:
    """For dense-only frameworks: ``(sizes incl. input, activations per layer, use_bias)``.

    Raises ``ValueError`` naming the implementation and layer when the architecture has
    conv/pool/dropout layers or mixes bias settings (checked before any training).
    """
    reject_layers(impl, model_cfg, NOT_DENSE, "numpy_cnn or keras_cnn")
    n_in = int(np.prod(spec.input_shape))
    layers = canonical_layers(model_cfg, (n_in,), spec.n_classes)
    sizes, acts, biases = [n_in], [], set()
    for i, layer in enumerate(layers):
        kind = layer.get("type", "dense")
        if kind == "flatten":
            continue
        if kind not in DENSE_ONLY_TYPES:
            raise ValueError(
                f"{impl}: model.layers[{i}] has type {kind!r}, but {impl} only takes dense layers "
                f"on flat inputs; use numpy_cnn or keras_cnn for this architecture"
            )
        sizes.append(layer_units(layer))
        acts.append(str(layer.get("activation", "linear")))
        biases.add(layer_bias(layer, model_cfg))
    if len(biases) > 1:
        raise ValueError(f"{impl}: every layer must have the same bias setting (model.bias), got mixed")
    return sizes, acts, biases.pop() if biases else True


def require_activations(impl: str, framework: str, checked: list[str], hidden: list[str], valid: Iterable[str]) -> None:
    """Every name in ``checked`` must be in ``valid``, and all ``hidden`` ones the same (one-activation frameworks)."""
    valid = sorted(valid)
    for i, act in enumerate(checked):
        if act not in valid:
            raise ValueError(f"{impl}: model.layers[{i}].activation={act!r} is not available in {framework}; valid: {valid}")
    if len(set(hidden)) > 1:
        raise ValueError(f"{impl}: {framework} takes one activation for all hidden layers, got {hidden}")


def target_values(model_cfg: Mapping[str, Any]) -> tuple[float, float]:
    """``(model.target_on, model.target_off)``, 1/0 when unset (R5: 0.99 / 0.01); see ``scratch.targets.encode_labels``."""
    on, off = model_cfg.get("target_on"), model_cfg.get("target_off")
    return (1.0 if on is None else float(on)), (0.0 if off is None else float(off))


def resolve_optimizer(opt_cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The engine's optimizer settings (``scratch.optimizers.optimizer_settings``: same defaults, same errors),
    refusing the engine-only ``shrink_on_miss``.

    ``sgd`` with a non-zero momentum means momentum SGD.
    """
    from scratchbench.scratch.optimizers import optimizer_settings

    settings = optimizer_settings(opt_cfg)
    if settings["name"] == "shrink_on_miss":
        raise ValueError("optimizer.name: 'shrink_on_miss' (R6's update rule as written) exists in the NumPy "
                         "engine only; use model=numpy_mlp")
    return settings
