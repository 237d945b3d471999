"""The two namespaces a derivative rule is written against: ARRAYS (NumPy) and TENSORS (Tensor ops).

A primitive states its vector-Jacobian rule once, as ``vjp(self, grad, out, on=ARRAYS)``.
backward() without create_graph calls it as is, on plain arrays (no graph, no Tensor per
product); with create_graph the same rule runs with ``on=TENSORS`` on Tensors, so each
step is recorded and can be differentiated again. Arithmetic operators and ``@`` mean the
same on both; what differs (reading an input, reshaping, broadcasting...) goes through
``on``. Both namespaces hold the same names:

  graph           False / True: whether the rule's steps are recorded
  value(t)        an input or output Tensor as the rule reads it: t.data (a NumPy scalar
                  when 0-d, see function.value) or t itself
  data(t)         the same without the 0-d conversion (for outputs, whose 0-d data is
                  already a NumPy scalar, and inputs that are never 0-d): cheaper
  const(a)        an array the rule computed (a mask): itself, or a constant Tensor
  zeros(shape, dtype)
  reshape(g, shape), transpose(g, axes), mT(g) (last two axes swapped)
  broadcast_to(g, shape), sum_to(g, shape)
  exp, log, sqrt, sin, cos, sinh, cosh: elementwise functions
  where(cond, a, b) with `cond` a constant boolean array; a or b may be a number
  concatenate(gs, axis), stack(gs, axis)
  op(Cls, *xs, **params)  the primitive Cls on xs: its forward on arrays, or Cls.apply
                  (recorded). For rules that are another primitive (getitem <-> scatter_add,
                  cumsum, einsum...). Constant arrays among xs go through const first.

Methods both kinds of value have (`.sum(axis=, keepdims=)`, `.mean(...)`, `.dtype`,
`.shape`) are called as methods. A rule may read something its forward saved (softmax
probabilities, a normalised input) on arrays; recorded, such a value is a function of the
inputs and must be recomputed from them with `on.graph` true, so that the rule can be
differentiated again (see CrossEntropy, LayerNorm, Gelu).
"""
import operator
import types

import numpy as np

_ndarray = np.ndarray


def sum_to(array, shape):
    """Sum `array` over the axes NumPy broadcasting added or stretched to reach its shape."""
    lead = array.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and array.shape[i + lead] != 1)
    if axes:
        array = array.sum(axis=axes, keepdims=True)
    if lead:
        array = array.reshape(shape)
    return array


def _array_value(t):
    # NOTE: a 0-d array as its NumPy scalar: ~60 ns per product instead of ~550 (function.value)
    d = t.data
    if d.shape or type(d) is not _ndarray:
        return d
    return d[()]


def _array_op(cls, *xs, **params):
    """The primitive `cls` on arrays: its forward, with no graph."""
    return cls().forward(*xs, **params)


# NOTE: methods rather than np.reshape / np.transpose / np.swapaxes (their Python wrappers
# cost ~0.5 µs a call); data is a C-level attrgetter: rules run once per op in backward.
ARRAYS = types.SimpleNamespace(
    graph=False,
    value=_array_value,
    data=operator.attrgetter("data"),
    const=lambda a: a,
    zeros=np.zeros,
    reshape=lambda g, shape: g.reshape(shape),
    transpose=lambda g, axes: g.transpose(axes),
    mT=lambda g: g.swapaxes(-1, -2),
    broadcast_to=np.broadcast_to,
    sum_to=sum_to,
    exp=np.exp,
    log=np.log,
    sqrt=np.sqrt,
    sin=np.sin,
    cos=np.cos,
    sinh=np.sinh,
    cosh=np.cosh,
    where=np.where,
    concatenate=np.concatenate,
    stack=np.stack,
    op=_array_op,
)


def _tensor_const(a):
    from .tensor import Tensor

    return Tensor(a)


def _tensor_zeros(shape, dtype):
    from .tensor import Tensor

    return Tensor(np.zeros(shape, dtype))


def _tensor_reshape(g, shape):
    return g if g.shape == tuple(shape) else g.reshape(shape)


def _tensor_transpose(g, axes):
    from .ops import Transpose

    return Transpose.apply(g, axes=tuple(int(a) for a in axes))


def _tensor_broadcast_to(g, shape):
    from .ops import BroadcastTo

    return BroadcastTo.apply(g, shape=tuple(shape))


def _tensor_sum_to(g, shape):
    from .ops import SumTo

    return SumTo.apply(g, shape=tuple(shape))


def _tensor_where(cond, a, b):
    from .composites import where

    return where(cond, a, b)


def _tensor_concatenate(gs, axis=0):
    from .composites import concatenate

    return concatenate(gs, axis)


def _tensor_stack(gs, axis=0):
    from .composites import stack

    return stack(gs, axis)


def _tensor_op(cls, *xs, **params):
    return cls.apply(*xs, **params)


TENSORS = types.SimpleNamespace(
    graph=True,
    value=lambda t: t,
    data=lambda t: t,
    const=_tensor_const,
    zeros=_tensor_zeros,
    reshape=_tensor_reshape,
    transpose=_tensor_transpose,
    mT=lambda g: g.mT,
    broadcast_to=_tensor_broadcast_to,
    sum_to=_tensor_sum_to,
    exp=lambda t: t.exp(),
    log=lambda t: t.log(),
    sqrt=lambda t: t.sqrt(),
    sin=lambda t: t.sin(),
    cos=lambda t: t.cos(),
    sinh=lambda t: t.sinh(),
    cosh=lambda t: t.cosh(),
    where=_tensor_where,
    concatenate=_tensor_concatenate,
    stack=_tensor_stack,
    op=_tensor_op,
)
