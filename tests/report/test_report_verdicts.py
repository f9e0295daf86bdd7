"""Verdicts of the reproduction table: reproduced, differs (with a reason), not comparable (with the cap)."""

from __future__ import annotations

from pathlib import Path

from scratchbench.report.collect import Aggregate, RunRecord
from scratchbench.report.reproduction import (DIFFERS, NOT_COMPARABLE, REPRODUCED, Check, build_reproduction,
                                              judge, load_checks, reproduction_markdown)


def _check(**kw) -> Check:
    base = dict(reference="R10", preset="r10_moons", variant="as written", metric="test_accuracy", text="about 95%",
                value=0.95, tolerance=0.03)
    return Check(**{**base, **kw})


def _agg(v: float) -> Aggregate:
    return Aggregate(v, 0.0, 1)


def test_within_at_most_and_expected_failures():
    assert judge(_check(), "keras_mlp", _agg(0.93)) == (REPRODUCED, "")
    verdict, why = judge(_check(reason={"numpy_mlp": "stuck on the plateau"}), "numpy_mlp", _agg(0.5))
    assert verdict == DIFFERS and why.startswith("stuck on the plateau") and "0.5" in why
    assert judge(_check(value=0.45, compare="at_most", tolerance=0.0), "numpy_mlp", _agg(0.30))[0] == REPRODUCED
    assert judge(_check(value=0.45, compare="at_most", tolerance=0.0), "numpy_mlp", _agg(0.46))[0] == DIFFERS
    failure = _check(metric="final_loss", value=0.644, tolerance=0.002,
                     source="expected failure of the tutorial's code")
    assert judge(failure, "numpy_mlp", _agg(0.6435)) == (REPRODUCED, "fails the way the tutorial's code fails")


def test_not_comparable_names_why():
    assert judge(_check(compare="none", value=None, reason="no published figure"), "numpy_mlp", _agg(0.9)) == \
        (NOT_COMPARABLE, "no published figure")
    verdict, why = judge(_check(implementations=("numpy_mlp",), reason="draws its own weights"), "sklearn_mlp",
                         _agg(0.9))
    assert (verdict, why) == (NOT_COMPARABLE, "draws its own weights")
    verdict, why = judge(_check(), "numpy_mlp", _agg(0.5), caps="3 of 30 epochs", profile="quick")
    assert verdict == "not comparable (quick)" and "3 of 30 epochs" in why  # a capped run never looks failed


def _rec(impl: str, value: float, **params: str) -> RunRecord:
    return RunRecord(f"id-{impl}", "scratchbench-moons", 0, "FINISHED",
                     {"implementation": impl, "experiment": "r10_moons", "dataset": "moons", "profile": "quick"},
                     dict(params), {"test_accuracy": value})


def test_rows_per_implementation_and_capped_runs():
    check = _check()
    rows = build_reproduction([_rec("keras_mlp", 0.95), _rec("pybrain", 0.6, **{
        "train.max_train_samples_effective": "300", "data.train_samples_available": "900",
        "sample_cap_source": "model.sample_caps.moons"})], [check])
    assert [(r.implementation, r.verdict) for r in rows] == [("keras_mlp", REPRODUCED),
                                                             ("pybrain", "not comparable (quick)")]
    assert "300 of 900 training samples (model.sample_caps.moons cap)" in rows[1].why
    md = reproduction_markdown(rows)
    assert "| Verdict |" in md and "**reproduced**" in md and "**not comparable (quick)**" in md
    (empty,) = build_reproduction([], [check])
    assert empty.verdict == "not run yet"


def test_seeds_are_pooled_but_different_configurations_never_are():
    def run(seed: str, lr: str, value: float) -> RunRecord:
        rec = _rec("numpy_mlp", value, **{"optimizer.learning_rate": lr, "train.epochs": "10"})
        rec.run_id, rec.tags["seed"] = f"id-{seed}-{lr}", seed
        return rec

    rows = build_reproduction([run("0", "0.5", 0.94), run("1", "0.5", 0.96), run("0", "0.01", 0.50)], [_check()])
    assert [(r.variant, r.ours.n, round(r.ours.mean, 6), r.verdict) for r in rows] == [
        ("as written (learning_rate=0.01)", 1, 0.5, DIFFERS),       # a sweep's other config: its own row
        ("as written (learning_rate=0.5)", 2, 0.95, REPRODUCED),    # two seeds of one config: pooled
    ]
    (only,) = build_reproduction([run("0", "0.5", 0.94)], [_check()])
    assert only.variant == "as written"  # a lone configuration is not labelled


def test_published_figures_live_only_in_the_presets():
    """One home: no published figure (a value, or a point of a published curve such as R7's) is
    written anywhere in the package: the report code, its templates, the engine, the models."""
    figures = {f"{c.value:.10g}" for c in load_checks() if c.value is not None and c.value not in (0.0, 1.0)}
    figures |= {f"{v:.10g}" for c in load_checks() for v in c.values}
    assert "0.9841" in figures and "0.8221" in figures  # R7's curve is among them
    package = Path(__file__).resolve().parents[2] / "src" / "scratchbench"
    files = [p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".j2")]
    assert any(p.suffix == ".j2" for p in files)
    found = [f"{p.relative_to(package)}: {f}" for p in files for f in figures if len(f) > 4 and f in p.read_text()]
    assert found == []
