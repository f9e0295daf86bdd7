"""The reproduction table: every published figure of R1-R12 beside ours, with a verdict.

The published figures, their sources, tolerances and variants live once, in the presets
(``conf/experiment/*.yaml``, ``experiment.published``); this module reads them from there and
judges each finished run against them:

- **reproduced**: ours is within the tolerance (or on the right side of an ``at_most`` /
  ``at_least`` bound); for an expected failure, the run fails the way the tutorial's code does;
- **differs**: it is not, with the reason (the preset's, else the numbers);
- **not comparable**: nothing to compare with (no published figure, a figure for another
  implementation), or a cap made the run smaller than published (the quick profile, an
  implementation's sample cap): the cap is named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from scratchbench import paths
from scratchbench.report.collect import Aggregate, RunRecord, config_labels

REPRODUCED, DIFFERS, NOT_COMPARABLE, NOT_RUN = "reproduced", "differs", "not comparable", "not run yet"


@dataclass(frozen=True)
class Check:
    """One published figure of a preset, and how ours is judged against it."""

    reference: str
    preset: str
    variant: str
    metric: str
    text: str
    source: str = "tutorial"
    value: float | None = None
    values: tuple[float, ...] = ()
    tolerance: float = 0.0
    compare: str = "within"
    implementations: tuple[str, ...] = ()
    reason: Any = None  # text, or {implementation: text}

    def reason_for(self, implementation: str) -> str:
        if isinstance(self.reason, Mapping):
            return str(self.reason.get(implementation) or "")
        return str(self.reason or "")

    @property
    def expected_failure(self) -> bool:
        return self.source.startswith("expected failure")

    def published_text(self) -> str:
        if self.value is None:
            return self.text
        bound = {"at_most": "≤ ", "at_least": "≥ "}.get(self.compare, "")
        figure = f"{self.value:.10g}"
        return self.text if not bound and figure in self.text else f"{bound}{figure}: {self.text}"

    def tolerance_text(self) -> str:
        if self.compare == "none" or self.value is None:
            return "—"
        return f"± {self.tolerance:.3g}" if self.compare == "within" else f"{self.tolerance:.3g}"


def _reference_order(ref: str) -> tuple[int, str]:
    digits = "".join(c for c in ref if c.isdigit())
    return (int(digits) if digits else 999, ref)


def presets_dir() -> Path:
    """``conf/experiment`` of the project, else of the checkout this code runs from."""
    conf_dir = paths.project_root() / "conf" / "experiment"
    return conf_dir if conf_dir.is_dir() else Path(__file__).resolve().parents[3] / "conf" / "experiment"


def load_checks(conf_dir: Path | None = None) -> list[Check]:
    """Every published figure of every reference preset in ``conf/experiment`` (R1 first)."""
    conf_dir = Path(conf_dir) if conf_dir is not None else presets_dir()
    checks: list[Check] = []
    presets: dict[str, dict[str, Any]] = {}
    for path in sorted(conf_dir.glob("*.yaml")):
        presets[path.stem] = yaml.safe_load(path.read_text()) or {}

    def experiment(name: str) -> dict[str, Any]:
        """The preset's ``experiment`` section, with what it inherits from a preset it extends."""
        doc = presets[name]
        merged: dict[str, Any] = {}
        for parent in doc.get("defaults") or []:
            if isinstance(parent, str) and parent in presets:
                merged.update(experiment(parent))
        merged.update(doc.get("experiment") or {})
        return merged

    for name in presets:
        exp = experiment(name)
        if not exp.get("reference"):
            continue
        for pub in exp.get("published") or []:
            checks.append(Check(
                reference=str(exp["reference"]), preset=str(exp.get("name") or name),
                variant=str(exp.get("variant") or "as written"), metric=str(pub.get("metric") or ""),
                text=str(pub.get("text") or ""), source=str(pub.get("source") or "tutorial"),
                value=None if pub.get("value") is None else float(pub["value"]),
                values=tuple(float(v) for v in pub.get("values") or ()),
                tolerance=float(pub.get("tolerance") or 0.0), compare=str(pub.get("compare") or "within"),
                implementations=tuple(pub.get("implementations") or ()), reason=pub.get("reason"),
            ))
    first: dict[str, str] = {}  # per reference, the preset as written (the shortest name) comes first
    for c in checks:
        if c.reference not in first or len(c.preset) < len(first[c.reference]):
            first[c.reference] = c.preset
    checks.sort(key=lambda c: (_reference_order(c.reference), c.preset != first[c.reference], c.preset))
    return checks


