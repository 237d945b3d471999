"""The convolution step's fast paths (benchmarks/README.md, issue 16) against the plain NumPy
they replace: the same numbers bit for bit, NaN and -0.0 included, in the same memory layout."""
import numpy as np
import pytest

from autograd import Tensor
from autograd.ops.conv import MaxPool, _max_windows, _pad
from autograd.ops.elementwise import _RELU_BLOCK, Relu

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
