"""Finite-difference gradchecks (float64) of every primitive in autograd.ops.PRIMITIVES.

CASES maps each primitive class to a generator of (label, fn, inputs) cases over a menu of
shapes that exercises broadcasting, and every axis/keepdims combination for reductions. A
test fails when a primitive is registered without an entry here.
"""
import itertools

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, gradcheck
from helpers import covers
from autograd.ops import CrossEntropy, Linear
from autograd.ops import (PRIMITIVES, Abs, Add, BroadcastTo, Cast, Clip, Concatenate, Cos,
                          Div, Erf, Exp, Fold, GetItem, GRULayer, Log, Log1p, LSTMLayer, MatMul,
                          Max, Maximum, MaxPool, Min, Minimum, Mul, Neg, Pad, Pow, PowScalar,
                          Relu, Reshape, RNNLayer, ScatterAdd, Sigmoid, Sin, Sqrt, Sub, Sum,
                          SumTo, Tanh, Transpose, Unfold, Where, WindowGather, WindowScatter)

SHAPES = [(), (2,), (3, 2), (1, 2), (4, 1, 3)]


def _rng(label):
    """A generator seeded from the case label, so every case has fixed, independent data."""
    return np.random.default_rng(sum(map(ord, label)) * 7919 % 2**32)


def _away_from(x, points, gap=0.05):
    """Push values that sit within `gap` of a kink (0, a clip bound...) away from it."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + np.where(x[near] >= p, gap, -gap) * 2
    return x


def _distinct(shape, rng):
    """Values at least 0.1 apart: finite differences never cross a tie of max/min."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape) - 0.05 * n


def _broadcast_pairs():
    for a, b in itertools.product(SHAPES, repeat=2):
        try:
            np.broadcast_shapes(a, b)
        except ValueError:
            continue
        yield a, b


def _axes(ndim):
    """Every axis argument for an ndim-array: None, each axis (positive and negative), and
    every tuple of two or more axes (once with positive, once with mixed negative indices)."""
    yield None
    for a in range(ndim):
        yield a
        yield a - ndim
    for r in range(2, ndim + 1):
        for combo in itertools.combinations(range(ndim), r):
            yield combo
            yield tuple(a - ndim if i % 2 == 0 else a for i, a in enumerate(combo))
    yield ()


# ---- case generators --------------------------------------------------------------------

def _binary(op, make_a=None, make_b=None):
    def cases():
        for sa, sb in _broadcast_pairs():
            label = f"{op.__name__}{sa}{sb}"
            rng = _rng(label)
            a = make_a(sa, rng) if make_a else rng.standard_normal(sa)
            b = make_b(sb, rng) if make_b else rng.standard_normal(sb)
            yield label, (lambda x, y: op.apply(x, y)), [a, b]
    return cases


def _unary(op, make=None, **params):
    def cases():
        for shape in SHAPES:
            label = f"{op.__name__}{shape}{params or ''}"
            rng = _rng(label)
            x = make(shape, rng) if make else rng.standard_normal(shape)
            yield label, (lambda t: op.apply(t, **params)), [x]
    return cases


def _positive(shape, rng):
    return rng.uniform(0.5, 2.0, shape)


def _nonzero(shape, rng):
    return _away_from(rng.standard_normal(shape), [0.0], 0.2)


def _maximum_pair(op):
    # Ties are a kink: b is shifted until no broadcast pair (a_i, b_j) is within 0.1.
    def cases():
        for sa, sb in _broadcast_pairs():
            label = f"{op.__name__}{sa}{sb}"
            rng = _rng(label)
            a = rng.standard_normal(sa)
            b = _separate(a, rng.standard_normal(sb))
            yield label, (lambda x, y: op.apply(x, y)), [a, b]
    return cases


def _separate(a, b):
    """b moved so that no broadcast pair (a_i, b_j) is within 0.1 of a tie."""
    for shift in np.linspace(0, 1, 41):
        c = b + shift
        if (np.abs(np.subtract(a, c)) > 0.1).all():
            return c
    raise AssertionError("could not separate the operands")


def _pow_cases():
    yield from _binary(Pow, make_a=_positive)()
    # a = 0 with b > 0: db uses the where() guard (0 instead of 0 * log 0 = NaN).
    base = Tensor(np.array([0.0, 1.5]))
    yield "Pow zero base", (lambda y: Pow.apply(base, y)), [np.array([2.5, 3.0])]


