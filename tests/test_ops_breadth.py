"""PyTorch parity (values, dtypes, gradients, second order) and composite gradchecks for the
tensor-API-breadth ops: elementwise, activations, scans and sorting, norms, movement and
indexing, einsum, creation; the core ops through their public spellings. The last tests read
the public API off autograd, Tensor, nn.functional and nn, and fail when an op lacks either
kind of case in any test file (each names its ops with helpers.covers).
"""
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as NF
from autograd import Tensor, gradcheck
from helpers import GRADCHECKED, PARITY, assert_parity, assert_second_order_parity, covers

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(14)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def unit(*shape):
    return RNG.uniform(-0.8, 0.8, shape)


def distinct(*shape):
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def off_integers(*shape):
    return np.floor(RNG.uniform(-3, 3, shape)) + RNG.uniform(0.1, 0.4, shape)


CASES = []
GRADCHECKS = []


def case(op, tag, ours, theirs, *arrays, grad=True, f32=True, second=True, **tol):
    covers(parity=op)
    CASES.append(pytest.param(ours, theirs, arrays, grad, f32, second, tol, id=f"{op} {tag}"))


def check(op, tag, fn, *arrays, **options):
    """A float64 finite-difference gradcheck of a composite."""
    covers(gradcheck=op)
    GRADCHECKS.append(pytest.param(fn, list(arrays), options, id=f"{op} {tag}"))


# ---- elementwise --------------------------------------------------------------------------

UNARY = {
    "floor": (lambda a: a.floor(), torch.floor, off_integers),
    "ceil": (lambda a: a.ceil(), torch.ceil, off_integers),
    "round": (lambda a: a.round(), torch.round, off_integers),
    "trunc": (lambda a: a.trunc(), torch.trunc, off_integers),
    "sign": (lambda a: a.sign(), torch.sign, normal),
    "tan": (lambda a: a.tan(), torch.tan, unit),
    "sinh": (lambda a: a.sinh(), torch.sinh, normal),
    "cosh": (lambda a: a.cosh(), torch.cosh, normal),
    "asinh": (lambda a: a.asinh(), torch.asinh, normal),
    "acosh": (lambda a: a.acosh(), torch.acosh, lambda *s: 1.2 + positive(*s)),
    "atanh": (lambda a: a.atanh(), torch.atanh, unit),
    "asin": (lambda a: a.asin(), torch.asin, unit),
    "acos": (lambda a: a.acos(), torch.acos, unit),
    "atan": (lambda a: a.atan(), torch.atan, normal),
    "rsqrt": (lambda a: a.rsqrt(), torch.rsqrt, positive),
    "log2": (lambda a: a.log2(), torch.log2, positive),
    "log10": (lambda a: a.log10(), torch.log10, positive),
    "exp2": (lambda a: a.exp2(), torch.exp2, normal),
    "expm1": (lambda a: a.expm1(), torch.expm1, normal),
    "hardtanh": (lambda a: a.hardtanh(), F.hardtanh, lambda *s: 2 * normal(*s)),
    "relu6": (lambda a: a.relu6(), F.relu6, lambda *s: 5 * normal(*s)),
    "hardsigmoid": (lambda a: a.hardsigmoid(), F.hardsigmoid, lambda *s: 5 * normal(*s)),
    "hardswish": (lambda a: a.hardswish(), F.hardswish, lambda *s: 5 * normal(*s)),
    "mish": (lambda a: a.mish(), F.mish, lambda *s: 3 * normal(*s)),
    "celu": (lambda a: a.celu(), F.celu, normal),
    "selu": (lambda a: a.selu(), F.selu, normal),
    "softsign": (lambda a: a.softsign(), F.softsign, normal),
    "logsigmoid": (lambda a: a.logsigmoid(), F.logsigmoid, lambda *s: 10 * normal(*s)),
}
FUNCTIONS = {  # the same ops as autograd.<name> / nn.functional.<name> / a module
    "hardtanh": (NF.hardtanh, nn.Hardtanh), "relu6": (NF.relu6, nn.ReLU6),
    "hardsigmoid": (NF.hardsigmoid, nn.Hardsigmoid), "hardswish": (NF.hardswish, nn.Hardswish),
    "mish": (NF.mish, nn.Mish), "celu": (NF.celu, nn.CELU), "selu": (NF.selu, nn.SELU),
    "softsign": (NF.softsign, nn.Softsign), "logsigmoid": (NF.logsigmoid, nn.LogSigmoid),
}
# PyTorch's hardsigmoid and celu multiply by 1/6 and 1/alpha rounded to float32, also in float64.
# PyTorch has no double backward for hardsigmoid (ours is 0, the slope being piecewise constant).
LOOSE = {"hardsigmoid": dict(rtol=1e-7, second=False), "celu": dict(rtol=1e-7)}
for name, (ours, theirs, make) in UNARY.items():
    tol = LOOSE.get(name, {})
    for shape in [(), (3, 4)]:
        case(name, f"{shape}", ours, theirs, make(*shape), **tol)
    case(name, "function", getattr(ag, name), theirs, make(2, 3), **tol)
    check(name, "(3, 2)", ours, make(3, 2))
    if name in FUNCTIONS:
        function, module = FUNCTIONS[name]
        case(f"F.{name}", "(2, 3)", function, theirs, make(2, 3), **tol)
        case(f"nn.{module.__name__}", "(2, 3)", module(), theirs, make(2, 3), **tol)
# At the kinks (slopes there as PyTorch's).
case("hardtanh", "at the bounds", lambda a: a.hardtanh(), F.hardtanh, np.array([-1.0, 1.0, 0.0, -2.0]))
case("relu6", "at 0 and 6", lambda a: a.relu6(), F.relu6, np.array([0.0, 6.0, 3.0, 7.0]))
case("hardsigmoid", "at +-3", lambda a: a.hardsigmoid(), F.hardsigmoid, np.array([-3.0, 3.0, 0.0]), rtol=1e-7,
     second=False)
case("hardswish", "at +-3", lambda a: a.hardswish(), F.hardswish, np.array([-3.0, 3.0, 0.0]),
     second=False)  # PyTorch's second derivative at exactly +-3 takes the other branch
case("celu", "alpha and at 0", lambda a: a.celu(0.5), lambda a: F.celu(a, 0.5), np.array([-1.0, 0.0, 2.0]),
     rtol=1e-7, second=False)
case("nn.Hardtanh", "bounds", nn.Hardtanh(-0.5, 2.0), lambda a: F.hardtanh(a, -0.5, 2.0), normal(3, 4))
case("nn.CELU", "alpha", nn.CELU(0.7), lambda a: F.celu(a, 0.7), normal(3, 4), rtol=1e-7,
     second=False)  # the float32 1/alpha again, beyond the second-order helper's tolerance
case("round", "decimals", lambda a: a.round(1), lambda a: torch.round(a, decimals=1),
     off_integers(3, 4) / 10 + 0.003)
case("sign", "at 0", lambda a: a.sign(), torch.sign, np.array([-1.0, 0.0, 2.0]))
case("logsigmoid", "large", lambda a: a.logsigmoid(), F.logsigmoid, np.array([-40.0, -3.0, 25.0, 60.0]))

BINARY = {
    "atan2": (lambda a, b: a.atan2(b), torch.atan2, normal, normal),
    "hypot": (lambda a, b: a.hypot(b), torch.hypot, normal, normal),
    "fmod": (lambda a, b: a.fmod(b), torch.fmod, lambda *s: 3 * normal(*s), positive),
    "remainder": (lambda a, b: a.remainder(b), torch.remainder, lambda *s: 3 * normal(*s),
                  lambda *s: positive(*s) * RNG.choice([-1, 1], s)),
}
for name, (ours, theirs, make_a, make_b) in BINARY.items():
    for sa, sb in [((3, 2), (2,)), ((), (4,)), ((2, 1), (1, 3))]:
        case(name, f"{sa}{sb}", ours, theirs, make_a(*sa), make_b(*sb))
    case(name, "function", getattr(ag, name), theirs, make_a(2, 3), make_b(2, 3))
    check(name, "(3, 2)(2,)", ours, make_a(3, 2), make_b(2))
