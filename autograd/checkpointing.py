"""Gradient checkpointing: run a segment without keeping its activations, recompute them in backward.

>>> import numpy as np
>>> from autograd import Tensor, checkpoint
>>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
>>> y = checkpoint(lambda t: (t.tanh() * t).exp(), x).sum()
>>> y.backward()
>>> bool(np.allclose(x.grad.data, np.exp(np.tanh(x.data) * x.data)
...      * (np.tanh(x.data) + x.data * (1 - np.tanh(x.data) ** 2))))
True
"""

from . import creation
from .function import Function
from .grad_mode import enable_grad, no_grad, state
from .namespaces import ARRAYS
from .tensor import Tensor


def _module_params(fn):
    """The parameters of `fn` when it is an nn Module or a Module's bound method."""
    owner = fn if hasattr(fn, "parameters") else getattr(fn, "__self__", None)
    if owner is None or not hasattr(owner, "parameters"):
        return []
    return [p for p in owner.parameters() if p.requires_grad]


class Checkpoint(Function):
    """out = fn(*args), its graph not kept;  d args, d params = vjp of fn, recomputed in backward"""

    # NOTE: the op holds its inputs (the segment's inputs and parameters), never the
    # activations inside fn; backward re-runs fn with grad on (with the random state fn saw,
    # so dropout draws the same masks) and differentiates that one graph.
    name = "checkpoint"

    def forward(self, *arrays, fn, n_args, template):
        self.fn, self.n_args, self.template = fn, n_args, template
        self.rng_state = creation.default_rng().bit_generator.state
        with no_grad():
            out = fn(*self._args([Tensor(a) for a in arrays[:n_args]]))
        if not isinstance(out, Tensor):
            raise TypeError(f"checkpoint: fn must return one Tensor, got {type(out).__name__}")
        return out.data

    def _args(self, tensors):
        """fn's positional arguments: the template with the Tensor slots filled in order."""
        it = iter(tensors)
        return [next(it) if slot is _TENSOR else slot for slot in self.template]

    def _replay(self, grad, create_graph):
        inputs = self.inputs
        if create_graph:  # the gradient must be a function of the op's inputs: alias them
            from .ops import Reshape

            args = [Reshape.apply(t, shape=t.shape) if need else Tensor(t.data)
                    for t, need in zip(inputs[:self.n_args], self.needs)]
        else:
            args = [Tensor(t.data, requires_grad=need)
                    for t, need in zip(inputs[:self.n_args], self.needs)]
        rng = creation.default_rng().bit_generator
        now, rng.state = rng.state, self.rng_state
        try:
            with enable_grad():
                out = self.fn(*self._args(args))
        finally:
            rng.state = now
        wanted = [t for t, need in zip(args + list(inputs[self.n_args:]), self.needs) if need]
        if not out.requires_grad or not wanted:
            return tuple(None for _ in inputs)
        _check_closed(out, set(args) | set(inputs[self.n_args:]))
        from .engine import grad as _grad

        grads = iter(_grad([out], wanted, grad_outputs=[grad], create_graph=create_graph,
                           allow_unused=True))
        return tuple(next(grads) if need else None for need in self.needs)

    def vjp(self, grad, out, on=ARRAYS):
        # The rule is fn's own graph, rebuilt and differentiated: recorded (create_graph)
        # when `on` records, on arrays otherwise.
        if on.graph:
            return self._replay(grad, create_graph=True)
        return tuple(None if g is None else g.data
                     for g in self._replay(Tensor(grad), create_graph=False))

    def jvp(self, tangents, out):
        # NOTE: forward mode keeps no activations anyway: fn runs again with the tangents on.
        level = state.dual
        args = []
        for t, tangent in zip(self.inputs[:self.n_args], tangents):
            arg = Tensor(t.data)
            if tangent is not None:
                arg._tangent = (level, tangent)
            args.append(arg)
        rng = creation.default_rng().bit_generator
        now, rng.state = rng.state, self.rng_state
        try:
            with no_grad():
                res = self.fn(*self._args(args))
        finally:
            rng.state = now
        pair = getattr(res, "_tangent", None)
        return None if pair is None or pair[0] is not level else pair[1]


_TENSOR = object()  # marks a Tensor slot of fn's arguments in Checkpoint's template


def _check_closed(out, known):
    """Every leaf that requires grad in the recomputed graph must be an input of the op."""
    seen, stack = set(known), [out]
    while stack:
        t = stack.pop()
        if t in seen or not t.requires_grad:
            continue
        seen.add(t)
        if t._ctx is not None:
            stack.extend(t._ctx.inputs)
            continue
        if t not in known:
            raise RuntimeError(
                f"checkpoint: fn uses a tensor of shape {t.shape} that requires grad but is "
                "neither one of its arguments nor in params=, so its gradient would be lost; "
                "pass it as an argument, or list it in params= (a Module's parameters are "
                "found when fn is the Module)")


def checkpoint(fn, *args, params=None, use_reentrant=None):
    """fn(*args), keeping none of fn's intermediate activations: backward recomputes them.

    Gradients reach the Tensor arguments and `params` (default: fn's parameters when fn is
    an nn Module or a Module's method); fn must return one Tensor. Peak memory falls by the
    activations inside fn, for the price of a second forward pass of fn in backward.
    `use_reentrant` is accepted for PyTorch's signature and ignored.
    """
    del use_reentrant
    tensors = [a for a in args if isinstance(a, Tensor)]
    template = [_TENSOR if isinstance(a, Tensor) else a for a in args]
    extra = _module_params(fn) if params is None else list(params)
    seen, unique = {id(t) for t in tensors}, []
    for p in extra:
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(p)
    extra = unique
    for p in extra:
        if p._ctx is not None:
            raise ValueError(f"checkpoint: params= holds a non-leaf tensor of shape {p.shape} "
                             "(the result of other ops); pass it as an argument of fn instead")
    return Checkpoint.apply(*tensors, *extra, fn=fn, n_args=len(tensors), template=template)
