"""`Function`: the base of every primitive op (forward on arrays, backward on Tensors)."""
import traceback

import numpy as np

from .grad_mode import state

Tensor = None  # set by autograd.tensor once the Tensor class exists (avoids an import cycle)


class Function:
    """A primitive op: a node of the graph.

    A subclass defines
      * ``forward(self, *arrays, **params) -> ndarray`` on NumPy arrays; it may keep on
        ``self`` whatever its backward needs (axes, shapes, masks);
      * ``backward(self, grad, out) -> tuple`` of one gradient (a Tensor, or ``None``) per
        input, written with Tensor ops so that ``create_graph=True`` can differentiate it
        again. ``self.inputs`` are the input Tensors, ``self.needs[i]`` says whether input
        ``i`` wants a gradient, ``out`` is the output Tensor.

    The engine undoes broadcasting and casts dtypes, so a rule may return a gradient of
    the broadcast shape. Call an op with ``MyOp.apply(*tensors, **params)``.

    Example (a custom op)::

        class Cube(Function):
            name = "cube"
            def forward(self, x):
                return x ** 3
            def backward(self, grad, out):
                (x,) = self.inputs
                return (grad * 3 * x * x,)

        y = Cube.apply(Tensor([2.0], requires_grad=True))
    """

    name = "function"
    saves_inputs = True  # False for rules that never read their inputs' values

    inputs = None
    needs = ()
    versions = None
    scope = ()
    where = None  # the user's source line, recorded under detect_anomaly()

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def backward(self, grad, out):
        raise NotImplementedError(f"op '{self.name}' has no backward rule")

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls()
        data = fn.forward(*[t.data for t in inputs], **params)
        if type(data) is not np.ndarray:
            data = np.asarray(data)
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out._hooks = None
        out._version = 0
        out.name = None
        out._retains_grad = False
        if state.enabled:
            for t in inputs:
                if t.requires_grad:
                    break
            else:
                out.requires_grad = False
                out._ctx = None
                return out
            fn.inputs = inputs
            fn.needs = tuple([t.requires_grad for t in inputs])
            if cls.saves_inputs:
                fn.versions = tuple([t._version for t in inputs])
            fn.scope = state.scope
            out.requires_grad = True
            out._ctx = fn
            if state.anomaly:
                fn.where = _user_frame()
                _check_finite(fn, data, "forward")
        else:
            out.requires_grad = False
            out._ctx = None
        return out

    def release(self):
        """Drop the references to the inputs, so the graph behind can be freed."""
        self.inputs = None

    def __repr__(self):
        return f"<{self.name}>"


def _user_frame():
    """The innermost stack frame outside the library, as 'file:line in func: code'."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    nn_dir = os.path.join(os.path.dirname(here), "nn")
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = os.path.abspath(frame.filename)
        if not path.startswith(here) and not path.startswith(nn_dir):
            return f'{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}'
    return "<unknown>"


def _check_finite(fn, data, phase, input_index=None):
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        what = "NaN" if np.isnan(data).any() else "Inf"
        place = f" (gradient of input {input_index})" if input_index is not None else ""
        msg = (
            f"detect_anomaly: op '{fn.name}' produced {what} in its {phase}{place}, "
            f"shape {data.shape}; the op was created at {fn.where}."
        )
        if fn.name == "where" or phase == "backward":
            msg += (
                " Note: where(cond, f(x), y) still back-propagates through f(x) at the "
                "positions cond did not take, and 0 * NaN = NaN. Mask the input first: "
                "safe_x = where(cond, x, 1.0); where(cond, f(safe_x), y)."
            )
        raise FloatingPointError(msg)