def published_values(checks: Sequence[Check], preset: str, metric: str) -> tuple[float, ...]:
    """A published per-epoch curve of ``preset`` (e.g. R7's validation accuracy), empty if none."""
    for check in checks:
        if check.preset == preset and check.metric == metric and check.values:
            return check.values
    return ()


def _int_param(run: RunRecord, key: str) -> int | None:
    try:
        return int(float(run.params[key]))
    except (KeyError, ValueError):
        return None


def cap_note(runs: Sequence[RunRecord]) -> str:
    """What made these runs smaller than published ('' if nothing): epochs and sample caps."""
    notes: list[str] = []
    for run in runs:
        if run.params.get("train.epochs_capped") == "True":
            by = run.params.get("train.epochs_cap_source")  # e.g. profile.max_fit_seconds (runs from before: none)
            notes.append(f"{run.params.get('train.epochs_effective')} of "
                         f"{run.params.get('train.epochs_requested')} epochs"
                         + (f" ({by} cap)" if by and by != "requested" else ""))
        cap, source = _int_param(run, "train.max_train_samples_effective"), run.params.get("sample_cap_source", "none")
        full = _int_param(run, "data.train_samples_available")
        if cap is not None and (full is None or cap < full):
            of = f" of {full:,}" if full else ""
            notes.append(f"{cap:,}{of} training samples ({source} cap)")
        test_cap, test_full = _int_param(run, "data.test_samples_effective"), _int_param(run, "data.test_samples")
        if test_cap is not None and test_full is not None and test_cap < test_full:
            notes.append(f"{test_cap:,} of {test_full:,} test samples")
    return "; ".join(dict.fromkeys(notes))


@dataclass
class ReproRow:
    check: Check
    implementation: str
    variant: str
    ours: Aggregate | None
    run_ids: list[str] = field(default_factory=list)
    verdict: str = NOT_RUN
    why: str = ""

    # the columns other modules read
    @property
    def reference(self) -> str:
        return self.check.reference

    @property
    def preset(self) -> str:
        return self.check.preset

    @property
    def metric(self) -> str:
        return self.check.metric

    @property
    def published_value(self) -> float | None:
        return self.check.value

    @property
    def difference(self) -> float | None:
        if self.ours is None or self.check.value is None:
            return None
        return self.ours.mean - self.check.value

    def ours_text(self) -> str:
        if not self.run_ids:
            return "not run yet"
        if self.ours is None:
            return "—"
        v = self.ours.mean
        text = f"{v:.4f}" if "accuracy" in self.metric else f"{v:.10g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3g}"
        return text + (f" ± {self.ours.sd:.2g} (n={self.ours.n})" if self.ours.n > 1 else "")


