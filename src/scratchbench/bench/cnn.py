"""``python -m scratchbench.bench cnn``: the R7 CNN on MNIST, NumPy engine vs Keras vs the GEMM floor.

R7 = Conv2D(64, 3, relu) -> Conv2D(32, 3, relu) -> Flatten -> Dense(10, softmax), adam
(lr 1e-3), categorical cross-entropy, float32, batch 128, x/255. Both models start from the
same weights. Epochs are interleaved (numpy, keras, numpy, keras, ...) so machine load hits
both alike; the first NumPy epoch runs before TensorFlow is even imported, which is where the
NumPy peak RSS is read. Test accuracy is taken after each model's first epoch. The median
over ``--repeats`` epochs is reported, with every epoch's seconds in ``meta``. The timed epochs
run uninstrumented; "where the time goes" comes from a separate profiling pass afterwards
(``--profile-samples`` images with per-layer timers and the conv step hook
``scratch.conv.profiled``), scaled to an epoch.

Floor = the epoch's conv + dense FLOPs (forward + backward) / the FLOP rate of a large square
float32 GEMM, measured per CPU-second and multiplied by the thread count (steady on a shared
machine). The rate on R7's own im2col GEMM shapes is lower (thin matrices), so ``meta`` also
keeps that floor (``floor_step_shapes``, which the shift algorithm can beat) and its
wall-clock measurement (``floor_wall_measured``).
Writes ``reports/bench/cnn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from scratchbench.bench import cpu_model, keras_epoch_timer, keras_with_threads

from ..paths import reports_dir
from .floor import floor_seconds, gemm_flops, measure_gemm_rate

IMPLS = ("numpy", "keras", "floor")
SQUARE = (2048, 2048, 2048)  # the GEMM whose rate defines the floor: about the best this BLAS does
R7_LAYERS = [
    {"type": "conv2d", "filters": 64, "kernel_size": 3, "strides": 1, "padding": "valid", "activation": "relu"},
    {"type": "conv2d", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "valid", "activation": "relu"},
    {"type": "flatten"},
    {"type": "dense", "units": 10, "activation": "softmax"},
]
MODEL_CFG = {"layers": R7_LAYERS, "loss": "categorical_crossentropy", "init": {"name": "glorot_uniform"},
             "bias_init": {"name": "zeros"}, "dtype": "float32", "input_scaling": "none"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench cnn", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=60000, help="training images per epoch (default 60000)")
    p.add_argument("--test-samples", type=int, default=10000, help="test images for the accuracy (default 10000)")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per implementation, median reported (default 3)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both: TensorFlow intra/inter-op threads; NumPy conv chunk workers with a 1-thread BLAS (default: all cores)")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=512, help="images of an untimed warm-up pass; weights and optimizer are reset after it")
    p.add_argument("--only", default=",".join(IMPLS), help=f"comma list of {','.join(IMPLS)} (default all)")
    p.add_argument("--synthetic", action="store_true", help="random images instead of MNIST (smoke tests)")
    p.add_argument("--out", type=Path, default=None, help="JSON output (default reports/bench/cnn.json)")
    p.add_argument("--profile-samples", type=int, default=12800, help="images of the NumPy profiling pass after the timed epochs (0: none; default 12800)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in args.only if s not in IMPLS]
    if bad:
        p.error(f"--only: unknown implementation(s) {bad}; valid: {', '.join(IMPLS)}")
    for name in ("samples", "test_samples", "repeats", "batch_size", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1")
    for name in ("warmup", "profile_samples"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')}: must be >= 0")
    return args


def load_mnist(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/test images as float32 NHWC in [0, 1] and int64 labels."""
    if args.synthetic:
        rng = np.random.default_rng(args.seed)
        mk = lambda n: (rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n))  # noqa: E731
        return (*mk(args.samples), *mk(args.test_samples))
    from ..data.features import FeatureError, load_features

    try:
        fs = load_features("mnist")
    except FeatureError as exc:
        raise SystemExit(f"bench cnn: MNIST features are missing ({exc}).\nRun `dvc repro featurize@mnist` first.") from None
    if args.samples > len(fs.x_train):
        raise SystemExit(f"bench cnn: --samples {args.samples} exceeds the {len(fs.x_train)} MNIST training images")

    def scale(x: np.ndarray) -> np.ndarray:
        x = x.reshape(len(x), 28, 28, 1).astype(np.float32)
        x /= 255.0
        return x

    return (scale(fs.x_train[: args.samples]), fs.y_train[: args.samples].astype(np.int64),
            scale(fs.x_test[: args.test_samples]), fs.y_test[: args.test_samples].astype(np.int64))


