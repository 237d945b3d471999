"""Max pooling's return_indices, max unpooling and Embedding's max_norm: PyTorch parity
(float64: values, indices, gradients, the in-place renormalisation), finite-difference
gradchecks of the new differentiable paths, and their errors."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor
from autograd.gradcheck import gradcheck

from helpers import assert_parity, torch_or_skip

RNG = np.random.default_rng(11)


def _distinct(*shape):
    """Distinct values: the maximum of every window, and so its gradient, is unambiguous."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0


# ---- max pooling: return_indices ----------------------------------------------------------------

POOLS = [
    (2, (2, 3, 6, 9), dict(kernel_size=2)),
    (2, (2, 3, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    (2, (2, 3, 6, 9), dict(kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2), ceil_mode=True)),
    (2, (2, 3, 6, 9), dict(kernel_size=3, stride=2, ceil_mode=True, padding=1)),
    (2, (3, 7, 8), dict(kernel_size=3, stride=(2, 3), padding=1)),              # unbatched
    (1, (2, 3, 11), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (1, (2, 3, 11), dict(kernel_size=2, dilation=3)),
    (1, (3, 10), dict(kernel_size=4, stride=1, padding=2)),                      # unbatched
]


@pytest.mark.parametrize("nd,shape,kwargs", POOLS)
def test_max_pool_return_indices_matches_pytorch(nd, shape, kwargs):
    torch = torch_or_skip()
    ours = getattr(F, f"max_pool{nd}d")
    theirs = getattr(torch.nn.functional, f"max_pool{nd}d")
    assert_parity(lambda x: ours(x, return_indices=True, **kwargs),
                  lambda x: theirs(x, return_indices=True, **kwargs), _distinct(*shape))
    name = f"MaxPool{nd}d"
    assert_parity(getattr(nn, name)(return_indices=True, **kwargs),
                  getattr(torch.nn, name)(return_indices=True, **kwargs), _distinct(*shape))


def test_max_pool_indices_follow_pytorch_on_ties_nan_and_all_minus_inf_windows():
    torch = torch_or_skip()
    x = np.array([[[[1.0, 1.0, 2.0, 2.0, -np.inf],
                    [1.0, 0.0, np.nan, 2.0, -np.inf],
                    [-np.inf, -np.inf, 5.0, 5.0, -np.inf],
                    [-np.inf, -np.inf, 5.0, np.nan, np.nan]]]])
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                   dict(kernel_size=2, stride=1, padding=1, ceil_mode=True),
                   dict(kernel_size=2, dilation=2, padding=1)):
        xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, io = F.max_pool2d(xo, return_indices=True, **kwargs)
        yt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **kwargs)
        np.testing.assert_array_equal(io.data, it.numpy(), err_msg=str(kwargs))
        np.testing.assert_array_equal(yo.data, yt.detach().numpy())
        # A window of -inf alone points at its first real element, a window of several NaNs
        # at its last NaN (PyTorch's `val > max || isnan(val)`); the gradient goes there.
        # (Overlapping windows add in another order than PyTorch: equal up to rounding.)
        g = RNG.standard_normal(yo.shape)
        yo.backward(Tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-12, atol=0,
                                   err_msg=str(kwargs))


def test_max_pool_gradient_goes_to_the_last_nan_of_a_window_as_pytorch():
    torch = torch_or_skip()
    x = np.array([[[[np.nan, 1.0, 2.0, np.nan], [3.0, np.nan, np.nan, 0.0],
                    [np.nan, 1.0, 7.0, 2.0], [4.0, 5.0, 6.0, np.nan]]]])
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        g = RNG.standard_normal(F.max_pool2d(xo, **kwargs).shape)
        F.max_pool2d(xo, **kwargs).backward(Tensor(g))
        torch.nn.functional.max_pool2d(xt, **kwargs).backward(torch.tensor(g))
        np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-12, atol=0,
                                   err_msg=str(kwargs))


def test_max_pool_indices_on_channel_major_memory():
    # A convolution hands the pool an (N, C, H, W) view of (C, N, H, W) memory.
    torch = torch_or_skip()
    x = _distinct(4, 3, 7, 9).transpose(1, 0, 2, 3)
    yo, io = F.max_pool2d(Tensor(x), 3, stride=2, padding=1, return_indices=True)
    yt, it = torch.nn.functional.max_pool2d(torch.tensor(x.copy()), 3, stride=2, padding=1,
                                            return_indices=True)
    np.testing.assert_array_equal(io.data, it.numpy())
    np.testing.assert_array_equal(yo.data, yt.numpy())


