"""The reproduction table: every reference experiment R1-R12, published figure vs ours."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scratchbench.report.collect import Aggregate, RunRecord


@dataclass(frozen=True)
class Reference:
    """A reference experiment preset and what its tutorial published (fallback when no run exists)."""

    reference: str
    preset: str
    metric: str
    published: str
    value: float | None = None
    note: str = ""


REFERENCES: tuple[Reference, ...] = (
    Reference("R1", "r1_single_neuron", "new_input_prediction", "[1,0,0] -> 0.99993704", 0.99993704),
    Reference("R2", "r2_two_layer_class", "final_loss", "predictions converge, loss falls monotonically"),
    Reference("R3", "r3_eleven_lines", "max_abs_error", "outputs close to [0,1,1,0]"),
    Reference("R4", "r4_xor", "final_error", "trainer.train() returns the epoch error"),
    Reference("R5", "r5_mnist_perceptron", "test_accuracy", "100 hidden, lr 0.1, 5 epochs -> 0.9661", 0.9661),
    Reference("R6", "r6_fruits_hue", "test_accuracy", "accuracy does not exceed 45%", 0.45,
              "Original never backpropagates (shrinks all weights on a miss) and scores itself on training data."),
    Reference("R7", "r7_mnist_cnn", "test_accuracy", "Conv64-Conv32-Dense10, adam, 1 epoch"),
    Reference("R7", "r7_mnist_cnn_pool", "val_accuracy", "10th-epoch validation accuracy 0.9841", 0.9841),
    Reference("R8", "r8_activations", "", "2x2 plot of activations and derivatives",
              note="Figure only: see the activations figure (leaky ReLU slope 0.1 vs 0.01 differs between texts)."),
    Reference("R9", "r9_cat_relu", "test_accuracy", "newer notebook edition: test 80%", 0.80),
    Reference("R10", "r10_moons", "test_accuracy", "text: about 0.95 for both; notebook: 0.98", 0.95,
              "Tutorial text (~95%, small net) and its notebook (0.98, wider 2-25-50-50-25-1 net) disagree."),
    Reference("R11", "r11_cat_tanh", "test_accuracy", "up to 80% test accuracy", 0.80),
    Reference("R12", "r12_mnist_mse", "test_accuracy", "784-30-10, 30 epochs: about 95%", 0.95),
)


@dataclass
class ReproRow:
    reference: str
    preset: str
    implementation: str
    metric: str
    published: str
    published_value: float | None
    ours: Aggregate | None
    note: str
    run_ids: list[str]

    @property
    def status(self) -> str:
        return "ran" if self.run_ids else "not run yet"

    @property
    def difference(self) -> float | None:
        if self.ours is None or self.published_value is None:
            return None
        return self.ours.mean - self.published_value

    def ours_text(self) -> str:
        if not self.run_ids:
            return "not run yet"
        if self.ours is None:
            return "ran (no figure metric)" if self.metric else "see figure"
        fmt = ".4f" if "accuracy" in self.metric else ".6g"
        sd = f" ± {self.ours.sd:{fmt}}" if self.ours.n > 1 else ""
        return f"{self.ours.mean:{fmt}}{sd} (n={self.ours.n})"

    def difference_text(self) -> str:
        d = self.difference
        return "—" if d is None else f"{d:+.4g}"


def _float(text: str | None) -> float | None:
    try:
        v = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return None if v is None or math.isnan(v) else v


def build_reproduction(runs: Sequence[RunRecord]) -> list[ReproRow]:
    """One row per preset and implementation that ran it; an honest "not run yet" row otherwise.

    Published figure/metric/note come from the run tags the preset logged, falling back to
    :data:`REFERENCES`.
    """
    rows: list[ReproRow] = []
    known = {r.preset for r in REFERENCES}
    extra = sorted({r.experiment for r in runs if r.reference and r.experiment not in known})
    refs = list(REFERENCES) + [
        Reference(next(r.reference for r in runs if r.experiment == e), e, "test_accuracy", "") for e in extra
    ]
    for ref in refs:
        mine = [r for r in runs if r.experiment == ref.preset]
        if not mine:
            rows.append(ReproRow(ref.reference, ref.preset, "—", ref.metric, ref.published, ref.value,
                                 None, ref.note, []))
            continue
        for impl in sorted({r.implementation for r in mine}):
            rs = [r for r in mine if r.implementation == impl]
            tags = rs[0].tags
            metric = tags.get("published_metric") or ref.metric
            published = tags.get("published_text") or ref.published
            value = _float(tags.get("published_value"))
            if value is None:
                value = ref.value
            run_note = tags.get("note") or ""
            note = ref.note if run_note in ref.note else " ".join(n for n in (ref.note, run_note) if n)
            ours = Aggregate.of(r.metrics.get(metric) for r in rs) if metric else None
            shown_impl = "— (figure)" if tags.get("task") == "activations" else impl
            rows.append(ReproRow(tags.get("reference") or ref.reference, ref.preset, shown_impl, metric, published,
                                 value, ours, note, [r.run_id for r in rs]))
    return rows


def reproduction_markdown(rows: Sequence[ReproRow]) -> str:
    head = "| Ref | Preset | Implementation | Metric | Published | Ours | Difference | Note |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    prev = None
    for r in rows:
        same = prev is not None and prev.preset == r.preset and prev.note == r.note and r.note
        cells = [r.reference, f"`{r.preset}`", r.implementation, r.metric or "—", r.published or "—",
                 r.ours_text(), r.difference_text(), "(same as above)" if same else (r.note or "")]
        prev = r
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)
