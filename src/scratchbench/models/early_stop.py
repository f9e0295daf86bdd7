"""Early stopping for the framework adapters: the engine's rule (``scratch.early_stopping``) fed
with each epoch's record."""

from __future__ import annotations

from scratchbench.models.base import EpochRecord, OnEpoch
from scratchbench.scratch.early_stopping import EarlyStopping

__all__ = ["EarlyStopping", "record_epoch"]


def record_epoch(rec: EpochRecord, history: list[EpochRecord], on_epoch: OnEpoch | None, stopper: EarlyStopping) -> bool:
    """Append ``rec`` to ``history``, report it to ``on_epoch``; True when early stopping ends training."""
    history.append(rec)
    if on_epoch is not None:
        on_epoch(rec)
    return stopper.update(rec.loss, rec.val_accuracy)
