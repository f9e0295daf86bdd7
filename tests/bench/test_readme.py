"""The README's benchmark tables are what ``bench readme`` generates from the JSON files."""

from __future__ import annotations

import shutil

import pytest

from scratchbench.bench import readme
from scratchbench.bench.host import cpu_label
from scratchbench.paths import project_root, reports_dir


def test_committed_readme_tables_equal_the_generated_ones():
    assert readme.main(["--check"]) == 0, "run `python -m scratchbench.bench readme`"
    text = (project_root() / "README.md").read_text()
    for name in readme.BLOCKS:
        assert f"<!-- bench-{name}:start -->" in text and f"<!-- bench-{name}:end -->" in text
    if not list((reports_dir() / "bench").glob("mlp*.json")):
        assert readme.PENDING.format(name="mlp") in text


def test_generator_on_a_quick_json(quick_mlp, tmp_path):
    out, data = quick_mlp
    bench = tmp_path / "bench"
    bench.mkdir()
    shutil.copy(out / "mlp_threads1.json", bench)
    md = tmp_path / "README.md"
    md.write_text("intro\n<!-- bench-mlp:start -->\nold 9.999\n<!-- bench-mlp:end -->\n"
                  "<!-- bench-cnn:start -->\n<!-- bench-cnn:end -->\n"
                  "<!-- bench-scaling:start -->\n<!-- bench-scaling:end -->\n"
                  "<!-- bench-pipeline:start -->\n<!-- bench-pipeline:end -->\n"
                  "<!-- bench-sweep:start -->\n<!-- bench-sweep:end -->\n"
                  "<!-- bench-quickall:start -->\n<!-- bench-quickall:end -->\noutro\n")
    assert readme.main(["--bench-dir", str(bench), "--readme", str(md)]) == 0
    text = md.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old 9.999" not in text
    assert cpu_label(data["meta"]["host"]) in text  # the CPU is named from meta.host
    st = data["stats"]["batch_32"]["numpy"]
    assert f"| 1, 32 | {st['median']:.3f} ({st['iqr'][0]:.3f}–{st['iqr'][1]:.3f})" in text
    assert f"{data['ratios']['batch_128']['numpy_over_floor']:.2f}×" in text
    assert readme.PENDING.format(name="cnn") in text and readme.PENDING.format(name="scaling") in text
    assert readme.PENDING_RUN.format(name="sweep", cmd=readme.MEASURED_BY["sweep"]) in text
    assert readme.PENDING_RUN.format(name="quick_all", cmd=readme.MEASURED_BY["quickall"]) in text
    assert readme.main(["--bench-dir", str(bench), "--readme", str(md), "--check"]) == 0  # idempotent


def test_missing_markers_are_an_error(tmp_path):
    md = tmp_path / "README.md"
    md.write_text("no markers\n")
    with pytest.raises(SystemExit, match="bench-mlp:start"):
        readme.main(["--bench-dir", str(tmp_path), "--readme", str(md)])


def test_pipeline_and_sweep_figures_come_from_their_json():
    import json

    from scratchbench.bench.readme_pipeline import GOALS, pipeline_block, sweep_block

    bench = reports_dir() / "bench"
    data = json.loads((bench / "pipeline.json").read_text())
    text = pipeline_block(data)
    for rev in data["revs"]:
        assert f"**{rev['wall_seconds'] / 60:.1f} min** ({rev['wall_seconds']:.0f} s)" in text
        assert f"| {rev['totals']['runs']} |" in text
    verdict = "meets" if data["revs"][0]["wall_seconds"] <= GOALS["pipeline_seconds"] else "misses"
    assert f"`{data['revs'][0]['rev']}` {verdict} it" in text
    sweep = json.loads((bench / "sweep.json").read_text())
    assert f"**{sweep['ratio']:.2f}×**" in sweep_block(sweep)
    assert f"family {sweep['cpu']['family']} model {sweep['cpu']['model']}" in sweep_block(sweep)


def test_stage_table_has_a_row_per_stage_and_the_totals():
    from scratchbench.bench.readme_pipeline import pipeline_block, stage_table

    stages = [{"stage": "fetch@mnist", "wall_seconds": 3.04, "runs": 0, "before_open_seconds": None,
               "overhead_seconds": None, "fit_seconds": None},
              {"stage": "train-r1_single_neuron", "wall_seconds": 2.2, "runs": 1, "before_open_seconds": 1.37,
               "overhead_seconds": 0.05, "fit_seconds": 0.36}]
    rev = {"rev": "HEAD", "commit": "abc1234def", "wall_seconds": 6.0, "stages": stages, "runs": [],
           "totals": {"runs": 1, "before_open_seconds": 1.37, "overhead_seconds": 0.05, "fit_seconds": 0.36},
           "load_average_before": [0.1], "load_average_after": [0.2]}
    rows = stage_table(rev).splitlines()
    assert rows[2] == "| fetch@mnist | 3.0 | 0 | – | – | – |"
    assert rows[3] == "| train-r1_single_neuron | 2.2 | 1 | 1.4 | 0.1 | 0.4 |"
    assert rows[4] == "| all 2 stages (`dvc repro` 6.0 s) | 5.2 | 1 | 1.4 | 0.1 | 0.4 |"
    block = pipeline_block({"cpu": {}, "revs": [rev]})
    assert "<summary>Per stage, `HEAD` (abc1234)</summary>" in block and stage_table(rev) in block


def test_quick_all_block_names_the_longest_run_and_the_goal():
    from scratchbench.bench.readme_pipeline import quick_all_block

    run = {"status": "FINISHED", "fit_seconds": 20.1}
    runs = [{**run, "preset": "r10_moons", "implementation": "pybrain", "seconds_open": 61.5},
            {**run, "preset": "r3_eleven_lines", "implementation": "keras_mlp", "seconds_open": 21.6},
            {"status": "FAILED", "preset": "r4_xor", "implementation": "numpy_cnn", "seconds_open": 0.1}]
    data = {"presets": ["a", "b"], "models": ["x", "y"], "finished": 2, "not_finished": 1, "runs": runs,
            "longest": runs[0], "goal_seconds": 60.0, "all_within_goal": False, "sweep_wall_seconds": 300.0,
            "cpu": {"model_name": "AMD EPYC", "family": 25, "model": 17, "flags": ["avx2"], "cpus": 2},
            "load_average_before": [0.5]}
    text = quick_all_block(data)
    assert "**61.5 s** from its start to its end (r10_moons-pybrain, 20.1 s fitting)" in text
    assert "goal ≤ 60 s: misses it: 1 run(s) over" in text and "r3_eleven_lines-keras_mlp 21.6 s" in text
    assert "**2** runs finished" in text and "2-CPU AMD EPYC (family 25 model 17, AVX2)" in text
    data.update(longest=runs[1], runs=runs[1:], finished=1, all_within_goal=True)
    assert "goal ≤ 60 s: meets it" in quick_all_block(data)
