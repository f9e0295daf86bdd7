"""``bench cnn --quick`` (engine, floor and another revision's engine; no TensorFlow) and its profiling pass."""

from __future__ import annotations

import json
import subprocess

import pytest

from scratchbench.bench import cnn
from scratchbench.paths import project_root


def test_quick_cnn_writes_the_contract_keys_and_times_another_revision(tmp_path, capsys):
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(), capture_output=True, text=True,
                         check=True).stdout.strip()
    assert cnn.main(["--quick", "--only", "numpy,floor", "--engine-commit", "HEAD", "--out-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "cnn_threads1.json").read_text())
    assert {"numpy", "keras", "keras_tuned", "floor", "floor_square_gemm", f"numpy@{rev}",
            "stats", "profile", "meta"} <= set(result)
    assert result["keras"] is None and result["keras_tuned"] is None  # not run with --only numpy,floor
    assert result["numpy"] > 0 and result["floor"] > 0 and result[f"numpy@{rev}"] > 0
    m = result["meta"]
    assert m["engine_commit"]["label"] == f"numpy@{rev}"
    assert m["engine_commit"]["given"] == "HEAD"
    assert "numpy_over_engine_commit" in m["ratios"]
    from scratchbench.bench.readme import cnn_table

    result["_file"] = "cnn_threads1.json"
    table = cnn_table([result])
    assert f"| numpy@{rev} |" in table and f"`numpy@{rev}`: the engine of git revision `HEAD`" in table
    assert len(m["all_seconds"]["numpy"]) == 2 and m["preset"] == "r7_mnist_cnn"
    assert m["epoch_gflop"] == pytest.approx(64 * 66_364_416 / 1e9)  # the hand count of test_floor, 64 images
    assert m["gemm_rate_gflops_step_shapes"] > 0 and m["gemm_rate_gflops_square"] > 0
    assert m["host"]["cpu"]["flags"] and m["timing"]
    prof = result["profile"]
    assert prof["profile_samples"] == 32 and prof["threads_active"] >= 1 and prof["thread_cpu_seconds_per_epoch"]
    assert any("Conv2D backward" in k for k in prof["layers_seconds_per_epoch"])
    assert {"conv.gemm", "conv.gemm_dW", "conv.gemm_dX"} <= set(prof["conv_internals_seconds_per_epoch"])
    assert "Where a NumPy epoch's CPU time goes" in capsys.readouterr().out


def test_timed_epochs_run_uninstrumented(monkeypatch):
    """Profiling happens only in the separate pass: the timed epochs see no timers, and the hook is off after it."""
    from scratchbench.bench import worker
    from scratchbench.scratch import conv

    cfg = cnn.compose_model(cnn.PRESET)
    setting = {"impl": "numpy_cnn", "cfg": cfg, "batch": 32}
    x, y = worker.load_data({"source": "synthetic", "samples": 64, "input": "image"})
    runner = worker.NumpyRunner(setting, x, y)
    steps_before = {name: getattr(conv, name) for name in conv._STEPS}
    seen = []
    monkeypatch.setattr(conv, "_gemm", lambda *a, **k: seen.append(1) or steps_before["_gemm"](*a, **k))
    wall, _ = runner.epoch()
    # no per-layer wrappers
    assert wall > 0 and seen and all("forward" not in vars(layer) for layer in runner.impl.net.layers)
    monkeypatch.undo()
    prof = runner.profile(32)
    assert {name: getattr(conv, name) for name in conv._STEPS} == steps_before  # the hook is off again
    assert prof["conv_internals_seconds_per_epoch"]["conv.gemm"] > 0 and prof["epoch_cpu_seconds_mean"] > 0


@pytest.mark.parametrize("argv,match",
                         [(["--only", "torch"], "unknown implementation"), (["--samples", "0"], "samples")])
def test_bench_cnn_rejects_bad_options(argv, match, capsys):
    with pytest.raises(SystemExit):
        cnn.parse_args(argv)
    assert match in capsys.readouterr().err
