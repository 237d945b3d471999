"""Composite math: more elementwise functions and activations, scans, sorting, norms, einsum.

Everything here is built from primitives (autograd.ops), so create_graph works through it
and it needs no rule of its own.
"""
import math

import numpy as np

from .ops import Atan2, CumProd, CumSum, Einsum
from .ops.einsum import LETTERS
from .composites import _tensor
from .tensor import Tensor, _check_axis, _lift


def _pair(a, b):
    """Two operands as Tensors; a number takes the other operand's dtype."""
    if isinstance(a, Tensor):
        return a, _lift(b, a)
    b = _tensor(b)
    return _lift(a, b), b


def _where(mask, a, b):
    from .functional import where

    return where(mask, a, b)


# ---- elementwise -------------------------------------------------------------------------

def floor(x):
    return _tensor(x).floor()


def ceil(x):
    return _tensor(x).ceil()


def round(x, decimals=0):  # noqa: A001 -- NumPy's and PyTorch's name
    return _tensor(x).round(decimals)


def trunc(x):
    return _tensor(x).trunc()


def sign(x):
    return _tensor(x).sign()


def tan(x):
    return _tensor(x).tan()


def asin(x):
    return _tensor(x).asin()


def acos(x):
    return _tensor(x).acos()


def atan(x):
    return _tensor(x).atan()


def sinh(x):
    return _tensor(x).sinh()


def cosh(x):
    return _tensor(x).cosh()


def asinh(x):
    return _tensor(x).asinh()


def acosh(x):
    return _tensor(x).acosh()


def atanh(x):
    return _tensor(x).atanh()


def expm1(x):
    return _tensor(x).expm1()


def log2(x):
    """log(x) / log(2)"""
    return _tensor(x).log() * (1 / math.log(2))


def log10(x):
    """log(x) / log(10)"""
    return _tensor(x).log() * (1 / math.log(10))


def exp2(x):
    """2^x = exp(x log 2)"""
    return (_tensor(x) * math.log(2)).exp()


def rsqrt(x):
    """1 / sqrt(x)"""
    return _tensor(x) ** -0.5


def atan2(a, b):
    """the angle of the point (b, a) in (-pi, pi]"""
    return Atan2.apply(*_pair(a, b))


def lerp(start, end, weight):
    """start + weight * (end - start)"""
    start, end = _pair(start, end)
    return start + (end - start) * (weight if isinstance(weight, Tensor) else _lift(weight, start))


def hypot(a, b):
    """sqrt(a^2 + b^2)"""
    # NOTE: at a = b = 0 the cone's tip has no gradient; PyTorch's is 0 there, and so is ours
    # (the sqrt only ever sees 1 on the branch not taken).
    a, b = _pair(a, b)
    squares = a * a + b * b
    nonzero = squares.data > 0
    return _where(nonzero, _where(nonzero, squares, 1.0).sqrt(), 0.0)


def fmod(a, b):
    """a - trunc(a / b) * b (the sign of a, as C's fmod);  da = 1, db = -trunc(a / b)"""
    a, b = _pair(a, b)
    rest = np.fmod(a.data, b.data)
    return _quotient_step(a, b, rest)


def remainder(a, b):
    """a - floor(a / b) * b (the sign of b, as Python's %);  da = 1, db = -floor(a / b)"""
    a, b = _pair(a, b)
    rest = np.remainder(a.data, b.data)
    return _quotient_step(a, b, rest)


def _quotient_step(a, b, rest):
    if a.dtype.kind != "f" and b.dtype.kind != "f":
        return Tensor(rest)
    # NOTE: the integer quotient is piecewise constant (zero gradient), so it is a constant
    # here, read off NumPy's exact remainder; only a and b carry the graph.
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.round((a.data - rest) / b.data)
    return a - b * Tensor(q.astype(np.result_type(a.data, b.data), copy=False))


def _boolean_or_int(op, *xs):
    arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in xs]
    for a in arrays:
        if a.dtype.kind not in "biu":
            raise TypeError(f"{op}: needs bool or integer tensors, got dtype {a.dtype}; compare "
                            "first (x > 0) or use the logical_* functions, which take any dtype")
    return arrays


def bitwise_and(a, b):
    x, y = _boolean_or_int("&", a, b)
    return Tensor(x & y)


def bitwise_or(a, b):
    x, y = _boolean_or_int("|", a, b)
    return Tensor(x | y)


def bitwise_xor(a, b):
    x, y = _boolean_or_int("^", a, b)
    return Tensor(x ^ y)


