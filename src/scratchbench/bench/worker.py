"""One benchmark worker: one implementation in its own process, pinned by the parent with ``taskset``.

``python -m scratchbench.bench.worker KIND [--engine DIR]`` reads one JSON command per line on
stdin and answers one JSON line on stdout (everything else the libraries print goes to stderr):

- ``{"cmd": "prepare", "key": K, "setting": {...}}``: build the model through the registry
  (``models.registry.get_implementation``), load the data, run one untimed warm-up epoch;
- ``{"cmd": "epoch", "key": K}``: one timed epoch -> ``wall`` and ``cpu`` seconds, the 1-minute
  load average before, every second during and after it, and how many of the process's threads did work;
- ``{"cmd": "profile", "key": K, "samples": N}``: the NumPy CNN's separate profiling pass;
- ``{"cmd": "quit"}``.

The worker's thread count is the number of cores it is pinned to. Every competitor gets the
same budget: BLAS limited to it (threadpoolctl), TensorFlow intra- and inter-op threads equal to
it; the dense NumPy-BLAS competitors (engine, the minimal NumPy loop, scikit-learn) follow the engine's rule of one BLAS
thread for small steps (``models.numpy_net.dense_blas_threads``); the floor takes the best of
1..threads. ``KIND``: numpy, numpy_minimal, keras, keras_tuned, sklearn, pybrain, floor. ``--engine DIR`` imports
``scratchbench.scratch`` from ``DIR`` (another git revision's engine) instead of this checkout's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import traceback
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

from .quiet import task_stat_seconds

KINDS = ("numpy", "numpy_minimal", "keras", "keras_tuned", "sklearn", "pybrain", "floor")
TUNED_STEPS_PER_EXECUTION = 64  # Keras' documented compile argument: 64 steps per call into the graph


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, from ``/proc/self/task``."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        seconds = task_stat_seconds("self", tid)
        if seconds is not None:
            out[int(tid)] = seconds
    return out


def active_threads(before: dict[int, float], after: dict[int, float], wall: float) -> int:
    """Threads that used more than 5% of the wall time (0.01 s resolution)."""
    return sum(1 for tid, c in after.items() if c - before.get(tid, 0.0) > max(0.05 * wall, 0.01))


class LoadWatch:
    """The 1-minute load average before, every ``interval`` seconds during, and after a block (a sleeping thread)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval, self.loads = interval, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.loads.append(os.getloadavg()[0])

    def __enter__(self) -> list[float]:
        self.loads.append(os.getloadavg()[0])
        self._thread.start()
        return self.loads

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.loads.append(os.getloadavg()[0])


def use_engine(engine_dir: str) -> None:
    """Make ``scratchbench.scratch`` the package in ``engine_dir`` (another revision's engine)."""
    import importlib.util

    import scratchbench

    pkg = Path(engine_dir) / "src" / "scratchbench" / "scratch"
    spec = importlib.util.spec_from_file_location("scratchbench.scratch", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["scratchbench.scratch"] = module
    spec.loader.exec_module(module)
    scratchbench.scratch = module  # type: ignore[attr-defined]


def load_data(d: dict[str, Any]) -> tuple[Any, Any]:
    """Training images as float32 ``x / 255`` (flat (N, 784) or NHWC) and int64 labels; synthetic for tests."""
    import numpy as np

    n = int(d["samples"])
    shape = (784,) if d["input"] == "flat" else (28, 28, 1)
    if d["source"] == "synthetic":
        rng = np.random.default_rng(d.get("seed", 0))
        return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n)
    from ..data.features import load_features

    fs = load_features("mnist")
    if n > len(fs.x_train):
        raise ValueError(f"samples {n} exceeds the {len(fs.x_train)} MNIST training images")
    x = fs.x_train[:n].reshape(n, *shape).astype(np.float32)
    x /= 255.0
    return np.ascontiguousarray(x), fs.y_train[:n].astype(np.int64)


def data_spec(x: Any) -> Any:
    from ..models.base import DataSpec

    return DataSpec("mnist", tuple(x.shape[1:]), 10, tuple(str(i) for i in range(10)), image_shape=(28, 28, 1))


