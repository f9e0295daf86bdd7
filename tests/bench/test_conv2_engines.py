"""benchmarks/conv2_engines.py: each engine from its own source tree, every sample kept."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "conv2_engines.py"


def test_times_both_engines_from_their_own_trees(tmp_path):
    out = tmp_path / "conv2.json"
    res = subprocess.run([sys.executable, str(SCRIPT), "--rev", "HEAD", "--rounds", "1", "--repeats", "2",
                          "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-2000:]
    data = json.loads(out.read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert data["engines"] == {"today": head, "HEAD": head}
    for engine in ("today", "HEAD"):
        for workers in ("workers_1", "workers_2"):
            samples = data["samples_ms"][engine][workers]
            assert len(samples["forward_ms"]) == len(samples["backward_ms"]) == 2
            assert all(v > 0 for v in samples["forward_ms"] + samples["backward_ms"])
    prof = data["today_backward_profile_1_worker_ms"]
    assert prof["conv.gemm_dW"] > 0 and sum(v for k, v in prof.items() if k != "backward") <= prof["backward"]
    assert data["meta"]["cpu"]


def test_a_worker_refuses_an_engine_it_did_not_import(tmp_path):
    res = subprocess.run([sys.executable, str(SCRIPT), "--worker", str(tmp_path), "1", "1"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode != 0 and "not the engine under" in res.stderr
