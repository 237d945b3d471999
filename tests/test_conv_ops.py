"""Gradchecks (float64) of the convolution, pooling and recurrence primitives (first and
second order)."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, gradcheck
from autograd.ops import PRIMITIVES
from autograd.ops.conv import Fold, MaxPool, Unfold, WindowGather, WindowScatter
from autograd.ops.rnn import GRULayer, LSTMLayer, RNNLayer, gru_steps, lstm_steps, rnn_steps

RNG = np.random.default_rng(7)

# (kernel_size, stride, padding pairs, dilation) over 1-D and 2-D inputs, overlapping or not,
# with symmetric and asymmetric (ceil_mode-like) pads.
GEOMETRIES = [
    dict(kernel_size=(3,), stride=(1,), padding=((1, 1),), dilation=(1,)),
    dict(kernel_size=(2,), stride=(3,), padding=((0, 1),), dilation=(2,)),
    dict(kernel_size=(3,), stride=(3,), padding=((2, 2),), dilation=(1,)),  # pad-only reads
    dict(kernel_size=(2, 3), stride=(1, 2), padding=((1, 0), (1, 2)), dilation=(1, 1)),
    dict(kernel_size=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), dilation=(1, 1)),
    dict(kernel_size=(2, 2), stride=(1, 1), padding=((0, 1), (1, 1)), dilation=(2, 1)),
]


def _input_shape(geometry):
    return (2, 3, 5) if len(geometry["kernel_size"]) == 1 else (2, 2, 5, 4)


def _windows_shape(shape, geometry, layout="ncko"):
    unfolded = Unfold.apply(Tensor(np.zeros(shape)), layout=layout, **geometry)
    return unfolded.shape


def _max_index(shape, geometry):
    """Winner offsets as MaxPool would choose them on random data."""
    probe = MaxPool()
    probe.forward(RNG.standard_normal(shape), **geometry)
    return probe.index


@pytest.mark.parametrize("layout", ["ncko", "ckon"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_unfold_gradcheck(geometry, layout):
    x = RNG.standard_normal(_input_shape(geometry))
    assert gradcheck(lambda t: Unfold.apply(t, layout=layout, **geometry), [x])


@pytest.mark.parametrize("layout", ["ncko", "ckon"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_fold_gradcheck(geometry, layout):
    shape = _input_shape(geometry)
    cols = RNG.standard_normal(_windows_shape(shape, geometry, layout))
    assert gradcheck(lambda t: Fold.apply(t, shape=shape, layout=layout, **geometry), [cols])


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_unfold_layouts_hold_the_same_windows(geometry):
    # "ckon" is "ncko" with the batch axis moved last (C, *k, *out, N), whatever the
    # input's memory layout; Fold of either gives the same array.
    shape = _input_shape(geometry)
    x = RNG.standard_normal(shape)
    nd = len(geometry["kernel_size"])
    ncko = Unfold.apply(Tensor(x), **geometry).data
    # reference: every window of the explicitly zero-padded input
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(geometry["padding"]))
    spans = [d * (k - 1) + 1 for k, d in zip(geometry["kernel_size"], geometry["dilation"])]
    windows = np.lib.stride_tricks.sliding_window_view(xp, spans, axis=tuple(range(2, 2 + nd)))
    windows = windows[(slice(None), slice(None))
                      + tuple(slice(None, None, s) for s in geometry["stride"])
                      + tuple(slice(None, None, d) for d in geometry["dilation"])]
    windows = np.moveaxis(windows, tuple(range(2, 2 + nd)), tuple(range(2 + nd, 2 + 2 * nd)))
    np.testing.assert_array_equal(ncko, windows)
    for source in (x, np.ascontiguousarray(np.moveaxis(x, 0, -1)).transpose(
            (nd + 1,) + tuple(range(nd + 1)))):  # C order, and (C, *S, N) memory
        ckon = Unfold.apply(Tensor(source), layout="ckon", **geometry).data
        np.testing.assert_array_equal(ckon, np.moveaxis(ncko, 0, -1))
    folded = Fold.apply(Tensor(np.moveaxis(ncko, 0, -1)), shape=shape, layout="ckon",
                        **geometry).data
    np.testing.assert_allclose(folded, Fold.apply(Tensor(ncko), shape=shape, **geometry).data,
                               rtol=1e-14)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_gradcheck(geometry):
    # Distinct values spaced far apart: finite differences never cross a tie.
    shape = _input_shape(geometry)
    x = RNG.permutation(np.prod(shape)).reshape(shape) * 0.1
    assert gradcheck(lambda t: MaxPool.apply(t, **geometry), [x])


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_window_gather_and_scatter_gradcheck(geometry):
    shape = _input_shape(geometry)
    index = _max_index(shape, geometry)
    x = RNG.standard_normal(shape)
    assert gradcheck(lambda t: WindowGather.apply(t, index=index, **geometry), [x])
    g = RNG.standard_normal(index.shape)
    assert gradcheck(lambda t: WindowScatter.apply(t, index=index, shape=shape, **geometry), [g])


@pytest.mark.parametrize("layout", ["ncko", "ckon"])
def test_unfold_and_fold_are_adjoint(layout):
    # <unfold(x), c> == <x, fold(c)> for any x, c: the defining property of the pair.
    geometry = GEOMETRIES[4]
    shape = _input_shape(geometry)
    x = RNG.standard_normal(shape)
    c = RNG.standard_normal(_windows_shape(shape, geometry, layout))
    lhs = (Unfold.apply(Tensor(x), layout=layout, **geometry).data * c).sum()
    rhs = (x * Fold.apply(Tensor(c), shape=shape, layout=layout, **geometry).data).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def _grad_of(loss_fn, x, *others):
    """d loss_fn(x, *others) / dx with create_graph, also under gradcheck's no_grad probes."""
    with ag.enable_grad():
        if not x.requires_grad:  # a finite-difference probe: only the value is needed
            x = Tensor(x.data, requires_grad=True)
        (gx,) = ag.grad(loss_fn(x, *others), [x], create_graph=True)
    return gx


