"""Fixtures for the run, tracking and sweep tests (tests/run, tests/tracking): a temp project root with tiny
feature files and a migrated MLflow store. Registered for every folder by ``pytest_plugins`` in tests/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from run_helpers import make_features

@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, migrated MLflow SQLite store made once (schema creation costs seconds per store)."""
    from scratchbench.tracking.store import init_store

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    init_store(f"sqlite:///{db}")
    return db


@pytest.fixture()
def fresh_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``SCRATCHBENCH_ROOT`` = a temp dir with tiny features and NO MLflow store yet."""
    root = tmp_path / "proj"
    root.mkdir()
    make_features(root)
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


@pytest.fixture()
def tiny_root(fresh_root: Path, template_store: Path) -> Path:
    """Like ``fresh_root`` but with an empty, already-migrated store copied in (fast)."""
    shutil.copyfile(template_store, fresh_root / "mlflow.db")
    return fresh_root
