"""Run implementations in pinned worker processes, alternating their order, and summarise the samples.

Each implementation runs in its own process (:mod:`scratchbench.bench.worker`) started with
``taskset -c`` on the first ``threads`` cores this process may use; all of them are started
(and their libraries imported) before any timing. ``measure_in_fresh_workers`` starts new ones
for every setting (``bench mlp``); ``bench scaling`` keeps one worker per implementation and
thread count over its 12 settings (rebuilding the model for each) to save 40 TensorFlow imports.
For each setting every worker first builds its model and runs one untimed warm-up epoch; then
the repeats run in ABBA order (:func:`stats.alternated`), one epoch per implementation per
repeat, so a drift in machine speed hits all alike. Before each epoch every worker's threads must
be quiet (:func:`quiet.wait_quiet`: threads a previous epoch left spinning would share its cores);
each sample keeps how long that took. Every sample keeps the 1-minute load
averages seen before, during (each second) and after it, and is flagged when one exceeded
``threads``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..paths import project_root
from .quiet import wait_quiet
from .stats import alternated, load_flagged, summary


class WorkerError(RuntimeError):
    pass


def add_common_options(p: argparse.ArgumentParser, kinds: Sequence[str], quick_help: str) -> None:
    """The options every benchmark takes: ``--only``, ``--synthetic``, ``--quick`` and ``--out-dir``."""
    p.add_argument("--only", default=",".join(kinds), help=f"comma list of {','.join(kinds)} (default all)")
    p.add_argument("--synthetic", action="store_true", help="random data instead of MNIST")
    p.add_argument("--quick", action="store_true", help=f"tests: {quick_help}")
    p.add_argument("--out-dir", type=Path, default=None, help="output folder (default reports/bench)")


def parse_only(p: argparse.ArgumentParser, args: argparse.Namespace, kinds: Sequence[str]) -> None:
    """``--only a,b`` -> ``args.only = ["a", "b"]``; an unknown name is a usage error listing the valid ones."""
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in args.only if s not in kinds]
    if bad:
        p.error(f"--only: unknown implementation(s) {bad}; valid: {', '.join(kinds)}")


def pinned_cpus(threads: int) -> list[int]:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if threads > len(cpus):
        raise SystemExit(f"bench: --threads {threads} exceeds the {len(cpus)} core(s) this process may use ({cpus})")
    return cpus[:threads]


class Worker:
    """A worker process of one implementation, pinned to ``cpus``; ``ask`` sends a command, returns its answer."""

    def __init__(self, kind: str, cpus: Sequence[int], engine_dir: str | None = None, label: str | None = None) -> None:
        self.kind, self.label, self.cpus = kind, label or kind, list(cpus)
        cmd = [sys.executable, "-m", "scratchbench.bench.worker", kind]
        cmd += ["--engine", engine_dir] if engine_dir else []
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", ",".join(map(str, self.cpus))] + cmd
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        self.command = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     cwd=project_root())
        self.hello = self._read()["ready"]
        if not shutil.which("taskset"):  # pin from inside instead
            os.sched_setaffinity(self.proc.pid, self.cpus)

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise WorkerError(f"bench worker {self.label} exited (code {self.proc.wait()}); its stderr is above")
        msg = json.loads(line)
        if "error" in msg:
            raise WorkerError(f"bench worker {self.label}: {msg['error']}\n{msg.get('traceback', '')}")
        return msg

    def ask(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:  # the worker is gone (crashed or killed)
            raise WorkerError(f"bench worker {self.label} is gone ({exc}); its stderr is above") from None
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextmanager
def engine_checkout(rev: str) -> Iterator[str]:
    """``src/scratchbench/scratch`` of git revision ``rev`` extracted into a temporary directory."""
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="scratchbench-engine-") as tmp:
        try:
            archive = subprocess.run(["git", "archive", rev, "src/scratchbench/scratch"], cwd=root, capture_output=True,
                                     check=True).stdout
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"bench: --engine-commit {rev!r}: git archive failed: "
                             f"{exc.stderr.decode().strip()}") from None
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield tmp


def git_rev(rev: str) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", rev], cwd=project_root(), capture_output=True, text=True,
                              check=True).stdout.strip()
    except subprocess.CalledProcessError:
        raise SystemExit(f"bench: --engine-commit {rev!r} is not a git revision of {project_root()}") from None


Setting = tuple[str, dict[str, Any], Sequence[str]]  # (key, base setting, worker labels that run it)


def measure(workers: dict[str, Worker], settings: Sequence[Setting], threads: int, repeats: int,
            make_setting: Callable[[str, dict[str, Any]], dict[str, Any]],
            log: Callable[[str], None] = print) -> dict[str, Any]:
    """Prepare (build + warm-up) then time ``repeats`` alternated epochs of every worker for every setting.

    Returns ``{key: {label: {...samples, summary}}, "order": [[key, repeat, label], ...], "errors": {...}}``.
    A worker that fails is recorded under ``errors`` and dropped from the rest of that setting."""
    out: dict[str, Any] = {"order": [], "errors": {}}
    for key, base, labels in settings:
        row: dict[str, Any] = {}
        live = []
        for label in labels:
            w = workers[label]
            try:
                prep = w.ask(cmd="prepare", key=key, setting=make_setting(w.kind, base))
                row[label] = {"prepare_seconds": prep["seconds"], "info": prep["info"], "wall": [], "cpu": [],
                              "load": [], "threads_active": [], "sample_info": [], "quiet_wait": []}
                live.append(label)
            except WorkerError as exc:
                out["errors"][f"{key}/{label}"] = str(exc).splitlines()[0]
                log(f"  {key} {label}: {str(exc).splitlines()[0]}")
        for rep in range(repeats):
            for label in alternated(live, rep):
                if label not in row or f"{key}/{label}" in out["errors"]:
                    continue
                quiet = wait_quiet(w.proc.pid for w in workers.values())
                if quiet["timed_out"]:
                    log(f"  {key} {label}: workers still busy after {quiet['seconds']:.1f} s; timing anyway")
                try:
                    s = workers[label].ask(cmd="epoch", key=key)
                except WorkerError as exc:
                    out["errors"][f"{key}/{label}"] = str(exc).splitlines()[0]
                    continue
                out["order"].append([key, rep, label])
                r = row[label]
                r["wall"].append(s["wall"])
                r["cpu"].append(s["cpu"])
                r["load"].append(s["load"])
                r["threads_active"].append(s["threads_active"])
                r["sample_info"].append(s["info"])
                r["quiet_wait"].append(quiet)
                log(f"  {key} repeat {rep + 1}/{repeats} {label}: {s['wall']:.3f} s (load {max(s['load']):.2f})")
        for r in row.values():
            if r["wall"]:
                r["summary"] = summary(r["wall"], [load_flagged(lo, threads) for lo in r["load"]])
                r["cpu_summary"] = summary(r["cpu"])
        out[key] = row
    return out


def measure_in_fresh_workers(settings: Sequence[Setting], threads: int, repeats: int,
                             make_setting: Callable[[str, dict[str, Any]], dict[str, Any]],
                             log: Callable[[str], None] = print,
                             specs: dict[str, tuple[str, str | None]] | None = None,
                             after: Callable[[str, dict[str, Worker]], Any] | None = None,
                             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``measure`` with new worker processes for every setting (nothing a previous setting traced or cached
    carries over); returns the merged measurements and ``{key: {label: worker hello + command}}``.
    ``specs`` maps a label to ``(kind, engine_dir)`` (another revision's engine); other labels are their kind.
    ``after(key, workers)``, when given, runs once the setting is timed (e.g. a profiling pass); what it returns
    goes to ``merged["after"][key]``."""
    specs = specs or {}
    merged: dict[str, Any] = {"order": [], "errors": {}}
    hello: dict[str, Any] = {}
    for setting in settings:
        key, _, labels = setting
        workers = start_workers({label: specs.get(label, (label, None)) for label in labels}, threads, log)
        try:
            m = measure(workers, [setting], threads, repeats, make_setting, log)
            hello[key] = {label: w.hello | {"command": w.command} for label, w in workers.items()}
            if after is not None:
                merged.setdefault("after", {})[key] = after(key, workers)
        finally:
            close_all(workers)
        merged[key] = m[key]
        merged["order"] += m["order"]
        merged["errors"].update(m["errors"])
    return merged, hello


