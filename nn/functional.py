"""nn.functional: functional forms of the layers and activations, and the losses.

Everything here is a composite of engine ops: no function writes a gradient by hand.

>>> import autograd, nn.functional as F
>>> logits = autograd.Tensor([[2.0, 0.5, -1.0]], requires_grad=True)
>>> loss = F.cross_entropy(logits, autograd.Tensor([0]))
>>> loss.backward()
>>> round(float(loss), 4)
0.2413
"""
import numpy as np

import autograd
from autograd import Tensor, as_tensor, no_grad
from autograd.function import unguard
from autograd import functional as _af
from autograd.ops import CrossEntropy, Gelu, Linear
from autograd.ops import LayerNorm as _LayerNorm

from .functional_activation import *  # noqa: F401,F403  hardtanh, relu6, mish, ...
from .functional_conv import *  # noqa: F401,F403  convolution and pooling
from .functional_resample import *  # noqa: F401,F403  interpolate, pixel_shuffle
from .functional_rnn import *  # noqa: F401,F403  recurrent cells and layers
from .functional_attention import *  # noqa: F401,F403  attention, rms_norm


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


# ---- activations -----------------------------------------------------------------------

def relu(x, inplace=False):
    """max(x, 0)"""
    return _tensor(x).relu()


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x"""
    return _af.leaky_relu(_tensor(x), negative_slope)


def elu(x, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)"""
    return _af.elu(_tensor(x), alpha)


def gelu(x, approximate="none"):
    """x * Phi(x) (exact, with erf) or PyTorch's tanh approximation"""
    if approximate == "none":
        # NOTE: one fused primitive (autograd.ops.transformer.Gelu) instead of the composite
        # Tensor.gelu: a vectorised erf and one rule (benchmarks/README.md, transformer_step).
        return Gelu.apply(_tensor(x))
    return _af.gelu(_tensor(x), approximate)


def sigmoid(x):
    """1 / (1 + exp(-x))"""
    return _tensor(x).sigmoid()


def tanh(x):
    return _tensor(x).tanh()


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta"""
    return _af.softplus(_tensor(x), beta, threshold)


def logsigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for any x"""
    return -_af.softplus(-_tensor(x))


