"""The functional API, as `torch.autograd.functional`: jacobian, hessian, vjp, jvp, hvp, vhp.

Each takes a function of Tensors and the point to differentiate at, with PyTorch's return
conventions: a Tensor for a Tensor input, tuples for tuple inputs, and `(output, result)`
pairs for the products. `vjp`, `vhp`, `hvp` and `jacobian` run reverse mode (one backward
pass per output element for a Jacobian); `jvp` and `jacobian(..., strategy="forward-mode")`
run forward mode (one forward pass per input element, see autograd.forward_ad).

>>> from autograd import Tensor
>>> from autograd.functional import hessian
>>> hessian(lambda x: (x ** 3).sum(), Tensor([1.0, 2.0]))
tensor([[ 6.,  0.],
        [ 0., 12.]])

The composites that lived here before (softmax, logsumexp, ...) are in autograd.composites
and still importable from this module.
"""
import numpy as np

from . import forward_ad
from .composites import (cat, concatenate, elu, gelu, leaky_relu, log_softmax,  # noqa: F401
                         logsumexp, matmul, maximum, mean, minimum, norm, pad, softmax, softplus,
                         split, stack, std, var, where)
from .engine import grad as _grad
from .grad_mode import enable_grad, state
from .tensor import Tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ---- inputs and outputs as PyTorch shapes them -------------------------------------------

def _as_tuple(x, what, fn):
    """(tuple of Tensors, whether x was a tuple)."""
    is_tuple = isinstance(x, (tuple, list))
    xs = tuple(x) if is_tuple else (x,)
    for i, t in enumerate(xs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, but entry {i} "
                            f"is a {type(t).__name__}")
    return xs, is_tuple


def _untuple(xs, is_tuple):
    return tuple(xs) if is_tuple else xs[0]


def _prepare(inputs, create_graph):
    """Inputs to differentiate at: joined to the callers' graph when create_graph asks."""
    from .ops import Reshape

    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(Reshape.apply(t, shape=t.shape))  # an alias that keeps the graph
        else:
            if t.dtype.kind != "f":
                raise TypeError(f"functional: inputs must be floating point, got {t.dtype}")
            out.append(Tensor(t.data, requires_grad=True))
    return tuple(out)


def _finish(xs, create_graph):
    """Results as returned: detached unless create_graph."""
    if create_graph:
        return tuple(xs)
    return tuple(None if x is None else Tensor(x.data) for x in xs)