def start_workers(specs: dict[str, tuple[str, str | None]], threads: int,
                  log: Callable[[str], None] = print) -> dict[str, Worker]:
    """``{label: (kind, engine_dir)}`` -> started workers pinned to ``threads`` cores (imports done)."""
    cpus = pinned_cpus(threads)
    workers: dict[str, Worker] = {}
    for label, (kind, engine) in specs.items():
        t0 = time.perf_counter()
        try:
            workers[label] = Worker(kind, cpus, engine, label)
        except WorkerError as exc:
            log(f"  worker {label} did not start: {str(exc).splitlines()[0]}")
            continue
        log(f"  worker {label}: pid {workers[label].proc.pid}, cores {cpus}, ready in {time.perf_counter() - t0:.1f} s")
    return workers


def close_all(workers: dict[str, Worker]) -> None:
    for w in workers.values():
        w.close()


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=float) + "\n")
    os.replace(tmp, path)


def make_setting_fn(quick: bool, registry: dict[str, str]):
    def make(kind: str, base: dict[str, Any]) -> dict[str, Any]:
        s = {**base, "impl": registry[kind]}
        if quick:
            s.update(square=256, floor_min_seconds=0.02)
        return s

    return make


def summarise(measured: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """Medians per setting and label, the ``stats`` block and the raw samples."""
    medians, stats, all_seconds, all_cpu = {}, {}, {}, {}
    for key in keys:
        row = measured.get(key, {})
        medians[key] = {label: r["summary"]["median"] for label, r in row.items() if "summary" in r}
        stats[key] = {label: {**r["summary"], "cpu": r["cpu_summary"], "threads_active": r["threads_active"],
                              "load": r["load"], "quiet_wait": r["quiet_wait"]}
                      for label, r in row.items() if "summary" in r}
        all_seconds[key] = {label: r["wall"] for label, r in row.items()}
        all_cpu[key] = {label: r["cpu"] for label, r in row.items()}
    return {"medians": medians, "stats": stats, "all_seconds": all_seconds, "all_cpu_seconds": all_cpu}


def median_or_none(v: list[float]) -> float | None:
    import statistics

    return statistics.median(v) if v else None


def out_path(out_dir: Path, name: str, threads: int) -> Path:
    return out_dir / (f"{name}.json" if threads == len(os.sched_getaffinity(0)) else f"{name}_threads{threads}.json")


def check_mnist() -> None:
    from ..data.features import FeatureError, load_features

    try:
        load_features("mnist")
    except FeatureError as exc:
        raise SystemExit(f"bench: MNIST features are missing: {exc}") from None
