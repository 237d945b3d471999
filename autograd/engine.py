"""The backward pass: one iterative walk over the graph in reverse topological order."""
import operator

import numpy as np

from . import kept_grads
from .function import _ZEROS1, _ZEROS2, _check_finite, _fingerprint
from .grad_mode import enable_grad, no_grad, state
from .ops import Cast, SumTo
from .ops.reduce import sum_to
from .summary import SMALL
from .tensor import Tensor, _wrap


_version_of = operator.attrgetter("_version")
_ndarray = np.ndarray
_EMIT = object()  # stack marker: the tensor below it has had all its parents ordered


def _toposort(roots):
    """Tensors reachable from `roots` through ops, each after everything it feeds (explicit stack)."""
    # NOTE: a marker on the stack instead of (tensor, expanded) pairs: no tuple per node; the
    # list methods are bound once (this loop visits every node of every graph).
    order, seen, stack = [], set(), list(reversed(roots))
    push, pop, emit, mark = stack.append, stack.pop, order.append, seen.add
    while stack:
        t = pop()
        if t is _EMIT:
            emit(pop())
            continue
        if t in seen:
            continue
        mark(t)
        node = t._ctx
        if node is None:
            emit(t)
            continue
        parents = node.inputs
        if parents is None:
            if node.failed is not None:
                raise RuntimeError(
                    f"backward: an earlier backward() failed part-way ({node.failed}), after "
                    f"releasing the graph through op '{node.name}'; fix the cause and "
                    "recompute the forward pass (retain_graph=True keeps the graph through a "
                    "failure)")
            raise RuntimeError(
                f"backward: the graph through op '{node.name}' was already freed by an earlier "
                "backward(); pass retain_graph=True to the first backward() to go through it twice")
        push(t)
        push(_EMIT)
        for parent in parents:
            if parent._requires_grad and parent not in seen:
                push(parent)
    order.reverse()
    return order


def _check_gradient(t, g, origin):
    """Reject a gradient of the wrong shape or dtype, naming both shapes."""
    if not isinstance(g, Tensor):
        raise TypeError(f"{origin}: gradient must be a Tensor, got {type(g).__name__}")
    if g.shape != t.shape:
        raise ValueError(f"{origin}: gradient of shape {g.shape} for a tensor of shape {t.shape}; "
                         "they must be equal")
    if g.dtype != t.dtype:
        raise TypeError(f"{origin}: gradient of dtype {g.dtype} for a tensor of dtype {t.dtype}; "
                        f"cast it with .astype('{t.dtype}')")


def _root_gradient(root, gradient):
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can only be implied for a single-element output, but this "
                f"one has shape {root.shape}; call .sum() first or pass gradient=<tensor of shape "
                f"{root.shape}>")
        return _wrap(np.ones(root.shape, dtype=root.dtype))
    if not isinstance(gradient, Tensor):
        gradient = _wrap(np.asarray(gradient, dtype=root.dtype))
    _check_gradient(root, gradient, "backward(gradient=...)")
    return gradient


