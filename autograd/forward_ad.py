"""Forward-mode AD, as PyTorch's `torch.autograd.forward_ad`: dual tensors carry a tangent.

Inside ``dual_level()``, every primitive op computes its output's tangent from its inputs'
tangents by its ``jvp`` rule (see autograd.Function) in the same forward pass: one pass
gives J v for one direction v, and no graph and no backward pass are needed.

>>> import numpy as np
>>> from autograd import Tensor, forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(Tensor([1.0, 2.0]), Tensor([1.0, 0.0]))
...     y = (x * x).sum()
...     float(fwAD.unpack_dual(y).tangent)
2.0
"""
import collections

import numpy as np

from . import function
from .grad_mode import state

UnpackedDualTensor = collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])


class dual_level:
    """A context in which dual tensors exist; their tangents are dropped when it exits.

    One level at a time (as PyTorch today): entering a second inside the first raises.
    """

    def __enter__(self):
        if state.dual is not None:
            raise RuntimeError("forward_ad.dual_level: a dual level is already active; "
                               "nested forward-mode levels are not supported")
        self._duals = []
        state.dual = self
        function._dual_levels += 1
        return self

    def __exit__(self, *exc):
        state.dual = None
        function._dual_levels -= 1
        for t in self._duals:
            t._tangent = None  # the duals the user made; results' tangents die with them
        self._duals = []
        return False


def _level(level):
    current = state.dual
    if level is not None and level is not current:
        raise RuntimeError("forward_ad: the given level is not the active dual level")
    return current


def _alias(tensor):
    """A new Tensor on the same data, joined to `tensor`'s graph when it records one."""
    from .ops import Reshape
    from .tensor import Tensor

    if tensor.requires_grad and state.enabled:
        saved, state.dual = state.dual, None  # the alias must not inherit a tangent
        try:
            return Reshape.apply(tensor, shape=tensor.shape)
        finally:
            state.dual = saved
    return Tensor(tensor.data)


def make_dual(tensor, tangent, *, level=None):
    """A tensor with the value of `tensor` that carries `tangent` (same shape) through ops.

    Gradients of reverse mode still flow from the dual to `tensor`.
    """
    from .tensor import Tensor

    current = _level(level)
    if current is None:
        raise RuntimeError("forward_ad.make_dual: no dual level is active; call it inside "
                           "`with forward_ad.dual_level():`")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"forward_ad.make_dual: expects a Tensor primal, got {type(tensor).__name__}")
    t = tangent.data if isinstance(tangent, Tensor) else tangent
    t = np.asarray(t)
    if t.shape != tensor.shape:
        raise ValueError(f"forward_ad.make_dual: the tangent has shape {t.shape} but the primal "
                         f"has shape {tensor.shape}; they must match")
    if tensor.dtype.kind not in "fc":
        raise TypeError(f"forward_ad.make_dual: the primal must be floating point, got "
                        f"{tensor.dtype}; cast it first (x.double())")
    if t.dtype != tensor.dtype:
        t = t.astype(tensor.dtype)
    dual = _alias(tensor)
    dual._tangent = (current, t)
    current._duals.append(dual)
    return dual


def unpack_dual(tensor, *, level=None):
    """(primal, tangent): the value without its tangent, and the tangent as a Tensor (None if
    the tensor has none at the active level)."""
    from .tensor import Tensor

    current = _level(level)
    pair = getattr(tensor, "_tangent", None)
    if current is None or pair is None or pair[0] is not current:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias(tensor), Tensor(pair[1]))