def judge(check: Check, implementation: str, ours: Aggregate | None, caps: str = "",
          profile: str = "") -> tuple[str, str]:
    """(verdict, why) of one implementation's runs against one published figure."""
    if check.implementations and implementation not in check.implementations:
        why = check.reason_for(implementation) or f"the figure is judged for {', '.join(check.implementations)} only"
        return NOT_COMPARABLE, why
    if check.compare == "none" or check.value is None:
        return NOT_COMPARABLE, check.reason_for(implementation) or "no published figure"
    if caps:
        label = f"{NOT_COMPARABLE} ({profile})" if profile == "quick" else NOT_COMPARABLE
        return label, f"capped: {caps}"
    if ours is None or math.isnan(ours.mean):
        return NOT_COMPARABLE, f"the run recorded no {check.metric}"
    slack = 1e-12 * max(1.0, abs(check.value))
    ok = {
        "within": abs(ours.mean - check.value) <= check.tolerance + slack,
        "at_most": ours.mean <= check.value + check.tolerance + slack,
        "at_least": ours.mean >= check.value - check.tolerance - slack,
    }[check.compare]
    if ok:
        return REPRODUCED, "fails the way the tutorial's code fails" if check.expected_failure else ""
    bound = {"at_most": "≤ ", "at_least": "≥ "}.get(check.compare, "")
    auto = f"ours {ours.mean:.6g} vs {bound}{check.value:.10g} {check.tolerance_text()}".rstrip()
    reason = check.reason_for(implementation)
    return DIFFERS, f"{reason} ({auto})" if reason else auto


def build_reproduction(runs: Sequence[RunRecord], checks: Sequence[Check] | None = None) -> list[ReproRow]:
    """One row per published figure and implementation (and run variant) that ran its preset.

    A figure whose preset has no run gets one honest "not run yet" row.
    """
    checks = list(load_checks() if checks is None else checks)
    rows: list[ReproRow] = []
    for check in checks:
        mine = [r for r in runs if r.experiment == check.preset]
        if not mine:
            rows.append(ReproRow(check, "—", check.variant, None))
            continue
        # seeds of one configuration are pooled; different configurations (profiles, a swept
        # learning rate, ...) of one implementation and variant are rows of their own, never averaged
        configs: dict[tuple[str, str], dict[tuple[Any, ...], list[RunRecord]]] = {}
        for r in mine:
            variant = r.tags.get("variant") or check.variant
            configs.setdefault((r.implementation, variant), {}).setdefault(r.config_key, []).append(r)
        groups = []
        for (impl, variant), by_config in configs.items():
            labels = config_labels(list(by_config))
            groups += [(variant != check.variant, impl, variant, labels[k], rs) for k, rs in by_config.items()]
        for _, impl, variant, label, rs in sorted(groups, key=lambda g: g[:4]):
            shown_variant = f"{variant} ({label})" if label else variant
            ours = Aggregate.of(r.metrics.get(check.metric) for r in rs) if check.metric else None
            profile = ",".join(sorted({r.tags.get("profile", "") for r in rs}))
            verdict, why = judge(check, impl, ours, cap_note(rs), profile)
            if variant != check.variant and verdict != NOT_COMPARABLE and not verdict.startswith(NOT_COMPARABLE):
                # a diagnostic run (e.g. the engine started as a framework was): shown, not judged
                verdict, why = NOT_COMPARABLE, f"a diagnostic run ({variant}), shown beside the figure"
            shown = "— (figure)" if rs[0].tags.get("task") == "activations" else impl
            rows.append(ReproRow(check, shown, shown_variant, ours, [r.run_id for r in rs], verdict, why))
    return rows


def reproduction_markdown(rows: Sequence[ReproRow]) -> str:
    head = "| Ref | Preset | Variant | Implementation | Source | Published | Ours | Tolerance | Verdict |"
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r.reference, f"`{r.preset}`", r.variant, r.implementation, r.check.source, r.check.published_text(),
                 r.ours_text(), r.check.tolerance_text(), f"**{r.verdict}**" + (f": {r.why}" if r.why else "")]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines)


def verdict_counts(rows: Sequence[ReproRow]) -> dict[str, int]:
    """How many rows got each verdict (quick-profile 'not comparable' counted with the others)."""
    counts: dict[str, int] = {}
    for r in rows:
        key = NOT_COMPARABLE if r.verdict.startswith(NOT_COMPARABLE) else r.verdict
        counts[key] = counts.get(key, 0) + 1
    return counts
