"""MultiheadAttention: PyTorch's layer, names and parameter layout, on scaled dot-product attention."""
import numpy as np

import autograd
from autograd import Tensor
from autograd.ops import MaskedSoftmax

from . import functional as F
from . import init
from .functional_attention import attend, finite_bias
from .linear import Linear
from .module import Module
from .parameter import Parameter

LAYER = "MultiheadAttention"


def _param(shape, dtype):
    return Parameter(np.zeros(shape, dtype=np.dtype(dtype or np.float32)))


def _as_array(mask):
    return mask.data if isinstance(mask, Tensor) else np.asarray(mask)


def _check_mask_dtype(name, array):
    if array.dtype.kind not in "bf":
        raise TypeError(f"{LAYER}: {name} must be boolean (True = masked out) or float (added "
                        f"to the scores), got dtype {array.dtype}")


class MultiheadAttention(Module):
    """Attention over `num_heads` heads of embed_dim // num_heads features each.

    Parameters as PyTorch's, so its state dict loads as is: `in_proj_weight` (3E, E) and
    `in_proj_bias` (3E,) for query, key and value stacked, or `q_proj_weight`,
    `k_proj_weight`, `v_proj_weight` when kdim or vdim differ from embed_dim; `out_proj`;
    `bias_k`, `bias_v` with add_bias_kv. Masks follow PyTorch's convention for this layer:
    a boolean True means "masked out" (the reverse of scaled_dot_product_attention), a float
    mask is added to the scores. A query whose every key is masked out gets zeros (PyTorch
    gives NaN there when need_weights=True, zeros otherwise).

    >>> import autograd
    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> x = autograd.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"{LAYER}: embed_dim and num_heads must be positive, got "
                             f"embed_dim={embed_dim}, num_heads={num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"{LAYER}: embed_dim={embed_dim} is not divisible by "
                             f"num_heads={num_heads}; each head takes embed_dim // num_heads "
                             f"features (try num_heads={_divisor_near(embed_dim, num_heads)})")
        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _param((3 * embed_dim, embed_dim), dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = _param((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _param((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _param((embed_dim, self.vdim), dtype)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = _param((3 * embed_dim,), dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _param((1, 1, embed_dim), dtype)
            self.bias_v = _param((1, 1, embed_dim), dtype)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    # ---- forward ---------------------------------------------------------------------

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(output, weights): output shaped as query; weights (N, L, S) averaged over the
        heads (or (N, num_heads, L, S)), None when need_weights=False."""
        E, H, D = self.embed_dim, self.num_heads, self.head_dim
        batched = query.ndim == 3
        self._check_inputs(query, key, value, batched)
        same = query is key and key is value
        if not batched:
            query = query.unsqueeze(0)
            key, value = (query, query) if same else (key.unsqueeze(0), value.unsqueeze(0))
            if key_padding_mask is not None:
                key_padding_mask = _as_array(key_padding_mask)[None]
        elif not self.batch_first:
            query = query.swapaxes(0, 1)
            key, value = (query, query) if same else (key.swapaxes(0, 1), value.swapaxes(0, 1))
        if is_causal and attn_mask is None:
            raise ValueError(f"{LAYER}: is_causal=True is a hint that attn_mask is the causal "
                             "mask; pass attn_mask too (nn.Transformer."
                             "generate_square_subsequent_mask(L))")
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._project(query, key, value, same)
        keep, bias = self._masks(key_padding_mask, attn_mask, N, L, S)
        if self.bias_k is not None:
            k = autograd.cat([k, self.bias_k.expand(N, 1, E)], axis=1)
            v = autograd.cat([v, self.bias_v.expand(N, 1, E)], axis=1)
            keep, bias, S = _pad_masks(keep, bias, S)
        q = q.reshape(N, L, H, D).transpose(0, 2, 1, 3)
        k = k.reshape(N, S, H, D).transpose(0, 2, 1, 3)
        v = v.reshape(N, S, H, D).transpose(0, 2, 1, 3)
        if self.add_zero_attn:
            zeros = Tensor(np.zeros((N, H, 1, D), dtype=k.dtype))
            k, v = autograd.cat([k, zeros], axis=2), autograd.cat([v, zeros], axis=2)
            keep, bias, S = _pad_masks(keep, bias, S)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            keep, bias = finite_bias(keep, bias, q.dtype)
            scores = (q * (1.0 / np.sqrt(D))) @ k.swapaxes(-1, -2)
            if bias is not None:
                scores = scores + bias
            weights = MaskedSoftmax.apply(scores, keep=keep)
            if p > 0:
                weights = F.dropout(weights, p, training=True)
            out = weights @ v
            if average_attn_weights:
                weights = weights.mean(axis=1)
            if not batched:
                weights = weights.squeeze(0)
        else:
            out = attend(q, k, v, keep, bias, 1.0 / np.sqrt(D), p)
        out = self.out_proj(out.transpose(0, 2, 1, 3).reshape(N, L, E))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.swapaxes(0, 1)
        return out, weights

    def _check_inputs(self, query, key, value, batched):
        want = 3 if batched else 2
        if query.ndim not in (2, 3) or key.ndim != want or value.ndim != want:
            raise ValueError(f"{LAYER}: query, key and value must all be 3-D (batched) or all "
                             f"2-D (unbatched), got shapes {query.shape}, {key.shape}, "
                             f"{value.shape}")
        for name, t, n in (("query", query, self.embed_dim), ("key", key, self.kdim),
                           ("value", value, self.vdim)):
            if t.shape[-1] != n:
                raise ValueError(f"{LAYER}: {name} of shape {t.shape} should end with "
                                 f"{'embed_dim' if name == 'query' else name[0] + 'dim'}={n}")
        seq = 1 if batched and self.batch_first else 0
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{LAYER}: key {key.shape} and value {value.shape} must have the "
                             "same batch and sequence lengths")
        if batched and query.shape[1 - seq] != key.shape[1 - seq]:
            raise ValueError(f"{LAYER}: query {query.shape} and key {key.shape} have different "
                             f"batch sizes (batch_first={self.batch_first})")

    def _project(self, query, key, value, same):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if same:  # self-attention: one matmul for all three
                qkv = F.linear(query, w, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _masks(self, key_padding_mask, attn_mask, N, L, S):
        """(keep, bias) for scores (N, H, L, S): keep a boolean array (True = takes part) or
        None, bias a float Tensor to add or None."""
        H = self.num_heads
        keep, bias = None, None
        if key_padding_mask is not None:
            array = _as_array(key_padding_mask)
            _check_mask_dtype("key_padding_mask", array)
            if array.shape != (N, S):
                raise ValueError(f"{LAYER}: key_padding_mask of shape {array.shape} should be "
                                 f"(batch, source length) = {(N, S)}")
            if array.dtype == np.bool_:
                keep = ~array[:, None, None, :]
            else:
                bias = _tensor_like(key_padding_mask).reshape(N, 1, 1, S)
        if attn_mask is not None:
            array = _as_array(attn_mask)
            _check_mask_dtype("attn_mask", array)
            if array.shape == (L, S):
                shape = (1, 1, L, S)
            elif array.shape == (N * H, L, S):
                shape = (N, H, L, S)
            else:
                raise ValueError(f"{LAYER}: attn_mask of shape {array.shape} should be "
                                 f"(target length, source length) = {(L, S)} or "
                                 f"(batch * num_heads, L, S) = {(N * H, L, S)}")
            if array.dtype == np.bool_:
                allowed = ~array.reshape(shape)
                keep = allowed if keep is None else keep & allowed
            else:
                extra = _tensor_like(attn_mask).reshape(shape)
                bias = extra if bias is None else bias + extra
        return keep, bias

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}")


def _tensor_like(mask):
    return mask if isinstance(mask, Tensor) else Tensor(np.asarray(mask))


def _pad_masks(keep, bias, S):
    """Masks for one more key at the end (bias_k or the zero key): it always takes part."""
    if keep is not None:
        keep = np.concatenate([keep, np.ones(keep.shape[:-1] + (1,), bool)], axis=-1)
    if bias is not None:
        bias = F.pad(bias, [(0, 0)] * (bias.ndim - 1) + [(0, 1)])
    return keep, bias, S + 1


def _divisor_near(n, k):
    """A divisor of n nearest to k (for the error message)."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: (abs(d - k), d))