# -- FLOPs and floor ---------------------------------------------------------------------------
def step_shapes(batch: int) -> list[tuple[int, int, int]]:
    """The GEMMs of one R7 training step in im2col form: forward, dW, and dX (not for the first layer)."""
    c1, c2 = batch * 26 * 26, batch * 24 * 24
    return [
        (c1, 9, 64), (9, c1, 64),  # conv1: x @ W, cols.T @ dz (input gradient not needed)
        (c2, 576, 32), (576, c2, 32), (c2, 32, 576),  # conv2
        (batch, 18432, 10), (18432, batch, 10), (batch, 10, 18432),  # dense
    ]


def epoch_flops(samples: int) -> float:
    return gemm_flops(step_shapes(1)) * samples


def gemm_cpu_rate(shapes: list[tuple[int, int, int]], min_seconds: float = 0.5, seed: int = 0) -> float:
    """FLOPs per CPU-second (all threads) on ``shapes``: unlike a wall-clock rate it hardly moves
    when other processes share the cores. Times ``threads`` = the wall rate of a quiet machine
    with perfect scaling, so the floor built from it stays a lower bound."""
    rng = np.random.default_rng(seed)
    ops = [(rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32), np.empty((m, n), np.float32))
           for m, k, n in shapes]
    for a, b, o in ops:  # warm-up
        np.dot(a, b, out=o)
    reps, c0 = 0, time.process_time()
    while True:
        for a, b, o in ops:
            np.dot(a, b, out=o)
        reps += 1
        spent = time.process_time() - c0
        if spent >= min_seconds:
            return gemm_flops(shapes) * reps / spent


# -- profiling ---------------------------------------------------------------------------------
class LayerProfile:
    """Seconds (of ``clock``) per layer call (forward/backward), head (loss) and optimizer step, via instance wrappers."""

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.clock = clock

    def wrap(self, obj: Any, attr: str, key: str) -> None:
        fn = getattr(obj, attr)
        secs = self.seconds

        def timed(*a: Any, **k: Any) -> Any:
            t0 = self.clock()
            try:
                return fn(*a, **k)
            finally:
                secs[key] += self.clock() - t0

        setattr(obj, attr, timed)

    def instrument(self, net: Any, opt: Any) -> None:
        for i, layer in enumerate(net._body):
            name = type(layer).__name__
            label = f"{i}:{name}({layer.name})" if hasattr(layer, "name") and name == "Activation" else f"{i}:{name}"
            self.wrap(layer, "forward", f"{label} forward")
            self.wrap(layer, "backward", f"{label} backward")
        if net._head is not None:
            self.wrap(net, "_head", "softmax+loss head")
        self.wrap(opt, "step", "optimizer step")


