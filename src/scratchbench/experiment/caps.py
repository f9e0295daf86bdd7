"""Effective epochs and sample caps of a run (preset x profile x implementation), all recorded."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np


def _min_cap(*caps: int | None) -> int | None:
    vals = [int(c) for c in caps if c is not None]
    return min(vals) if vals else None


def apply_caps(cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (config with effective ``train.epochs``/``max_train_samples``/``max_test_samples``, record).

    Full-batch runs (``batch_size: null``) are capped by ``profile.max_iterations``, others by
    ``profile.max_epochs``. A per-implementation cap (``model.sample_caps[<dataset>]``, e.g.
    pybrain on MNIST) also applies. ``record`` says what was applied and why.
    """
    out = copy.deepcopy(cfg)
    train, profile, model = out["train"], out["profile"], out["model"]
    dataset = out["dataset"]["name"]
    impl_cap = (model.get("sample_caps") or {}).get(dataset)
    sample_cap = _min_cap(train.get("max_train_samples"), profile.get("max_train_samples"), impl_cap)
    candidates = (("train", train.get("max_train_samples")), ("profile", profile.get("max_train_samples")),
                  (f"model.sample_caps.{dataset}", impl_cap))
    sources = [name for name, c in candidates if c is not None and int(c) == sample_cap]
    test_cap = _min_cap(train.get("max_test_samples"), profile.get("max_test_samples"))
    record = {
        "train.max_train_samples_effective": sample_cap,
        "train.max_test_samples_effective": test_cap,
        "sample_cap_source": ",".join(sources) if sources else "none",
    }
    train["max_train_samples"] = sample_cap
    train["max_test_samples"] = test_cap
    return out, record


# a cost table row (profile.costs.<implementation>): seconds per run (set-up), and per epoch: per epoch,
# per optimizer step, per training sample, per training sample x forward MAC, and the same two per
# validation sample (each epoch scores the validation split)
COST_TERMS = ("run", "epoch", "step", "sample", "mac", "val", "val_mac")


def epoch_features(n_train: int, batch_size: int | None, macs: int | None, n_val: int = 0) -> dict[str, float]:
    """What one epoch does, in the units of :data:`COST_TERMS` (``run`` excluded)."""
    steps = 1 if batch_size is None else math.ceil(n_train / int(batch_size))
    m = int(macs or 0)
    return {"epoch": 1.0, "step": float(steps), "sample": float(n_train), "mac": float(n_train) * m,
            "val": float(n_val), "val_mac": float(n_val) * m}


def seconds_per_epoch(cost: dict[str, float], n_train: int, batch_size: int | None, macs: int | None,
                      n_val: int = 0) -> float:
    """Predicted fit seconds of one epoch from an implementation's cost table row (``profile.costs``)."""
    f = epoch_features(n_train, batch_size, macs, n_val)
    return sum(float(cost.get(k, 0.0)) * v for k, v in f.items())


def epoch_cap(cfg: dict[str, Any], n_train: int, macs: int | None = None, n_val: int = 0) -> tuple[int, dict[str, Any]]:
    """Effective epochs under the profile, and the record of it.

    ``profile.max_fit_seconds`` bounds the predicted fit time: the implementation's row of
    ``profile.costs`` (seconds per epoch, per step, per sample and per sample-MAC, measured by
    ``benchmarks/quick_costs.py``) predicts one epoch, and the epochs stay under the bound.
    ``profile.max_work`` bounds the training compute: epochs x ``n_train`` x ``macs`` (forward
    multiply-accumulates per sample). Legacy caps also apply: full-batch runs
    ``profile.max_iterations``; mini-batch / per-sample runs ``max(profile.max_epochs,
    profile.max_sample_passes // n_train)``. The smallest wins; ``train.epochs_cap_source``
    names it (``requested`` when none bites) and ``train.predicted_fit_seconds`` is recorded.
    """
    train, profile = cfg["train"], cfg["profile"]
    requested = int(train["epochs"])
    caps: dict[str, int | None] = {"requested": requested}
    if train["batch_size"] is None:
        caps["profile.max_iterations"] = profile.get("max_iterations")
    else:
        cap = profile.get("max_epochs")
        passes = profile.get("max_sample_passes")
        if cap is not None and passes is not None and n_train > 0:
            cap = max(int(cap), int(passes) // int(n_train))
        caps["profile.max_epochs"] = cap
    work = profile.get("max_work")
    if work is not None and macs and n_train > 0:
        caps["profile.max_work"] = max(1, int(float(work) // (int(n_train) * int(macs))))
    cost = (profile.get("costs") or {}).get(cfg["model"]["name"])
    per_epoch = seconds_per_epoch(cost, n_train, train["batch_size"], macs, n_val) if cost else None
    max_fit = profile.get("max_fit_seconds")
    if per_epoch and max_fit is not None:
        set_up = float(cost.get("run", 0.0))  # per run, outside the epochs (tracing, first-epoch warm-up)
        caps["profile.max_fit_seconds"] = max(1, int(max(0.0, float(max_fit) - set_up) // per_epoch))
    source, epochs = min(((k, int(v)) for k, v in caps.items() if v is not None), key=lambda kv: kv[1])
    if epochs == requested:
        source = "requested"
    record: dict[str, Any] = {"train.epochs_requested": requested, "train.epochs_effective": epochs,
                              "train.epochs_capped": epochs != requested, "train.epochs_cap_source": source}
    if per_epoch is not None:
        record["train.predicted_fit_seconds"] = round(float(cost.get("run", 0.0)) + epochs * per_epoch, 3)
    if macs:
        record["train.macs_per_sample"] = int(macs)
        record["train.work_macs"] = int(epochs) * int(n_train) * int(macs)
    return epochs, record


def capped_test_rows(n_test: int, cap: int | None, seed: int) -> np.ndarray | None:
    """The test rows a run with test cap ``cap`` is scored on (sorted, ``default_rng([seed, 3])``); ``None``: all."""
    if cap is None or int(cap) >= n_test:
        return None
    return np.sort(np.random.default_rng([int(seed), 3]).permutation(n_test)[:int(cap)])
