"""Predict the class of one image with a model saved by a run: ``python -m scratchbench.predict``.

``--run-id ID`` or ``--experiment NAME`` (latest finished run with that ``experiment`` tag) picks
the run; its ``model/`` artifact and ``config.yaml`` are loaded, the image is resized to the
model's input (unless ``--no-resize``) and the class and its probability are printed.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from scratchbench.tracking.store import TrackingError


class PredictError(RuntimeError):
    """A bad input (image, run, model artifact) with a message naming it."""


@dataclass
class RunModel:
    """A trained model restored from a run, taking inputs in feature-file format."""

    run_id: str
    implementation: str
    dataset: str
    cfg: dict[str, Any]
    spec: Any  # scratchbench.models.base.DataSpec
    _proba: Callable[[np.ndarray], np.ndarray]

    @property
    def class_names(self) -> list[str]:
        return list(self.spec.class_names)

    def predict_proba(self, x_stored: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes) for inputs shaped like the feature file's ``x_*``."""
        from scratchbench.models.adapter import adapt_x
        from scratchbench.models.registry import input_kind

        model = self.cfg.get("model", {})
        kind = model.get("input_kind") or input_kind(self.implementation)
        x = adapt_x(np.asarray(x_stored), self.spec, kind, model.get("input_scaling", "none"),
                    model.get("dtype", "float32"))
        return np.asarray(self._proba(x), dtype=np.float64)  # (N, n_classes): the Implementation contract


def _client(tracking_uri: str | None):
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from scratchbench.tracking.store import check_reachable, default_tracking_uri, mlflow_client_class

    MlflowClient = mlflow_client_class()  # noqa: N806 - the class, under its usual name

    uri = tracking_uri or default_tracking_uri()
    check_reachable(uri)  # an unreachable server: one clear error, not minutes of HTTP retries
    return MlflowClient(tracking_uri=uri)


