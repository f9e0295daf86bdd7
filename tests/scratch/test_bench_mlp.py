"""Smoke test of the benchmark entry point on small synthetic data (the real run is not a test)."""

from __future__ import annotations

import json

import pytest

from scratchbench.bench import cpu_model
from scratchbench.bench.__main__ import main as bench_main
from scratchbench.bench.floor import dense_epoch_flops, dense_step_shapes, gemm_flops, measure_gemm_rate
from scratchbench.models.numpy_net import cores

from scratch_helpers import preset_layers


def test_bench_mlp_writes_the_contract_json(tmp_path, capsys):
    out = tmp_path / "mlp.json"
    rc = bench_main(["mlp", "--synthetic", "--samples", "1500", "--repeats", "3", "--only", "numpy,floor", "--out", str(out)])
    assert rc == 0
    data = json.loads(out.read_text())
    assert set(data) == {"batch_32", "batch_128", "ratios", "meta"}
    for key in ("batch_32", "batch_128"):
        assert set(data[key]) == {"numpy", "floor"} and all(v > 0 for v in data[key].values())
        assert len(data["meta"]["all_seconds"][key]["numpy"]) == 3
    assert data["meta"]["threads"] == cores() and data["meta"]["data"] == "synthetic"
    assert data["meta"]["numpy_blas_threads"] == {"batch_32": 1, "batch_128": cores()}
    assert set(data["meta"]["all_fit_call_seconds"]["batch_32"]) == {"numpy"}
    assert data["meta"]["cpu"] == cpu_model() and data["meta"]["cpu"]  # numbers are per machine
    assert "numpy/floor" in capsys.readouterr().out


def test_bench_dispatch_and_option_errors(capsys):
    assert bench_main(["nope"]) == 2
    assert "unknown benchmark 'nope'; valid: mlp, cnn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_main(["mlp", "--only", "torch"])
    assert "unknown implementation(s) ['torch']" in capsys.readouterr().err


def test_floor_flop_accounting():
    # by hand: forward and dW for both layers, dX for the second only (the data needs no gradient)
    hand = 2 * (784 * 100 + 784 * 100 + 100 * 10 + 100 * 10 + 100 * 10)
    assert dense_epoch_flops(60000, [784, 100, 10]) == 60000 * hand
    shapes = dense_step_shapes(128, [784, 100, 10])
    assert shapes == [(128, 784, 100), (784, 128, 100), (128, 100, 10), (100, 128, 10), (128, 10, 100)]
    assert gemm_flops(shapes) * 60000 / 128 == pytest.approx(dense_epoch_flops(60000, [784, 100, 10]))
    rate = measure_gemm_rate([(64, 64, 64)], repeats=2, min_seconds=0.02)
    assert 1e6 < rate["median"] <= rate["best"]


def test_bench_mlp_without_features_tells_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match=r"dvc repro featurize@mnist"):
        bench_main(["mlp", "--only", "numpy"])
    assert not (tmp_path / "reports").exists()  # nothing half-written


def test_floor_flops_recomputed_from_the_architecture_match_a_hand_count():
    """MLP and R7 CNN: FLOPs per sample from the canonical layers vs counted by hand, and vs what the floors use."""
    from scratchbench.bench import cnn
    from scratchbench.bench.floor import training_flops_per_sample
    from scratchbench.scratch.architecture import normalize_layers

    mlp = normalize_layers({"layers": [{"units": 100, "activation": "sigmoid"}, {"units": 10, "activation": "softmax"}]}, (784,), 10)
    assert training_flops_per_sample(mlp) == 2 * (2 * 784 * 100 + 3 * 100 * 10) == 319_600
    assert training_flops_per_sample(mlp) * 60000 == dense_epoch_flops(60000, [784, 100, 10])
    r7 = normalize_layers({"layers": preset_layers("r7_mnist_cnn")}, (28, 28, 1), 10)
    # conv1 26*26 positions x 3*3*1 inputs x 64 filters; conv2 24*24 x 3*3*64 x 32; dense 24*24*32 x 10
    conv1, conv2, dense = 26 * 26 * 9 * 64, 24 * 24 * 576 * 32, 18432 * 10
    hand = 2 * (2 * conv1 + 3 * conv2 + 3 * dense)  # conv1 is first: forward and dW only
    assert hand == 66_364_416
    assert training_flops_per_sample(r7) == hand == cnn.epoch_flops(1)