def test_max_pool_with_indices_has_the_plain_pools_values_and_gradient():
    x = _distinct(2, 3, 7, 8)
    xa, xb = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    plain = F.max_pool2d(xa, 3, stride=2, padding=1)
    out, indices = nn.MaxPool2d(3, stride=2, padding=1, return_indices=True)(xb)
    assert indices.dtype == np.int64 and indices.shape == out.shape and not indices.requires_grad
    np.testing.assert_array_equal(out.data, plain.data)
    g = RNG.standard_normal(out.shape)
    plain.backward(Tensor(g))
    out.backward(Tensor(g))
    np.testing.assert_array_equal(xb.grad.data, xa.grad.data)
    # The indices point at the maxima: gathering x at them gives the output.
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat, indices.data.reshape(2, 3, -1), axis=2).reshape(out.shape),
        out.data)


def test_max_pool_with_indices_gradcheck():
    assert gradcheck(lambda x: F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)[0],
                     [_distinct(2, 2, 5, 6)])
    assert gradcheck(lambda x: F.max_pool1d(x, 2, dilation=2, return_indices=True)[0],
                     [_distinct(2, 3, 7)])


def test_max_pool_with_indices_without_grad():
    with ag.no_grad():
        out, indices = F.max_pool2d(Tensor(_distinct(1, 2, 4, 4), requires_grad=True), 2,
                                    return_indices=True)
    assert not out.requires_grad and indices.shape == (1, 2, 2, 2)


# ---- max unpooling ----------------------------------------------------------------------------

UNPOOLS = [
    (2, (2, 3, 6, 8), dict(kernel_size=2), None),
    (2, (2, 3, 7, 9), dict(kernel_size=2), (7, 9)),           # output_size restores odd sizes
    (2, (2, 3, 7, 9), dict(kernel_size=2), (2, 3, 7, 9)),     # ... given with N and C
    (2, (2, 2, 9, 9), dict(kernel_size=3, stride=3, padding=1), (9, 9)),
    (2, (2, 3, 8, 9), dict(kernel_size=(2, 3), stride=(2, 3)), None),
    (2, (3, 6, 8), dict(kernel_size=2), None),                # unbatched
    (1, (2, 3, 12), dict(kernel_size=3), None),
    (1, (2, 3, 13), dict(kernel_size=2, stride=2), [13]),
    (1, (3, 10), dict(kernel_size=2), None),                  # unbatched
]


@pytest.mark.parametrize("nd,shape,kwargs,output_size", UNPOOLS)
def test_max_unpool_matches_pytorch(nd, shape, kwargs, output_size):
    torch = torch_or_skip()
    _, indices = getattr(torch.nn.functional, f"max_pool{nd}d")(
        torch.tensor(_distinct(*shape)), return_indices=True, **kwargs)
    indices = indices.numpy()
    x = RNG.standard_normal(indices.shape)
    ours = getattr(F, f"max_unpool{nd}d")
    theirs = getattr(torch.nn.functional, f"max_unpool{nd}d")
    assert_parity(lambda v, i: ours(v, i, output_size=output_size, **kwargs),
                  lambda v, i: theirs(v, i, output_size=output_size, **kwargs), x, indices)
    name = f"MaxUnpool{nd}d"
    mine, ref = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(mine) == repr(ref)
    assert_parity(lambda v, i: mine(v, i, output_size),
                  lambda v, i: ref(v, i, output_size), x, indices)


def test_pool_then_unpool_round_trip_matches_pytorch():
    torch = torch_or_skip()

    def ours(x):
        out, indices = nn.MaxPool2d(2, return_indices=True)(x)
        return nn.MaxUnpool2d(2)(out * 2.0, indices, output_size=x.shape)

    def theirs(x):
        out, indices = torch.nn.MaxPool2d(2, return_indices=True)(x)
        return torch.nn.MaxUnpool2d(2)(out * 2.0, indices, output_size=x.shape)

    assert_parity(ours, theirs, _distinct(2, 3, 7, 9))


