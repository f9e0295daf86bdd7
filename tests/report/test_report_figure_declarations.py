"""Preset-specific figures are declared in the presets (``experiment.figures``), not special-cased by name.

``test_report_build.py::test_every_figure_is_a_valid_png`` checks the declared figures are drawn
(R11 cost curve, R10 decision boundaries) from a real store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import scratchbench.report.build as build
from scratchbench.config import validate
from scratchbench.config.compose import compose_run

REPO = Path(__file__).resolve().parents[2]
PRESETS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml"))


def test_build_names_no_preset():
    source = Path(build.__file__).read_text()
    named = [p for p in PRESETS if p in source]
    assert named == [], f"report/build.py special-cases presets {named}: declare their figures in the preset"


def test_declared_figures_take_their_reference_from_the_preset():
    """figures.py draws what a preset declares under the preset's reference: no R7/R10/R11 written in it,
    and the templates list the reference sections the figures have, not a fixed set."""
    import re

    figures = (REPO / "src" / "scratchbench" / "report" / "figures.py").read_text()
    assert re.findall(r"\b[Rr](?:7|10|11)\b", figures) == []
    for template in (REPO / "src" / "scratchbench" / "report" / "templates").glob("*.j2"):
        assert '"r7"' not in template.read_text() and "reference_sections" in template.read_text()


def test_the_presets_declare_the_report_figures():
    decls = {d["file"]: d for d in build.figure_declarations(REPO / "conf" / "experiment")}
    assert decls["r11_cost_curve.png"]["kind"] == "cost_curve"
    assert decls["r11_cost_curve.png"]["presets"] == ["r11_cat_tanh", "r11_cat_tanh_intended", "r11_cat_course"]
    assert (decls["r7_pool_val_accuracy.png"]["preset"], decls["r7_pool_val_accuracy.png"]["metric"]) == \
        ("r7_mnist_cnn_pool", "val_accuracy")
    assert decls["r10_decision_boundaries.png"] == {"kind": "decision_boundary", "file": "r10_decision_boundaries.png",
                                                    "preset": "r10_moons", "reference": "R10"}
    assert decls["r11_cost_curve.png"]["reference"] == "R11"  # the figure's title and report section
    assert len(decls) == 3


def test_a_declaration_composes_and_a_wrong_kind_is_named(tmp_path):
    cfg = validate(compose_run(["experiment=r7_mnist_cnn_pool"], root=REPO))
    assert cfg["experiment"]["figures"] == [{"kind": "published_curve", "file": "r7_pool_val_accuracy.png",
                                             "presets": None, "metric": "val_accuracy"}]
    (tmp_path / "x.yaml").write_text("experiment:\n  name: x\n  figures: [{kind: heatmap, file: x.png}]\n")
    with pytest.raises(ValueError, match="heatmap.*cost_curve, published_curve, decision_boundary"):
        build.figure_declarations(tmp_path)


def test_a_new_unset_option_or_the_class_path_does_not_split_a_configuration():
    """Runs logged before ``model.alpha``/``model.implementation`` existed stay repeats of the same setup."""
    from scratchbench.report.collect import RunRecord

    tags = {"experiment": "r10_moons", "dataset": "moons", "implementation": "numpy_mlp", "profile": "quick"}
    old = RunRecord("a", "e", 0, "FINISHED", tags, {"model.loss": "mse", "seed": "0"}, {})
    new = RunRecord("b", "e", 0, "FINISHED", tags,
                    {"model.loss": "mse", "model.alpha": "None", "seed": "1",
                     "model.implementation": "scratchbench.models.numpy_net:NumpyMLP"}, {})
    other = RunRecord("c", "e", 0, "FINISHED", tags, {"model.loss": "mse", "model.alpha": "0.2"}, {})
    assert old.config_key == new.config_key != other.config_key
