"""Where runs go: resolve the tracking URI, check it is reachable, create the store and experiments.

Default: ``sqlite:///<project_root>/mlflow.db`` with artifacts in ``<project_root>/mlartifacts``
(absolute, so Hydra's working-directory change cannot scatter them). ``tracking.uri`` or
``MLFLOW_TRACKING_URI`` selects another store (e.g. an ``http://`` tracking server).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from scratchbench import paths

DB_FILE = "mlflow.db"
ARTIFACT_DIR = "mlartifacts"
# MLflow 3's UI opens an experiment in its GenAI view unless this tag says it is for model training
# (values from the UI's ExperimentKind enum, mlflow/server/js: CUSTOM_MODEL_DEVELOPMENT).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND_TRAINING = "custom_model_development"
T = TypeVar("T")


class TrackingError(RuntimeError):
    """The tracking store cannot be used (unreachable server, bad URI)."""


def default_uri() -> str:
    return f"sqlite:///{paths.project_root() / DB_FILE}"


def resolve_uri(uri: str | None = None) -> str:
    """``uri`` if given, else ``$MLFLOW_TRACKING_URI``, else the project's SQLite store."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        rel = uri[len("sqlite:///"):]
        if not os.path.isabs(rel):
            uri = f"sqlite:///{(paths.project_root() / rel).resolve()}"
    return uri


def default_tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI``, else params.yaml ``tracking.uri``, else ``sqlite:///<root>/mlflow.db``.

    The store the DVC train stages logged to: what ``predict`` and the report read by default.
    """
    return resolve_uri(os.environ.get("MLFLOW_TRACKING_URI") or _params_tracking_uri())


def _params_tracking_uri() -> str | None:
    """``tracking.uri`` of the project's params.yaml, if set."""
    from scratchbench.config.compose import read_params

    try:
        return ((read_params().get("tracking") or {}).get("uri")) or None
    except (FileNotFoundError, AttributeError, ValueError):
        return None


def sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def artifact_root(uri: str) -> Path | None:
    """Artifacts beside a SQLite store; ``None`` lets a server choose."""
    db = sqlite_path(uri)
    return db.parent / ARTIFACT_DIR if db is not None else None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """For ``http(s)://`` URIs, GET ``/health``; raise :class:`TrackingError` naming the URI if it fails."""
    if not uri.startswith(("http://", "https://")):
        return
    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            if resp.status != 200:
                raise TrackingError(f"MLflow tracking server {uri} answered HTTP {resp.status} on /health")
    except (urllib.error.URLError, OSError) as exc:
        raise TrackingError(
            f"MLflow tracking server {uri} is unreachable ({exc}). Start it, e.g. `mlflow server --host "
            f"127.0.0.1 --port 5000`, or use the local store (tracking=sqlite, unset MLFLOW_TRACKING_URI)."
        ) from exc


def retry(fn: Callable[[], T], attempts: int = 12, delay: float = 0.1) -> T:
    """Call ``fn`` again when SQLite says the database is locked (concurrent sweep workers)."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as exc:  # MlflowException wraps sqlalchemy OperationalError
            if "locked" not in str(exc).lower() or i == attempts - 1:
                raise
            time.sleep(delay * (i + 1))
    raise AssertionError("unreachable")


def init_store(uri: str | None = None, timeout: float = 5.0) -> Any:
    """Resolve, check and initialise the store (creates SQLite tables once); return an ``MlflowClient``.

    Call it in the launcher's parent process before sweep workers start, so two workers never
    create a fresh SQLite schema at the same time.
    """
    uri = resolve_uri(uri)
    check_reachable(uri, timeout)
    db = sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    with mlflow_start_up():
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        retry(lambda: client.search_experiments(max_results=1))  # a SQL store imports its parts here
    return client


#: imported by MLflow inside ``try/except ImportError`` for features this project does not use
#: (``mlflow.data.from_pandas`` datasets): 0.3-0.45 s of a 1.9-2.2 s import and first store use
MLFLOW_UNUSED_EXTRAS = ("pandas",)


@contextlib.contextmanager
def mlflow_start_up() -> Iterator[None]:
    """The context for a process's first MLflow import and store use: the collector paused, pandas blocked
    (:mod:`scratchbench.startup`); an ordinary block once MLflow's SQL store is imported."""
    from scratchbench.startup import blocked, collector_paused

    if "mlflow.store.tracking.sqlalchemy_store" in sys.modules:
        yield
        return
    with blocked(MLFLOW_UNUSED_EXTRAS), collector_paused():
        yield


def mlflow_client_class() -> type:
    """``mlflow.tracking.MlflowClient``, imported as :func:`mlflow_start_up` says."""
    with mlflow_start_up():
        from mlflow.tracking import MlflowClient
    return MlflowClient


def experiment_name(prefix: str, dataset: str) -> str:
    """Runs are grouped per dataset: ``<prefix>-<dataset>`` (e.g. ``scratchbench-mnist``)."""
    return f"{prefix}-{dataset}" if prefix else dataset


def get_or_create_experiment(client: Any, name: str) -> str:
    """Experiment id of ``name``, creating it (race-safe) with artifacts beside a SQLite store.

    The experiment is tagged as a model-training one (older experiments get the tag on first use),
    so the MLflow UI opens on its runs, metrics and charts.
    """
    exp = retry(lambda: client.get_experiment_by_name(name))
    if exp is not None:
        if exp.tags.get(EXPERIMENT_KIND_TAG) is None:
            retry(lambda: client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND_TRAINING))
        return exp.experiment_id
    root = artifact_root(client.tracking_uri)
    location = (root / name).as_uri() if root is not None else None
    try:
        return retry(lambda: client.create_experiment(name, artifact_location=location,
                                                      tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND_TRAINING}))
    except Exception:
        exp = client.get_experiment_by_name(name)  # another worker created it first
        if exp is None:
            raise
        return exp.experiment_id
