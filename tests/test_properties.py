"""Property-based tests (hypothesis): random expression graphs against finite differences and
PyTorch, algebraic identities of gradients, and shape/dtype invariants."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autograd as ag
from autograd import Tensor

try:
    import torch
except ImportError:  # the PyTorch comparison is skipped, the rest still runs
    torch = None

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ---- strategies -------------------------------------------------------------------------

@st.composite
def broadcastable_shapes(draw, count):
    """`count` shapes that broadcast together: each drops leading axes or sets some to 1."""
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=3))
    shapes = []
    for _ in range(count):
        drop = draw(st.integers(0, len(full)))
        shape = [1 if draw(st.booleans()) else n for n in full[drop:]]
        shapes.append(tuple(shape))
    return shapes


@st.composite
def axis_for(draw, ndim):
    """None, one axis (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        a = draw(st.integers(0, ndim - 1))
        return a - ndim if draw(st.booleans()) else a
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def arrays(shape, low=-2.0, high=2.0):
    return st.lists(st.floats(low, high, allow_nan=False, allow_infinity=False),
                    min_size=int(np.prod(shape)), max_size=int(np.prod(shape))).map(
        lambda v: np.array(v, dtype=np.float64).reshape(shape))


# ---- random expression graphs -----------------------------------------------------------------
# Each op is written once against a tiny "library" namespace, so the same program runs on
# autograd Tensors and on torch tensors. All ops are smooth (no kinks), so finite differences
# are valid; reductions inside the graph keep their axes, so every node still broadcasts.

def _dims(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


UNARY = {
    "sin": lambda x: x.sin(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "exp_tanh": lambda x: x.tanh().exp(),
    "log_1p_sq": lambda x: (x * x + 1).log(),
    "sqrt_1p_sq": lambda x: (x * x + 1).sqrt(),
    "square": lambda x: x * x,
    "scale": lambda x: x * 0.5 - 1.25,
    "pow_3": lambda x: x ** 3,
    "reciprocal": lambda x: 1 / (x * x + 1),
}
BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (y * y + 0.5),
}


def _ours_reduce(kind, x, axis, keepdims):
    if kind == "softmax":
        return x.softmax(-1) if x.ndim else x
    return getattr(x, kind)(axis, keepdims)


def _torch_reduce(kind, x, axis, keepdims):
    if kind == "softmax":
        return torch.softmax(x, -1) if x.ndim else x
    dims = _dims(axis, x.ndim)
    if kind == "logsumexp":
        return torch.logsumexp(x, dims, keepdim=keepdims) if x.ndim else x
    return getattr(x, kind)(dims, keepdim=keepdims) if x.ndim else x


REDUCE = ["sum", "mean", "logsumexp", "softmax"]

# Ops with kinks: fine against PyTorch (same subgradients), not against finite differences.
KINKED_UNARY = {
    "relu": lambda x: x.relu(),
    "abs": lambda x: x.abs(),
    "clip": lambda x: x.clip(-0.5, 0.7),
    "leaky_relu": lambda x: x.leaky_relu(0.2) if isinstance(x, Tensor) else
    torch.nn.functional.leaky_relu(x, 0.2),
    "elu": lambda x: x.elu() if isinstance(x, Tensor) else torch.nn.functional.elu(x),
    "gelu": lambda x: x.gelu() if isinstance(x, Tensor) else torch.nn.functional.gelu(x),
}
KINKED_BINARY = {
    "maximum": lambda x, y: x.maximum(y),
    "minimum": lambda x, y: x.minimum(y),
}


def _ours_kinked_reduce(kind, x, axis, keepdims):
    if kind in ("max", "min"):
        return getattr(x, kind)(axis, keepdims)
    return _ours_reduce(kind, x, axis, keepdims)


def _torch_kinked_reduce(kind, x, axis, keepdims):
    if kind in ("max", "min"):
        fn = torch.amax if kind == "max" else torch.amin
        return fn(x, _dims(axis, x.ndim), keepdim=keepdims) if x.ndim else x
    return _torch_reduce(kind, x, axis, keepdims)


@st.composite
def programs(draw, kinked=False):
    n_inputs = draw(st.integers(1, 3))
    shapes = draw(broadcastable_shapes(n_inputs))
    inputs = [draw(arrays(s)) for s in shapes]
    ndims = [len(s) for s in shapes]
    steps = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "binary", "reduce"]))
        node = draw(st.integers(0, len(ndims) - 1))
        if kind == "unary":
            names = sorted(UNARY) + (sorted(KINKED_UNARY) if kinked else [])
            steps.append(("unary", draw(st.sampled_from(names)), node))
            ndims.append(ndims[node])
        elif kind == "binary":
            other = draw(st.integers(0, len(ndims) - 1))
            names = sorted(BINARY) + (sorted(KINKED_BINARY) if kinked else [])
            steps.append(("binary", draw(st.sampled_from(names)), node, other))
            ndims.append(max(ndims[node], ndims[other]))
        else:
            axis = draw(axis_for(ndims[node]))
            names = REDUCE + (["max", "min"] if kinked else [])
            steps.append(("reduce", draw(st.sampled_from(names)), node, axis))
            ndims.append(ndims[node])
    final_axis = draw(axis_for(ndims[-1]))
    final_keepdims = draw(st.booleans())
    return inputs, steps, (final_axis, final_keepdims)