def silu(x, inplace=False):
    """x * sigmoid(x)"""
    return _tensor(x).silu()


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along axis (PyTorch's dim)"""
    return _af.softmax(_tensor(x), axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along axis (PyTorch's dim)"""
    return _af.log_softmax(_tensor(x), axis)


# ---- layers ----------------------------------------------------------------------------

def linear(x, weight, bias=None):
    """x @ weight^T + bias, with weight of shape (out_features, in_features)"""
    x = _tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit weight of shape {weight.shape}: the "
            f"last axis of the input must be in_features={weight.shape[-1]}")
    # NOTE: one fused primitive (autograd.ops.fused.Linear) instead of transpose, matmul and
    # add: measurably faster, and the weight's gradient comes out in its own layout.
    if bias is None:
        return Linear.apply(x, _tensor(weight))
    return Linear.apply(x, _tensor(weight), _tensor(bias))


def bilinear(x1, x2, weight, bias=None):
    """y[..., o] = x1[..., i] weight[o, i, j] x2[..., j] + bias[o]"""
    x1, x2 = _tensor(x1), _tensor(x2)
    out_f, in1, in2 = weight.shape
    if x1.shape[-1:] != (in1,) or x2.shape[-1:] != (in2,) or x1.shape[:-1] != x2.shape[:-1]:
        raise ValueError(f"bilinear: inputs of shapes {x1.shape} and {x2.shape} do not fit weight "
                         f"{weight.shape}: expected (..., {in1}) and (..., {in2}) with equal "
                         "leading axes")
    lead = x1.shape[:-1]
    a = x1.reshape(-1, in1) @ weight.transpose(1, 0, 2).reshape(in1, out_f * in2)
    out = (a.reshape(-1, out_f, in2) * x2.reshape(-1, 1, in2)).sum(-1).reshape(lead + (out_f,))
    return out if bias is None else out + bias


def dropout(x, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (identity if not training)"""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    x = _tensor(x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * as_tensor(np.zeros((), x.dtype))
    keep = autograd.default_rng().random(x.shape) >= p
    return x * as_tensor((keep * (1.0 / (1.0 - p))).astype(x.dtype, copy=False))


def _check_indices(fn, indices, n):
    """Integer index array in [-n, n) (negatives wrap as in NumPy) or a clear error."""
    idx = _array(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be integers, got dtype {idx.dtype} (shape "
                        f"{idx.shape}); convert them, e.g. x.long() or np.asarray(x, dtype=int)")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)].ravel()[0]
        raise IndexError(f"{fn}: index {int(bad)} is out of range for {n} rows "
                         f"(valid: 0 .. {n - 1})")
    return idx


def _check_max_norm(fn, max_norm, norm_type):
    """max_norm a number >= 0 (or None), norm_type a number, or a clear error."""
    def number(v):
        return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))

    if max_norm is not None and not number(max_norm):
        raise TypeError(f"{fn}: max_norm must be a number >= 0 (the largest norm a looked-up "
                        f"row may keep) or None, got {max_norm!r}")
    if max_norm is not None and not max_norm >= 0:
        raise ValueError(f"{fn}: max_norm must be a number >= 0 (the largest norm a looked-up "
                         f"row may keep) or None, got {max_norm!r}")
    if not number(norm_type):
        raise TypeError(f"{fn}: norm_type must be a number (the p of the p-norm, e.g. 2.0 or "
                        f"float('inf')), got {norm_type!r}")


def _embedding_renorm(weight, rows, max_norm, norm_type):
    """PyTorch's embedding_renorm_: scale each of `rows` whose norm_type-norm exceeds
    max_norm down to max_norm, in place and outside the graph."""
    _check_max_norm("embedding", max_norm, norm_type)
    if not isinstance(weight, Tensor):
        raise TypeError(f"embedding: max_norm renormalises the weight in place, so it must "
                        f"be a Tensor, got {type(weight).__name__}")
    rows = np.unique(rows)
    table = weight.data
    norms = np.linalg.norm(table[rows], ord=float(norm_type), axis=1)
    big = norms > max_norm
    # NOTE: as PyTorch, the scale is max_norm / (norm + 1e-7) (a row lands just under
    # max_norm); the write bumps the version counter, as every in-place change of a
    # parameter does, so a graph that saved the old weight refuses to backward.
    with no_grad():
        unguard(weight)
        if big.any():
            scale = max_norm / (norms[big].astype(np.float64) + 1e-7)
            table[rows[big]] *= scale.astype(table.dtype)[:, None]
        weight._version += 1


def embedding(x, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """weight[x]: row lookup; the padding_idx row gets no gradient.

    With max_norm, the looked-up rows whose norm_type-norm exceeds it are first scaled
    down to max_norm in weight itself (in place, without gradient), as PyTorch does.

    >>> import autograd
    >>> w = autograd.Tensor(np.array([[3.0, 4.0], [0.3, 0.4]]), requires_grad=True)
    >>> embedding(np.array([0, 1]), w, max_norm=1.0).data.round(6).tolist()
    [[0.6, 0.8], [0.3, 0.4]]
    >>> w.data.round(6).tolist()    # row 0 was renormalised in place
    [[0.6, 0.8], [0.3, 0.4]]
    """
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    num = weight.shape[0]
    idx = _check_indices("embedding", x, num)
    flat = idx.reshape(-1)  # NOTE: a 1-D index takes the engine's fast scatter-add path
    if max_norm is not None:
        _embedding_renorm(weight, flat, max_norm, norm_type)
    rows = weight[flat]
    if padding_idx is not None:
        pad = padding_idx + num if padding_idx < 0 else padding_idx
        keep = (flat != pad)[:, None]
        if not keep.all():
            rows = _af.where(keep, rows, as_tensor(rows.data))  # same values, no gradient
    return rows.reshape(idx.shape + (weight.shape[1],))


def one_hot(x, num_classes=-1):
    """int64 array of shape x.shape + (num_classes,) with a 1 at each index"""
    idx = _array(x)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    idx = _check_indices("one_hot", idx, num_classes)
    out = np.zeros(idx.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None], 1, axis=-1)
    return as_tensor(out)


def _channel_shape(x):
    """(1, C, 1, ...) to broadcast a per-channel vector against (N, C, ...)"""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over channel axis 1.

    In training the batch statistics are used (biased variance) and the running ones,
    if given, move by `momentum` towards them (unbiased variance); otherwise the running
    statistics are used.
    """
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C, ...), got {x.shape}")
    shape = _channel_shape(x)
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        count = x.size // x.shape[1]
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {x.shape}")
        mean = x.mean(axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axes, keepdims=True)
        out = centred * (var + eps) ** -0.5
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    new = (1 - momentum) * running_mean.data + momentum * mean.data.reshape(-1)
                    running_mean.data[...] = new
                    running_mean._version += 1
                if running_var is not None:
                    unbiased = var.data.reshape(-1) * (count / (count - 1))
                    running_var.data[...] = (1 - momentum) * running_var.data + momentum * unbiased
                    running_var._version += 1
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when "
                             "training=False")
        rm = as_tensor(running_mean.data.reshape(shape).astype(x.dtype, copy=False))
        rv = as_tensor(running_var.data.reshape(shape).astype(x.dtype, copy=False))
        out = (x - rm) * (rv + eps) ** -0.5
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes"""
    x = _tensor(x)
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape or x.ndim < k:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {normalized_shape}")
    if (weight is not None and bias is not None and weight.shape == normalized_shape
            and bias.shape == normalized_shape):
        # NOTE: one fused primitive (autograd.ops.transformer.LayerNorm) instead of nine
        # nodes; the composite below stays for the affine-free and weight-only cases.
        return _LayerNorm.apply(x, _tensor(weight), _tensor(bias), k=k, eps=eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    centred = x - x.mean(axes, keepdims=True)
    var = (centred * centred).mean(axes, keepdims=True)
    out = centred * (var + eps) ** -0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


# ---- losses: checks shared by all --------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _empty_mean(fn, shape):
    return ValueError(
        f"{fn}: empty input of shape {shape}: the mean over zero elements is undefined; skip "
        "empty batches, or use reduction='sum' (0 for an empty batch)")


def _reduce(loss, reduction, fn):
    if reduction == "mean":
        if loss.size == 0:
            raise _empty_mean(fn, loss.shape)
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _pair(x, target, fn):
    """input and target as Tensors of the same shape, target in the input's float dtype."""
    x = _tensor(x)
    target = _tensor(target)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be floating point, got dtype {x.dtype}")
    if target.shape != x.shape:
        raise ValueError(
            f"{fn}: target shape {target.shape} differs from input shape {x.shape}; they must "
            "be equal (reshape one of them, e.g. target.reshape(input.shape), to avoid a "
            "silently broadcast loss)")
    if target.dtype != x.dtype:
        if target.requires_grad:
            target = target.astype(x.dtype)
        else:
            target = as_tensor(target.data.astype(x.dtype))
    return x, target


def _const(value, like):
    """A weight-like argument as a constant Tensor in like's dtype (or None)."""
    if value is None:
        return None
    if isinstance(value, Tensor) and value.requires_grad:
        return value
    return as_tensor(np.asarray(_array(value), dtype=like.dtype))


# ---- regression losses ---------------------------------------------------------------

def mse_loss(x, target, reduction="mean"):
    """(x - target)^2"""
    x, target = _pair(x, target, "mse_loss")
    d = x - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(x, target, reduction="mean"):
    """|x - target|"""
    x, target = _pair(x, target, "l1_loss")
    return _reduce((x - target).abs(), reduction, "l1_loss")


def huber_loss(x, target, reduction="mean", delta=1.0):
    """0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta), d = x - target"""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, target = _pair(x, target, "huber_loss")
    d = x - target
    small = np.abs(d.data) < delta
    loss = _af.where(small, d * d * 0.5, (d.abs() - 0.5 * delta) * delta)
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(x, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta (huber_loss / beta)"""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, target = _pair(x, target, "smooth_l1_loss")
    d = x - target
    if beta == 0:
        return _reduce(d.abs(), reduction, "smooth_l1_loss")
    small = np.abs(d.data) < beta
    loss = _af.where(small, d * d * (0.5 / beta), d.abs() - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


# ---- classification losses ------------------------------------------------------------

def _class_targets(fn, x, target, ignore_index=None):
    """Check integer class targets against input (N, C, ...) / (C,); return (flat logits
    (M, C), flat targets (M,), target shape)."""
    t = _array(target)
    expected = x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{fn}: class-index targets must be integers, got dtype {t.dtype} with shape "
            f"{t.shape} for input {x.shape}; convert with target.long() (or, for class "
            f"probabilities, pass a float target of the input's shape {x.shape})")
    if x.ndim == 0:
        raise ValueError(f"{fn}: input must have a class axis, got a 0-d input")
    if t.shape != expected:
        raise ValueError(f"{fn}: target shape {t.shape} does not fit input shape {x.shape}; "
                         f"expected class indices of shape {expected}")
    n_classes = x.shape[1] if x.ndim >= 2 else x.shape[0]
    valid = t if ignore_index is None else t[t != ignore_index]
    if valid.size and (valid.min() < 0 or valid.max() >= n_classes):
        bad = valid[(valid < 0) | (valid >= n_classes)].ravel()[0]
        raise IndexError(f"{fn}: target class {int(bad)} is out of range for input {x.shape} "
                         f"with {n_classes} classes (valid: 0 .. {n_classes - 1}"
                         + (f", or ignore_index={ignore_index})" if ignore_index is not None
                            else ")"))
    if x.ndim == 1:
        flat_x = x.reshape(1, n_classes)
    elif x.ndim == 2:
        flat_x = x
    else:  # (N, C, d1, ...) -> (N * d1 * ..., C): the class axis last
        axes = (0,) + tuple(range(2, x.ndim)) + (1,)
        flat_x = x.permute(axes).reshape(-1, n_classes)
    # NOTE: int64 so that index arithmetic never mixes uint64 and int64 (which gives floats)
    return flat_x, t.reshape(-1).astype(np.int64, copy=False), t.shape


def _gather_classes(logp, t):
    """logp[i, t[i]] for each row, by flat integer indexing (one scatter in backward)."""
    m, c = logp.shape
    return logp.reshape(-1)[np.arange(m) * c + t]


def _check_weight(fn, weight, n_classes):
    if weight is not None and tuple(np.shape(_array(weight))) != (n_classes,):
        raise ValueError(f"{fn}: weight must have shape ({n_classes},) (one per class), got "
                         f"{tuple(np.shape(_array(weight)))}")


def _nll_flat(fn, logp, t, shape, weight, ignore_index, reduction):
    """-weight[t] * logp[t] over flat rows, reduced as PyTorch's nll_loss."""
    _check_reduction(reduction, fn)
    ignored = t == ignore_index
    safe_t = np.where(ignored, 0, t)
    picked = _gather_classes(logp, safe_t)
    if weight is None and not ignored.any():
        loss = -picked
        denominator = len(t)
    else:
        w = np.ones(len(t), logp.dtype) if weight is None else _array(weight)[safe_t]
        w = np.where(ignored, 0, w).astype(logp.dtype)
        loss = picked * as_tensor(-w)
        denominator = w.sum()
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    if len(t) == 0:
        raise _empty_mean(fn, logp.shape)
    # NOTE: 0 / 0 = NaN when every target is ignored, as in PyTorch.
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / as_tensor(np.asarray(denominator, dtype=logp.dtype))


def nll_loss(x, target, weight=None, ignore_index=-100, reduction="mean"):
    """-weight[t] * x[t] for log-probabilities x of shape (N, C, ...) and class indices t"""
    x = _tensor(x)
    flat, t, shape = _class_targets("nll_loss", x, target, ignore_index)
    _check_weight("nll_loss", weight, flat.shape[1])
    return _nll_flat("nll_loss", flat, t, shape, weight, ignore_index, reduction)


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """nll_loss(log_softmax(x, axis=1), target), for class indices or class probabilities.

    x: logits (N, C), (C,) or (N, C, d1, ...). target: integer classes of shape (N,),
    () or (N, d1, ...), or float class probabilities of x's shape.
    """
    fn = "cross_entropy"
    x = _tensor(x)
    _check_reduction(reduction, fn)
    if x.dtype.kind != "f":
        raise TypeError(f"{fn}: input must be floating-point logits, got dtype {x.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _array(target)
    if t.dtype.kind == "f":
        return _cross_entropy_probs(x, target, weight, reduction, label_smoothing)
    flat, t, shape = _class_targets(fn, x, t, ignore_index)
    n_classes = flat.shape[1]
    _check_weight(fn, weight, n_classes)
    if weight is None and label_smoothing == 0 and not (t == ignore_index).any() and (
            reduction != "mean" or len(t)):
        # NOTE: the fused primitive (autograd.ops.fused.CrossEntropy) is measurably faster than
        # log_softmax + nll_loss; the composite below handles weights, ignore_index, smoothing.
        loss = CrossEntropy.apply(flat, target=t, reduction=reduction)
        return loss.reshape(shape) if reduction == "none" else loss
    logp = flat.log_softmax(axis=1)
    nll = _nll_flat(fn, logp, t, shape, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    # Smoothing mixes in the uniform distribution: eps/C on every class (PyTorch's formula).
    ignored = t == ignore_index
    if weight is None:
        smooth = -logp.sum(axis=1)
    else:
        smooth = -(logp * _const(weight, logp)).sum(axis=1)
    if ignored.any():
        smooth = smooth * as_tensor((~ignored).astype(logp.dtype))
    if reduction == "none":
        smooth = smooth.reshape(shape)
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        kept = np.where(ignored, 0, t)
        denominator = ((~ignored).sum() if weight is None
                       else np.where(ignored, 0, _array(weight)[kept]).sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            smooth = smooth.sum() / as_tensor(np.asarray(denominator, dtype=logp.dtype))
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)


def _cross_entropy_probs(x, target, weight, reduction, label_smoothing):
    fn = "cross_entropy"
    target = _tensor(target)
    if target.shape != x.shape:
        raise ValueError(
            f"{fn}: float targets are read as class probabilities and must have the input's "
            f"shape {x.shape}, got {target.shape}; for class indices pass an integer target "
            f"of shape {x.shape[:1] + x.shape[2:] if x.ndim >= 2 else ()} (target.long())")
    axis = 1 if x.ndim >= 2 else 0
    n_classes = x.shape[axis]
    _check_weight(fn, weight, n_classes)
    p = target if target.dtype == x.dtype else target.astype(x.dtype)
    if label_smoothing:
        p = p * (1 - label_smoothing) + label_smoothing / n_classes
    terms = x.log_softmax(axis=axis) * p
    if weight is not None:
        shape = [1] * x.ndim
        shape[axis] = n_classes
        terms = terms * _const(weight, x).reshape(tuple(shape))
    loss = -terms.sum(axis=axis)
    # NOTE: 'mean' divides by the number of rows (N * d1 * ...), not by the weights (PyTorch).
    return _reduce(loss, reduction, fn)


def binary_cross_entropy(x, target, weight=None, reduction="mean"):
    """-(t log x + (1 - t) log(1 - x)) for probabilities x, logs clamped at -100 as PyTorch"""
    fn = "binary_cross_entropy"
    x, target = _pair(x, target, fn)
    data = x.data
    if data.size and (np.nanmin(data) < 0 or np.nanmax(data) > 1):
        raise ValueError(f"{fn}: input values must be probabilities in [0, 1] (got range "
                         f"[{data.min():.4g}, {data.max():.4g}]); for logits use "
                         "binary_cross_entropy_with_logits")
    # NOTE: log(p) clamped at -100 as PyTorch, with the safe-input pattern: log only sees
    # p where p > exp(-100) (elsewhere 1.0, then -100 is taken), so neither log(0) = -inf nor
    # an overflowing 1/p (0 * inf = NaN in backward) enters the graph, even for sigmoid(+-1e4).
    tiny = data.dtype.type(np.exp(-100.0))  # a float64 bound would promote float32 inputs

    def clamped_log(p):
        ok = p.data > tiny
        return _af.where(ok, _af.where(ok, p, 1.0).log(), -100.0).clip(min=-100.0)

    log_x = clamped_log(x)
    log_1mx = clamped_log(1 - x)
    loss = -(target * log_x + (1 - target) * log_1mx)
    if weight is not None:
        loss = loss * _const(weight, x)
    return _reduce(loss, reduction, fn)


def binary_cross_entropy_with_logits(x, target, weight=None, reduction="mean", pos_weight=None):
    """pos_weight * t * softplus(-x) + (1 - t) * softplus(x): BCE on sigmoid(x), stable for any x"""
    fn = "binary_cross_entropy_with_logits"
    x, target = _pair(x, target, fn)
    positive = _af.softplus(-x)  # -log sigmoid(x)
    negative = _af.softplus(x)   # -log(1 - sigmoid(x))
    if pos_weight is not None:
        positive = positive * _const(pos_weight, x)
    loss = target * positive + (1 - target) * negative
    if weight is not None:
        loss = loss * _const(weight, x)
    return _reduce(loss, reduction, fn)


def hinge_embedding_loss(x, target, margin=1.0, reduction="mean"):
    """x where target == 1, max(0, margin - x) where target == -1 (PyTorch's rule)"""
    fn = "hinge_embedding_loss"
    x, target = _pair(x, target, fn)
    t = target.data
    zero = as_tensor(np.zeros((), x.dtype))
    margin_part = _af.where(t != 1, (margin - x).relu(), zero)
    self_part = _af.where(t != -1, x, zero)
    return _reduce(margin_part + self_part, reduction, fn)


def multi_margin_loss(x, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """sum over j != t of max(0, margin - x[t] + x[j])^p / C, times weight[t]"""
    fn = "multi_margin_loss"
    if p not in (1, 2):
        raise ValueError(f"{fn}: only p == 1 and p == 2 are supported, got p={p}")
    x = _tensor(x)
    if x.ndim not in (1, 2):
        raise ValueError(f"{fn}: input must be (N, C) or (C,), got shape {x.shape}")
    flat, t, shape = _class_targets(fn, x, target)
    n_classes = flat.shape[1]
    _check_weight(fn, weight, n_classes)
    picked = _gather_classes(flat, t).reshape(-1, 1)
    z = (flat - picked + margin).relu()
    if p == 2:
        z = z * z
    others = np.ones(flat.shape, flat.dtype)
    others[np.arange(len(t)), t] = 0
    if weight is not None:
        others *= _array(weight).astype(flat.dtype)[t][:, None]
    loss = (z * as_tensor(others)).sum(axis=1) * (1.0 / n_classes)
    return _reduce(loss.reshape(shape), reduction, fn)