case("fmod", "number", lambda a: a.fmod(-1.5), lambda a: torch.fmod(a, -1.5), 3 * normal(5))


def test_hypot_at_the_origin_has_gradient_0():
    # PyTorch's is NaN there (0/0); ours takes the subgradient 0, as its norm does.
    a, b = ag.zeros(3, requires_grad=True), ag.zeros(3, requires_grad=True)
    a.hypot(b).sum().backward()
    assert a.grad.tolist() == [0.0] * 3 and b.grad.tolist() == [0.0] * 3



for sa, sb, sw in [((3, 2), (3, 2), ()), ((3, 2), (2,), (3, 1)), ((), (4,), (4,))]:
    case("lerp", f"{sa}{sb} weight {sw}", lambda a, b, w: a.lerp(b, w), torch.lerp,
         normal(*sa), normal(*sb), RNG.uniform(0, 1, sw))
case("lerp", "number weight", lambda a, b: ag.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3),
     normal(3, 2), normal(3, 2))
check("lerp", "(3, 2)", lambda a, b, w: a.lerp(b, w), normal(3, 2), normal(2), RNG.uniform(0, 1, (3, 1)))

BOOL_A, BOOL_B = RNG.uniform(size=(3, 4)) > 0.5, RNG.uniform(size=(4,)) > 0.5
INT_A, INT_B = RNG.integers(-8, 8, (3, 4)), RNG.integers(0, 8, (4,))
for tag, a, b in (("bool", BOOL_A, BOOL_B), ("int", INT_A, INT_B)):
    case("&", tag, lambda x, y: x & y, lambda x, y: x & y, a, b, grad=False)
    case("|", tag, lambda x, y: x | y, lambda x, y: x | y, a, b, grad=False)
    case("^", tag, lambda x, y: x ^ y, lambda x, y: x ^ y, a, b, grad=False)
    case("~", tag, lambda x: ~x, lambda x: ~x, a, grad=False)
    case("&", f"{tag} with number", lambda x: True & x if x.dtype == bool else 5 & x,
         lambda x: True & x if x.dtype == torch.bool else 5 & x, a, grad=False)
NUMS = (normal(3, 4) * (RNG.uniform(size=(3, 4)) > 0.5), np.array([0.0, 1.0, -2.0, 0.0]))
for name in ("logical_and", "logical_or", "logical_xor"):
    case(name, "float", getattr(ag, name), getattr(torch, name), *NUMS, grad=False)
    case(name, "method bool", lambda x, y, n=name: getattr(x, n)(y),
         lambda x, y, n=name: getattr(x, n)(y), BOOL_A, BOOL_B, grad=False)
case("logical_not", "float", ag.logical_not, torch.logical_not, NUMS[0], grad=False)
case("logical_not", "method int", lambda x: x.logical_not(), lambda x: x.logical_not(), INT_A, grad=False)


def test_bitwise_ops_on_floats_say_what_to_do():
    with pytest.raises(TypeError, match=r"&: needs bool or integer tensors, got dtype float32.*logical"):
        ag.Tensor([1.0]) & ag.Tensor([0.0])
    with pytest.raises(TypeError, match=r"~: needs bool or integer"):
        ~ag.Tensor([1.0])


# ---- reductions, scans, sorting -------------------------------------------------------------

for shape in [(5,), (3, 4), (2, 3, 4)]:
    for axis in range(-len(shape), len(shape)):
        case("cumsum", f"{shape} axis={axis}", lambda a, ax=axis: a.cumsum(ax),
             lambda a, ax=axis: torch.cumsum(a, ax), normal(*shape))
        case("cumprod", f"{shape} axis={axis}", lambda a, ax=axis: a.cumprod(ax),
             lambda a, ax=axis: torch.cumprod(a, ax), normal(*shape))
        case("prod", f"{shape} axis={axis}", lambda a, ax=axis: a.prod(ax),
             lambda a, ax=axis: torch.prod(a, ax), normal(*shape))
        case("prod", f"{shape} axis={axis} keepdims", lambda a, ax=axis: a.prod(ax, keepdims=True),
             lambda a, ax=axis: torch.prod(a, ax, keepdim=True), normal(*shape))
ZEROS = np.array([[2.0, 0.0, -1.5, 0.7], [0.0, 1.3, 0.0, 2.0], [1.5, -0.5, 0.8, 0.0]])
case("cumprod", "with zeros", lambda a: a.cumprod(1), lambda a: torch.cumprod(a, 1), ZEROS)
case("prod", "with zeros", lambda a: a.prod(1), lambda a: torch.prod(a, 1), ZEROS)
case("prod", "all", lambda a: a.prod(), torch.prod, normal(2, 3))
case("prod", "tuple axis", lambda a: a.prod((0, 2)), lambda a: a.prod(2).prod(0), normal(2, 3, 2))
case("prod", "0-d", lambda a: a.prod(), torch.prod, np.array(1.7))
case("cumsum", "flattened", lambda a: ag.cumsum(a), lambda a: torch.cumsum(a.reshape(-1), 0), normal(2, 3))
case("cumprod", "flattened", lambda a: ag.cumprod(a), lambda a: torch.cumprod(a.reshape(-1), 0), normal(2, 3))
check("cumsum", "(3, 4) axis 1", lambda a: a.cumsum(1), normal(3, 4))
check("cumprod", "(3, 4) axis 0 with zeros", lambda a: a.cumprod(0), ZEROS.T.copy())
check("prod", "(2, 3, 2) axes (0, 2)", lambda a: a.prod((0, 2), keepdims=True), normal(2, 3, 2))
check("prod", "with zeros", lambda a: a.prod(1), ZEROS)


def test_prod_second_derivative_with_two_zeros_matches_pytorch():
    assert_second_order_parity(lambda a: a.prod(1), lambda a: torch.prod(a, 1), ZEROS)


NORMS = [(None, None), (None, 1), (1, None), (1, -1), (3, 0), (0.5, 1), (math.inf, 1), (-math.inf, 0),
         (0, 1), ("fro", (0, 1)), (1, (0, 1)), (-1, (1, 0)), (math.inf, (0, 1)), (-math.inf, (0, 1)),
         (None, (0, 1))]
for ord_, axis in NORMS:
    for keepdims in (False, True):
        if axis is None and ord_ is None:
            theirs = (lambda a, k=keepdims: torch.linalg.norm(a.reshape(-1)).reshape((1, 1) if k else ()))
        elif axis is None:
            theirs = (lambda a, o=ord_, k=keepdims: torch.linalg.vector_norm(a, o, keepdim=k))
        else:
            theirs = (lambda a, o=ord_, ax=axis, k=keepdims: torch.linalg.norm(a, o, ax, keepdim=k))
        case("norm", f"ord={ord_} axis={axis} keepdims={keepdims}",
             lambda a, o=ord_, ax=axis, k=keepdims: a.norm(o, ax, k), theirs, distinct(3, 4))
case("norm", "function", lambda a: ag.norm(a, 2, 0), lambda a: torch.linalg.norm(a, 2, 0), normal(3, 4))
case("norm", "zero column", lambda a: (a * Tensor(np.array([0.0, 1.0]))).norm(axis=0),
     lambda a: torch.linalg.norm(a * torch.tensor([0.0, 1.0], dtype=a.dtype), dim=0), normal(3, 2),
     f32=False, second=False)  # PyTorch's double backward divides by the zero norm
