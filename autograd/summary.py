"""What of a graph outlives backward(): light summaries of the tensors that the rules read.

backward() frees the memory that only the rules needed (saved inputs, masks, buffers), but
a learner's next line is often `draw_graph(loss)`, as in micrograd. So each released op
keeps its small parents themselves and its large ones as summaries: op, shape, dtype, name.
"""
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

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def grad(self):
        node = self.grad_fn
        return None if node is None else node.out_grad

    def __repr__(self):
        op = f", grad_fn=<{self.grad_fn.name}>" if self.grad_fn is not None else ""
        return f"TensorSummary(shape={self.shape}, dtype={self.dtype}{op})"


def summarise(inputs, memo):
    """`inputs` as a released op keeps them: small tensors (at most ``SMALL`` elements: their
    arrays are as light as a summary), leaves that learn and tensors that retain_grad
    themselves; every other tensor as one TensorSummary per backward pass (`memo`), so a
    tensor feeding two ops stays one node of the picture."""
    # NOTE: a graph of small tensors (neuron-level, op_overhead) keeps its inputs tuple as
    # is: no object per op, which is most of what release would otherwise cost.
    for t in inputs:
        if t.data.size > SMALL and not t._retains_grad and (t._ctx is not None
                                                            or not t._requires_grad):
            break
    else:
        return inputs
    kept = []
    for t in inputs:
        if t.data.size <= SMALL or t._retains_grad or (t._ctx is None and t._requires_grad):
            kept.append(t)
            continue
        # NOTE: keyed by id, not by the tensor: a key would keep every intermediate (and its
        # array) alive until the walk ends. An id is unique among the graph's tensors, which
        # all exist before the walk starts and live while an unreleased op holds them.
        s = memo.get(id(t))
        if s is None:
            s = memo[id(t)] = TensorSummary(t)
        kept.append(s)
    return tuple(kept)
