"""The README's pipeline, sweep and quick-profile figures, generated from ``reports/bench/pipeline.json`` (``bench
pipeline``), ``sweep.json`` (``benchmarks/sweep_ratio.py``) and ``quick_all.json`` (``benchmarks/quick_all.py``):
issue 12's goals beside what was measured."""

from __future__ import annotations

import statistics
from typing import Any

GOALS = {"pipeline_seconds": 300.0, "numpy_fixed_seconds": 2.0, "keras_overhead_seconds": 5.0,
         "run_seconds": 60.0, "sweep_ratio": 0.6}
TINY_NUMPY_RUN = "r1_single_neuron-numpy_mlp"  # the matrix's smallest NumPy run


def cpu_text(cpu: dict[str, Any], nproc: Any = None) -> str:
    """lscpu's model, family/model and vector flags (``pipeline.cpu_info``), and the CPU count."""
    flags = set(cpu.get("flags", []))
    vec = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    n = cpu.get("cpus") or nproc or "?"
    name, fam, model = cpu.get("model_name", "?"), cpu.get("family", "?"), cpu.get("model", "?")
    return f"{n}-CPU {name} (family {fam} model {model}, {vec})"


def _stage_seconds(rev: dict[str, Any], match: Any) -> float:
    return sum(s["wall_seconds"] for s in rev["stages"] if match(s["stage"]))


def _stage_cell(rev: dict[str, Any], name: str) -> str:
    """A stage's wall time, or a dash for a revision without that stage."""
    if not any(s["stage"] == name for s in rev["stages"]):
        return "–"
    return f"{_stage_seconds(rev, lambda s: s == name):.0f} s"


def _rev(rev: dict[str, Any]) -> str:
    """The revision as given, and its commit when the name is not the commit itself."""
    same = rev["commit"].startswith(rev["rev"])
    return f"`{rev['rev']}`" if same else f"`{rev['rev']}` ({rev['commit'][:7]})"


def _mark(value: float, goal: float) -> str:
    return "meets" if value <= goal else "misses"


def fixed_costs(rev: dict[str, Any]) -> dict[str, Any]:
    """Per-run costs beyond fitting: the tiny NumPy run from its stage's process start to its run spooled, each
    Keras run's time beyond its fit (before its run opened + inside it), and the longest run."""
    runs = [r for r in rev["runs"] if r.get("open_close_seconds") is not None]
    tiny = [r for r in runs if r["run"].startswith(TINY_NUMPY_RUN) and r["before_open_seconds"] is not None]
    keras = {r["run"]: r["before_open_seconds"] + r["overhead_seconds"] for r in runs
             if "-keras_" in r["run"] and r["before_open_seconds"] is not None and r["overhead_seconds"] is not None}
    reads = {r["run"]: r["disk_read_mib_before_open"] for r in runs if r.get("disk_read_mib_before_open") is not None}
    longest = max(runs, key=lambda r: (r["before_open_seconds"] or 0.0) + r["open_close_seconds"], default=None)
    return {"tiny_numpy": (tiny[0]["before_open_seconds"] + tiny[0]["open_close_seconds"]) if tiny else None,
            "keras": keras, "disk_read_mib": reads,
            "longest": None if longest is None else ((longest["before_open_seconds"] or 0.0)
                                                     + longest["open_close_seconds"], longest["run"])}