def _pow_scalar_cases():
    for p in (2, 3, -1.5, 0.5, 1, 0):
        for shape in SHAPES:
            label = f"PowScalar{shape}^{p}"
            rng = _rng(label)
            x = _positive(shape, rng) if p != int(p) or p < 0 else rng.standard_normal(shape)
            yield label, (lambda t, p=p: PowScalar.apply(t, exponent=p)), [x]
    yield "PowScalar x=0 p=0", (lambda t: PowScalar.apply(t, exponent=0)), [np.zeros(3)]


def _reduction_cases(op):
    def cases():
        for shape in SHAPES:
            for axis in _axes(len(shape)):
                for keepdims in (False, True):
                    label = f"{op.__name__}{shape} axis={axis} keepdims={keepdims}"
                    x = _distinct(shape, _rng(label))
                    yield label, (lambda t, a=axis, k=keepdims: op.apply(t, axis=a, keepdims=k)), [x]
    return cases


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _sum_to_cases():
    for shape in SHAPES:
        for target in SHAPES + [(1,), (1, 1), (1, 3), (4, 1, 1), (2,), (1, 1, 3)]:
            if len(target) <= len(shape) and _broadcasts_to(target, shape):
                label = f"SumTo{shape}->{target}"
                yield label, (lambda t, s=target: SumTo.apply(t, shape=s)), [_rng(label).standard_normal(shape)]


def _broadcast_to_cases():
    for shape in SHAPES:
        for target in SHAPES + [(2, 3, 2), (5, 4, 2, 3), (2, 1, 2)]:
            if _broadcasts_to(shape, target):
                label = f"BroadcastTo{shape}->{target}"
                yield label, (lambda t, s=target: BroadcastTo.apply(t, shape=s)), [_rng(label).standard_normal(shape)]


def _reshape_cases():
    pairs = [((), (1, 1)), ((2,), (2, 1)), ((3, 2), (6,)), ((3, 2), (2, -1)), ((1, 2), (2,)),
             ((4, 1, 3), (3, 4)), ((4, 1, 3), (-1,)), ((1,), ())]
    for shape, target in pairs:
        label = f"Reshape{shape}->{target}"
        yield label, (lambda t, s=target: Reshape.apply(t, shape=s)), [_rng(label).standard_normal(shape)]


def _transpose_cases():
    for shape in SHAPES:
        for axes in itertools.permutations(range(len(shape))):
            label = f"Transpose{shape}{axes}"
            yield label, (lambda t, a=axes: Transpose.apply(t, axes=a)), [_rng(label).standard_normal(shape)]


# Indices for a (4, 3, 2) array: basic, advanced with repeats and negatives, bool masks, mixed.
INDICES = [
    1, -1, slice(None), slice(1, 3), slice(None, None, -2), (0, 1), (Ellipsis, 1), (None, 2),
    (slice(None), None, 0), (Ellipsis, None), (1, Ellipsis, slice(0, 1)),
    np.array([0, 2, 2, -1, 3, 0]),           # repeated and negative (fast scatter path)
    np.array([[1, 1], [3, -4]]),              # 2-D index array (np.add.at path)
    (np.array([0, 0, 3]), slice(None), np.array([1, 1, 0])),
    (slice(1, None), np.array([2, 2, 0])),
    np.array([True, False, True, True]),
    (Ellipsis, np.array([False, True])),
    np.arange(24).reshape(4, 3, 2) % 3 == 0,  # full-shape mask
    (np.array([1, -3]), 2),
]


def _getitem_cases():
    for i, index in enumerate(INDICES):
        label = f"GetItem #{i}"
        yield label, (lambda t, ix=index: GetItem.apply(t, index=ix)), [_rng(label).standard_normal((4, 3, 2))]
    # 0-d and 1-D inputs.
    yield "GetItem 0-d", (lambda t: GetItem.apply(t, index=None)), [np.array(1.5)]
    yield "GetItem 0-d ...", (lambda t: GetItem.apply(t, index=Ellipsis)), [np.array(1.5)]


def _scatter_add_cases():
    shape = (4, 3, 2)
    for i, index in enumerate(INDICES):
        label = f"ScatterAdd #{i}"
        picked_shape = np.zeros(shape)[index].shape
        x = _rng(label).standard_normal(picked_shape)
        yield label, (lambda t, ix=index: ScatterAdd.apply(t, index=ix, shape=shape)), [x]