def run_cfg(setting: dict[str, Any]) -> dict[str, Any]:
    cfg = json.loads(json.dumps(setting["cfg"]))
    cfg["train"] = {**cfg.get("train", {}), "epochs": 1, "batch_size": int(setting["batch"]), "shuffle": True}
    cfg["model"] = {**cfg["model"], "input_scaling": "none"}  # the worker already scaled x / 255
    return cfg


# -- runners: build + warm-up in __init__, epoch() -> (wall seconds, info) ---------------------
class NumpyRunner:
    def __init__(self, setting: dict[str, Any], x: Any, y: Any) -> None:
        from ..models.base import Split
        from ..models.registry import get_implementation

        self.impl = get_implementation(setting["impl"])
        self.impl.build(run_cfg(setting), data_spec(x))
        self.split = Split(x, y)
        self.epoch()  # warm-up

    def epoch(self) -> tuple[float, dict[str, Any]]:
        rec = self.impl.fit(self.split)[-1]
        return rec.epoch_seconds, {"threads": self.impl.threads()}

    def profile(self, samples: int) -> dict[str, Any]:
        return profile_pass(self.impl, self.split, samples)


class MinimalRunner:
    """The minimal NumPy loop (:mod:`.minimal_mlp`): the engine's initial weights, sample order and BLAS thread rule."""

    def __init__(self, setting: dict[str, Any], x: Any, y: Any) -> None:
        from threadpoolctl import threadpool_limits

        from ..models.arch import macs_per_sample
        from ..models.numpy_net import dense_blas_threads
        from ..scratch.network import Network
        from .minimal_mlp import MinimalMLP, check_layers

        cfg = run_cfg(setting)
        if cfg["optimizer"]["name"] != "sgd":
            raise ValueError(f"numpy_minimal: takes optimizer sgd, got {cfg['optimizer']['name']!r}")
        net = Network.from_config(cfg["model"], tuple(x.shape[1:]), 10, seed=int(cfg["seed"]))
        check_layers(net.canonical, net.loss_name)
        self.x, self.targets = net.prepare_x(x), net.encode_targets(y)[0]
        self.batch = int(setting["batch"])
        self.loop = MinimalMLP(net.get_weights(), cfg["optimizer"]["learning_rate"], int(cfg["seed"]))
        self.blas = dense_blas_threads(macs_per_sample(net.canonical), min(self.batch, len(x)))
        self._limit = lambda: threadpool_limits(self.blas, user_api="blas")
        self.epoch()  # warm-up

    def epoch(self) -> tuple[float, dict[str, Any]]:
        with self._limit():
            t0 = time.perf_counter()
            self.loop.epoch(self.x, self.targets, self.batch)
            return time.perf_counter() - t0, {"threads": {"blas_fit": self.blas}}