check("norm", "ord 3 axis 1", lambda a: a.norm(3, 1), normal(3, 4))
check("norm", "fro", lambda a: a.norm("fro", (0, 1)), normal(3, 4))


def test_norm_errors_name_the_unsupported_ord():
    with pytest.raises(NotImplementedError, match="norm: matrix ord=2 needs an SVD"):
        ag.ones(2, 2).norm(2, (0, 1))
    with pytest.raises(NotImplementedError, match="nuc"):
        ag.ones(2, 2).norm("nuc", (0, 1))
    with pytest.raises(IndexError, match="norm: axis 2"):
        ag.ones(2, 2).norm(1, 2)


for shape, axis in [((6,), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1)]:
    for desc in (False, True):
        case("sort", f"{shape} axis={axis} descending={desc}",
             lambda a, ax=axis, d=desc: a.sort(ax, d), lambda a, ax=axis, d=desc: torch.sort(a, ax, d),
             distinct(*shape), second=False)
        case("argsort", f"{shape} axis={axis} descending={desc}",
             lambda a, ax=axis, d=desc: a.argsort(ax, d),
             lambda a, ax=axis, d=desc: torch.argsort(a, ax, d), distinct(*shape), grad=False)
    for k, largest in ((1, True), (2, False), (shape[axis], True)):
        case("topk", f"{shape} axis={axis} k={k} largest={largest}",
             lambda a, kk=k, ax=axis, lg=largest: a.topk(kk, ax, lg),
             lambda a, kk=k, ax=axis, lg=largest: torch.topk(a, kk, ax, lg), distinct(*shape), second=False)
# (sort and topk also return integer indices, which the second-order helper cannot weigh;
# their values are a gather, whose second derivative is 0.)
case("sort", "function", ag.sort, torch.sort, distinct(5), second=False)
case("sort", "stable ties", lambda a: ag.sort(a.round()), lambda a: torch.sort(a.round(), stable=True),
     np.array([2.2, 1.1, 2.1, 0.9, 1.2]), second=False)
case("argsort", "function", ag.argsort, torch.argsort, distinct(5), grad=False)
case("topk", "function", lambda a: ag.topk(a, 2), lambda a: torch.topk(a, 2), distinct(5), second=False)
check("sort", "(3, 4) descending", lambda a: a.sort(1, True)[0], distinct(3, 4))
check("topk", "(3, 4) k=2", lambda a: a.topk(2, 0)[0], distinct(3, 4))

MASK = RNG.uniform(size=(3, 4)) > 0.5
for axis in (None, 0, 1):
    for keepdims in (False, True):
        dims = () if axis is None else (axis,)
        case("all", f"axis={axis} keepdims={keepdims}", lambda a, ax=axis, k=keepdims: a.all(ax, k),
             lambda a, d=dims, k=keepdims: torch.all(a, *d, keepdim=k) if d else torch.all(a).reshape((1, 1) if k else ()), MASK,
             grad=False)
        case("any", f"axis={axis} keepdims={keepdims}", lambda a, ax=axis, k=keepdims: a.any(ax, k),
             lambda a, d=dims, k=keepdims: torch.any(a, *d, keepdim=k) if d else torch.any(a).reshape((1, 1) if k else ()), MASK,
             grad=False)

# ---- movement and indexing -------------------------------------------------------------------

X = normal(3, 4, 2)
for axis in (None, 0, -1, (0, 2)):
    dims = (0, 1, 2) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    case("flip", f"axis={axis}", lambda a, ax=axis: a.flip(ax), lambda a, d=dims: torch.flip(a, d), X)
case("flip", "function", lambda a: ag.flip(a, 1), lambda a: torch.flip(a, (1,)), X)
for shifts, axis in ((1, 0), (-3, 1), ((1, 5), (0, 2)), (4, None)):
    case("roll", f"shifts={shifts} axis={axis}", lambda a, s=shifts, ax=axis: a.roll(s, ax),
         lambda a, s=shifts, ax=axis: torch.roll(a, s, ax), X)
case("roll", "function", lambda a: ag.roll(a, 2, 1), lambda a: torch.roll(a, 2, 1), X)
for sizes in ((2, 1, 3), (1, 2, 3, 1), (1, 1, 1)):
    case("repeat", f"{sizes}", lambda a, s=sizes: a.repeat(*s), lambda a, s=sizes: a.repeat(*s), X)
for reps in ((2,), (2, 1, 3), (2, 1, 1, 2)):
    case("tile", f"{reps}", lambda a, r=reps: a.tile(r), lambda a, r=reps: torch.tile(a, r), X)
case("tile", "function", lambda a: ag.tile(a, (2, 3)), lambda a: torch.tile(a, (2, 3)), normal(2, 2))
for repeats, axis in ((2, 0), (3, -1), (2, None)):
    case("repeat_interleave", f"{repeats} axis={axis}", lambda a, r=repeats, ax=axis: a.repeat_interleave(r, ax),
         lambda a, r=repeats, ax=axis: torch.repeat_interleave(a, r, ax), X)
COUNTS = np.array([2, 0, 1, 3])
case("repeat_interleave", "counts", lambda a, c: a.repeat_interleave(c, 1),
     lambda a, c: torch.repeat_interleave(a, c, 1), X, COUNTS)
case("repeat_interleave", "function", lambda a: ag.repeat_interleave(a, 2, 0),
     lambda a: torch.repeat_interleave(a, 2, 0), normal(2, 2))
check("flip", "(3, 4, 2)", lambda a: a.flip((0, 2)), X)
check("roll", "(3, 4, 2)", lambda a: a.roll((1, -1), (0, 1)), X)
check("repeat", "(3, 4, 2)", lambda a: a.repeat(2, 1, 2), X)
check("tile", "(3, 4, 2)", lambda a: a.tile((2, 1)), X)
check("repeat_interleave", "(3, 4, 2)", lambda a: a.repeat_interleave(COUNTS, 1), X)

IDX = RNG.integers(0, 4, (3, 2, 2))  # along axis 1 of (3, 4, 2)
for axis, index in ((1, IDX), (0, RNG.integers(0, 3, (2, 4, 2))), (-1, RNG.integers(0, 2, (3, 4, 5))),
                    (1, RNG.integers(0, 4, (2, 3, 1)))):
    case("gather", f"axis={axis} index{index.shape}", lambda a, i, ax=axis: a.gather(ax, i),
         lambda a, i, ax=axis: torch.gather(a, ax, i), X, index)
case("gather", "function", lambda a, i: ag.gather(a, 1, i), lambda a, i: torch.gather(a, 1, i), X, IDX)
for axis, index in ((1, IDX), (-1, RNG.integers(-2, 2, (3, 4, 5))), (0, RNG.integers(0, 3, (1, 4, 2)))):
    case("take_along_axis", f"axis={axis} index{index.shape}",
         lambda a, i, ax=axis: a.take_along_axis(i, ax),
         lambda a, i, ax=axis: torch.take_along_dim(a, i % a.shape[ax], ax), X, index)
case("take_along_axis", "function", lambda a, i: ag.take_along_axis(a, i, 1),
     lambda a, i: torch.take_along_dim(a, i, 1), X, IDX)
# scatter: an index that never repeats along the axis (PyTorch leaves repeats undefined)
UNIQUE = np.stack([RNG.permutation(4)[:3] for _ in range(6)]).reshape(3, 2, 3).transpose(0, 2, 1)
case("scatter", "axis=1", lambda a, i, s: a.scatter(1, i, s), lambda a, i, s: torch.scatter(a, 1, i, s),
     X, UNIQUE.copy(), normal(3, 3, 2))
case("scatter", "number", lambda a, i: a.scatter(1, i, 0.5), lambda a, i: torch.scatter(a, 1, i, 0.5),
     X, UNIQUE.copy())
