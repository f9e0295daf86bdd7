"""Make ``pybrain3`` importable on NumPy 2 / current SciPy without touching site-packages.

PyBrain (2009-2015) does ``from scipy import array, zeros, dot, random, ...``: SciPy used to
re-export NumPy's namespace and dropped it (SciPy >= 1.12 removed the last aliases). We add the
missing names back onto the ``scipy`` module object — only names SciPy does not define itself,
so SciPy's own API is untouched — then import pybrain3. ``numpy.product`` (gone in NumPy 2)
maps to ``numpy.prod``; ``scipy.random`` was ``numpy.random``. ``scipy.weave`` (C inlining,
only used by an optional RL module) is not provided.

NumPy-2 breakages fixed here (by monkeypatching pybrain3 classes, never its files):
- ``PartialSoftmaxLayer`` computes a float shape (``size / slicelength``) -> integer division.

Usage: ``from scratchbench.models.pybrain_compat import pybrain3`` or call :func:`install`
before any ``import pybrain3``.
"""

from __future__ import annotations

import importlib
import types

import numpy as np

# Names PyBrain imports from scipy (found by scanning every ``from scipy import`` in pybrain3).
_NUMPY_NAMES = (
    "amax amin arange argmax array asarray c_ clip concatenate cos cov diag dot exp eye "
    "floor inf isinf isnan isscalar log log10 mean mgrid multiply ndarray ones outer pi power "
    "r_ ravel reshape resize sign sin size sort sqrt sum tan tanh tile var where zeros zeros_like"
).split()
_SPECIAL = {
    "random": lambda: np.random,
    "rand": lambda: np.random.rand,
    "randn": lambda: np.random.randn,
    "product": lambda: np.prod,
    "matrix": lambda: np.matrix,
    "mat": lambda: np.asmatrix,
    "asmatrix": lambda: np.asmatrix,
}
SCIPY_ALIASES: tuple[str, ...] = tuple(_NUMPY_NAMES) + tuple(_SPECIAL)

_installed = False


def install() -> None:
    """Add NumPy aliases missing from ``scipy`` and patch NumPy-2 breakages. Idempotent."""
    global _installed
    if _installed:
        return
    import scipy

    for name in _NUMPY_NAMES:
        if name not in vars(scipy):
            setattr(scipy, name, getattr(np, name))
    for name, get in _SPECIAL.items():
        if name not in vars(scipy):
            setattr(scipy, name, get())
    _installed = True
    _patch_partial_softmax()


def _patch_partial_softmax() -> None:
    from pybrain3.structure.modules.softmax import PartialSoftmaxLayer
    from pybrain3.tools.functions import safeExp

    def _forward(self, inbuf, outbuf):  # noqa: ANN001 - pybrain signature
        e = safeExp(inbuf).reshape(-1, self.slicelength)
        outbuf[:] = (e / e.sum(axis=1, keepdims=True)).ravel()

    PartialSoftmaxLayer._forwardImplementation = _forward


def load() -> types.ModuleType:
    """Install the compat layer and return the imported ``pybrain3`` package."""
    install()
    return importlib.import_module("pybrain3")


pybrain3 = load()
