"""Data and features shared through a DVC remote: push from one clone, pull into a fresh one offline, repro skips."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from run_helpers import REPO, dvc_ran as _ran, sh as _sh

DATASETS = ("mnist", "catvnoncat", "fruits360")
FEATURES = (*DATASETS, "moons", "r1_table", "xor3", "xor")
DATA_STAGES = {f"fetch@{d}" for d in DATASETS} | {f"featurize@{d}" for d in FEATURES}
DEAD_PROXY = "http://127.0.0.1:9"  # discard port: any download attempt fails at once


def _env(repo: Path, mirror: str | None) -> dict[str, str]:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "SCRATCHBENCH_ROOT": str(repo), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("SCRATCHBENCH_DATA_MIRROR", None)
    if mirror:
        env["SCRATCHBENCH_DATA_MIRROR"] = mirror
    else:  # no mirror and no network
        env.update({k: DEAD_PROXY for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")})
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
    return env


def _digests(repo: Path) -> dict[str, str]:
    files = sorted(p for p in (repo / "data").rglob("*") if p.is_file() and p.name != ".gitkeep")
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.mark.integration
def test_push_to_a_shared_remote_then_a_fresh_offline_clone_pulls_and_skips_data_stages(tmp_path: Path) -> None:
    mirror = os.environ.get("SCRATCHBENCH_DATA_MIRROR")
    if not mirror:
        pytest.skip("SCRATCHBENCH_DATA_MIRROR is not set: the first clone needs the datasets")
    remote = tmp_path / "team-remote"
    first, second = tmp_path / "first", tmp_path / "second"
    subprocess.run(["git", "clone", "-q", str(REPO), str(first)], check=True, timeout=120)
    env = _env(first, mirror)

    ran = _ran(_sh(["dvc", "repro", "fetch", "featurize"], first, env, timeout=600))
    assert ran == DATA_STAGES, ran
    _sh(["dvc", "remote", "add", "-d", "team", str(remote)], first, env)
    _sh(["dvc", "push", "fetch", "featurize"], first, env)
    assert sum(1 for p in remote.rglob("*") if p.is_file()) >= len(FEATURES)
    _sh(["git", "add", "dvc.lock", ".dvc/config"], first, env)
    _sh(["git", "commit", "-qm", "data stages + team remote", "--allow-empty"], first, env)

    subprocess.run(["git", "clone", "-q", str(first), str(second)], check=True, timeout=120)
    env = _env(second, None)
    assert not (second / "data" / "raw").exists()
    _sh(["dvc", "pull", "fetch", "featurize"], second, env)
    assert _digests(second) == _digests(first) and len(_digests(second)) > 2 * len(FEATURES)
    out = _sh(["dvc", "repro", "fetch", "featurize"], second, env)
    assert _ran(out) == set(), out
    skipped = set(re.findall(r"Stage '([^']+)' didn't change, skipping", out))
    assert skipped == DATA_STAGES, out
