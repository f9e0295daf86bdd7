"""Presets run through the real runner and store, then judged: the verdicts the report prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchbench.config.compose import compose_run
from scratchbench.report.collect import load_runs
from scratchbench.report.reproduction import NOT_COMPARABLE, REPRODUCED, build_reproduction, load_checks
from scratchbench.runner import run

from run_helpers import REPO


def _verdicts(root: Path, presets: list[str]) -> dict[tuple[str, str], tuple[str, str]]:
    runs = load_runs(f"sqlite:///{root / 'mlflow.db'}")
    checks = [c for c in load_checks() if c.preset in presets]
    return {(r.preset, r.metric): (r.verdict, r.why) for r in build_reproduction(runs, checks)}


@pytest.mark.parametrize("preset",
                         ["r1_single_neuron", "r1_single_neuron_outputs", "r2_two_layer_class", "r3_eleven_lines"])
def test_table_presets_reproduce_their_published_figures_as_written(tiny_root: Path, preset: str) -> None:
    res = run(compose_run([f"experiment={preset}", "profile=full"], root=REPO))
    assert res.status == "FINISHED"
    verdicts = _verdicts(tiny_root, [preset])
    assert verdicts and all(v == REPRODUCED for v, _ in verdicts.values()), verdicts


def test_a_quick_profile_cap_is_not_comparable_and_names_the_cap(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r3_eleven_lines", "profile.max_iterations=100"], root=REPO)
    assert run(cfg).status == "FINISHED"
    ((verdict, why),) = _verdicts(tiny_root, ["r3_eleven_lines"]).values()
    assert verdict == f"{NOT_COMPARABLE} (quick)" and "100 of 60000 epochs" in why


def test_a_diagnostic_variant_is_shown_but_not_judged(tiny_root: Path) -> None:
    cfg = compose_run(["experiment=r10_moons", "profile.max_iterations=3", "profile=full", "train.epochs=3",
                       "experiment.variant='started as keras_mlp (Keras defaults)'"], root=REPO)
    assert run(cfg).status == "FINISHED"
    runs = load_runs(f"sqlite:///{tiny_root / 'mlflow.db'}")
    rows = build_reproduction(runs, [c for c in load_checks() if c.preset == "r10_moons"])
    assert len(rows) == 2  # the plateau figure and the 95% claim, both shown for the diagnostic run
    for row in rows:
        assert row.variant.startswith("started as keras_mlp")
        assert row.verdict == NOT_COMPARABLE
        assert "diagnostic" in row.why


@pytest.mark.integration
def test_r11_course_run_reproduces_the_printed_parameters(tiny_root: Path) -> None:
    """The course run behind R11, on the mirrored cat data, through the pipeline's own path."""
    import os

    from scratchbench.data.featurize import featurize_dataset
    from scratchbench.data.fetch import fetch_dataset

    mirror = os.environ.get("SCRATCHBENCH_DATA_MIRROR", "")
    if not mirror or not Path(mirror).is_dir():
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set to a local dataset folder")
    fetch_dataset("catvnoncat", mirror=mirror, dest_dir=tiny_root / "data" / "raw", upstream=False)
    featurize_dataset("catvnoncat", raw_dir=tiny_root / "data" / "raw",
                      out_dir=tiny_root / "data" / "features" / "catvnoncat")
    res = run(compose_run(["experiment=r11_cat_course", "profile=full"], root=REPO))
    assert res.status == "FINISHED"
    m = res.metrics
    assert abs(m["first_loss"] - 0.771749) < 1e-6  # cost after iteration 0
    assert m["param_dump_max_abs_diff"] <= 1e-6  # every printed parameter, to 1e-6
    assert m["train_set_accuracy"] == pytest.approx(206 / 209) and m["test_accuracy"] == pytest.approx(0.8)
    verdicts = _verdicts(tiny_root, ["r11_cat_course"])
    assert len(verdicts) == 4 and all(v == REPRODUCED for v, _ in verdicts.values()), verdicts
