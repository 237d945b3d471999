"""More activations for nn.functional: composites in autograd.composites_math (no hand-written
gradients); logsigmoid and silu live in nn.functional itself."""
from autograd import Tensor
from autograd import composites_math as _fm

__all__ = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "celu", "selu", "softsign"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    """clip(x, min_val, max_val)"""
    return _fm.hardtanh(_tensor(x), min_val, max_val)


def relu6(x, inplace=False):
    """min(max(x, 0), 6)"""
    return _fm.relu6(_tensor(x))


def hardsigmoid(x, inplace=False):
    """clip(x / 6 + 1/2, 0, 1)"""
    return _fm.hardsigmoid(_tensor(x))


def hardswish(x, inplace=False):
    """x * hardsigmoid(x)"""
    return _fm.hardswish(_tensor(x))


def mish(x, inplace=False):
    """x * tanh(softplus(x))"""
    return _fm.mish(_tensor(x))


def celu(x, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x / alpha) - 1)"""
    return _fm.celu(_tensor(x), alpha)


def selu(x, inplace=False):
    """1.0507 * elu(x, 1.6733), self-normalising"""
    return _fm.selu(_tensor(x))


def softsign(x):
    """x / (1 + |x|)"""
    return _fm.softsign(_tensor(x))
