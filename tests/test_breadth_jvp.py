"""The jvp rules of the tensor-API-breadth primitives, called directly on each gradcheck case
whose output the primitive itself makes: against finite differences along the tangent, and
against the vjp (<u, J v> = <J^T u, v>). (Forward-mode AD proper runs them through dual
tensors; this checks the rules on their own.)"""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

from gradcheck_breadth import CASES


def _cases():
    for op, make in CASES.items():
        for label, fn, inputs, *_ in make():
            yield pytest.param(op, fn, inputs, id=label)


@pytest.mark.parametrize("op, fn, inputs", list(_cases()))
def test_breadth_jvp_rule(op, fn, inputs):
    rng = np.random.default_rng(7)
    tensors = [Tensor(np.array(x, dtype=np.float64), requires_grad=True) if np.asarray(x).dtype.kind == "f"
               else Tensor(x) for x in inputs]
    out = fn(*tensors)
    if not isinstance(out._ctx, op):
        pytest.skip("the case wraps the primitive in other ops")
    ctx = out._ctx
    tangents = [rng.standard_normal(t.shape) if t.requires_grad else None for t in ctx.inputs]
    jv = ctx.jvp(tuple(tangents), out)
    jv = np.zeros(out.shape) if jv is None else np.broadcast_to(jv, out.shape)
    eps = 1e-6

    def at(sign):
        with ag.no_grad():
            xs = [t if v is None else Tensor(t.data + sign * eps * v) for t, v in zip(ctx.inputs, tangents)]
            return np.asarray(op.apply(*xs, **_params(ctx)).data, dtype=np.float64)
    np.testing.assert_allclose(jv, (at(1) - at(-1)) / (2 * eps), atol=1e-5, rtol=1e-4)
    u = rng.standard_normal(out.shape)
    wanted = [t for t, v in zip(ctx.inputs, tangents) if v is not None]
    grads = ag.grad([out], wanted, grad_outputs=[Tensor(u)], allow_unused=True)
    reverse = sum(float((g.data * v).sum()) for g, v in zip(grads, [v for v in tangents if v is not None])
                  if g is not None)
    assert float((u * jv).sum()) == pytest.approx(reverse, rel=1e-9, abs=1e-9)


def _params(ctx):
    """The keyword parameters the op was applied with, read back from what forward kept."""
    name = type(ctx).__name__
    if name == "CumSum":
        return dict(axis=ctx.axis, reverse=ctx.reverse)
    if name == "CumProd":
        return dict(axis=ctx.axis)
    if name == "Einsum":
        return dict(subscripts=ctx.subscripts)
    return {}