def _concatenate_cases():
    specs = [([(2,), (3,)], 0), ([(3, 2), (1, 2), (2, 2)], 0), ([(3, 2), (3, 1)], -1),
             ([(4, 1, 3), (4, 2, 3)], 1), ([(4, 1, 3), (4, 1, 3)], -3), ([(2, 0), (2, 3)], 1)]
    for shapes, axis in specs:
        label = f"Concatenate{shapes} axis={axis}"
        rng = _rng(label)
        yield label, (lambda *ts, a=axis: Concatenate.apply(*ts, axis=a)), [rng.standard_normal(s) for s in shapes]
    # A constant among the inputs: its slot gets no gradient.
    yield ("Concatenate with constant",
           (lambda t: Concatenate.apply(t, Tensor(np.ones((1, 2))), t, axis=0)), [np.arange(4.0).reshape(2, 2)])


def _pad_cases():
    specs = [((2,), ((1, 2),), 0.0), ((3, 2), ((0, 1), (2, 0)), 1.5), ((1, 2), ((1, 1), (1, 1)), 0.0),
             ((4, 1, 3), ((0, 0), (3, 0), (1, 1)), -2.0)]
    for shape, width, value in specs:
        label = f"Pad{shape}{width}"
        yield label, (lambda t, w=width, v=value: Pad.apply(t, pad_width=w, value=v)), [_rng(label).standard_normal(shape)]


def _matmul_cases():
    pairs = [((3, 2), (2, 4)), ((1, 2), (2, 1)), ((2, 3, 2), (2, 4)), ((3, 2), (4, 2, 5)),
             ((4, 1, 2, 3), (5, 3, 2)), ((2, 1, 3), (1, 3, 2))]
    for sa, sb in pairs:
        label = f"MatMul{sa}@{sb}"
        rng = _rng(label)
        yield label, (lambda a, b: MatMul.apply(a, b)), [rng.standard_normal(sa), rng.standard_normal(sb)]


def _where_cases():
    for (sa, sb), sc in itertools.product(_broadcast_pairs(), [(), (2,)]):
        try:
            np.broadcast_shapes(sa, sb, sc)
        except ValueError:
            continue
        label = f"Where{sc}{sa}{sb}"
        rng = _rng(label)
        cond = rng.uniform(size=sc) > 0.5 if sc else np.array(True)
        yield label, (lambda c, a, b: Where.apply(c, a, b)), [cond, rng.standard_normal(sa), rng.standard_normal(sb)]
    yield ("Where mixed mask", (lambda c, a, b: Where.apply(c, a, b)),
           [np.array([[True, False], [False, True], [True, True]]), np.ones((3, 2)) * 2, np.arange(2.0)])


def _clip_cases():
    for lo, hi in ((-0.5, 0.5), (None, 0.3), (-0.2, None), (0.0, 0.0)):
        for shape in SHAPES:
            label = f"Clip{shape}[{lo},{hi}]"
            x = _away_from(_rng(label).standard_normal(shape), [p for p in (lo, hi) if p is not None])
            yield label, (lambda t, lo=lo, hi=hi: Clip.apply(t, lo=lo, hi=hi)), [x]


def _cast_cases():
    # float64 -> float32 -> float64 is linear; a larger step keeps float32 rounding small.
    for shape in SHAPES:
        label = f"Cast{shape}"
        yield (label, (lambda t: Cast.apply(Cast.apply(t, dtype=np.float32), dtype=np.float64) * 1.0),
               [_rng(label).standard_normal(shape)], dict(eps=1e-2, atol=1e-4))
    yield "Cast float64->float64", (lambda t: Cast.apply(t, dtype=np.float64)), [np.arange(3.0)]


# Convolution primitives: (N, C, *spatial) inputs; test_conv_ops.py checks more geometries.
GEOMETRY_1D = dict(kernel_size=(3,), stride=(2,), padding=((1, 1),), dilation=(1,))
GEOMETRY_2D = dict(kernel_size=(2, 2), stride=(1, 2), padding=((1, 0), (0, 1)), dilation=(2, 1))


def _conv_input(geometry):
    return (2, 2, 5) if len(geometry["kernel_size"]) == 1 else (1, 2, 5, 4)


