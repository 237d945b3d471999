"""Gradient clipping, flattening parameters into one vector, and checkpointing a Sequential."""
import math

import numpy as np

from autograd import Tensor, as_tensor, checkpoint
from autograd.function import unguard


def _grads(fn, parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected Tensors (e.g. model.parameters()), but item {i} "
                            f"is a {type(p).__name__}")
    grads = [p.grad for p in params if p.grad is not None]
    for g in grads:
        if not g.data.flags.writeable:  # e.g. a broadcast view: clip a private copy
            g.data = np.array(g.data)
    return grads


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint `norm_type`-norm is at most `max_norm`.

    The norm is over all gradients as if concatenated into one vector; `norm_type` may be
    any p >= 1 or `inf` (the largest absolute entry). Returns the norm before clipping, as a
    0-d Tensor. Gradients are multiplied by min(1, max_norm / (norm + 1e-6)), as PyTorch.

    >>> import autograd
    >>> w = autograd.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = autograd.Tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0).item()
    5.0
    >>> [round(g, 4) for g in w.grad.tolist()]
    [0.6, 0.8]
    """
    grads = _grads("clip_grad_norm_", parameters)
    norm_type = float(norm_type)
    if not (norm_type >= 1.0 or math.isinf(norm_type)):
        raise ValueError(f"clip_grad_norm_: norm_type must be >= 1 or inf, got {norm_type}")
    if not grads:
        return as_tensor(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*[g.data.dtype for g in grads])
    if math.isinf(norm_type):
        total = max(float(np.max(np.abs(g.data), initial=0.0)) for g in grads)
    else:
        # Norms of norms, as PyTorch: one pass per gradient, then a tiny vector.
        per = np.array([np.linalg.norm(g.data.ravel(), ord=norm_type) if g.data.size else 0.0
                        for g in grads], dtype=dtype)
        total = float(np.linalg.norm(per, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is "
                           f"{total}; pass error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g.data *= np.asarray(coef, dtype=g.data.dtype)
        g._version += 1
    return as_tensor(np.array(total, dtype=dtype))


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient entry into [-clip_value, clip_value], in place.

    >>> import autograd
    >>> w = autograd.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = autograd.Tensor([3.0, -0.5])
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad.tolist()
    [1.0, -0.5]
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g.data, -clip_value, clip_value, out=g.data)
        g._version += 1


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-d Tensor (a copy, no graph)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return as_tensor(np.concatenate([p.data.ravel() for p in params]))


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-d `vec` into the parameters, in place."""
    data = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.size for p in params)
    if data.ndim != 1 or data.size != total:
        raise ValueError(f"vector_to_parameters: expected a 1-d vector of {total} entries "
                         f"(the parameters' total size), got shape {data.shape}")
    offset = 0
    for p in params:
        unguard(p)
        p.data[...] = data[offset:offset + p.size].reshape(p.shape)
        p._version += 1
        offset += p.size


def checkpoint_sequential(functions, segments, input, use_reentrant=None):  # noqa: A002 -- PyTorch's name
    """Run the modules of `functions` (a Sequential or a list) in `segments` chunks, every
    chunk but the last under autograd.checkpoint: only the chunks' boundary activations are
    kept, the rest are recomputed in backward. Same result and gradients as functions(input).
    """
    del use_reentrant
    modules = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    if not modules:
        raise ValueError("checkpoint_sequential: got no modules to run")
    size = -(-len(modules) // segments)
    chunks = [modules[i:i + size] for i in range(0, len(modules), size)]
    x = input
    for k, chunk in enumerate(chunks):
        def run(h, chunk=chunk):
            for m in chunk:
                h = m(h)
            return h

        if k == len(chunks) - 1:
            return run(x)
        params = [p for m in chunk for p in m.parameters() if p.requires_grad]
        x = checkpoint(run, x, params=params)
    return x
