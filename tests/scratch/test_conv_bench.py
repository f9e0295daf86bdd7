"""Smoke test of ``python -m scratchbench.bench cnn`` on tiny synthetic data (NumPy + floor; no TensorFlow)."""

from __future__ import annotations

import json

import pytest

from scratchbench.bench import cnn


def test_bench_cnn_writes_the_contract_keys(tmp_path, capsys):
    out = tmp_path / "cnn.json"
    rc = cnn.main(["--synthetic", "--samples", "96", "--test-samples", "40", "--repeats", "2", "--warmup", "32",
                   "--batch-size", "32", "--only", "numpy,floor", "--threads", "1", "--profile-samples", "64", "--out", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert {"numpy", "keras", "floor", "numpy_test_acc", "keras_test_acc"} <= set(result)
    assert result["numpy"] > 0 and result["floor"] > 0
    assert result["keras"] is None and result["keras_test_acc"] is None  # not run with --only numpy,floor
    assert 0.0 <= result["numpy_test_acc"] <= 1.0
    assert len(result["meta"]["all_seconds"]["numpy"]) == 2
    assert result["meta"]["epoch_gflop"] == pytest.approx(cnn.epoch_flops(96) / 1e9)
    assert 0 < result["meta"]["numpy_train_peak_rss_mb"] <= result["meta"]["numpy_peak_rss_mb"]
    assert result["meta"]["floor_wall_measured"] > 0
    assert result["meta"]["cpu"] and result["meta"]["timing"]
    prof = result["profile"]
    assert prof["profile_samples"] == 64
    assert any("Conv2D backward" in k for k in prof["layers_seconds_per_epoch"])
    assert {"conv.gemm", "conv.gemm_dW", "conv.gemm_dX", "conv.copy"} <= set(prof["conv_internals_seconds_per_epoch"])
    assert sum(prof["conv_internals_seconds_per_epoch"].values()) <= sum(prof["layers_seconds_per_epoch"].values())
    text = capsys.readouterr().out
    assert "of the floor speed" in text and "Inside the conv layers" in text and "profiling pass over 64 images" in text


def test_timed_epochs_run_uninstrumented(monkeypatch):
    """Profiling happens only in the separate pass: the timed epochs see no timers."""
    from scratchbench.scratch import conv

    args = cnn.parse_args(["--synthetic", "--samples", "64", "--warmup", "0", "--batch-size", "32", "--threads", "1"])
    x, y, _, _ = cnn.load_mnist(args)
    from scratchbench.scratch.network import Network

    runner = cnn.NumpyRunner(args, x, y, Network.from_config(cnn.MODEL_CFG, (28, 28, 1), 10, 0).get_weights())
    steps_before = {name: getattr(conv, name) for name in conv._STEPS}
    seen = []
    monkeypatch.setattr(conv, "_gemm", lambda *a, **k: seen.append(1) or steps_before["_gemm"](*a, **k))
    runner.epoch()
    assert seen and all("forward" not in vars(layer) for layer in runner.net.layers)  # no per-layer wrappers
    monkeypatch.undo()
    prof = runner.profile(32)
    assert {name: getattr(conv, name) for name in conv._STEPS} == steps_before  # the hook is off again
    assert prof["conv_internals_seconds_per_epoch"]["conv.gemm"] > 0
    assert prof["epoch_cpu_seconds_mean"] > 0


def test_r7_flops_count():
    # per image: conv1 26*26*9*64, conv2 24*24*576*32, dense 18432*10 MACs; x2 FLOPs; fwd + dW (+ dX but conv1)
    conv1, conv2, dense = 26 * 26 * 9 * 64, 24 * 24 * 576 * 32, 18432 * 10
    assert cnn.epoch_flops(1) == 2 * (2 * conv1 + 3 * conv2 + 3 * dense)


@pytest.mark.parametrize("argv,match", [(["--only", "torch"], "unknown implementation"), (["--samples", "0"], "samples")])
def test_bench_cnn_rejects_bad_options(argv, match, capsys):
    with pytest.raises(SystemExit):
        cnn.parse_args(argv)
    assert match in capsys.readouterr().err
