"""``python -m scratchbench.report``: read the MLflow store, write reports/comparison.{md,html}, metrics.json, \
figures/."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Sequence

from scratchbench import paths
from scratchbench.config import ConfigError
from scratchbench.config.cli import ArgumentParser, check_choices
from scratchbench.report.collect import RunFilter, parse_tag_filters
from scratchbench.tracking.store import TrackingError


def _split(values: Sequence[str] | None) -> list[str]:
    return [v for item in values or [] for v in item.split(",") if v]


def _not_retracing_notice(record: logging.LogRecord) -> bool:
    """Drop TensorFlow's "triggered tf.function retracing" notice: a run recorded without predictions.npz
    has its Keras model loaded to predict on grids of several shapes, so retracing is expected there."""
    return "triggered tf.function retracing" not in record.getMessage()


def main(argv: Sequence[str] | None = None) -> int:
    ap = ArgumentParser(prog="scratchbench-report", description=__doc__)
    ap.add_argument("--tracking-uri", default=None,
                    help="MLflow store (default: $MLFLOW_TRACKING_URI or sqlite:///<root>/mlflow.db)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: <root>/reports)")
    ap.add_argument("--experiment", action="append",
                    help="only these presets (tag experiment), repeat or comma-separate")
    ap.add_argument("--dataset", action="append", help="only these datasets")
    ap.add_argument("--implementation", action="append", help="only these implementations")
    ap.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="only runs with this tag value")
    ap.add_argument("--all-runs", action="store_true",
                    help="keep every run, not only the latest per configuration and seed")
    ap.add_argument("--no-predictions", action="store_true",
                    help="skip the figures drawn from test-set predictions (confusion, samples, boundaries)")
    args = ap.parse_args(argv)
    try:
        check_choices("--experiment", _split(args.experiment), "experiment")
        check_choices("--dataset", _split(args.dataset), "dataset")
        check_choices("--implementation", _split(args.implementation), "model")
        run_filter = RunFilter(tuple(_split(args.experiment)), tuple(_split(args.dataset)),
                               tuple(_split(args.implementation)), parse_tag_filters(args.tag), not args.all_runs)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        ap.error(str(exc))
    from scratchbench.report.build import build_report

    out = args.out or paths.reports_dir()
    logging.getLogger("tensorflow").addFilter(_not_retracing_notice)
    try:
        report = build_report(out, args.tracking_uri, run_filter, predictions=not args.no_predictions)
    except (FileNotFoundError, TrackingError) as exc:  # no store / unreachable server: nothing written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {len(report.runs)} runs, {len(report.tables)} datasets, {len(report.figures)} figures -> "
          f"{out / 'comparison.html'}", file=sys.stderr)
    return 0