def backward(roots, gradients=None, retain_graph=None, create_graph=False, inputs=None,
             on_step=None):
    """Back-propagate from `roots`; write `.grad` on leaves, or return the grads of `inputs`.

    Without `create_graph` the walk carries plain arrays and calls each op's `vjp` when it
    has one (its `backward` otherwise, on Tensors wrapped around the arrays); with it, the
    walk carries Tensors and calls `backward`, recording the graph of the gradients.
    `on_step(tensor, grad, node, input_grads)` is called after each op's rule is applied
    (the step-by-step renderer listens there).
    """
    if retain_graph is None:
        retain_graph = create_graph
    for root in roots:
        if not root.requires_grad:
            raise RuntimeError(
                f"backward: tensor of shape {root.shape} does not require grad and has no graph; "
                "create the leaves with requires_grad=True (and not inside no_grad())")
    # NOTE: plain arrays when no graph of the gradients is wanted: no Tensor, no Function per
    # rule, and nothing for the cyclic garbage collector to track (benchmarks/README.md).
    arrays = not create_graph
    # NOTE: tensors themselves are the keys (identity hash, see Tensor.__hash__).
    grads = {}  # tensor -> its gradient so far, popped when the tensor is reached
    owned = set()  # tensors whose gradient is a sum the engine made: a buffer safe to add into
    for i, root in enumerate(roots):
        g = _root_gradient(root, None if gradients is None else gradients[i])
        if arrays:
            g = g.data
        if root in grads:
            g = grads[root] + g
            owned.add(root)
        grads[root] = g
    wanted = None if inputs is None else dict.fromkeys(inputs)
    noted = inputs is None and not retain_graph  # its gradients recomputed for pictures
    if noted:  # (a root named twice has a summed buffer the walk may add into: copied)
        root_grads = [grads[root] + 0 if root in owned else grads[root] for root in roots]
    order = _toposort(roots)
    kept = {}  # tensor -> its summary in the released graph (autograd.summary)
    chain = []  # the tensors of the ops released inline, the root's first
    anomaly = state.anomaly
    try:
        _walk(order, grads, owned, wanted, kept, chain, arrays, create_graph, retain_graph,
              anomaly, on_step)
    except BaseException as exc:
        if not retain_graph:
            _mark_failed(order, exc)
        raise
    if noted:
        kept_grads.note_backward(roots, root_grads)
        if chain and len(roots) == 1:
            # NOTE: the kept graph is a chain Tensor -> op -> its inputs -> Tensor..., so
            # dropping the root frees it recursively (the interpreter's trashcan defers what
            # is too deep). The root's op holds the tensors of the ops released inline in a
            # list, the root's side last: a list frees its items from the end, so each tensor
            # dies in turn from the root down. op_overhead's chain: 0.96 of the time with the
            # collector on (benchmarks/README.md, "Memory after backward"). Not the root
            # itself (a cycle), and one root only: with two, one may lie below the other.
            if chain[0] is roots[0]:
                del chain[0]
            chain.reverse()
            roots[0]._ctx._chain = chain
    if wanted is not None:
        return [None if wanted[t] is None else _as_tensor(wanted[t]) for t in inputs]
    return None


def _mark_failed(order, exc):
    """Note on the ops a failed walk released what raised, for the message of a retry."""
    culprit = None
    tb = exc.__traceback__
    while tb is not None:  # the innermost hook or rule the exception came through
        frame = tb.tb_frame
        if frame.f_code is _run_hooks.__code__:
            t = frame.f_locals.get("t")
            hook = frame.f_locals.get("hook")
            culprit = (f"hook {getattr(hook, '__qualname__', hook)!s} on a tensor of shape "
                       f"{getattr(t, 'shape', '?')}")
        elif frame.f_code is _walk.__code__:
            node = frame.f_locals.get("node")
            if node is not None:
                culprit = f"the backward rule of op '{node.name}'"
        tb = tb.tb_next
    why = f"{culprit or 'the walk'} raised {type(exc).__name__}: {str(exc)[:200]}"
    for t in order:
        node = t._ctx
        if node is not None and node.inputs is None and node.failed is None:
            node.failed = why


