"""Render a :class:`~scratchbench.report.build.Report` to markdown and self-contained HTML (Jinja2)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from scratchbench.report.reproduction import reproduction_markdown
from scratchbench.report.tables import table_markdown

if TYPE_CHECKING:
    from scratchbench.report.build import Report

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("scratchbench.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def _context(report: "Report", root: Path) -> dict:
    sections: dict[str, list] = {}
    for fig in report.figures:
        sections.setdefault(fig.section, []).append(fig)

    def rel(fig) -> str:
        return Path(fig.path).resolve().relative_to(root.resolve()).as_posix()

    def data_uri(fig) -> str:
        return "data:image/png;base64," + base64.b64encode(Path(fig.path).read_bytes()).decode("ascii")

    highlights = []
    for t in report.tables:
        best = max((g for g in t.groups if g.metric("test_accuracy")), key=lambda g: g.metric("test_accuracy").mean,
                   default=None)
        fastest = min((g for g in t.groups if g.metric("fit_seconds")), key=lambda g: g.metric("fit_seconds").mean,
                      default=None)
        highlights.append((t.dataset, best, fastest))
    ran = sum(1 for r in report.reproduction if r.run_ids)
    reference_sections = sorted((k for k in sections if re.fullmatch(r"r\d+", k)), key=lambda k: int(k[1:]))
    return dict(report=report, sections=sections, reference_sections=reference_sections, rel=rel, data_uri=data_uri,
                highlights=highlights,
                table_markdown=table_markdown, repro_markdown=reproduction_markdown(report.reproduction),
                repro_ran=ran, repro_total=len(report.reproduction), filter_text=_filter_text(report))


def _filter_text(report: "Report") -> str:
    f = report.run_filter
    parts = [f"{name}: {', '.join(vals)}" for name, vals in
             (("experiments", f.experiments), ("datasets", f.datasets), ("implementations", f.implementations)) if vals]
    parts += [f"tag {k}={v}" for k, v in f.tags.items()]
    parts.append("latest run per configuration and seed" if f.latest_only else "all runs")
    return "; ".join(parts)


def render_markdown(report: "Report", root: Path) -> str:
    """Markdown with figures linked relative to ``root`` (the report folder)."""
    return _ENV.get_template("comparison.md.j2").render(**_context(report, root))


def render_html(report: "Report", root: Path) -> str:
    """Single HTML file, figures embedded as base64 data URIs (opens with no server)."""
    return _ENV.get_template("comparison.html.j2").render(**_context(report, root))
