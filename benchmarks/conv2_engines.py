"""R7's conv2 alone, today's engine against another revision's: forward and backward per 128-image batch.

    uv run python benchmarks/conv2_engines.py [--rev c0fa2bc~1] [--rounds 3] [--repeats 5] [--out ...]

The layer R7 trains second (26x26x64 -> 24x24x32, 3x3, valid, fused ReLU, float32) on random data, the
input gradient on, BLAS at one thread, the conv row chunks on 1 and on 2 worker threads
(``scratch.conv.set_workers``). Each engine runs in its own process (the other revision's engine from
``bench.harness.engine_checkout``, loaded by ``bench.worker.use_engine``), ``--rounds`` processes per
engine and worker count in alternated order, each timing ``--repeats`` forward+backward passes after 3
untimed ones. A separate pass of today's engine under ``conv.profiled`` splits its backward by step.
Writes ``reports/bench/conv2_engines.json`` (every sample, medians, the CPU and BLAS); the README's
paragraph on the CNN before and after ``c0fa2bc`` quotes it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(src: str, workers: int, repeats: int, profile: bool) -> dict:
    """Time (or profile) conv2 with the engine of ``src`` (a tree holding src/scratchbench/scratch); runs in its
    own process."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from scratchbench.bench.worker import use_engine

    if not (Path(src) / "src" / "scratchbench" / "scratch" / "__init__.py").is_file():
        raise SystemExit(f"conv2_engines: {src} has no src/scratchbench/scratch, not the engine under test")
    use_engine(src)
    from scratchbench.scratch import conv

    if not Path(conv.__file__).resolve().is_relative_to(Path(src).resolve()):
        raise SystemExit(f"conv2_engines: imported {conv.__file__}, not the engine under {src}")
    conv.set_workers(workers)
    rng = np.random.default_rng(0)
    x = rng.random((128, 26, 26, 64), dtype=np.float32)
    g = rng.standard_normal((128, 24, 24, 32)).astype(np.float32)
    layer = conv.Conv2D(32, 3, activation="relu")
    layer.build((26, 26, 64), np.random.default_rng(1), np.float32)
    out: dict = {}
    with threadpool_limits(1, user_api="blas"):
        for _ in range(3):
            layer.forward(x, training=True)
            layer.backward(g)
        if profile:
            with conv.profiled(time.perf_counter) as sec:
                t = time.perf_counter()
                for _ in range(repeats):
                    layer.backward(g)
                total = time.perf_counter() - t
            out["backward_ms"] = 1e3 * total / repeats
            out["backward_steps_ms"] = {k: 1e3 * v / repeats for k, v in sorted(sec.items(), key=lambda kv: -kv[1])}
            return out
        fwd, bwd = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            layer.forward(x, training=True)
            t1 = time.perf_counter()
            layer.backward(g)
            fwd.append(1e3 * (t1 - t0))
            bwd.append(1e3 * (time.perf_counter() - t1))
    out.update(forward_ms=fwd, backward_ms=bwd)
    return out


def _run(src: Path, workers: int, repeats: int, profile: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--worker", str(src), str(workers), str(repeats)]
    cmd += ["--profile"] if profile else []
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise SystemExit(f"conv2_engines: worker for {src} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="c0fa2bc~1", help="the other engine's git revision (default: before c0fa2bc)")
    ap.add_argument("--rounds", type=int, default=3, help="processes per engine and worker count (alternated)")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes per process")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "bench" / "conv2_engines.json")
    ap.add_argument("--worker", nargs=3, metavar=("SRC", "WORKERS", "REPEATS"), help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        src, w, r = args.worker
        print(json.dumps(worker(src, int(w), int(r), args.profile)))
        return 0

    from scratchbench.bench.harness import engine_checkout
    from scratchbench.bench.host import host_meta

    commit = subprocess.run(["git", "rev-parse", args.rev], cwd=ROOT, capture_output=True, text=True)
    if commit.returncode != 0:
        raise SystemExit(f"conv2_engines: --rev {args.rev!r} is not a revision of {ROOT}")
    meta = host_meta()
    with engine_checkout(args.rev) as tmp:
        engines = {"today": ROOT, args.rev: Path(tmp)}
        samples: dict = {name: {} for name in engines}
        for workers in (1, 2):
            for rnd in range(args.rounds):
                order = list(engines) if rnd % 2 == 0 else list(engines)[::-1]
                for name in order:
                    res = _run(engines[name], workers, args.repeats)
                    s = samples[name].setdefault(f"workers_{workers}", {"forward_ms": [], "backward_ms": []})
                    s["forward_ms"] += res["forward_ms"]
                    s["backward_ms"] += res["backward_ms"]
                    print(f"workers {workers} round {rnd + 1}/{args.rounds} {name}: forward "
                          f"{statistics.median(res['forward_ms']):.1f} ms, backward "
                          f"{statistics.median(res['backward_ms']):.1f} ms", flush=True)
        profile = _run(engines["today"], 1, 10, profile=True)
    medians = {name: {w: {k: round(statistics.median(v), 2) for k, v in s.items()} for w, s in by_w.items()}
               for name, by_w in samples.items()}
    out = {"layer": "R7 conv2: 26x26x64 -> 24x24x32, 3x3 valid, fused ReLU, float32, batch 128, input gradient on",
           "engines": {"today": meta["git_commit"], args.rev: commit.stdout.strip()},
           "blas_threads": 1, "rounds": args.rounds, "repeats": args.repeats,
           "medians_ms": medians, "samples_ms": samples,
           "today_backward_profile_1_worker_ms": {"backward": round(profile["backward_ms"], 2),
                                                  **{k: round(v, 2) for k, v in profile["backward_steps_ms"].items()}},
           "meta": meta}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(medians), f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
