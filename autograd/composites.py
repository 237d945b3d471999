"""Composite ops (softmax, logsumexp, var, gelu, ...): built from primitives, with no backward of their own."""
import math

import numpy as np

from .ops import Concatenate, Erf, MatMul, Maximum, Minimum, Pad, Where
from .tensor import Tensor, _check_axis, _lift, from_numpy


def _tensor(x):
    """An operand as a Tensor: a Tensor as it is, anything else (array, number, list) copied
    into a constant one (the composites modules and autograd.tensor_functions share this)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _count(x, axis):
    if axis is None or x.ndim == 0:  # a 0-d tensor accepts axis 0 / -1, as PyTorch: one element
        return x.size
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return int(np.prod([x.shape[a] for a in axes]))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _check_axes(op, x, axis):
    """IndexError naming `op` for an axis out of range (a 0-d tensor accepts 0 and -1)."""
    if axis is not None:
        for a in (axis if isinstance(axis, (tuple, list)) else (axis,)):
            _check_axis(op, a, max(x.ndim, 1))


def _shift(x, axis):
    """max(x) over axis (kept), as a constant; 0 where it is not finite (all -inf, empty axis)."""
    # NOTE: the shift only keeps exp from overflowing; the result and its gradient do not
    # depend on it, so it is held constant (no graph).
    data = x.data
    if data.size == 0 and data.dtype.kind == "f":
        m = np.max(data, axis=axis, keepdims=True, initial=-np.inf)
    else:
        m = np.max(data, axis=axis, keepdims=True)
    m = np.array(m)  # NOTE: NumPy returns a read-only scalar, not an array, for 0-d input
    m[~np.isfinite(m)] = 0
    return from_numpy(m)


# ---- reductions -----------------------------------------------------------------------

def mean(x, axis=None, keepdims=False):
    """sum(x) / n"""
    _check_axes("mean", x, axis)
    n = _count(x, axis)
    total = x.sum(axis, keepdims)
    if n == 0 and total.size:  # an empty result (shape (0, 0) over axis 0) averages nothing: fine
        raise ValueError(f"mean: cannot average over zero elements (shape {x.shape}, axis {axis})")
    return total * (1.0 / max(n, 1))


def var(x, axis=None, keepdims=False, ddof=0):
    """mean((x - mean(x))^2), with n - ddof in the denominator"""
    _check_axes("var", x, axis)
    n = _count(x, axis)
    if n - ddof <= 0 and x.sum(axis, keepdims).size == 0:
        return x.sum(axis, keepdims)  # an empty result: nothing is left undefined
    if n - ddof <= 0:
        raise ValueError(f"var: {n} element(s) over axis {axis} with ddof={ddof}; it needs more "
                         f"than ddof={ddof} elements (use ddof=0, or a longer axis)")
    centred = x - x.mean(axis, keepdims=True)
    return (centred * centred).sum(axis, keepdims) * (1.0 / (n - ddof))


def std(x, axis=None, keepdims=False, ddof=0):
    """sqrt(var(x))"""
    # NOTE: where the variance is 0 the sqrt has infinite slope; PyTorch's subgradient there
    # is 0 (all-equal values), kept here by keeping the sqrt away from 0 on that branch.
    v = var(x, axis, keepdims, ddof)
    nonzero = v.data > 0
    return where(nonzero, where(nonzero, v, 1.0).sqrt(), 0.0)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))), computed as m + log(sum(exp(x - m))) with m = max(x) held constant"""
    axis = _axis(axis)
    _check_axes("logsumexp", x, axis)
    m = _shift(x, axis)
    out = (x - m).exp().sum(axis, keepdims=True).log() + m
    if keepdims:
        return out
    return out.reshape(() if axis is None else np.squeeze(m.data, axis=axis).shape)


def norm(x):
    """sqrt(sum(x^2)), the Euclidean (Frobenius) norm of all elements"""
    # NOTE: at x = 0 the norm is a cone's tip: its gradient x / |x| is 0/0. Use the
    # subgradient 0, as PyTorch, by keeping the sqrt away from 0 on the branch not taken.
    squares = (x * x).sum()
    nonzero = squares.data > 0
    return where(nonzero, where(nonzero, squares, 1.0).sqrt(), 0.0)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis, shifted by the max for stability"""
    _check_axes("softmax", x, axis)
    e = (x - _shift(x, axis)).exp()
    return e / e.sum(axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - logsumexp(x), computed as (x - m) - log(sum(exp(x - m))) with m = max(x) constant"""
    # NOTE: subtracting the max first keeps float32 exact near large x: at x = 1000,
    # x - (1000 + log 3) rounds log 3 to the spacing of 1001 (6e-5).
    _check_axes("log_softmax", x, axis)
    shifted = x - _shift(x, axis)
    return shifted - shifted.exp().sum(axis, keepdims=True).log()


# ---- activations -----------------------------------------------------------------------

def leaky_relu(x, negative_slope=0.01):
    """x if x > 0 else slope * x"""
    return where(x.data > 0, x, x * negative_slope)


