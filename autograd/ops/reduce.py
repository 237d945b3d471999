"""Reductions, and `SumTo`: the one place where broadcasting is undone."""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS, sum_to  # noqa: F401  (sum_to: the one place broadcasting is undone)


def _keepdims_shape(shape, axis):
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """sum(x, axis);  dx = grad broadcast back over the summed axes"""

    name = "sum"
    saves_inputs = False

    def forward(self, x, axis=None, keepdims=False):
        self.in_shape = x.shape
        self.axis = axis
        self.keepdims = keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    def vjp(self, grad, out, on=ARRAYS):
        if not self.keepdims:
            grad = on.reshape(grad, _keepdims_shape(self.in_shape, self.axis))
        return (on.broadcast_to(grad, self.in_shape),)

    def jvp(self, tangents, out):
        return np.sum(tangents[0], axis=self.axis, keepdims=self.keepdims)


class _Extremum(Function):
    """max/min over axis;  dx = grad at the arg-extremes   # NOTE: ties share grad equally"""

    reduce = None

    def forward(self, x, axis=None, keepdims=False):
        self.in_shape = x.shape
        self.axis = axis
        self.keepdims = keepdims
        try:
            out = self.reduce(x, axis=axis, keepdims=True)
        except ValueError:
            if x.size:  # an axis out of range (AxisError): NumPy's message names it
                raise
            # only an axis of length 0 fails; (0, 3) over axis 1 is fine
            raise ValueError(f"{self.name}: cannot reduce over an empty axis (input shape "
                             f"{x.shape}, axis={axis}); the {self.name} of nothing is undefined") from None
        self.hit = x == out
        if x.dtype.kind == "f":
            self.hit |= np.isnan(x) & np.isnan(out)  # NOTE: a NaN wins and takes the gradient, as PyTorch
        if keepdims:
            return out
        return out.reshape(()) if axis is None else np.squeeze(out, axis=axis)

    def vjp(self, grad, out, on=ARRAYS):
        hit = self.hit
        share = hit / hit.sum(axis=self.axis, keepdims=True)
        grad = on.reshape(grad, _keepdims_shape(self.in_shape, self.axis))
        return (grad * on.const(share.astype(grad.dtype, copy=False)),)

    def jvp(self, tangents, out):
        hit = self.hit
        share = hit / hit.sum(axis=self.axis, keepdims=True)
        return np.sum(tangents[0] * share, axis=self.axis, keepdims=self.keepdims)


class Max(_Extremum):
    name = "max"
    reduce = staticmethod(np.max)


class Min(_Extremum):
    name = "min"
    reduce = staticmethod(np.min)


class SumTo(Function):
    """Sum a broadcast gradient back to `shape`;  dx = grad broadcast to x's shape"""

    name = "sum_to"
    saves_inputs = False

    def forward(self, x, shape):
        self.in_shape = x.shape
        return sum_to(x, shape)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.broadcast_to(grad, self.in_shape),)

    def jvp(self, tangents, out):
        return sum_to(tangents[0], np.shape(out.data))


class BroadcastTo(Function):
    """broadcast_to(x, shape);  dx = sum_to(grad, x.shape)"""

    name = "expand"
    saves_inputs = False

    def forward(self, x, shape):
        self.in_shape = x.shape
        return np.broadcast_to(x, shape)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.sum_to(grad, self.in_shape),)

    def jvp(self, tangents, out):
        return tangents[0]  # Function.apply broadcasts it to the output's shape