def _unfold_cases():
    for g in (GEOMETRY_1D, GEOMETRY_2D, dict(GEOMETRY_2D, layout="ckon")):
        label = f"Unfold{g['kernel_size']}{g.get('layout', '')}"
        yield label, (lambda t, g=g: Unfold.apply(t, **g)), [_rng(label).standard_normal(_conv_input(g))]


def _fold_cases():
    for g in (GEOMETRY_1D, GEOMETRY_2D, dict(GEOMETRY_2D, layout="ckon")):
        shape = _conv_input(g)
        cols_shape = Unfold.apply(Tensor(np.zeros(shape)), **g).shape
        label = f"Fold{g['kernel_size']}{g.get('layout', '')}"
        yield label, (lambda t, g=g, s=shape: Fold.apply(t, shape=s, **g)), [_rng(label).standard_normal(cols_shape)]


def _max_pool_cases():
    for g in (GEOMETRY_1D, GEOMETRY_2D):
        label = f"MaxPool{g['kernel_size']}"
        yield label, (lambda t, g=g: MaxPool.apply(t, **g)), [_distinct(_conv_input(g), _rng(label))]


def _window_index(g):
    probe = MaxPool()
    probe.forward(_distinct(_conv_input(g), _rng("index")), **g)
    return probe.index


def _window_gather_cases():
    for g in (GEOMETRY_1D, GEOMETRY_2D):
        label = f"WindowGather{g['kernel_size']}"
        idx = _window_index(g)
        yield label, (lambda t, g=g, i=idx: WindowGather.apply(t, index=i, **g)), [_rng(label).standard_normal(_conv_input(g))]


def _window_scatter_cases():
    for g in (GEOMETRY_1D, GEOMETRY_2D):
        label = f"WindowScatter{g['kernel_size']}"
        idx = _window_index(g)
        yield (label, (lambda t, g=g, i=idx: WindowScatter.apply(t, index=i, shape=_conv_input(g), **g)),
               [_rng(label).standard_normal(idx.shape)])


def _recurrent_cases(op, gates, extra=()):
    """One layer over T=3 steps, batch 2, hidden 2: xproj (T, B, gates*H), w_hh (gates*H, H)."""
    def cases():
        for steps, batch in ((3, 2), (1, 1)):
            label = f"{op.__name__} T={steps} B={batch} {extra}"
            rng = _rng(label)
            hidden = 2
            xproj = rng.standard_normal((steps, batch, gates * hidden))
            w_hh = rng.standard_normal((gates * hidden, hidden)) * 0.7
            state = [rng.standard_normal((batch, hidden)) for _ in range(1 + (op is LSTMLayer))]
            if op is GRULayer:
                state = [rng.standard_normal(gates * hidden)] + state
            params = dict(extra)
            if params.get("nonlinearity") == "relu":
                xproj = _away_from(xproj, [0.0], 0.3) + 1.0  # keep pre-activations off the kink
            yield label, (lambda *ts, p=params: op.apply(*ts, **p)), [xproj, w_hh, *state]
    return cases


CASES = {
    # elementwise arithmetic
    Add: _binary(Add), Sub: _binary(Sub), Mul: _binary(Mul),
    Div: _binary(Div, make_b=_nonzero), Neg: _unary(Neg),
    Pow: _pow_cases, PowScalar: _pow_scalar_cases,
    # transcendental and activation
    Exp: _unary(Exp), Log: _unary(Log, _positive), Log1p: _unary(Log1p, _positive),
    Sqrt: _unary(Sqrt, _positive), Abs: _unary(Abs, _nonzero), Sin: _unary(Sin), Cos: _unary(Cos),
    Tanh: _unary(Tanh), Sigmoid: _unary(Sigmoid), Relu: _unary(Relu, _nonzero), Erf: _unary(Erf),
    # selection
    Maximum: _maximum_pair(Maximum), Minimum: _maximum_pair(Minimum), Where: _where_cases,
    Clip: _clip_cases, Cast: _cast_cases,
    # reductions
    Sum: _reduction_cases(Sum), Max: _reduction_cases(Max), Min: _reduction_cases(Min),
    SumTo: _sum_to_cases,
    # movement
    Reshape: _reshape_cases, Transpose: _transpose_cases, BroadcastTo: _broadcast_to_cases,
    GetItem: _getitem_cases, ScatterAdd: _scatter_add_cases, Concatenate: _concatenate_cases,
    Pad: _pad_cases,
    # linear algebra
    MatMul: _matmul_cases,
    # convolution
    Unfold: _unfold_cases, Fold: _fold_cases, MaxPool: _max_pool_cases,
    WindowGather: _window_gather_cases, WindowScatter: _window_scatter_cases,
    # recurrence (one fused primitive per layer)
    RNNLayer: lambda: itertools.chain(_recurrent_cases(RNNLayer, 1, (("nonlinearity", "tanh"),))(),
                                      _recurrent_cases(RNNLayer, 1, (("nonlinearity", "relu"),))()),
    LSTMLayer: _recurrent_cases(LSTMLayer, 4), GRULayer: _recurrent_cases(GRULayer, 3),
    # fused (tests/test_fused_ops.py holds their composite and PyTorch parity tests)
    Linear: lambda: _fused_cases("linear"), CrossEntropy: lambda: _fused_cases("cross_entropy"),
}