def test_max_unpool_repeated_indices_keep_the_last_value_as_pytorch():
    # Overlapping windows that share their maximum give repeated indices. PyTorch (CPU)
    # writes each plane in order, so the last value stays; so do we.
    torch = torch_or_skip()
    indices = np.array([[[0, 3, 3, 1, 0]], [[4, 4, 4, 2, 2]]])
    x = RNG.standard_normal(indices.shape)
    ours = F.max_unpool1d(Tensor(x), indices, 3, stride=1)
    theirs = torch.nn.functional.max_unpool1d(torch.tensor(x), torch.tensor(indices), 3,
                                              stride=1)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    # The gradient is the derivative of that output: only the kept value gets it. (PyTorch
    # sends the output's gradient at an index to every repeat of it.)
    assert gradcheck(lambda v: F.max_unpool1d(v, indices, 3, stride=1), [x])
    xo = Tensor(x, requires_grad=True)
    F.max_unpool1d(xo, indices, 3, stride=1).sum().backward()
    np.testing.assert_array_equal(xo.grad.data, [[[0, 0, 1, 1, 1]], [[0, 0, 1, 0, 1]]])


def test_max_unpool_gradcheck_and_second_order():
    indices = np.array([[[[0, 3], [9, 14]], [[5, 2], [8, 15]]]])
    x = RNG.standard_normal(indices.shape)
    assert gradcheck(lambda v: F.max_unpool2d(v, indices, 2), [x])
    assert gradcheck(lambda v: F.max_unpool2d(v, indices, 2, output_size=(5, 4)) ** 2, [x])
    # Through the pool and back: the gradient reaches exactly the maxima.
    assert gradcheck(lambda v: F.max_unpool2d(*F.max_pool2d(v, 2, return_indices=True), 2),
                     [_distinct(1, 2, 4, 6)])
    xo = Tensor(x, requires_grad=True)
    y = F.max_unpool2d(xo, indices, 2)
    (g,) = ag.grad((y ** 3).sum(), [xo], create_graph=True)
    (gg,) = ag.grad(g.sum(), [xo])
    np.testing.assert_allclose(gg.data, 6 * x, rtol=1e-12)


@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.array([[[[0, 1], [2, 16]]]]), 2),
     IndexError, r"^max_unpool2d: index 16 is out of range for an output plane of 4 x 4 = 16"),
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.array([[[[0, 1], [-1, 3]]]]), 2),
     IndexError, r"index -1 is out of range"),
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.zeros((1, 1, 2, 2)), 2),
     TypeError, r"^max_unpool2d: indices must be integers .* got dtype float64"),
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.zeros((1, 1, 2, 3), int), 2),
     ValueError, r"indices of shape \(1, 1, 2, 3\) must have the input's shape \(1, 1, 2, 2\)"),
    (lambda: F.max_unpool1d(ag.ones(2, 3), np.zeros((2, 4), int), 2),
     ValueError, r"indices of shape \(2, 4\) must have the input's shape \(2, 3\)"),
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.zeros((1, 1, 2, 2), int), 2,
                            output_size=(6, 4)),
     ValueError, r"output_size \(6, 4\) does not fit .* axis 0 must be more than 2 and less "
                 r"than 6 \(default 4\)"),
    (lambda: F.max_unpool2d(ag.ones(1, 1, 2, 2), np.zeros((1, 1, 2, 2), int), 2,
                            output_size=(1, 4, 4)),
     ValueError, r"output_size must hold 2 sizes \(or 4, with N and C first\), got \(1, 4, 4\)"),
    (lambda: nn.MaxUnpool2d(2)(ag.ones(2, 2), np.zeros((2, 2), int)),
     ValueError, r"^max_unpool2d: expected a 4-D input"),
])
def test_max_unpool_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- Embedding: max_norm ------------------------------------------------------------------

def _embeddings(torch, **kwargs):
    """Our Embedding and PyTorch's (float64) with the same weight: rows of norms 0.5 .. 4."""
    weight = RNG.standard_normal((7, 4))
    weight *= np.linspace(0.5, 4.0, 7)[:, None] / np.linalg.norm(weight, axis=1, keepdims=True)
    ours = nn.Embedding(7, 4, **kwargs)
    ours.weight.data = weight.copy()
    theirs = torch.nn.Embedding(7, 4, **kwargs).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
    return ours, theirs


