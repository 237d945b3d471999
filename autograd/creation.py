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


def full_like(t, value, dtype=None, requires_grad=False):
    return Tensor(np.full(t.shape, value, dtype=dtype or t.dtype), requires_grad=requires_grad)


def empty(*shape, dtype="float32", requires_grad=False):
    """A new tensor of `shape`; zero-filled here (PyTorch leaves it uninitialised: read no value
    from it either way)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


def eye(n, m=None, dtype="float32", requires_grad=False):
    """The n x m identity (m defaults to n)."""
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def linspace(start, end, steps, dtype="float32", requires_grad=False):
    """`steps` evenly spaced values from start to end, both included (PyTorch's linspace)."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be an int >= 0, got {steps!r}")
    return Tensor(np.linspace(start, end, steps).astype(dtype), requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype="int64"):
    """Integers drawn uniformly from [low, high) (randint(high, size=...) starts at 0)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(_rng.integers(low, high, size).astype(dtype))


def multinomial(probs, num_samples, replacement=False):
    """Indices drawn from the categorical distribution in each row of `probs` (weights, not
    necessarily normalised): (K,) -> (num_samples,), (N, K) -> (N, num_samples)."""
    p = probs.data if isinstance(probs, Tensor) else np.asarray(probs)
    if p.ndim not in (1, 2):
        raise ValueError(f"multinomial: probs must be 1-D or 2-D, got shape {p.shape}")
    rows = np.atleast_2d(p).astype(np.float64)
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: probs must be finite, >= 0, with a positive sum in "
                         "every row")
    if not replacement and num_samples > (rows > 0).sum(axis=1).min():
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement "
                         f"from {(rows > 0).sum(axis=1).min()} categories with nonzero weight; "
                         "pass replacement=True or draw fewer")
    out = np.stack([_rng.choice(len(r), size=num_samples, replace=replacement, p=r / r.sum())
                    for r in rows]).astype(np.int64)
    return Tensor(out if p.ndim == 2 else out[0])
