"""autograd.<op>(x, ...) for the Tensor methods whose code lives on Tensor (the others are in
the composites modules).

Each is the method, written out (so `ag.exp(x)` and `x.exp()` are one op, as `torch.exp`
and `Tensor.exp` are); a NumPy array or a number becomes a constant Tensor first. `all`,
`any`, `abs`, `max`, `min` and `sum` keep NumPy's and PyTorch's names but stay out of
`from autograd import *`, which would shadow the builtins.

>>> import autograd as ag
>>> x = ag.Tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
>>> ag.sum(ag.relu(x - 1.5) * ag.tril(ag.ones(2, 2))).backward()
>>> x.grad.tolist()
[[0.0, 0.0], [1.0, 1.0]]
"""
from .composites import _tensor


# ---- elementwise -------------------------------------------------------------------------

def exp(x):
    return _tensor(x).exp()


def log(x):
    return _tensor(x).log()


def log1p(x):
    return _tensor(x).log1p()


def sqrt(x):
    return _tensor(x).sqrt()


def abs(x):  # noqa: A001 -- NumPy's and PyTorch's name
    return _tensor(x).abs()


def sin(x):
    return _tensor(x).sin()


def cos(x):
    return _tensor(x).cos()


def tanh(x):
    return _tensor(x).tanh()


def sigmoid(x):
    return _tensor(x).sigmoid()


def relu(x):
    return _tensor(x).relu()


def clip(x, min=None, max=None):  # noqa: A002 -- NumPy's and PyTorch's argument names
    return _tensor(x).clip(min, max)


clamp = clip


def dot(a, b):
    return _tensor(a).dot(b)


# ---- reductions --------------------------------------------------------------------------

def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _tensor(x).sum(axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _tensor(x).mean(axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0, correction=None):
    return _tensor(x).var(axis, keepdims, ddof, correction)


def std(x, axis=None, keepdims=False, ddof=0, correction=None):
    return _tensor(x).std(axis, keepdims, ddof, correction)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _tensor(x).max(axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _tensor(x).min(axis, keepdims)


def argmax(x, axis=None, keepdims=False):
    return _tensor(x).argmax(axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _tensor(x).argmin(axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001 -- torch.all; never differentiable
    return _tensor(x).all(axis, keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001 -- torch.any; never differentiable
    return _tensor(x).any(axis, keepdims)


# ---- shape -------------------------------------------------------------------------------

def reshape(x, *shape):
    return _tensor(x).reshape(*shape)


def transpose(x, *axes):
    return _tensor(x).transpose(*axes)


def permute(x, *axes):
    return _tensor(x).permute(*axes)


def swapaxes(x, axis1, axis2):
    return _tensor(x).swapaxes(axis1, axis2)


def squeeze(x, axis=None):
    return _tensor(x).squeeze(axis)


def unsqueeze(x, axis):
    return _tensor(x).unsqueeze(axis)


def broadcast_to(x, shape):
    return _tensor(x).broadcast_to(shape)


def flatten(x, start_axis=0, end_axis=-1):
    return _tensor(x).flatten(start_axis, end_axis)