def bitwise_not(a):
    (x,) = _boolean_or_int("~", a)
    return Tensor(~x)


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def logical_and(a, b):
    """elementwise `a and b` on truth values (nonzero is True); never differentiable"""
    return Tensor(np.logical_and(_array(a), _array(b)))


def logical_or(a, b):
    return Tensor(np.logical_or(_array(a), _array(b)))


def logical_xor(a, b):
    return Tensor(np.logical_xor(_array(a), _array(b)))


def logical_not(a):
    return Tensor(np.logical_not(_array(a)))


# ---- activations -----------------------------------------------------------------------

def hardtanh(x, min_val=-1.0, max_val=1.0):
    """clip(x, min_val, max_val)   # NOTE: slope 0 at the bounds themselves, as PyTorch"""
    x = _tensor(x)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    inside = (x.data > min_val) & (x.data < max_val)
    return _where(inside, x, Tensor(np.clip(x.data, min_val, max_val).astype(x.dtype)))


def relu6(x):
    """min(max(x, 0), 6)"""
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x):
    """clip(x / 6 + 1/2, 0, 1)"""
    x = _tensor(x)
    inside = (x.data > -3) & (x.data < 3)
    return _where(inside, x * (1 / 6) + 0.5, Tensor((x.data >= 3).astype(x.dtype)))


def hardswish(x):
    """x * hardsigmoid(x): 0 below -3, x above 3, x (x + 3) / 6 between"""
    x = _tensor(x)
    middle = _where(x.data < 3, x * (x + 3) * (1 / 6), x)
    return _where(x.data <= -3, 0.0, middle)


def mish(x):
    """x * tanh(softplus(x))"""
    from .functional import softplus

    x = _tensor(x)
    return x * softplus(x).tanh()


def celu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)"""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")
    x = _tensor(x)
    # NOTE: exp only sees x < 0 (0 elsewhere), so the branch not taken cannot overflow into
    # NaN gradients; at x = 0 the slope is 1 from both sides, as PyTorch's.
    negative = x.data < 0
    return _where(negative, ((_where(negative, x, 0.0) * (1 / alpha)).exp() - 1) * alpha, x)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)"""
    from .functional import elu

    return elu(_tensor(x), SELU_ALPHA) * SELU_SCALE


