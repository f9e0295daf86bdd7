"""A run spooled to files and recorded later equals a direct run; recording twice adds nothing; caps by time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scratchbench.config.compose import compose_run
from scratchbench.experiment.curves import render_deferred
from scratchbench.runner import run
from scratchbench.tracking.spool import TAG_SPOOL_ID, find_spools, record_spools
from scratchbench.tracking.store import init_store

from run_helpers import REPO, all_runs, artifact_paths, client_for, store_uri

# differ between any two runs (ids, clocks, how the run was recorded)
VOLATILE_TAGS = {TAG_SPOOL_ID, "process_start_ms", "process_id", "process_read_bytes", "process_major_faults",
                 "run_call_ms", "process_runs_before", "mlflow.runName",
                 "mlflow.user", "mlflow.source.name",
                 "mlflow.source.type", "mlflow.source.git.commit"}
TIMED = {"fit_seconds", "epoch_seconds", "inference_samples_per_second", "peak_memory_mb"}


def _cfg(record: str) -> dict:
    return compose_run(["experiment=r10_moons", "train.epochs=7", "profile=full", "seed=3",
                        f"tracking.record={record}"], root=REPO)


def test_spooled_run_recorded_later_equals_a_direct_run(tiny_root: Path) -> None:
    direct = run(_cfg("direct"), out_dir=tiny_root / "reports" / "runs" / "direct")
    spooled = run(_cfg("spool"), out_dir=tiny_root / "reports" / "runs" / "spooled")
    assert direct.status == spooled.status == "FINISHED"
    client = client_for(tiny_root)
    assert len(all_runs(client)) == 1  # the spooled run is not in the store yet
    spool_dir = tiny_root / "reports" / "runs" / "spooled" / "run"
    assert not (spool_dir / "artifacts" / "learning_curve.png").exists()  # drawn by the record stage
    assert json.loads((spool_dir / "run.json").read_text())["deferred"][0]["png"] == "learning_curve.png"
    done = record_spools(find_spools(tiny_root / "reports" / "runs"), client, render=render_deferred)
    assert [d["action"] for d in done] == ["recorded"]
    a, b = client.get_run(direct.run_id), client.get_run(done[0]["run_id"])
    assert b.info.status == "FINISHED" and b.info.run_name == a.info.run_name
    assert b.info.experiment_id == a.info.experiment_id
    assert b.info.start_time < b.info.end_time and b.info.end_time - b.info.start_time < 60_000
    pa, pb = dict(a.data.params), dict(b.data.params)
    assert pa.pop("tracking.record") == "direct" and pb.pop("tracking.record") == "spool"
    assert pa == pb
    ta = {k: v for k, v in a.data.tags.items() if k not in VOLATILE_TAGS}
    tb = {k: v for k, v in b.data.tags.items() if k not in VOLATILE_TAGS}
    assert ta == tb and b.data.tags[TAG_SPOOL_ID] == spooled.run_id
    assert int(b.data.tags["process_start_ms"]) <= int(b.data.tags["run_call_ms"]) <= b.info.start_time
    assert int(a.data.tags["process_runs_before"]) + 1 == int(b.data.tags["process_runs_before"])
    assert int(b.data.tags["process_read_bytes"]) >= 0 and int(b.data.tags["process_major_faults"]) >= 0
    assert set(a.data.metrics) == set(b.data.metrics)
    for key in a.data.metrics:
        ha = sorted((m.step, m.value) for m in client.get_metric_history(a.info.run_id, key))
        hb = sorted((m.step, m.value) for m in client.get_metric_history(b.info.run_id, key))
        assert [s for s, _ in ha] == [s for s, _ in hb], key
        if key not in TIMED:
            assert ha == hb, key  # same seed, same engine: the same numbers
    assert artifact_paths(client, a.info.run_id) == artifact_paths(client, b.info.run_id) != set()
    png = Path(client.download_artifacts(b.info.run_id, "learning_curve.png", str(tiny_root)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert not (spool_dir / "artifacts" / "learning_curve.png").exists()  # the spool (a DVC output) is untouched


def test_recording_twice_adds_nothing_and_a_half_recorded_spool_is_redone(tiny_root: Path) -> None:
    runs = tiny_root / "reports" / "runs"
    for seed in (1, 2):
        cfg = compose_run(["experiment=r1_single_neuron", "profile.max_iterations=5", f"seed={seed}",
                           "tracking.record=spool"], root=REPO)
        assert run(cfg, out_dir=runs / f"s{seed}").status == "FINISHED"
    client = init_store(store_uri(tiny_root))
    first = record_spools(find_spools(runs), client)
    assert [d["action"] for d in first] == ["recorded", "recorded"]
    second = record_spools(find_spools(runs), client)
    assert [d["action"] for d in second] == ["skipped", "skipped"]
    assert [d["run_id"] for d in second] == [d["run_id"] for d in first]
    assert len(all_runs(client)) == 2
    client.set_terminated(first[0]["run_id"], status="RUNNING")  # as if the record stage died half way
    third = record_spools(find_spools(runs), client)
    assert [d["action"] for d in third] == ["recorded", "skipped"] and third[0]["run_id"] != first[0]["run_id"]
    assert len(all_runs(client)) == 2  # the half-recorded run was deleted


def test_time_budget_caps_epochs_and_the_run_records_the_cap(tiny_root: Path) -> None:
    from scratchbench.runner import plan

    # dyadic numbers: (3.625 - 0.5) / (1/64) is exactly 200 epochs
    costs = ("profile.costs={numpy_mlp: {run: 0.5, epoch: 0.015625, step: 0.0, sample: 0.0, mac: 0.0, val: 0.0, "
             "val_mac: 0.0}}")
    cfg = compose_run(["experiment=r10_moons", "profile=quick", "profile.max_fit_seconds=3.625", costs,
                       "tracking.record=spool"], root=REPO)
    rec = plan(cfg)
    assert rec["train.epochs_effective"] == 200 and rec["train.epochs_cap_source"] == "profile.max_fit_seconds"
    assert rec["train.predicted_fit_seconds"] == 3.625
    out = tiny_root / "reports" / "runs" / "capped"
    assert run(cfg, out_dir=out).status == "FINISHED"
    params = json.loads((out / "run" / "run.json").read_text())["params"]
    assert params["train.epochs_effective"] == "200" and params["train.epochs_cap_source"] == "profile.max_fit_seconds"
    assert params["train.predicted_fit_seconds"] == "3.625"
    from scratchbench.report.collect import RunRecord
    from scratchbench.report.reproduction import cap_note

    rr = RunRecord("x", "scratchbench-moons", 0, "FINISHED", {}, params, {})
    assert cap_note([rr]).startswith("200 of 10000 epochs (profile.max_fit_seconds cap)")  # the verdict names it
    roomy = plan(compose_run(["experiment=r10_moons", "profile=quick", "profile.max_fit_seconds=1000", costs],
                             root=REPO))
    assert roomy["train.epochs_effective"] == 10000 and roomy["train.epochs_cap_source"] == "requested"


def test_quick_profile_prices_every_matrix_implementation() -> None:
    import yaml

    quick = yaml.safe_load((REPO / "conf" / "profile" / "quick.yaml").read_text())
    matrix = yaml.safe_load((REPO / "conf" / "pipeline" / "train.yaml").read_text())["train_matrix"]
    assert quick["max_fit_seconds"] and {m["model"] for m in matrix.values()} <= set(quick["costs"])


def test_a_numpy_run_imports_no_framework_no_mlflow_no_pyplot(tiny_root: Path) -> None:
    code = (
        "import sys\n"
        "from scratchbench.config.compose import compose_run\n"
        "from scratchbench.runner import run\n"
        "from pathlib import Path\n"
        "cfg = compose_run(['experiment=r10_moons', 'profile.max_iterations=5', 'tracking.record=spool'], "
        f"root=Path({str(REPO)!r}))\n"
        f"assert run(cfg, out_dir={str(tiny_root / 'out')!r}).status == 'FINISHED'\n"
        "bad = ('tensorflow', 'keras', 'sklearn', 'pybrain', 'matplotlib.pyplot', 'mlflow', 'sqlalchemy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad[:4] + bad[5:] or m == bad[4]))\n"
    )
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(tiny_root)}
    p = subprocess.run([sys.executable, "-c", code], cwd=tiny_root, env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.strip() == "[]", p.stdout
    assert (tiny_root / "out" / "run" / "artifacts" / "learning_curve.csv").is_file()
    assert not (tiny_root / "out" / "run" / "artifacts" / "learning_curve.png").exists()  # left to `record`
