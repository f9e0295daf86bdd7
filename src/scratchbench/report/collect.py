"""MLflow store -> tidy run records: filters, latest run per configuration, seed aggregation."""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from scratchbench.tracking.store import default_tracking_uri


# Param groups that identify a configuration (seed and bookkeeping params excluded).
_CONFIG_PARAM_PREFIXES = ("model.", "optimizer.", "train.", "dataset.")
_NOT_CONFIG_PARAMS = ("model.implementation",)  # the implementation's class path: keyed by the implementation tag


def _sqlite_file(tracking_uri: str) -> str | None:
    """The database file of a ``sqlite:///`` store (``None`` for any other store)."""
    db = tracking_uri[len("sqlite:///"):] if tracking_uri.startswith("sqlite:///") else ""
    return db if db and db != ":memory:" else None


def check_store(tracking_uri: str) -> None:
    """A SQLite store must already exist (reading must not silently create an empty one); a server must answer."""
    from scratchbench.tracking.store import check_reachable

    db = _sqlite_file(tracking_uri)
    if db and not os.path.isfile(db):
        raise FileNotFoundError(f"MLflow store {tracking_uri}: database file {db} does not exist "
                                "(train something first, or pass --tracking-uri)")
    check_reachable(tracking_uri)


@dataclass
class RunRecord:
    """One finished MLflow run with its final metrics, params and tags."""

    run_id: str
    mlflow_experiment: str
    start_time: int
    status: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    artifact_uri: str = ""
    end_time: int = 0
    history: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def experiment(self) -> str:
        return self.tags.get("experiment", self.mlflow_experiment)

    @property
    def dataset(self) -> str:
        return self.tags.get("dataset", "?")

    @property
    def implementation(self) -> str:
        return self.tags.get("implementation", "?")

    @property
    def is_training(self) -> bool:
        """False for figure-only runs (e.g. R8's ``task=activations``) that train no model."""
        return self.tags.get("task", "train") != "activations" and self.implementation != "?"

    @property
    def reference(self) -> str:
        return self.tags.get("reference", "")

    @property
    def seed(self) -> str:
        return self.tags.get("seed", self.param("seed", ""))

    def param(self, name: str, default: str | None = None) -> str | None:
        """A param by exact key, else by its last dotted component (``train.epochs`` ~ ``epochs``)."""
        if name in self.params:
            return self.params[name]
        for key, value in self.params.items():
            if key.split(".")[-1] == name.split(".")[-1]:
                return value
        return default

    @cached_property
    def config_key(self) -> tuple[Any, ...]:
        """Identity of the configuration, seed excluded: same key = repeats of one setup."""
        fixed = tuple(sorted((k, v) for k, v in self.params.items()
                             if k.startswith(_CONFIG_PARAM_PREFIXES) and k not in _NOT_CONFIG_PARAMS
                             and v != "None"))  # an unset option is the same configuration as an absent one
        return (self.experiment, self.dataset, self.implementation, self.tags.get("profile", ""),
                self.tags.get("variant", ""), fixed)

    @property
    def group_key(self) -> tuple[str, str, str, str]:
        """What a report row stands for: dataset, experiment, implementation, profile."""
        return (self.dataset, self.experiment, self.implementation, self.tags.get("profile", ""))


@dataclass(frozen=True)
class RunFilter:
    """Which runs a report covers; empty sequences mean "all"."""

    experiments: Sequence[str] = ()
    datasets: Sequence[str] = ()
    implementations: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    latest_only: bool = True

    def accepts(self, run: RunRecord) -> bool:
        if self.experiments and run.experiment not in self.experiments:
            return False
        if self.datasets and run.dataset not in self.datasets:
            return False
        if self.implementations and run.implementation not in self.implementations:
            return False
        return all(run.tags.get(k) == v for k, v in self.tags.items())