def softsign(x):
    """x / (1 + |x|)"""
    x = _tensor(x)
    return x / (x.abs() + 1)


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for any x"""
    from .functional import softplus

    return -softplus(-_tensor(x))


# ---- scans and products -----------------------------------------------------------------

def _scan_input(op, x, axis):
    x = _tensor(x)
    if axis is None:
        return x.reshape(-1), 0
    if x.ndim == 0:
        _check_axis(op, axis, 1)
        return x, None
    return x, _check_axis(op, axis, x.ndim)


def cumsum(x, axis=None):
    """running sum along axis (None: over the flattened tensor, as NumPy)"""
    x, axis = _scan_input("cumsum", x, axis)
    return x * 1 if axis is None else CumSum.apply(x, axis=axis)


def cumprod(x, axis=None):
    """running product along axis (None: over the flattened tensor)"""
    x, axis = _scan_input("cumprod", x, axis)
    return x * 1 if axis is None else CumProd.apply(x, axis=axis)


def prod(x, axis=None, keepdims=False):
    """product over axis (an int, a tuple, or None for all); exact gradient also with zeros"""
    x = _tensor(x)
    ndim = x.ndim
    axes = (tuple(range(ndim)) if axis is None else
            tuple(sorted({_check_axis("prod", a, max(ndim, 1)) for a in
                          (axis if isinstance(axis, (tuple, list)) else (axis,))})))
    axes = tuple(a for a in axes if a < ndim)
    rest = [a for a in range(ndim) if a not in axes]
    kept = tuple(x.shape[a] for a in rest)
    moved = x.permute(*rest, *axes) if ndim else x
    flat = moved.reshape(kept + (-1,) if moved.size else kept + (int(np.prod([x.shape[a] for a in axes])),))
    if flat.shape[-1] == 0:
        out = (flat.sum(axis=-1) * 0 + 1)
    else:
        out = CumProd.apply(flat, axis=-1)[..., -1]
    if keepdims:
        out = out.reshape(tuple(1 if a in axes else n for a, n in enumerate(x.shape)))
    return out


# ---- norms ------------------------------------------------------------------------------

def _safe_root(s, p):
    """s^(1/p) with gradient 0 where s = 0 (the cone's tip, as PyTorch)"""
    nonzero = s.data > 0
    safe = _where(nonzero, s, 1.0)
    root = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return _where(nonzero, root, 0.0)


def _vector_norm(x, ord, axis, keepdims):
    if ord == math.inf:
        return x.abs().max(axis, keepdims)
    if ord == -math.inf:
        return x.abs().min(axis, keepdims)
    if ord == 0:
        return (Tensor((x.data != 0).astype(x.dtype)) + x * 0).sum(axis, keepdims)
    if ord == 1:
        return x.abs().sum(axis, keepdims)
    if ord == 2:
        return _safe_root((x * x).sum(axis, keepdims), 2)
    return _safe_root((x.abs() ** ord).sum(axis, keepdims), ord)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as numpy.linalg.norm / torch.linalg.norm.

    ord None (the default): the 2-norm over `axis` (all elements when axis is None, the
    Frobenius norm over a pair of axes). A number: a vector p-norm over an int axis, or
    over every element when axis is None (as torch.linalg.vector_norm); inf / -inf the
    largest / smallest |x|, 0 the count of nonzeros. Over a pair of axes: 'fro', 1, -1, inf
    and -inf matrix norms (2 and 'nuc' need an SVD and raise).

    >>> norm(Tensor([3.0, -4.0])).item(), norm(Tensor([3.0, -4.0]), 1).item()
    (5.0, 7.0)
    """
    x = _tensor(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if axis is not None:
        for a in (axis if isinstance(axis, tuple) else (axis,)):
            _check_axis("norm", a, max(x.ndim, 1))
    pair = isinstance(axis, tuple) and len(axis) == 2
    if ord is None or ord == "fro":
        if ord == "fro" and not (axis is None or pair):
            raise ValueError(f"norm: ord='fro' is a matrix norm and needs axis=None or a pair "
                             f"of axes, got axis={axis}")
        return _safe_root((x * x).sum(axis, keepdims), 2)
    if isinstance(ord, str):
        raise NotImplementedError(f"norm: ord={ord!r} (the nuclear norm needs an SVD); "
                                  "supported: None, 'fro', numbers, inf and -inf")
    if pair:
        rows, cols = (a % x.ndim for a in axis)
        if ord in (1, -1):
            col_sums = x.abs().sum(rows, keepdims=True)
            out = col_sums.max(cols, keepdims=True) if ord == 1 else col_sums.min(cols, keepdims=True)
        elif ord in (math.inf, -math.inf):
            row_sums = x.abs().sum(cols, keepdims=True)
            out = row_sums.max(rows, keepdims=True) if ord > 0 else row_sums.min(rows, keepdims=True)
        else:
            raise NotImplementedError(f"norm: matrix ord={ord} needs an SVD; supported over a "
                                      "pair of axes: 'fro', 1, -1, inf, -inf")
        return out if keepdims else out.squeeze((rows, cols))
    if isinstance(axis, tuple) and len(axis) > 2:
        raise ValueError(f"norm: axis must be an int, a pair of axes or None, got {axis}")
    return _vector_norm(x, ord, axis, keepdims)


# ---- sorting --------------------------------------------------------------------------------

def _order(op, x, axis, descending):
    x = _tensor(x)
    if x.ndim == 0:
        _check_axis(op, axis, 1)
        return x, None, np.zeros((), np.int64)
    axis = _check_axis(op, axis, x.ndim)
    data = x.data
    if descending:
        # NOTE: argsort of -x keeps equal values in their original order (stable), which
        # reversing an ascending sort would not; bools and unsigned ints cannot negate.
        key = -data.astype(np.int64) if data.dtype.kind in "bu" else -data
    else:
        key = data
    return x, axis, np.argsort(key, axis=axis, kind="stable")


def argsort(x, axis=-1, descending=False):
    """the indices that sort x along axis (stable: ties keep their order)"""
    _, _, order = _order("argsort", x, axis, descending)
    return Tensor(order.astype(np.int64, copy=False))


def sort(x, axis=-1, descending=False):
    """(values, indices) sorted along axis; the values are differentiable (a gather)

    >>> values, indices = sort(Tensor([3.0, 1.0, 2.0]))
    >>> values.tolist(), indices.tolist()
    ([1.0, 2.0, 3.0], [1, 2, 0])
    """
    from .composites_movement import take_along_axis

    x, axis, order = _order("sort", x, axis, descending)
    if axis is None:
        return x * 1, Tensor(order)
    order = order.astype(np.int64, copy=False)
    return take_along_axis(x, order, axis), Tensor(order)


def topk(x, k, axis=-1, largest=True, sorted=True):  # noqa: A002 -- PyTorch's argument name
    """(values, indices) of the k largest (or smallest) elements along axis"""
    from .composites_movement import take_along_axis

    x = _tensor(x)
    n = x.shape[_check_axis("topk", axis, max(x.ndim, 1))] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for axis {axis} of length {n} "
                         f"(shape {x.shape}); use 0 <= k <= {n}")
    x, axis, order = _order("topk", x, axis, largest)
    if axis is None:
        return x * 1, Tensor(order)
    order = np.take(order, np.arange(k), axis=axis).astype(np.int64, copy=False)
    return take_along_axis(x, order, axis), Tensor(order)


# ---- einsum ---------------------------------------------------------------------------------

def einsum(subscripts, *operands):
    """Einstein summation, as numpy.einsum / torch.einsum (one Einsum primitive, any subscripts).

    Implicit output ('ij,jk': the letters used once, in alphabetical order), '...' for
    broadcast leading axes, repeated letters for diagonals. Operands may also come as one list.

    >>> a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)))
    >>> einsum("ij,jk->ik", a, b).shape
    (2, 4)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: subscripts must be a string such as 'ij,jk->ik', got "
                        f"{type(subscripts).__name__}")
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    operands = [_tensor(t) for t in operands]
    spec, layouts = _explicit(subscripts.replace(" ", ""), [t.shape for t in operands])
    ready = []
    for t, (shape, full) in zip(operands, layouts):
        t = t.reshape(shape) if t.shape != shape else t
        ready.append(t.expand(full) if shape != full else t)
    return Einsum.apply(*ready, subscripts=spec)


