"""Per-dataset comparison tables (one row per configuration, seeds aggregated), best value marked."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from scratchbench.report.collect import Aggregate, RunGroup, RunRecord


@dataclass
class Cell:
    text: str
    value: float | None = None
    best: bool = False


@dataclass
class Column:
    title: str
    get: Callable[[RunGroup], Cell]
    better: Literal["max", "min"] | None = None


@dataclass
class Table:
    dataset: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    groups: list[RunGroup] = field(default_factory=list)


def _fmt(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def seconds_per_epoch(run: RunRecord) -> float | None:
    """Mean of the logged ``epoch_seconds`` curve, else its last value, else fit time / epochs."""
    curve = run.history.get("epoch_seconds")
    if curve:
        return statistics.fmean(v for _, v in curve)
    if "epoch_seconds" in run.metrics:
        return run.metrics["epoch_seconds"]
    epochs = run.param("train.epochs")
    try:
        n = float(epochs) if epochs is not None else 0.0
    except ValueError:
        n = 0.0
    fit = run.metrics.get("fit_seconds")
    return fit / n if fit is not None and n > 0 else None


def _metric_cell(name: str, digits: int = 2) -> Callable[[RunGroup], Cell]:
    def get(group: RunGroup) -> Cell:
        agg = group.metric(name)
        return Cell(_fmt(agg.mean if agg else None, digits), agg.mean if agg else None)
    return get


def _accuracy(group: RunGroup) -> Cell:
    agg = group.metric("test_accuracy")
    if agg is None:
        return Cell("—")
    sd = f" ± {agg.sd:.4f}" if agg.n > 1 else ""
    return Cell(f"{agg.mean:.4f}{sd} (n={agg.n})", agg.mean)


def _sig(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def _sec_per_epoch(group: RunGroup) -> Cell:
    agg = Aggregate.of(seconds_per_epoch(r) for r in group.runs)
    return Cell(_sig(agg.mean if agg else None), agg.mean if agg else None)


def _count(name: str) -> Callable[[RunGroup], Cell]:
    def get(group: RunGroup) -> Cell:
        agg = group.metric(name)
        return Cell(f"{agg.mean:,.0f}" if agg else "—", agg.mean if agg else None)
    return get


def _train_samples(group: RunGroup) -> Cell:
    agg = group.metric("train_samples")
    if agg is None:
        return Cell("—")
    caps = {r.param("train.max_train_samples_effective") for r in group.runs}
    caps = sorted({c for c in caps if c not in (None, "", "None", "null") and float(c) <= agg.mean})
    note = f" (cap {', '.join(caps)})" if caps else ""
    return Cell(f"{agg.mean:,.0f}{note}", agg.mean)


def threads_text(tag: str) -> str:
    """``{"blas_openblas": 2}`` (JSON tag) -> ``blas_openblas=2``; other text as is."""
    try:
        data = json.loads(tag)
    except ValueError:
        return tag
    if isinstance(data, dict):
        return " ".join(f"{k}={v}" for k, v in sorted(data.items())) or "—"
    return str(data)


def _threads(group: RunGroup) -> Cell:
    vals = sorted({threads_text(r.tags.get("threads", "")) for r in group.runs} - {""})
    return Cell("; ".join(vals) if vals else "—")


COLUMNS: list[Column] = [
    Column("Implementation", lambda g: Cell(g.label)),
    Column("Test accuracy (mean ± sd, n)", _accuracy, "max"),
    Column("Fit time (s)", lambda g: Cell(_sig(g.metric("fit_seconds").mean) if g.metric("fit_seconds") else "—",
                                          g.metric("fit_seconds").mean if g.metric("fit_seconds") else None), "min"),
    Column("s / epoch", _sec_per_epoch, "min"),
    Column("Inference (samples/s)", _metric_cell("inference_samples_per_second", 0), "max"),
    Column("Peak memory (MB)", _metric_cell("peak_memory_mb", 1), "min"),
    Column("Parameters", _count("n_params"), "min"),
    Column("Train samples", _train_samples),
    Column("Threads", _threads),
]


def build_tables(groups: Sequence[RunGroup]) -> list[Table]:
    """One table per dataset; in each column with a direction, the best value(s) are marked."""
    tables: dict[str, Table] = {}
    for group in groups:
        table = tables.setdefault(group.dataset, Table(group.dataset, [c.title for c in COLUMNS]))
        table.rows.append([c.get(group) for c in COLUMNS])
        table.groups.append(group)
    for table in tables.values():
        if len(table.rows) < 2:
            continue
        for j, col in enumerate(COLUMNS):
            vals = [row[j].value for row in table.rows if row[j].value is not None]
            if col.better is None or not vals:
                continue
            best = max(vals) if col.better == "max" else min(vals)
            if len(vals) == len(table.rows) and all(math.isclose(v, best, rel_tol=1e-9, abs_tol=1e-12) for v in vals):
                continue  # a full tie marks nothing
            for row in table.rows:
                if row[j].value is not None and math.isclose(row[j].value, best, rel_tol=1e-9, abs_tol=1e-12):
                    row[j].best = True
    return [tables[k] for k in sorted(tables)]


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def table_markdown(table: Table) -> str:
    """GitHub-flavoured markdown; best cells in bold."""
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "|".join("---" for _ in table.columns) + "|"]
    for row in table.rows:
        cells = [f"**{_md_escape(c.text)}**" if c.best else _md_escape(c.text) for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
