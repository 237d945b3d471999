"""Linear layers and shape adapters: Linear, Bilinear, Identity, Flatten, Unflatten."""
import math

import numpy as np

import autograd  # noqa: F401  (used by the docstring example)

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _empty(shape, dtype):
    return Parameter(np.zeros(shape, dtype=np.dtype(dtype or np.float32)))


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ weight^T + bias, weight (out_features, in_features), bias (out_features,).

    Initialised as PyTorch: weight by kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)),
    bias U(-1/sqrt(in_features), 1/sqrt(in_features)).

    >>> layer = Linear(2, 3)
    >>> layer
    Linear(in_features=2, out_features=3, bias=True)
    >>> layer(autograd.zeros(4, 2)).shape
    (4, 3)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {name} must be an int >= 0, got {n!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty((out_features, in_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init._linear_default_(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b, weight (out_features, in1_features, in2_features), bias (out_features,)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = _empty((out_features, in1_features, in2_features), dtype)
        if bias:
            self.bias = _empty((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x1, x2):
        return F.bilinear(x1, x2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Flatten(Module):
    """Flatten axes start_axis .. end_axis into one (PyTorch's start_dim / end_dim)."""

    def __init__(self, start_axis=1, end_axis=-1):
        super().__init__()
        self.start_axis = start_axis
        self.end_axis = end_axis

    def forward(self, x):
        return x.flatten(self.start_axis, self.end_axis)

    def extra_repr(self):
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}"


class Unflatten(Module):
    """Split axis `axis` into `unflattened_size` (PyTorch's dim)."""

    def __init__(self, axis, unflattened_size):
        super().__init__()
        self.axis = axis
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, x):
        axis = self.axis % x.ndim
        sizes = self.unflattened_size
        known = int(np.prod([n for n in sizes if n != -1]))
        if (-1 not in sizes and known != x.shape[axis]) or (
                -1 in sizes and (known == 0 or x.shape[axis] % known)):
            raise ValueError(f"Unflatten: axis {self.axis} of input {x.shape} has size "
                             f"{x.shape[axis]}, which cannot be split into {sizes}")
        return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])

    def extra_repr(self):
        return f"axis={self.axis}, unflattened_size={self.unflattened_size}"