def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    # NOTE: exp sees min(x, 0) so the branch not taken cannot overflow into NaN gradients;
    # at x = 0 the slope is 1, as PyTorch.
    return where(x.data >= 0, x, (x.minimum(0.0).exp() - 1) * alpha)


def gelu(x, approximate="none"):
    """x * Phi(x): exact with erf, or PyTorch's tanh approximation"""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (inner.tanh() + 1)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * 0.5 * (Erf.apply(x * (1 / math.sqrt(2))) + 1)


def silu(x):
    """x * sigmoid(x) (swish)"""
    return x * x.sigmoid()


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(z)) / beta with z = beta x: z + log1p(exp(-z)) for z > 0, log1p(exp(z))
    otherwise; x itself where z > threshold"""
    # NOTE: each smooth branch only sees the values it serves, so exp never overflows and the
    # branch not taken gets no inf. (max(z, 0) + log1p(exp(-|z|)) has the right value and slope
    # but two kinks at 0 that make its second derivative 0 there instead of 1/4.) The
    # threshold switches to the linear asymptote exactly as PyTorch does.
    z = x * beta if beta != 1 else x
    pos = z.data > 0
    zp, zn = where(pos, z, 0.0), where(pos, 0.0, z)
    out = where(pos, zp + (-zp).exp().log1p(), zn.exp().log1p())
    out = out * (1.0 / beta) if beta != 1 else out
    return where(z.data > threshold, x, out)


# ---- functions over several tensors ---------------------------------------------------------

def where(condition, a, b):
    """a where condition else b (condition never differentiable)"""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(np.asarray(a))
    return Where.apply(from_numpy(cond.astype(bool, copy=False)), _lift(a, like), _lift(b, like))


def masked_fill(x, mask, value):
    """x with `value` where the boolean `mask` is True (mask broadcasts to x; no gradient there)"""
    cond = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if cond.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be boolean, got dtype {cond.dtype}; "
                        "compare first, e.g. x.masked_fill(ids == pad, 0.0)")
    try:
        shape = np.broadcast_shapes(cond.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(f"masked_fill: mask of shape {cond.shape} does not broadcast to the "
                         f"tensor's shape {x.shape}")
    return Where.apply(Tensor(cond), _lift(value, x), x)


def _triangle(op, x, diagonal, lower):
    if x.ndim < 2:
        raise ValueError(f"{op}: needs a tensor of at least 2 dimensions, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    keep = (np.tri(rows, cols, diagonal, dtype=bool) if lower
            else ~np.tri(rows, cols, diagonal - 1, dtype=bool))
    return Where.apply(Tensor(keep), x, _lift(0, x))


def tril(x, diagonal=0):
    """x on and below the `diagonal`-th diagonal of its last two axes, 0 above"""
    return _triangle("tril", x, diagonal, True)


def triu(x, diagonal=0):
    """x on and above the `diagonal`-th diagonal of its last two axes, 0 below"""
    return _triangle("triu", x, diagonal, False)


def maximum(a, b):
    a = _tensor(a)
    return Maximum.apply(a, _lift(b, a))


def minimum(a, b):
    a = _tensor(a)
    return Minimum.apply(a, _lift(b, a))


def matmul(a, b):
    """a @ b with NumPy's rules for 1-D operands (prepended / appended axes)."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: the last axis of the first "
            f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} axis "
            f"of the second ({b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim >= 2 and b.ndim >= 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch shapes {a.shape[:-2]} and {b.shape[:-2]} of "
                             f"{a.shape} @ {b.shape} do not broadcast") from None
        return MatMul.apply(a, b)
    out = MatMul.apply(a.reshape(1, -1) if a.ndim == 1 else a,
                       b.reshape(-1, 1) if b.ndim == 1 else b)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-1 if b.ndim == 1 else -2)
    return out


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors have no axis to join along; use stack")
    _check_axis("concatenate", axis, ndim)
    for t in tensors:
        if t.ndim != ndim or t.shape[:axis % ndim] + t.shape[axis % ndim + 1:] != \
                tensors[0].shape[:axis % ndim] + tensors[0].shape[axis % ndim + 1:]:
            raise ValueError(f"concatenate: shapes {[u.shape for u in tensors]} differ "
                             f"outside axis {axis}")
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    _check_axis("stack", axis, tensors[0].ndim + 1)
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([t.unsqueeze(axis) for t in tensors], axis)


def split(x, indices_or_sections, axis=0):
    """Split along axis, as numpy.split (a number of equal sections, or split points)."""
    n = x.shape[_check_axis("split", axis, x.ndim)]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + list(indices_or_sections) + [n]
    prefix = (slice(None),) * (axis % x.ndim)
    return [x[prefix + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def pad(x, pad_width, value=0.0):
    """Constant padding with NumPy's pad_width: an int, (before, after), or one pair per axis."""
    x = _tensor(x)
    if x.ndim == 0:
        return x  # no axis to pad
    width = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: widths must be >= 0, got {pad_width}")
    return Pad.apply(x, pad_width=tuple(map(tuple, width.tolist())), value=value)