# The tensor-API-breadth primitives (trig/hyperbolic, rounding, scans, einsum) keep their
# cases in gradcheck_breadth.py.
from gradcheck_breadth import CASES as _BREADTH_CASES  # noqa: E402

CASES.update(_BREADTH_CASES)


def _fused_cases(which):
    from test_fused_ops import gradcheck_cases

    return gradcheck_cases(which)


def _linear_cases(op):
    def cases():
        for x_shape in ((3, 4), (2, 3, 4), (4,), (1, 4)):
            for bias in (True, False):
                label = f"Linear{x_shape} bias={bias}"
                rng = _rng(label)
                inputs = [rng.standard_normal(x_shape), rng.standard_normal((5, 4))]
                if bias:
                    inputs.append(rng.standard_normal(5))
                yield label, (lambda *ts: op.apply(*ts)), inputs
    return cases


def _cross_entropy_cases(op):
    def cases():
        for reduction in ("mean", "sum", "none"):
            label = f"CrossEntropy {reduction}"
            rng = _rng(label)
            target = np.array([0, 2, 2, 1])
            yield (label, (lambda x, t, r=reduction: op.apply(x, t, reduction=r)),
                   [rng.standard_normal((4, 3)) * 3, target])
    return cases


# Fused primitives that another change may register: covered as soon as they exist.
for _name, _make in (("Linear", _linear_cases), ("CrossEntropy", _cross_entropy_cases)):
    if hasattr(ag.ops, _name):
        CASES[getattr(ag.ops, _name)] = _make(getattr(ag.ops, _name))


def _attention_cases(which):
    from test_attention import gradcheck_cases

    return gradcheck_cases(which)


# attention (tests/test_attention.py holds their composite and PyTorch parity tests)
CASES[ag.ops.MaskedSoftmax] = lambda: _attention_cases("masked_softmax")
CASES[ag.ops.ScaledDotProductAttention] = lambda: _attention_cases("sdpa")


def _transformer_cases(which):
    from test_transformer_ops import gradcheck_cases

    return gradcheck_cases(which)


CASES[ag.ops.Gelu] = lambda: _transformer_cases("gelu")
CASES[ag.ops.LayerNorm] = lambda: _transformer_cases("layer_norm")


def _all_cases():
    for op, make in CASES.items():
        for case in make():
            label, fn, inputs = case[:3]
            options = case[3] if len(case) > 3 else {}
            yield pytest.param(fn, inputs, options, id=label)


@pytest.mark.parametrize("fn, inputs, options", list(_all_cases()))
def test_primitive_gradcheck(fn, inputs, options):
    assert gradcheck(fn, inputs, **options)


def test_every_primitive_has_gradcheck_cases():
    missing = [op.__name__ for op in PRIMITIVES if op not in CASES]
    assert not missing, f"primitives without gradcheck cases in CASES: {missing}"
    for op, make in CASES.items():
        assert len(list(make())) >= 2, f"{op.__name__} has fewer than two gradcheck cases"


def test_elementwise_ops_have_no_input_larger_than_their_output():
    # backward() releases an op flagged elementwise with a small output without looking at
    # its inputs (engine._walk), trusting that none is larger: checked on every case here.
    checked = set()
    for op in ag.ops.ELEMENTWISE:
        assert op.elementwise and op in CASES, op.__name__
        for case in CASES[op]():
            label, fn, inputs = case[:3]
            tensors = [Tensor(np.asarray(x, dtype=np.float64)) if not isinstance(x, Tensor)
                       else x for x in inputs]
            out = fn(*tensors)
            for t in tensors:
                assert t.data.size <= out.data.size, f"{label}: input {t.shape} > output {out.shape}"
            checked.add(op)
    assert checked == set(ag.ops.ELEMENTWISE)
    flagged = [op.__name__ for op in PRIMITIVES if op.elementwise]
    assert sorted(flagged) == sorted(op.__name__ for op in ag.ops.ELEMENTWISE)


