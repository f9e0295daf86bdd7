"""A `--multirun` through `submitit_slurm` on a real one-node Slurm cluster (munged, slurmctld, slurmd)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from scratchbench.tracking.names import TAG_PARENT

from run_helpers import all_runs, free_port
from slurm_cluster import SlurmCluster, missing_programs

OK_JOBS = 6
CAPS = "profile: {max_iterations: 5, max_epochs: 2, max_sample_passes: 100}\n"
JOBS = {  # one Hydra option per job (config group `job`, package _global_, added with hydra.searchpath)
    "long": "seed: 100\nprofile: {name: full, max_train_samples: null, max_test_samples: null, max_work: null}\n"
            "train: {epochs: 100000000}\ntracking: {max_curve_points: 100000}\n",
    **{f"ok{i}": f"seed: {i}\n{CAPS}" for i in range(1, OK_JOBS + 1)},
    "fail": f"seed: 50\ndataset: {{name: xor}}\n{CAPS}",  # the test features of `xor` hold a NaN: training raises
}


@pytest.fixture()
def cluster() -> Iterator[SlurmCluster]:
    missing = missing_programs()
    if missing:
        pytest.skip(f"Slurm/munge programs not installed ({', '.join(missing)}): "
                    "apt-get install slurmctld slurmd munge slurm-client")
    if os.geteuid() != 0:
        pytest.skip("the one-node Slurm cluster runs its daemons as root")
    c = SlurmCluster(Path(tempfile.mkdtemp(prefix="scratchbench-slurm-")))
    c.root.chmod(0o755)
    try:
        c.start()
    except Exception as exc:  # noqa: BLE001 - any start failure is a skip with its reason
        c.stop()
        shutil.rmtree(c.root, ignore_errors=True)
        pytest.skip(f"the Slurm cluster did not start: {exc}")
    try:
        yield c
    finally:
        subprocess.run(["scancel", "--user", "root", "--full"], env=c.env, capture_output=True, timeout=30)
        c.stop()
        assert all(p.returncode is not None for p in c.procs.values())
        shutil.rmtree(c.root, ignore_errors=True)


def _job_configs(root: Path) -> Path:
    d = root / "test-conf"
    (d / "job").mkdir(parents=True)
    for name, body in JOBS.items():
        (d / "job" / f"{name}.yaml").write_text("# @package _global_\n" + body)
    return d


@pytest.fixture()
def tracking_server(tmp_path: Path, template_store: Path) -> Iterator[str]:
    """An `mlflow server` (SQLite copy of the migrated template, proxied artifacts) the jobs log to over HTTP."""
    from scratchbench.tracking import server as srv

    shutil.copyfile(template_store, tmp_path / "server.db")
    proc = srv.start_mlflow_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "srv-artifacts", "127.0.0.1",
                                   free_port(), workers=1, log=tmp_path / "mlflow-server.log")
    try:
        yield f"http://127.0.0.1:{proc.args[proc.args.index('--port') + 1]}"
    finally:
        srv.stop(proc, group=True)


@pytest.mark.integration
def test_submitit_slurm_sweep_finished_failed_and_scancelled_runs(fresh_root: Path, cluster: SlurmCluster,
                                                                  tracking_server: str, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    confs = _job_configs(fresh_root)
    env = {**cluster.env, "SCRATCHBENCH_ROOT": str(fresh_root), "HYDRA_FULL_ERROR": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    args = ["--multirun", "hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug",
            "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10", f"hydra.searchpath=[file://{confs}]",
            f"+job={','.join(JOBS)}", "model=numpy_mlp", "tracking=server", f"tracking.uri={tracking_server}"]
    sweep = subprocess.Popen([sys.executable, "-m", "scratchbench.train", *args], cwd=fresh_root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = MlflowClient(tracking_uri=tracking_server)
    try:
        long_run = None
        deadline = time.monotonic() + 150
        while long_run is None and time.monotonic() < deadline:
            time.sleep(1.0)
            assert sweep.poll() is None, sweep.stdout.read()[-4000:]
            for r in all_runs(client):
                if r.data.tags.get("seed") == "100" and r.info.status == "RUNNING" and \
                        client.get_metric_history(r.info.run_id, "loss"):
                    long_run = r
        assert long_run is not None, f"the long job never started training:\n{cluster.log('slurmctld')}"
        job_id = long_run.data.tags["slurm_job_id"]
        assert "_" in job_id  # an array task of the sweep's Slurm array job
        subprocess.run(["scancel", job_id], env=cluster.env, check=True, timeout=30)
        out, _ = sweep.communicate(timeout=240)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    assert sweep.returncode == 0, out[-4000:]

    runs = all_runs(client)
    parents = [r for r in runs if r.data.tags.get("sweep") == "parent"]
    assert len(parents) == 1
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get(TAG_PARENT) == parent.info.run_id]
    assert len(children) == len(JOBS) == len(runs) - 1
    status = {c.data.tags["seed"]: c.info.status for c in children}
    assert status == {**{str(i): "FINISHED" for i in range(1, OK_JOBS + 1)}, "50": "FAILED", "100": "KILLED"}
    assert all("test_accuracy" in c.data.metrics and c.data.tags["slurm_job_id"] for c in children
               if c.info.status == "FINISHED")
    killed = next(c for c in children if c.info.status == "KILLED")
    assert killed.data.tags["failure_reason"] == "killed" and client.get_metric_history(killed.info.run_id, "loss")
    assert len({c.data.tags["slurm_job_id"] for c in children}) == len(JOBS)  # one Slurm job each
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["children"] == len(JOBS)
    assert parent.data.metrics["children_failed"] == 1 and parent.data.metrics["children_killed"] == 1
    # the jobs reached the store over HTTP only: artifacts went through the server, no local store appeared
    assert len(list((tmp_path / "srv-artifacts").rglob("config.yaml"))) == len(JOBS)
    assert not (fresh_root / "mlflow.db").exists() and not (fresh_root / "mlartifacts").exists()
