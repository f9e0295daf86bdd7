"""One MLflow run through an explicit ``MlflowClient`` (no global active-run state).

Per-epoch metrics are buffered and written in batches (SQLite-friendly); long full-batch runs
are thinned to at most ``max_points`` steps (the stride is logged as param ``tracking.curve_stride``).
:class:`RunLog` holds that logic with no MLflow import, so a spooled run (``tracking/spool.py``)
shares it; :class:`TrackedRun` writes each batch to the store as it comes.
"""

from __future__ import annotations

import json
import math
import time
from functools import partial
from pathlib import Path
from typing import Any, Mapping

from scratchbench.tracking.names import TAG_PARENT
from scratchbench.tracking.points import Point, log_points
from scratchbench.tracking.store import get_or_create_experiment, retry

MAX_PARAM_CHARS = 6000
MAX_TAG_CHARS = 5000


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mapping -> ``{"a.b.c": "value"}``; lists become JSON strings."""
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)[:MAX_PARAM_CHARS]
        else:
            out[key] = str(v)[:MAX_PARAM_CHARS]
    return out


class RunLog:
    """Params, tags, thinned per-epoch metrics and artifacts of one run; subclasses say where they go."""

    run_id: str
    defers_artifacts = False  #: True when :meth:`defer_artifact` leaves artifacts to a later record stage

    def __init__(self, max_points: int = 2000) -> None:
        self.max_points = max(1, int(max_points))
        self.stride = 1
        self._buffer: list[Point] = []
        self._last_flush = time.monotonic()
        self._last_step: dict[str, tuple[int, float]] = {}
        self.ended = False

    # what a subclass writes -----------------------------------------------------------------
    def _write_params(self, params: dict[str, str]) -> None:
        raise NotImplementedError

    def _write_tags(self, tags: dict[str, str]) -> None:
        raise NotImplementedError

    def _write_metrics(self, points: list[Point]) -> None:
        raise NotImplementedError

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        raise NotImplementedError

    def _terminate(self, status: str) -> None:
        raise NotImplementedError

    def defer_artifact(self, recipe: Mapping[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} makes its artifacts in the run")

    # params / tags ---------------------------------------------------------------------------
    def log_params(self, params: Mapping[str, Any]) -> None:
        self._write_params({k: str(v)[:MAX_PARAM_CHARS] for k, v in params.items()})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._write_tags({k: str(v)[:MAX_TAG_CHARS] for k, v in tags.items() if v is not None})

    # metrics ---------------------------------------------------------------------------------
    def set_expected_steps(self, n: int) -> None:
        self.stride = max(1, math.ceil(n / self.max_points))

    def log_epoch(self, step: int, values: Mapping[str, float | None]) -> None:
        """Buffer one epoch's metrics (thinned by ``stride``; the last epoch is always kept)."""
        clean = {k: float(v) for k, v in values.items() if v is not None}
        for k, v in clean.items():
            self._last_step[k] = (step, v)
        if (step - 1) % self.stride == 0:
            ts = int(time.time() * 1000)
            self._buffer.extend((k, v, ts, step) for k, v in clean.items())
            if len(self._buffer) >= 900 or time.monotonic() - self._last_flush > 2.0:
                self.flush()

    def flush(self) -> None:
        while self._buffer:
            chunk, self._buffer = self._buffer[:900], self._buffer[900:]
            self._write_metrics(chunk)
        self._last_flush = time.monotonic()

    def finish_curve(self) -> None:
        """Write the final epoch's values if thinning skipped them."""
        ts = int(time.time() * 1000)
        queued = {(p[0], p[3]) for p in self._buffer}
        for k, (step, v) in self._last_step.items():
            if (step - 1) % self.stride != 0 and (k, step) not in queued:
                self._buffer.append((k, v, ts, step))
        self.flush()

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        ts = int(time.time() * 1000)
        points = [(k, float(v), ts, step) for k, v in values.items() if v is not None]
        if points:
            self._write_metrics(points)

    def end(self, status: str) -> None:
        """End with ``FINISHED``, ``FAILED`` or ``KILLED`` (idempotent; pending metrics flushed first)."""
        if self.ended:
            return
        try:
            self.flush()
        finally:
            self._terminate(status)
            self.ended = True


class TrackedRun(RunLog):
    """Create a run in the store, log params/metrics/tags/artifacts as they come, end it with a status."""

    def __init__(self, client: Any, experiment: str, run_name: str, tags: Mapping[str, str] | None = None,
                 parent_run_id: str | None = None, max_points: int = 2000) -> None:
        super().__init__(max_points)
        self.client = client
        self.experiment_id = get_or_create_experiment(client, experiment)
        all_tags = {k: str(v) for k, v in (tags or {}).items()}
        if parent_run_id:
            all_tags[TAG_PARENT] = parent_run_id
        run = retry(lambda: client.create_run(self.experiment_id, tags=all_tags, run_name=run_name))
        self.run_id: str = run.info.run_id

    def _write_params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):
            retry(partial(self.client.log_batch, self.run_id, params=items[i:i + 100]))

    def _write_tags(self, tags: dict[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, v) for k, v in tags.items()]
        for i in range(0, len(items), 100):
            retry(partial(self.client.log_batch, self.run_id, tags=items[i:i + 100]))

    def _write_metrics(self, points: list[Point]) -> None:
        log_points(self.client, self.run_id, points)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        retry(lambda: self.client.log_artifact(self.run_id, str(path), artifact_path))

    def _terminate(self, status: str) -> None:
        retry(lambda: self.client.set_terminated(self.run_id, status=status))
