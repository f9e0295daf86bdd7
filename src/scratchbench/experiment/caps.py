"""Effective epochs and sample caps of a run (preset x profile x implementation), all recorded."""

from __future__ import annotations

import copy
from typing import Any


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
    sources = [name for name, c in (("train", train.get("max_train_samples")), ("profile", profile.get("max_train_samples")),
                                    (f"model.sample_caps.{dataset}", impl_cap)) if c is not None and int(c) == sample_cap]
    test_cap = _min_cap(train.get("max_test_samples"), profile.get("max_test_samples"))
    record = {
        "train.max_train_samples_effective": sample_cap,
        "train.max_test_samples_effective": test_cap,
        "sample_cap_source": ",".join(sources) if sources else "none",
    }
    train["max_train_samples"] = sample_cap
    train["max_test_samples"] = test_cap
    return out, record


def epoch_cap(cfg: dict[str, Any], n_train: int, macs: int | None = None) -> tuple[int, dict[str, Any]]:
    """Effective epochs under the profile, and the record of it.

    ``profile.max_work`` bounds the training compute: epochs x ``n_train`` x ``macs`` (forward
    multiply-accumulates per sample) stays under it, so cheap presets (R1-R4, R10 moons) run
    as published while expensive ones stop early. Legacy caps also apply: full-batch runs
    ``profile.max_iterations``; mini-batch / per-sample runs ``max(profile.max_epochs,
    profile.max_sample_passes // n_train)``.
    """
    train, profile = cfg["train"], cfg["profile"]
    requested = int(train["epochs"])
    if train["batch_size"] is None:
        cap = profile.get("max_iterations")
    else:
        cap = profile.get("max_epochs")
        passes = profile.get("max_sample_passes")
        if cap is not None and passes is not None and n_train > 0:
            cap = max(int(cap), int(passes) // int(n_train))
    work = profile.get("max_work")
    work_cap = None
    if work is not None and macs and n_train > 0:
        work_cap = max(1, int(float(work) // (int(n_train) * int(macs))))
    epochs = _min_cap(requested, cap, work_cap) or requested
    record = {"train.epochs_requested": requested, "train.epochs_effective": epochs,
              "train.epochs_capped": epochs != requested}
    if macs:
        record["train.macs_per_sample"] = int(macs)
        record["train.work_macs"] = int(epochs) * int(n_train) * int(macs)
    return epochs, record
