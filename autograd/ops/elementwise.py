"""Elementwise primitives. Rules may return broadcast-shaped gradients: the engine sums them back."""
import math

import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


def _plus(a, b):
    """a + b where None stands for a zero tangent (None + None is None)."""
    if a is None:
        return b
    return a if b is None else a + b


# ---- arithmetic -----------------------------------------------------------------------

class Add(Function):
    """a + b;  da = grad, db = grad"""

    name = "add"
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def vjp(self, grad, out, on=ARRAYS):
        return grad, grad

    def jvp(self, tangents, out):
        return _plus(*tangents)


class Sub(Function):
    """a - b;  da = grad, db = -grad"""

    # NOTE: a primitive rather than a + (-b): one graph node instead of two.
    name = "sub"
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def vjp(self, grad, out, on=ARRAYS):
        return grad, (-grad if self.needs[1] else None)

    def jvp(self, tangents, out):
        ta, tb = tangents
        return _plus(ta, None if tb is None else -tb)


class Mul(Function):
    """a * b;  da = grad * b, db = grad * a"""

    name = "mul"

    def forward(self, a, b):
        return a * b

    def vjp(self, grad, out, on=ARRAYS):
        a, b = self.inputs
        return (grad * on.value(b) if self.needs[0] else None,
                grad * on.value(a) if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), (a, b) = tangents, self.inputs
        return _plus(None if ta is None else ta * b.data, None if tb is None else a.data * tb)


class Div(Function):
    """a / b;  da = grad / b, db = -grad * a / b^2"""

    name = "div"

    def forward(self, a, b):
        return a / b

    def vjp(self, grad, out, on=ARRAYS):
        a, b = on.value(self.inputs[0]), on.value(self.inputs[1])
        return (grad / b if self.needs[0] else None,
                -grad * a / (b * b) if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), b = tangents, self.inputs[1].data
        # d(a/b) = (da - db * a/b) / b
        return _plus(ta, None if tb is None else -tb * out.data) / b


class Neg(Function):
    """-x;  dx = -grad"""

    name = "neg"
    saves_inputs = False

    def forward(self, x):
        return -x

    def vjp(self, grad, out, on=ARRAYS):
        return (-grad,)

    def jvp(self, tangents, out):
        return -tangents[0]


class PowScalar(Function):
    """x ** p for a constant number p;  dx = grad * p * x^(p-1)"""

    name = "pow"

    def forward(self, x, exponent):
        self.exponent = exponent
        return x ** exponent

    def vjp(self, grad, out, on=ARRAYS):
        x, p = on.value(self.inputs[0]), self.exponent
        if p == 0:
            # NOTE: x^0 = 1 is flat everywhere, x = 0 included (0 * x^-1 would be NaN there).
            return (on.zeros(self.inputs[0].shape, grad.dtype),)
        if p == 2:
            return (grad * 2 * x,)
        return (grad * p * x ** (p - 1),)

    def jvp(self, tangents, out):
        x, p = self.inputs[0].data, self.exponent
        if p == 0:
            return None
        if p == 2:
            return tangents[0] * 2 * x
        return tangents[0] * p * x ** (p - 1)


class Pow(Function):
    """a ** b;  da = grad * b * a^(b-1), db = grad * a^b * log(a)"""

    name = "pow"
    saves_output = True

    def forward(self, a, b):
        return a ** b

    def vjp(self, grad, out, on=ARRAYS):
        a, b = on.value(self.inputs[0]), on.value(self.inputs[1])
        ga = gb = None
        if self.needs[0]:
            ga = grad * b * a ** (b - 1)
            flat = self.inputs[1].data == 0
            if flat.any():
                # NOTE: where b == 0, a^b = 1 is flat in a, also at a = 0 (not 0 * 0^-1 = NaN).
                ga = on.where(flat, np.zeros((), ga.dtype), ga)
        if self.needs[1]:
            # NOTE: where a == 0 and b >= 0, a^b is flat in b from the right: use 0, not 0*log(0).
            zero = (self.inputs[0].data == 0) & (self.inputs[1].data >= 0)
            safe_a = on.where(zero, np.ones((), self.inputs[0].dtype), a)
            gb = grad * on.data(out) * on.log(safe_a)
            gb = on.where(zero, np.zeros((), gb.dtype), gb)
        return ga, gb

    def jvp(self, tangents, out):
        (ta, tb), a, b = tangents, self.inputs[0].data, self.inputs[1].data
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ta is not None:
                # NOTE: the flat points of the vjp: b == 0 (flat in a), a == 0 with b >= 0.
                da = np.where(b == 0, 0, ta * b * a ** (b - 1))
            if tb is not None:
                zero = (a == 0) & (b >= 0)
                db = np.where(zero, 0, tb * out.data * np.log(np.where(zero, 1, a)))
        return _plus(da, db)


