"""Assemble the report: runs -> tables, reproduction rows, figures, plot data, metrics.json."""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scratchbench.report import figures as F
from scratchbench.report.collect import (RunFilter, RunGroup, RunRecord, check_store, count_unfinished,
                                         group_runs, load_histories, load_runs)
from scratchbench.report.pool import FigurePool, drawn
from scratchbench.report.reproduction import (ReproRow, build_reproduction, presets_dir, published_values,
                                              verdict_counts)
from scratchbench.report.tables import Table, build_tables, seconds_per_epoch
from scratchbench.tracking.store import default_tracking_uri

OUTPUT_FILES = ("comparison.md", "comparison.html", "metrics.json")


@dataclass
class Report:
    out_dir: Path
    tracking_uri: str
    run_filter: RunFilter
    runs: list[RunRecord]
    groups: list[RunGroup]
    tables: list[Table]
    reproduction: list[ReproRow]
    figures: list[F.Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    generated: str = ""

    @property
    def cpus(self) -> str:
        """The CPU(s) the runs were recorded on (run tag ``cpu``)."""
        return "; ".join(sorted({r.tags["cpu"] for r in self.runs if r.tags.get("cpu")})) or "not recorded"

    @property
    def wall_text(self) -> str:
        """First run start to last run end, and the runs' own time added up."""
        spans = [(r.start_time, r.end_time) for r in self.runs if r.start_time and r.end_time >= r.start_time]
        if not spans:
            return "unknown"
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        busy = sum(e - s for s, e in spans)
        start = datetime.fromtimestamp(first / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return f"{(last - first) / 60000:.1f} min from {start} (runs open {busy / 60000:.1f} min in all)"

    @property
    def verdicts(self) -> dict[str, int]:
        return verdict_counts(self.reproduction)


FIGURE_KINDS = ("cost_curve", "published_curve", "decision_boundary")


def figure_declarations(conf_dir: Path | None = None) -> list[dict[str, Any]]:
    """The figures presets declare (``experiment.figures`` in ``conf/experiment/*.yaml``), each with its
    preset and reference (the figure's title and report section).

    ``cost_curve``: training cost per iteration of ``presets`` (default: the declaring one);
    ``published_curve``: the preset's published per-epoch ``metric`` against ours;
    ``decision_boundary``: each implementation's probability over the plane (2-D datasets).
    """
    out: dict[str, dict[str, Any]] = {}  # by file: a preset extending another may repeat its declaration
    for path in sorted(Path(conf_dir or presets_dir()).glob("*.yaml")):
        exp = (yaml.safe_load(path.read_text()) or {}).get("experiment") or {}
        for d in exp.get("figures") or []:
            if d.get("kind") not in FIGURE_KINDS:
                raise ValueError(f"{path}: experiment.figures kind {d.get('kind')!r}; valid: {', '.join(FIGURE_KINDS)}")
            preset = str(exp.get("name") or path.stem)
            out.setdefault(str(d["file"]), {**d, "preset": preset, "reference": str(exp.get("reference") or preset)})
    return list(out.values())


def _curve_figures(report: Report, fig_dir: Path, pool: FigurePool) -> list[Future]:
    """Learning curves, accuracy vs time and the curves presets declare (they need the runs' histories)."""
    groups, queued = report.groups, []
    for ds in sorted({g.dataset for g in groups}):
        queued.append(pool.draw(F.learning_curves, [g for g in groups if g.dataset == ds], ds, fig_dir))
    queued.append(pool.draw(F.accuracy_vs_time, groups, fig_dir))
    checks = [r.check for r in report.reproduction]
    for d in figure_declarations():
        path = fig_dir / d["file"]
        if d["kind"] == "cost_curve":
            presets = tuple(d.get("presets") or [d["preset"]])
            queued.append(pool.draw(F.cost_curve, [g for g in groups if g.experiment in presets], presets, path,
                                    d["reference"]))
        elif d["kind"] == "published_curve":
            published = published_values(checks, d["preset"], d.get("metric") or "val_accuracy")
            queued.append(pool.draw(F.published_curve, [g for g in groups if g.experiment == d["preset"]],
                                    d["preset"], published, path, d["reference"]))
    return queued


def _prediction_figures(groups: list[RunGroup], fig_dir: Path, tracking_uri: str, pool: FigurePool,
                        notes: list[str]) -> list[Future]:
    """Confusion matrices, sample grids and decision boundaries, from each configuration's test-set predictions."""
    from scratchbench.report.predictions import boundary_points, run_predictions

    boundaries = {d["preset"]: d for d in figure_declarations() if d["kind"] == "decision_boundary"}
    boundary_panels: dict[str, list] = {preset: [] for preset in boundaries}
    best_of: dict[str, RunGroup] = {}
    for g in groups:
        acc = g.metric("test_accuracy")
        cur = best_of.get(g.dataset)
        if acc and (cur is None or acc.mean > cur.metric("test_accuracy").mean):
            best_of[g.dataset] = g
    queued = []
    for g in groups:
        run = g.runs[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            preds = run_predictions(run, tracking_uri, boundary=g.experiment in boundaries)
        notes.extend(f"{g.label}: {w.message}" for w in caught)
        if preds is None:
            continue
        name = F.slug(f"{g.dataset}_{g.experiment}_{g.implementation}_{g.variant}")
        title = f"{g.label} on {g.dataset} (seed {run.seed or '?'})"
        queued.append(pool.draw(F.confusion_figure, preds.y_true, preds.y_pred, preds.class_names, title,
                                fig_dir / f"confusion_{name}.png", g.dataset))
        if best_of.get(g.dataset) is g and preds.images is not None and len(preds.images) == len(preds.y_true):
            queued.append(pool.draw(F.sample_grid, preds.images, preds.y_true, preds.y_pred, preds.class_names, title,
                                    fig_dir / f"samples_{name}.png", g.dataset))
        if preds.boundary is not None and g.experiment in boundaries:  # every implementation and variant
            boundary_panels[g.experiment].append((g.dataset, g.label, preds.boundary))
    for preset, panels in boundary_panels.items():
        pts = boundary_points(panels[0][0]) if panels else None
        if pts is not None:
            order = sorted((p[1:] for p in panels), key=lambda p: (not p[0].startswith("numpy"), p[0]))
            queued.append(pool.draw(F.decision_boundaries, order, pts[0], pts[1], fig_dir / boundaries[preset]["file"],
                                    boundaries[preset]["reference"], panels[0][0]))
    return queued


def _curve_files(report: Report, plot_dir: Path) -> None:
    """Per-configuration learning-curve CSVs for ``dvc plots`` (epoch, val_accuracy, loss, wall_seconds)."""
    for g in report.groups:
        run = g.runs[0]
        val = dict(run.history.get("val_accuracy", []))
        loss = dict(run.history.get("loss", []))
        secs = dict(run.history.get("epoch_seconds", []))
        steps = sorted(set(val) | set(loss))
        if not steps:
            continue
        wall, total, prev = [], 0.0, 0
        for s in steps:  # strided curves: a logged epoch time stands for the epochs since the last point
            total += secs.get(s, 0.0) * max(s - prev, 1)
            prev = s
            wall.append(total)
        path = plot_dir / f"{F.slug(g.dataset + '__' + g.experiment + '__' + g.implementation + '__' + g.variant)}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", "val_accuracy", "loss", "wall_seconds"])
            for s, t in zip(steps, wall, strict=True):
                w.writerow([s, val.get(s, ""), loss.get(s, ""), f"{t:.6g}"])


def _mean(agg) -> float | None:
    return None if agg is None else round(agg.mean, 6)


def metrics_dict(report: Report) -> dict[str, Any]:
    """What ``reports/metrics.json`` holds: compact numbers only, so ``dvc metrics show`` stays readable."""
    datasets: dict[str, Any] = {}
    for g in report.groups:
        spe = [s for s in (seconds_per_epoch(r) for r in g.runs) if s is not None]
        acc = g.metric("test_accuracy")
        entry: dict[str, Any] = {
            "test_accuracy": _mean(acc), "test_accuracy_sd": None if acc is None else round(acc.sd, 6),
            "seeds": len(g.runs), "seconds_per_epoch": round(float(np.mean(spe)), 6) if spe else None,
        }
        for m in ("fit_seconds", "inference_samples_per_second", "peak_memory_mb", "n_params", "train_samples"):
            entry[m] = _mean(g.metric(m))
        datasets.setdefault(g.dataset, {})[g.label] = entry
    repro: dict[str, Any] = {}
    for r in report.reproduction:
        key = " ".join([r.reference, r.preset] + ([r.implementation] if r.run_ids else []) +
                       ([f"[{r.variant}]"] if r.variant != r.check.variant else []) + [r.metric])
        repro[key] = {"metric": r.metric or None, "published": r.published_value, "ours": _mean(r.ours),
                      "difference": None if r.difference is None else round(r.difference, 6),
                      "source": r.check.source, "verdict": r.verdict, "why": r.why}
    return {"generated": report.generated, "n_runs": len(report.runs), "datasets": datasets,
            "reproduction": repro}


def _assemble(out_dir: Path, tracking_uri: str, run_filter: RunFilter, fig_dir: Path, predictions: bool) -> Report:
    """The report of the store's runs, its figures drawn into ``fig_dir`` by worker processes while this one
    reads the store (R8's figure needs no run, the prediction figures no history: each is queued at once)."""
    with FigurePool() as pool:
        r8 = pool.draw(F.activations_figure, fig_dir)
        runs = load_runs(tracking_uri, run_filter)
        groups = group_runs(runs)
        notes: list[str] = []
        from_predictions = _prediction_figures(groups, fig_dir, tracking_uri, pool, notes) if predictions else []
        load_histories(runs, tracking_uri)
        report = Report(out_dir, tracking_uri, run_filter, runs, groups, build_tables(groups), build_reproduction(runs),
                        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
        unfinished = count_unfinished(tracking_uri)
        if unfinished:
            report.notes.append("Not included (not FINISHED): "
                                + ", ".join(f"{n} {s.lower()}" for s, n in sorted(unfinished.items()))
                                + " run(s); see the MLflow UI for their error tags.")
        if not predictions:
            notes.append("Confusion matrices, sample grids and decision boundaries skipped (--no-predictions).")
        report.notes.extend(notes)
        report.figures.extend(drawn([r8, *_curve_figures(report, fig_dir, pool), *from_predictions]))
    return report


def build_report(out_dir: Path, tracking_uri: str | None = None, run_filter: RunFilter | None = None,
                 predictions: bool = True) -> Report:
    """Read runs from the MLflow store and write every report file under ``out_dir``.

    Files are written to a temporary sibling folder and moved into place at the end, so a
    failure never leaves a half-written report.
    """
    from scratchbench.report.render import render_html, render_markdown

    out_dir = Path(out_dir).resolve()
    tracking_uri = tracking_uri or default_tracking_uri()
    run_filter = run_filter or RunFilter()
    check_store(tracking_uri)  # a missing store: an error before anything is written
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "figures").mkdir(parents=True)
    (stage / "plots" / "curves").mkdir(parents=True)
    try:
        report = _assemble(out_dir, tracking_uri, run_filter, stage / "figures", predictions)
        _curve_files(report, stage / "plots" / "curves")
        (stage / "metrics.json").write_text(json.dumps(metrics_dict(report), indent=2, default=str) + "\n")
        (stage / "comparison.md").write_text(render_markdown(report, stage))
        (stage / "comparison.html").write_text(render_html(report, stage))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("figures", "plots"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
        shutil.move(str(stage / name), str(out_dir / name))
    for name in OUTPUT_FILES:
        shutil.move(str(stage / name), str(out_dir / name))
    shutil.rmtree(stage, ignore_errors=True)
    for fig in report.figures:
        fig.path = out_dir / "figures" / fig.path.name
    return report