def parse_tag_filters(items: Iterable[str]) -> dict[str, str]:
    """``["profile=smoke", ...]`` -> dict; a malformed item is an error naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag expects KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def _client(tracking_uri: str | None):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from scratchbench.tracking.store import mlflow_client_class

    return mlflow_client_class()(tracking_uri=tracking_uri or default_tracking_uri())


def load_runs(tracking_uri: str | None = None, run_filter: RunFilter | None = None) -> list[RunRecord]:
    """Finished runs of every active MLflow experiment that pass ``run_filter``.

    With ``latest_only`` (default) only the newest run per configuration and seed is kept.
    """
    from mlflow.entities import ViewType

    run_filter = run_filter or RunFilter()
    check_store(tracking_uri or default_tracking_uri())
    client = _client(tracking_uri)
    experiments = client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    names = {e.experiment_id: e.name for e in experiments}
    records: list[RunRecord] = []
    if not names:
        return records
    token = None
    while True:
        page = client.search_runs(
            list(names), filter_string="attributes.status = 'FINISHED'", max_results=1000,
            order_by=["attributes.start_time DESC"], page_token=token,
        )
        for run in page:
            rec = RunRecord(
                run_id=run.info.run_id,
                mlflow_experiment=names.get(run.info.experiment_id, run.info.experiment_id),
                start_time=int(run.info.start_time or 0),
                status=run.info.status,
                tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
                params=dict(run.data.params),
                metrics={k: float(v) for k, v in run.data.metrics.items()},
                artifact_uri=run.info.artifact_uri or "",
                end_time=int(run.info.end_time or 0),
            )
            if rec.tags.get("sweep") != "parent" and run_filter.accepts(rec):  # sweep parents hold no model
                records.append(rec)
        token = page.token
        if not token:
            break
    records.sort(key=lambda r: r.start_time, reverse=True)
    if run_filter.latest_only:
        seen: set[tuple[Any, ...]] = set()
        kept = []
        for rec in records:
            key = (rec.config_key, rec.seed)
            if key not in seen:
                seen.add(key)
                kept.append(rec)
        records = kept
    return records


def count_unfinished(tracking_uri: str | None = None) -> dict[str, int]:
    """How many runs ended FAILED / KILLED / are still RUNNING (reported, never silently dropped)."""
    from mlflow.entities import ViewType

    client = _client(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    counts: dict[str, int] = {}
    if ids:
        for run in client.search_runs(ids, filter_string="attributes.status != 'FINISHED'", max_results=5000):
            counts[run.info.status] = counts.get(run.info.status, 0) + 1
    return counts


def load_histories(runs: Sequence[RunRecord], tracking_uri: str | None = None,
                   keys: Sequence[str] = ("loss", "val_accuracy", "epoch_seconds")) -> None:
    """Fill ``run.history[key] = [(step, value), ...]`` (sorted by step) for each run.

    The default keys are the curves the report draws and times. A SQLite store is read in one
    query (:func:`_sqlite_histories`), any other through the client, one call per run and key.
    """
    db = _sqlite_file(tracking_uri or default_tracking_uri())
    wanted = [(run, key) for run in runs for key in keys if key not in run.history]
    if db:
        found = _sqlite_histories(db, {run.run_id for run, _ in wanted}, keys)
        for run, key in wanted:
            run.history[key] = sorted(found.get((run.run_id, key), []))
        return
    client = _client(tracking_uri)
    for run, key in wanted:
        run.history[key] = sorted((int(m.step), float(m.value)) for m in client.get_metric_history(run.run_id, key))


History = list[tuple[int, float]]  # (step, value) points of one metric


def _sqlite_histories(db: str, run_ids: set[str], keys: Sequence[str]) -> dict[tuple[str, str], History]:
    """``{(run id, key): [(step, value), ...]}`` from MLflow's ``metrics`` table, read-only: the points
    ``get_metric_history`` returns (NaN is stored as ``is_nan``), without an ORM round trip per run and key."""
    import sqlite3

    out: dict[tuple[str, str], History] = {}
    con = sqlite3.connect(Path(db).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = con.execute(f"SELECT run_uuid, key, step, value, is_nan FROM metrics WHERE key IN "
                           f"({', '.join('?' * len(keys))})", list(keys))
        for run_id, key, step, value, is_nan in rows:
            if run_id in run_ids:
                out.setdefault((run_id, key), []).append((int(step), float("nan") if is_nan else float(value)))
    finally:
        con.close()
    return out


@dataclass
class Aggregate:
    """A metric over the seeds of one configuration."""

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> "Aggregate | None":
        vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
        if not vals:
            return None
        sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
        return cls(statistics.fmean(vals), sd, len(vals))


@dataclass
class RunGroup:
    """All seeds of one configuration (dataset, experiment, implementation, profile, params)."""

    dataset: str
    experiment: str
    implementation: str
    profile: str
    runs: list[RunRecord]
    variant: str = ""  # params that tell this group apart from siblings with the same names

    def metric(self, name: str) -> Aggregate | None:
        return Aggregate.of(r.metrics.get(name) for r in self.runs)

    @property
    def label(self) -> str:
        extra = f", {self.variant}" if self.variant else ""
        return f"{self.implementation} ({self.experiment}{extra})"


def config_labels(keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], str]:
    """For sibling configurations (``RunRecord.config_key``), the params that tell them apart
    (``"learning_rate=0.1, epochs=50"``); '' for a configuration without siblings."""
    dicts = [dict(k[-1]) for k in keys]
    names = set().union(*dicts) if len(keys) > 1 else set()
    differing = sorted(n for n in names if len({d.get(n) for d in dicts}) > 1)
    return {k: ", ".join(f"{n.split('.')[-1]}={d.get(n, '-')}" for n in differing)
            for k, d in zip(keys, dicts, strict=True)}


def group_runs(runs: Sequence[RunRecord]) -> list[RunGroup]:
    """Group runs by configuration (seeds aggregated), sorted by dataset, experiment, implementation."""
    by_config: dict[tuple[Any, ...], list[RunRecord]] = {}
    for run in runs:
        if run.is_training:
            by_config.setdefault(run.config_key, []).append(run)
    siblings: dict[tuple[str, str, str, str], list[tuple[Any, ...]]] = {}
    for key, rs in by_config.items():
        siblings.setdefault(rs[0].group_key, []).append(key)
    out = []
    for gkey, keys in siblings.items():
        # runs tagged with different preset variants (as written beside "started as <framework>") are
        # labelled by that tag; otherwise by the params that differ between the sibling configurations
        by_tag = len({by_config[k][0].tags.get("variant", "") for k in keys}) > 1
        labels = {} if by_tag else config_labels(keys)
        for key in keys:
            rs = sorted(by_config[key], key=lambda r: r.seed)
            variant = rs[0].tags.get("variant", "") if by_tag else labels[key]
            out.append(RunGroup(*gkey, runs=rs, variant=variant))
    out.sort(key=lambda g: (g.dataset, g.experiment, g.implementation, g.profile, g.variant))
    return out
