"""A run spooled to files, recorded in the MLflow store later in one batch (``tracking.record: spool``).

The DVC train stages spool (no MLflow import, no store round trip in the run's path); the
``record`` stage then writes every spooled run with :func:`record_spools`. Layout of a spool
directory (``reports/runs/<key>/run/``)::

    run.json        experiment, run name, start/end time, status, params, tags, spool_id
    metrics.jsonl   one [key, value, timestamp_ms, step] per line (per-epoch history + finals)
    artifacts/      the run's artifacts, under their artifact paths

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
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Mapping

from scratchbench.tracking.names import TAG_PARENT
from scratchbench.tracking.points import Point, log_points
from scratchbench.tracking.run import RunLog

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
ARTIFACTS = "artifacts"
TAG_SPOOL_ID = "spool_id"
PARAM_BATCH = 100  # MLflow's log_batch limit on params


class SpoolRun(RunLog):
    """Same calls as :class:`~scratchbench.tracking.run.TrackedRun`, written under ``directory``."""

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
            "params": {}, "tags": {k: str(v) for k, v in (tags or {}).items()},
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


def record_spools(spools: Iterable[str | Path], client: Any) -> list[dict[str, str]]:
    """Write each spooled run to the store behind ``client``; returns ``{spool, run_id, action}`` per spool."""
    from mlflow.entities import Param

    from scratchbench.tracking.store import get_or_create_experiment, retry

    out: list[dict[str, str]] = []
    exp_ids: dict[str, str] = {}
    for d in spools:
        s = read_spool(d)
        sid = s[TAG_SPOOL_ID]
        if s["experiment"] not in exp_ids:
            exp_ids[s["experiment"]] = get_or_create_experiment(client, s["experiment"])
        exp_id = exp_ids[s["experiment"]]
        # partial() binds this iteration's values, so a retried call can never see a later loop's variables
        found = retry(partial(client.search_runs, [exp_id], filter_string=f"tags.{TAG_SPOOL_ID} = '{sid}'"))
        done = [r for r in found if r.info.status != "RUNNING"]
        if done:
            out.append({"spool": str(d), "run_id": done[0].info.run_id, "action": "skipped"})
            continue
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
        art = Path(d) / ARTIFACTS
        if any(art.iterdir()):
            retry(partial(client.log_artifacts, rid, str(art)))
        end_time = s["end_time"] or int(time.time() * 1000)
        retry(partial(client.set_terminated, rid, status=status, end_time=end_time))
        out.append({"spool": str(d), "run_id": rid, "action": "recorded"})
    return out
