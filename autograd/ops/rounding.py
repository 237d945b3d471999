"""Rounding primitives (floor, ceil, round, trunc, sign): piecewise constant, so gradient 0.

They are primitives rather than detached results so that, as in PyTorch, the output stays in
the graph (a later op's gradient flows through them as zeros, not as a missing input).
"""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


class _Flat(Function):
    """A piecewise-constant elementwise op;  dx = 0 (also at the jumps, as PyTorch)"""

    saves_inputs = False
    ufunc = None

    def forward(self, x):
        self.in_shape = np.shape(x)
        return self.ufunc(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.zeros(self.in_shape, grad.dtype),)

    def jvp(self, tangents, out):
        return None  # a zero tangent


class Floor(_Flat):
    name = "floor"
    ufunc = staticmethod(np.floor)


class Ceil(_Flat):
    name = "ceil"
    ufunc = staticmethod(np.ceil)


class Trunc(_Flat):
    name = "trunc"
    ufunc = staticmethod(np.trunc)


class Sign(_Flat):
    name = "sign"
    ufunc = staticmethod(np.sign)


class Round(_Flat):
    """round half to even, to `decimals` places (NumPy's and PyTorch's rule);  dx = 0"""

    name = "round"

    def forward(self, x, decimals=0):
        self.in_shape = np.shape(x)
        return np.round(x, decimals)