def test_conv_second_order_gradcheck():
    # create_graph through unfold -> matmul -> fold: d/dw of (d loss / dx).
    import nn.functional as F

    x = RNG.standard_normal((1, 2, 5, 5))
    w = RNG.standard_normal((3, 2, 3, 3))

    def loss(x, w):
        y = F.conv2d(x, w, stride=2, padding=1)
        return (y * y).sum()

    def grad_x(x, w):
        return _grad_of(loss, x, w)

    assert gradcheck(grad_x, [x, w])


def test_max_pool_second_order_gradcheck():
    import nn.functional as F

    x = RNG.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) * 0.1

    def loss(x):
        y = F.max_pool2d(x, 3, stride=2, padding=1)
        return (y * y * y).sum()

    def grad_x(x):
        return _grad_of(loss, x)

    assert gradcheck(grad_x, [x])


# ---- recurrences ---------------------------------------------------------------------

T, B, H = 4, 3, 5


def _rnn_args(gates, extra=()):
    return [RNG.standard_normal((T, B, gates * H)), RNG.standard_normal((gates * H, H)) * 0.5,
            *extra, RNG.standard_normal((B, H))]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_layer_gradcheck_and_reference(nonlinearity):
    args = _rnn_args(1)
    assert gradcheck(lambda *a: RNNLayer.apply(*a, nonlinearity=nonlinearity), args)
    ts = [Tensor(a) for a in args]
    np.testing.assert_allclose(RNNLayer.apply(*ts, nonlinearity=nonlinearity).data,
                               rnn_steps(*ts, nonlinearity=nonlinearity).data, atol=1e-12)


def test_lstm_layer_gradcheck_and_reference():
    args = _rnn_args(4) + [RNG.standard_normal((B, H))]
    assert gradcheck(lambda *a: LSTMLayer.apply(*a), args)
    ts = [Tensor(a) for a in args]
    np.testing.assert_allclose(LSTMLayer.apply(*ts).data, lstm_steps(*ts).data, atol=1e-12)


def test_gru_layer_gradcheck_and_reference():
    args = _rnn_args(3, [RNG.standard_normal(3 * H)])
    assert gradcheck(lambda *a: GRULayer.apply(*a), args)
    ts = [Tensor(a) for a in args]
    np.testing.assert_allclose(GRULayer.apply(*ts).data, gru_steps(*ts).data, atol=1e-12)


@pytest.mark.parametrize("op,steps,gates,extra", [
    (LSTMLayer, lstm_steps, 4, 1), (GRULayer, gru_steps, 3, 0)])
def test_recurrence_views_and_float32_match_reference(op, steps, gates, extra):
    # The array loops take per-gate (H, H) blocks of W_hh and write gate-major buffers: check
    # them on strided inputs (reversed steps, a transposed W_hh, a column slice for h0), in
    # float32, values and gradients against the Tensor-op recurrence.
    rng = np.random.default_rng(3)
    f32 = np.float32
    xproj = rng.standard_normal((T, B, gates * H)).astype(f32)[::-1]
    w_hh = np.asfortranarray(rng.standard_normal((gates * H, H)).astype(f32) * 0.5)
    h0 = rng.standard_normal((B, 2 * H)).astype(f32)[:, ::2]
    state = [rng.standard_normal((B, H)).astype(f32) for _ in range(extra)]
    bias = [rng.standard_normal(gates * H).astype(f32)] if op is GRULayer else []
    arrays = [xproj, w_hh, *bias, h0, *state]
    results = []
    for run in (op.apply, steps):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        out = run(*ts)
        (out * out).sum().backward()
        assert out.data.dtype == f32 and all(t.grad.dtype == f32 for t in ts)
        results.append([out.data] + [t.grad.data for t in ts])
    for fused, reference in zip(*results):
        np.testing.assert_allclose(fused, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op,args", [
    (lambda *a: RNNLayer.apply(*a, nonlinearity="tanh"), lambda: _rnn_args(1)),
    (LSTMLayer.apply, lambda: _rnn_args(4) + [RNG.standard_normal((B, H))]),
    (GRULayer.apply, lambda: _rnn_args(3, [RNG.standard_normal(3 * H)])),
])
def test_recurrence_second_order_gradcheck(op, args):
    # Under create_graph the fused backward replays the recurrence with Tensor ops.
    xproj, *rest = args()
    rest = [Tensor(a) for a in rest]

    def loss(x):
        out = op(x, *rest)
        return (out * out).sum()

    assert gradcheck(lambda x: _grad_of(loss, x), [xproj[:2]])


def test_every_conv_and_rnn_primitive_is_registered_and_covered():
    covered = {Unfold, Fold, MaxPool, WindowGather, WindowScatter, RNNLayer, LSTMLayer, GRULayer}
    from autograd.ops import conv, rnn

    defined = {v for module in (conv, rnn) for name, v in vars(module).items()
               if isinstance(v, type) and issubclass(v, ag.Function) and v is not ag.Function
               and not name.startswith("_")}  # private bases are not ops
    assert defined == covered
    assert covered <= set(PRIMITIVES)
