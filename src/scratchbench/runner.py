"""Run one configured experiment end to end and record it in MLflow.

``run(cfg)``: validate -> seed -> open the MLflow run (params, tags) -> load features -> adapt
-> build/fit/measure the implementation -> probes -> final metrics and artifacts. An exception
or non-finite loss ends the run FAILED (error as tag + ``error.txt``); SIGINT/SIGTERM end it
KILLED. Optional ``out_dir`` receives ``metrics.json`` and ``learning_curve.csv`` (DVC).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import signal
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import yaml

from scratchbench.config import validate
from scratchbench.experiment import activations as act
from scratchbench.experiment.caps import apply_caps, capped_test_rows, epoch_cap
from scratchbench.models.arch import macs_per_sample
from scratchbench.experiment.curves import curve_recipe, plot_curve, write_curve_csv, write_metrics_json
from scratchbench.experiment.predictions import boundary_of, save_predictions
from scratchbench.experiment.probes import run_probes
from scratchbench.tracking import names
from scratchbench.tracking.provenance import (cpu_description, git_commit, lockfile_sha256, process_disk_reads,
                                               process_start_ms)
from scratchbench.tracking.run import RunLog, flatten
from scratchbench.tracking.store import experiment_name, init_store, resolve_uri

SPOOL_DIR = "run"  # <out_dir>/run/: the spooled run (tracking.record=spool), recorded by the DVC record stage


_RUNS_IN_PROCESS = 0  # runs this process started before the current one


class NonFiniteLoss(FloatingPointError):
    """Training produced a NaN/inf loss: the run is recorded FAILED."""


class RunKilled(KeyboardInterrupt):
    """SIGTERM received during a run: the run is recorded KILLED."""


@dataclass
class RunResult:
    run_id: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def seed_everything(seed: int) -> None:
    """Seed Python and NumPy's global generators (implementations seed their own from ``cfg.seed``)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ.setdefault("PYTHONHASHSEED", str(seed))


def run_name(cfg: Mapping[str, Any], job: str | None = None) -> str:
    base = f"{cfg['experiment']['name']}-{cfg['model']['name']}-seed{cfg['seed']}"
    return f"{base}-job{job}" if job is not None else base


def _tags(cfg: Mapping[str, Any]) -> dict[str, str]:
    exp = cfg["experiment"]
    pub = exp["published"][0] if exp["published"] else {}  # the headline figure (all of them: conf/experiment)
    return {
        "implementation": cfg["model"]["name"],
        "dataset": cfg["dataset"]["name"],
        "experiment": exp["name"],
        "reference": exp.get("reference") or "",
        "task": exp["task"],
        "variant": exp.get("variant") or "",
        "seed": str(cfg["seed"]),
        "profile": cfg["profile"]["name"],
        "git_commit": git_commit(),
        "lockfile_sha256": lockfile_sha256(),
        "cpu": cpu_description(),
        "published_metric": pub.get("metric") or "",
        "published_value": "" if pub.get("value") is None else str(pub["value"]),
        "published_text": pub.get("text") or "",
        "note": exp.get("note") or "",
    }


class _SigtermToKill:
    """Turn SIGTERM into :class:`RunKilled` for the duration of a run (main thread only)."""

    def __enter__(self) -> "_SigtermToKill":
        self.prev = None
        try:
            self.prev = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not in the main thread
            pass
        return self

    @staticmethod
    def _handler(signum: int, frame: Any) -> None:
        raise RunKilled(f"signal {signum}")

    def __exit__(self, *exc: object) -> None:
        if self.prev is not None:
            signal.signal(signal.SIGTERM, self.prev)


def _load_implementation(name: str) -> None:
    """Import the implementation's framework before the run opens (TensorFlow: seconds), quietly.

    The run's open-to-close time then measures the run, not an import; TensorFlow's C++ log
    (level 3: errors too, e.g. ``NodeDef mentions attribute ...``) and its Python retracing
    warnings stay out of a sweep's output, one line per run.
    """
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from scratchbench.models.registry import implementation_class

    try:
        implementation_class(name)
    except ValueError:
        pass  # unknown name: the run records the error


