"""Fused primitives: one rule where the composite of smaller primitives is measurably slower.

Each op says in a NOTE what the composite costs and what the fused rule saves; the
composites remain the reference (tests/test_fused_ops.py checks one against the other).
"""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


class Linear(Function):
    """x @ w^T + b over x's last axis;  dx = grad @ w, dw = grad^T @ x, db = sum(grad)"""

    # NOTE: fused because the composite (transpose, matmul, add) records three nodes and its
    # backward hands dw over transposed (a strided copy when it lands in .grad). Here dw comes
    # out of one matmul in w's own layout, and the forward adds the bias in place into the
    # matmul's fresh output (measured in benchmarks/README.md, mlp_step).
    name = "linear"

    def forward(self, x, w, b=None):
        # NOTE: NumPy runs (T, B, I) @ (I, O) as T products of B rows; as (T * B, I) rows it
        # is one GEMM (50 x 32 x 128 @ 128 x 65: 0.52 -> 0.32 ms). The reshape is a view for
        # any x whose leading axes can be merged (contiguous, or a slice of the last axis).
        out = np.matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + w.shape[:1])
        if b is not None:
            if out.dtype == np.result_type(out, b):
                out += b
            else:
                out = out + b
        return out

    def vjp(self, grad, out, on=ARRAYS):
        x, w = on.data(self.inputs[0]), on.data(self.inputs[1])
        n_out, n_in = self.inputs[1].shape
        g2 = on.reshape(grad, (-1, n_out))
        gx = on.reshape(g2 @ w, self.inputs[0].shape) if self.needs[0] else None
        gw = on.mT(g2) @ on.reshape(x, (-1, n_in)) if self.needs[1] else None
        if len(self.inputs) == 3:
            # The bias was broadcast over the rows: the engine sums its gradient back (SumTo),
            # which the step-by-step renderer shows as such.
            return gx, gw, (grad if self.needs[2] else None)
        return gx, gw

    def jvp(self, tangents, out):
        x, w = self.inputs[0].data, self.inputs[1].data
        tx, tw = tangents[0], tangents[1]
        t = None if tx is None else np.matmul(tx, w.T)
        if tw is not None:
            t = np.matmul(x, tw.T) if t is None else t + np.matmul(x, tw.T)
        if len(tangents) == 3 and tangents[2] is not None:
            t = tangents[2] if t is None else t + tangents[2]
        return t


class CrossEntropy(Function):
    """-log_softmax(x)[i, t_i] per row (reduced);  dx = (softmax(x) - onehot(t)) * grad"""

    # NOTE: fused because log_softmax + NLL records about ten nodes (max shift, exp, sum, log,
    # gather, mean) and their backward rebuilds softmax piece by piece, with a scatter for the
    # gather. Here the forward keeps the probabilities and the rule is one array expression.
    # Stable: exp only sees x - max(x). Under create_graph the rule is written with Tensor ops
    # of x instead, so it can be differentiated again.
    name = "cross_entropy"

    def forward(self, x, target, reduction="mean"):
        if x.ndim != 2 or target.shape != (x.shape[0],) or target.dtype.kind not in "iu":
            raise ValueError(
                f"cross_entropy: expects logits (N, C) and integer targets (N,), got {x.shape} "
                f"and {target.shape} {target.dtype}")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        shifted = x - x.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(x.shape[0])
        losses = np.log(total[:, 0]) - shifted[rows, target]
        exp /= total
        self.probs, self.target, self.reduction = exp, target, reduction
        if reduction == "mean":
            return np.asarray(losses.mean(), dtype=x.dtype)
        if reduction == "sum":
            return np.asarray(losses.sum(), dtype=x.dtype)
        return losses

    def vjp(self, grad, out, on=ARRAYS):
        # NOTE: on arrays, softmax(x) is the forward's saved probabilities; recorded
        # (create_graph), it is recomputed from x with Tensor ops so that it can be
        # differentiated again.
        if on.graph:
            from ..composites import softmax

            probs = softmax(self.inputs[0], axis=1)
        else:
            probs = self.probs
        onehot = np.zeros(self.probs.shape, self.probs.dtype)
        onehot[np.arange(len(onehot)), self.target] = 1
        return ((probs - on.const(onehot)) * self._scale(grad),)

    def jvp(self, tangents, out):
        # d loss_i = sum_c p_ic dx_ic - dx[i, t_i]
        t = tangents[0]
        d = (self.probs * t).sum(axis=1) - t[np.arange(len(t)), self.target]
        if self.reduction == "mean":
            return d.mean()
        return d.sum() if self.reduction == "sum" else d

    def _scale(self, grad):
        """d loss_i / d out, shaped to scale the rows: (N, 1) for 'none', a scalar otherwise."""
        n = self.probs.shape[0]
        if self.reduction == "none":
            return grad.reshape(n, 1)
        return grad * (1.0 / n) if self.reduction == "mean" else grad
