"""A process's threads: its cores, capped by the smallest thread budget a launcher set in the environment."""

from __future__ import annotations

import pytest

from scratchbench.threads import THREAD_VARS, affinity_cores, cores, thread_budget


@pytest.fixture(autouse=True)
def _no_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in THREAD_VARS:
        monkeypatch.delenv(var, raising=False)


def test_no_budget_means_every_core() -> None:
    assert thread_budget() is None and cores() == affinity_cores()


def test_the_smallest_budget_caps_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "junk")  # not a number: ignored
    assert thread_budget() == 1 and cores() == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "0")  # not a budget: ignored
    assert thread_budget() == 3 and cores() == min(3, affinity_cores())
    monkeypatch.setenv("OMP_NUM_THREADS", str(affinity_cores() + 5))  # never more than the cores
    assert cores() == affinity_cores()
