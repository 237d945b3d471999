"""Finite-difference gradient checking in float64."""
import numpy as np

from .engine import grad as _grad
from .function import unguard
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def numerical_grad(fn, inputs, eps=1e-6, grad_output=None):
    """Central differences of sum(fn(*inputs) * grad_output) for every input element."""
    # NOTE: grad mode stays on, so that `fn` may itself call autograd.grad (second-order checks).
    grads = []
    out = fn(*inputs)
    weight = np.ones(out.shape) if grad_output is None else grad_output
    del out  # its graph saved the inputs, which are nudged in place below (see unguard)
    for t in inputs:
        g = np.zeros(t.shape, dtype=np.float64)
        flat = t.data.reshape(-1)
        if flat.size and not np.shares_memory(flat, t.data):
            raise ValueError(f"numerical_grad: input of shape {t.shape} is not C-contiguous, so "
                             "its elements cannot be nudged in place; pass np.ascontiguousarray(x)")
        for i in range(flat.size):
            unguard(t)  # the nudges are meant: no graph of fn is alive across them
            keep = flat[i]
            flat[i] = keep + eps
            up = float((fn(*inputs).data * weight).sum())
            flat[i] = keep - eps
            down = float((fn(*inputs).data * weight).sum())
            flat[i] = keep
            g.reshape(-1)[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Compare backward against central differences, in float64.

    `inputs` are Tensors (or arrays); float ones are cast to float64 and made to require
    grad. The output is contracted with a fixed random weight so that every element's
    gradient is tested. Returns True, or raises GradcheckError naming the worst element.

    >>> gradcheck(lambda x: (x * x).sum(), [np.array([1.0, 2.0])])
    True
    """
    tensors = []
    for x in inputs:
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.dtype.kind == "f":
            # A C-ordered copy: numerical_grad nudges elements through a flat view.
            tensors.append(Tensor(np.array(data, dtype=np.float64, order="C"), requires_grad=True))
        else:
            tensors.append(Tensor(data))
    diff = [t for t in tensors if t.requires_grad]
    out = fn(*tensors)
    if isinstance(out, (tuple, list)):  # several outputs: check them as one flat vector
        single = fn

        def fn(*xs):
            from .composites import concatenate

            return concatenate([o.reshape(-1) for o in single(*xs)])

        out = fn(*tensors)
    weight = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape)
    analytic = _grad([out], diff, grad_outputs=[Tensor(weight.astype(out.dtype))],
                     allow_unused=True)

    def fn_diff(*xs):
        it = iter(xs)
        return fn(*[next(it) if t.requires_grad else t for t in tensors])

    numeric = numerical_grad(fn_diff, diff, eps, weight)
    for k, (t, a, n) in enumerate(zip(diff, analytic, numeric)):
        a = np.zeros(t.shape) if a is None else a.data
        if a.shape != t.shape:
            raise GradcheckError(f"gradcheck: gradient of input {k} has shape {a.shape}, "
                                 f"expected {t.shape}")
        err = np.abs(a - n) - (atol + rtol * np.abs(n))
        if err.size and err.max() > 0:
            i = np.unravel_index(np.argmax(err), err.shape)
            msg = (f"gradcheck: input {k} (shape {t.shape}) element {tuple(int(j) for j in i)}: "
                   f"backward gives {a[i]:.8g}, finite differences give {n[i]:.8g} "
                   f"(|diff| {abs(a[i] - n[i]):.3g} > atol {atol} + rtol {rtol} * |numeric|)")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True
