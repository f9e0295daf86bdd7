"""Early stopping shared by the framework adapters, with the engine's rule.

Monitors ``val_accuracy`` when a validation split is given, else the training loss; stops
after ``patience`` epochs without improvement and restores the best weights.
"""

from __future__ import annotations

from typing import Any, Callable

from scratchbench.models.base import EpochRecord, OnEpoch


class EarlyStopping:
    def __init__(self, patience: int | None, get_weights: Callable[[], Any], set_weights: Callable[[Any], None]) -> None:
        if patience is not None and (not isinstance(patience, int) or patience < 1):
            raise ValueError(f"train.early_stopping_patience: expected a positive integer or null, got {patience!r}")
        self.patience = patience
        self._get, self._set = get_weights, set_weights
        self.best: float | None = None
        self.best_weights: Any = None
        self.waited = 0

    def update(self, rec: EpochRecord) -> bool:
        """Record one epoch; True when training should stop (best weights already restored)."""
        if not self.patience:
            return False
        score = rec.val_accuracy if rec.val_accuracy is not None else -rec.loss
        if self.best is None or score > self.best:
            self.best, self.best_weights, self.waited = score, self._get(), 0
            return False
        self.waited += 1
        if self.waited >= self.patience:
            self._set(self.best_weights)
            return True
        return False


def record_epoch(rec: EpochRecord, history: list[EpochRecord], on_epoch: OnEpoch | None, stopper: EarlyStopping) -> bool:
    """Append ``rec`` to ``history``, report it to ``on_epoch``; True when early stopping ends training."""
    history.append(rec)
    if on_epoch is not None:
        on_epoch(rec)
    return stopper.update(rec)