def _walk(order, grads, owned, wanted, kept, chain, arrays, create_graph, retain_graph,
          anomaly, on_step):
    """The walk proper (see backward): every op's rule, in reverse topological order."""
    node = None
    link = chain.append
    with (enable_grad() if create_graph else no_grad()):
        for t in order:
            g = grads.pop(t, None)
            if g is None:
                continue
            node = t._ctx
            if node is None or t._hooks or t._retains_grad or wanted is not None:
                if t._hooks:
                    g = _run_hooks(t, g, arrays)
                if wanted is not None:
                    if t in wanted:
                        wanted[t] = g
                elif node is None or t._retains_grad:
                    _accumulate_grad(t, g, create_graph)
                if node is None:
                    continue
            versions = node.versions
            if versions is _ZEROS2:  # NOTE: the common cases unrolled: ~20 ns, not ~150
                a, b = node.inputs
                stale = a._version or b._version or node.bases is not None
            elif versions is _ZEROS1:
                stale = node.inputs[0]._version or node.bases is not None
            elif versions is None:
                stale = False
            elif len(versions) == 2:  # inputs changed before the op ran (parameters, once trained)
                a, b = node.inputs
                va, vb = versions
                stale = a._version != va or b._version != vb or node.bases is not None
            else:
                stale = node.bases is not None or tuple(map(_version_of, node.inputs)) != versions
            if stale or t._version or node.fingerprints is not None:
                _check_saved(node, t)  # NOTE: only when the cheap test above sees a change
            vjp = node.vjp
            if arrays and vjp is not None:
                input_grads = vjp(g, t)
            else:
                input_grads = node.backward(_wrap(g) if arrays else g, t)
                if type(input_grads) is not tuple or len(input_grads) != len(node.inputs):
                    input_grads = _rule_output(node, input_grads)
                input_grads = _checked(node, input_grads, arrays)
            if on_step is not None:
                on_step(t, _as_tensor(g), node, tuple(map(_as_tensor, input_grads)))
            # NOTE: an index, not zip(node.inputs, input_grads): the zip and its pairs cost
            # more than the rest of this loop's bookkeeping on a two-input op (~250 ns). A
            # vjp may leave out trailing inputs that need no gradient (targets, masks).
            inputs = node.inputs
            i = 0
            for pg in input_grads:
                parent = inputs[i]
                i += 1
                if pg is None or not parent._requires_grad:
                    continue
                # NOTE: .data's shape and dtype directly (no property calls); dtypes of the
                # same kind are usually the same object, so `is` settles most comparisons.
                pdata = parent.data
                garray = pg if arrays else pg.data
                if garray.shape != pdata.shape:
                    pg = _unbroadcast(node, parent, pg, pdata.shape, arrays)
                    garray = pg if arrays else pg.data
                if garray.dtype is not pdata.dtype and garray.dtype != pdata.dtype:
                    pg = _cast(node, parent, pg, pdata.dtype, arrays)
                if anomaly:
                    _check_finite(node, garray, "backward", _position(node, parent))
                old = grads.get(parent)
                if old is None:
                    grads[parent] = pg
                elif type(old) is not _ndarray:  # a NumPy scalar, or a Tensor (create_graph)
                    grads[parent] = old + pg
                elif parent in owned:
                    old += pg  # NOTE: a buffer the engine made itself, safe to add into
                else:
                    grads[parent] = old + pg
                    owned.add(parent)
            # NOTE: a small output's gradient is there for pictures of the graph; grad() and
            # the step renderer (inputs given) leave no trace, as they leave .grad alone.
            # (a name is bound to g's array only when it is small: a large one would stay
            # alive, and the peak memory up, while the next op's rule runs)
            if wanted is None and (g if arrays else g.data).size <= SMALL:
                small = g if arrays else g.data
                if retain_graph:
                    node.out_grad = small
                elif (node.elementwise and node._guards is None and node.bases is None
                      and not t._hooks):
                    # NOTE: release()'s path for an op of small tensors, inlined: an
                    # elementwise op's inputs are no larger than its small output, so
                    # there is nothing to free or to summarise (a neuron-level graph's
                    # every op; ~130 ns an op less than the call, benchmarks/README.md).
                    # Its gradient is not kept: the op keeps its inputs and state, so a
                    # picture recomputes it (autograd.kept_grads); keeping 10,000 small
                    # arrays cost ~4% of a chain of small ops. None: not an earlier one.
                    node._kept = node.inputs
                    node.inputs = None
                    node.out_grad = None
                    link(t)
                else:
                    node.release(kept, small, input_grads)
            elif not retain_graph:
                node.release(kept, None, input_grads)


def _as_tensor(g):
    """A gradient handed to user code (hooks, on_step, grad()) as a Tensor."""
    return g if g is None or isinstance(g, Tensor) else _wrap(np.asarray(g))


def _run_hooks(t, g, arrays):
    """Call `t`'s hooks on its gradient; a hook that returns a Tensor replaces it."""
    g = _as_tensor(g)
    for hook in list(t._hooks):
        replaced = hook(g)
        if replaced is not None:
            _check_gradient(t, replaced, "hook")
            g = replaced
    return g.data if arrays else g


def _checked(node, input_grads, arrays):
    """A Tensor rule's gradients, checked to be Tensors (or None); as arrays in array mode."""
    for i, pg in enumerate(input_grads):
        if pg is not None and not isinstance(pg, Tensor):
            raise TypeError(f"backward of op '{node.name}' returned {type(pg).__name__} "
                            f"for its input {i}; a rule returns Tensors (or None), built "
                            "with Tensor ops so that create_graph can differentiate them")
    if arrays:
        return tuple([None if pg is None else pg.data for pg in input_grads])
    return input_grads


def _rule_output(node, input_grads):
    """A rule's result as a tuple of one gradient per input, or a loud error naming the op."""
    n = len(node.inputs)
    if isinstance(input_grads, (tuple, list)) and len(input_grads) <= n \
            and not any(node.needs[len(input_grads):]):
        # Trailing inputs that need no gradient (integer targets, masks) may be left out.
        return tuple(input_grads) + (None,) * (n - len(input_grads))
    got = (f"{len(input_grads)} value(s)" if isinstance(input_grads, (tuple, list))
           else type(input_grads).__name__)
    raise TypeError(f"backward of op '{node.name}' returned {got} for its {n} input(s); it must "
                    "return a tuple of one gradient (a Tensor, or None) per input, e.g. "
                    "`return (grad * 2,)`")


