"""Import Keras without the optional extras it loads whenever they are installed but that this
project never uses through Keras: matplotlib's pyplot (its image-gallery plot), scikit-learn (its
scikit-learn wrapper) and pandas (DataFrame inputs). Keras imports each inside ``try/except
ImportError``; blocking them saves about 1.9 s of a 5.2 s ``import keras`` (``python -X importtime``
on a 2-core AMD EPYC), a cost every Keras run paid. Nothing else changes: the modules import
normally afterwards, for the rest of the process.

The import also runs with Python's cyclic garbage collector paused (:mod:`scratchbench.startup`):
3.4 s -> 2.6-2.8 s on the same machine.
"""

from __future__ import annotations

import sys
from types import ModuleType

from scratchbench.startup import blocked, collector_paused

UNUSED_EXTRAS = ("matplotlib.pyplot", "sklearn", "pandas")


def import_keras() -> ModuleType:
    """The ``keras`` module, imported without :data:`UNUSED_EXTRAS` when it is not imported yet."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    with blocked(UNUSED_EXTRAS), collector_paused():
        import keras
    return keras
