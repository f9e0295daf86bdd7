"""Process start-up: import with Python's cyclic garbage collector paused, and without the optional
extras a framework loads whenever they are installed but this project never uses through it.

Start-up allocates millions of objects (modules, functions, config nodes) that stay alive for the
whole process, so every collection it triggers scans them in vain: about 0.7 s of a 3.4 s
TensorFlow/Keras import on a 2-core AMD EPYC. :func:`collector_paused` skips those collections and
then freezes what start-up created (``gc.freeze``) out of later ones, which also keeps forked
workers from touching (copying) those pages.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused(unless_imported: str | None = None) -> Iterator[None]:
    """No cyclic garbage collection inside the block; what it created is then frozen out of later ones.

    Freezing keeps whatever the process holds then, garbage included, for good: use it at start-up,
    once. ``unless_imported``: a module whose presence in ``sys.modules`` means start-up is over, and
    the block runs as it is (a sweep worker's later jobs, a second store opened by the same process).
    """
    if unless_imported is not None and unless_imported in sys.modules:
        yield
        return
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_on:
            gc.enable()


@contextlib.contextmanager
def blocked(modules: tuple[str, ...]) -> Iterator[None]:
    """``import m`` raises ImportError inside the block for each ``m`` not imported yet; afterwards
    they import normally. For a framework's optional extras it imports inside ``try/except ImportError``."""
    new = [m for m in modules if m not in sys.modules]
    for m in new:
        sys.modules[m] = None  # type: ignore[assignment]  (the import system's "not importable" marker)
    try:
        yield
    finally:
        for m in new:
            if m in sys.modules and sys.modules[m] is None:
                del sys.modules[m]
