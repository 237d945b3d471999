"""What of a graph outlives backward(): light summaries of the tensors that the rules read.

backward() frees the memory that only the rules needed (saved inputs, masks, buffers), but
a learner's next line is often `draw_graph(loss)`, as in micrograd. So each released op
keeps its parents as summaries: op, shape, dtype, name, and the numbers of small tensors.
"""
SMALL = 6  # tensors with at most this many elements keep their numbers (what draw_graph shows)


class TensorSummary:
    """A tensor that a released graph no longer holds: what a picture of the graph shows of it.

    ``data`` is the array for tensors of at most ``SMALL`` elements, else None; ``grad`` is
    the gradient that reached it in the backward pass that released the graph (an array, for
    small tensors), else None. Not a Tensor: no op takes it.
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
        self.data = data if data.size <= SMALL else None

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
    """`inputs` as a released op keeps them: leaves that learn (and tensors that retain_grad)
    themselves, since the user holds them; every other tensor as one TensorSummary per
    backward pass (`memo`), so a tensor feeding two ops stays one node of the picture."""
    kept = []
    for t in inputs:
        if t._retains_grad or (t._ctx is None and t._requires_grad):
            kept.append(t)
            continue
        s = memo.get(t)
        if s is None:
            s = memo[t] = TensorSummary(t)
        kept.append(s)
    return tuple(kept)

