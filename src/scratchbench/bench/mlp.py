"""``python -m scratchbench.bench mlp``: one epoch of MLP 784-100-10 on MNIST, four ways.

Times one training epoch (median of ``--repeats``, after a warm-up) of sigmoid hidden /
softmax + categorical cross-entropy / plain SGD / float32 at each batch size for: the
scratch engine, a Keras model with the same architecture and initial weights, scikit-learn's
``MLPClassifier`` and the GEMM floor (see :mod:`scratchbench.bench.floor`). Repeats are
interleaved across implementations so machine noise hits all of them alike. All of them run
with the same BLAS/TF thread budget (``--threads``). Writes ``reports/bench/mlp.json``.

An epoch is timed inside the training loop: from Keras's ``on_epoch_begin`` to
``on_epoch_end`` and the engine's own ``epoch_seconds``, so the per-``fit``-call set-up
(Keras's data adapter, input checks) is not counted against either; those whole-call times are
kept under ``meta.all_fit_call_seconds``. ``MLPClassifier`` has no epoch hook: its figure is the
whole ``fit(max_iter=1)`` call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scratchbench.bench import cpu_model, keras_epoch_timer, keras_with_threads

from ..paths import reports_dir
from .floor import dense_epoch_flops, dense_step_shapes, floor_seconds, measure_gemm_rate

SIZES = [784, 100, 10]
IMPLS = ("numpy", "keras", "sklearn", "floor")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench mlp", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=60000, help="training images per epoch (default 60000)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per implementation (median reported, >= 3)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS / TensorFlow threads for every implementation (default: all cores); the engine uses one BLAS "
                        "thread for small steps, as numpy_mlp runs do")
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--only", default=",".join(IMPLS), help=f"comma list of implementations to run (default all: {','.join(IMPLS)})")
    p.add_argument("--synthetic", action="store_true", help="random data instead of MNIST (smoke tests)")
    p.add_argument("--out", type=Path, default=None, help="JSON output (default reports/bench/mlp.json)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in IMPLS]
    if bad:
        p.error(f"--only: unknown implementation(s) {bad}; valid: {', '.join(IMPLS)}")
    args.only = only
    if args.threads is None:
        from ..models.numpy_net import cores

        args.threads = cores()
    for name in ("samples", "repeats", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name}: must be >= 1")
    if any(b < 1 for b in args.batch_sizes):
        p.error("--batch-sizes: must be >= 1")
    return args


def load_mnist(samples: int, synthetic: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST training images as float32 (N, 784) in [0, 1] and int64 labels."""
    if synthetic:
        rng = np.random.default_rng(seed)
        return rng.random((samples, 784), dtype=np.float32), rng.integers(0, 10, samples)
    from ..data.features import FeatureError, load_features

    try:
        fs = load_features("mnist")
    except FeatureError as exc:
        hint = "" if "dvc repro featurize@mnist" in str(exc) else "\nRun `dvc repro featurize@mnist` first."
        raise SystemExit(f"bench mlp: MNIST features are missing: {exc}{hint}") from None
    x, y = fs.x_train, fs.y_train
    if samples > len(x):
        raise SystemExit(f"bench mlp: --samples {samples} exceeds the {len(x)} MNIST training images")
    x = x[:samples].reshape(samples, -1).astype(np.float32)
    x /= 255.0
    return np.ascontiguousarray(x), y[:samples].astype(np.int64)


Timing = tuple[float, float]  # (epoch seconds, whole fit-call seconds)


