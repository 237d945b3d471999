"""Trigonometric, hyperbolic and exp-family primitives beyond elementwise.py's (tan ... expm1),
each with its vjp (on a namespace: arrays, or recorded Tensor ops) and jvp (on arrays) rule."""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


def _plus(a, b):
    """a + b where None stands for a zero tangent."""
    if a is None:
        return b
    return a if b is None else a + b


# ---- trigonometric -----------------------------------------------------------------------

class Tan(Function):
    """tan(x);  dx = grad * (1 + tan(x)^2)"""

    name = "tan"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.tan(x)

    def vjp(self, grad, out, on=ARRAYS):
        y = on.data(out)
        return (grad * (y * y + 1),)

    def jvp(self, tangents, out):
        y = out.data
        return tangents[0] * (y * y + 1)


class Asin(Function):
    """arcsin(x);  dx = grad / sqrt(1 - x^2)"""

    name = "asin"

    def forward(self, x):
        return np.arcsin(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad / on.sqrt(1 - x * x),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] / np.sqrt(1 - x * x)


class Acos(Function):
    """arccos(x);  dx = -grad / sqrt(1 - x^2)"""

    name = "acos"

    def forward(self, x):
        return np.arccos(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (-grad / on.sqrt(1 - x * x),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return -tangents[0] / np.sqrt(1 - x * x)


class Atan(Function):
    """arctan(x);  dx = grad / (1 + x^2)"""

    name = "atan"

    def forward(self, x):
        return np.arctan(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad / (x * x + 1),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] / (x * x + 1)


class Atan2(Function):
    """arctan2(a, b), the angle of the point (b, a);  da = grad * b / r^2, db = -grad * a / r^2"""

    # NOTE: at a = b = 0 the angle jumps; r^2 = 0 gives 0/0 = NaN there, as PyTorch.
    name = "atan2"

    def forward(self, a, b):
        return np.arctan2(a, b)

    def vjp(self, grad, out, on=ARRAYS):
        a, b = on.value(self.inputs[0]), on.value(self.inputs[1])
        scale = grad / (a * a + b * b)
        return (scale * b if self.needs[0] else None,
                -scale * a if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), a, b = tangents, self.inputs[0].data, self.inputs[1].data
        num = _plus(None if ta is None else ta * b, None if tb is None else -tb * a)
        return num / (a * a + b * b)


# ---- hyperbolic ---------------------------------------------------------------------------

class Sinh(Function):
    """sinh(x);  dx = grad * cosh(x)"""

    name = "sinh"

    def forward(self, x):
        return np.sinh(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.cosh(on.value(self.inputs[0])),)

    def jvp(self, tangents, out):
        return tangents[0] * np.cosh(self.inputs[0].data)


class Cosh(Function):
    """cosh(x);  dx = grad * sinh(x)"""

    name = "cosh"

    def forward(self, x):
        return np.cosh(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * on.sinh(on.value(self.inputs[0])),)

    def jvp(self, tangents, out):
        return tangents[0] * np.sinh(self.inputs[0].data)


class Asinh(Function):
    """arcsinh(x);  dx = grad / sqrt(x^2 + 1)"""

    name = "asinh"

    def forward(self, x):
        return np.arcsinh(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad / on.sqrt(x * x + 1),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] / np.sqrt(x * x + 1)


class Acosh(Function):
    """arccosh(x) for x >= 1;  dx = grad / sqrt(x^2 - 1)"""

    name = "acosh"

    def forward(self, x):
        return np.arccosh(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad / on.sqrt(x * x - 1),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] / np.sqrt(x * x - 1)


class Atanh(Function):
    """arctanh(x) for |x| < 1;  dx = grad / (1 - x^2)"""

    name = "atanh"

    def forward(self, x):
        return np.arctanh(x)

    def vjp(self, grad, out, on=ARRAYS):
        x = on.value(self.inputs[0])
        return (grad / (1 - x * x),)

    def jvp(self, tangents, out):
        x = self.inputs[0].data
        return tangents[0] / (1 - x * x)


# ---- exponential ------------------------------------------------------------------------------

class Expm1(Function):
    """exp(x) - 1, exact near 0;  dx = grad * (out + 1)"""

    # NOTE: a primitive, not exp(x) - 1, which loses every digit for |x| < 1e-8.
    name = "expm1"
    saves_inputs = False
    saves_output = True

    def forward(self, x):
        return np.expm1(x)

    def vjp(self, grad, out, on=ARRAYS):
        return (grad * (on.data(out) + 1),)

    def jvp(self, tangents, out):
        return tangents[0] * (out.data + 1)