def test_reductions_see_every_axis_and_keepdims():
    # The menu must reach tuple axes, negative axes and keepdims on the 3-D shape.
    labels = [case[0] for case in _reduction_cases(Sum)()]
    for needle in ("axis=(0, 1, 2) keepdims=True", "axis=-1 keepdims=False", "axis=(-3, 1, -1)",
                   "axis=None keepdims=True", "() axis=None keepdims=False", "axis=() keepdims=True"):
        assert any(needle in label for label in labels), needle


def test_reduction_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"max: cannot reduce over an empty axis.*\(0, 3\)"):
        Tensor(np.zeros((0, 3))).max(axis=0)
    with pytest.raises(ValueError, match=r"max: .*axis 5 is out of bounds"):
        Tensor(np.ones((2, 3))).max(axis=5)
    assert Tensor(np.zeros((0, 3))).min(axis=1).shape == (0,)


def test_gradcheck_catches_a_wrong_rule():
    class BadSquare(ag.Function):
        name = "bad_square"

        def forward(self, x):
            return x * x

        def backward(self, grad, out):
            return (grad * self.inputs[0],)  # missing the factor 2

    with pytest.raises(ag.GradcheckError, match="input 0"):
        gradcheck(lambda t: BadSquare.apply(t), [np.array([1.0, -2.0])])
    assert gradcheck(lambda t: BadSquare.apply(t), [np.array([1.0])], raise_exception=False) is False


def test_gradcheck_of_a_function_with_several_outputs():
    assert gradcheck(lambda a, b: (a * b, (a - b).exp().sum(axis=0)), [np.ones((2, 3)), np.arange(3.0)])
    with pytest.raises(ag.GradcheckError):
        gradcheck(lambda a: (a * 2, Tensor(a.data ** 2)), [np.ones(2)])  # second output detached


def test_gradcheck_handles_non_contiguous_inputs():
    # A transposed (Fortran-ordered) array once made the finite differences silently zero.
    x = np.arange(1.0, 7.0).reshape(3, 2).T
    assert gradcheck(lambda t: (t * t * t * Tensor(np.arange(6.0).reshape(2, 3))).sum(), [x])


# ---- second order: gradcheck of a function that itself calls autograd.grad ------------------

def _first_derivative(fn):
    """x -> d/dx sum(w * fn(x)), built with create_graph so that it is differentiable again."""
    def grads(*xs):
        out = fn(*xs)
        weight = Tensor(np.linspace(0.5, 1.5, out.size).reshape(out.shape))
        gs = ag.grad((out * weight).sum(), list(xs), create_graph=True, allow_unused=True)
        parts = [(g if g is not None else x * 0).reshape(-1) for g, x in zip(gs, xs)]
        return ag.concatenate(parts) if len(parts) > 1 else parts[0]
    return grads


