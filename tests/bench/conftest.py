"""One quick run of ``bench mlp`` shared by the bench tests (it starts worker processes: a few seconds)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def quick_mlp(tmp_path_factory):
    """``mlp --quick`` (engine, minimal NumPy loop, scikit-learn, floor; no TensorFlow) -> (folder, parsed JSON)."""
    from scratchbench.bench.__main__ import main as bench_main

    out = tmp_path_factory.mktemp("bench_mlp")
    assert bench_main(["mlp", "--quick", "--only", "numpy,numpy_minimal,sklearn,floor", "--out-dir", str(out)]) == 0
    return out, json.loads((out / "mlp_threads1.json").read_text())
