"""The convolution step's fast paths (benchmarks/README.md, issue 16) against the plain NumPy
they replace: the same numbers bit for bit (NaN and -0.0 included, in the same memory
layout), or, for products cut into pieces, the same up to rounding."""
import os

import numpy as np
import pytest

import nn.functional as F
from autograd import Tensor
from autograd.ops import linalg
from autograd.ops.conv import MaxPool, _max_windows, _pad
from autograd.ops.elementwise import _RELU_BLOCK, Relu
from autograd.ops.linalg import _product

RNG = np.random.default_rng(16)


def _special(a):
    """a with NaN, +-0.0 and +-inf written at a few places of its memory."""
    flat = np.ravel(a, order="K")
    if np.may_share_memory(flat, a):
        flat[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, -np.nan]
    return a


def _bytes(a):
    return np.ravel(a, order="K").view(np.uint8)


def _same(a, b):
    """Equal bit for bit (NaN payloads and the sign of zero too), in the same layout."""
    assert a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
    np.testing.assert_array_equal(_bytes(a), _bytes(b))


@pytest.mark.parametrize("shape,axes", [
    ((8, 28, 28, 64), (3, 0, 1, 2)),       # a convolution's output: (N, C, H, W) of (C, H, W, N)
    ((3, _RELU_BLOCK + 5), (0, 1)),        # C order, with a tail shorter than a block
    ((2, _RELU_BLOCK), (1, 0)),            # no tail
    ((5, 7), (0, 1)),                      # smaller than a block: the plain call
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_relu_forward_in_blocks_matches_maximum(shape, axes, dtype):
    x = (RNG.standard_normal(shape) * 10).astype(dtype)
    x = _special(x) if dtype != np.int32 else x
    x = x.transpose(axes)
    out = Relu().forward(x)
    expected = np.maximum(x, 0)
    _same(out, expected)


def test_relu_forward_of_a_strided_view_takes_the_plain_call():
    x = _special(RNG.standard_normal((4, 3 * _RELU_BLOCK)).astype(np.float32))[:, ::3]
    out = Relu().forward(x)
    assert np.array_equal(out, np.maximum(x, 0), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_matches_the_bool_mask(dtype):
    x = _special(RNG.standard_normal((8, 14, 14, 16)).astype(dtype)).transpose(3, 0, 1, 2)
    grad = RNG.standard_normal(x.shape).astype(dtype)
    t = Tensor(x, requires_grad=True)
    t.relu().backward(Tensor(grad))
    expected = grad * (np.maximum(x, 0) > 0)
    assert t.grad.dtype == dtype
    np.testing.assert_array_equal(t.grad.data, expected)


@pytest.mark.parametrize("nans", [0, 1, 40])
def test_max_pool_checks_for_nan_only_when_the_output_shows_one(nans):
    # MaxPool runs its window pass without NaN checks and repeats it with them when the
    # output holds a NaN; both must give what the checked pass gives on its own.
    geometry = dict(kernel_size=(3, 2), stride=(2, 2), padding=((1, 1), (0, 1)), dilation=(1, 1))
    x = RNG.standard_normal((4, 3, 9, 8)).astype(np.float32)
    x.flat[RNG.choice(x.size, nans, replace=False)] = np.nan
    pool = MaxPool()
    out = pool.forward(x, **geometry)
    xp = _pad(x, geometry["padding"], -np.inf)
    best, index = _max_windows(xp, out.shape[2:], geometry["kernel_size"], geometry["stride"],
                               geometry["dilation"], nan=True)
    np.testing.assert_array_equal(out, best)
    np.testing.assert_array_equal(pool.index, index)
    assert np.isnan(out).any() == bool(nans)


# ---- skinny products in pieces (autograd/ops/linalg.py) -----------------------------------

@pytest.mark.parametrize("m,k,n", [
    (8, 50176, 9),     # conv1's dW: the contraction is long, cut into partial sums
    (16, 12544, 72),   # conv2's dW, with a remainder piece
    (16, 72, 12544),   # conv2's forward: column blocks
    (12544, 16, 72),   # row blocks
    (9, 40000, 8),     # a contraction that does not divide into pieces
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("blas_threads", [1, 2])
def test_skinny_products_in_pieces_match_matmul(monkeypatch, m, k, n, dtype, blas_threads):
    monkeypatch.setattr(linalg, "_blas_threads", lambda: blas_threads)
    a = RNG.standard_normal((m, k)).astype(dtype)
    b = RNG.standard_normal((n, k)).astype(dtype).T  # a transposed operand, as in the rules
    out = _product(a, b)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert out.dtype == dtype and out.shape == (m, n)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(k))


@pytest.mark.parametrize("shape_a,shape_b", [((64, 64), (64, 4096)),   # fat: one call
                                             ((30, 40), (40, 50)),     # small: one call
                                             ((8, 50176), (50176, 9))])
def test_products_not_cut_are_matmul_exactly(monkeypatch, shape_a, shape_b):
    monkeypatch.setattr(linalg, "_blas_threads", lambda: 1)
    a = RNG.standard_normal(shape_a).astype(np.float32)
    b = RNG.standard_normal(shape_b).astype(np.float64)  # mixed dtypes: never cut
    if shape_a == (8, 50176):
        np.testing.assert_array_equal(_product(a, b), np.matmul(a, b))
        b = b.astype(np.float32)
        assert not np.array_equal(_product(a, b), np.matmul(a, b))  # this one is cut
    else:
        b = b.astype(np.float32)
        np.testing.assert_array_equal(_product(a, b), np.matmul(a, b))


def test_with_several_blas_threads_only_the_contraction_is_cut(monkeypatch):
    # A long side of the result is left whole for OpenBLAS to split over its threads.
    monkeypatch.setattr(linalg, "_blas_threads", lambda: 2)
    for shape_a, shape_b in (((16, 72), (72, 12544)), ((12544, 16), (16, 72))):
        a, b = (RNG.standard_normal(s).astype(np.float32) for s in (shape_a, shape_b))
        np.testing.assert_array_equal(_product(a, b), np.matmul(a, b))
    a, b = RNG.standard_normal((8, 50176)).astype(np.float32), RNG.standard_normal((50176, 9))
    b = b.astype(np.float32)
    assert not np.array_equal(_product(a, b), np.matmul(a, b))  # cut: summed in pieces


def test_blas_threads_without_threadpoolctl_follow_the_environment(monkeypatch):
    monkeypatch.setattr(linalg, "_blas", ())
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert linalg._blas_threads() == 3
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert linalg._blas_threads() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert linalg._blas_threads() == (os.cpu_count() or 1)


def test_conv_gradients_with_pieces_match_pytorch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((64, 8, 14, 14)).astype(np.float32)
    w = RNG.standard_normal((16, 8, 3, 3)).astype(np.float32)
    g = RNG.standard_normal((64, 16, 14, 14)).astype(np.float32)
    xo, wo = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    F.conv2d(xo, wo, padding=1).backward(Tensor(g))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(xt, wt, padding=1).backward(torch.tensor(g))
    np.testing.assert_allclose(wo.grad.data, wt.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-4)
