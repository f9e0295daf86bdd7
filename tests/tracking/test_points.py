"""log_points writes what MLflow's own log_batch writes: history, latest value per key, NaN and +-inf, duplicates."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from scratchbench.tracking.points import log_points, sql_store

INF = float("inf")
# two calls, as a live run flushes twice: a later step, an older timestamp, a duplicate, NaN, +-inf, a tie
FIRST = [("loss", 0.5, 1000, 1), ("loss", 0.4, 1001, 2), ("loss", 0.4, 1001, 2), ("acc", math.nan, 1000, 1),
         ("acc", 0.25, 999, 3), ("big", INF, 1000, 0), ("small", -INF, 1000, 0), ("tie", 0.0, 5, 1)]
SECOND = [("loss", 0.3, 900, 3), ("acc", 0.75, 2000, 2), ("tie", math.nan, 5, 1), ("new", 1.0, 1, 0)]


def _history(client, run_id: str, keys: set[str]) -> dict[str, list]:
    return {k: sorted((m.step, m.timestamp, math.isnan(m.value), 0.0 if math.isnan(m.value) else m.value)
                      for m in client.get_metric_history(run_id, k)) for k in keys}


def _latest(client, run_id: str) -> dict[str, object]:
    return {k: "nan" if math.isnan(v) else v for k, v in client.get_run(run_id).data.metrics.items()}


def test_log_points_records_what_log_batch_records(tmp_path: Path, template_store: Path) -> None:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    shutil.copyfile(template_store, tmp_path / "mlflow.db")
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("points")
    ours, theirs = client.create_run(exp).info.run_id, client.create_run(exp).info.run_id
    assert sql_store(client) is not None  # the one-transaction path, not the fallback
    for points in (FIRST, SECOND):
        log_points(client, ours, points)
        client.log_batch(theirs, metrics=[Metric(k, v, ts, s) for k, v, ts, s in points])
    keys = {p[0] for p in FIRST + SECOND}
    assert _history(client, ours, keys) == _history(client, theirs, keys)
    assert _latest(client, ours) == _latest(client, theirs)
    assert _latest(client, ours)["loss"] == 0.3 and _latest(client, ours)["big"] > 1e308
    log_points(client, ours, SECOND)  # points already stored: MLflow's log_batch drops them, so do we
    assert _history(client, ours, keys) == _history(client, theirs, keys)
    client.set_terminated(ours)
    client.delete_run(ours)
    with pytest.raises(Exception, match="must be in the 'active' state"):
        log_points(client, ours, [("late", 1.0, 1, 0)])
