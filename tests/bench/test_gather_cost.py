"""benchmarks/gather_cost.py: the GEMM-only lower bound does exactly the floor's products."""

import importlib.util
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchbench.bench.floor import epoch_flops
from scratchbench.scratch.architecture import normalize_layers

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gather_cost.py"


def _script():
    spec = importlib.util.spec_from_file_location("gather_cost", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("update", [False, True])
@pytest.mark.parametrize("rows", ["shuffled", "stored", "first"])
@pytest.mark.parametrize("batch", [7, 16])
def test_gemms_only_executes_the_floors_flops(rows, batch, update):
    model = {"layers": [{"type": "dense", "units": 5, "activation": "sigmoid"},
                        {"type": "dense", "units": 4, "activation": "sigmoid"},
                        {"type": "dense", "units": 3, "activation": "softmax"}]}
    layers = normalize_layers(model, (6,), 3)
    rng = np.random.default_rng(0)
    sizes = [6, 5, 4, 3]
    weights = []
    for k, n in zip(sizes[:-1], sizes[1:], strict=True):
        weights += [rng.random((k, n), dtype=np.float32), np.zeros(n, np.float32)]
    x = rng.random((50, 6), dtype=np.float32)  # 50 rows: the last batch is short
    before = [w.copy() for w in weights]
    flops = _script().gemms_only(x, weights, batch, rows, rng, update=update)
    assert flops == epoch_flops(layers, len(x))
    assert all(np.array_equal(a, b) for a, b in zip(before, weights, strict=True))  # the bound trains nothing


def test_the_script_alternates_every_case_with_the_floor(tmp_path):
    out = tmp_path / "gc.json"
    res = subprocess.run([sys.executable, str(SCRIPT), "--batch-sizes", "1024", "--repeats", "2", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads(out.read_text())["batch_1024"]
    cases = {"with_gather", "stored_order_slices", "first_batch_in_cache", "gather_alone",
             "gemms_with_gather", "gemms_update_with_gather", "gemms_stored_order", "gemms_first_batch", "floor"}
    assert set(r["samples"]) == cases and all(len(v) == 2 and min(v) > 0 for v in r["samples"].values())
    assert r["floor_seconds"] == statistics.median(r["samples"]["floor"]) and r["floor_seconds_from_rate"] > 0
    assert set(r["over_floor"]) == cases - {"gather_alone", "floor"}
    meta = json.loads(out.read_text())["meta"]
    assert len(meta["load_average_after"]) == 3 and isinstance(meta["load_flagged"], bool)