def _macs(model_cfg: dict[str, Any], spec: Any, kind: str) -> int | None:
    """Forward multiply-accumulates per sample of the run's architecture (None if it cannot say)."""
    from scratchbench.models.adapter import model_input_shape
    from scratchbench.scratch.architecture import ArchitectureError, normalize_layers

    try:
        return macs_per_sample(normalize_layers(model_cfg, model_input_shape(spec, kind), spec.n_classes))
    except (ArchitectureError, KeyError, TypeError, ValueError):
        return None


def _prepare(cfg: dict[str, Any]) -> tuple[dict[str, Any], Any, Any, Any, dict[str, Any], str]:
    """Caps, features, adapted splits and the epoch budget of a run: (cfg, prep, test, val, params, sha256)."""
    from scratchbench.data.features import features_sha256, load_features_cached
    from scratchbench.models import adapter
    from scratchbench.models.base import Split
    from scratchbench.models.registry import input_kind

    cfg, caps = apply_caps(cfg)
    dataset, impl_name = cfg["dataset"]["name"], cfg["model"]["name"]
    kind = input_kind(impl_name)
    fs = load_features_cached(dataset)
    sha = fs.features_sha256 or features_sha256(dataset)

    val_n = cfg["train"].get("val_samples")
    held_out = None
    if val_n:
        if val_n >= len(fs.y_train):
            raise ValueError(f"train.val_samples={val_n} leaves no training data ({len(fs.y_train)} samples)")
        held_out = (fs.x_train[-val_n:], fs.y_train[-val_n:])
        fs = dataclasses.replace(fs, x_train=fs.x_train[:-val_n], y_train=fs.y_train[:-val_n])
    prep = adapter.prepare(fs, kind, cfg)
    scaling, dtype = cfg["model"]["input_scaling"], cfg["model"]["dtype"]
    test = prep.test
    idx = capped_test_rows(len(test.y), cfg["train"]["max_test_samples"], cfg["seed"])
    if idx is not None:
        test = Split(test.x[idx], test.y[idx])
    if held_out is not None:
        val = Split(adapter.adapt_x(held_out[0], prep.spec, kind, scaling, dtype), np.asarray(held_out[1], np.int64))
        val_source = f"last {val_n} training samples"
    else:
        val = test
        val_source = "test split"
    macs = _macs(cfg["model"], prep.spec, kind)
    cfg["train"]["epochs"], ecaps = epoch_cap(cfg, len(prep.train.y), macs, len(val.y))
    params = {**caps, **ecaps, **{f"data.{k}": v for k, v in prep.info.items()},
              "data.test_samples_effective": len(test.y), "data.val_source": val_source,
              "data.val_samples": len(val.y)}
    return cfg, prep, test, val, params, sha


def plan(cfg: Any) -> dict[str, Any]:
    """The caps a run of ``cfg`` would get (``--plan``): nothing is trained or recorded."""
    cfg = validate(cfg)
    if cfg["experiment"]["task"] != "train":
        return {"task": cfg["experiment"]["task"]}
    return _prepare(cfg)[4]


