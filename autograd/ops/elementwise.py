"""Elementwise primitives. Rules may return broadcast-shaped gradients: the engine sums them back."""
import math

import numpy as np

from ..function import Function, value


def _const(array):
    """A constant Tensor (no graph) for masks and other values a rule reads."""
    from ..tensor import as_tensor

    return as_tensor(array)


# ---- arithmetic -----------------------------------------------------------------------

class Add(Function):
    """a + b;  da = grad, db = grad"""

    name = "add"
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, grad, out):
        return grad, grad

    def vjp(self, grad, out):
        return grad, grad


class Sub(Function):
    """a - b;  da = grad, db = -grad"""

    # NOTE: a primitive rather than a + (-b): one graph node instead of two.
    name = "sub"
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, grad, out):
        return grad, (-grad if self.needs[1] else None)

    def vjp(self, grad, out):
        return grad, (-grad if self.needs[1] else None)


class Mul(Function):
    """a * b;  da = grad * b, db = grad * a"""

    name = "mul"

    def forward(self, a, b):
        return a * b

    def backward(self, grad, out):
        a, b = self.inputs
        return (grad * b if self.needs[0] else None,
                grad * a if self.needs[1] else None)

    def vjp(self, grad, out):
        a, b = self.inputs
        return (grad * value(b.data) if self.needs[0] else None,
                grad * value(a.data) if self.needs[1] else None)


class Div(Function):
    """a / b;  da = grad / b, db = -grad * a / b^2"""

    name = "div"

    def forward(self, a, b):
        return a / b

    def backward(self, grad, out):
        a, b = self.inputs
        ga = grad / b if self.needs[0] else None
        gb = -grad * a / (b * b) if self.needs[1] else None
        return ga, gb

    def vjp(self, grad, out):
        a, b = value(self.inputs[0].data), value(self.inputs[1].data)
        return (grad / b if self.needs[0] else None,
                -grad * a / (b * b) if self.needs[1] else None)


class Neg(Function):
    """-x;  dx = -grad"""

    name = "neg"
    saves_inputs = False

    def forward(self, x):
        return -x

    def backward(self, grad, out):
        return (-grad,)

    def vjp(self, grad, out):
        return (-grad,)


class PowScalar(Function):
    """x ** p for a constant number p;  dx = grad * p * x^(p-1)"""

    name = "pow"

    def forward(self, x, exponent):
        self.exponent = exponent
        return x ** exponent

    def backward(self, grad, out):
        (x,) = self.inputs
        p = self.exponent
        if p == 0:
            # NOTE: x^0 = 1 is flat everywhere, x = 0 included (0 * x^-1 would be NaN there).
            return (_const(np.zeros(x.shape, grad.dtype)),)
        if p == 2:
            return (grad * 2 * x,)
        return (grad * p * x ** (p - 1),)

    def vjp(self, grad, out):
        x, p = self.inputs[0].data, self.exponent
        if p == 0:
            return (np.zeros(x.shape, grad.dtype),)
        if p == 2:
            return (grad * 2 * x,)
        return (grad * p * x ** (p - 1),)


class Pow(Function):
    """a ** b;  da = grad * b * a^(b-1), db = grad * a^b * log(a)"""

    name = "pow"
    saves_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, grad, out):
        a, b = self.inputs
        ga = gb = None
        if self.needs[0]:
            ga = grad * b * a ** (b - 1)
            flat = b.data == 0
            if flat.any():
                # NOTE: where b == 0, a^b = 1 is flat in a, also at a = 0 (not 0 * 0^-1 = NaN).
                ga = Where.apply(_const(flat), _const(np.zeros((), ga.dtype)), ga)
        if self.needs[1]:
            # NOTE: where a == 0 and b >= 0, a^b is flat in b from the right: use 0, not 0*log(0).
            zero = _const((a.data == 0) & (b.data >= 0))
            safe_a = Where.apply(zero, _const(np.ones((), a.data.dtype)), a)
            gb = Where.apply(zero, _const(np.zeros((), out.data.dtype)), grad * out * safe_a.log())
        return ga, gb


# ---- transcendental and activation ------------------------------------------------------

class Exp(Function):
    """exp(x);  dx = grad * exp(x)"""

    name = "exp"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad, out):
        return (grad * out,)

    def vjp(self, grad, out):
        return (grad * out.data,)


class Log(Function):
    """log(x);  dx = grad / x"""

    name = "log"

    def forward(self, x):
        return np.log(x)

    def backward(self, grad, out):
        return (grad / self.inputs[0],)

    def vjp(self, grad, out):
        return (grad / self.inputs[0].data,)


class Log1p(Function):
    """log(1 + x);  dx = grad / (1 + x)"""

    name = "log1p"

    def forward(self, x):
        return np.log1p(x)

    def backward(self, grad, out):
        return (grad / (self.inputs[0] + 1),)


class Sqrt(Function):
    """sqrt(x);  dx = grad / (2 sqrt(x))"""

    name = "sqrt"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad, out):
        return (grad / (out * 2),)


