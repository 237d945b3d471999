"""The gradients of a released graph's small tensors, as pictures read them.

backward() keeps dL/dt on the op that made a small tensor t (`Function.out_grad`) where it
releases the op through `Function.release`. An elementwise op with a small output (every op
of a neuron-level graph) it releases inline, keeping its inputs and state but not its
gradient: keeping 10,000 small gradient arrays cost ~4% of a chain of small ops, paid by
every training step, while a picture is drawn once (benchmarks/README.md, "Memory after
backward"). `kept_grad(node)` is how pictures read a gradient: the first time one is missing,
the rules of the ops that kept their state run again from what the last backward() calls
left: their roots' gradients, the gradients kept on ops, and what each released large op's
rule gave its small inputs (`Function.in_grads`). Each missing gradient is then filled in, or
left None where it cannot be known again:
- an input the rule reads was changed in place since (an optimizer's step): its version moved;
- the graph's root was dropped, or a part of the graph is beyond what the roots reach.
"""
import weakref

import numpy as np

from .grad_mode import no_grad
from .summary import SMALL, as_input_grad

_UNKNOWN = object()  # a sum one of whose terms cannot be recomputed
_EMIT = object()  # stack marker of the depth-first order (as engine._toposort)

# backward() calls whose graphs have gradients to recompute: weakref to the first root ->
# (weakrefs to the roots, the roots' gradients, None where large). An entry goes when its
# first root dies (a training loop's previous loss) or when a picture replays it.
_pending = {}


def note_backward(roots, grads):
    """Called by a backward() that released its graph: remember where to replay it from."""
    # NOTE: one weakref and one dict entry per backward() call, not per op.
    key = weakref.ref(roots[0], _forget)
    refs = (key,) if len(roots) == 1 else tuple(weakref.ref(r) for r in roots)
    arrays = [g if isinstance(g, (np.ndarray, np.generic)) else g.data for g in grads]
    small = tuple([g if g.size <= SMALL else None for g in arrays])
    _pending[key] = (refs, small)


def _forget(key):
    _pending.pop(key, None)


def kept_grad(node):
    """dL/d the output of op `node` from the last backward() through it, or None."""
    if node is None:
        return None
    g = node.out_grad
    if g is None and _pending:
        replay_pending()
        g = node.out_grad
    return g


def replay_pending():
    """Fill in the missing gradients of every graph backward() released since the last call."""
    entries = list(_pending.values())
    _pending.clear()
    for refs, grads in entries:
        roots = [ref() for ref in refs]
        if all(root is not None for root in roots):
            _replay(roots, grads)


def _replay(roots, grads):
    from .function import Function

    order, out_of = _order(roots)
    totals = {}  # op -> the sum of its output's gradient so far, or _UNKNOWN
    for root, g in zip(roots, grads):
        node = root._ctx
        if node is not None:
            totals[node] = _add(totals.get(node), _UNKNOWN if g is None else g)
    for node in order:
        total = totals.pop(node, None)
        if node.inputs is not None:
            continue  # not reached by the walk (no gradient came to it), or retained
        g = node.out_grad
        if g is None and total is not None and total is not _UNKNOWN:
            node.out_grad = g = total
        parents = node._kept
        if node.needs:
            given = _run_rule(node, g, out_of.get(node), parents)
        else:  # released with its state: what its rule gave small inputs is all there is
            given = node.in_grads or ()
        for i, p in enumerate(parents):
            if isinstance(p, Function) or getattr(p, "_ctx", None) is None:
                continue  # a large computed input (its gradient is never kept), or a leaf
            if not p._requires_grad or p.data.size > SMALL:
                continue
            pg = _UNKNOWN if given is _UNKNOWN else (given[i] if i < len(given) else None)
            if pg is not None:
                if pg is not _UNKNOWN:
                    pg = as_input_grad(pg, p.data)
                totals[p._ctx] = _add(totals.get(p._ctx), pg)


def _run_rule(node, g, out, inputs):
    """The op's rule on gradient `g` with its kept inputs, or _UNKNOWN when it cannot run as
    it did in backward() (no gradient, state released, an input changed in place since)."""
    if g is None or out is None:
        return _UNKNOWN
    versions = node.versions
    if versions is not None and tuple([t._version for t in inputs]) != versions:
        return _UNKNOWN
    if node.saves_output and out._version:
        return _UNKNOWN
    from .engine import _checked, _rule_output
    from .tensor import _wrap

    node.inputs = inputs
    try:
        with no_grad():
            if node.vjp is not None:
                return node.vjp(g, out)
            result = node.backward(_wrap(np.asarray(g)), out)
            if type(result) is not tuple or len(result) != len(inputs):
                result = _rule_output(node, result)
            return _checked(node, result, True)
    except Exception:  # NOTE: a picture shows "not kept" rather than fail on a user's rule
        return _UNKNOWN
    finally:
        node.inputs = None


def _add(old, new):
    if old is None:
        return new
    if old is _UNKNOWN or new is _UNKNOWN:
        return _UNKNOWN
    return old + new  # NOTE: never in place: either may be a gradient kept on an op


def _order(roots):
    """The ops the roots reach through what released ops kept, each before the ops it feeds
    from (consumers first), and the output Tensor of each op reached through one."""
    from .function import Function

    out_of = {}
    stack = []
    for root in reversed(roots):
        if root._ctx is not None:
            out_of[root._ctx] = root
            stack.append(root._ctx)
    order, seen = [], set()
    while stack:
        node = stack.pop()
        if node is _EMIT:
            order.append(stack.pop())
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append(node)
        stack.append(_EMIT)
        parents = node.inputs if node.inputs is not None else node._kept
        for p in parents:
            if isinstance(p, Function):
                child = p
            else:
                child = getattr(p, "_ctx", None)  # a Tensor's op
                if child is None:
                    child = getattr(p, "grad_fn", None)  # a TensorSummary's
                elif child not in out_of:
                    out_of[child] = p
            if child is not None and child not in seen:
                stack.append(child)
    order.reverse()
    return order, out_of