case("scatter", "larger src", lambda a, i, s: ag.scatter(a, 1, i, s),
     lambda a, i, s: torch.scatter(a, 1, i, s[:, :3, :2]), X, UNIQUE.copy(), normal(3, 4, 3))
for axis, index in ((1, IDX), (0, RNG.integers(0, 3, (5, 4, 2)))):  # repeats accumulate
    case("scatter_add", f"axis={axis}", lambda a, i, s, ax=axis: a.scatter_add(ax, i, s),
         lambda a, i, s, ax=axis: torch.scatter_add(a, ax, i, s), X, index, normal(*index.shape))
case("scatter_add", "function", lambda a, i, s: ag.scatter_add(a, 1, i, s),
     lambda a, i, s: torch.scatter_add(a, 1, i, s), X, IDX, normal(*IDX.shape))
for axis, index in ((0, np.array([2, 0, 2])), (1, np.array([3, -1, 0, 0])), (2, np.array([1]))):
    case("index_select", f"axis={axis}", lambda a, i, ax=axis: a.index_select(ax, i),
         lambda a, i, ax=axis: torch.index_select(a, ax, i % a.shape[ax]), X, index)
case("index_select", "function", lambda a, i: ag.index_select(a, 0, i),
     lambda a, i: torch.index_select(a, 0, i), X, np.array([1, 1]))
for mask in (X > 0, X[0] > 0, X[..., :1] > 0):
    case("masked_select", f"mask{mask.shape}", lambda a, m: a.masked_select(m), torch.masked_select, X, mask)
case("masked_select", "function", ag.masked_select, torch.masked_select, X, X > 0.5)
check("gather", "axis 1", lambda a: a.gather(1, IDX), X)
ALONG = RNG.integers(0, 2, (3, 4, 3))
check("take_along_axis", "axis -1", lambda a: a.take_along_axis(ALONG, -1), X)
check("scatter", "axis 1", lambda a, s: a.scatter(1, UNIQUE, s), X, normal(3, 3, 2))
check("scatter_add", "axis 1 repeats", lambda a, s: a.scatter_add(1, IDX, s), X, normal(3, 2, 2))
check("index_select", "repeats", lambda a: a.index_select(1, np.array([3, 3, 0])), X)
check("masked_select", "(3, 4, 2)", lambda a: a.masked_select(X > 0), X)


