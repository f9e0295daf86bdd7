"""The minimal NumPy loop trains the same model as the engine (so it is a fair lower bound for it)."""

import numpy as np
import pytest

from scratchbench.bench.minimal_mlp import MinimalMLP, check_layers
from scratchbench.scratch.network import Network

CFG = {"layers": [{"type": "dense", "units": 7, "activation": "sigmoid"},
                  {"type": "dense", "units": 5, "activation": "sigmoid"},
                  {"type": "dense", "units": 3, "activation": "softmax"}],
       "loss": "categorical_crossentropy", "init": {"name": "glorot_uniform"}}


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_minimal_loop_matches_engine_weights(dtype, tol):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(53, 6)).astype(dtype)  # 53 = 6 batches of 8 and a partial one of 5
    y = rng.integers(0, 3, 53)
    net = Network.from_config({**CFG, "dtype": dtype}, (6,), 3, seed=11)
    minimal = MinimalMLP(net.get_weights(), learning_rate=0.5, seed=11)
    before = net.get_weights()
    net.fit(x, y, epochs=3, batch_size=8, optimizer={"name": "sgd", "learning_rate": 0.5})
    onehot = np.eye(3, dtype=dtype)[y]
    for _ in range(3):
        minimal.epoch(x, onehot, 8)
    ours = [a for pair in zip(minimal.W, minimal.b, strict=True) for a in pair]
    for got, want, start in zip(ours, net.get_weights(), before, strict=True):
        assert got.dtype == np.dtype(dtype)
        assert not np.allclose(want, start)  # training moved every array
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_check_layers_names_what_it_cannot_take():
    from scratchbench.scratch.architecture import normalize_layers

    check_layers(normalize_layers(CFG, (6,), 3), "categorical_crossentropy")
    relu = {**CFG, "layers": [{"type": "dense", "units": 4, "activation": "relu"}, CFG["layers"][-1]]}
    with pytest.raises(ValueError, match="minimal_mlp.*relu"):
        check_layers(normalize_layers(relu, (6,), 3), "categorical_crossentropy")
    with pytest.raises(ValueError, match="mse"):
        check_layers(normalize_layers(CFG, (6,), 3), "mse")


def test_timing_row_modes_read_other_rows_and_bad_modes_are_named():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    onehot = np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    net = Network.from_config({**CFG, "dtype": "float32"}, (6,), 3, seed=1)
    results = []
    for rows in ("shuffled", "stored", "first"):
        loop = MinimalMLP(net.get_weights(), learning_rate=0.5, seed=1)
        loop.epoch(x, onehot, 4, rows=rows)
        results.append(loop.W[0].copy())
    assert not np.allclose(results[0], results[1]) and not np.allclose(results[1], results[2])
    with pytest.raises(ValueError, match="rows: unknown 'sorted'"):
        MinimalMLP(net.get_weights(), 0.5, 1).epoch(x, onehot, 4, rows="sorted")
