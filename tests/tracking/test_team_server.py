"""The team tracking server for real: PostgreSQL + `mlflow server` with proxied artifacts, two parallel sweeps."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from scratchbench.tracking.names import TAG_PARENT
from scratchbench.tracking.store import EXPERIMENT_KIND_TAG, EXPERIMENT_KIND_TRAINING

from run_helpers import FAST, free_port

SWEEP_JOBS = 10  # per sweep; two sweeps -> 20 child runs + 2 parents


@pytest.fixture()
def team_server(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """(server URL, PostgreSQL port, artifacts dir); both processes stopped by the PIDs started here."""
    from scratchbench.tracking import server as srv

    state = Path(tempfile.mkdtemp(prefix="scratchbench-pg-"))  # not under pytest's 0700 tmp: postgres must enter it
    state.chmod(0o755)
    pg_port, port = free_port(), free_port()
    try:
        pg = srv.start_postgres(state / "pg", pg_port)
    except srv.ServerError as exc:
        shutil.rmtree(state, ignore_errors=True)
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    try:
        mlflow_srv = srv.start_mlflow_server(srv.backend_uri(pg_port), tmp_path / "artifacts", "127.0.0.1", port,
                                             workers=2, log=tmp_path / "mlflow-server.log")
        try:
            yield f"http://127.0.0.1:{port}", pg_port, tmp_path / "artifacts"
        finally:
            srv.stop(mlflow_srv, signal.SIGTERM, group=True)
            assert mlflow_srv.returncode is not None
    finally:
        srv.stop(pg, signal.SIGINT)
        assert pg.returncode == 0
        shutil.rmtree(state, ignore_errors=True)


def _sweep(root: Path, url: str, name: str, model: str, *launcher: str) -> subprocess.Popen:
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(root), "HYDRA_FULL_ERROR": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    args = ["--multirun", *launcher, f"hydra.sweep.dir=multirun/{name}",
            "tracking=server", f"tracking.uri={url}", f"model={model}", f"seed=range(0,{SWEEP_JOBS})", *FAST]
    return subprocess.Popen([sys.executable, "-m", "scratchbench.train", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _artifact_files(client, run_id: str, path: str | None = None) -> list:
    out = []
    for a in client.list_artifacts(run_id, path):
        out.extend(_artifact_files(client, run_id, a.path) if a.is_dir else [a])
    return out


@pytest.mark.integration
def test_two_parallel_sweeps_into_a_postgresql_tracking_server(fresh_root: Path, tmp_path: Path,
                                                               team_server: tuple[str, int, Path]) -> None:
    import psycopg2
    from mlflow.tracking import MlflowClient

    url, pg_port, artifacts = team_server
    sweeps = [_sweep(fresh_root, url, "a", "numpy_mlp", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
              _sweep(fresh_root, url, "b", "sklearn_mlp")]  # 3 processes logging at once
    for p in sweeps:
        out, _ = p.communicate(timeout=400)
        assert p.returncode == 0, out[-4000:]

    client = MlflowClient(tracking_uri=url)
    experiments = client.search_experiments()
    names = [e.name for e in experiments]
    assert len(names) == len(set(names)) and names.count("scratchbench-moons") == 1, names
    moons = next(e for e in experiments if e.name == "scratchbench-moons")
    assert moons.tags.get(EXPERIMENT_KIND_TAG) == EXPERIMENT_KIND_TRAINING  # the UI opens on training runs
    runs = client.search_runs([moons.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    children = [r for r in runs if r.data.tags.get(TAG_PARENT)]
    assert len(parents) == 2 and len(children) == 2 * SWEEP_JOBS and len(runs) == 2 * SWEEP_JOBS + 2
    for parent in parents:
        mine = [c for c in children if c.data.tags[TAG_PARENT] == parent.info.run_id]
        assert parent.info.status == "FINISHED" and parent.data.metrics["children"] == SWEEP_JOBS == len(mine)
    assert {(c.data.tags["implementation"], c.data.tags["seed"]) for c in children} == {
        (m, str(s)) for m in ("numpy_mlp", "sklearn_mlp") for s in range(SWEEP_JOBS)}
    assert all(c.info.status == "FINISHED" and "test_accuracy" in c.data.metrics for c in children)

    with psycopg2.connect(host="127.0.0.1", port=pg_port, user="mlflow", dbname="mlflow") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs")
        assert cur.fetchone()[0] == 2 * SWEEP_JOBS + 2  # the runs live in PostgreSQL

    downloaded = 0
    for c in children:
        files = _artifact_files(client, c.info.run_id)
        assert {"config.yaml", "learning_curve.png"} <= {f.path for f in files} and any(
            f.path.startswith("model/") for f in files), c.info.run_name
        local = Path(client.download_artifacts(c.info.run_id, "", str(tmp_path / "dl" / c.info.run_id)))
        for f in files:
            assert (local / f.path).stat().st_size == f.file_size > 0, f.path
        downloaded += sum(1 for p in local.rglob("*") if p.is_file())
    served = [p for p in artifacts.rglob("*") if p.is_file()]
    assert downloaded == len(served) >= 4 * 2 * SWEEP_JOBS  # every stored artifact, all through the server
    assert not (fresh_root / "mlflow.db").exists() and not (fresh_root / "mlartifacts").exists()

    env = {**os.environ, "SCRATCHBENCH_ROOT": str(fresh_root), "MLFLOW_TRACKING_URI": url}
    rep = subprocess.run([sys.executable, "-m", "scratchbench.report", "--out", str(tmp_path / "report"),
                          "--implementation", "numpy_mlp"],  # with predictions: models downloaded from the server
                         cwd=fresh_root, env=env, capture_output=True, text=True, timeout=300)
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["n_runs"] == SWEEP_JOBS
    assert (tmp_path / "report" / "comparison.html").stat().st_size > 0

    from scratchbench.data.features import load_features
    from scratchbench.predict import latest_run_id, load_run_model

    model = load_run_model(latest_run_id("r10_moons", url), url)
    x = load_features("moons").x_test[:5]
    assert model.predict_proba(x).shape == (5, 2)


def test_report_store_follows_env_then_params_yaml_then_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`report`/`predict` read the server the DVC train stages logged to (params.yaml), not a stale mlflow.db."""
    from scratchbench.tracking.store import default_tracking_uri

    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"  # no params.yaml
    (tmp_path / "params.yaml").write_text("tracking:\n  uri: http://team-server:5000\n")
    assert default_tracking_uri() == "http://team-server:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://other:5000")
    assert default_tracking_uri() == "http://other:5000"


def test_report_on_an_unreachable_server_is_one_clear_error(tmp_path: Path) -> None:
    from scratchbench.report.collect import load_runs
    from scratchbench.tracking.store import TrackingError

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TrackingError, match=f"MLflow tracking server {url} is unreachable"):
        load_runs(url)
    from scratchbench.predict import main as predict_main
    from scratchbench.report.cli import main as report_main

    assert report_main(["--tracking-uri", url, "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()  # nothing half-written
    assert predict_main(["--tracking-uri", url, "--experiment", "r10_moons", str(tmp_path / "x.png")]) == 2
