"""Learning-curve files: CSV (DVC plots), JSON metrics (DVC metrics) and a PNG (MLflow artifact)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from scratchbench.models.base import EpochRecord
from scratchbench.tracking.names import ARTIFACT_CURVE_CSV, ARTIFACT_CURVE_PNG

CURVE_COLUMNS = ("epoch", "loss", "train_accuracy", "val_accuracy", "epoch_seconds")


def _num(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def write_curve_csv(history: Sequence[EpochRecord], path: Path, max_rows: int = 2000) -> Path:
    """One row per epoch (thinned to ``max_rows``; last epoch kept)."""
    stride = max(1, math.ceil(len(history) / max_rows))
    rows = [r for i, r in enumerate(history) if i % stride == 0 or i == len(history) - 1]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(CURVE_COLUMNS)
        for r in rows:
            val = "" if r.val_accuracy is None else r.val_accuracy
            w.writerow([r.epoch, r.loss, r.train_accuracy, val, r.epoch_seconds])
    return path


def read_curve_csv(path: Path) -> list[EpochRecord]:
    """The rows :func:`write_curve_csv` wrote, as epoch records."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [EpochRecord(int(r["epoch"]), float(r["loss"]), float(r["train_accuracy"]),
                        float(r["val_accuracy"]) if r["val_accuracy"] else None, float(r["epoch_seconds"]))
            for r in rows]


def write_metrics_json(metrics: Mapping[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {k: (_num(v) if isinstance(v, float) else v) for k, v in metrics.items()}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
    return path


def plot_curve(history: Sequence[EpochRecord], path: Path, title: str) -> Path:
    """Loss and accuracies against epoch, two panels."""
    from matplotlib.figure import Figure  # not pyplot: no GUI backend machinery (~1 s) in a run

    ep = [r.epoch for r in history]
    fig = Figure(figsize=(10, 4))
    a1, a2 = fig.subplots(1, 2)
    a1.plot(ep, [r.loss for r in history], color="tab:red")
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.set_title("training loss")
    a2.plot(ep, [r.train_accuracy for r in history], label="train")
    if any(r.val_accuracy is not None for r in history):
        a2.plot(ep, [float("nan") if r.val_accuracy is None else r.val_accuracy for r in history], label="validation")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy")
    a2.set_ylim(0, 1.02)
    a2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def curve_recipe(title: str) -> dict[str, str]:
    """What a spooled run leaves to its record stage instead of drawing (see :func:`render_deferred`)."""
    return {"kind": "learning_curve", "csv": ARTIFACT_CURVE_CSV, "png": ARTIFACT_CURVE_PNG, "title": title}


def render_deferred(recipe: Mapping[str, Any], artifacts: Path, out_dir: Path) -> Path:
    """Draw a spooled run's deferred learning curve from its CSV artifact (the record stage's renderer)."""
    if recipe.get("kind") != "learning_curve":
        raise ValueError(f"deferred artifact: unknown kind {recipe.get('kind')!r} in {artifacts.parent}")
    return plot_curve(read_curve_csv(artifacts / recipe["csv"]), out_dir / recipe["png"], recipe["title"])
