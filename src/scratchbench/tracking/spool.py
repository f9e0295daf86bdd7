"""A run spooled to files, recorded in the MLflow store later in one batch (``tracking.record: spool``).

The DVC train stages spool (no MLflow import, no store round trip in the run's path); the
``record`` stage then writes every spooled run with :func:`record_spools`. Layout of a spool
directory (``reports/runs/<key>/run/``)::

    run.json        experiment, run name, start/end time, status, params, tags, spool_id,
                    deferred (artifacts the record stage makes: name + recipe)
    metrics.jsonl   one [key, value, timestamp_ms, step] per line (per-epoch history + finals)
    artifacts/      the run's artifacts, under their artifact paths

A spooled run defers what it can make later from its own artifacts (its learning-curve PNG, drawn
from its CSV): the record stage renders it, so no matplotlib import or drawing sits in the run's path.

Recording is idempotent: the run carries tag ``spool_id`` and a spool already recorded in the
store (terminated) is skipped; a half-recorded one (still RUNNING) is deleted and recorded again.
A stage that reruns writes a new spool (new ``spool_id``), so it adds its new run, as a direct
run would.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from scratchbench.tracking.names import TAG_PARENT
from scratchbench.tracking.points import Point, log_points
from scratchbench.tracking.run import RunLog

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
ARTIFACTS = "artifacts"
TAG_SPOOL_ID = "spool_id"
PARAM_BATCH = 100  # MLflow's log_batch limit on params

#: ``render(recipe, artifacts_dir, out_dir) -> path``: makes a deferred artifact in ``out_dir``
Renderer = Callable[[Mapping[str, Any], Path, Path], Path]


class SpoolRun(RunLog):
    """Same calls as :class:`~scratchbench.tracking.run.TrackedRun`, written under ``directory``."""

    defers_artifacts = True

    def __init__(self, directory: str | Path, experiment: str, run_name: str,
                 tags: Mapping[str, str] | None = None, parent_run_id: str | None = None,
                 max_points: int = 2000) -> None:
        super().__init__(max_points)
        self.dir = Path(directory)
        if self.dir.exists():
            shutil.rmtree(self.dir)  # a rerun replaces the stage's spool
        (self.dir / ARTIFACTS).mkdir(parents=True)
        self.run_id = uuid.uuid4().hex
        self.meta: dict[str, Any] = {
            TAG_SPOOL_ID: self.run_id, "experiment": experiment, "run_name": run_name,
            "start_time": int(time.time() * 1000), "end_time": None, "status": "RUNNING",
            "params": {}, "tags": {k: str(v) for k, v in (tags or {}).items()}, "deferred": [],
        }
        if parent_run_id:
            self.meta["tags"][TAG_PARENT] = parent_run_id
        self.meta["tags"][TAG_SPOOL_ID] = self.run_id
        self._metrics = open(self.dir / METRICS_FILE, "a", encoding="utf-8")
        self._save()

    def _save(self) -> None:
        tmp = self.dir / (RUN_FILE + ".tmp")
        tmp.write_text(json.dumps(self.meta, indent=1, sort_keys=True))
        tmp.replace(self.dir / RUN_FILE)

    def _write_params(self, params: dict[str, str]) -> None:
        self.meta["params"].update(params)

    def _write_tags(self, tags: dict[str, str]) -> None:
        self.meta["tags"].update(tags)

    def _write_metrics(self, points: list[Point]) -> None:
        self._metrics.write("".join(json.dumps(list(p)) + "\n" for p in points))

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        dest = self.dir / ARTIFACTS / (artifact_path or "")
        dest.mkdir(parents=True, exist_ok=True)
        path = Path(path)
        if path.is_dir():
            shutil.copytree(path, dest / path.name, dirs_exist_ok=True)
        else:
            shutil.copy2(path, dest / path.name)

    def defer_artifact(self, recipe: Mapping[str, Any]) -> None:
        """Leave an artifact to the record stage (see :data:`Renderer`); ``recipe`` is JSON."""
        self.meta["deferred"].append(dict(recipe))
        self._save()

    def _terminate(self, status: str) -> None:
        self._metrics.close()
        self.meta.update(status=status, end_time=int(time.time() * 1000))
        self._save()


def read_spool(directory: str | Path) -> dict[str, Any]:
    """The spooled run: ``run.json``'s fields plus ``metrics`` (list of points)."""
    d = Path(directory)
    meta = json.loads((d / RUN_FILE).read_text())
    lines = (d / METRICS_FILE).read_text().splitlines() if (d / METRICS_FILE).is_file() else []
    meta["metrics"] = [tuple(json.loads(line)) for line in lines if line.strip()]
    meta["dir"] = str(d)
    return meta


