"""Comparison reports built from the MLflow store (``python -m scratchbench.report``)."""

from __future__ import annotations

from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point ``scratchbench-report``."""
    from scratchbench.report.cli import main as _main

    return _main(argv)


__all__ = ["main"]
