"""A real `mlflow server` on 127.0.0.1 and a SIGTERM'd training process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scratchbench.config.compose import compose_run
from scratchbench.runner import run

from run_helpers import FAST, REPO, all_runs, client_for, free_port


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow server exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("mlflow server did not become healthy")


@pytest.mark.integration
def test_run_logged_through_a_real_tracking_server(tiny_root: Path, tmp_path: Path, template_store: Path) -> None:
    shutil.copyfile(template_store, tmp_path / "server.db")  # migrated once per session
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
         str(tmp_path / "srv-art")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_healthy(url, server)
        res = run(compose_run(["tracking=server", f"tracking.uri={url}", *FAST], root=REPO))
        assert res.status == "FINISHED"
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=url)
        r = client.get_run(res.run_id)
        assert r.info.status == "FINISHED" and "test_accuracy" in r.data.metrics
        assert r.data.tags["implementation"] == "numpy_mlp"
        assert {a.path for a in client.list_artifacts(res.run_id)} >= {"config.yaml", "learning_curve.png"}
        assert (tmp_path / "server.db").is_file() and not (tiny_root / "mlartifacts").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker, by the server's PID
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert server.returncode is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/health", timeout=2)


def test_sigterm_marks_the_run_and_its_sweep_killed(tiny_root: Path) -> None:
    """SIGTERM to a (one-job) sweep: the training child run is KILLED, and so is the sweep's parent run."""
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(tiny_root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scratchbench.train", "--multirun", "profile=full", "train.epochs=100000000",
         "tracking.max_curve_points=100000"],
        cwd=tiny_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = client_for(tiny_root)
    try:
        deadline = time.monotonic() + 180
        running = None
        while time.monotonic() < deadline and running is None:
            time.sleep(1.0)
            assert proc.poll() is None, proc.stdout.read()
            for r in all_runs(client):
                if r.info.status == "RUNNING" and r.data.tags.get("sweep") == "child" and \
                        client.get_metric_history(r.info.run_id, "loss"):
                    running = r
        assert running is not None, "the run never started training"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    r = client.get_run(running.info.run_id)
    assert r.info.status == "KILLED"
    assert r.data.tags["failure_reason"] == "killed"
    assert len(client.get_metric_history(r.info.run_id, "loss")) >= 1  # what was logged before the signal stays
    parent = client.get_run(r.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["sweep"] == "parent" and parent.info.status == "KILLED"