def _check_v(v, like, what, fn):
    vs, _ = _as_tuple(v, what, fn)
    if len(vs) != len(like):
        raise ValueError(f"{fn}: v has {len(vs)} entries but {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise ValueError(f"{fn}: entry {i} of v has shape {a.shape} but the matching "
                             f"{what} has shape {b.shape}; they must match")
    return vs


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn, retain_graph=True):
    """d(sum outputs . grad_outputs)/d inputs, zeros (or an error under strict) where unused."""
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if live:
        grads = _grad([o for o, _ in live], list(inputs), grad_outputs=[g for _, g in live],
                      retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
    else:
        grads = [None] * len(inputs)
    result = []
    for i, (t, g) in enumerate(zip(inputs, grads)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output is independent of input {i} (strict=True); "
                                   "pass strict=False to get zeros for it")
            g = Tensor(np.zeros(t.shape, t.dtype))
        result.append(g)
    return result


# ---- the products ----------------------------------------------------------------------

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, by one backward pass.

    `v` may be None only when func returns a single element.
    """
    xs, is_tuple = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        outs, out_tuple = _as_tuple(func(*xs), "outputs of func", "vjp")
        if v is None:
            if len(outs) != 1 or outs[0].size != 1:
                raise ValueError("vjp: v can be None only when func returns a single element; "
                                 f"it returned shapes {[o.shape for o in outs]}")
            vs = (Tensor(np.ones(outs[0].shape, outs[0].dtype)),)
        else:
            vs = _check_v(v, outs, "outputs of func", "vjp")
        grads = _grads(outs, xs, vs, create_graph, strict, "vjp", retain_graph=create_graph)
    return _untuple(_finish(outs, create_graph), out_tuple), _untuple(_finish(grads, create_graph), is_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by one forward-mode pass.

    `v` may be None only when the input is a single element. Tangents are constants in
    forward mode here, so create_graph=True records the output's graph but J v has none.
    """
    xs, is_tuple = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise ValueError("jvp: v can be None only when the input is a single element; "
                             f"got shapes {[x.shape for x in xs]}")
        vs = (Tensor(np.ones(xs[0].shape, xs[0].dtype)),)
    else:
        vs = _check_v(v, xs, "inputs", "jvp")
    if create_graph:
        xs = _prepare(xs, True)
    outer = state.dual
    if outer is not None:
        raise RuntimeError("jvp: called inside a forward_ad.dual_level; nested levels are not "
                           "supported")
    with forward_ad.dual_level():
        duals = [forward_ad.make_dual(x, t) for x, t in zip(xs, vs)]
        outs, out_tuple = _as_tuple(func(*duals), "outputs of func", "jvp")
        pairs = [forward_ad.unpack_dual(o) for o in outs]
    values = [p.primal for p in pairs]
    tangents = []
    for i, (o, p) in enumerate(zip(outs, pairs)):
        if p.tangent is None:
            if strict:
                raise RuntimeError(f"jvp: output {i} is independent of the inputs (strict=True)")
            tangents.append(Tensor(np.zeros(o.shape, o.dtype)))
        else:
            tangents.append(p.tangent)
    return _untuple(_finish(values, create_graph), out_tuple), _untuple(tuple(tangents), out_tuple)


def _scalar_output(func, xs, fn):
    out = func(*xs)
    if not isinstance(out, Tensor) or out.size != 1:
        shape = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"{fn}: func must return a single-element Tensor, got {shape}")
    return out


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar func: two reverse passes (the gradient, then its vjp)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar func. H is symmetric for the twice-differentiable
    functions this is meant for, so H v = (v^T H)^T, computed as vhp does."""
    # NOTE: PyTorch's hvp uses the double-backward trick so that a non-symmetric H (a func
    # with non-smooth points) still gives H v; here the two agree wherever H is symmetric.
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, fn):
    xs, is_tuple = _as_tuple(inputs, "inputs", fn)
    if v is None:
        if len(xs) != 1 or xs[0].size != 1:
            raise ValueError(f"{fn}: v can be None only when the input is a single element")
        vs = (Tensor(np.ones(xs[0].shape, xs[0].dtype)),)
    else:
        vs = _check_v(v, xs, "inputs", fn)
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out = _scalar_output(func, xs, fn)
        ones = Tensor(np.ones(out.shape, out.dtype))
        gs = _grads([out], xs, [ones], True, strict, fn)
        result = _grads(gs, xs, vs, create_graph, strict, fn, retain_graph=create_graph)
    return _finish([out], create_graph)[0], _untuple(_finish(result, create_graph), is_tuple)


# ---- whole matrices --------------------------------------------------------------------

def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of func at inputs: entry [i][j] of shape outputs[i].shape + inputs[j].shape.

    A Tensor when func has one input and one output; a tuple over inputs (or outputs) when
    one side is a tuple; a tuple of tuples (outputs, then inputs) when both are.
    strategy="reverse-mode" runs one backward pass per output element (cheap for a wide
    Jacobian, few outputs); "forward-mode" one forward pass per input element (cheap for a
    tall one, few inputs). `vectorize` is accepted for PyTorch's signature: the rows (or
    columns) are computed one pass each either way.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', "
                         f"got {strategy!r}")
    xs, in_tuple = _as_tuple(inputs, "inputs", "jacobian")
    if strategy == "forward-mode":
        if create_graph:
            raise ValueError("jacobian: strategy='forward-mode' does not support "
                             "create_graph=True (forward-mode tangents carry no graph here)")
        return _jacobian_forward(func, xs, in_tuple, strict)
    with enable_grad():
        xs = _prepare(xs, create_graph)
        outs, out_tuple = _as_tuple(func(*xs), "outputs of func", "jacobian")
        blocks = []  # blocks[i][j]: d outs[i] / d xs[j]
        for i, o in enumerate(outs):
            rows = [[] for _ in xs]
            for k in range(o.size):
                seed = np.zeros(o.size, o.dtype)
                seed[k] = 1
                gs = _grads([o], xs, [Tensor(seed.reshape(o.shape))], create_graph, strict,
                            "jacobian")
                for j, g in enumerate(gs):
                    rows[j].append(g)
            blocks.append([_stack_rows(rows[j], o.shape, x.shape, x.dtype, create_graph)
                           for j, x in enumerate(xs)])
    return _shape_blocks(blocks, in_tuple, out_tuple)


def _stack_rows(rows, out_shape, in_shape, dtype, create_graph):
    if not rows:
        return Tensor(np.zeros(tuple(out_shape) + tuple(in_shape), dtype))
    if create_graph:
        return stack(rows).reshape(tuple(out_shape) + tuple(in_shape))
    return Tensor(np.stack([r.data for r in rows]).reshape(tuple(out_shape) + tuple(in_shape)))


def _shape_blocks(blocks, in_tuple, out_tuple):
    if out_tuple and in_tuple:
        return tuple(tuple(row) for row in blocks)
    if out_tuple:
        return tuple(row[0] for row in blocks)
    if in_tuple:
        return tuple(blocks[0])
    return blocks[0][0]


def _jacobian_forward(func, xs, in_tuple, strict):
    columns = None  # columns[i][j]: list of J v for v = each element of xs[j]
    out_tuple = False
    for j, x in enumerate(xs):
        for k in range(x.size):
            vs = [Tensor(np.zeros(t.shape, t.dtype)) for t in xs]
            vs[j].data.reshape(-1)[k] = 1
            outs, tangents = jvp(func, tuple(xs), tuple(vs), strict=strict)
            outs, out_tuple = (outs, True) if isinstance(outs, tuple) else ((outs,), False)
            tangents = tangents if out_tuple else (tangents,)
            if columns is None:
                columns = [[[] for _ in xs] for _ in outs]
                shapes = [o.shape for o in outs]
            for i, t in enumerate(tangents):
                columns[i][j].append(t.data)
    if columns is None:  # every input is empty: one call to learn the outputs' shapes
        outs = func(*xs)
        out_tuple = isinstance(outs, tuple)
        shapes = [o.shape for o in (outs if out_tuple else (outs,))]
        columns = [[[] for _ in xs] for _ in shapes]
    blocks = []
    for i, shape in enumerate(shapes):
        row = []
        for j, x in enumerate(xs):
            cols = columns[i][j]
            mat = (np.stack(cols, axis=-1) if cols
                   else np.zeros(tuple(shape) + (0,), x.dtype))
            row.append(Tensor(mat.reshape(tuple(shape) + tuple(x.shape))))
        blocks.append(row)
    return _shape_blocks(blocks, in_tuple, out_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar func: a Tensor of shape x.shape + x.shape for one input, a
    tuple of tuples H[i][j] (shape inputs[i].shape + inputs[j].shape) for a tuple.

    Reverse over reverse: the Jacobian of the gradient (built with create_graph).
    """
    if outer_jacobian_strategy != "reverse-mode":
        raise ValueError("hessian: only outer_jacobian_strategy='reverse-mode' is supported")
    xs, is_tuple = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*ys):
        out = _scalar_output(func, ys, "hessian")
        gs = _grads([out], ys, [Tensor(np.ones(out.shape, out.dtype))], True, strict, "hessian")
        return tuple(gs)

    blocks = jacobian(gradient, xs, create_graph=create_graph, strict=strict)
    # jacobian of a tuple-valued function of a tuple: blocks[i][j] = d grad_i / d x_j
    if is_tuple:
        return blocks
    return blocks[0][0]
