"""``python -m scratchbench.bench readme``: the README's benchmark tables, generated from ``reports/bench/*.json``.

Each table sits between ``<!-- bench-<name>:start -->`` and ``<!-- bench-<name>:end -->``
(``mlp``, ``cnn``, ``scaling``; ``pipeline``, ``sweep`` and ``quickall`` from :mod:`.readme_pipeline`) and is
rewritten whole from the JSON files, naming the CPU the JSON records: no figure in those blocks
is typed by hand. Missing JSON files give a "pending" line. ``--check`` exits 1 when the README
differs from what would be generated.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from ..paths import project_root, reports_dir
from ..readme_blocks import replace_block, write_or_check
from .host import cpu_label
from .readme_pipeline import pipeline_block, quick_all_block, sweep_block

BLOCKS = ("mlp", "cnn", "scaling", "pipeline", "sweep", "quickall")
PENDING = "_Pending: no `reports/bench/{name}*.json` yet; `make bench` measures and regenerates this table._"
MEASURED_BY = {"pipeline": "python -m scratchbench.bench pipeline --rev HEAD --rev <before>",
               "sweep": "uv run python benchmarks/sweep_ratio.py", "quickall": "uv run python benchmarks/quick_all.py"}
PENDING_RUN = ("_Pending: no `reports/bench/{name}.json` yet; `{cmd}` measures it, then "
               "`python -m scratchbench.bench readme`._")


def _load(bench_dir: Path, name: str) -> list[dict[str, Any]]:
    """Every ``<name>.json`` / ``<name>_threads<N>.json``, fewest threads first."""
    files = [p for p in bench_dir.glob(f"{name}*.json") if re.fullmatch(rf"{name}(_threads\d+)?\.json", p.name)]
    data = [(json.loads(p.read_text()), p.name) for p in files]
    for d, fname in data:
        d["_file"] = fname
    return sorted((d for d, _ in data), key=lambda d: d["meta"]["threads"])


def _s(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}×"


def _peak(host: dict[str, Any], square_gflops: list[float]) -> str:
    """The theoretical peak at the clock /proc/cpuinfo reports, and the clock the best square GEMM implies when
    it runs faster than that (turbo: a VM reports the nominal clock)."""
    peak = host["theoretical_peak"]
    text = (f"theoretical peak of {peak['cores']} core(s) {peak['gflops']:.0f} GFLOP/s at the reported "
            f"{peak['mhz'] / 1e3:.1f} GHz (2 FMA units assumed)")
    best = max(square_gflops, default=0.0)
    if best > peak["gflops"]:
        implied = peak["mhz"] / 1e3 * best / peak["gflops"]
        text += f"; the square GEMM's {best:.0f} GFLOP/s implies the cores ran at {implied:.1f} GHz or more (turbo)"
    return text


def _cell(stats: dict[str, Any], label: str, digits: int = 3) -> str:
    st = stats.get(label)
    if not st:
        return "-"
    return f"{st['median']:.{digits}f} ({st['iqr'][0]:.{digits}f}–{st['iqr'][1]:.{digits}f})"


def _provenance(runs: list[dict[str, Any]]) -> str:
    host = runs[0]["meta"]["host"]
    flagged = sum(st["n_load_flagged"] for r in runs for st in _all_stats(r))
    total = sum(st["n"] for r in runs for st in _all_stats(r))
    v = host["versions"]
    files = ", ".join(f"`{r['_file']}`" for r in runs)
    return (f"Measured on {cpu_label(host)}; {host['date_utc'][:10]}, git {str(host.get('git_commit'))[:7]}; "
            f"NumPy {v.get('numpy')}, TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}, "
            f"scikit-learn {v.get('scikit-learn')}, pybrain3 {v.get('pybrain3')}; "
            f"{flagged} of {total} samples load-flagged. Median (interquartile range) of "
            f"{runs[0]['meta']['repeats']} alternated "
            f"repeats, each implementation in its own pinned process; files: {files}.")


def _all_stats(run: dict[str, Any]) -> list[dict[str, Any]]:
    stats = run.get("stats", {})
    if stats and all("median" in v for v in stats.values()):  # cnn: {label: summary}
        return list(stats.values())
    out = [st for row in stats.values() for st in row.values()]
    if "pybrain" in run:
        out.append(run["pybrain"]["stats"])
    return out


def mlp_table(runs: list[dict[str, Any]]) -> str:
    m0 = runs[0]["meta"]
    lines = [f"`bench mlp`: seconds per epoch of {m0['samples']:,} images ({m0['architecture']}).", "",
             "| threads, batch | numpy | minimal loop | keras | keras tuned | sklearn | floor "
             "| keras / numpy | keras tuned / numpy | numpy / minimal | minimal / floor | numpy / floor |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for key, st in run["stats"].items():
            r = run["ratios"][key]
            cells = " | ".join(_cell(st, c) for c in ("numpy", "numpy_minimal", "keras", "keras_tuned", "sklearn",
                                                      "floor"))
            lines.append(f"| {run['meta']['threads']}, {key.removeprefix('batch_')} | " + cells
                         + f" | {_x(r.get('keras_over_numpy'))} | {_x(r.get('keras_tuned_over_numpy'))} "
                           f"| {_x(r.get('numpy_over_minimal'))} | {_x(r.get('minimal_over_floor'))} "
                           f"| {_x(r.get('numpy_over_floor'))} |")
    lines.append("")
    for run in runs:
        m = run["meta"]
        floors = "; ".join(f"batch {k.removeprefix('batch_')}: {_s(f['gflops_median'], 1)} GFLOP/s on its step shapes "
                           f"(square GEMM {_s(f['square_gemm']['gflops'], 1)})" for k, f in m.get("floor", {}).items())
        pb = run.get("pybrain")
        pybrain = (f"; PyBrain {pb['seconds_per_1000_images']:.2f} s per 1,000 images "
                   f"(online, {pb['images_per_epoch']}-image epochs)" if pb else "")
        squares = [f["square_gemm"]["gflops"] for f in m.get("floor", {}).values()]
        lines.append(f"- {m['threads']} thread(s): floor {floors or '-'}; {_peak(m['host'], squares)}" + pybrain + ".")
        for key, prof in (run.get("profile") or {}).items():
            groups = ", ".join(f"{k} {v:.3f}" for k, v in prof["groups_cpu_seconds_per_epoch"].items())
            floor = run[key].get("floor")
            lines.append(f"  - where the engine's epoch goes, batch {key.removeprefix('batch_')} (CPU s, a separate "
                         f"profiling pass, all threads; epoch {prof['epoch_cpu_seconds_mean']:.3f}): {groups}; "
                         f"the floor's GEMMs {_s(floor)} s wall.")
    tuned = [f"{r['meta']['threads']} thread(s) batch {key.removeprefix('batch_')}: {i['keras_tuned']['compile']}"
             for r in runs for key, i in r["meta"].get("implementations", {}).items() if i.get("keras_tuned")]
    if tuned:
        lines.append(f"- Keras tuned ({'; '.join(tuned)}); op determinism off for every Keras timing.")
    lines += ["", _provenance(runs)]
    return "\n".join(lines)


def _over(run: dict[str, Any], floor_key: str) -> float | None:
    numpy, floor = run["stats"].get("numpy"), run.get(floor_key)
    return numpy["median"] / floor if numpy and floor else None


def cnn_table(runs: list[dict[str, Any]]) -> str:
    m0 = runs[0]["meta"]
    engine = [k for r in runs for k in r if k.startswith("numpy@")]
    cols = ["numpy", "keras", "keras_tuned", "floor"] + sorted(set(engine))
    lines = [f"`bench cnn` ({m0['preset']}: {m0['architecture']}): seconds per epoch of {m0['samples']:,} images, "
             f"batch {m0['batch_size']}.", "",
             "| threads | " + " | ".join(c.replace("_", " ") for c in cols)
             + " | numpy / keras | numpy / keras tuned | numpy / floor | numpy / square-GEMM floor |",
             "|---|" + "---|" * (len(cols) + 4)]
    for run in runs:
        r = run["meta"]["ratios"]
        lines.append(f"| {run['meta']['threads']} | " + " | ".join(_cell(run["stats"], c, 2) for c in cols)
                     + f" | {_x(r.get('numpy_over_keras'))} | {_x(r.get('numpy_over_keras_tuned'))} "
                       f"| {_x(r.get('numpy_over_floor'))} | {_x(_over(run, 'floor_square_gemm'))} |")
    lines.append("")
    for run in runs:
        m, prof = run["meta"], run.get("profile")
        profiling = (f"; profiling pass: {prof['threads_active']} thread(s) active, "
                     f"{prof['epoch_cpu_seconds_mean']:.2f} CPU s per epoch" if prof else "")
        lines.append(f"- {m['threads']} thread(s): {m['epoch_gflop']:.1f} GFLOP executed per epoch; "
                     f"GEMM rate on R7's im2col shapes "
                     f"{_s(m['gemm_rate_gflops_step_shapes'], 1)} GFLOP/s, "
                     f"square GEMM {_s(m['gemm_rate_gflops_square'], 1)} "
                     f"(floor at that rate {_s(run.get('floor_square_gemm'), 2)} s); "
                     f"{_peak(m['host'], [m['gemm_rate_gflops_square']])}" + profiling + ".")
    if any((run["meta"]["ratios"].get("numpy_over_floor") or 2.0) < 1.0 for run in runs):
        lines.append("- The engine beats the floor on R7's im2col shapes: its shift-and-add convolution multiplies "
                     "other, faster shapes, so that floor is no lower bound; the square-GEMM floor is the one to read.")
    commits = {r["meta"]["engine_commit"]["label"]: r["meta"]["engine_commit"]["given"]
               for r in runs if r["meta"].get("engine_commit")}
    for label, given in commits.items():
        lines.append(f"- `{label}`: the engine of git revision `{given}`, "
                     "timed alternately with today's in the same session.")
    lines += ["", _provenance(runs)]
    return "\n".join(lines)


def scaling_table(data: dict[str, Any]) -> str:
    m = data["meta"]
    batch, width = m["sweeps"]["batch"], m["sweeps"]["width"]
    lines = [f"`bench scaling`: epoch seconds = a × steps + executed FLOPs / rate, fitted per implementation over "
             f"{len(data['settings'])} settings ({m['samples']:,} images per epoch; "
             f"batch {batch['batch_sizes'][0]}–{batch['batch_sizes'][-1]} at width {batch['width']}, "
             f"width {width['widths'][0]}–{width['widths'][-1]} at batch {width['batch']}).", "",
             "| implementation | threads | a (µs per step) | rate (GFLOP/s) | R² |", "|---|---|---|---|---|"]
    for tkey, fits in data["fits"].items():
        for kind, f in fits.items():
            lines.append(f"| {kind.replace('_', ' ')} | {tkey.split('_')[1]} | {1e6 * f['seconds_per_step']:.1f} "
                         f"| {_s(f['gflops'], 1)} | {_s(f['r2'], 3)} |")
    host = m["host"]
    lines += ["", "![epoch time against batch size and width](reports/bench/scaling.png)", "",
              f"Measured on {cpu_label(host)}; {host['date_utc'][:10]}, git {str(host.get('git_commit'))[:7]}; "
              f"median of "
              f"{m['repeats']} alternated repeats per setting; file: `scaling.json`."]
    return "\n".join(lines)


def render(bench_dir: Path) -> dict[str, str]:
    out = {}
    mlp, cnn = _load(bench_dir, "mlp"), _load(bench_dir, "cnn")
    out["mlp"] = mlp_table(mlp) if mlp else PENDING.format(name="mlp")
    out["cnn"] = cnn_table(cnn) if cnn else PENDING.format(name="cnn")
    scaling = bench_dir / "scaling.json"
    if scaling.is_file():
        out["scaling"] = scaling_table(json.loads(scaling.read_text()))
    else:
        out["scaling"] = PENDING.format(name="scaling")
    for name, block, file in (("pipeline", pipeline_block, "pipeline"), ("sweep", sweep_block, "sweep"),
                              ("quickall", quick_all_block, "quick_all")):
        path = bench_dir / f"{file}.json"
        out[name] = (block(json.loads(path.read_text())) if path.is_file()
                     else PENDING_RUN.format(name=file, cmd=MEASURED_BY[name]))
    return out


def update(text: str, blocks: dict[str, str]) -> str:
    """Replace each ``<!-- bench-<name>:start -->..<!-- bench-<name>:end -->`` block's body."""
    for name, body in blocks.items():
        text = replace_block(text, f"bench-{name}", body, "bench readme")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scratchbench.bench readme", description=__doc__.split("\n\n")[0])
    p.add_argument("--bench-dir", type=Path, default=None, help="folder of the JSON files (default reports/bench)")
    p.add_argument("--readme", type=Path, default=None, help="README to update (default the checkout's README.md)")
    p.add_argument("--check", action="store_true",
                   help="only compare: exit 1 if the README's tables are not what would be generated")
    args = p.parse_args(argv)
    readme = args.readme or project_root() / "README.md"
    text = readme.read_text()
    new = update(text, render(args.bench_dir or reports_dir() / "bench"))
    return write_or_check(readme, text, new, args.check, "benchmark tables differ from reports/bench/*.json; "
                          "run `python -m scratchbench.bench readme`")


if __name__ == "__main__":
    sys.exit(main())