# -- runners -----------------------------------------------------------------------------------
class NumpyRunner:
    def __init__(self, args: argparse.Namespace, x: np.ndarray, y: np.ndarray, init: list[np.ndarray]) -> None:
        from threadpoolctl import threadpool_limits

        from ..scratch.conv import set_workers
        from ..scratch.network import Network
        from ..scratch.optimizers import make_optimizer

        self.args, self.x, self.y = args, x, y
        set_workers(args.threads)  # conv row chunks on `threads` Python threads, each with a 1-thread BLAS
        self.net = Network.from_config(MODEL_CFG, (28, 28, 1), 10, args.seed)
        if args.warmup:
            with threadpool_limits(limits=1, user_api="blas"):
                self.net.fit(x[: args.warmup], y[: args.warmup], epochs=1, batch_size=args.batch_size,
                             optimizer={"name": "adam", "learning_rate": args.learning_rate})
        self.net.set_weights(init)  # back to the shared start, with a fresh optimizer
        self.opt = make_optimizer({"name": "adam", "learning_rate": args.learning_rate})

    def epoch(self, x: np.ndarray | None = None, y: np.ndarray | None = None) -> tuple[float, float]:
        """(wall, CPU) seconds of one training epoch (over ``x, y`` if given)."""
        from threadpoolctl import threadpool_limits

        x, y = (self.x, self.y) if x is None else (x, y)
        c0 = time.process_time()
        with threadpool_limits(limits=1, user_api="blas"):  # the threads go to the conv chunk workers
            history = self.net.fit(x, y, epochs=1, batch_size=self.args.batch_size, optimizer=self.opt, shuffle=True)
        return history[-1]["epoch_seconds"], time.process_time() - c0

    def profile(self, samples: int) -> dict[str, Any]:
        """CPU seconds per layer call and per conv step over one pass of ``samples`` images, scaled to an epoch.

        Run after the timed epochs: it instruments the network for good."""
        from ..scratch.conv import profiled

        layers = LayerProfile(clock=time.process_time)  # CPU seconds of all threads during each call
        layers.instrument(self.net, self.opt)
        with profiled(time.thread_time) as steps:  # each step's CPU time on the thread it runs on
            _, cpu = self.epoch(self.x[:samples], self.y[:samples])
        scale = len(self.x) / samples
        per_epoch = lambda d: {k: v * scale for k, v in sorted(d.items(), key=lambda kv: -kv[1])}  # noqa: E731
        return {"layers_seconds_per_epoch": per_epoch(layers.seconds), "conv_internals_seconds_per_epoch": per_epoch(steps),
                "epoch_cpu_seconds_mean": cpu * scale, "profile_samples": samples,
                "clock": "process_time per layer call, thread_time per conv step (CPU seconds, all threads); "
                         f"a separate pass over {samples} images scaled to the {len(self.x)}-image epoch"}

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return float(np.mean(np.concatenate([self.net.predict(x[i : i + 1000]) for i in range(0, len(x), 1000)]) == y))