def _explicit(subscripts, shapes):
    """'s_1,...->t' with every '...' spelled out as letters, and for each operand (its shape
    with size-1 axes added for missing '...' axes, the shape it broadcasts to)."""
    def fail(why):
        return ValueError(f"einsum: {why} (subscripts {subscripts!r}, operand shapes "
                          f"{[tuple(s) for s in shapes]})")

    lhs, arrow, rhs = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise fail(f"{len(terms)} operand subscript(s) for {len(shapes)} operand(s)")
    for part in terms + [rhs]:
        if any(c not in LETTERS for c in part.replace("...", "", 1)):
            raise fail("subscripts must be letters a-z, A-Z, at most one '...' per operand, "
                       "and one '->'")
    spare = [c for c in LETTERS if c not in set(lhs + rhs)]
    ell_ndim = 0
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        if "..." in term:
            if len(shape) < named:
                raise fail(f"'{term}' names {named} axes for an operand with {len(shape)}")
            ell_ndim = max(ell_ndim, len(shape) - named)
        elif named != len(shape):
            raise fail(f"'{term}' names {named} axes for an operand with {len(shape)}")
    ell = "".join(spare[:ell_ndim])
    new_terms, new_shapes, sizes = [], [], {}
    for term, shape in zip(terms, shapes):
        shape = tuple(shape)
        if "..." in term:
            pos = term.index("...")
            k = len(shape) - len(term) + 3
            shape = shape[:pos] + (1,) * (ell_ndim - k) + shape[pos:]
            term = term.replace("...", ell)
        for c, n in zip(term, shape):
            if c in ell:  # '...' axes broadcast from 1, as NumPy's
                if n != 1 and sizes.get(c, 1) not in (1, n):
                    raise fail(f"the '...' axes of sizes {sizes[c]} and {n} do not broadcast")
                sizes[c] = max(sizes.get(c, 1), n)
            elif sizes.setdefault(c, n) != n:
                raise fail(f"letter '{c}' has size {sizes[c]} in one operand and {n} in another")
        new_terms.append(term)
        new_shapes.append(shape)
    if arrow:
        rhs = rhs.replace("...", ell)
        if len(set(rhs)) != len(rhs):
            raise fail(f"output subscripts '{rhs}' repeat a letter")
        for c in rhs:
            if c not in sizes:
                raise fail(f"output letter '{c}' appears in no operand")
    else:
        counts = {}
        for term in new_terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        rhs = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    layouts = [(shape, tuple(sizes[c] for c in term)) for term, shape in zip(new_terms, new_shapes)]
    return ",".join(new_terms) + "->" + rhs, layouts
