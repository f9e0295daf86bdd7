"""Hydra callback: one MLflow parent run per ``--multirun``; the jobs log nested child runs.

``on_multirun_start`` runs in the launcher's parent process before any worker starts: it
initialises the store (so joblib workers never race to create a fresh SQLite schema), creates
the parent run and publishes its id (env var + a file in the sweep dir) for the children.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from scratchbench.tracking.names import PARENT_RUN_ENV, PARENT_RUN_FILE, TAG_PARENT, TAG_SWEEP
from scratchbench.tracking.run import TrackedRun
from scratchbench.tracking.store import experiment_name, init_store, resolve_uri


def read_parent_run_id(sweep_dir: str | os.PathLike[str] | None) -> str | None:
    """Parent run id of the current sweep (env var first, then the sweep dir file)."""
    if os.environ.get(PARENT_RUN_ENV):
        return os.environ[PARENT_RUN_ENV]
    if sweep_dir is not None:
        f = Path(sweep_dir) / PARENT_RUN_FILE
        if f.is_file():
            return json.loads(f.read_text())["run_id"]
    return None


class MlflowSweepCallback(Callback):
    """Creates/ends the sweep's parent run (children find it via :func:`read_parent_run_id`)."""

    def __init__(self) -> None:
        self.run: TrackedRun | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Without the parent run: a launcher that pickles Hydra's context for each job (joblib) sends
        this callback to its workers, which never use the run (their jobs find it by
        :func:`read_parent_run_id`), and unpickling its MLflow client there imported all of MLflow
        before the job started, outside the store's start-up (``tracking.store.mlflow_start_up``)."""
        return {**self.__dict__, "run": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        tr = config.get("tracking") or {}
        uri = resolve_uri(tr.get("uri"))
        os.environ["MLFLOW_TRACKING_URI"] = uri  # workers resolve the same store
        client = init_store(uri, float(tr.get("connect_timeout", 5.0)))
        exp = config.get("experiment") or {}
        dataset = (config.get("dataset") or {}).get("name", "unknown")
        sweep_dir = Path(str(config.hydra.sweep.dir))
        overrides = list(config.hydra.overrides.task)
        name = f"sweep-{exp.get('name', 'adhoc')}-{sweep_dir.name}"
        self.run = TrackedRun(client, experiment_name(tr.get("experiment_prefix", "scratchbench"), dataset), name,
                              tags={TAG_SWEEP: "parent", "experiment": exp.get("name", "adhoc"),
                                    "reference": exp.get("reference") or "", "dataset": dataset,
                                    "sweep_dir": str(sweep_dir), "overrides": " ".join(overrides)})
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / PARENT_RUN_FILE).write_text(json.dumps({"run_id": self.run.run_id, "tracking_uri": uri}))
        os.environ[PARENT_RUN_ENV] = self.run.run_id
        atexit.register(self._end_if_interrupted)

    def _end_if_interrupted(self) -> None:
        """The sweep died before ``on_multirun_end`` (Ctrl-C, exception): the parent is KILLED, not RUNNING."""
        if self.run is not None and not self.run.ended:
            try:
                self.run.end("KILLED")
            except Exception:  # noqa: BLE001 - best effort at interpreter exit
                pass

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.run is None:
            return
        client = self.run.client
        children = client.search_runs(
            experiment_ids=[e.experiment_id for e in client.search_experiments()],
            filter_string=f"tags.`{TAG_PARENT}` = '{self.run.run_id}'",
            max_results=5000,
        )
        counts: dict[str, int] = {}
        for r in children:
            counts[r.info.status] = counts.get(r.info.status, 0) + 1
        self.run.log_metrics({"children": len(children), "children_failed": counts.get("FAILED", 0),
                              "children_killed": counts.get("KILLED", 0)})
        self.run.end("FINISHED")
        os.environ.pop(PARENT_RUN_ENV, None)