def run_program(steps, final, inputs, reduce_fn):
    nodes = list(inputs)
    for step in steps:
        if step[0] == "unary":
            nodes.append({**UNARY, **KINKED_UNARY}[step[1]](nodes[step[2]]))
        elif step[0] == "binary":
            nodes.append({**BINARY, **KINKED_BINARY}[step[1]](nodes[step[2]], nodes[step[3]]))
        else:
            nodes.append(reduce_fn(step[1], nodes[step[2]], step[3], True))
    axis, keepdims = final
    # Every input feeds the output (so no gradient is None), with a small weight.
    out = nodes[-1]
    for x in inputs:
        out = out + x * 1e-3
    return reduce_fn("sum", out, axis, keepdims)


@SETTINGS
@given(programs())
def test_random_graphs_match_finite_differences(program):
    inputs, steps, final = program
    assert ag.gradcheck(lambda *xs: run_program(steps, final, xs, _ours_reduce), inputs,
                        atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@SETTINGS
@given(programs(kinked=True))
def test_random_graphs_match_pytorch(program):
    # Kinked ops included: PyTorch uses the same subgradients at ties and kinks.
    inputs, steps, final = program
    ours = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inputs]
    out = run_program(steps, final, ours, _ours_kinked_reduce)
    tout = run_program(steps, final, theirs, _torch_kinked_reduce)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-9, atol=1e-12)
    weight = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    grads = ag.grad(out, ours, grad_outputs=Tensor(weight))
    tgrads = torch.autograd.grad(tout, theirs, grad_outputs=torch.tensor(weight))
    for g, tg, x in zip(grads, tgrads, ours):
        assert g.shape == x.shape and g.dtype == x.dtype
        np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@SETTINGS
@given(programs(kinked=True))
def test_random_graphs_hessian_vector_products_match_pytorch(program):
    inputs, steps, final = program
    ours = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in inputs]
    grads = ag.grad(run_program(steps, final, ours, _ours_kinked_reduce).sum(), ours, create_graph=True)
    tgrads = torch.autograd.grad(run_program(steps, final, theirs, _torch_kinked_reduce).sum(), theirs,
                                 create_graph=True)
    vs = [np.linspace(-1, 1, a.size).reshape(a.shape) for a in inputs]
    total = sum(((g * Tensor(v)).sum() for g, v in zip(grads, vs)), Tensor(np.array(0.0)))
    ttotal = sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vs))
    # A first gradient without graph (a graph of linear and kinked ops) has Hessian 0.
    hv = ag.grad(total, ours, allow_unused=True) if total.requires_grad else [None] * len(ours)
    thv = (torch.autograd.grad(ttotal, theirs, allow_unused=True) if ttotal.requires_grad
           else [None] * len(theirs))
    for h, th, x in zip(hv, thv, ours):
        got = np.zeros(x.shape) if h is None else h.data
        want = np.zeros(x.shape) if th is None else th.numpy(force=True)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


# ---- movement chains ----------------------------------------------------------------------------