class KerasRunner:
    def __init__(self, setting: dict[str, Any], x: Any, y: Any, tuned: bool) -> None:
        import numpy as np

        from ..models.registry import get_implementation

        self.impl = get_implementation(setting["impl"])
        self.impl.build(run_cfg(setting), data_spec(x))
        # the registry build turns op determinism on (for reproducible runs); timing runs without it
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
        self.x, self.onehot, self.batch = x, np.eye(10, dtype=np.float32)[y], int(setting["batch"])
        self.info: dict[str, Any] = {"op_determinism": False, "built_by": f"registry {setting['impl']}"}
        from . import keras_epoch_timer

        import keras

        self.timer = keras_epoch_timer(keras)
        if tuned:
            self._tune(setting)
        else:
            self.info.update(steps_per_execution=1, jit_compile=bool(self.impl.model.jit_compile),
                             compile="the registry's (Keras defaults)")
            self.epoch()  # warm-up (traces the train function)

    def _compile(self, jit: bool) -> None:
        import keras

        from ..models.keras_models import make_loss, make_optimizer

        self.impl.model.compile(optimizer=make_optimizer(dict(self.impl.cfg.get("optimizer") or {})),
                                loss=make_loss(self.impl.loss_name),
                                metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
                                steps_per_execution=TUNED_STEPS_PER_EXECUTION, jit_compile=jit)

    def _tune(self, setting: dict[str, Any]) -> None:
        """steps_per_execution=64; jit_compile tried both ways (warm-up, then one probe epoch each), the faster kept."""
        probe: dict[str, Any] = {}
        for jit in (True, False):
            try:
                self._compile(jit)
                self.epoch()  # warm-up: traces (and with jit, XLA-compiles) the train function
                probe[str(jit).lower()] = self.epoch()[0]
            except Exception as exc:  # noqa: BLE001  (XLA may be unavailable on a CPU build)
                probe[str(jit).lower()] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
        timed = {k: v for k, v in probe.items() if isinstance(v, float)}
        jit = min(timed, key=timed.get) == "true"
        self._compile(jit)
        self.epoch()  # warm-up of the kept compilation
        self.info.update(steps_per_execution=TUNED_STEPS_PER_EXECUTION, jit_compile=jit, jit_probe_epoch_seconds=probe,
                         compile=f"steps_per_execution={TUNED_STEPS_PER_EXECUTION}, jit_compile={jit} "
                                 "(the faster probe epoch)")

    def epoch(self) -> tuple[float, dict[str, Any]]:
        self.impl.model.fit(self.x, self.onehot, batch_size=self.batch, epochs=1, shuffle=True, verbose=0,
                            callbacks=[self.timer])
        return self.timer.epochs[-1][0], {}


class SklearnRunner:
    """``MLPClassifier`` built by the registry; one ``partial_fit`` call = one epoch, inside the timed region."""

    def __init__(self, setting: dict[str, Any], x: Any, y: Any) -> None:
        import numpy as np

        from ..models.numpy_net import dense_blas_threads
        from ..models.registry import get_implementation
        from ..scratch.architecture import normalize_layers
        from ..models.arch import macs_per_sample

        cfg = run_cfg(setting)
        self.impl = get_implementation(setting["impl"])
        self.impl.build(cfg, data_spec(x))
        self.x, self.y, self.classes = x, y, np.arange(10)
        macs = macs_per_sample(normalize_layers(cfg["model"], tuple(x.shape[1:]), 10))
        self.blas = dense_blas_threads(macs, int(setting["batch"]), cores())
        self.epoch()  # warm-up: the first partial_fit also initialises the weights

    def epoch(self) -> tuple[float, dict[str, Any]]:
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        with threadpool_limits(self.blas, user_api="blas"), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            self.impl.clf.partial_fit(self.x, self.y, classes=self.classes)
            wall = time.perf_counter() - t0
        return wall, {"blas_threads": self.blas}


class PybrainRunner:
    """PyBrain learns one sample at a time: an epoch of ``setting['slice']`` images, reported per 1,000."""

    def __init__(self, setting: dict[str, Any], x: Any, y: Any) -> None:
        from ..models.base import Split
        from ..models.registry import get_implementation

        n = min(int(setting.get("slice", 500)), len(x))
        self.impl = get_implementation(setting["impl"])
        self.impl.build(run_cfg(setting), data_spec(x))
        self.split, self.n = Split(x[:n], y[:n]), n
        self.epoch()

    def epoch(self) -> tuple[float, dict[str, Any]]:
        wall = self.impl.fit(self.split)[-1].epoch_seconds
        return wall * 1000.0 / self.n, {"images": self.n, "epoch_seconds": wall, "unit": "seconds per 1,000 images"}


