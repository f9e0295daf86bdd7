"""The early-stopping rule, for the engine and every other implementation.

Monitor ``val_accuracy`` when there is a validation split, else the training loss; stop after
``patience`` epochs without improvement and restore the best weights.
"""

from __future__ import annotations

import operator
from typing import Any, Callable


class EarlyStopping:
    """``update`` once per epoch; it returns True (after restoring the best weights) when training should stop.

    ``patience=None`` never stops. ``get_weights``/``set_weights`` copy the model's weights out and back in.
    """

    def __init__(self, patience: int | None, get_weights: Callable[[], Any], set_weights: Callable[[Any], None]) -> None:
        if patience is not None:
            try:
                number = -1 if isinstance(patience, bool) else operator.index(patience)
            except TypeError:
                number = -1
            if number < 1:
                raise ValueError(f"train.early_stopping_patience: expected a positive integer or null, got {patience!r}")
            patience = number
        self.patience = patience
        self._get, self._set = get_weights, set_weights
        self.best: float | None = None
        self.best_weights: Any = None
        self.waited = 0

    def update(self, loss: float, val_accuracy: float | None = None) -> bool:
        if not self.patience:
            return False
        score = val_accuracy if val_accuracy is not None else -loss
        if self.best is None or score > self.best:
            self.best, self.best_weights, self.waited = score, self._get(), 0
            return False
        self.waited += 1
        if self.waited >= self.patience:
            self._set(self.best_weights)
            return True
        return False
