"""Names other modules (report, tests) rely on: MLflow experiment, metric, tag and artifact names."""

from __future__ import annotations

EPOCH_METRICS: tuple[str, ...] = ("loss", "train_accuracy", "val_accuracy", "epoch_seconds")
FINAL_METRICS: tuple[str, ...] = (
    "test_accuracy", "fit_seconds", "inference_samples_per_second", "peak_memory_mb", "n_params", "train_samples",
)
RUN_TAGS: tuple[str, ...] = (
    "implementation", "dataset", "experiment", "reference", "git_commit", "features_sha256", "lockfile_sha256",
    "threads", "cpu", "seed", "profile", "task", "variant", "published_metric", "published_value", "published_text",
    "note",
)
ARTIFACT_CONFIG = "config.yaml"
ARTIFACT_CURVE_PNG = "learning_curve.png"
ARTIFACT_CURVE_CSV = "learning_curve.csv"
ARTIFACT_MODEL_DIR = "model"
ARTIFACT_PREDICTIONS = "predictions.npz"  # test-set predictions (experiment/predictions.py)
ARTIFACT_ERROR = "error.txt"
ARTIFACT_ACTIVATIONS = "activations.png"
PARENT_RUN_ENV = "SCRATCHBENCH_PARENT_RUN_ID"
PARENT_RUN_FILE = "mlflow_parent_run.json"
TAG_SWEEP = "sweep"
TAG_PARENT = "mlflow.parentRunId"
