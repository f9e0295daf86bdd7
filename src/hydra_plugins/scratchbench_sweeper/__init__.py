"""Hydra's basic sweeper without a second composition of the jobs the entry point checked.

``scratchbench.train`` composes and validates every job of its command line before Hydra starts
(:func:`~scratchbench.config.cli.check_hydra_command_line`: one-line errors). Hydra's basic sweeper
then composes every job again to see that it composes, one job after another in the launching
process before any job runs (0.1-0.2 s a job: 2-4 s of a 20-job sweep on 2 cores). A batch whose
jobs were all checked skips that pass; any other batch (sweeper params, another entry point) gets it.
Chosen in conf/config.yaml (``hydra/sweeper: checked``); ``hydra/sweeper=basic`` restores Hydra's.
A Hydra plugin must live in the ``hydra_plugins`` namespace package, hence this folder beside
``src/scratchbench``.
"""

from __future__ import annotations

from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


class CheckedSweeper(BasicSweeper):
    """:class:`BasicSweeper` that trusts :func:`~scratchbench.config.cli.check_hydra_command_line`."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        from scratchbench.config.cli import checked_jobs  # here, not at import: Hydra imports every plugin at start

        checked = checked_jobs()
        if any(tuple(job) not in checked for job in batch):
            super().validate_batch_is_legal(batch)