def test_scatter_with_a_repeated_index_keeps_the_last_write():
    x = ag.zeros(4, requires_grad=True)
    src = ag.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = x.scatter(0, np.array([1, 1, 2]), src)
    assert out.tolist() == [0.0, 2.0, 3.0, 0.0]
    (out * ag.Tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert src.grad.tolist() == [0.0, 10.0, 100.0] and x.grad.tolist() == [1.0, 0.0, 0.0, 1000.0]


def test_gather_errors_name_the_shapes():
    with pytest.raises(IndexError, match=r"gather: index 4 is out of range for axis 1 of size 4"):
        ag.ones(2, 4).gather(1, np.array([[0, 4]]))
    with pytest.raises(TypeError, match="gather: indices must be integers"):
        ag.ones(2, 4).gather(1, np.array([[0.0]]))
    with pytest.raises(ValueError, match=r"gather: index of shape \(3, 1\)"):
        ag.ones(2, 4).gather(1, np.zeros((3, 1), int))


case("unflatten", "axis 1", lambda a: a.unflatten(1, (2, 2)), lambda a: a.unflatten(1, (2, 2)), X)
case("unflatten", "-1 size", lambda a: ag.unflatten(a, -1, (1, -1)), lambda a: a.unflatten(-1, (1, -1)), X)
check("unflatten", "axis 0", lambda a: a.unflatten(0, (3, 1)), X)

X3 = normal(2, 3, 5)
X4 = normal(1, 2, 4, 5)
for mode in ("constant", "reflect", "replicate", "circular"):
    case("pad", f"{mode} last axis", lambda a, m=mode: a.pad(((0, 0), (0, 0), (2, 3)), m),
         lambda a, m=mode: F.pad(a, (2, 3), mode=m), X3)
    case("pad", f"{mode} last two axes", lambda a, m=mode: a.pad(((0, 0), (0, 0), (1, 2), (3, 1)), m),
         lambda a, m=mode: F.pad(a, (3, 1, 1, 2), mode=m), X4)
    check("pad", mode, lambda a, m=mode: a.pad(((0, 0), (1, 1), (2, 1)), m), X3)
case("pad", "constant value", lambda a: a.pad(((1, 0), (0, 2)), value=-1.0),
     lambda a: F.pad(a, (0, 2, 1, 0), value=-1.0), normal(2, 3))
case("F.pad", "PyTorch's order", lambda a: NF.pad(a, (3, 1, 1, 2), mode="reflect"),
     lambda a: F.pad(a, (3, 1, 1, 2), mode="reflect"), X4)
case("F.pad", "constant", lambda a: NF.pad(a, (1, 2), value=0.5), lambda a: F.pad(a, (1, 2), value=0.5), X3)


def test_pad_errors_name_the_mode():
    with pytest.raises(ValueError, match="pad: mode must be 'constant'"):
        ag.ones(3).pad(1, "wrap")
    with pytest.raises(ValueError, match=r"reflect padding \(3, 0\) must be smaller than axis 0 of size 3"):
        ag.ones(3).pad((3, 0), "reflect")


case("cat", "alias", lambda a, b: ag.cat([a, b], -1), lambda a, b: torch.cat([a, b], -1), normal(2, 3), normal(2, 1))
for chunks, axis in ((2, 0), (3, 1), (5, 1), (1, -1)):
    case("chunk", f"{chunks} axis={axis}", lambda a, c=chunks, ax=axis: a.chunk(c, ax),
         lambda a, c=chunks, ax=axis: torch.chunk(a, c, ax), X)
case("chunk", "function", lambda a: ag.chunk(a, 2, 1), lambda a: torch.chunk(a, 2, 1), X)
for sizes, axis in ((2, 1), (3, 1), ([1, 3], 1), ([2, 0, 1], 0)):
    case("split", f"{sizes} axis={axis}", lambda a, s=sizes, ax=axis: a.split(s, ax),
         lambda a, s=sizes, ax=axis: torch.split(a, s, ax), X)
check("chunk", "3", lambda a: ag.concatenate([p * (i + 1) for i, p in enumerate(a.chunk(3, 1))], 1), X)
check("split", "sizes", lambda a: ag.concatenate([p * (i + 1) for i, p in enumerate(a.split([1, 3], 1))], 1), X)

for indexing in ("ij", "xy"):
    case("meshgrid", indexing, lambda a, b, c, i=indexing: ag.meshgrid(a, b, c, indexing=i),
         lambda a, b, c, i=indexing: torch.meshgrid(a, b, c, indexing=i), normal(3), normal(2), normal(4))
case("meshgrid", "list and 0-d", lambda a, b: ag.meshgrid([a, b]), lambda a, b: torch.meshgrid([a, b], indexing="ij"),
     normal(3), np.array(1.5))
check("meshgrid", "xy", lambda a, b: ag.meshgrid(a, b, indexing="xy")[0] * ag.meshgrid(a, b, indexing="xy")[1],
      normal(3), normal(2))

# ---- einsum ---------------------------------------------------------------------------------------

EINSUM = [
    ("ij,jk->ik", [(3, 2), (2, 4)]), ("ij,jk", [(3, 2), (2, 4)]), ("bij,bjk->bik", [(2, 3, 2), (2, 2, 3)]),
    ("i,j->ij", [(3,), (2,)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iji->j", [(2, 3, 2)]),
    ("ij->ji", [(3, 2)]), ("ij->", [(3, 2)]), ("ba", [(3, 2)]), ("...ij,...jk->...ik", [(2, 3, 2), (2, 4)]),
    ("...i,...i->...", [(4, 1, 3), (2, 3)]), ("i...->...", [(3, 2, 2)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 4)]), ("i,i->", [(4,), (4,)]), ("ab,cd->", [(2, 1), (1, 2)]),
    ("ij, jk -> ik", [(3, 2), (2, 4)]), ("Ab,bC->AC", [(2, 3), (3, 2)]),
]
for spec, shapes in EINSUM:
    case("einsum", f"{spec!r} {shapes}", lambda *ts, s=spec: ag.einsum(s, *ts),
         lambda *ts, s=spec: torch.einsum(s, *ts), *[normal(*s) for s in shapes])
case("einsum", "operands as a list", lambda a, b: ag.einsum("ij,jk", [a, b]),
     lambda a, b: torch.einsum("ij,jk", [a, b]), normal(2, 3), normal(3, 2))
check("einsum", "broadcast ellipsis", lambda a, b: ag.einsum("...ij,...jk->...ik", a, b), normal(2, 1, 3, 2), normal(3, 2, 2))
check("einsum", "diagonal", lambda a: ag.einsum("ii->i", a), normal(3, 3))


def test_einsum_errors_name_the_subscripts():
    with pytest.raises(ValueError, match=r"einsum: letter 'j' has size 2 in one operand and 3"):
        ag.einsum("ij,jk", ag.ones(3, 2), ag.ones(3, 4))
    with pytest.raises(ValueError, match=r"einsum: 2 operand subscript\(s\) for 1 operand"):
        ag.einsum("ij,jk", ag.ones(3, 2))
    with pytest.raises(ValueError, match=r"einsum: 'ijk' names 3 axes for an operand with 2"):
        ag.einsum("ijk", ag.ones(3, 2))
    with pytest.raises(ValueError, match="output letter 'z' appears in no operand"):
        ag.einsum("ij->z", ag.ones(3, 2))


def test_einsum_second_order_through_create_graph():
    assert_second_order_parity(lambda a, b: ag.einsum("ij,jk->ik", a * a, b),
                               lambda a, b: torch.einsum("ij,jk->ik", a * a, b), normal(2, 3), normal(3, 2))


# ---- creation ------------------------------------------------------------------------------------

case("full", "shape", lambda: ag.full((2, 3), 1.5), lambda: torch.full((2, 3), 1.5), f32=False)
case("full_like", "value", lambda a: ag.full_like(a, 2.5), lambda a: torch.full_like(a, 2.5), normal(2, 3),
     grad=False)
case("eye", "square", lambda: ag.eye(3), lambda: torch.eye(3), f32=False)
case("eye", "rectangular", lambda: ag.eye(2, 4), lambda: torch.eye(2, 4), f32=False)
for start, end, steps in ((0.0, 1.0, 5), (-2.0, 3.0, 1), (1.0, -1.0, 4), (0.0, 1.0, 0)):
    case("linspace", f"{start},{end},{steps}", lambda s=start, e=end, n=steps: ag.linspace(s, e, n),
         lambda s=start, e=end, n=steps: torch.linspace(s, e, n), f32=False, rtol=1e-6, atol=1e-7)
# (PyTorch's empty memory may hold NaN, which * 0 keeps: zero_() it instead)
case("empty", "shape and dtype", lambda: ag.empty(2, 3) * 0, lambda: torch.empty(2, 3).zero_(), f32=False)
case("empty_like", "shape and dtype", lambda a: ag.empty_like(a) * 0, lambda a: torch.empty_like(a).zero_(),
     normal(2, 3), grad=False)
case("randint", "shape, dtype, range", lambda: (ag.randint(3, 7, (50,)) >= 3) & (ag.randint(3, 7, (50,)) < 7),
     lambda: (torch.randint(3, 7, (50,)) >= 3) & (torch.randint(3, 7, (50,)) < 7), f32=False, grad=False)
case("multinomial", "shape and dtype", lambda: ag.multinomial(ag.Tensor([[0.2, 0.8], [1.0, 1.0]]), 2) * 0,
     lambda: torch.multinomial(torch.tensor([[0.2, 0.8], [1.0, 1.0]]), 2) * 0, f32=False, grad=False)


def test_randint_draws_every_value_in_range_from_the_shared_generator():
    ag.manual_seed(0)
    a = ag.randint(2, 6, (4000,))
    ag.manual_seed(0)
    assert a.dtype == np.int64 and np.array_equal(a.data, ag.randint(2, 6, (4000,)).data)
    counts = np.bincount(a.data, minlength=6)
    assert counts[:2].sum() == 0 and (np.abs(counts[2:] / 4000 - 0.25) < 0.04).all()
    assert ag.randint(5, size=3).data.max() < 5


def test_multinomial_frequencies_follow_the_weights():
    ag.manual_seed(1)
    draws = ag.multinomial(ag.Tensor([1.0, 3.0, 0.0]), 4000, replacement=True).data
    freq = np.bincount(draws, minlength=3) / 4000
    assert abs(freq[0] - 0.25) < 0.03 and freq[2] == 0
    rows = ag.multinomial(ag.Tensor([[1.0, 1.0, 1.0]] * 5), 3).data  # without replacement
    assert all(sorted(r) == [0, 1, 2] for r in rows.tolist())
    with pytest.raises(ValueError, match="multinomial: cannot draw 3 samples without replacement from 2"):
        ag.multinomial(ag.Tensor([1.0, 0.0, 1.0]), 3)


# ---- the core ops through their public spellings ----------------------------------------------
# (test_gradcheck_primitives.py gradchecks their primitives over its shape menu and
# test_parity_ops.py compares them with PyTorch in depth; these cases check each public name.)

A32, B2, P2 = normal(3, 2), normal(2), positive(2)
OFF = off_integers(3, 2)  # never within 0.1 of an integer or of 0.5: away from every kink below
NEAR = np.floor(OFF) + 0.7  # at least 0.3 from OFF, elementwise: no ties for maximum/minimum
MASK32 = RNG.uniform(size=(3, 2)) > 0.5
check("+", "broadcast and number", lambda a, b: a + b + 1.5 + (2.0 + a), A32, B2)
check("-", "broadcast and number", lambda a, b: 2.0 - a - b - 1.0, A32, B2)
check("*", "broadcast and number", lambda a, b: a * b * 3.0 * (2.0 * a), A32, B2)
check("/", "broadcast and number", lambda a, b: a / b / 2.0 + 1.0 / b, A32, P2)
check("**", "tensor, number and reflected", lambda a, b: a ** b + a ** 2 + 2.0 ** b, positive(3, 2), B2)
check("@", "batched", lambda a, b: a @ b + np.ones((2, 3)) @ b, normal(2, 2, 3), normal(3, 4))
check("%", "tensor % number", lambda a: a % 1.5 * a, 1.5 * OFF)
check("neg", "(3, 2)", lambda a: -a * a, A32)
check("pos", "(3, 2)", lambda a: +a * a, A32)
check("abs", "builtin and method", lambda a: abs(a) * a.abs() + ag.abs(a), OFF)
check("getitem", "basic, advanced, mask", lambda a: a[1:, [0, 0]] * a[a.data > 0].sum() + a[None, -1], A32)
check("iter", "rows", lambda a: ag.stack([r * r for r in a]), A32)
for name, make in (("exp", normal), ("log", positive), ("log1p", positive), ("sqrt", positive), ("sin", normal),
                   ("cos", normal), ("tanh", normal), ("sigmoid", normal), ("relu", off_integers), ("silu", normal),
                   ("elu", off_integers), ("leaky_relu", off_integers), ("softplus", normal)):
    check(name, "method", lambda a, n=name: getattr(a, n)(), make(3, 2))
    check(name, "function", getattr(ag, name), make(2))
check("gelu", "exact", lambda a: a.gelu(), A32)
check("gelu", "tanh", lambda a: ag.gelu(a, approximate="tanh"), A32)
check("clip", "both bounds", lambda a: a.clip(-0.5, 0.5), OFF)
check("clamp", "min only", lambda a: ag.clamp(a, min=-0.5), OFF)
check("maximum", "tensors and number", lambda a, b: a.maximum(b) * ag.maximum(a, 0.5), OFF, NEAR)
check("minimum", "tensors and number", lambda a, b: ag.minimum(a, b) * a.minimum(0.5), OFF, NEAR)
check("where", "broadcast", lambda a, b: ag.where(MASK32, a, b) + a.where(~MASK32, 0.5), A32, B2)
check("masked_fill", "broadcast mask", lambda a: a.masked_fill(MASK32[:1], 2.0) * ag.masked_fill(a, MASK32, 0.0), A32)
check("tril", "diagonals", lambda a: a.tril(-1) + ag.tril(a, 1) * a, normal(2, 3, 4))
check("triu", "diagonals", lambda a: a.triu(1) + ag.triu(a, -1) * a, normal(2, 3, 4))
X232 = distinct(2, 3, 2)
for name in ("sum", "mean", "var", "std", "max", "min", "logsumexp"):
    check(name, "axes and keepdims", lambda a, n=name: getattr(a, n)((0, 2), True) * getattr(ag, n)(a, 1).sum(), X232)
check("softmax", "axis 0", lambda a: a.softmax(0) * ag.softmax(a, -1), X232)
check("log_softmax", "axis 1", lambda a: a.log_softmax(1) * ag.log_softmax(a, 0), X232)
check("reshape", "-1", lambda a: a.reshape(3, -1) * ag.reshape(a, (3, 4)), X232)
check("view", "(6, 2)", lambda a: a.view(6, 2) * a.view(-1, 2), X232)
check("transpose", "two axes", lambda a: a.transpose(0, 2) * ag.transpose(a, (2, 1, 0)), X232)
check("permute", "(2, 0, 1)", lambda a: a.permute(2, 0, 1) * ag.permute(a, 2, 0, 1), X232)
check("swapaxes", "(0, -1)", lambda a: a.swapaxes(0, -1) * ag.swapaxes(a, 2, 0), X232)
check("squeeze", "axis", lambda a: a.squeeze(1) * ag.squeeze(a), normal(3, 1, 2))
check("unsqueeze", "-1", lambda a: a.unsqueeze(-1) * ag.unsqueeze(a, 2), A32)
check("expand", "-1", lambda a: a.expand(4, -1, 2), normal(3, 1))
check("broadcast_to", "(4, 3, 2)", lambda a: a.broadcast_to((4, 3, 2)) * ag.broadcast_to(a, (3, 2)), normal(3, 1))
check("flatten", "start axis", lambda a: a.flatten(1) * ag.flatten(a, 1), X232)
check("T", "2-D", lambda a: a.T * a.T, A32)
check("mT", "batched", lambda a: a.mT @ a, X232)
check("cat", "three", lambda a, b: ag.cat([a, b, a * a], 1), normal(2, 3), normal(2, 1))
check("concatenate", "axis 0", lambda a, b: ag.concatenate([a, b]) * 2, normal(2, 3), normal(1, 3))
check("stack", "axis -1", lambda a, b: ag.stack([a, b, a * b], -1), normal(2, 3), normal(2, 3))
check("matmul", "method and function", lambda a, b: a.matmul(b) * ag.matmul(a, b), normal(2, 3), normal(3, 4))
check("dot", "1-D", lambda a, b: a.dot(b) * ag.dot(a, b), normal(4), normal(4))
# float64 -> float32 -> float64 is linear, rounding aside: a large step keeps rounding small
check("astype", "through float32", lambda a: a.astype(np.float32).astype(np.float64), A32, eps=1e-2, atol=1e-4)
check("float", "through float32", lambda a: a.float().double(), A32, eps=1e-2, atol=1e-4)
check("double", "of float64", lambda a: a.double() * a, A32)

case("%", "tensor % number", lambda a: a % 1.5, lambda a: a % 1.5, 3 * normal(3, 4))
case("%", "number % tensor", lambda a: 2.5 % a,  # (PyTorch has no rule for number % tensor)
     lambda a: torch.remainder(torch.full_like(a, 2.5), a), positive(5))
case("silu", "(3, 4)", lambda a: a.silu(), F.silu, normal(3, 4))
case("silu", "function", ag.silu, F.silu, normal(5))
case("F.silu", "(3, 4)", NF.silu, F.silu, normal(3, 4))
for diagonal in (-1, 0, 2):
    for name in ("tril", "triu"):
        case(name, f"diagonal={diagonal}", lambda a, n=name, d=diagonal: getattr(a, n)(d),
             lambda a, n=name, d=diagonal: getattr(torch, n)(a, d), normal(2, 3, 4))
        case(name, f"function diagonal={diagonal}", lambda a, n=name, d=diagonal: getattr(ag, n)(a, d),
             lambda a, n=name, d=diagonal: getattr(torch, n)(a, d), normal(4, 3))
for mask in (MASK32, MASK32[:1], MASK32[:, :1]):
    case("masked_fill", f"mask{mask.shape}", lambda a, m=mask: a.masked_fill(m, -2.5),
         lambda a, m=mask: a.masked_fill(torch.from_numpy(m), -2.5), A32)
case("masked_fill", "function", lambda a: ag.masked_fill(a, MASK32, 0.0),
     lambda a: torch.masked_fill(a, torch.from_numpy(MASK32), 0.0), A32)
case("clamp", "method", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), OFF)
case("clamp", "function min only", lambda a: ag.clamp(a, min=-0.5), lambda a: torch.clamp(a, min=-0.5), OFF)
case("broadcast_to", "(4, 3, 2)", lambda a: a.broadcast_to((4, 3, 2)), lambda a: a.broadcast_to((4, 3, 2)),
     normal(3, 1))
case("dot", "1-D", lambda a, b: a.dot(b), torch.dot, normal(4), normal(4))
# (the second-order helper weighs outputs in float64: not for a float32 output)
case("astype", "float32", lambda a: a.astype(np.float32), lambda a: a.to(torch.float32), A32, second=False)
case("float", "float32", lambda a: a.float(), lambda a: a.float(), A32, second=False)
case("double", "float64", lambda a: a.double(), lambda a: a.double(), A32)
case("long", "truncates", lambda a: a.long(), lambda a: a.long(), 3 * A32, grad=False)
# The other Tensor methods as autograd.<name>, against torch.<name>.
UNARY_FUNCTIONS = {"exp": normal, "log": positive, "log1p": positive, "sqrt": positive, "sin": normal,
                   "cos": normal, "tanh": normal, "sigmoid": normal, "relu": off_integers}
for name, make in UNARY_FUNCTIONS.items():
    case(name, "function", getattr(ag, name), getattr(torch, name), make(3, 2))
case("abs", "function", ag.abs, torch.abs, OFF)
for name in ("sum", "mean", "max", "min"):
    case(name, "function", lambda a, n=name: getattr(ag, n)(a, 1, True),
         lambda a, n=name: getattr(torch, "a" + n if n in ("max", "min") else n)(a, 1, keepdim=True), X232)
case("var", "function", lambda a: ag.var(a, 0, ddof=1), lambda a: torch.var(a, 0), X232)
case("std", "function", lambda a: ag.std(a, (0, 2), correction=1), lambda a: torch.std(a, (0, 2)), X232)
case("argmax", "function", lambda a: ag.argmax(a, 1), lambda a: torch.argmax(a, 1), X232, grad=False)
case("argmin", "function", lambda a: ag.argmin(a), torch.argmin, X232, grad=False)
case("all", "function", lambda a: ag.all(a, 1), lambda a: torch.all(a, 1), MASK, grad=False)
case("any", "function", lambda a: ag.any(a), torch.any, MASK, grad=False)
case("clip", "function", lambda a: ag.clip(a, -0.5, 0.5), lambda a: torch.clip(a, -0.5, 0.5), OFF)
case("reshape", "function", lambda a: ag.reshape(a, (4, 3)), lambda a: torch.reshape(a, (4, 3)), X232)
case("transpose", "function", lambda a: ag.transpose(a, 0, 2), lambda a: torch.transpose(a, 0, 2), X232)
case("permute", "function", lambda a: ag.permute(a, (2, 0, 1)), lambda a: torch.permute(a, (2, 0, 1)), X232)
case("swapaxes", "function", lambda a: ag.swapaxes(a, 0, 1), lambda a: torch.swapaxes(a, 0, 1), X232)
case("squeeze", "function", lambda a: ag.squeeze(a, 1), lambda a: torch.squeeze(a, 1), normal(3, 1, 2))
case("unsqueeze", "function", lambda a: ag.unsqueeze(a, 0), lambda a: torch.unsqueeze(a, 0), A32)
case("broadcast_to", "function", lambda a: ag.broadcast_to(a, (2, 3, 2)), lambda a: torch.broadcast_to(a, (2, 3, 2)),
     normal(3, 1))
case("flatten", "function", lambda a: ag.flatten(a, 1), lambda a: torch.flatten(a, 1), X232)
case("repeat", "function", lambda a: ag.repeat(a, 2, 1, 3), lambda a: a.repeat(2, 1, 3), X232)
case("dot", "function", ag.dot, torch.dot, normal(3), normal(3))

# ---- creation --------------------------------------------------------------------------------------

case("tensor", "nested list", lambda: ag.tensor([[1.5, 2.0], [0.0, -1.0]]),
     lambda: torch.tensor([[1.5, 2.0], [0.0, -1.0]]), f32=False)
case("tensor", "ints", lambda: ag.tensor([1, 2, 3]), lambda: torch.tensor([1, 2, 3]), f32=False)
case("as_tensor", "ndarray", lambda a: ag.as_tensor(a.data), lambda a: torch.as_tensor(a.detach().numpy()), A32,
     grad=False)
case("from_numpy", "ndarray", lambda a: ag.from_numpy(a.data), lambda a: torch.from_numpy(a.detach().numpy()), A32,
     grad=False)
for name in ("zeros", "ones"):
    case(name, "shape", lambda n=name: getattr(ag, n)(2, 3), lambda n=name: getattr(torch, n)(2, 3), f32=False)
    case(name, "tuple shape", lambda n=name: getattr(ag, n)((4,)), lambda n=name: getattr(torch, n)((4,)), f32=False)
    case(f"{name}_like", "dtype", lambda a, n=name: getattr(ag, f"{n}_like")(a),
         lambda a, n=name: getattr(torch, f"{n}_like")(a), A32, grad=False)
case("arange", "ints", lambda: ag.arange(5), lambda: torch.arange(5), f32=False)
case("arange", "start, stop, step", lambda: ag.arange(1, 8, 3), lambda: torch.arange(1, 8, 3), f32=False)
case("arange", "floats", lambda: ag.arange(0.0, 1.0, 0.25), lambda: torch.arange(0.0, 1.0, 0.25), f32=False)
for name in ("rand", "randn"):  # random values: shape and dtype
    case(name, "shape and dtype", lambda n=name: getattr(ag, n)(2, 3) * 0, lambda n=name: getattr(torch, n)(2, 3) * 0,
         f32=False)

# ---- differences from PyTorch, and the way to PyTorch's behaviour (README's table) -------------

V = normal(3, 4)
case("var", "correction=1 is PyTorch's default", lambda a: a.var(1, correction=1), lambda a: a.var(1), V)
case("var", "ddof=1 is PyTorch's default", lambda a: a.var(ddof=1), lambda a: a.var(), V)
case("var", "ddof=0 default is correction=0", lambda a: a.var(0), lambda a: a.var(0, correction=0), V)
case("std", "correction=1 is PyTorch's default", lambda a: a.std(0, correction=1), lambda a: a.std(0), V)
case("std", "ddof=1", lambda a: a.std(ddof=1, keepdims=True), lambda a: a.std(keepdim=True).reshape(1, 1), V)
case("getitem", "int beside an index array: index the int first for PyTorch's order",
     lambda a: a[0][:, [0, 1]], lambda a: a[0, :, [0, 1]], normal(2, 3, 4))


def test_numpy_rules_that_differ_from_pytorch():
    x = ag.Tensor(normal(2, 3, 4))
    assert x[0, :, [0, 1]].shape == (2, 3)  # NumPy: the advanced axes (int and array) go first
    assert x[0][:, [0, 1]].shape == (3, 2)  # PyTorch's result
    with pytest.raises(ValueError, match="mean: cannot average over zero elements"):
        ag.zeros(0, 3).mean(axis=0)  # PyTorch gives NaN
    assert np.isnan(torch.zeros(0, 3).mean(0)).all()
    assert ag.zeros(0, 3).sum(axis=0).tolist() == [0.0] * 3  # the sum is the way to 0 / n
    with pytest.raises(ValueError, match="var: ddof=1 and correction=2 disagree"):
        ag.ones(3).var(ddof=1, correction=2)
    assert x.size == 24 and tuple(torch.zeros(2, 3, 4).size()) == x.shape  # the README's size row
    t = torch.from_numpy(x.data)
    values, indices = t.max(1)  # PyTorch's pair, and the README's way to it
    assert np.array_equal(x.max(1).data, values.numpy()) and np.array_equal(x.argmax(1).data, indices.numpy())
    with pytest.raises(TypeError, match="dim"):
        x.sum(dim=0)  # NumPy's argument names (the README's first row)
    assert x.sum(axis=0, keepdims=True).shape == tuple(t.sum(dim=0, keepdim=True).shape)


# ---- running the tables ------------------------------------------------------------------------

@pytest.mark.parametrize("ours, theirs, arrays, grad, f32, second, tol", CASES)
def test_parity_float64(ours, theirs, arrays, grad, f32, second, tol):
    assert_parity(ours, theirs, *arrays, grad=grad, **tol)


@pytest.mark.parametrize("ours, theirs, arrays, grad, f32, second, tol", [c for c in CASES if c.values[4]])
def test_parity_float32(ours, theirs, arrays, grad, f32, second, tol):
    assert_parity(ours, theirs, *arrays, grad=grad, rtol=2e-5, atol=2e-6, dtype=np.float32)


@pytest.mark.parametrize("ours, theirs, arrays, grad, f32, second, tol",
                         [c for c in CASES if c.values[3] and c.values[5] and c.values[2]])
def test_parity_second_order(ours, theirs, arrays, grad, f32, second, tol):
    assert_second_order_parity(ours, theirs, *arrays)


@pytest.mark.parametrize("fn, inputs, options", GRADCHECKS)
def test_composite_gradcheck(fn, inputs, options):
    assert gradcheck(fn, inputs, **options)


# ---- every public op has a parity case and a gradcheck case ------------------------------------
#
# The public API is read off the code, not listed here: autograd's functions, Tensor's
# methods, properties and operators, nn.functional's functions and nn's modules. The case
# tables (here, in test_parity_ops.py, test_gradcheck_primitives.py, test_nn_tables.py...)
# name the ops they check with helpers.covers; a new public op fails these tests until it has
# both kinds of case, or an exemption below with its reason.

OPERATORS = {  # Python's operator protocol on Tensor -> the name the cases use
    "__add__": "+", "__radd__": "+", "__sub__": "-", "__rsub__": "-", "__mul__": "*",
    "__rmul__": "*", "__truediv__": "/", "__rtruediv__": "/", "__pow__": "**", "__rpow__": "**",
    "__matmul__": "@", "__rmatmul__": "@", "__mod__": "%", "__rmod__": "%", "__neg__": "neg",
    "__pos__": "pos", "__abs__": "abs", "__and__": "&", "__rand__": "&", "__or__": "|",
    "__ror__": "|", "__xor__": "^", "__rxor__": "^", "__invert__": "~", "__lt__": "<",
    "__le__": "<=", "__gt__": ">", "__ge__": ">=", "__eq__": "==", "__ne__": "!=",
    "__getitem__": "getitem", "__iter__": "iter",
}
IN_PLACE = "in-place write into a leaf or buffer; tests/test_inplace.py checks it and its guard"
ENGINE = "engine API, not an op: tests/test_engine*.py, test_vjp.py, test_gradcheck_primitives.py"
ATTRIBUTE = "attribute, not an op"
NOT_OPS = {  # public names that are not tensor ops: no parity or gradcheck case
    **dict.fromkeys(["Tensor", "Function", "GradcheckError", "backward", "grad", "gradcheck",
                     "numerical_grad", "no_grad", "enable_grad", "set_grad_enabled",
                     "is_grad_enabled", "detect_anomaly", "set_inplace_guard", "register_hook",
                     "retain_grad", "requires_grad_", "detach"], ENGINE),
    "checkpoint": "recomputes a function in backward: tests/test_checkpoint.py compares its "
                  "gradients with the plain run's",
    "manual_seed": "seeds the generator: tests/test_reproducible.py",
    "default_rng": "the shared generator: tests/test_reproducible.py",
    **dict.fromkeys(["item", "numpy", "tolist"], "conversion to Python or NumPy, not an op"),
    **dict.fromkeys(["add_", "sub_", "mul_", "fill_", "zero_", "copy_", "__iadd__", "__isub__",
                     "__imul__", "__itruediv__"], IN_PLACE),
    **dict.fromkeys(["__init__", "__len__", "__hash__", "__repr__", "__float__", "__int__",
                     "__bool__"], "Python object protocol, not an op"),
    **dict.fromkeys(["data", "dtype", "grad", "grad_fn", "is_leaf", "name", "ndim",
                     "requires_grad", "shape", "size"], ATTRIBUTE),
    **dict.fromkeys(["nn.Module", "nn.Sequential", "nn.ModuleList", "nn.ModuleDict"],
                    "container of modules, not an op: tests/test_nn_module.py"),
}
CREATION = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "eye",
            "arange", "linspace", "rand", "randn", "randint", "multinomial", "zeros_like",
            "ones_like", "full_like", "empty_like"]