def _train(cfg: dict[str, Any], run: RunLog, workdir: Path, out_dir: Path | None) -> dict[str, float]:
    from scratchbench.models import adapter
    from scratchbench.models.measure import measure
    from scratchbench.models.registry import get_implementation, input_kind

    cfg, prep, test, val, params, sha = _prepare(cfg)
    impl_name, dataset = cfg["model"]["name"], cfg["dataset"]["name"]
    kind = input_kind(impl_name)
    scaling, dtype = cfg["model"]["input_scaling"], cfg["model"]["dtype"]
    run.set_tags({"features_sha256": sha})
    run.log_params(params)
    run.set_expected_steps(int(cfg["train"]["epochs"]))

    def on_epoch(rec: Any) -> None:
        if not math.isfinite(float(rec.loss)):
            raise NonFiniteLoss(f"non-finite loss {rec.loss} at epoch {rec.epoch}")
        run.log_epoch(rec.epoch, {"loss": rec.loss, "train_accuracy": rec.train_accuracy,
                                  "val_accuracy": rec.val_accuracy, "epoch_seconds": rec.epoch_seconds,
                                  **(rec.extra or {})})

    impl = get_implementation(impl_name)
    impl.build(cfg, prep.spec)
    res = measure(impl, prep.train, test, val, on_epoch)
    run.finish_curve()
    if res.history and not math.isfinite(float(res.history[-1].loss)):
        raise NonFiniteLoss(f"non-finite final loss {res.history[-1].loss}")

    threads = dict(res.threads)
    run.set_tags({"threads": json.dumps(threads, sort_keys=True), **{f"threads.{k}": v for k, v in threads.items()}})
    if res.run_info:
        run.log_params({f"impl.{k}": v for k, v in flatten(res.run_info).items()})
    metrics = res.metrics()
    metrics["test_samples"] = float(res.test_samples)
    metrics["epochs_run"] = float(len(res.history))
    if res.history:
        metrics["final_loss"] = float(res.history[-1].loss)
        metrics["final_train_accuracy"] = float(res.history[-1].train_accuracy)
    adapt = lambda x: adapter.adapt_x(x, prep.spec, kind, scaling, dtype)  # noqa: E731
    metrics.update(run_probes(cfg["experiment"]["probes"], impl, res.history, prep.train, adapt))
    run.log_metrics(metrics)

    saved = impl.save(workdir / "model")
    run.log_artifact(Path(saved), names.ARTIFACT_MODEL_DIR)
    run.log_artifact(_predictions(cfg, prep, res, lambda x: impl.predict_proba(adapt(x)),
                                  workdir / names.ARTIFACT_PREDICTIONS))
    title = f"{cfg['experiment']['name']} / {impl_name} / {dataset}"
    curve_csv = write_curve_csv(res.history, (out_dir or workdir) / names.ARTIFACT_CURVE_CSV)
    run.log_artifact(curve_csv)
    if run.defers_artifacts:  # spooled: the record stage draws it from the CSV, out of the run's path
        run.defer_artifact(curve_recipe(title))
    else:
        run.log_artifact(plot_curve(res.history, workdir / names.ARTIFACT_CURVE_PNG, title))
    return metrics


def _predictions(cfg: dict[str, Any], prep: Any, res: Any, proba: Callable[[np.ndarray], np.ndarray],
                 path: Path) -> Path:
    """The run's ``predictions.npz``: its test-set predictions and, when its preset draws a decision
    boundary of 2-feature data, the model's probabilities over that figure's plane (the report then
    needs no model)."""
    idx = capped_test_rows(len(prep.test.y), cfg["train"]["max_test_samples"], cfg["seed"])
    y_true = prep.test.y if idx is None else prep.test.y[idx]
    kinds = {f["kind"] for f in cfg["experiment"]["figures"]}
    boundary = None
    if "decision_boundary" in kinds and tuple(prep.spec.input_shape) == (2,):
        from scratchbench.data.features import load_features

        points = load_features(cfg["dataset"]["name"], test_only=True).x_test  # as stored, as the figure draws them
        boundary = boundary_of(proba, points)
    return save_predictions(path, y_true, np.asarray(res.test_proba).argmax(axis=1), prep.spec.class_names,
                            idx, boundary)


def _activations(cfg: dict[str, Any], run: RunLog, workdir: Path) -> dict[str, float]:
    e = cfg["experiment"]
    z = np.linspace(e["z_min"], e["z_max"], int(e["n_points"]))
    errs = act.derivative_errors(list(e["activations"]), z, e["leaky_alpha"])
    run.log_artifact(act.plot(list(e["activations"]), z, workdir / names.ARTIFACT_ACTIVATIONS, e["leaky_alpha"]))
    metrics = {f"derivative_error_{k}": v for k, v in errs.items()}
    metrics["max_derivative_error"] = max(errs.values())
    run.log_metrics(metrics)
    return metrics


