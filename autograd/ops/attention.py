"""Attention primitives: a masked softmax, and scaled dot-product attention in one rule.

Both take the boolean mask as a parameter (True = takes part, as PyTorch's
scaled_dot_product_attention): it is a constant, never differentiated. A row whose every
entry is masked out (or is -inf) gives zeros, as PyTorch's SDPA does, and zero gradients.
"""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


def _softmax_rows(x, keep):
    """softmax over the last axis of x where `keep` (None = everywhere); 0 elsewhere.

    A row with nothing kept (or only -inf) is all 0 instead of 0/0 = NaN.
    """
    if keep is not None:
        x = np.where(keep, x, -np.inf)
    m = x.max(axis=-1, keepdims=True)
    m[~np.isfinite(m)] = 0  # all masked: exp(-inf - 0) = 0, below
    e = np.exp(x - m)
    total = e.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    e /= total
    return e


def _softmax_vjp(p, g):
    """d softmax: p * (g - sum(g p)) over the last axis (0 wherever p is 0), on arrays or
    on Tensors alike (softmax's Jacobian is symmetric: the jvp rule too)."""
    # NOTE: written p * (...) so that on large arrays NumPy computes the product into the
    # temporary in brackets (two full-size allocations, as an in-place version has)
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


class MaskedSoftmax(Function):
    """y = softmax(x) over the last axis, over the entries where `keep`;  dx = y (g - sum(g y))"""

    # NOTE: fused because the composite softmax (max shift, sub, exp, sum, div) plus a where
    # for the mask records five or six nodes over the (batch, heads, L, S) scores, each a
    # full-size temporary; here the forward is one pass and the rule one expression of the
    # output. It is also what makes a fully masked row 0 rather than 0/0 = NaN.
    name = "masked_softmax"
    saves_inputs = False
    saves_output = True

    def forward(self, x, keep=None):
        if keep is not None:
            keep = np.asarray(keep)
            if keep.dtype != np.bool_:
                raise TypeError(f"masked_softmax: keep must be a boolean mask, got {keep.dtype}")
            try:
                np.broadcast_shapes(keep.shape, x.shape)
            except ValueError:
                raise ValueError(f"masked_softmax: mask of shape {keep.shape} does not broadcast "
                                 f"to the scores' shape {x.shape}") from None
        self.keep = keep  # read by nn.onnx.export, never by the rules
        return _softmax_rows(x, keep)

    def vjp(self, grad, out, on=ARRAYS):
        return (_softmax_vjp(on.data(out), grad),)

    def jvp(self, tangents, out):
        # dy = y (dx - sum(dx y)): the vjp's expression, as softmax's Jacobian is symmetric
        (t,) = tangents
        return None if t is None else _softmax_vjp(out.data, t)


class ScaledDotProductAttention(Function):
    """softmax(q k^T * scale + bias, where keep) v;  with P the softmax and G the incoming grad:
    dv = P^T G, dS = P (G v^T - sum(P G v^T)), dq = dS k scale, dk = dS^T q scale, dbias = dS"""

    # NOTE: fused because the composite (transpose k, matmul, scale, add the mask, softmax,
    # matmul) records about ten nodes per head group and keeps each (B, H, L, S) temporary
    # alive until backward; here only the probabilities P are kept, the scale is folded into
    # q before the first matmul, and the rule is four matmuls (benchmarks/README.md,
    # transformer_step). Inputs: q (..., L, E), k (..., S, E), v (..., S, Ev), and an optional
    # additive float mask `bias` broadcastable to (..., L, S), which gets a gradient too.
    name = "scaled_dot_product_attention"
    saves_inputs = True

    def forward(self, q, k, v, bias=None, keep=None, scale=1.0):
        scores = np.matmul(q * np.asarray(scale, q.dtype), np.swapaxes(k, -1, -2))
        if bias is not None:
            scores += bias
        self.probs = _softmax_rows(scores, keep)
        self.keep, self.scale = keep, scale
        return np.matmul(self.probs, v)

    def vjp(self, grad, out, on=ARRAYS):
        q, k, v = on.data(self.inputs[0]), on.data(self.inputs[1]), on.data(self.inputs[2])
        bias = len(self.inputs) == 4
        scale = np.asarray(self.scale, self.inputs[0].dtype)
        if on.graph:
            # NOTE: P is a function of q, k (and the bias): recorded, it is rebuilt from them
            # through MaskedSoftmax so that the rule can be differentiated again; on arrays
            # it is the forward's saved probabilities.
            scores = (q * on.const(scale)) @ on.mT(k)
            if bias:
                scores = scores + self.inputs[3]
            p = MaskedSoftmax.apply(scores, keep=self.keep)
        else:
            p = self.probs
        dv = on.mT(p) @ grad if self.needs[2] else None
        ds = _softmax_vjp(p, grad @ on.mT(v))
        dq = (ds @ k) * scale if self.needs[0] else None
        dk = (on.mT(ds) @ q) * scale if self.needs[1] else None
        # The batch axes of q, k, v may broadcast against each other: the engine sums each
        # gradient back to its input's shape.
        if bias:
            return dq, dk, dv, (ds if self.needs[3] else None)
        return dq, dk, dv

    def jvp(self, tangents, out):
        # dS = (dq k^T + q dk^T) scale + dbias;  dout = P (dS - sum(dS P)) v + P dv
        q, k = self.inputs[0].data, self.inputs[1].data
        v, p = self.inputs[2].data, self.probs
        tq, tk, tv = tangents[:3]
        tb = tangents[3] if len(tangents) == 4 else None
        scale = np.asarray(self.scale, q.dtype)
        ds = None
        if tq is not None:
            ds = np.matmul(tq, np.swapaxes(k, -1, -2)) * scale
        if tk is not None:
            d = np.matmul(q, np.swapaxes(tk, -1, -2)) * scale
            ds = d if ds is None else ds + d
        if tb is not None:
            ds = tb if ds is None else ds + tb
        result = None if ds is None else np.matmul(_softmax_vjp(p, ds), v)
        if tv is not None:
            d = np.matmul(p, tv)
            result = d if result is None else result + d
        return result