NO_GRADCHECK = {  # ops with a parity case but nothing to differentiate
    **dict.fromkeys(CREATION, "creation: no tensor input to differentiate"),
    **dict.fromkeys(["&", "|", "^", "~", "logical_and", "logical_or", "logical_xor",
                     "logical_not", "<", "<=", ">", ">=", "==", "!=", "all", "any"],
                    "bool result: no gradient"),
    **dict.fromkeys(["argmax", "argmin", "argsort", "long", "F.one_hot"], "integer result: no gradient"),
}
NO_PARITY = {  # differentiable ops that PyTorch has no counterpart to compare with
    "F.recurrent_layer": "no PyTorch function (torch._VF is private); nn.RNN, nn.LSTM and nn.GRU, "
                         "which run it, have parity cases",
}


def public_ops():
    """Every public op name, derived from the modules: autograd, Tensor, nn.functional, nn."""
    import inspect

    names = {n for n in dir(ag) if not n.startswith("_") and callable(getattr(ag, n))
             and not inspect.ismodule(getattr(ag, n))}
    names |= {n for n in dir(Tensor) if not n.startswith("_")}
    names |= {OPERATORS.get(n, n) for n, v in vars(Tensor).items() if n.startswith("__") and callable(v)}
    names |= {f"F.{n}" for n in dir(NF) if not n.startswith("_") and callable(getattr(NF, n))
              and getattr(getattr(NF, n), "__module__", "").startswith("nn.functional")}
    names |= {f"nn.{n}" for n in dir(nn) if isinstance(getattr(nn, n), type)
              and issubclass(getattr(nn, n), nn.Module)}
    return names


