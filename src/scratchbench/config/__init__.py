"""Run configuration: schema (dataclasses), validation and Hydra ConfigStore registration."""

from __future__ import annotations

from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from scratchbench.config.schema import RUN_KEYS, LayerConfig, RunConfig

__all__ = ["ConfigError", "RunConfig", "RUN_KEYS", "register", "validate"]


class ConfigError(ValueError):
    """The composed run config has a wrong key or value (message names it and the valid choices)."""


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (``schema/run``, ``schema/model`` ...)."""
    from hydra.core.config_store import ConfigStore

    from scratchbench.config import schema as s

    cs = ConfigStore.instance()
    cs.store(group="schema", name="run", node=s.RunConfig)
    for name, node in (("model", s.ModelConfig), ("optimizer", s.OptimizerConfig), ("train", s.TrainConfig),
                       ("dataset", s.DatasetConfig), ("profile", s.ProfileConfig),
                       ("tracking", s.TrackingConfig), ("experiment", s.ExperimentConfig)):
        cs.store(group=f"schema/{name}", name="base", node=node)


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _config_error(exc: OmegaConfBaseException, prefix: str = "") -> ConfigError:
    key = prefix + str(getattr(exc, "full_key", None) or "")
    msg = str(exc).split("\n")[0]
    if "Missing mandatory value" in msg:
        return ConfigError(f"'{key}' is not set: give it a value in conf/ (or override {key}=...)")
    return ConfigError(f"invalid config value at '{key}': {msg}")


def validate(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Check the run part of ``cfg`` against :class:`RunConfig`; return it as a plain resolved dict.

    Keys outside the run (e.g. ``fetch``/``featurize``/``pipeline`` pipeline sections) are ignored.
    Raises :class:`ConfigError` naming the offending key, the bad value and the valid choices.
    """
    node = cfg if isinstance(cfg, DictConfig) else OmegaConf.create(dict(cfg))
    try:
        plain = OmegaConf.to_container(node, resolve=True)
    except OmegaConfBaseException as exc:
        raise _config_error(exc) from None
    run_part = {k: plain[k] for k in RUN_KEYS if k in plain}
    layers = (run_part.get("model") or {}).get("layers") if isinstance(run_part.get("model"), dict) else None
    for i, layer in enumerate(layers or []):  # a list element's errors carry no path: check each with its own
        try:
            OmegaConf.merge(OmegaConf.structured(LayerConfig), layer)
        except OmegaConfBaseException as exc:
            raise _config_error(exc, f"model.layers[{i}].") from None
    try:
        merged = OmegaConf.merge(OmegaConf.structured(RunConfig), run_part)
        out = OmegaConf.to_container(merged, resolve=True, enum_to_str=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        raise _config_error(exc) from None
    model = out["model"]
    from scratchbench.models.registry import names

    if model["name"] not in names():
        raise ConfigError(f"invalid config value at 'model.name': {model['name']!r}; valid: {', '.join(names())} "
                          "(one per conf/model/<name>.yaml)")
    if model["layers"] is not None:
        model["layers"] = [_drop_none({k: _drop_none(v) if isinstance(v, dict) else v for k, v in layer.items()})
                           for layer in model["layers"]]
    if model["bias_init"] is not None:
        model["bias_init"] = _drop_none(model["bias_init"])
    model["init"] = _drop_none(model["init"])
    if not model["layers"] and not model["layers_dims"] and out["experiment"]["task"] == "train":
        raise ConfigError("model: set model.layers or model.layers_dims (an experiment preset normally does)")
    if model["layers"] and model["layers_dims"]:
        raise ConfigError("model: set only one of model.layers and model.layers_dims")
    tr = out["train"]
    for key in ("epochs", "batch_size", "max_train_samples", "max_test_samples", "val_samples"):
        if tr[key] is not None and tr[key] < (0 if key == "val_samples" else 1):
            raise ConfigError(f"train.{key} must be a positive integer, got {tr[key]}")
    return out