# ---- transcendental and activation ------------------------------------------------------

class Exp(Function):
    """exp(x);  dx = grad * exp(x)"""

    name = "exp"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.exp(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.data(out),)

    def jvp(self, tangents, out):
        return tangents[0] * out.data


class Log(Function):
    """log(x);  dx = grad / x"""

    name = "log"

    def forward(self, x):
        return np.log(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad / on.data(self.inputs[0]),)

    def jvp(self, tangents, out):
        return tangents[0] / self.inputs[0].data


class Log1p(Function):
    """log(1 + x);  dx = grad / (1 + x)"""

    name = "log1p"

    def forward(self, x):
        return np.log1p(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad / (on.value(self.inputs[0]) + 1),)

    def jvp(self, tangents, out):
        return tangents[0] / (self.inputs[0].data + 1)


class Sqrt(Function):
    """sqrt(x);  dx = grad / (2 sqrt(x))"""

    name = "sqrt"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.sqrt(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad / (on.data(out) * 2),)

    def jvp(self, tangents, out):
        return tangents[0] / (out.data * 2)


class Abs(Function):
    """|x|;  dx = grad * sign(x)   # NOTE: subgradient 0 at x = 0, as PyTorch"""

    name = "abs"

    def forward(self, x):
        self.sign = np.sign(x)
        return np.abs(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.const(self.sign),)

    def jvp(self, tangents, out):
        return tangents[0] * self.sign


class Sin(Function):
    """sin(x);  dx = grad * cos(x)"""

    name = "sin"

    def forward(self, x):
        return np.sin(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.cos(on.value(self.inputs[0])),)

    def jvp(self, tangents, out):
        return tangents[0] * np.cos(self.inputs[0].data)


