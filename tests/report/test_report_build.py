"""Build a report from a real MLflow store of tiny real runs and check it against the runs."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from scratchbench.report.build import build_report
from mlflow.tracking import MlflowClient

from scratchbench.report.collect import RunFilter, load_histories, load_runs

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def assert_png(data: bytes, where: str) -> None:
    assert data[:8] == PNG_SIG, f"{where}: not a PNG"
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    with Image.open(io.BytesIO(data)) as im:
        assert im.size[0] >= 200 and im.size[1] >= 150, f"{where}: tiny image {im.size}"
        assert len(set(im.convert("L").getdata())) > 2, f"{where}: blank image"


@pytest.fixture(scope="module")
def built(store, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SCRATCHBENCH_ROOT", str(store.root))
    mp.setenv("MLFLOW_TRACKING_URI", store.uri)
    out = tmp_path_factory.mktemp("report") / "reports"
    try:
        report = build_report(out, store.uri)
        yield out, report
    finally:
        mp.undo()


def _client(store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.uri)


def _md_row(md: str, section: str, label: str) -> list[str]:
    body = md.split(f"## Dataset: {section}", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in body.splitlines() if line.startswith("| Implementation"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    row = next(line for line in body.splitlines() if line.startswith(f"| {label}"))
    return dict(zip(cols, [c.strip().strip("*") for c in row.strip("|").split("|")], strict=True))


def test_output_files_written(built):
    out, report = built
    for name in ("comparison.md", "comparison.html", "metrics.json"):
        assert (out / name).stat().st_size > 500, name
    assert not list(out.parent.glob(".*.tmp")), "staging folder left behind"


def test_header_names_the_runs_profiles(built):
    out, report = built
    profiles = sorted({r.tags.get("profile", "unknown") for r in report.runs})
    md = (out / "comparison.md").read_text()
    assert f"Profile of these runs: **{', '.join(profiles)}**." in md
    assert ("not the published setting" in md) == ("quick" in profiles)


def test_markdown_table_values_match_runs(built, store):
    out, _ = built
    md = (out / "comparison.md").read_text()
    client = _client(store)
    seeds = [client.get_run(store.runs[k]).data.metrics for k in ("moons_numpy_s0", "moons_numpy_s1")]
    row = _md_row(md, "moons", "numpy_mlp (r10_moons)")
    mean_acc = sum(m["test_accuracy"] for m in seeds) / 2
    assert row["Test accuracy (mean ± sd, n)"].startswith(f"{mean_acc:.4f}")
    assert row["Test accuracy (mean ± sd, n)"].endswith("(n=2)"), "the older rerun of seed 0 must be dropped"
    mean_fit = sum(m["fit_seconds"] for m in seeds) / 2
    assert float(row["Fit time (s)"]) == pytest.approx(mean_fit, rel=6e-3)
    assert row["Parameters"].replace(",", "") == f"{seeds[0]['n_params']:.0f}"
    assert row["Train samples"].startswith(f"{seeds[0]['train_samples']:,.0f}")
    sk = client.get_run(store.runs["moons_sklearn"]).data.metrics
    row = _md_row(md, "moons", "sklearn_mlp (r10_moons)")
    assert row["Test accuracy (mean ± sd, n)"] == f"{sk['test_accuracy']:.4f} (n=1)"
    assert row["Inference (samples/s)"].replace(",", "") == f"{sk['inference_samples_per_second']:.0f}"
    # the fastest fit on moons is bold
    fits = {"numpy": mean_fit, "sklearn": sk["fit_seconds"]}
    fastest = min(fits, key=fits.get)
    line = next(ln for ln in md.splitlines() if ln.startswith(f"| {fastest}_mlp (r10_moons)"))
    assert line.split("|")[3].strip().startswith("**")


def test_reproduction_rows(built, store):
    _, report = built
    rows = {(r.preset, r.implementation, r.metric): r for r in report.reproduction}
    r1 = rows[("r1_single_neuron", "—", "new_input_prediction")]
    assert r1.ours_text() == "not run yet" and r1.verdict == "not run yet"
    r10 = rows[("r10_moons", "numpy_mlp", "test_accuracy")]
    assert r10.ours.n == 2 and r10.published_value == pytest.approx(0.95)
    assert r10.difference == pytest.approx(r10.ours.mean - 0.95)
    assert r10.verdict in ("reproduced", "differs") or r10.verdict.startswith("not comparable")
    assert r10.verdict == "reproduced" or r10.why  # anything but a pass says why
    r6 = rows[("r6_fruits_hue", "—", "train_set_accuracy")]
    assert "45%" in r6.check.text and r6.check.compare == "at_most"
    assert {r.reference for r in report.reproduction} >= {f"R{i}" for i in range(1, 13)}
    md = (built[0] / "comparison.md").read_text()
    assert md.count("not run yet") >= 8 and "| Verdict |" in md
    assert "Not included (not FINISHED): 1 failed run(s)" in md
    assert "Runs recorded on: " in md and "not recorded;" not in md  # the CPU the runs ran on


def test_every_figure_is_a_valid_png(built):
    out, report = built
    names = {p.name for p in (out / "figures").iterdir()}
    for expected in ("r8_activations.png", "learning_curves_moons.png", "learning_curves_catvnoncat.png",
                     "accuracy_vs_time.png", "r11_cost_curve.png", "r10_decision_boundaries.png",
                     "confusion_moons_r10_moons_numpy_mlp.png", "samples_catvnoncat_r11_cat_tanh_numpy_mlp.png"):
        assert expected in names, f"missing {expected}; have {sorted(names)}"
    for path in (out / "figures").iterdir():
        assert_png(path.read_bytes(), str(path))
    assert {f.path.name for f in report.figures} == names
    md = (out / "comparison.md").read_text()
    reference = md[md.index("## Reference figures"):]
    for title in ("R8", "R10 decision boundaries", "R11 cost curve"):  # declared figures under their preset's reference
        assert f"### {title}" in reference, title
    assert reference.index("### R8") < reference.index("### R10") < reference.index("### R11")


def test_html_references_only_existing_files(built):
    out, _ = built
    html = (out / "comparison.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len([r for r in refs if r.startswith("data:image/png")]) >= 8
    for ref in refs:
        if ref.startswith("#"):
            assert f'id="{ref[1:]}"' in html, f"dangling anchor {ref}"
        elif ref.startswith("data:image/png;base64,"):
            assert_png(base64.b64decode(ref.split(",", 1)[1]), "embedded image")
        else:
            assert (out / ref).is_file(), f"HTML references missing file {ref}"
    md = (out / "comparison.md").read_text()
    for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / ref).is_file(), f"markdown references missing file {ref}"


def test_metrics_json_and_plot_data(built, store):
    out, _ = built
    data = json.loads((out / "metrics.json").read_text())
    assert data["n_runs"] == 5  # 6 runs logged, the older seed-0 rerun dropped
    entry = data["datasets"]["moons"]["numpy_mlp (r10_moons)"]
    client = _client(store)
    accs = [client.get_run(store.runs[k]).data.metrics["test_accuracy"] for k in ("moons_numpy_s0", "moons_numpy_s1")]
    assert entry["seeds"] == 2 and entry["test_accuracy"] == pytest.approx(sum(accs) / 2, abs=1e-6)
    assert data["reproduction"]["R1 r1_single_neuron new_input_prediction"]["ours"] is None
    r10 = data["reproduction"]["R10 r10_moons numpy_mlp test_accuracy"]
    assert r10["published"] == pytest.approx(0.95) and r10["verdict"] and r10["source"] == "tutorial"
    curves = sorted((out / "plots" / "curves").glob("*.csv"))
    assert any("catvnoncat" in p.name for p in curves)
    lines = next(p for p in curves if "catvnoncat" in p.name).read_text().splitlines()
    assert lines[0] == "epoch,val_accuracy,loss,wall_seconds" and len(lines) == 121


def test_filters(in_store):
    runs = load_runs(in_store.uri, RunFilter(datasets=("catvnoncat",)))
    assert [r.run_id for r in runs] == [in_store.runs["cat_numpy"]]
    runs = load_runs(in_store.uri, RunFilter(implementations=("sklearn_mlp",)))
    assert [r.run_id for r in runs] == [in_store.runs["moons_sklearn"]]
    runs = load_runs(in_store.uri, RunFilter(experiments=("r10_moons",), tags={"seed": "0"}))
    assert {r.implementation for r in runs} == {"numpy_mlp", "sklearn_mlp"} and len(runs) == 2
    all_runs = load_runs(in_store.uri, RunFilter(experiments=("r10_moons",), latest_only=False))
    assert in_store.runs["moons_numpy_s0_old"] in {r.run_id for r in all_runs} and len(all_runs) == 4


def test_cli_with_filter(in_store, tmp_path):
    from scratchbench.report import main

    out = tmp_path / "rep"
    assert main(["--out", str(out), "--dataset", "catvnoncat", "--no-predictions"]) == 0
    md = (out / "comparison.md").read_text()
    assert "## Dataset: catvnoncat" in md and "## Dataset: moons" not in md
    assert not list((out / "figures").glob("confusion_*"))
    with pytest.raises(SystemExit):
        main(["--out", str(out), "--tag", "novalue"])


def test_missing_store_is_a_clear_error(tmp_path):
    from scratchbench.report.collect import load_runs

    uri = f"sqlite:///{tmp_path / 'nope.db'}"
    with pytest.raises(FileNotFoundError, match="nope.db"):
        load_runs(uri)
    assert not (tmp_path / "nope.db").exists()


def test_dvc_plots_show_renders_report_data(built, tmp_path):
    """The report's plot data and figures render with the real `dvc plots show` (dvc.yaml's definitions)."""
    import shutil
    import subprocess
    import sys

    import yaml

    out, _ = built
    repo_dvc = yaml.safe_load((Path(__file__).resolve().parents[2] / "dvc.yaml").read_text())
    repo = tmp_path / "repo"
    shutil.copytree(out, repo / "reports")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"plots": repo_dvc["plots"]}))
    dvc = Path(sys.executable).with_name("dvc")
    subprocess.run([str(dvc), "init", "--no-scm", "-q"], cwd=repo, check=True)
    res = subprocess.run([str(dvc), "plots", "show", "--json"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    shown = json.loads(res.stdout)["data"]
    curves = [k for k in shown if k.startswith("reports/plots/curves/")]
    assert any("catvnoncat" in k for k in curves), list(shown)
    assert all(shown[k] and "errors" not in shown[k][0] for k in curves), "curve plots did not render"
    assert "reports/figures/accuracy_vs_time.png" in shown


def test_predictions_reproduce_the_runs_test_accuracy(in_store):
    """Confusion matrices/sample grids come from the saved model: they must agree with the logged metric."""
    from scratchbench.report.predictions import run_predictions

    for label in ("cat_numpy", "moons_sklearn"):
        (run,) = [r for r in load_runs(in_store.uri) if r.run_id == in_store.runs[label]]
        preds = run_predictions(run, in_store.uri)
        assert preds is not None
        acc = float((preds.y_true == preds.y_pred).mean())
        assert acc == pytest.approx(run.metrics["test_accuracy"], abs=1e-9), label


def test_failed_render_leaves_previous_report_intact(in_store, tmp_path, monkeypatch):
    from scratchbench.report import render

    out = tmp_path / "rep"
    build_report(out, in_store.uri, RunFilter(datasets=("catvnoncat",)), predictions=False)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}

    def boom(*a, **k):
        raise RuntimeError("render failed")

    monkeypatch.setattr(render, "render_html", boom)
    with pytest.raises(RuntimeError, match="render failed"):
        build_report(out, in_store.uri, RunFilter(datasets=("moons",)), predictions=False)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not list(tmp_path.glob(".*.tmp"))


def _client_histories(runs, uri, keys):
    """What MLflow's client returns, one call per run and key."""
    client = MlflowClient(tracking_uri=uri)
    return {(r.run_id, k): sorted((int(m.step), float(m.value)) for m in client.get_metric_history(r.run_id, k))
            for r in runs for k in keys}