def _load_case_tables():
    """Import every test module that names its cases with covers() (pytest may not have)."""
    import importlib
    from pathlib import Path

    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.stem != "helpers" and "covers(" in path.read_text():
            importlib.import_module(path.stem)


def test_every_public_op_has_a_parity_case():
    _load_case_tables()
    ops = public_ops() - NOT_OPS.keys()
    missing = sorted(n for n in ops if n not in PARITY and n not in NO_PARITY)
    assert not missing, f"public ops without a PyTorch parity case (add one, or exempt with a reason): {missing}"


def test_every_differentiable_op_has_a_gradcheck_case():
    _load_case_tables()
    ops = public_ops() - NOT_OPS.keys()
    missing = sorted(n for n in ops if n not in GRADCHECKED and n not in NO_GRADCHECK)
    assert not missing, f"differentiable ops without a gradcheck case (add one, or exempt with a reason): {missing}"


def test_case_tables_and_exemptions_name_public_ops_only():
    _load_case_tables()
    ops = public_ops()
    unknown = sorted((PARITY | GRADCHECKED | NOT_OPS.keys() | NO_GRADCHECK.keys() | NO_PARITY.keys()) - ops)
    assert not unknown, f"cases or exemptions name no public op (a typo, or a removed op): {unknown}"
    # an exemption that a case contradicts is stale (cat was once listed as non-differentiable)
    assert sorted(NO_GRADCHECK.keys() & GRADCHECKED) == []
    assert sorted(NO_PARITY.keys() & PARITY) == []
    assert sorted(NOT_OPS.keys() & (PARITY | GRADCHECKED)) == []