class FloorRunner:
    """Executed FLOPs / the best-thread-count GEMM rate on the step's own shapes; one measurement per 'epoch'."""

    def __init__(self, setting: dict[str, Any], x: Any, y: Any) -> None:
        from ..scratch.architecture import normalize_layers
        from .floor import SQUARE, best_thread_rate, epoch_flops, gemm_flops, step_shapes

        layers = normalize_layers(run_cfg(setting)["model"], tuple(x.shape[1:]), 10)
        self.shapes = step_shapes(layers, int(setting["batch"]))
        self.flops = epoch_flops(layers, len(x))
        self.min_seconds = float(setting.get("floor_min_seconds", 0.3))
        side = int(setting.get("square", SQUARE[0]))
        sq = best_thread_rate([(side, side, side)], cores(), repeats=1, min_seconds=self.min_seconds)
        self.info = {"epoch_gflop": self.flops / 1e9, "step_shapes": self.shapes,
                     "step_gflop": gemm_flops(self.shapes) / 1e9,
                     "square_gemm": {"side": side, "gflops": sq["rate"] / 1e9, "threads": sq["threads"]}}

    def epoch(self) -> tuple[float, dict[str, Any]]:
        from .floor import best_thread_rate

        r = best_thread_rate(self.shapes, cores(), repeats=1, min_seconds=self.min_seconds)
        return self.flops / r["rate"], {"gflops": r["rate"] / 1e9, "best_threads": r["threads"],
                                        "layouts": r["layouts"],
                                        "gflops_by_threads": {t: v / 1e9 for t, v in r["rate_by_threads"].items()}}


# -- the CNN's profiling pass ------------------------------------------------------------------
class LayerProfile:
    """CPU seconds (``process_time``: all threads) per layer forward/backward and the loss head.

    Measured via instance wrappers."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, obj: Any, attr: str, key: str) -> None:
        fn, secs = getattr(obj, attr), self.seconds

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                secs[key] += time.process_time() - t0

        setattr(obj, attr, timed)

    def instrument(self, net: Any) -> None:
        for i, layer in enumerate(getattr(net, "_body", net.layers)):
            label = f"{i}:{type(layer).__name__}"
            self.wrap(layer, "forward", f"{label} forward")
            self.wrap(layer, "backward", f"{label} backward")
        if getattr(net, "_head", None) is not None:
            self.wrap(net, "_head", "softmax+loss head")


@contextlib.contextmanager
def timed_optimizer_steps(seconds: dict[str, float], key: str = "optimizer step") -> Iterator[None]:
    """CPU seconds of every engine optimizer's ``step`` into ``seconds[key]`` while the block runs."""
    from ..scratch import optimizers

    classes = [c for c in vars(optimizers).values()
               if isinstance(c, type) and issubclass(c, optimizers.Optimizer) and "step" in vars(c)]
    originals = {c: c.step for c in classes}

    def wrap(fn: Any) -> Any:
        def step(self: Any, *a: Any, **k: Any) -> Any:
            t0 = time.process_time()
            try:
                return fn(self, *a, **k)
            finally:
                seconds[key] += time.process_time() - t0
        return step

    for c, fn in originals.items():
        c.step = wrap(fn)
    try:
        yield
    finally:
        for c, fn in originals.items():
            c.step = fn


def profile_pass(impl: Any, split: Any, samples: int) -> dict[str, Any]:
    """One extra epoch over ``samples`` images with per-layer, optimizer and per-conv-step timers, scaled to
    the epoch.

    Runs after the timed epochs (it instruments the network for good). Per-thread CPU comes from
    ``/proc/self/task``, so the conv worker threads' time is counted, and the threads are counted. What no
    timer covers (the batch gather, accuracy bookkeeping, the loop) is the epoch's CPU time minus the rest."""
    from ..models.base import Split
    from ..scratch import conv

    layers = LayerProfile()
    layers.instrument(impl.net)
    sub = Split(split.x[:samples], split.y[:samples])
    before, c0, t0 = thread_cpu(), time.process_time(), time.perf_counter()
    with conv.profiled(time.thread_time) as steps, timed_optimizer_steps(layers.seconds):
        impl.fit(sub)
    wall, cpu, after = time.perf_counter() - t0, time.process_time() - c0, thread_cpu()
    scale = len(split.x) / samples
    layers.seconds["other (batch gather, bookkeeping, loop)"] = max(0.0, cpu - sum(layers.seconds.values()))
    per_epoch = lambda d: {k: v * scale for k, v in sorted(d.items(), key=lambda kv: -kv[1])}  # noqa: E731
    per_thread = sorted((after[t] - before.get(t, 0.0) for t in after), reverse=True)
    return {"layers_seconds_per_epoch": per_epoch(layers.seconds), "conv_internals_seconds_per_epoch": per_epoch(steps),
            "epoch_cpu_seconds_mean": cpu * scale, "epoch_wall_seconds": wall * scale, "profile_samples": samples,
            "threads_total": len(after), "threads_active": active_threads(before, after, wall),
            "thread_cpu_seconds_per_epoch": [c * scale for c in per_thread if c > 0],
            "conv_workers": conv.workers(),
            "clock": "process_time per layer call and optimizer step, thread_time per conv step, /proc/self/task "
                     "per thread (CPU seconds, all threads); "
                     f"a separate untimed pass over {samples} images scaled to the {len(split.x)}-image epoch"}