class Abs(Function):
    """|x|;  dx = grad * sign(x)   # NOTE: subgradient 0 at x = 0, as PyTorch"""

    name = "abs"

    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def backward(self, grad, out):
        return (grad * _const(self.sign),)


class Sin(Function):
    """sin(x);  dx = grad * cos(x)"""

    name = "sin"

    def forward(self, x):
        return np.sin(x)

    def backward(self, grad, out):
        return (grad * self.inputs[0].cos(),)


class Cos(Function):
    """cos(x);  dx = -grad * sin(x)"""

    name = "cos"

    def forward(self, x):
        return np.cos(x)

    def backward(self, grad, out):
        return (-grad * self.inputs[0].sin(),)


class Tanh(Function):
    """tanh(x);  dx = grad * (1 - tanh(x)^2)"""

    name = "tanh"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad, out):
        return (grad * (1 - out * out),)

    def vjp(self, grad, out):
        y = out.data
        return (grad * (1 - y * y),)


class Sigmoid(Function):
    """1 / (1 + exp(-x));  dx = grad * s * (1 - s)"""

    # NOTE: a primitive so that it is stable: exp only ever sees -|x|, never overflows.
    name = "sigmoid"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        if x.dtype.kind in "biu":  # as exp: the smallest float that holds them (-|x| would wrap)
            x = x.astype(np.result_type(x.dtype, np.float16))
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, grad, out):
        return (grad * out * (1 - out),)

    def vjp(self, grad, out):
        s = out.data
        return (grad * s * (1 - s),)


class Relu(Function):
    """max(x, 0);  dx = grad * (x > 0)   # NOTE: subgradient 0 at x = 0, as PyTorch"""

    name = "relu"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        # NOTE: np.maximum, not np.where(mask, x, 0): 10x faster on a (64, 8, 28, 28) batch,
        # keeps the dtype, and passes NaN through as PyTorch's relu does. The mask is read
        # off the output in backward (out > 0 exactly where x > 0), so a forward without
        # backward (evaluation) never builds it. A NumPy scalar (a 0-d result, see
        # Function.apply) takes the comparison: np.maximum costs ~1 µs on one number.
        if type(x) is not np.ndarray:
            return x if x > 0 else abs(x * 0)  # keeps the dtype and NaN; abs turns -0.0 into 0.0
        return np.maximum(x, 0)

    def backward(self, grad, out):
        return (grad * _const(out.data > 0),)

    def vjp(self, grad, out):
        return (grad * (out.data > 0),)


_erf = np.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    """erf(x);  dx = grad * 2/sqrt(pi) * exp(-x^2)"""

    # NOTE: NumPy has no erf; math.erf per element is exact but slow (used by exact GELU).
    name = "erf"

    def forward(self, x):
        # NOTE: a ufunc on a 0-d array returns a bare Python float; asarray keeps it an array.
        return np.asarray(_erf(x), dtype=x.dtype)

    def backward(self, grad, out):
        x = self.inputs[0]
        return (grad * (2 / math.sqrt(math.pi)) * (-(x * x)).exp(),)


# ---- selection -------------------------------------------------------------------------

class Maximum(Function):
    """max(a, b);  da = grad * [a > b], db = grad * [b > a]   # NOTE: ties split 1/2, as PyTorch"""

    name = "maximum"

    def forward(self, a, b):
        self.wins = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    def backward(self, grad, out):
        wa = self.wins.astype(grad.dtype, copy=False)
        return (grad * _const(wa) if self.needs[0] else None,
                grad * _const(1 - wa) if self.needs[1] else None)


class Minimum(Function):
    """min(a, b);  da = grad * [a < b], db = grad * [b < a]   # NOTE: ties split 1/2"""

    name = "minimum"

    def forward(self, a, b):
        self.wins = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def backward(self, grad, out):
        wa = self.wins.astype(grad.dtype, copy=False)
        return (grad * _const(wa) if self.needs[0] else None,
                grad * _const(1 - wa) if self.needs[1] else None)


class Where(Function):
    """where(c, a, b);  dc = none, da = grad * c, db = grad * (1 - c)"""

    # NOTE: the branch not taken still receives a zero gradient, and 0 * inf = NaN:
    # mask the input of a dangerous function first (see detect_anomaly).
    name = "where"
    saves_inputs = False

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool, copy=False)
        return np.where(self.cond, a, b)

    def backward(self, grad, out):
        zero = _const(np.zeros((), grad.data.dtype))
        c = _const(self.cond)
        return (None,
                Where.apply(c, grad, zero) if self.needs[1] else None,
                Where.apply(c, zero, grad) if self.needs[2] else None)


class Clip(Function):
    """clip(x, lo, hi);  dx = grad * [lo <= x <= hi]"""

    name = "clip"
    saves_inputs = False

    def forward(self, x, lo, hi):
        self.inside = np.ones(x.shape, bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return np.clip(x, lo, hi)

    def backward(self, grad, out):
        return (grad * _const(self.inside),)


class Cast(Function):
    """x.astype(dtype);  dx = grad.astype(x.dtype)"""

    name = "cast"
    saves_inputs = False

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad, out):
        return (Cast.apply(grad, dtype=self.in_dtype),)
