"""Targets and class probabilities have one home (scratch/targets.py); early stopping and optimizer
defaults too (scratch/early_stopping.py, the optimizer table)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from scratchbench.scratch.early_stopping import EarlyStopping
from scratchbench.scratch.optimizers import DEFAULTS, make_optimizer, optimizer_settings
from scratchbench.scratch.targets import encode_labels, two_class_proba

SRC = Path(__file__).resolve().parents[2] / "src" / "scratchbench"


def test_encode_labels_one_hot_and_single_unit_with_on_off_values():
    np.testing.assert_array_equal(encode_labels(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(encode_labels(np.array([1, 0, 1]), 1, on=0.99, off=0.01), [[0.99], [0.01], [0.99]])
    assert encode_labels(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    for labels, n_out in (([0, 2], 1), ([3], 3), ([-1], 2)):
        with pytest.raises(ValueError, match=r"y: labels must lie in \[0, "):
            encode_labels(np.array(labels), n_out)


def test_two_class_proba_turns_one_sigmoid_column_into_two_clipped_columns():
    np.testing.assert_allclose(two_class_proba(np.array([[0.25], [1.3], [-0.2]])),
                               [[0.75, 0.25], [0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(two_class_proba(np.array([0.4])), [[0.6, 0.4]])
    three = np.array([[0.2, 0.3, 0.5]])
    assert two_class_proba(three) is three


def test_no_module_but_targets_builds_two_class_probabilities_or_one_hot_targets():
    """The conversions are written once: no ``[1 - p, p]`` stacking or one-hot scatter elsewhere in src/."""
    two_cols = re.compile(r"\[\s*1(\.0)?\s*-\s*\w+\s*,\s*\w+\s*\]")
    one_hot = re.compile(r"\[\s*np\.arange\([^)]*\)\s*,\s*\w+\s*\]\s*=")
    owner = SRC / "scratch" / "targets.py"
    code = {f"{p.relative_to(SRC)}:{i}": re.sub(r"``.*?``", "", line)  # not the docs that quote it
            for p in SRC.rglob("*.py") if p != owner for i, line in enumerate(p.read_text().splitlines(), 1)}
    found = [where for where, line in code.items() if two_cols.search(line) or one_hot.search(line)]
    assert found == []


def test_early_stopping_rule():
    weights = {"w": 0}
    stop = EarlyStopping(2, lambda: weights["w"], lambda w: weights.update(w=w))
    seen = []
    for epoch, (loss, val) in enumerate([(1.0, 0.5), (0.9, 0.7), (0.8, 0.7), (0.7, 0.6)], start=1):
        weights["w"] = epoch
        seen.append(stop.update(loss, val))
    assert seen == [False, False, False, True] and weights["w"] == 2  # val_accuracy monitored, best restored
    by_loss = EarlyStopping(1, lambda: None, lambda w: None)
    assert [by_loss.update(loss) for loss in (1.0, 0.5, 0.6)] == [False, False, True]  # no validation: the loss
    assert not any(EarlyStopping(None, lambda: 0, lambda w: None).update(1.0) for _ in range(5))
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="train.early_stopping_patience"):
            EarlyStopping(bad, lambda: 0, lambda w: None)


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_optimizer_defaults_come_from_the_table(name):
    from scratchbench.models.arch import resolve_optimizer

    settings = optimizer_settings({"name": name})
    assert settings == {"name": name, **DEFAULTS[name]}
    opt = make_optimizer({"name": name})
    for key, value in DEFAULTS[name].items():
        if hasattr(opt, key):
            assert getattr(opt, key) == value
    if name == "shrink_on_miss":
        with pytest.raises(ValueError, match="NumPy engine only"):
            resolve_optimizer({"name": name})
    else:
        assert resolve_optimizer({"name": name, "beta_1": 0.5, "momentum": 0.5}) == optimizer_settings(
            {"name": name, "beta_1": 0.5, "momentum": 0.5})