class Cos(Function):
    """cos(x);  dx = -grad * sin(x)"""

    name = "cos"

    def forward(self, x):
        return np.cos(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (-grad * on.sin(on.value(self.inputs[0])),)

    def jvp(self, tangents, out):
        return -tangents[0] * np.sin(self.inputs[0].data)


class Tanh(Function):
    """tanh(x);  dx = grad * (1 - tanh(x)^2)"""

    name = "tanh"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.tanh(x)

    def vjp(self, grad, out, on=ARRAYS):
        y = on.data(out)
        return (grad * (1 - y * y),)

    def jvp(self, tangents, out):
        y = out.data
        return tangents[0] * (1 - y * y)


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

    def vjp(self, grad, out, on=ARRAYS):
        s = on.data(out)
        return (grad * s * (1 - s),)

    def jvp(self, tangents, out):
        s = out.data
        return tangents[0] * s * (1 - s)


_RELU_BLOCK = 8192


def _relu_array(x):
    """max(x, 0) of an array, NaN passed through, in x's memory layout."""
    # NOTE: NumPy's maximum against the scalar 0 runs a scalar loop (151 µs on cnn_step's
    # (64, 8, 28, 28) float32 batch) and against an array of zeros its SIMD loop, so x's
    # memory is read as rows of _RELU_BLOCK elements compared with one row of zeros (64 µs;
    # 77 -> 35 µs on (64, 16, 14, 14)). That needs x laid out contiguously in some order,
    # as a convolution's output is; any other x takes the plain call.
    out = np.empty_like(x)
    flat, flat_out = np.ravel(x, order="K"), np.ravel(out, order="K")
    if (x.size < _RELU_BLOCK or x.strides != out.strides or not np.may_share_memory(flat, x)
            or not np.may_share_memory(flat_out, out)):
        return np.maximum(x, 0, out=out)
    rows, tail = divmod(x.size, _RELU_BLOCK)
    zeros = np.zeros(_RELU_BLOCK, x.dtype)
    body = rows * _RELU_BLOCK
    np.maximum(flat[:body].reshape(rows, _RELU_BLOCK), zeros,
               out=flat_out[:body].reshape(rows, _RELU_BLOCK))
    np.maximum(flat[body:], zeros[:tail], out=flat_out[body:])
    return out


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
        return _relu_array(x)

    def vjp(self, grad, out, on=ARRAYS):
        mask = out.data > 0  # an array, or a constant under create_graph
        if type(grad) is np.ndarray and type(mask) is np.ndarray and grad.dtype.kind == "f":
            # NOTE: the mask as grad's dtype first: NumPy multiplies float by bool through a
            # buffered cast, measured 119 -> 96 µs on a (64, 8, 28, 28) float32 batch.
            mask = mask.astype(grad.dtype)
            return (np.multiply(grad, mask, out=mask),)
        return (grad * mask,)

    def jvp(self, tangents, out):
        return tangents[0] * (out.data > 0)


_erf = np.frompyfunc(math.erf, 1, 1)


def erf_elementwise(x):
    """erf of every element with math.erf, in x's dtype (also GELU's fallback without scipy)."""
    # NOTE: a ufunc on a 0-d array returns a bare Python float; asarray keeps it an array.
    return np.asarray(_erf(x), dtype=x.dtype)


class Erf(Function):
    """erf(x);  dx = grad * 2/sqrt(pi) * exp(-x^2)"""

    # NOTE: NumPy has no erf; math.erf per element is exact but slow (used by exact GELU).
    name = "erf"

    def forward(self, x):
        return erf_elementwise(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad * (2 / math.sqrt(math.pi)) * on.exp(-(x * x)),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] * (2 / math.sqrt(math.pi)) * np.exp(-(x * x))


# ---- selection -------------------------------------------------------------------------

class Maximum(Function):
    """max(a, b);  da = grad * [a > b], db = grad * [b > a]   # NOTE: ties split 1/2, as PyTorch"""

    name = "maximum"

    def forward(self, a, b):
        self.wins = (a > b) + 0.5 * (a == b)
        return np.maximum(a, b)

    def vjp(self, grad, out, on=ARRAYS):
        wa = self.wins.astype(grad.dtype, copy=False)
        return (grad * on.const(wa) if self.needs[0] else None,
                grad * on.const(1 - wa) if self.needs[1] else None)

    def jvp(self, tangents, out):
        ta, tb = tangents
        wa = self.wins
        return _plus(None if ta is None else ta * wa, None if tb is None else tb * (1 - wa))


class Minimum(Function):
    """min(a, b);  da = grad * [a < b], db = grad * [b < a]   # NOTE: ties split 1/2"""

    name = "minimum"

    def forward(self, a, b):
        self.wins = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def vjp(self, grad, out, on=ARRAYS):
        wa = self.wins.astype(grad.dtype, copy=False)
        return (grad * on.const(wa) if self.needs[0] else None,
                grad * on.const(1 - wa) if self.needs[1] else None)

    def jvp(self, tangents, out):
        ta, tb = tangents
        wa = self.wins
        return _plus(None if ta is None else ta * wa, None if tb is None else tb * (1 - wa))


class Where(Function):
    """where(c, a, b);  dc = none, da = grad * c, db = grad * (1 - c)"""

    # NOTE: the branch not taken still receives a zero gradient, and 0 * inf = NaN:
    # mask the input of a dangerous function first (see detect_anomaly).
    name = "where"
    saves_inputs = False

    def forward(self, cond, a, b):
        self.cond = cond.astype(bool, copy=False)
        return np.where(self.cond, a, b)

    def vjp(self, grad, out, on=ARRAYS):
        zero = np.zeros((), grad.dtype)
        return (None,
                on.where(self.cond, grad, zero) if self.needs[1] else None,
                on.where(self.cond, zero, grad) if self.needs[2] else None)

    def jvp(self, tangents, out):
        _, ta, tb = tangents
        zero = np.zeros((), out.data.dtype)
        return np.where(self.cond, zero if ta is None else ta, zero if tb is None else tb)


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

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.const(self.inside),)

    def jvp(self, tangents, out):
        return tangents[0] * self.inside


class Cast(Function):
    """x.astype(dtype);  dx = grad.astype(x.dtype)"""

    name = "cast"
    saves_inputs = False

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.op(Cast, grad, dtype=self.in_dtype),)

    def jvp(self, tangents, out):
        return tangents[0]  # Function.apply casts it to the output's dtype