def find_spools(root: str | Path) -> list[Path]:
    """Every spool directory under ``root`` (sorted, so records keep the pipeline's order)."""
    return sorted(p.parent for p in Path(root).glob(f"**/{RUN_FILE}") if (p.parent / ARTIFACTS).is_dir())


def record_spools(spools: Iterable[str | Path], client: Any, render: Renderer | None = None,
                  submit: Callable[..., Future] | None = None) -> list[dict[str, str]]:
    """Write each spooled run to the store behind ``client``; returns ``{spool, run_id, action}`` per spool.

    ``render`` makes the deferred artifacts of the runs to record (in a temp dir: the spool, a DVC
    output, stays as it is; without ``render`` they are left out). ``submit(fn, *args)`` runs it,
    e.g. on worker processes, while earlier runs are written; by default in this process.
    """
    import tempfile

    from scratchbench.tracking.store import get_or_create_experiment, retry

    exp_ids: dict[str, str] = {}
    out: dict[int, dict[str, str]] = {}
    todo: list[tuple[int, Path, dict[str, Any], str, list[Any]]] = []
    for i, d in enumerate(spools):
        s = read_spool(d)
        if s["experiment"] not in exp_ids:
            exp_ids[s["experiment"]] = get_or_create_experiment(client, s["experiment"])
        exp_id = exp_ids[s["experiment"]]
        # partial() binds this iteration's values, so a retried call can never see a later loop's variables
        found = retry(partial(client.search_runs, [exp_id], filter_string=f"tags.{TAG_SPOOL_ID} = '{s[TAG_SPOOL_ID]}'"))
        done = [r for r in found if r.info.status != "RUNNING"]
        if done:
            out[i] = {"spool": str(d), "run_id": done[0].info.run_id, "action": "skipped"}
        else:
            todo.append((i, Path(d), s, exp_id, found))
    with tempfile.TemporaryDirectory(prefix="scratchbench-record-") as tmp:
        made: dict[int, list[tuple[Future, str | None]]] = {}
        for i, d, s, _, _ in todo:  # queued first: drawn while the runs before are written
            if render is not None and s.get("deferred"):
                where = Path(tmp) / str(i)
                where.mkdir()
                made[i] = [((submit or _now)(render, recipe, d / ARTIFACTS, where), recipe.get("artifact_path"))
                           for recipe in s["deferred"]]
        for i, d, s, exp_id, found in todo:
            rid = _record_one(client, d, s, exp_id, found, made.get(i, []))
            out[i] = {"spool": str(d), "run_id": rid, "action": "recorded"}
    return [out[i] for i in sorted(out)]


def _now(fn: Callable[..., Any], *args: Any) -> Future:
    done: Future = Future()
    done.set_result(fn(*args))
    return done


def _record_one(client: Any, d: Path, s: dict[str, Any], exp_id: str, found: list[Any],
                made: list[tuple[Future, str | None]]) -> str:
    """Write one spooled run (``found``: its half-recorded runs, deleted first); returns the new run id."""
    from mlflow.entities import Param

    from scratchbench.tracking.store import retry

    for r in found:  # a record interrupted half way
        retry(partial(client.delete_run, r.info.run_id))
    status = s["status"] if s["status"] != "RUNNING" else "KILLED"  # the process died before ending it
    run = retry(partial(client.create_run, exp_id, start_time=s["start_time"], tags=s["tags"],
                        run_name=s["run_name"]))
    rid = run.info.run_id
    params = [Param(k, v) for k, v in s["params"].items()]
    for i in range(0, len(params), PARAM_BATCH):
        retry(partial(client.log_batch, rid, params=params[i:i + PARAM_BATCH]))
    log_points(client, rid, s["metrics"])
    art = d / ARTIFACTS
    if any(art.iterdir()):
        retry(partial(client.log_artifacts, rid, str(art)))
    for future, artifact_path in made:
        retry(partial(client.log_artifact, rid, str(future.result()), artifact_path))
    end_time = s["end_time"] or int(time.time() * 1000)
    retry(partial(client.set_terminated, rid, status=status, end_time=end_time))
    return rid
