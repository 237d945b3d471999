"""Fused rules for the two elementwise-heavy pieces of a Transformer block: exact GELU and
LayerNorm. Each has a NOTE on what its composite costs; the composites stay the reference
(tests/test_transformer_ops.py checks one against the other, and both against PyTorch)."""
import math

import numpy as np

from ..function import Function
from ..namespaces import ARRAYS
from .elementwise import erf_elementwise

_erf = []  # the vectorised erf, found on first use (see _erf_array)


def _erf_array(x):
    """erf elementwise: scipy's vectorised C loop when scipy is installed (math.erf per element
    is ~40x slower). Looked up on first use, not at import: importing scipy.special takes
    ~0.2 s and ~20,000 objects that every later garbage collection scans, in every process
    that imports chainrule, GELU or not."""
    if not _erf:
        try:
            from scipy.special import erf
        except ImportError:  # scipy comes with scikit-learn, not with chainrule
            erf = erf_elementwise
        _erf.append(erf)
    return _erf[0](x)


_SQRT_HALF = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


class Gelu(Function):
    """x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dx = grad (Phi(x) + x phi(x))"""

    # NOTE: fused because the composite (scale, erf, add, mul, mul) records five nodes over the
    # feed-forward activations, the largest arrays of a Transformer block, and its erf runs
    # math.erf element by element; here erf is one vectorised call (scipy's when installed)
    # and the rule one expression (benchmarks/README.md, transformer_step).
    name = "gelu"

    def forward(self, x):
        cdf = _erf_array(x * np.asarray(_SQRT_HALF, x.dtype))
        cdf += 1
        cdf *= 0.5
        self.cdf = cdf.astype(x.dtype, copy=False)
        return x * self.cdf

    def vjp(self, grad, out, on=ARRAYS):
        x = on.data(self.inputs[0])
        if on.graph:  # Phi(x) as recorded ops of x, so that the rule differentiates again
            from .elementwise import Erf

            cdf = (Erf.apply(x * _SQRT_HALF) + 1) * 0.5
        else:
            cdf = self.cdf
        # NOTE: one expression, so that on large arrays NumPy reuses its temporaries in place
        return (grad * (cdf + x * (on.exp(x * x * -0.5) * _INV_SQRT_2PI)),)

    def jvp(self, tangents, out):
        (t,) = tangents
        if t is None:
            return None
        x = self.inputs[0].data
        return t * (self.cdf + x * np.exp(x * x * -0.5) * _INV_SQRT_2PI)


class LayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b over the last `k` axes;  with xhat the
    normalised x, r = 1 / sqrt(var + eps), h = grad w:
    dx = r (h - mean(h) - xhat mean(h xhat)), dw = sum(grad xhat), db = sum(grad)"""

    # NOTE: fused because the composite (mean, sub, mul, mean, add, pow, mul, mul, add)
    # records nine nodes over every activation it normalises and its backward walks them
    # all; here the forward keeps xhat and r and the rule is the closed form above.
    name = "layer_norm"

    def forward(self, x, w, b, k=1, eps=1e-5):
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xhat = x - mean
        var = np.mean(xhat * xhat, axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat *= rstd
        self.xhat, self.rstd, self.axes = xhat, rstd.astype(x.dtype, copy=False), axes
        self.eps = eps
        out = xhat * w
        out += b
        return out

    def vjp(self, grad, out, on=ARRAYS):
        axes = self.axes
        w = on.data(self.inputs[1])
        if on.graph:  # xhat and r as recorded ops of x, so that the rule differentiates again
            x = self.inputs[0]
            xc = x - x.mean(axes, keepdims=True)
            rstd = ((xc * xc).mean(axes, keepdims=True) + self.eps) ** -0.5
            xhat = xc * rstd
        else:
            xhat, rstd = self.xhat, self.rstd
        lead = tuple(range(grad.ndim - len(axes)))
        gw = (grad * xhat).sum(axis=lead) if self.needs[1] else None
        gb = grad.sum(axis=lead) if self.needs[2] else None
        gx = None
        if self.needs[0]:
            h = grad * w
            gx = rstd * (h - h.mean(axis=axes, keepdims=True)
                         - xhat * (h * xhat).mean(axis=axes, keepdims=True))
        return gx, gw, gb

    def jvp(self, tangents, out):
        # dy = d(xhat) w + xhat dw + db, d(xhat) = r (dx - mean(dx) - xhat mean(xhat dx))
        xhat, rstd, axes = self.xhat, self.rstd, self.axes
        tx, tw, tb = tangents
        result = None
        if tx is not None:
            d = tx - tx.mean(axis=axes, keepdims=True)
            d -= xhat * (tx * xhat).mean(axis=axes, keepdims=True)
            d *= rstd
            result = d * self.inputs[1].data
        if tw is not None:
            result = xhat * tw if result is None else result + xhat * tw
        if tb is not None:
            result = tb if result is None else result + tb
        return result
