"""The common interface every implementation follows, so runs, sweeps and reports never special-case one.

Adding a competitor = one module implementing :class:`Implementation` + one
``conf/model/<name>.yaml`` naming it (``implementation: module:Class``; see ``registry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Mapping

import numpy as np

InputKind = Literal["flat", "image"]


@dataclass(frozen=True)
class DataSpec:
    """What the model is asked to learn: per-sample input shape as stored, classes."""

    dataset: str
    input_shape: tuple[int, ...]  # per sample, as in the feature file, e.g. (28, 28, 1) or (102,)
    n_classes: int
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None  # (H, W, C) when flat features can be viewed as images

    @property
    def binary(self) -> bool:
        return self.n_classes == 2


@dataclass
class Split:
    """Inputs already adapted to the implementation's ``input_kind``; ``y`` integer labels (N,)."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class EpochRecord:
    """One point of a learning curve (an epoch, or an iteration for full-batch training)."""

    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float | None
    epoch_seconds: float
    extra: dict[str, float] = field(default_factory=dict)


OnEpoch = Callable[[EpochRecord], None]


class Implementation:
    """Base class: subclasses set ``name`` and ``input_kind`` and implement build, fit, predict_proba,
    save/load and n_params.

    ``cfg`` is the resolved run config as a plain dict with keys ``model``, ``optimizer``,
    ``train`` and ``seed`` (see ``conf/``).
    """

    name: ClassVar[str]
    input_kind: ClassVar[InputKind]

    def build(self, cfg: Mapping[str, Any], spec: DataSpec) -> None:
        raise NotImplementedError

    def fit(self, train: Split, val: Split | None = None, on_epoch: OnEpoch | None = None) -> list[EpochRecord]:
        raise NotImplementedError

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, n_classes) (binary models return both columns)."""
        raise NotImplementedError

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.predict_proba(x)).argmax(axis=1)

    def save(self, path: Path) -> Path:
        """Write the trained model under ``path`` (a file name without suffix); return the file written."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: Path) -> "Implementation":
        """The trained model :meth:`save` wrote to ``path``, ready for :meth:`predict_proba` (not for ``fit``)."""
        raise NotImplementedError

    def n_params(self) -> int:
        raise NotImplementedError

    def weights(self) -> list[np.ndarray] | None:
        """Trained parameters in Keras order (per dense layer: W (in, out), then b), or None if not exposed."""
        return None

    def threads(self) -> dict[str, int]:
        """Thread counts this implementation runs with (recorded with the run)."""
        return {}

    def run_info(self) -> dict[str, Any]:
        """Implementation-specific facts to record with the run (e.g. effective batch size, loss used)."""
        return {}