def test_histories_read_in_one_query_equal_the_clients(in_store, tiny_root):
    """The SQLite fast path of load_histories returns what get_metric_history does (also NaN, inf, repeated steps)."""
    import math

    keys = ("loss", "val_accuracy", "epoch_seconds", "train_accuracy")
    runs = load_runs(in_store.uri, RunFilter(latest_only=False))
    load_histories(runs, in_store.uri, keys)
    assert {(r.run_id, k): r.history[k] for r in runs for k in keys} == _client_histories(runs, in_store.uri, keys)
    assert sum(len(r.history["loss"]) for r in runs) > 100

    uri = f"sqlite:///{tiny_root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(client.create_experiment("odd values"))
    for step, value in [(1, 0.5), (2, float("nan")), (3, float("inf")), (3, -2.0), (4, 1e-300)]:
        client.log_metric(run.info.run_id, "loss", value, step=step)
    client.set_terminated(run.info.run_id)
    (rec,) = load_runs(uri)
    load_histories([rec], uri, ("loss", "val_accuracy"))
    expected = _client_histories([rec], uri, ("loss", "val_accuracy"))
    assert rec.history["val_accuracy"] == expected[(rec.run_id, "val_accuracy")] == []
    got, want = rec.history["loss"], expected[(rec.run_id, "loss")]
    assert len(got) == len(want) == 5 and math.isnan(got[1][1]) and math.isnan(want[1][1])
    assert [p for p in got if p[0] != 2] == [p for p in want if p[0] != 2]  # NaN != NaN: compared apart