@st.composite
def movement_program(draw):
    """A chain of movement ops (permute, flatten, indexing with repeats and negatives, flip,
    unsqueeze, pad, concatenate, expand, sum) over a random shape."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    steps = []
    cur = shape
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["perm", "reshape", "index", "flip", "unsqueeze", "pad", "cat", "expand", "sum"]))
        nd = len(cur)
        if kind == "perm":
            perm = tuple(draw(st.permutations(range(nd))))
            steps.append(("perm", perm)); cur = tuple(cur[p] for p in perm)
        elif kind == "reshape":
            steps.append(("reshape", (-1,))); cur = (int(np.prod(cur)),)
        elif kind == "index":
            n = cur[0]
            idx = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
            steps.append(("index", np.array(idx))); cur = (len(idx),) + cur[1:]
        elif kind == "flip":
            steps.append(("flip", None))
        elif kind == "unsqueeze":
            a = draw(st.integers(-nd - 1, nd)); steps.append(("unsqueeze", a))
            a = a % (nd + 1); cur = cur[:a] + (1,) + cur[a:]
        elif kind == "pad":
            w = (draw(st.integers(0, 2)), draw(st.integers(0, 2))); steps.append(("pad", w))
            cur = cur[:-1] + (cur[-1] + sum(w),)
        elif kind == "cat":
            a = draw(st.integers(-nd, nd - 1)); steps.append(("cat", a))
            a = a % nd; cur = cur[:a] + (2 * cur[a],) + cur[a + 1:]
        elif kind == "expand":
            steps.append(("expand", 2)); cur = (2,) + cur
        else:
            a = draw(st.integers(-nd, nd - 1)); steps.append(("sum", a))
            if nd == 1: steps[-1] = ("flip", None)
            else:
                a = a % nd; cur = cur[:a] + cur[a + 1:]
    return shape, steps

def run_movement(x, steps, torch_mode):
    for kind, p in steps:
        if kind == "perm": x = x.permute(*p)
        elif kind == "reshape": x = x.reshape(-1)
        elif kind == "index": x = x[torch.from_numpy(p)] if torch_mode else x[p]
        elif kind == "flip": x = torch.flip(x, (0,)) if torch_mode else x[::-1]
        elif kind == "unsqueeze": x = x.unsqueeze(p)
        elif kind == "pad":
            x = torch.nn.functional.pad(x, p) if torch_mode else ag.pad(x, [(0, 0)] * (x.ndim - 1) + [p])
        elif kind == "cat": x = (torch.cat if torch_mode else ag.concatenate)([x, x * 2], p)
        elif kind == "expand": x = x.expand(2, *x.shape)
        else: x = x.sum(p)
    return x


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@SETTINGS
@given(movement_program())
def test_random_movement_chains_match_pytorch(program):
    shape, steps = program
    data = np.random.default_rng(0).standard_normal(shape)
    x, tx = Tensor(data.copy(), requires_grad=True), torch.tensor(data.copy(), requires_grad=True)
    y, ty = run_movement(x, steps, False), run_movement(tx, steps, True)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.linspace(-1, 2, y.size).reshape(y.shape)
    (g,) = ag.grad(y, [x], grad_outputs=Tensor(w))
    (tg,) = torch.autograd.grad(ty, [tx], grad_outputs=torch.tensor(w))
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-12, atol=1e-12)


# ---- reductions over random shapes (empty axes included) ----------------------------------------

@st.composite
def reductions(draw):
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    nd = len(shape)
    kind = draw(st.sampled_from(["sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax",
                                 "var", "std"]))
    if kind in ("softmax", "log_softmax"):
        axis = draw(st.integers(-nd, nd - 1)) if nd else -1
    elif nd == 0:
        axis = draw(st.sampled_from([None, 0, -1]))
    else:
        axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                              st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)))
    return shape, kind, axis, draw(st.booleans())


def _torch_reduction(x, kind, axis, keepdims):
    if kind in ("softmax", "log_softmax"):
        return getattr(torch, kind)(x, axis)
    dims = tuple(range(x.ndim)) if axis is None else axis
    if kind in ("max", "min"):
        return (torch.amax if kind == "max" else torch.amin)(x, dims, keepdim=keepdims)
    if kind == "logsumexp":
        return torch.logsumexp(x, dims, keepdim=keepdims)
    if kind in ("var", "std"):
        return getattr(x, kind)(dims, correction=0, keepdim=keepdims)
    return getattr(x, kind)(dims, keepdim=keepdims)


@pytest.mark.skipif(torch is None, reason="needs PyTorch")
@settings(max_examples=80, deadline=None, derandomize=True)
@given(reductions())
def test_reductions_over_random_shapes_match_pytorch(case):
    shape, kind, axis, keepdims = case
    n = int(np.prod(shape))
    data = (np.random.default_rng(0).permutation(n) * 0.3).reshape(shape)  # no ties
    tx = torch.tensor(data, requires_grad=True)
    try:
        ty = _torch_reduction(tx, kind, axis, keepdims)
    except (RuntimeError, IndexError):  # e.g. the max of an empty axis: we raise too
        with pytest.raises((ValueError, IndexError)):
            x = Tensor(data)
            x.softmax(axis) if kind in ("softmax", "log_softmax") else getattr(x, kind)(axis, keepdims)
        return
    x = Tensor(data.copy(), requires_grad=True)
    if kind in ("mean", "var", "std") and ty.numel() and torch.isnan(ty).all():
        with pytest.raises(ValueError, match="zero elements|element"):  # NaN in PyTorch: an error here
            getattr(x, kind)(axis, keepdims)
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x.softmax(axis) if kind == "softmax" else x.log_softmax(axis) if kind == "log_softmax" \
            else getattr(x, kind)(axis, keepdims)
        assert y.shape == tuple(ty.shape)
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        w = np.linspace(0.5, 1.5, y.size).reshape(y.shape)
        (g,) = ag.grad(y, [x], grad_outputs=Tensor(w), allow_unused=True)
    (tg,) = torch.autograd.grad(ty, [tx], grad_outputs=torch.tensor(w), allow_unused=True)
    np.testing.assert_allclose(np.zeros(shape) if g is None else g.data,
                               np.zeros(shape) if tg is None else tg.numpy(), rtol=1e-10, atol=1e-12)


# ---- algebraic identities -----------------------------------------------------------------------

@SETTINGS
@given(broadcastable_shapes(2).flatmap(lambda s: st.tuples(arrays(s[0]), arrays(s[1]))))
def test_grad_of_x_times_y_plus_x_is_y_plus_1(xy):
    x, y = (Tensor(a, requires_grad=True) for a in xy)
    (gx,) = ag.grad((x * y + x).sum(), [x])
    # y + 1, summed over the axes along which x was broadcast
    expected = np.broadcast_to(xy[1] + 1, np.broadcast_shapes(x.shape, y.shape))
    lead = expected.ndim - x.ndim
    expected = expected.sum(axis=tuple(range(lead)))
    expected = expected.sum(axis=tuple(i for i, n in enumerate(x.shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(gx.data, expected.reshape(x.shape), rtol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=3).flatmap(lambda s: arrays(tuple(s), 0.1, 5.0)))
def test_exp_of_log_has_unit_derivative(x):
    t = Tensor(x, requires_grad=True)
    (g,) = ag.grad(t.log().exp().sum(), [t])
    np.testing.assert_allclose(g.data, np.ones_like(x), rtol=1e-12)
    (g2,) = ag.grad((t.sqrt() ** 2).sum(), [t])
    np.testing.assert_allclose(g2.data, np.ones_like(x), rtol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 3), max_size=3).flatmap(arrays),
       st.floats(-3, 3), st.floats(-3, 3))
def test_gradient_is_linear(x, a, b):
    t = Tensor(x, requires_grad=True)
    f, g = t.sin() * t, (t * t).tanh()
    (lhs,) = ag.grad((f * a + g * b).sum(), [t], retain_graph=True)
    (df,) = ag.grad(f.sum(), [t], retain_graph=True)
    (dg,) = ag.grad(g.sum(), [t])
    np.testing.assert_allclose(lhs.data, a * df.data + b * dg.data, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3).flatmap(arrays))
def test_movement_roundtrips_pass_gradients_through_unchanged(x):
    t = Tensor(x, requires_grad=True)
    w = np.arange(x.size, dtype=np.float64).reshape(x.shape)
    y = t.T.T.reshape(-1).reshape(x.shape).unsqueeze(0).squeeze(0)
    y = ag.split(ag.concatenate([y, y], axis=-1), 2, axis=-1)[0]
    (g,) = ag.grad((y * Tensor(w)).sum(), [t])
    np.testing.assert_allclose(g.data, w)


@SETTINGS
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(-n, n - 1), min_size=0, max_size=8))))
def test_indexing_gradient_counts_repeats(n_and_index):
    n, index = n_and_index
    t = Tensor(np.zeros(n), requires_grad=True)
    (g,) = ag.grad(t[np.array(index, dtype=np.int64)].sum(), [t], allow_unused=True)
    expected = np.zeros(n)
    np.add.at(expected, np.array(index, dtype=np.int64), 1.0)
    np.testing.assert_array_equal(g.data, expected)


# ---- shape and dtype invariants ------------------------------------------------------------------

@SETTINGS
@given(programs(), st.sampled_from([np.float32, np.float64]))
def test_gradients_have_the_shape_and_dtype_of_their_tensors(program, dtype):
    inputs, steps, final = program
    ours = [Tensor(a.astype(dtype), requires_grad=True) for a in inputs]
    out = run_program(steps, final, ours, _ours_reduce)
    assert out.dtype == dtype
    out.sum().backward()
    for x in ours:
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == x.dtype


@SETTINGS
@given(broadcastable_shapes(2), st.sampled_from([np.float32, np.float64]),
       st.sampled_from([np.float32, np.float64]))
def test_broadcast_gradients_sum_to_each_input_shape(shapes, da, db):
    a = Tensor(np.ones(shapes[0], da), requires_grad=True)
    b = Tensor(np.ones(shapes[1], db), requires_grad=True)
    out = a * b
    assert out.shape == np.broadcast_shapes(*shapes)
    out.sum().backward()
    assert a.grad.shape == a.shape and a.grad.dtype == da
    assert b.grad.shape == b.shape and b.grad.dtype == db
    # each element of a was used once per copy broadcast over it
    np.testing.assert_allclose(a.grad.data.sum() + b.grad.data.sum(), 2 * out.size)
