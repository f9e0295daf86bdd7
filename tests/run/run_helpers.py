"""Helpers shared by the run/tracking/sweep tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parents[2]
# Fast settings for every tiny run: few full-batch iterations, small curve.
FAST = ["profile.max_iterations=5", "profile.max_epochs=2", "profile.max_sample_passes=100"]


def make_features(root: Path) -> None:
    """moons (200 points), the R1/XOR tables, and `xor` with a NaN input (NaN-loss runs)."""
    from scratchbench.data.features import save_features
    from scratchbench.data.toy import moons_features, table_features

    out = root / "data" / "features"
    arrays, meta = moons_features({"n_samples": 200})
    save_features("moons", arrays, meta, out / "moons")
    for name in ("r1_table", "xor3"):
        arrays, meta = table_features(name)
        save_features(name, arrays, meta, out / name)
    arrays, meta = table_features("xor")
    arrays["x_train"] = arrays["x_train"].copy()
    arrays["x_train"][0, 0] = np.nan
    save_features("xor", arrays, {**meta, "note": "poisoned with NaN for tests"}, out / "xor")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlflow.db'}"


def client_for(root: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store_uri(root))


def all_runs(client) -> list:
    exps = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(exps, max_results=1000) if exps else []


def train_cli(root: Path, *args: str, timeout: float = 240, check: bool = True) -> subprocess.CompletedProcess:
    """``python -m scratchbench.train ARGS`` in ``root`` (a real process, real Hydra)."""
    env = {**os.environ, "SCRATCHBENCH_ROOT": str(root), "HYDRA_FULL_ERROR": "0"}
    env.pop("MLFLOW_TRACKING_URI", None)
    proc = subprocess.run([sys.executable, "-m", "scratchbench.train", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"train exited {proc.returncode}\nSTDOUT:\n{proc.stdout[-4000:]}\n"
                             f"STDERR:\n{proc.stderr[-4000:]}")
    return proc


def sh(cmd: list[str], cwd: Path, env: dict, timeout: float = 400, stdout_only: bool = False) -> str:
    """Run ``cmd``; assert it exits 0 (quoting its output) and return stdout (+ stderr)."""
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd} exited {p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout if stdout_only else p.stdout + p.stderr


def dvc_ran(out: str) -> set[str]:
    """Stages a ``dvc repro`` output says it ran."""
    return set(re.findall(r"Running stage '([^']+)'", out))


def clone_with_matrix(tmp_path: Path, matrix: str, template_store: Path,
                      edit_dvc_yaml: Callable[[str], str] | None = None) -> tuple[Path, dict]:
    """A git clone of this checkout training ``matrix`` (conf/pipeline/train.yaml) on a 20-iteration quick profile:
    params.yaml and the per-preset stages regenerated and committed, the template store copied in; (repo, env)."""
    repo = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(repo)], check=True, timeout=120)
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "SCRATCHBENCH_ROOT": str(repo),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    (repo / "conf" / "pipeline" / "train.yaml").write_text(matrix)
    quick = repo / "conf" / "profile" / "quick.yaml"
    quick.write_text(re.sub(r"max_iterations: \S+", "max_iterations: 20", quick.read_text()))
    if edit_dvc_yaml is not None:
        (repo / "dvc.yaml").write_text(edit_dvc_yaml((repo / "dvc.yaml").read_text()))
    sh([sys.executable, "-m", "scratchbench.config.compose"], repo, env)
    sh([sys.executable, "pipelines/stages.py"], repo, env)  # one train stage per preset of the matrix
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "small matrix"], repo, env)
    shutil.copyfile(template_store, repo / "mlflow.db")
    return repo, env


def artifact_paths(client, run_id: str, path: str = "") -> set[str]:
    """Every artifact file path of a run (recursively)."""
    out = set()
    for f in client.list_artifacts(run_id, path):
        out |= artifact_paths(client, run_id, f.path) if f.is_dir else {f.path}
    return out


def temp_project(tmp_path_factory, name: str):
    """A session-scoped project root (``pyproject.toml`` marks it) with its own SQLite store, set in the
    environment (``SCRATCHBENCH_ROOT``, ``MLFLOW_TRACKING_URI``); returns (root, uri, monkeypatch to undo)."""
    import pytest

    root = tmp_path_factory.mktemp(name)
    (root / "pyproject.toml").write_text("")
    mp = pytest.MonkeyPatch()
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp.setenv("SCRATCHBENCH_ROOT", str(root))
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    return root, uri, mp
