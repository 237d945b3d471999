"""Scans along one axis: cumulative sum and cumulative product."""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


def _flip(array, axis):
    return np.flip(array, axis)


class CumSum(Function):
    """cumsum(x, axis) (reverse=True sums from the end);  dx = cumsum of grad the other way"""

    name = "cumsum"
    saves_inputs = False

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        if reverse:
            return _flip(np.cumsum(_flip(x, axis), axis=axis), axis)
        return np.cumsum(x, axis=axis)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.op(CumSum, grad, axis=self.axis, reverse=not self.reverse),)

    def jvp(self, tangents, out):
        return self.forward(tangents[0], self.axis, self.reverse)


class CumProd(Function):
    """cumprod(x, axis);  dx_j = sum_{k >= j} grad_k * prod_{i <= k, i != j} x_i"""

    # NOTE: without zeros that sum is revcumsum(grad * out) / x. A zero in x makes that 0/0,
    # so then each dx_j is built from its exclusive products instead (O(n^2) along the axis,
    # only for inputs that hold a zero), which is exact and still differentiable again.
    name = "cumprod"
    saves_output = True

    def forward(self, x, axis):
        self.axis = axis
        return np.cumprod(x, axis=axis)

    def vjp(self, grad, out, on=ARRAYS):
        x, y, axis = on.data(self.inputs[0]), on.data(out), self.axis
        if not (self.inputs[0].data == 0).any():
            return (on.op(CumSum, grad * y, axis=axis, reverse=True) / x,)
        xm, gm, om = x.swapaxes(axis, -1), grad.swapaxes(axis, -1), y.swapaxes(axis, -1)
        n = xm.shape[-1]
        one = on.const(np.ones(xm.shape[:-1] + (1,), x.dtype))
        parts = []
        for j in range(n):
            seq = one if j == n - 1 else on.concatenate(
                [one, on.op(CumProd, xm[..., j + 1:], axis=-1)], axis=-1)
            part = (gm[..., j:] * seq).sum(axis=-1)
            parts.append(part * om[..., j - 1] if j else part)
        return (on.stack(parts, axis=-1).swapaxes(axis, -1),)

    def jvp(self, tangents, out):
        """d out_k = sum_{j <= k} t_j prod_{i <= k, i != j} x_i"""
        (t,), x, axis = tangents, self.inputs[0].data, self.axis
        if not (x == 0).any():
            return out.data * np.cumsum(t / x, axis=axis)
        xm, tm = np.moveaxis(x, axis, -1), np.moveaxis(np.broadcast_to(t, x.shape), axis, -1)
        n = xm.shape[-1]
        result = np.zeros(np.broadcast_shapes(xm.shape, tm.shape), np.result_type(x, t))
        before = np.ones(xm.shape[:-1], x.dtype)  # prod_{i < j} x_i
        for j in range(n):
            tail = np.cumprod(xm[..., j + 1:], axis=-1)  # prod_{j < i <= k} x_i for k > j
            lead = tm[..., j] * before
            result[..., j] += lead
            result[..., j + 1:] += lead[..., None] * tail
            before = before * xm[..., j]
        return np.moveaxis(result, -1, axis)
