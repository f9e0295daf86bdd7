"""The fast Conv2D against the textbook convolution of ``conv_reference`` (float64, 1e-10)."""

from __future__ import annotations

import numpy as np
import pytest

from scratchbench.scratch.conv import Conv2D, set_workers
from scratchbench.scratch.conv_reference import conv2d_backward, conv2d_forward, conv_geometry


def _close(fast: np.ndarray, ref: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-10 * scale, err_msg=what)


def _random_case(rng: np.random.Generator) -> dict:
    stride = int(rng.integers(1, 4))
    kernel = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    return {"n": int(rng.integers(1, 5)), "h": int(rng.integers(kernel[0], 11)), "w": int(rng.integers(kernel[1], 11)),
            "cin": int(rng.choice([1, 3, 8, 11])), "f": int(rng.integers(1, 7)), "kernel": kernel,
            "stride": (stride, int(rng.integers(1, 4))) if rng.random() < 0.3 else (stride, stride),
            "padding": str(rng.choice(["valid", "same"])), "activation": str(rng.choice(["linear", "relu"])),
            "use_bias": bool(rng.random() < 0.8), "chunk_rows": int(rng.choice([1, 40, 1024]))}


def _check_against_reference(case: dict, rng: np.random.Generator) -> str:
    conv = Conv2D(case["f"], case["kernel"], strides=case["stride"], padding=case["padding"], use_bias=case["use_bias"],
                  activation=case["activation"])
    conv.build((case["h"], case["w"], case["cin"]), rng, np.float64)
    conv.chunk_rows = case["chunk_rows"]  # 1: a chunk per image or row; 40: a few images per chunk
    b = rng.standard_normal(case["f"]) if case["use_bias"] else None
    if b is not None:
        conv.params["b"][...] = b
    x = rng.standard_normal((case["n"], case["h"], case["w"], case["cin"]))
    dy = rng.standard_normal((case["n"], *conv.out_shape))
    z = conv2d_forward(x, conv.params["W"], b, case["stride"], case["padding"])
    relu = case["activation"] == "relu"
    _close(conv.forward(x, training=True), np.maximum(z, 0) if relu else z, f"forward {case}")
    dz = dy * (z > 0) if relu else dy
    dx, dW, db = conv2d_backward(x, conv.params["W"], dz, case["stride"], case["padding"])
    _close(conv.backward(dy), dx, f"dx {case}")
    _close(conv.grads["W"], dW, f"dW {case}")
    if b is not None:
        _close(conv.grads["b"], db, f"db {case}")
    return conv.algorithm


def test_fast_conv_matches_the_reference_on_random_shapes_strides_and_paddings():
    rng = np.random.default_rng(2024)
    algorithms = [_check_against_reference(_random_case(rng), rng) for _ in range(150)]
    assert {"shift", "im2col"} <= set(algorithms)  # both fast algorithms were checked


@pytest.mark.parametrize("cin", [1, 8])
def test_fast_conv_matches_the_reference_with_two_workers(cin):
    rng = np.random.default_rng(cin)
    case = {"n": 7, "h": 9, "w": 8, "cin": cin, "f": 5, "kernel": (3, 3), "stride": (1, 1), "padding": "same",
            "activation": "relu", "use_bias": True, "chunk_rows": 40}
    try:
        set_workers(2)
        assert _check_against_reference(case, rng) == ("shift" if cin == 8 else "im2col")
    finally:
        set_workers(1)


def test_reference_is_the_textbook_sum():
    """One output element by the definition, with a stride-2 ``same`` (asymmetric) padding."""
    rng = np.random.default_rng(1)
    x, W, b = rng.standard_normal((2, 6, 5, 3)), rng.standard_normal((3, 2, 3, 4)), rng.standard_normal(4)
    y = conv2d_forward(x, W, b, (2, 2), "same")
    (ho, wo), ((pt, _), (pl, _)) = conv_geometry((6, 5), (3, 2), (2, 2), "same")
    assert y.shape == (2, ho, wo, 4) == (2, 3, 3, 4) and (pt, pl) == (0, 0)
    xp = np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))  # TF puts the extra padding after
    r, s = 2, 1
    expect = sum(xp[1, r * 2 + i, s * 2 + j] @ W[i, j] for i in range(3) for j in range(2)) + b
    np.testing.assert_allclose(y[1, r, s], expect, rtol=1e-12)


