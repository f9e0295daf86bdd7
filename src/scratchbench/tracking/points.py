"""Write a run's metric points in one transaction when the store is SQL (SQLite, PostgreSQL).

MLflow's ``log_batch`` builds an ORM object per point and takes 1,000 at most: about 0.1 ms a point,
most of a spooled pipeline's ``record`` stage. For a SQLAlchemy store the same rows MLflow writes
(``metrics``, one ``latest_metrics`` row per key, NaN as 0 + ``is_nan``, +-inf as +-max float) go in
one executemany, through MLflow's own table definitions and session; any other store (an
``http://`` server), or a point already in the store, takes ``log_batch``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Iterable

from scratchbench.tracking.store import retry

Point = tuple[str, float, int, int]  # metric key, value, timestamp (ms), step
BATCH = 1000  # MLflow's log_batch limit on metrics


def sql_store(client: Any) -> Any | None:
    """The ``SqlAlchemyStore`` behind ``client``, else ``None`` (a REST store, a file store)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return store if isinstance(store, SqlAlchemyStore) else None


def log_points(client: Any, run_id: str, points: Iterable[Point]) -> None:
    """Record ``points`` in run ``run_id``: what ``log_batch`` records, in one SQL transaction if it can."""
    import sqlalchemy

    points = list(points)
    if not points:
        return
    store = sql_store(client)
    if store is not None:
        try:
            return retry(partial(_insert, store, run_id, points))
        except Exception as exc:  # MlflowException wraps the IntegrityError of a point already stored
            if not isinstance(exc.__cause__ or exc, sqlalchemy.exc.IntegrityError):
                raise
    _log_batches(client, run_id, points)


def _log_batches(client: Any, run_id: str, points: list[Point]) -> None:
    from mlflow.entities import Metric

    metrics = [Metric(k, float(v), int(ts), int(step)) for k, v, ts, step in points]
    for i in range(0, len(metrics), BATCH):
        retry(partial(client.log_batch, run_id, metrics=metrics[i:i + BATCH]))


def _rows(store: Any, run_id: str, points: list[Point]) -> tuple[list[dict], dict[str, dict]]:
    """Distinct ``metrics`` rows (MLflow's primary key) and the newest row per key: (step, timestamp, value)."""
    rows: dict[tuple, dict] = {}
    latest: dict[str, dict] = {}
    for key, value, ts, step in points:
        is_nan, v = store.sanitize_metric_value(float(value))
        row = {"run_uuid": run_id, "key": key, "value": v, "timestamp": int(ts), "step": int(step), "is_nan": is_nan}
        rows.setdefault((key, v, row["timestamp"], row["step"], is_nan), row)
        cur = latest.get(key)
        if cur is None or (row["step"], row["timestamp"], v) > (cur["step"], cur["timestamp"], cur["value"]):
            latest[key] = row
    return list(rows.values()), latest


def _insert(store: Any, run_id: str, points: list[Point]) -> None:
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric
    from sqlalchemy import insert

    rows, latest = _rows(store, run_id, points)
    with store.ManagedSessionMaker(read_only=False) as session:
        store._check_run_is_active(store._get_run(run_uuid=run_id, session=session))
        session.execute(insert(SqlMetric.__table__), rows)
        stored = (session.query(SqlLatestMetric)
                  .filter(SqlLatestMetric.run_uuid == run_id, SqlLatestMetric.key.in_(list(latest))).all())
        for old in stored:  # a key logged by an earlier call: keep the newer of the two
            new = latest.pop(old.key)
            if (new["step"], new["timestamp"], new["value"]) > (old.step, old.timestamp, old.value):
                for col in ("value", "timestamp", "step", "is_nan"):
                    setattr(old, col, new[col])
        if latest:
            session.execute(insert(SqlLatestMetric.__table__), list(latest.values()))
