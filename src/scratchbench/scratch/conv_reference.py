"""The textbook 2-D convolution, forward and backward side by side: the definition the fast
``Conv2D`` is tested against, and the one home of the output-size and padding rules.

Images are NHWC ``x`` (N, H, W, C), the kernel ``W`` is (kh, kw, C, F) (Keras' HWIO) and the
bias ``b`` is (F,). After zero-padding ``x`` to ``xp`` (Keras/TF ``same``: ``total // 2`` before,
the rest after), the output is the cross-correlation

    y[n, r, s, f] = b[f] + sum_{i, j, c} xp[n, r*sh + i, s*sw + j, c] * W[i, j, c, f].

For each kernel offset (i, j), ``xp`` sampled at rows ``r*sh + i`` and columns ``s*sw + j`` is
an (N, Ho, Wo, C) array ``patch``: the term of that offset is ``patch @ W[i, j]``, and the
chain rule gives its two gradients, ``dW[i, j] = sum over (n, r, s) of patch^T dy`` and
``dpatch = dy @ W[i, j]^T`` (added back where the patch was read). Loops run over the kh*kw
offsets only; the arithmetic is exactly ``2 * N*Ho*Wo * kh*kw*C*F`` FLOPs per pass.
"""

from __future__ import annotations

import numpy as np

PADDINGS = ("valid", "same")


def same_padding(size: int, k: int, s: int) -> tuple[int, int]:
    """Keras/TF ``same`` padding (before, after) along one axis: the extra one goes after."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, k: int, s: int, padding: str) -> int:
    """Output length along one axis (``valid`` also gives pooling's output size)."""
    if padding == "same":
        return -(-size // s)
    return (size - k) // s + 1


def conv_geometry(hw: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int],
                  padding: str) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """``((Ho, Wo), ((top, bottom), (left, right)))``.

    ValueError if the padding is unknown or the kernel does not fit."""
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    out = tuple(conv_output_size(d, k, s, padding) for d, k, s in zip(hw, kernel, strides, strict=True))
    if min(out) < 1:
        raise ValueError(f"kernel {tuple(kernel)} does not fit input {hw[0]}x{hw[1]} with padding {padding!r}")
    pads = tuple(same_padding(d, k, s) if padding == "same" else (0, 0)
                 for d, k, s in zip(hw, kernel, strides, strict=True))
    return out, pads  # type: ignore[return-value]


def _padded_and_offsets(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], padding: str):
    """The zero-padded input, the output size and each offset's index into it (i, j, rows, cols)."""
    (ho, wo), ((pt, pb), (pl, pr)) = conv_geometry(x.shape[1:3], kernel, strides, padding)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    (kh, kw), (sh, sw) = kernel, strides
    offsets = [(i, j, slice(i, i + (ho - 1) * sh + 1, sh), slice(j, j + (wo - 1) * sw + 1, sw))
               for i in range(kh) for j in range(kw)]
    return xp, (ho, wo), (pt, pl), offsets


def conv2d_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None = None,
                   strides: tuple[int, int] = (1, 1), padding: str = "valid") -> np.ndarray:
    """``y`` (N, Ho, Wo, F) = conv(x, W) + b."""
    xp, (ho, wo), _, offsets = _padded_and_offsets(x, W.shape[:2], strides, padding)
    y = np.zeros((x.shape[0], ho, wo, W.shape[3]), dtype=np.result_type(x, W))
    for i, j, rows, cols in offsets:
        y += xp[:, rows, cols, :] @ W[i, j]  # (N, Ho, Wo, C) @ (C, F)
    return y if b is None else y + b


def conv2d_backward(x: np.ndarray, W: np.ndarray, dy: np.ndarray, strides: tuple[int, int] = (1, 1),
                    padding: str = "valid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dx, dW, db)`` for the upstream gradient ``dy`` = dLoss/dy, shape (N, Ho, Wo, F)."""
    xp, _, (pt, pl), offsets = _padded_and_offsets(x, W.shape[:2], strides, padding)
    dxp, dW = np.zeros_like(xp, dtype=dy.dtype), np.zeros_like(W, dtype=dy.dtype)
    for i, j, rows, cols in offsets:
        patch = xp[:, rows, cols, :]
        dW[i, j] = np.tensordot(patch, dy, axes=([0, 1, 2], [0, 1, 2]))  # sum over n, r, s of patch^T dy
        dxp[:, rows, cols, :] += dy @ W[i, j].T
    db = dy.sum(axis=(0, 1, 2))
    h, w = x.shape[1:3]
    return dxp[:, pt : pt + h, pl : pl + w, :], dW, db
