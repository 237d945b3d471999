"""nn.functional's attention: scaled dot-product attention, and RMS normalisation beside it."""
import math

import numpy as np

from autograd import Tensor
from autograd.ops import MaskedSoftmax, ScaledDotProductAttention

__all__ = ["scaled_dot_product_attention", "rms_norm"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _split_mask(fn, mask, scores_shape, keep_means="takes part"):
    """(keep, bias) from a mask: a boolean one becomes `keep` (True = takes part), a float
    one the additive `bias`; checked against the scores' shape (..., L, S)."""
    if mask is None:
        return None, None
    array = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if array.dtype.kind not in "bf":
        raise TypeError(f"{fn}: attn_mask must be boolean (True = {keep_means}) or float "
                        f"(added to the scores), got dtype {array.dtype}")
    try:
        np.broadcast_shapes(array.shape, scores_shape)
        fits = len(array.shape) <= len(scores_shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{fn}: attn_mask of shape {array.shape} does not broadcast to the "
                         f"attention scores' shape {scores_shape} (..., L, S); expected e.g. "
                         f"({scores_shape[-2]}, {scores_shape[-1]})")
    if array.dtype == np.bool_:
        return array, None
    return None, _tensor(mask)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query key^T * scale + mask) value, over (..., L, E), (..., S, E), (..., S, Ev).

    `attn_mask` is boolean (True = the position takes part, as PyTorch) or float (added to
    the scores); `is_causal` masks out the keys after each query. `scale` defaults to
    1/sqrt(E). A query whose every key is masked out gets zeros, as in PyTorch.

    >>> import autograd
    >>> q = autograd.randn(2, 4, 8)
    >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 4, 8)
    """
    q, k, v = _tensor(query), _tensor(key), _tensor(value)
    fn = "scaled_dot_product_attention"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(f"{fn}: query, key and value need at least 2 dimensions (..., L, E), "
                         f"got shapes {q.shape}, {k.shape}, {v.shape}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{fn}: query {q.shape}, key {k.shape} and value {v.shape} do not fit: "
                         "query and key must share the last axis E, key and value the "
                         "sequence axis S")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"{fn}: the batch axes of query {q.shape}, key {k.shape} and value "
                         f"{v.shape} do not broadcast") from None
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"{fn}: dropout_p must be in [0, 1], got {dropout_p}")
    L, S = q.shape[-2], k.shape[-2]
    scores_shape = batch + (L, S)
    keep, bias = _split_mask(fn, attn_mask, scores_shape)
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{fn}: pass either attn_mask or is_causal=True, not both "
                             "(fold the causal mask into attn_mask)")
        keep = np.tri(L, S, dtype=bool)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    return attend(q, k, v, keep, bias, scale, dropout_p)


def attend(q, k, v, keep=None, bias=None, scale=1.0, dropout_p=0.0):
    """The attention behind scaled_dot_product_attention and MultiheadAttention, from a
    boolean `keep` array (True = takes part) and/or an additive float Tensor `bias`."""
    keep, bias = finite_bias(keep, bias, q.dtype)
    if dropout_p == 0:
        inputs = (q, k, v) if bias is None else (q, k, v, bias)
        return ScaledDotProductAttention.apply(*inputs, keep=keep, scale=scale)
    from .functional import dropout

    scores = (q * scale) @ k.swapaxes(-1, -2)
    if bias is not None:
        scores = scores + bias
    weights = dropout(MaskedSoftmax.apply(scores, keep=keep), dropout_p, training=True)
    return weights @ v


def finite_bias(keep, bias, dtype):
    """(keep, bias) with the bias's -inf entries moved into `keep` and set to 0 in the bias.

    The scores then never hold -inf, so detect_anomaly() does not flag the masked entries
    of an additive mask (generate_square_subsequent_mask) as an op producing -Inf.
    """
    if bias is None:
        return keep, bias
    if bias.dtype != dtype:
        bias = bias.astype(dtype)
    finite = np.isfinite(bias.data)
    if finite.all():
        return keep, bias
    keep = finite if keep is None else keep & finite
    return keep, bias.masked_fill(Tensor(~finite), 0.0)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    """x / sqrt(mean(x^2) + eps) * weight over the last len(normalized_shape) axes

    eps defaults to the dtype's machine epsilon, as PyTorch's."""
    x = _tensor(x)
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.ndim < k or x.shape[x.ndim - k:] != normalized_shape:
        raise ValueError(f"rms_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {normalized_shape}")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps) if x.dtype.kind == "f" else 1e-7
    axes = tuple(range(x.ndim - k, x.ndim))
    out = x * ((x * x).mean(axes, keepdims=True) + eps) ** -0.5
    return out if weight is None else out * weight
