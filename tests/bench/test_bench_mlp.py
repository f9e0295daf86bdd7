"""``bench mlp --quick``: the JSON contract, pinned alternated workers, host metadata; option errors."""

from __future__ import annotations

import os

import pytest

from scratchbench.bench.__main__ import main as bench_main
from scratchbench.bench.host import cpu_label, cpuinfo

SUMMARY_KEYS = {"median", "iqr", "ci95_median", "n", "samples", "load_flagged", "n_load_flagged"}


def test_quick_mlp_writes_the_contract_json(quick_mlp):
    _, data = quick_mlp
    assert {"batch_32", "batch_128", "ratios", "stats", "meta"} <= set(data)
    for key in ("batch_32", "batch_128"):
        assert set(data[key]) == {"numpy", "numpy_minimal", "sklearn", "floor"}
        assert all(v > 0 for v in data[key].values())
        for label in ("numpy", "numpy_minimal", "sklearn", "floor"):
            st = data["stats"][key][label]
            assert SUMMARY_KEYS <= set(st)
            assert st["n"] == 2 == len(st["load_flagged"]) == len(data["meta"]["all_seconds"][key][label])
            assert st["iqr"][0] <= st["median"] <= st["iqr"][1]
            assert st["ci95_median"][0] <= st["median"] <= st["ci95_median"][1]
            assert len(st["quiet_wait"]) == 2  # every epoch waited for the workers' threads to go quiet
            assert all(q["seconds"] > 0 and q["timed_out"] in (0, 1) for q in st["quiet_wait"])
        ratios = data["ratios"][key]
        assert ratios["numpy_over_floor"] == pytest.approx(data[key]["numpy"] / data[key]["floor"])
        assert ratios["numpy_over_minimal"] == pytest.approx(data[key]["numpy"] / data[key]["numpy_minimal"])
        assert ratios["minimal_over_floor"] == pytest.approx(data[key]["numpy_minimal"] / data[key]["floor"])
    meta = data["meta"]
    assert meta["threads"] == 1 and meta["data"] == "synthetic" and meta["quick"] and meta["repeats"] == 2
    assert meta["config"]["preset"] == "r12_mnist_mse" and meta["config"]["registry"]["sklearn"] == "sklearn_mlp"
    assert meta["errors"] == {}
    assert meta["numpy_blas_threads"] == {"batch_32": 1, "batch_128": 1} and meta["learning_rate"] == 0.01
    assert meta["cpu"] == cpu_label(meta["host"]) and meta["epoch_gflop"] == 512 * 319_600 / 1e9


def test_every_implementation_and_setting_ran_in_its_own_pinned_process(quick_mlp):
    _, data = quick_mlp
    by_setting = data["meta"]["workers"]
    first_core = sorted(os.sched_getaffinity(0))[0]
    assert set(by_setting) == {"batch_32", "batch_128"}
    pids = [w["pid"] for workers in by_setting.values() for w in workers.values()]
    assert len(set(pids)) == 8 and os.getpid() not in pids  # one process per implementation and setting
    for workers in by_setting.values():
        assert set(workers) == {"numpy", "numpy_minimal", "sklearn", "floor"}
        for w in workers.values():
            assert w["affinity"] == [first_core] and w["threads"] == 1
            assert w["command"][:3] == ["taskset", "-c", str(first_core)]


def test_engine_profile_accounts_for_the_whole_epoch_per_batch_size(quick_mlp):
    _, data = quick_mlp
    assert set(data["profile"]) == {f"batch_{b}" for b in data["meta"]["batch_sizes"]}
    for prof in data["profile"].values():
        groups = prof["groups_cpu_seconds_per_epoch"]
        assert groups["dense layers (GEMMs, bias)"] > 0 and groups["optimizer step"] > 0
        assert groups["softmax+loss head"] > 0 and groups["activations"] > 0
        epoch = prof["epoch_cpu_seconds_mean"]
        assert abs(sum(groups.values()) - epoch) <= 1e-6 + 1e-3 * epoch


def test_repeats_alternate_abba(quick_mlp):
    _, data = quick_mlp
    order = data["meta"]["order"]
    for key in ("batch_32", "batch_128"):
        reps = [[label for k, r, label in order if k == key and r == rep] for rep in (0, 1)]
        assert reps[0] == ["numpy", "numpy_minimal", "sklearn", "floor"] and reps[1] == list(reversed(reps[0]))


def test_host_metadata(quick_mlp):
    _, data = quick_mlp
    host = data["meta"]["host"]
    assert {"vendor", "family", "model", "model_name", "mhz", "flags"} <= set(host["cpu"])
    assert host["cpu"] == cpuinfo() | {"mhz": host["cpu"]["mhz"]}
    assert set(host["cpu"]["flags"]) == {"avx2", "avx512f", "fma"}
    blas = [b for b in host["blas"] if b["user_api"] == "blas"]
    assert blas and {"internal_api", "architecture", "version", "num_threads"} <= set(blas[0])
    assert {"numpy", "tensorflow", "keras", "scikit-learn", "pybrain3"} <= set(host["versions"])
    assert host["versions"]["numpy"]
    assert "TF_ENABLE_ONEDNN_OPTS" in host["onednn"] and len(host["load_average"]) == 3
    assert len(host["git_commit"] or "x" * 40) == 40 and host["date_utc"].endswith("Z")
    assert host["theoretical_peak"]["fma_units_assumed"] == 2


def test_bench_dispatch_and_option_errors(capsys):
    assert bench_main(["nope"]) == 2
    assert "unknown benchmark 'nope'; valid: mlp, cnn, scaling, readme" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_main(["mlp", "--only", "torch"])
    assert "unknown implementation(s) ['torch']" in capsys.readouterr().err


def test_bench_mlp_without_features_tells_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHBENCH_ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match=r"dvc repro featurize@mnist"):
        bench_main(["mlp", "--only", "numpy"])
    assert not (tmp_path / "reports").exists()  # nothing half-written


def test_quick_mlp_times_another_revisions_engine_alternately(tmp_path):
    import json
    import subprocess

    from scratchbench.paths import project_root

    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(), capture_output=True,
                         text=True, check=True).stdout.strip()
    assert bench_main(["mlp", "--quick", "--only", "numpy", "--engine-commit", "HEAD", "--batch-sizes", "32",
                       "--out-dir", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "mlp_threads1.json").read_text())
    label = f"numpy@{rev}"
    assert data["meta"]["engine_commit"]["label"] == label and data["meta"]["engine_commit"]["given"] == "HEAD"
    assert data["batch_32"]["numpy"] > 0 and data["batch_32"][label] > 0
    assert data["ratios"]["batch_32"]["numpy_over_engine_commit"] == pytest.approx(
        data["batch_32"]["numpy"] / data["batch_32"][label])
    commands = {name: w["command"] for name, w in data["meta"]["workers"]["batch_32"].items()}
    assert set(commands) == {"numpy", label} and commands["numpy"] != commands[label]