@pytest.mark.parametrize("kwargs", [
    dict(max_norm=1.5),
    dict(max_norm=2.0, norm_type=1.0),
    dict(max_norm=1.0, norm_type=float("inf")),
    dict(max_norm=3.0, norm_type=3),
    dict(max_norm=1.5, padding_idx=6),
    dict(max_norm=100.0),                      # no row is touched
])
def test_embedding_max_norm_matches_pytorch(kwargs):
    torch = torch_or_skip()
    ours, theirs = _embeddings(torch, **kwargs)
    assert repr(ours) == repr(theirs)
    idx = np.array([[0, 5, 6, 5], [2, 6, 6, 1]])   # repeats are renormalised once
    version = ours.weight._version
    out, ref = ours(idx), theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-13, atol=1e-15)
    # The weight itself changed in place (rows 3 and 4, never looked up, did not).
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-13,
                               atol=1e-15)
    assert ours.weight._version == version + 1
    g = RNG.standard_normal(out.shape)
    out.backward(Tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-13,
                               atol=1e-15)
    # A second call renormalises again (a no-op now, up to PyTorch's 1e-7 in the scale).
    np.testing.assert_allclose(ours(idx).data, theirs(torch.tensor(idx)).detach().numpy(),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=1e-13)


def test_functional_embedding_max_norm_matches_pytorch_in_float32():
    torch = torch_or_skip()
    weight = (RNG.standard_normal((6, 5)) * 2).astype(np.float32)
    idx = np.array([3, 0, 3, 5])
    mine = nn.Parameter(weight.copy())
    theirs = torch.nn.Parameter(torch.tensor(weight))
    out = F.embedding(idx, mine, None, 1.0, 2.0)
    ref = torch.nn.functional.embedding(torch.tensor(idx), theirs, None, 1.0, 2.0)
    assert out.dtype == np.float32 and mine.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-6)
    assert np.all(np.linalg.norm(mine.data[[0, 3, 5]], axis=1) <= 1.0)
    np.testing.assert_array_equal(mine.data[[1, 2, 4]], weight[[1, 2, 4]])


def test_embedding_max_norm_gradcheck():
    # Gradients flow to the (renormalised) rows looked up, not through the renormalisation:
    # within a check the weight's norms stay below max_norm, so the lookup is linear.
    weight = RNG.standard_normal((5, 3)) * 0.1
    idx = np.array([[4, 0], [0, 2]])
    assert gradcheck(lambda w: F.embedding(idx, w, max_norm=1.0) ** 2, [weight])


def test_embedding_max_norm_bumps_the_version_so_a_saved_weight_refuses_backward():
    emb = nn.Embedding(5, 3, max_norm=0.5)
    h = ag.randn(2, 3, requires_grad=True)
    logits = h @ emb.weight.T          # the weight is saved for the matmul's gradient
    emb(np.array([1, 2]))              # renormalises it in place
    with pytest.raises(RuntimeError, match="modified|version"):
        logits.sum().backward()


@pytest.mark.parametrize("call,exc,pattern", [
    (lambda: nn.Embedding(5, 3, max_norm=-1.0), ValueError,
     r"^Embedding: max_norm must be a number >= 0 .* got -1.0"),
    (lambda: nn.Embedding(5, 3, max_norm="2"), TypeError, r"max_norm must be a number"),
    (lambda: nn.Embedding(5, 3, max_norm=1.0, norm_type="fro"), TypeError,
     r"^Embedding: norm_type must be a number .* got 'fro'"),
    (lambda: F.embedding(np.array([0]), ag.ones(2, 2), max_norm=float("nan")), ValueError,
     r"^embedding: max_norm must be a number >= 0"),
    (lambda: F.embedding(np.array([0]), np.ones((2, 2)), max_norm=1.0), TypeError,
     r"^embedding: max_norm renormalises the weight in place, so it must be a Tensor"),
    (lambda: nn.Embedding(5, 3, scale_grad_by_freq=True), NotImplementedError,
     r"scale_grad_by_freq and sparse are not supported"),
])
def test_embedding_max_norm_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