def run(cfg: Any, *, parent_run_id: str | None = None, job: str | None = None,
        out_dir: str | os.PathLike[str] | None = None, raise_on_failure: bool = True,
        extra_tags: Mapping[str, str] | None = None) -> RunResult:
    """Validate and execute one run; returns its MLflow id, status and final metrics.

    With ``raise_on_failure=False`` (sweeps) a failed run is recorded and returned instead of
    raised; a KILLED run always re-raises so the sweep stops.
    """
    global _RUNS_IN_PROCESS
    called_ms = int(time.time() * 1000)
    cfg = validate(cfg)
    seed_everything(int(cfg["seed"]))
    if cfg["experiment"]["task"] == "train":
        _load_implementation(cfg["model"]["name"])
    tr = cfg["tracking"]
    # time before the run opened: from the process start for its first run, from the call for later ones
    # (a sweep or pipeline worker runs several); see `python -m scratchbench.bench pipeline`
    tags = {**_tags(cfg), "process_start_ms": str(process_start_ms()), "process_id": str(os.getpid()),
            "run_call_ms": str(called_ms),
            "process_runs_before": str(_RUNS_IN_PROCESS), **process_disk_reads(), **(extra_tags or {})}
    _RUNS_IN_PROCESS += 1
    if parent_run_id:
        tags[names.TAG_SWEEP] = "child"
    out = Path(out_dir) if out_dir is not None else None
    exp_name, name = experiment_name(tr["experiment_prefix"], cfg["dataset"]["name"]), run_name(cfg, job)
    if tr["record"] == "spool":  # no store in the run's path: the DVC record stage writes it later
        if out is None:
            raise ValueError("tracking.record=spool needs an output directory (the DVC train stages give one)")
        from scratchbench.tracking.spool import SpoolRun

        run: RunLog = SpoolRun(out / SPOOL_DIR, exp_name, name, tags=tags, parent_run_id=parent_run_id,
                               max_points=tr["max_curve_points"])
    else:
        from scratchbench.tracking.run import TrackedRun

        client = init_store(resolve_uri(tr["uri"]), tr["connect_timeout"])
        run = TrackedRun(client, exp_name, name, tags=tags, parent_run_id=parent_run_id,
                         max_points=tr["max_curve_points"])
    status, error, metrics = "FINISHED", None, {}
    with tempfile.TemporaryDirectory(prefix="scratchbench-run-") as tmp, _SigtermToKill():
        workdir = Path(tmp)
        try:
            run.log_params(flatten(cfg))
            cfg_file = workdir / names.ARTIFACT_CONFIG
            cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False))
            run.log_artifact(cfg_file)
            if cfg["experiment"]["task"] == "activations":
                metrics = _activations(cfg, run, workdir)
            else:
                metrics = _train(cfg, run, workdir, out)
        except KeyboardInterrupt as exc:
            status, error = "KILLED", f"{type(exc).__name__}: {exc}"
            _record_error(run, workdir, status, exc)
            run.end(status)
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, then re-raised or returned
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
            _record_error(run, workdir, status, exc)
            run.end(status)
            if raise_on_failure:
                raise
        else:
            run.end(status)
    if out is not None:
        if cfg["experiment"]["task"] != "train":
            write_curve_csv([], out / names.ARTIFACT_CURVE_CSV)  # no training: header only
        write_metrics_json({**metrics, "finished": float(status == "FINISHED")}, out / "metrics.json")
    return RunResult(run.run_id, status, metrics, error)


def _record_error(run: RunLog, workdir: Path, status: str, exc: BaseException) -> None:
    """Tags ``error``/``error_type``/``failure_reason`` and the traceback as ``error.txt`` (best effort)."""
    diverged = isinstance(exc, (NonFiniteLoss, FloatingPointError)) or "Diverged" in type(exc).__name__
    reason = "killed" if status == "KILLED" else ("nan_loss" if diverged else "exception")
    try:
        run.finish_curve()
    except Exception:  # noqa: BLE001
        pass
    try:
        run.set_tags({"error": f"{type(exc).__name__}: {exc}"[:4000], "error_type": type(exc).__name__,
                      "failure_reason": reason})
        err = workdir / names.ARTIFACT_ERROR
        err.write_text("".join(traceback.format_exception(exc)))
        run.log_artifact(err)
    except Exception:  # noqa: BLE001 - never mask the original failure
        pass
