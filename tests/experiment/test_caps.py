"""Profile and per-implementation caps: what applies, and that it is recorded."""

from __future__ import annotations

from pathlib import Path

from scratchbench.config import validate
from scratchbench.config.compose import compose_run
from scratchbench.experiment.caps import apply_caps, epoch_cap
from scratchbench.models.arch import macs_per_sample
from scratchbench.scratch.architecture import normalize_layers

REPO = Path(__file__).resolve().parents[2]


def _cfg(*overrides: str) -> dict:
    return validate(compose_run(list(overrides), root=REPO))


def test_full_batch_runs_are_capped_by_max_iterations() -> None:
    cfg, _ = apply_caps(_cfg("experiment=r11_cat_tanh", "profile=quick", "profile.max_iterations=300"))
    epochs, rec = epoch_cap(cfg, 209)
    assert epochs == 300
    assert {k: rec[k] for k in ("train.epochs_requested", "train.epochs_effective", "train.epochs_capped",
                                "train.epochs_cap_source")} == {
        "train.epochs_requested": 3000, "train.epochs_effective": 300, "train.epochs_capped": True,
        "train.epochs_cap_source": "profile.max_iterations"}
    assert 0 < rec["train.predicted_fit_seconds"] < 10  # the quick profile's costs price every run


def test_work_budget_caps_expensive_runs_and_spares_cheap_ones() -> None:
    cfg, _ = apply_caps(_cfg("experiment=r10_moons", "profile=quick"))
    macs = macs_per_sample(normalize_layers(cfg["model"], (2,), 2))
    assert macs == 2 * 4 + 4 * 6 + 6 * 6 + 6 * 4 + 4 * 1
    epochs, rec = epoch_cap(cfg, 900, macs)
    assert epochs == 10000 and not rec["train.epochs_capped"]  # R10 runs as published
    cfg, _ = apply_caps(_cfg("experiment=r7_mnist_cnn_pool", "profile=quick", "profile.max_work=1e11",
                         "profile.max_fit_seconds=null"))
    macs = macs_per_sample(normalize_layers(cfg["model"], (28, 28, 1), 10))
    conv1, conv2, dense = 26 * 26 * 64 * 9, 11 * 11 * 128 * 9 * 64, 11 * 11 * 128 * 10
    assert macs == conv1 + conv2 + dense
    epochs, rec = epoch_cap(cfg, 2000, macs)
    assert epochs == int(1e11 // (2000 * macs)) == 5 and rec["train.epochs_cap_source"] == "profile.max_work"
    assert rec["train.work_macs"] == epochs * 2000 * macs <= 1e11


def test_tiny_tables_get_more_epochs_big_sets_few() -> None:
    cfg, _ = apply_caps(_cfg("experiment=r4_xor", "profile=quick", "profile.max_epochs=2",
                             "profile.max_sample_passes=20000"))
    assert epoch_cap(cfg, 4)[0] == 1000  # 20000 passes // 4 rows > the preset's 1000 epochs
    cfg, _ = apply_caps(_cfg("experiment=r12_mnist_mse", "profile=quick", "profile.max_epochs=2",
                             "profile.max_sample_passes=20000", "profile.max_fit_seconds=null"))
    assert epoch_cap(cfg, 2000)[0] == 10 and epoch_cap(cfg, 60000)[0] == 2


def test_full_profile_keeps_the_preset() -> None:
    cfg, rec = apply_caps(_cfg("experiment=r12_mnist_mse", "profile=full"))
    assert epoch_cap(cfg, 50000)[0] == 30 and rec["sample_cap_source"] == "none"
    assert cfg["train"]["max_train_samples"] is None


def test_pybrain_default_mnist_cap_is_recorded_with_its_source() -> None:
    cfg, rec = apply_caps(_cfg("experiment=r12_mnist_mse", "model=pybrain", "profile=full"))
    assert cfg["train"]["max_train_samples"] == 3000
    assert rec["train.max_train_samples_effective"] == 3000 and rec["sample_cap_source"] == "model.sample_caps.mnist"
    cfg, rec = apply_caps(_cfg("experiment=r12_mnist_mse", "model=pybrain", "profile=full",
                               "train.max_train_samples=500"))
    assert cfg["train"]["max_train_samples"] == 500 and rec["sample_cap_source"] == "train"