# Each op is a method of Tensor and a function of autograd, except:
METHOD_ONLY = {
    "view": "PyTorch has no torch.view either: autograd.reshape",
    "expand": "PyTorch has no torch.expand either: autograd.broadcast_to",
    **dict.fromkeys(["astype", "float", "double", "long"], "dtype conversion, a method in PyTorch too"),
}
FUNCTION_ONLY = {
    **dict.fromkeys(CREATION, "creation: there is no tensor to call it on"),
    **dict.fromkeys(["cat", "concatenate", "stack", "meshgrid", "einsum"], "takes a list of tensors"),
}


def test_every_op_is_a_method_and_a_function():
    import inspect

    functions = {n for n in dir(ag) if not n.startswith("_") and callable(getattr(ag, n))
                 and not inspect.ismodule(getattr(ag, n))} - NOT_OPS.keys()
    methods = {n for n in dir(Tensor) if not n.startswith("_")
               and callable(inspect.getattr_static(Tensor, n))} - NOT_OPS.keys()
    assert sorted(methods - functions - METHOD_ONLY.keys()) == [], "methods without autograd.<name>"
    assert sorted(functions - methods - FUNCTION_ONLY.keys()) == [], "functions without Tensor.<name>"
    assert [n for n in ag.__all__ if not hasattr(ag, n)] == []
    import builtins  # autograd.sum, max, all... exist, but `import *` must not shadow the builtins

    assert sorted(set(ag.__all__) & set(dir(builtins))) == []
    assert ag.sum(ag.ones(2, 3), 0).tolist() == [2.0] * 3 and ag.all(ag.ones(2)).item()


@pytest.mark.parametrize("module", ["autograd.composites_math", "autograd.composites_movement",
                                    "autograd.tensor_functions",
                                    "nn.functional_resample", "nn.resample", "nn.conv",
                                    "nn.functional_conv"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {module} failed"
