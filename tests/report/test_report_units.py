"""Pure helpers of the report: Pareto front, best-value marking, aggregation, filters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchbench.report.collect import Aggregate, RunRecord, group_runs, parse_tag_filters
from scratchbench.report.figures import confusion_matrix, pareto_front
from scratchbench.report.tables import build_tables, threads_text


def _run(rid: str, impl: str, seed: str, acc: float, fit: float, lr: str = "0.1", experiment: str = "r10_moons",
         **tags: str) -> RunRecord:
    return RunRecord(rid, "scratchbench/moons", 0, "FINISHED",
                     {"implementation": impl, "dataset": "moons", "experiment": experiment, "seed": seed, **tags},
                     {"optimizer.learning_rate": lr, "seed": seed}, {"test_accuracy": acc, "fit_seconds": fit})


def test_accuracy_vs_time_has_one_panel_per_preset_with_two_or_more_configurations():
    from scratchbench.report.figures import accuracy_time_panels

    runs = [_run("a", "numpy_mlp", "0", 0.5, 1.0), _run("b", "keras_mlp", "0", 0.95, 3.0),
            _run("c", "numpy_mlp", "0", 0.97, 2.0, experiment="r10_moons_notebook"),  # alone: no panel
            _run("d", "numpy_mlp", "0", 0.9, 0.1, experiment="r10_moons", variant="started as keras_mlp")]
    panels = accuracy_time_panels(group_runs(runs))
    assert list(panels) == ["r10_moons"] and len(panels["r10_moons"]) == 3


def test_flat_decision_boundary_panels_say_why():
    from scratchbench.report.figures import flat_output_note

    assert "constant output P(1) ≈ 0.49" in flat_output_note(np.full((5, 5), 0.49))
    assert flat_output_note(np.linspace(0, 1, 25).reshape(5, 5)) == ""


def test_runs_of_another_variant_get_their_own_labelled_group():
    groups = group_runs([_run("a", "numpy_mlp", "0", 0.5, 1.0, variant="as written"),
                         _run("b", "numpy_mlp", "0", 0.9, 1.0, lr="0.5", variant="started as keras_mlp")])
    assert sorted(g.label for g in groups) == ["numpy_mlp (r10_moons, as written)",
                                               "numpy_mlp (r10_moons, started as keras_mlp)"]


def test_pareto_front():
    pts = [(1.0, 0.5), (2.0, 0.9), (3.0, 0.8), (0.5, 0.4), (2.0, 0.95)]
    assert pareto_front(pts) == [3, 0, 4]


def test_aggregate_and_grouping_over_seeds():
    runs = [_run("a", "numpy_mlp", "0", 0.8, 1.0), _run("b", "numpy_mlp", "1", 0.9, 3.0),
            _run("c", "keras_mlp", "0", 0.7, 0.5)]
    groups = group_runs(runs)
    numpy = next(g for g in groups if g.implementation == "numpy_mlp")
    agg = numpy.metric("test_accuracy")
    assert (agg.n, agg.mean) == (2, pytest.approx(0.85)) and agg.sd == pytest.approx(math.sqrt(0.005))
    assert Aggregate.of([None, float("nan")]) is None


def test_differing_configs_get_their_own_labelled_rows():
    groups = group_runs([_run("a", "numpy_mlp", "0", 0.8, 1.0, lr="0.1"),
                         _run("b", "numpy_mlp", "0", 0.9, 1.0, lr="0.5")])
    assert sorted(g.label for g in groups) == ["numpy_mlp (r10_moons, learning_rate=0.1)",
                                               "numpy_mlp (r10_moons, learning_rate=0.5)"]


def test_best_marking_and_full_ties():
    (table,) = build_tables(group_runs([_run("a", "numpy_mlp", "0", 0.8, 1.0), _run("c", "keras_mlp", "0", 0.8, 0.5)]))
    acc_col, fit_col = table.columns.index("Test accuracy (mean ± sd, n)"), table.columns.index("Fit time (s)")
    assert not any(row[acc_col].best for row in table.rows), "a full tie marks nothing"
    best = [row[0].text for row in table.rows if row[fit_col].best]
    assert best == ["keras_mlp (r10_moons)"]


def test_parse_tag_filters_and_threads():
    assert parse_tag_filters(["profile=quick", "seed=1"]) == {"profile": "quick", "seed": "1"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_tag_filters(["profile"])
    assert threads_text('{"tf_intra_op": 2, "blas": 1}') == "blas=1 tf_intra_op=2"


def test_confusion_matrix():
    cm = confusion_matrix(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_published_curve_figure(tmp_path):
    from PIL import Image

    from scratchbench.report.figures import published_curve
    from scratchbench.report.reproduction import load_checks, published_values

    R7_POOL_PUBLISHED = published_values(load_checks(), "r7_mnist_cnn_pool", "val_accuracy")
    assert len(R7_POOL_PUBLISHED) == 10 and R7_POOL_PUBLISHED[-1] == 0.9841  # read from the preset

    run = _run("a", "keras_cnn", "0", 0.9, 1.0)
    run.tags["experiment"] = "r7_mnist_cnn_pool"
    run.history = {"val_accuracy": [(1, 0.8), (2, 0.9)], "epoch_seconds": [(1, 1.0), (2, 1.0)]}
    fig = published_curve(group_runs([run]), "r7_mnist_cnn_pool", R7_POOL_PUBLISHED, tmp_path / "r7.png", "R7")
    assert fig is not None and fig.section == "r7"
    with Image.open(fig.path) as im:
        assert im.format == "PNG" and im.size[0] > 300
    assert published_curve(group_runs([run]), "r99", R7_POOL_PUBLISHED, tmp_path / "x.png", "R99") is None


def test_report_cli_drops_only_the_tf_retracing_notice() -> None:
    import logging

    from scratchbench.report.cli import _not_retracing_notice

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, msg, None, None)

    assert not _not_retracing_notice(
        record("5 out of the last 37 calls to <function f> triggered tf.function retracing."))
    assert _not_retracing_notice(record("Model was constructed with shape (None, 2)"))


@pytest.mark.parametrize("workers", [1, 2])
def test_figure_pool_keeps_the_order_asked_for_and_raises_a_figures_error(workers):
    import os

    from scratchbench.report.pool import FigurePool, drawn

    with FigurePool(workers) as pool:
        queued = [pool.draw(pow, 2, i) for i in range(8)] + [pool.draw(dict.get, {}, "nothing")]  # None: no figure
        where = pool.draw(os.getpid)
        assert drawn(queued) == [2 ** i for i in range(8)]
        assert (where.result() == os.getpid()) == (workers == 1)  # two workers: drawn in another process
        with pytest.raises(ValueError, match="invalid literal"):
            drawn([pool.draw(int, "x")])