def test_reference_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    x, W = rng.standard_normal((2, 5, 4, 2)), rng.standard_normal((2, 3, 2, 3))
    dy = rng.standard_normal(conv2d_forward(x, W, None, (2, 1), "same").shape)
    dx, dW, db = conv2d_backward(x, W, dy, (2, 1), "same")

    def loss() -> float:
        return float(np.sum(dy * conv2d_forward(x, W, None, (2, 1), "same")))

    for arr, grad in ((x, dx), (W, dW)):
        for idx in [(0,) * arr.ndim, tuple(d - 1 for d in arr.shape), tuple(d // 2 for d in arr.shape)]:
            old = arr[idx]
            arr[idx] = old + 1e-6
            up = loss()
            arr[idx] = old - 1e-6
            down = loss()
            arr[idx] = old
            assert grad[idx] == pytest.approx((up - down) / 2e-6, rel=1e-6, abs=1e-8)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 1, 2)))


@pytest.mark.parametrize("hw,kernel,strides,padding,expect", [
    ((28, 28), (3, 3), (1, 1), "valid", ((26, 26), ((0, 0), (0, 0)))),
    ((28, 28), (3, 3), (2, 2), "same", ((14, 14), ((0, 1), (0, 1)))),
    ((7, 6), (3, 4), (2, 2), "same", ((4, 3), ((1, 1), (1, 1)))),
])
def test_conv_geometry(hw, kernel, strides, padding, expect):
    assert conv_geometry(hw, kernel, strides, padding) == expect


@pytest.mark.parametrize("hw,padding,match", [((2, 5), "valid", "does not fit"), ((5, 5), "full", "padding")])
def test_conv_geometry_rejects(hw, padding, match):
    with pytest.raises(ValueError, match=match):
        conv_geometry(hw, (3, 3), (1, 1), padding)


@pytest.mark.parametrize("cin,padding,use_bias",
                         [(64, "valid", True), (8, "same", True), (1, "valid", False), (3, "same", False)])
def test_fast_conv_does_only_the_arithmetic_the_model_needs(monkeypatch, cin, padding, use_bias):
    """The FLOPs of the GEMMs the layer runs add up to 2*N*Ho*Wo*kh*kw*C*F per pass (forward, dW, dX;
    im2col's forward here without the bias column): no rows past the output, no chunk overlap, no
    gradient over the padded grid."""
    from scratchbench.scratch import conv

    flops = {"fwd": 0, "dW": 0, "dX": 0}

    def counting(fn, key, a_transposed=False):  # a @ b, or a.T @ b for _tdot
        def run(a, b, out=None):
            m, k = a.shape[::-1] if a_transposed else a.shape
            flops[key] += 2 * m * k * b.shape[1]
            return fn(a, b, out=out)
        return run

    for name, key in (("_gemm", "fwd"), ("_gemm_dW", "dW"), ("_tdot", "dW"), ("_gemm_dX", "dX")):
        monkeypatch.setattr(conv, name, counting(getattr(conv, name), key, a_transposed=name == "_tdot"))
    rng = np.random.default_rng(0)
    layer = Conv2D(32, 3, padding=padding, use_bias=use_bias, activation="relu")
    layer.build((14, 13, cin), rng, np.float32)
    layer.chunk_rows = 300  # several chunks
    x = rng.standard_normal((5, 14, 13, cin)).astype(np.float32)
    y = layer.forward(x, training=True)
    layer.backward(np.ones_like(y))
    ho, wo, f = layer.out_shape
    need = 2 * 5 * ho * wo * 9 * cin * f
    assert flops["fwd"] == flops["dW"] == need
    if padding == "same" and layer.algorithm == "shift":  # products that land on padding rows are skipped too
        assert 0.8 * need < flops["dX"] < need
    else:
        assert flops["dX"] == need