def _position(node, parent):
    """Which input of `node` `parent` is (for error messages)."""
    return next(i for i, t in enumerate(node.inputs) if t is parent)


def _unbroadcast(node, parent, pg, shape, arrays):
    """Sum a broadcast-shaped gradient back to its input's shape (the one place this happens)."""
    try:
        fits = np.broadcast_shapes(shape, pg.shape) == pg.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"backward of op '{node.name}' returned a gradient of shape {pg.shape} "
                         f"for its input {_position(node, parent)} of shape {shape}; a rule must "
                         "return the input's shape, or a shape that the input broadcasts to")
    return sum_to(pg, shape) if arrays else SumTo.apply(pg, shape=shape)


def _cast(node, parent, pg, dtype, arrays):
    """A gradient cast to its input's dtype (float64 rules feeding a float32 input)."""
    if dtype.kind != "f":  # requires_grad set by hand on an int tensor
        raise TypeError(
            f"backward: input {_position(node, parent)} of op '{node.name}' has dtype {dtype} "
            "but requires grad; its gradient would be truncated. Only floating-point tensors "
            "can require grad: convert with .float()")
    return pg.astype(dtype) if arrays else Cast.apply(pg, dtype=dtype)


def _accumulate_grad(t, g, create_graph):
    """Add gradient `g` (an array, or a Tensor under create_graph) into `t.grad`."""
    if create_graph:
        # NOTE: `g + 0` is a fresh buffer on the same graph: .grad must never alias a tensor
        # that the graph or another leaf holds (add hands one gradient object to both inputs).
        t.grad = g + 0 if t.grad is None else t.grad + g
    elif t.grad is None:
        t.grad = _wrap(np.array(g, copy=True))  # own buffer: optimizers update it in place
    elif t.grad._ctx is None and t.grad.data.flags.writeable:
        t.grad.data += g
    else:  # left by backward(create_graph=True): part of a graph, never written in place
        t.grad = _wrap(t.grad.data + g)


def _check_saved(node, out):
    """Refuse to run a rule whose saved tensors changed since its op ran (a wrong gradient)."""
    if node.versions is not None:
        for t, v in zip(node.inputs, node.versions):
            if t._version != v:
                raise _modified(node, t, "input", f"version {v} -> {t._version}")
        for t, v in node.bases or ():
            if t._version != v:
                raise _modified(node, t, "view", f"version {v} -> {t._version}")
    if out._version and node.saves_output:
        raise _modified(node, out, "output", f"version 0 -> {out._version}")
    if node.fingerprints is not None:
        saved_inputs, saved_out = node.fingerprints
        for t, fp in zip(node.inputs, saved_inputs):
            if _fingerprint(t.data) != fp:
                raise _modified(node, t, "input", "its values changed without a version bump: a "
                                "raw write to .data, which detect_anomaly() checks")
        if node.saves_output and _fingerprint(out.data) != saved_out:
            raise _modified(node, out, "output", "its values changed without a version "
                            "bump: a raw write to .data, which detect_anomaly() checks")


def _modified(node, t, role, how):
    """The error for a saved tensor changed in place, naming the op and the tensor."""
    label = f"tensor '{t.name}'" if t.name else "tensor"
    for module in node.scope[:1]:  # the outermost module running when the op was recorded
        for name, p in module.named_parameters():
            if p is t:
                label = f"parameter '{name}' of {type(module).__name__}"
    where = f" (created at {node.where})" if node.where else ""
    what = f"{label} of shape {t.shape} and dtype {t.dtype}"
    saved = {"input": f"saved its input {what}",
             "view": f"saved an input that views the memory of {what} (as w.T views w)",
             "output": f"saved its output {what}"}[role]
    return RuntimeError(
        f"backward: op '{node.name}'{where} {saved} to compute its gradient, and that tensor was "
        f"modified in place after the op ran ({how}); the gradient would be wrong. In-place "
        "changes include optimizer.step(), zero_(), add_(), copy_(), fill_() and `x += ...` "
        "under no_grad(). Fix: call backward() before the change, or recompute the forward "
        "pass after it, or use an out-of-place op (x = x + 1)")


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, without touching any `.grad`.

    >>> x = Tensor(3.0, requires_grad=True)
    >>> (dx,) = grad(x * x, [x])
    >>> float(dx)
    6.0
    """
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {t.shape} does not require grad")
    result = backward(outputs, grad_outputs, retain_graph, create_graph, inputs=inputs)
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: an input of shape {t.shape} was not used to compute the outputs; "
                "pass allow_unused=True to get None for it")
    return result