def _secs(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def stage_table(rev: dict[str, Any]) -> str:
    """One revision's stages in the order DVC ran them: wall time, runs, and summed over its runs the time
    before each run opened, the run overhead (open to close minus fitting) and the fitting (markdown)."""
    lines = ["| stage | wall s | runs | before open s | run overhead s | fit s |", "|---|---|---|---|---|---|"]
    for s in rev["stages"]:
        lines.append(f"| {s['stage']} | {s['wall_seconds']:.1f} | {s['runs']} | {_secs(s['before_open_seconds'])} "
                     f"| {_secs(s['overhead_seconds'])} | {_secs(s['fit_seconds'])} |")
    tot = rev["totals"]
    lines.append(f"| all {len(rev['stages'])} stages (`dvc repro` {rev['wall_seconds']:.1f} s) "
                 f"| {sum(s['wall_seconds'] for s in rev['stages']):.1f} | {tot['runs']} "
                 f"| {tot['before_open_seconds']:.1f} | {tot['overhead_seconds']:.1f} | {tot['fit_seconds']:.1f} |")
    return "\n".join(lines)


def pipeline_block(data: dict[str, Any]) -> str:
    revs = data["revs"]
    lines = ["| revision | `dvc repro` | train stages | fitting (sum over runs) | record | experiment | report | runs "
             "| load avg before → after |", "|---|---|---|---|---|---|---|---|---|"]
    for r in revs:
        tot = r["totals"]
        lines.append(
            f"| {_rev(r)} | **{r['wall_seconds'] / 60:.1f} min** ({r['wall_seconds']:.0f} s) "
            f"| {_stage_seconds(r, lambda s: s.startswith('train')):.0f} s | {tot['fit_seconds']:.0f} s "
            f"| {_stage_cell(r, 'record')} | {_stage_cell(r, 'experiment')} | {_stage_cell(r, 'report')} "
            f"| {tot['runs']} "
            f"| {r['load_average_before'][0]:.2f} → {r['load_average_after'][0]:.2f} |")
    new = revs[0]
    f = fixed_costs(new)
    goal = GOALS
    date = f", {new['date_utc'][:10]}" if new.get("date_utc") else ""
    lines += ["", f"Measured with `python -m scratchbench.bench pipeline` on a "
                  f"{cpu_text(data['cpu'], data.get('nproc'))}{date}"
                  f"{', every revision in the same session' if len(revs) > 1 else ''}: a fresh clone, data linked "
                  f"(fetch/featurize skipped), `dvc repro`. Goal ≤ "
                  f"{goal['pipeline_seconds'] / 60:.0f} min: `{new['rev']}` "
                  f"{_mark(new['wall_seconds'], goal['pipeline_seconds'])} it."]
    parts = []
    if f["tiny_numpy"] is not None:
        parts.append(f"the tiny NumPy run ({TINY_NUMPY_RUN}) takes {f['tiny_numpy']:.1f} s from its stage's process "
                     f"start to its run spooled (goal ≤ {goal['numpy_fixed_seconds']:.0f} s: "
                     f"{_mark(f['tiny_numpy'], goal['numpy_fixed_seconds'])})")
    if f["keras"]:
        ks, g = list(f["keras"].values()), goal["keras_overhead_seconds"]
        read = f["disk_read_mib"]
        over = [f"{name} {k:.1f} s" + (f", {read[name]:.0f} MiB read from disk before it opened"
                                       if name in read else "")
                for name, k in sorted(f["keras"].items(), key=lambda nk: nk[1]) if k > g]
        parts.append(f"a Keras run spends {min(ks):.1f}–{max(ks):.1f} s (median {statistics.median(ks):.1f} s) "
                     f"beyond its fit, importing TensorFlow included (goal ≤ {g:.0f} s: "
                     f"{sum(k <= g for k in ks)} of {len(ks)} runs within"
                     + (f"; over: {', '.join(over)})" if over else ")"))
    if f["longest"] is not None:
        parts.append(f"the longest run, {f['longest'][1]}, takes {f['longest'][0]:.1f} s start to end (goal ≤ "
                     f"{goal['run_seconds']:.0f} s: {_mark(f['longest'][0], goal['run_seconds'])})")
    if parts:
        lines.append(f"In `{new['rev']}`, " + "; ".join(parts)
                     + ". Per run: `reports/bench/pipeline.json`.")
    for r in revs:
        lines += ["", f"<details><summary>Per stage, {_rev(r)}</summary>", "", stage_table(r), "", "</details>"]
    return "\n".join(lines)


def sweep_block(data: dict[str, Any]) -> str:
    b, j = data["basic"], data["joblib"]
    ratios = data.get("ratios") or [data["ratio"]]
    spread = (f" (median of {len(ratios)} alternated pairs of sweeps, {min(ratios):.2f}–{max(ratios):.2f})"
              if len(ratios) > 1 else "")
    return (f"`benchmarks/sweep_ratio.py`: {data['jobs']} jobs of `{data['preset']}` with their own seeds, on 2 joblib "
            f"workers **{j['wall_seconds']:.0f} s** against **{b['wall_seconds']:.0f} s** on the basic launcher "
            f"(medians): **{data['ratio']:.2f}×**{spread} "
            f"(goal ≤ {data['goal']}: {_mark(data['ratio'], data['goal'])} it); "
            f"{j['runs_finished']} and {b['runs_finished']} of {data['jobs']} runs recorded FINISHED; "
            f"{cpu_text(data['cpu'], data.get('nproc'))}, load average {data['load_average_before'][0]:.2f} before, "
            f"{data['load_average_after'][0]:.2f} after (`reports/bench/sweep.json`).")


def quick_all_block(data: dict[str, Any]) -> str:
    """Every preset x implementation under the quick profile: how many ran, the longest, the goal."""
    finished = sorted((r for r in data["runs"] if r["status"] == "FINISHED"), key=lambda r: -r["seconds_open"])
    longest, over = finished[0], sum(r["seconds_open"] > data["goal_seconds"] for r in finished)
    verdict = f"misses it: {over} run(s) over" if over else "meets it"
    runners_up = ", ".join(f"{r['preset']}-{r['implementation']} {r['seconds_open']:.1f} s" for r in finished[1:3])
    return (f"`benchmarks/quick_all.py`: every preset with every implementation, `profile=quick`, on 2 joblib workers "
            f"({len(data['presets'])} presets × {len(data['models'])} implementations, "
            f"{data['sweep_wall_seconds'] / 60:.1f} min): **{data['finished']}** runs finished; the other "
            f"{data['not_finished']} stop at their start with an error naming what the implementation cannot take "
            f"(an image model on flat features, biases it cannot drop, an activation or loss it lacks). Longest run "
            f"**{longest['seconds_open']:.1f} s** from its start to its end ({longest['preset']}-"
            f"{longest['implementation']}, {longest['fit_seconds']:.1f} s fitting) "
            f"(goal ≤ {data['goal_seconds']:.0f} s: {verdict}); the next: {runners_up}; "
            f"{cpu_text(data['cpu'], data.get('nproc'))}, load average {data['load_average_before'][0]:.2f} before "
            f"(`reports/bench/quick_all.json`).")