rng2 = np.random.default_rng(2)
SECOND_ORDER = {
    "mul": (lambda a, b: Mul.apply(a, b) * a, [rng2.standard_normal((3, 2)), rng2.standard_normal((2,))]),
    "div": (lambda a, b: Div.apply(a, b), [rng2.standard_normal((3, 2)), rng2.uniform(1, 2, (1, 2))]),
    "pow": (lambda a, b: Pow.apply(a, b), [rng2.uniform(0.5, 2, (3,)), rng2.standard_normal((3,))]),
    "pow_scalar": (lambda a: PowScalar.apply(a, exponent=3.5), [rng2.uniform(0.5, 2, (2, 2))]),
    "exp": (lambda a: Exp.apply(a * a), [rng2.standard_normal((3,))]),
    "log": (lambda a: Log.apply(a), [rng2.uniform(0.5, 2, (3,))]),
    "log1p": (lambda a: Log1p.apply(a), [rng2.uniform(0.5, 2, (3,))]),
    "sqrt": (lambda a: Sqrt.apply(a), [rng2.uniform(0.5, 2, (3,))]),
    "sin_cos": (lambda a: Sin.apply(a) * Cos.apply(a), [rng2.standard_normal((4,))]),
    "tanh": (lambda a: Tanh.apply(a), [rng2.standard_normal((4,))]),
    "sigmoid": (lambda a: Sigmoid.apply(a), [rng2.standard_normal((4,))]),
    "erf": (lambda a: Erf.apply(a), [rng2.standard_normal((4,))]),
    "abs_relu": (lambda a: Abs.apply(a) * a + Relu.apply(a) * a, [_nonzero((4,), rng2)]),
    "sum_max": (lambda a: Max.apply(a * a, axis=1) * Sum.apply(a, axis=1),
                [_distinct((2, 3), rng2)]),
    "matmul": (lambda a, b: MatMul.apply(a, b) * MatMul.apply(a, b), [rng2.standard_normal((2, 3, 2)), rng2.standard_normal((2, 4))]),
    "getitem_repeats": (lambda a: GetItem.apply(a, index=np.array([0, 0, 2, -1])) ** 3, [rng2.standard_normal((3,))]),
    "concatenate_pad": (lambda a, b: Pad.apply(Concatenate.apply(a * b, b, axis=0), pad_width=((1, 0),), value=0.0) ** 2,
                        [rng2.standard_normal((2,)), rng2.standard_normal((2,))]),
    "where_maximum": (lambda a, b: Where.apply(Tensor(np.array([True, False, True])), a * a, b * a)
                      * Maximum.apply(a, b), [np.array([1.0, -1.0, 0.5]), np.array([0.0, 0.2, 2.0])]),
    "broadcast_sum_to": (lambda a: SumTo.apply(BroadcastTo.apply(a, shape=(3, 2)) ** 2, shape=(1, 2)) ** 2,
                         [rng2.standard_normal((2,))]),
    "unfold": (lambda a: Unfold.apply(a, **GEOMETRY_1D) ** 2, [rng2.standard_normal((1, 2, 5))]),
    # the rules converted to one vjp(grad, out, on) after the 22 hot ops (issue 13)
    "clip_cast": (lambda a: Clip.apply(Cast.apply(a * a, dtype=np.float64), lo=0.1, hi=2.0) * a,
                  [np.array([0.5, -1.2, 2.0])]),
    "minimum_min": (lambda a, b: Minimum.apply(a * a, b) * Min.apply(a * b, axis=0),
                    [np.array([0.5, -1.3, 2.1]), np.array([0.9, 0.2, 1.0])]),
    "scatter_add": (lambda a: ScatterAdd.apply(a * a, index=np.array([1, 0, 1]), shape=(2,)) ** 2,
                    [rng2.standard_normal((3,))]),
    "floor_sign": (lambda a: ag.ops.Floor.apply(a) * a * a + ag.ops.Sign.apply(a) * a ** 3,
                   [np.array([0.3, -1.7, 2.4])]),
    "cumsum": (lambda a: ag.ops.CumSum.apply(a * a, axis=1, reverse=True) * a,
               [rng2.standard_normal((2, 3))]),
    "cumprod": (lambda a: ag.ops.CumProd.apply(a, axis=0) * a, [rng2.uniform(0.5, 2, (3,))]),
    "cumprod_zero": (lambda a: ag.ops.CumProd.apply(a, axis=1),
                     [np.array([[0.5, 0.0, 2.0, -1.5], [1.2, -0.7, 0.0, 0.0]])]),
    "einsum": (lambda a, b: ag.ops.Einsum.apply(a, b, a, subscripts="ij,jk,ij->k"),
               [rng2.standard_normal((2, 3)), rng2.standard_normal((3, 2))]),
    "einsum_diagonal": (lambda a: ag.ops.Einsum.apply(a * a, subscripts="ii->i"),
                        [rng2.standard_normal((3, 3))]),
    "trigonometric": (lambda a: ag.ops.Tan.apply(a) * ag.ops.Asin.apply(a * 0.5)
                      + ag.ops.Acos.apply(a * 0.5) * ag.ops.Atan.apply(a),
                      [rng2.uniform(-1, 1, (4,))]),
    "atan2": (lambda a, b: ag.ops.Atan2.apply(a * b, b), [rng2.standard_normal((3,)),
                                                          rng2.uniform(0.5, 2, (3,))]),
    "hyperbolic": (lambda a: ag.ops.Sinh.apply(a) * ag.ops.Cosh.apply(a) + ag.ops.Asinh.apply(a)
                   + ag.ops.Acosh.apply(a * a + 1.5) * ag.ops.Atanh.apply(a * 0.5)
                   + ag.ops.Expm1.apply(a) * a, [rng2.uniform(-1, 1, (4,))]),
    "gelu": (lambda a: ag.ops.Gelu.apply(a) * a, [rng2.standard_normal((2, 3))]),
    "layer_norm": (lambda x, w, b: ag.ops.LayerNorm.apply(x, w, b) ** 2,
                   [rng2.standard_normal((2, 4)), rng2.standard_normal((4,)), rng2.standard_normal((4,))]),
    "masked_softmax": (lambda a: ag.ops.MaskedSoftmax.apply(
                           a, keep=np.array([[True, False, True], [True, True, True]])) * a,
                       [rng2.standard_normal((2, 3))]),
    "sdpa": (lambda q, k, v, bias: ag.ops.ScaledDotProductAttention.apply(
                 q, k, v, bias, keep=np.array([[True, True, False], [True, True, True]]), scale=0.7),
             [rng2.standard_normal((2, 2)), rng2.standard_normal((3, 2)),
              rng2.standard_normal((3, 2)), rng2.standard_normal((2, 3))]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order_gradcheck(name):
    fn, inputs = SECOND_ORDER[name]
    assert gradcheck(_first_derivative(fn), inputs)


# ---- composites: finite differences too, so they are checked without PyTorch ----------------

rng3 = np.random.default_rng(3)
X34 = rng3.standard_normal((3, 4))
COMPOSITES = {
    "mean": (lambda x: x.mean(axis=(0, -1), keepdims=True) + x.mean(axis=1), [X34]),
    "var": (lambda x: x.var(axis=0) + x.var(ddof=1), [X34]),
    "std": (lambda x: x.std(axis=-1, keepdims=True), [X34]),
    "logsumexp": (lambda x: x.logsumexp(axis=(0, 1)) + x.logsumexp(axis=-1), [X34 * 10]),
    "softmax": (lambda x: x.softmax(axis=0), [X34]),
    "log_softmax": (lambda x: x.log_softmax(), [X34 * 5]),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), [_nonzero((3, 4), rng3)]),
    "elu": (lambda x: x.elu(0.7), [_nonzero((3, 4), rng3)]),
    "gelu": (lambda x: x.gelu(), [X34]),
    "gelu_tanh": (lambda x: x.gelu("tanh"), [X34]),
    "softplus": (lambda x: x.softplus(beta=2.0, threshold=3.0), [_away_from(X34, [1.5])]),
    "norm": (lambda x: x.norm(), [X34]),
    "matmul_1d": (lambda a, b: ag.matmul(a, b) + (a @ b[0]), [rng3.standard_normal(4), rng3.standard_normal((3, 4, 2))]),
    "stack_split": (lambda a, b: ag.split(ag.stack([a, b], axis=-1), [1], axis=0)[1].sum(axis=0) * a.unsqueeze(-1),
                    [rng3.standard_normal((3, 2)), rng3.standard_normal((3, 2))]),
    "pad_where": (lambda a: ag.where(a.data > 0, ag.pad(a, 1)[1:-1, 1:-1], a * a), [_nonzero((3, 4), rng3)]),
    "maximum_minimum": (lambda a, b: ag.maximum(a, b) * ag.minimum(a, 0.25),
                        [_away_from(X34, [0.25]), _separate(X34, rng3.standard_normal(4))]),
    "clip": (lambda a: a.clip(-0.5, 0.5), [_away_from(X34, [-0.5, 0.5])]),
    "getitem_mixed": (lambda a: a[[2, 0, 2], 1:][:, None, ::-1] * a[a.data[:, 0] > 0].sum(), [X34]),
    "reshape_moves": (lambda a: a.reshape(2, 6).T.flatten().unsqueeze(0).expand(3, 12).squeeze() * a.reshape(-1).sum(),
                      [X34]),
}


# The public ops these composites go through (tests/test_ops_breadth.py counts them).
covers(gradcheck=["mean", "var", "std", "logsumexp", "softmax", "log_softmax", "leaky_relu", "elu", "gelu",
                  "softplus", "norm", "matmul", "@", "stack", "split", "unsqueeze", "pad", "where", "getitem",
                  "maximum", "minimum", "clip", "reshape", "T", "flatten", "expand", "squeeze", "sum", "*"])


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_gradcheck(name):
    fn, inputs = COMPOSITES[name]
    assert gradcheck(fn, inputs)
