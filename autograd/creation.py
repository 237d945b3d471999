"""Tensor factories and the random generator they share."""
import numpy as np

from .tensor import Tensor, from_numpy

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed the generator behind randn / rand / nn.init (and nn's dropout and shuffling)."""
    global _rng
    _rng = np.random.default_rng(seed)
    return _rng


def default_rng():
    """The generator that randn, rand, nn.init and dropout draw from."""
    return _rng


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def zeros(*shape, dtype="float32", requires_grad=False):
    return from_numpy(np.zeros(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype="float32", requires_grad=False):
    return from_numpy(np.ones(_shape(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, value, dtype="float32", requires_grad=False):
    return from_numpy(np.full(shape, value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return from_numpy(np.zeros(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return from_numpy(np.ones(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def randn(*shape, dtype="float32", requires_grad=False):
    """Standard normal samples from the shared generator (see manual_seed)."""
    return from_numpy(_rng.standard_normal(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def rand(*shape, dtype="float32", requires_grad=False):
    """Uniform samples in [0, 1) from the shared generator."""
    return from_numpy(_rng.random(_shape(shape)).astype(dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in [start, stop); Python floats give float32 (as Tensor([...]))."""
    if stop is None:
        start, stop = 0, start
    values = np.arange(start, stop, step, dtype=dtype)
    if dtype is None and values.dtype == np.float64 and not any(
            isinstance(v, np.floating) for v in (start, stop, step)):
        values = values.astype(np.float32)
    return Tensor(values)


def tensor(data, requires_grad=False, dtype=None):
    """Same as Tensor(...), PyTorch's spelling."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)
