"""What of a graph outlives backward(): light summaries of the tensors that the rules read.

backward() frees the memory that only the rules needed (saved inputs, masks, buffers), but
a learner's next line is often `draw_graph(loss)`, as in micrograd. So each released op
keeps its small parents themselves and its large ones as summaries: op, shape, dtype, name.
"""
import numpy as np

SMALL = 6  # tensors with at most this many elements keep their numbers (what draw_graph shows)


class TensorSummary:
    """A tensor that a released graph no longer holds: what a picture of the graph shows of it.

    Made for tensors of more than ``SMALL`` elements (smaller ones are kept themselves), so
    ``data`` is None; ``grad`` is what the releasing pass kept for it (None for a large
    tensor, whose gradient is not kept). Not a Tensor: no op takes it.
    """

    __slots__ = ("shape", "dtype", "name", "requires_grad", "grad_fn", "data")
    released = True

    def __init__(self, t):
        data = t.data
        self.shape = data.shape
        self.dtype = data.dtype
        self.name = t.name
        self.requires_grad = t._requires_grad
        self.grad_fn = t._ctx
        self.data = None  # only large tensors are summarised (see summarise)

    @classmethod
    def of_op(cls, node, shape, dtype, name):
        """The summary of the tensor `node` computed, from what summarise noted on it."""
        s = cls.__new__(cls)
        s.shape, s.dtype, s.name = shape, dtype, name
        s.requires_grad, s.grad_fn, s.data = True, node, None
        return s

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad(self):
        from .kept_grads import kept_grad  # NOTE: here: it imports the engine, which imports this

        return kept_grad(self.grad_fn)

    def __repr__(self):
        op = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn is not None else ""
        return f"TensorSummary(shape={self.shape}, dtype={self.dtype}{op})"


def small_input_grads(inputs, input_grads, where):
    """The gradients a rule gave the small computed inputs of its op at positions `where`
    (as the walk adds them: summed to the input's shape, in its dtype), aligned with
    `inputs`; None when there are none. A released large op keeps them (Function.in_grads):
    it keeps no state to run its rule again, and a small input's gradient may have come
    through it alone."""
    given = None
    for i in where:
        if i >= len(input_grads) or input_grads[i] is None:
            continue
        pg = input_grads[i]
        if not isinstance(pg, (np.ndarray, np.generic)):
            pg = pg.data  # a Tensor under create_graph
        if given is None:
            given = [None] * len(inputs)
        given[i] = as_input_grad(pg, inputs[i].data)
    return None if given is None else tuple(given)


def as_input_grad(pg, data):
    """A rule's gradient for an input as the walk adds it: summed to the input's shape (a
    broadcast input), in its dtype."""
    if pg.shape != data.shape:
        from .ops.reduce import sum_to  # NOTE: here, not at the top: ops import this module
        pg = sum_to(pg, data.shape)
    if pg.dtype != data.dtype:
        pg = pg.astype(data.dtype)
    return pg


def summarise(inputs, memo):
    """`inputs` as a released op keeps them: small tensors (at most ``SMALL`` elements: their
    arrays are as light as a summary), leaves that learn and tensors that retain_grad
    themselves; a larger computed tensor as the op that made it (its summary is made from
    that op when a picture asks, see Function.summary, so one per tensor whoever consumes it);
    any other large tensor (a batch, a mask) as one TensorSummary per backward pass (`memo`).
    Returns them and the positions of the small computed inputs that need a gradient (for
    small_input_grads), or None."""
    # NOTE: one pass, and nothing made unless an input is large: a graph of small tensors
    # keeps its inputs tuple as is. A large computed tensor costs a (shape, dtype, name)
    # tuple noted on its op, once; no summary object until a picture is drawn.
    kept = small = None
    i = -1
    for t in inputs:
        i += 1
        data = t.data
        if data.size <= SMALL:
            if t._ctx is not None and t._requires_grad:
                if small is None:
                    small = [i]
                else:
                    small.append(i)
            continue
        if t._retains_grad:
            continue
        node = t._ctx
        if node is not None:
            if node._out is None:
                node._out = (data.shape, data.dtype, t.name)
            s = node
        elif t._requires_grad:
            continue  # a leaf that learns: kept itself (its .grad is what pictures show)
        else:
            # NOTE: keyed by id, not by the tensor: a key would keep the array alive until
            # the walk ends. An id is unique among the graph's tensors, which all exist
            # before the walk starts and live while an unreleased op holds them.
            s = memo.get(id(t))
            if s is None:
                s = memo[id(t)] = TensorSummary(t)
        if kept is None:
            kept = list(inputs)
        kept[i] = s
    return (inputs if kept is None else tuple(kept)), small