def latest_run_id(experiment: str, tracking_uri: str | None = None) -> str:
    """Newest finished run tagged ``experiment=<experiment>`` in any MLflow experiment."""
    from mlflow.entities import ViewType

    client = _client(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    runs = client.search_runs(ids, filter_string=f"tags.experiment = '{experiment}' and attributes.status = 'FINISHED'",
                              max_results=200, order_by=["attributes.start_time DESC"]) if ids else []
    runs = [r for r in runs if r.data.tags.get("implementation") and r.data.tags.get("sweep") != "parent"]
    if not runs:
        raise PredictError(f"--experiment {experiment!r}: no finished run with that experiment tag in the MLflow store")
    return runs[0].info.run_id


def _load_model(impl: str, files: list[Path]) -> Callable[[np.ndarray], np.ndarray]:
    """The predict-proba of the model file the run's ``model/`` artifact holds (``Implementation.load``)."""
    from scratchbench.models.registry import implementation_class

    if len(files) != 1:
        raise PredictError(f"run's model/ artifact should hold the one file Implementation.save wrote, "
                           f"found: {[f.name for f in files]}")
    return implementation_class(impl).load(files[0]).predict_proba


def _data_spec(dataset: str) -> Any:
    """The dataset's shapes and class names, read once per feature file and version (the report loads many runs)."""
    from scratchbench.data.features import FeatureError, features_path

    path = features_path(dataset)
    try:
        version = path.stat().st_mtime_ns
    except OSError:
        raise FeatureError(f"no feature file {path}; run `dvc repro featurize@{dataset}` first") from None
    return _data_spec_of(dataset, str(path), version)


@functools.lru_cache(maxsize=8)
def _data_spec_of(dataset: str, path: str, version: int) -> Any:
    from scratchbench.data.features import load_features
    from scratchbench.models.adapter import data_spec

    return data_spec(load_features(dataset))


def load_run_model(run_id: str, tracking_uri: str | None = None, spec: Any = None) -> RunModel:
    """Restore the model a run saved (``model/`` artifact) with the config it was trained with.

    ``spec``: the dataset's ``DataSpec`` when the caller has its features already (the report);
    by default it is read from the feature file.
    """
    import yaml

    client = _client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # mlflow raises its own exception types
        raise PredictError(f"--run-id {run_id!r}: no such run in the MLflow store ({exc.__class__.__name__})") from exc
    tags = run.data.tags
    impl, dataset = tags.get("implementation"), tags.get("dataset")
    if not impl or not dataset:
        raise PredictError(f"run {run_id} lacks the 'implementation'/'dataset' tags; not a scratchbench training run")
    with tempfile.TemporaryDirectory(prefix="scratchbench-predict-") as tmp:  # the model is in memory once loaded
        try:
            cfg_path = Path(client.download_artifacts(run_id, "config.yaml", tmp))
            cfg = yaml.safe_load(cfg_path.read_text()) or {}
        except Exception:
            cfg = {"model": {k.split(".", 1)[1]: v for k, v in run.data.params.items() if k.startswith("model.")}}
        try:
            model_dir = Path(client.download_artifacts(run_id, "model", tmp))
        except Exception as exc:
            raise PredictError(f"run {run_id} has no 'model' artifact (was it trained with model saving on?)") from exc
        files = sorted(p for p in model_dir.rglob("*") if p.is_file()) if model_dir.is_dir() else [model_dir]
        proba = _load_model(impl, files)
    spec = spec if spec is not None else _data_spec(dataset)
    return RunModel(run_id, impl, dataset, cfg, spec, proba)


def image_to_features(path: Path, spec: Any, resize: bool = True) -> np.ndarray:
    """Read an image file into one feature-file row (uint8 NHWC image, or flat float32 /255)."""
    from PIL import Image, UnidentifiedImageError

    image_shape = spec.image_shape if len(spec.input_shape) != 3 else spec.input_shape
    if image_shape is None:
        raise PredictError(f"dataset {spec.dataset!r} is not an image dataset (features {spec.input_shape}); "
                           "predict takes image files only for image datasets (mnist, catvnoncat)")
    h, w, c = (int(d) for d in image_shape)
    path = Path(path)
    if not path.is_file():
        raise PredictError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as im:
            im.load()
            im = im.convert("L" if c == 1 else "RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise PredictError(f"{str(path)!r} is not a readable image file ({exc.__class__.__name__})") from exc
    if im.size != (w, h):
        if not resize:
            raise PredictError(f"{str(path)!r} is {im.size[0]}x{im.size[1]} pixels but the model takes {w}x{h} "
                               "(drop --no-resize to resize it)")
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.uint8).reshape(1, h, w, c)
    if len(spec.input_shape) == 3:
        return arr
    return (arr.reshape(1, -1).astype(np.float32) / 255.0)


def predict_image(model: RunModel, image: Path, resize: bool = True) -> tuple[str, float, np.ndarray]:
    """(class name, its probability, all probabilities) for one image file."""
    p = model.predict_proba(image_to_features(image, model.spec, resize))[0]
    k = int(np.argmax(p))
    return model.class_names[k], float(p[k]), p


def main(argv: Sequence[str] | None = None) -> int:
    from scratchbench.config.cli import ArgumentParser, check_choices

    ap = ArgumentParser(prog="scratchbench-predict", description=__doc__.splitlines()[0])
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--run-id", help="MLflow run id whose model/ artifact to use")
    who.add_argument("--experiment", help="use the latest finished run of this preset, e.g. r11_cat_tanh")
    ap.add_argument("image", type=Path, help="image file (PNG, JPEG, ...)")
    ap.add_argument("--tracking-uri", default=None, help="MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)")
    ap.add_argument("--no-resize", action="store_true", help="error out instead of resizing a wrong-size image")
    ap.add_argument("--json", action="store_true", help="print a JSON object instead of a sentence")
    args = ap.parse_args(argv)
    from scratchbench.data.features import FeatureError

    try:
        if args.experiment:
            check_choices("--experiment", [args.experiment], "experiment")
        run_id = args.run_id or latest_run_id(args.experiment, args.tracking_uri)
        model = load_run_model(run_id, args.tracking_uri)
        label, prob, probs = predict_image(model, args.image, resize=not args.no_resize)
    except (PredictError, FeatureError, ValueError, FileNotFoundError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"run_id": run_id, "class": label, "probability": prob,
                          "probabilities": dict(zip(model.class_names, map(float, probs), strict=True))}))
    else:
        print(f"{args.image}: {label} (probability {prob:.4f}) — "
              f"run {run_id}, {model.implementation} on {model.dataset}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