class KerasRunner:
    def __init__(self, args: argparse.Namespace, x: np.ndarray, y: np.ndarray, init: list[np.ndarray]) -> None:
        keras = keras_with_threads(args.threads)
        self.args, self.x = args, x
        self.onehot = np.eye(10, dtype=np.float32)[y]
        layers = [keras.Input((28, 28, 1)), keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.Conv2D(32, 3, activation="relu"),
                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
        self.model = keras.Sequential(layers)
        opt = keras.optimizers.Adam(learning_rate=args.learning_rate)
        self.model.compile(optimizer=opt, loss="categorical_crossentropy")
        opt.build(self.model.trainable_variables)
        opt_state = [v.numpy() for v in opt.variables]
        if args.warmup:  # traces the train function; then reset weights and optimizer state
            self.model.fit(x[: args.warmup], self.onehot[: args.warmup], batch_size=args.batch_size, epochs=1, verbose=0)
        for v, s in zip(opt.variables, opt_state):
            v.assign(s)
        self.model.set_weights(init)
        self.timer = keras_epoch_timer(keras)

    def epoch(self) -> tuple[float, float]:
        """(wall, CPU) seconds from ``on_epoch_begin`` to ``on_epoch_end``: no per-``fit`` set-up."""
        self.model.fit(self.x, self.onehot, batch_size=self.args.batch_size, epochs=1, shuffle=True, verbose=0, callbacks=[self.timer])
        return self.timer.epochs[-1]

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.model.predict(x, batch_size=1000, verbose=0).argmax(axis=1) == y))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run(args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_info, threadpool_limits

    from ..scratch.network import Network

    x, y, xt, yt = load_mnist(args)
    init = Network.from_config(MODEL_CFG, (28, 28, 1), 10, args.seed).get_weights()
    times: dict[str, list[float]] = {k: [] for k in args.only}
    cpu_times: dict[str, list[float]] = {k: [] for k in args.only if k != "floor"}
    floor_wall: list[float] = []
    floor_step: list[float] = []
    acc: dict[str, float | None] = {"numpy": None, "keras": None}
    meta: dict[str, Any] = {}
    flops = epoch_flops(len(x))
    shapes = step_shapes(args.batch_size)
    with threadpool_limits(limits=args.threads):
        runners: dict[str, Any] = {}
        if "numpy" in args.only:
            runners["numpy"] = NumpyRunner(args, x, y, init)
        for rep in range(args.repeats):
            for name in args.only:
                if name == "floor":
                    times[name].append(floor_seconds(flops, gemm_cpu_rate([SQUARE]) * args.threads))
                    floor_step.append(floor_seconds(flops, gemm_cpu_rate(shapes) * args.threads))
                    floor_wall.append(floor_seconds(flops, measure_gemm_rate(shapes, np.float32, repeats=1, min_seconds=0.3)["median"]))
                    continue
                if name not in runners:  # Keras is built (and TF imported) only after the first NumPy epoch
                    runners[name] = KerasRunner(args, x, y, init)
                wall, cpu = runners[name].epoch()
                times[name].append(wall)
                cpu_times[name].append(cpu)
                print(f"  epoch {rep + 1}/{args.repeats} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
                if rep == 0:
                    if name == "numpy" and "keras" not in runners:  # TensorFlow not loaded yet
                        meta["numpy_train_peak_rss_mb"] = _rss_mb()
                    acc[name] = runners[name].accuracy(xt, yt)
                    if name == "numpy" and "keras" not in runners:
                        meta["numpy_peak_rss_mb"] = _rss_mb()
        if "numpy" in runners and args.profile_samples:
            profile = runners["numpy"].profile(min(args.profile_samples, len(x)))
        blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()]

    result: dict[str, Any] = {k: (statistics.median(times[k]) if times.get(k) else None) for k in IMPLS}
    result["numpy_test_acc"], result["keras_test_acc"] = acc["numpy"], acc["keras"]
    if "numpy" in runners and args.profile_samples:
        result["profile"] = profile
    ratios = {}
    if result["numpy"] and result["keras"]:
        ratios["numpy_over_keras"] = result["numpy"] / result["keras"]
    if result["numpy"] and result["floor"]:
        ratios["floor_fraction_reached"] = result["floor"] / result["numpy"]
    if result["keras"] and result["floor"]:
        ratios["keras_floor_fraction_reached"] = result["floor"] / result["keras"]
    meta.update({
        "samples": len(x), "test_samples": len(xt), "batch_size": args.batch_size, "repeats": args.repeats,
        "threads": args.threads, "learning_rate": args.learning_rate, "warmup": args.warmup,
        "data": "synthetic" if args.synthetic else "mnist",
        "numpy_threading": f"conv row chunks on {args.threads} Python thread(s) (scratch.conv.set_workers), BLAS limited to 1 thread; "
                           "dense layer and element-wise passes outside the chunk loops on one thread",
        "keras_threading": f"TensorFlow intra/inter-op threads = {args.threads}",
        "timing": "wall = the epoch inside the training loop (Keras on_epoch_begin..on_epoch_end, engine epoch_seconds); "
                  "CPU = process_time over the Keras epoch / the engine's whole fit call",
        "architecture": "Conv2D(64,3,relu)-Conv2D(32,3,relu)-Flatten-Dense(10,softmax), adam, CCE, float32",
        "epoch_gflop": flops / 1e9,
        "floor_basis": "epoch FLOPs / (FLOPs per CPU-second of a 2048^3 float32 GEMM x threads)",
        "gemm_rate_gflops_square": flops / result["floor"] / 1e9 if result["floor"] else None,
        "floor_step_shapes": statistics.median(floor_step) if floor_step else None,
        "gemm_rate_gflops_step_shapes": flops / statistics.median(floor_step) / 1e9 if floor_step else None,
        "floor_wall_measured": statistics.median(floor_wall) if floor_wall else None,
        "all_seconds": times, "ratios": ratios,
        "cpu_seconds_median": {k: statistics.median(v) for k, v in cpu_times.items() if v}, "all_cpu_seconds": cpu_times, "process_peak_rss_mb": _rss_mb(),
        "cpu_count": os.cpu_count(), "machine": platform.machine(), "cpu": cpu_model(), "load_average": list(os.getloadavg()), "blas": blas,
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })
    result["meta"] = meta
    return result


def report(result: dict[str, Any]) -> str:
    m = result["meta"]
    fmt = lambda v, f="{:.2f}": "-" if v is None else f.format(v)  # noqa: E731
    lines = [f"R7 CNN, one epoch of {m['samples']} images, batch {m['batch_size']}, {m['threads']} thread(s), "
             f"median of {m['repeats']} (load avg {m['load_average'][0]:.1f}):",
             f"  numpy  {fmt(result['numpy'])} s   test acc after 1 epoch {fmt(result['numpy_test_acc'], '{:.4f}')}",
             f"  keras  {fmt(result['keras'])} s   test acc after 1 epoch {fmt(result['keras_test_acc'], '{:.4f}')}",
             f"  floor  {fmt(result['floor'])} s   ({m['epoch_gflop']:.0f} GFLOP per epoch at the square-GEMM rate "
             f"{fmt(m['gemm_rate_gflops_square'], '{:.0f}')} GFLOP/s; at the rate of R7's im2col GEMM shapes "
             f"({fmt(m['gemm_rate_gflops_step_shapes'], '{:.0f}')} GFLOP/s) it would be {fmt(m['floor_step_shapes'])} s)"]
    r, cpu = m["ratios"], m.get("cpu_seconds_median", {})
    if "numpy_over_keras" in r:
        lines.append(f"  numpy / keras = {r['numpy_over_keras']:.2f}x wall"
                     + (f", {cpu['numpy'] / cpu['keras']:.2f}x CPU time ({cpu['numpy']:.1f} s vs {cpu['keras']:.1f} s; "
                        "CPU time is the steadier figure on a busy machine)" if "numpy" in cpu and "keras" in cpu else ""))
    if "floor_fraction_reached" in r:
        lines.append(f"  numpy reaches {100 * r['floor_fraction_reached']:.0f}% of the floor speed"
                     + (f" (keras {100 * r['keras_floor_fraction_reached']:.0f}%)" if "keras_floor_fraction_reached" in r else ""))
    if "numpy" in cpu and result["floor"]:
        lines.append(f"  on CPU time: numpy reaches {100 * result['floor'] * m['threads'] / cpu['numpy']:.0f}% of the floor"
                     + (f", keras {100 * result['floor'] * m['threads'] / cpu['keras']:.0f}%" if "keras" in cpu else "")
                     + (f" (step-shape floor on the wall clock as measured now: {m['floor_wall_measured']:.1f} s)" if m.get("floor_wall_measured") else ""))
    if m.get("numpy_train_peak_rss_mb"):
        lines.append(f"  numpy peak RSS after its first training epoch (TensorFlow not loaded; data included): "
                     f"{m['numpy_train_peak_rss_mb']:.0f} MB; after test predictions {m['numpy_peak_rss_mb']:.0f} MB; "
                     f"whole process {m['process_peak_rss_mb']:.0f} MB")
    prof = result.get("profile")
    if prof:
        total = prof["epoch_cpu_seconds_mean"]
        lines.append(f"Where a NumPy epoch's CPU time goes (a profiling pass over {prof['profile_samples']} images, "
                     f"not a timed epoch; scaled to the epoch: {total:.2f} CPU s, all threads):")
        layer_sum = 0.0
        for k, v in prof["layers_seconds_per_epoch"].items():
            layer_sum += v
            lines.append(f"  {k:<34} {v:7.2f} s  {100 * v / total:5.1f}%")
        lines.append(f"  {'other (batch gather, bookkeeping)':<34} {total - layer_sum:7.2f} s  {100 * (total - layer_sum) / total:5.1f}%")
        lines.append("Inside the conv layers:")
        for k, v in prof["conv_internals_seconds_per_epoch"].items():
            lines.append(f"  {k:<34} {v:7.2f} s  {100 * v / total:5.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    out = args.out or reports_dir() / "bench" / "cnn.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
    os.replace(tmp, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