RUNNERS = {"numpy": NumpyRunner, "numpy_minimal": MinimalRunner, "sklearn": SklearnRunner, "pybrain": PybrainRunner,
           "floor": FloorRunner,
           "keras": lambda s, x, y: KerasRunner(s, x, y, tuned=False),
           "keras_tuned": lambda s, x, y: KerasRunner(s, x, y, tuned=True)}


class Worker:
    def __init__(self, kind: str) -> None:
        self.kind, self.threads = kind, cores()
        self.runners: dict[str, Any] = {}
        self.data: dict[str, Any] = {}
        if kind.startswith("keras"):
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            import tensorflow as tf

            tf.config.threading.set_intra_op_parallelism_threads(self.threads)
            tf.config.threading.set_inter_op_parallelism_threads(self.threads)
        import numpy  # noqa: F401
        from threadpoolctl import threadpool_limits

        self._limit = threadpool_limits(self.threads, user_api="blas")  # kept for the process's life

    def hello(self) -> dict[str, Any]:
        from .host import blas_info

        out: dict[str, Any] = {"kind": self.kind, "pid": os.getpid(), "threads": self.threads,
                               "affinity": sorted(os.sched_getaffinity(0)), "blas": blas_info()}
        if self.kind.startswith("keras"):
            import tensorflow as tf

            out["tf_threads"] = {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                                 "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}
        return out

    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        cmd = msg["cmd"]
        if cmd == "prepare":
            s = msg["setting"]
            dkey = json.dumps(s["data"], sort_keys=True)
            if dkey not in self.data:
                self.data = {dkey: load_data(s["data"])}  # one data set at a time
            t0 = time.perf_counter()
            runner = RUNNERS[self.kind](s, *self.data[dkey])
            self.runners = {msg["key"]: runner}  # settings run one after another: free the previous model
            return {"prepared": msg["key"], "seconds": time.perf_counter() - t0, "info": getattr(runner, "info", {})}
        if cmd == "epoch":
            runner = self.runners[msg["key"]]
            th0 = thread_cpu()
            with LoadWatch() as loads:
                c0, t0 = time.process_time(), time.perf_counter()
                wall, info = runner.epoch()
                total, cpu = time.perf_counter() - t0, time.process_time() - c0
            th1 = thread_cpu()
            return {"wall": wall, "cpu": cpu, "load": loads, "threads_active": active_threads(th0, th1, total),
                    "threads_total": len(th1), "info": info}
        if cmd == "profile":
            return self.runners[msg["key"]].profile(int(msg["samples"]))
        raise ValueError(f"unknown command {cmd!r}; valid: prepare, epoch, profile, quit")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench.worker")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--engine", default=None, help="import scratchbench.scratch from this directory (another revision)")
    args = p.parse_args(argv)
    out = os.fdopen(os.dup(1), "w", buffering=1)  # the protocol channel; libraries' prints go to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj, default=float) + "\n")
        out.flush()

    try:
        if args.engine:
            use_engine(args.engine)
        worker = Worker(args.kind)
        reply({"ready": worker.hello()})
    except Exception as exc:  # noqa: BLE001
        reply({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return 1
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("cmd") == "quit":
            break
        try:
            reply(worker.handle(msg))
        except Exception as exc:  # noqa: BLE001  (the parent records it and drops this implementation)
            reply({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