def _timed_call(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def make_runners(args: argparse.Namespace, x: np.ndarray, y: np.ndarray, batch: int, init_weights: list[np.ndarray],
                 numpy_blas: int) -> dict[str, Callable[[], Timing]]:
    """One callable per implementation: runs one timed epoch, returns (epoch s, fit-call s); warm-up done here.

    The engine runs with ``numpy_blas`` BLAS threads (the rule numpy_mlp runs use), the others with ``--threads``.
    """
    runners: dict[str, Callable[[], Timing]] = {}
    warm = min(len(x), 4096)
    lr = args.learning_rate
    if "numpy" in args.only:
        from ..scratch.network import Network

        net = Network.from_config(MODEL_CFG, (784,), 10, args.seed)
        net.set_weights(init_weights)
        opt = {"name": "sgd", "learning_rate": lr}
        net.fit(x[:warm], y[:warm], epochs=1, batch_size=batch, optimizer=opt)

        from threadpoolctl import threadpool_limits

        def numpy_epoch() -> Timing:
            with threadpool_limits(numpy_blas, user_api="blas"):
                history, call = _timed_call(lambda: net.fit(x, y, epochs=1, batch_size=batch, optimizer=opt))
            return history[-1]["epoch_seconds"], call

        runners["numpy"] = numpy_epoch
    if "keras" in args.only:
        keras = keras_with_threads(args.threads)
        model = keras.Sequential([
            keras.Input((784,)),
            keras.layers.Dense(100, activation="sigmoid"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=lr), loss="categorical_crossentropy", metrics=["accuracy"])
        model.set_weights(init_weights)
        onehot = np.eye(10, dtype=np.float32)[y]
        model.fit(x[:warm], onehot[:warm], batch_size=batch, epochs=1, shuffle=True, verbose=0)
        timer = keras_epoch_timer(keras)

        def keras_epoch() -> Timing:
            _, call = _timed_call(lambda: model.fit(x, onehot, batch_size=batch, epochs=1, shuffle=True, verbose=0, callbacks=[timer]))
            return timer.epochs[-1][0], call

        runners["keras"] = keras_epoch
    if "sklearn" in args.only:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        def sk_fit(n: int) -> None:
            clf = MLPClassifier(hidden_layer_sizes=(100,), activation="logistic", solver="sgd", batch_size=batch, max_iter=1,
                                learning_rate_init=lr, momentum=0.0, nesterovs_momentum=False, alpha=0.0, shuffle=True,
                                random_state=args.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(x[:n], y[:n])

        sk_fit(warm)

        def sklearn_epoch() -> Timing:
            _, call = _timed_call(lambda: sk_fit(len(x)))
            return call, call

        runners["sklearn"] = sklearn_epoch
    if "floor" in args.only:
        shapes = dense_step_shapes(batch, SIZES)
        flops = dense_epoch_flops(len(x), SIZES)

        def floor() -> Timing:
            seconds = floor_seconds(flops, measure_gemm_rate(shapes, np.float32, repeats=1, min_seconds=0.3)["median"])
            return seconds, seconds

        runners["floor"] = floor
    return runners


MODEL_CFG = {
    "layers": [{"units": 100, "activation": "sigmoid"}, {"units": 10, "activation": "softmax"}],
    "loss": "categorical_crossentropy",
    "init": {"name": "glorot_uniform"},
    "dtype": "float32",
}


def _versions(only: list[str]) -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    if "keras" in only:
        import keras
        import tensorflow as tf

        out.update(tensorflow=tf.__version__, keras=keras.__version__)
    if "sklearn" in only:
        import sklearn

        out["scikit-learn"] = sklearn.__version__
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_info, threadpool_limits

    x, y = load_mnist(args.samples, args.synthetic, args.seed)
    from ..models.arch import macs_per_sample
    from ..models.numpy_net import dense_blas_threads
    from ..scratch.network import Network

    ref = Network.from_config(MODEL_CFG, (784,), 10, args.seed)
    init_weights = ref.get_weights()
    # the engine's BLAS threads per batch size: numpy_mlp's rule (one thread for small steps), within --threads
    numpy_blas = {b: dense_blas_threads(macs_per_sample(ref.canonical), b, args.threads) for b in args.batch_sizes}
    # import every library before limiting threads: threadpoolctl only limits pools already loaded
    if "keras" in args.only:
        keras_with_threads(args.threads)
    if "sklearn" in args.only:
        import sklearn.neural_network  # noqa: F401
    result: dict[str, Any] = {}
    samples: dict[str, dict[str, list[float]]] = {}
    calls: dict[str, dict[str, list[float]]] = {}
    with threadpool_limits(limits=args.threads):
        for batch in args.batch_sizes:
            runners = make_runners(args, x, y, batch, init_weights, numpy_blas[batch])
            times: dict[str, list[float]] = {k: [] for k in runners}
            call_times: dict[str, list[float]] = {k: [] for k in runners if k != "floor"}
            for _ in range(args.repeats):  # interleaved so load spikes hit every implementation
                for name, fn in runners.items():
                    epoch_s, call_s = fn()
                    times[name].append(epoch_s)
                    if name in call_times:
                        call_times[name].append(call_s)
            result[f"batch_{batch}"] = {k: statistics.median(v) for k, v in times.items()}
            samples[f"batch_{batch}"] = times
            calls[f"batch_{batch}"] = call_times
        blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()]
    ratios = {}
    for key, row in result.items():
        r = {}
        if "numpy" in row and "floor" in row:
            r["numpy_over_floor"] = row["numpy"] / row["floor"]
        for other in ("keras", "sklearn"):
            if "numpy" in row and other in row:
                r[f"{other}_over_numpy"] = row[other] / row["numpy"]
        ratios[key] = r
    result["ratios"] = ratios
    result["meta"] = {
        "samples": len(x), "repeats": args.repeats, "threads": args.threads,
        "numpy_blas_threads": {f"batch_{b}": t for b, t in numpy_blas.items()}, "learning_rate": args.learning_rate,
        "data": "synthetic" if args.synthetic else "mnist", "architecture": "784-100(sigmoid)-10(softmax), CCE, SGD, float32",
        "epoch_gflop": dense_epoch_flops(len(x), SIZES) / 1e9,
        "floor_gflop_per_second": {k: dense_epoch_flops(len(x), SIZES) / 1e9 / v["floor"] for k, v in result.items() if "floor" in v},
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "cpu": cpu_model(),
        "load_average": list(os.getloadavg()), "versions": _versions(args.only), "blas": blas,
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "all_seconds": samples,
        "timing": "epoch = inside the training loop (Keras on_epoch_begin..on_epoch_end, engine epoch_seconds); "
                  "sklearn = whole fit(max_iter=1) call; all_fit_call_seconds = whole fit calls",
        "all_fit_call_seconds": calls,
    }
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"One epoch, MLP 784-100-10, {result['meta']['samples']} samples, {result['meta']['threads']} thread(s) — median seconds")
    for col in ("batch", *IMPLS, "numpy/floor", "keras/numpy", "sklearn/numpy"):
        table.add_column(col, justify="right")
    for key, row in result.items():
        if not key.startswith("batch_"):
            continue
        r = result["ratios"][key]
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        table.add_row(key.removeprefix("batch_"), *(fmt(row.get(k)) for k in IMPLS),
                      *(fmt(r.get(k)) for k in ("numpy_over_floor", "keras_over_numpy", "sklearn_over_numpy")))
    Console(width=max(shutil.get_terminal_size().columns, 120)).print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print_table(result)
    out = args.out or reports_dir() / "bench" / "mlp.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
