"""Functional convolution and pooling: composites of the unfold/fold and window primitives.

A convolution is im2col (`Unfold`, one strided copy of every window) followed by ONE
2-D matmul per group with the flattened filters; its gradients come from the matmul's rule and `Fold`
(col2im). Shapes follow PyTorch: inputs (N, C, L) / (N, C, H, W), or unbatched (C, L) /
(C, H, W); weights (out_channels, in_channels / groups, *kernel_size).

>>> import numpy as np, autograd, nn.functional as F
>>> x = autograd.Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
>>> F.max_pool2d(x, 2).data.ravel().tolist()
[5.0, 7.0, 13.0, 15.0]
"""

import numpy as np

from autograd import Tensor, as_tensor
from autograd.ops import ScatterAdd
from autograd.ops.conv import Fold, MaxPool, Unfold, WindowGather, out_size

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold", "max_pool1d", "max_pool2d", "max_unpool1d",
           "max_unpool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d"]

_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _tuple(value, n, what, fn):
    """An int or a sequence of n ints, as a tuple of n ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{fn}: {what} must be an int or {n} ints, got {value}")
    return value


def _who(fn, layer):
    """The name errors use: the layer's repr (e.g. Conv2d(3, 8, kernel_size=(3, 3), ...)) or fn."""
    return fn if layer is None else repr(layer)


def _batched(fn, x, nd, layer=None):
    """(x with a batch axis, whether one was added); checks the number of axes."""
    x = _tensor(x)
    if x.ndim == nd + 2:
        return x, False
    if x.ndim == nd + 1:
        return x.unsqueeze(0), True
    who = _who(fn, layer)
    spatial = ("L",) if nd == 1 else ("H", "W")
    raise ValueError(
        f"{who}: expected a {nd + 2}-D input (N, C, {', '.join(spatial)}) or a {nd + 1}-D "
        f"unbatched input (C, {', '.join(spatial)}), got shape {x.shape}")


# ---- convolution ---------------------------------------------------------------------

def _conv_padding(padding, kernel_size, dilation, stride, fn):
    """(before, after) pairs from an int, a tuple, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel_size)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{fn}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride}); give the padding as numbers")
            total = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)  # extra on the right, as PyTorch
        raise ValueError(f"{fn}: padding must be an int, a tuple, 'valid' or 'same', "
                         f"got {padding!r}")
    pads = _tuple(padding, len(kernel_size), "padding", fn)
    if any(p < 0 for p in pads):
        raise ValueError(f"{fn}: padding must be >= 0, got {padding}")
    return tuple((p, p) for p in pads)


def _pad_by_index(x, padding, mode):
    """Non-zero padding modes as a gather with precomputed indices (differentiable)."""
    for axis, (lo, hi) in enumerate(padding, start=2):
        if lo or hi:
            idx = np.pad(np.arange(x.shape[axis]), (lo, hi), mode=_PAD_MODES[mode])
            x = x[(slice(None),) * axis + (idx,)]
    return x


def _conv(x, weight, bias, stride, padding, dilation, groups, nd, fn, padding_mode="zeros",
          layer=None):
    x, unbatched = _batched(fn, x, nd, layer)
    weight = _tensor(weight)
    if weight.ndim != nd + 2:
        raise ValueError(f"{_who(fn, layer)}: weight must be {nd + 2}-D (out_channels, "
                         f"in_channels/groups, *kernel_size), got shape {weight.shape}")
    n, c = x.shape[:2]
    o, cg = weight.shape[:2]
    kernel_size = weight.shape[2:]
    if groups < 1 or c % groups or o % groups:
        raise ValueError(f"{_who(fn, layer)}: groups={groups} must divide both the input "
                         f"channels ({c}) and the output channels ({o})")
    if cg * groups != c:
        raise ValueError(
            f"{_who(fn, layer)}: expected input with {cg * groups} channels (weight "
            f"{weight.shape}, groups={groups}), got input of shape {tuple(x.shape)} with {c} "
            "channels on axis 1")
    stride = _tuple(stride, nd, "stride", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{_who(fn, layer)}: stride and dilation must be >= 1, got {stride}, "
                         f"{dilation}")
    padding = _conv_padding(padding, kernel_size, dilation, stride, fn)
    if padding_mode != "zeros":
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{_who(fn, layer)}: padding_mode must be 'zeros', 'reflect', "
                             f"'replicate' or 'circular', got {padding_mode!r}")
        x = _pad_by_index(x, padding, padding_mode)
        padding = tuple((0, 0) for _ in padding)
    spatial = x.shape[2:]
    out_spatial = tuple(out_size(m, k, s, p, d) for m, k, s, p, d in
                        zip(spatial, kernel_size, stride, padding, dilation))
    if any(m < 1 for m in out_spatial):
        raise ValueError(
            f"{_who(fn, layer)}: input of spatial size {tuple(spatial)} (padding {padding}) is "
            "smaller than the dilated kernel "
            f"{tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))}")
    # NOTE: the windows are laid out as (C, *k, *out, N), i.e. a (C*k, L*N) matrix, so that
    # the convolution is ONE 2-D matmul (O, C*k) @ (C*k, L*N) per group, and so are both
    # products of its backward (dW = g @ cols^T, dcols = W^T @ g; the transpose is a view
    # BLAS reads as is). With the windows per sample, (N, C*k, L), NumPy ran one small GEMM
    # per sample: 3-7% slower per cnn_step on one BLAS thread (benchmarks/README.md, which
    # also says what 2 threads do). The result is an (N, O, *out) view of (O, *out, N)
    # memory, never copied: the batch innermost makes the copies of the next unfold, fold
    # and max pool (which keeps its input's layout) run over long contiguous stretches
    # instead of one short image row at a time (benchmarks/README.md, cnn_step).
    cols = Unfold.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                        dilation=dilation, layout="ckon")          # (C, *k, *out, N)
    columns = n * int(np.prod(out_spatial))
    k = cg * int(np.prod(kernel_size))
    if groups == 1:
        y = weight.reshape(o, k) @ cols.reshape(k, columns)         # (O, L*N)
    else:  # channels are grouped in order, so group g's rows of cols are contiguous
        w_g = weight.reshape(groups, o // groups, k)
        y = (w_g @ cols.reshape(groups, k, columns)).reshape(o, columns)
    if bias is not None:
        y = y + bias.reshape(o, 1)
    y = y.reshape((o,) + out_spatial + (n,)).permute((nd + 1, 0) + tuple(range(1, nd + 1)))
    return y.squeeze(0) if unbatched else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: x (N, C, L), weight (O, C/groups, k) -> (N, O, L_out)"""
    return _conv(x, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation: x (N, C, H, W), weight (O, C/groups, kh, kw) -> (N, O, H_out, W_out)

    >>> import autograd
    >>> conv2d(autograd.ones(1, 1, 7, 7), autograd.ones(1, 1, 3, 3), padding=1).shape
    (1, 1, 7, 7)
    """
    return _conv(x, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, nd, fn,
                    layer=None):
    x, unbatched = _batched(fn, x, nd, layer)
    weight = _tensor(weight)
    who = _who(fn, layer)
    if weight.ndim != nd + 2:
        raise ValueError(f"{who}: weight must be {nd + 2}-D (in_channels, out_channels/groups, "
                         f"*kernel_size), got shape {weight.shape}")
    n, c = x.shape[:2]
    cin, og = weight.shape[:2]
    kernel_size = weight.shape[2:]
    if groups < 1 or cin % groups:
        raise ValueError(f"{who}: groups={groups} must divide the weight's in_channels ({cin})")
    if c != cin:
        raise ValueError(f"{who}: expected input with {cin} channels (weight {weight.shape}), got "
                         f"input of shape {tuple(x.shape)} with {c} channels on axis 1")
    stride = _tuple(stride, nd, "stride", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    pads = _tuple(padding, nd, "padding", fn)
    extra = _tuple(output_padding, nd, "output_padding", fn)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation) or any(p < 0 for p in pads):
        raise ValueError(f"{who}: stride and dilation must be >= 1 and padding >= 0, got "
                         f"{stride}, {dilation}, {pads}")
    if any(e < 0 or (e >= s and e >= d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{who}: output_padding {extra} must be smaller than either the stride "
                         f"{stride} or the dilation {dilation}")
    spatial = x.shape[2:]
    out_spatial = tuple((m - 1) * s - 2 * p + d * (k - 1) + e + 1 for m, s, p, d, k, e in
                        zip(spatial, stride, pads, dilation, kernel_size, extra))
    if any(m < 1 for m in out_spatial):
        raise ValueError(f"{who}: the output would have spatial size {out_spatial} (input "
                         f"{tuple(spatial)}, padding {pads}); use less padding")
    o = og * groups
    k = og * int(np.prod(kernel_size))
    # NOTE: the transpose of conv's im2col-matmul: one matmul per group makes every window's
    # contribution, W^T @ x: (O*k, C) @ (C, L*N), and Fold (col2im) adds the overlapping
    # windows into the output, dropping what lands in the padding. Its gradient is conv's
    # forward (Unfold, then matmul), so no rule of its own is needed. output_padding only
    # lengthens the output: Fold leaves positions no window reaches at zero.
    columns = n * int(np.prod(spatial))
    xm = x.permute((1,) + tuple(range(2, nd + 2)) + (0,)).reshape(groups, cin // groups, columns)
    wm = weight.reshape(groups, cin // groups, k)
    cols = (wm.mT @ xm).reshape((o,) + tuple(kernel_size) + tuple(spatial) + (n,))
    y = Fold.apply(cols, shape=(n, o) + out_spatial, kernel_size=tuple(kernel_size), stride=stride,
                   padding=tuple((p, p) for p in pads), dilation=dilation, layout="ckon")
    if bias is not None:
        y = y + _tensor(bias).reshape((o,) + (1,) * nd)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution: x (N, C_in, L), weight (C_in, C_out/groups, k) ->
    (N, C_out, (L - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1)"""
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input):
    x (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw)

    >>> import autograd
    >>> conv_transpose2d(autograd.ones(1, 2, 3, 3), autograd.ones(2, 4, 3, 3), stride=2).shape
    (1, 4, 7, 7)
    """
    return _conv_transpose(x, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's unfold (im2col) for 4-D input: (N, C, H, W) -> (N, C * kh * kw, L)"""
    x, _ = _batched("unfold", x, 2)
    kernel_size = _tuple(kernel_size, 2, "kernel_size", "unfold")
    pads = tuple((p, p) for p in _tuple(padding, 2, "padding", "unfold"))
    cols = Unfold.apply(x, kernel_size=kernel_size, stride=_tuple(stride, 2, "stride", "unfold"),
                        padding=pads, dilation=_tuple(dilation, 2, "dilation", "unfold"))
    n, c, kh, kw, oh, ow = cols.shape
    return cols.reshape(n, c * kh * kw, oh * ow)


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's fold (col2im): (N, C * kh * kw, L) -> (N, C, H, W), overlapping windows add"""
    x = _tensor(x)
    kernel_size = _tuple(kernel_size, 2, "kernel_size", "fold")
    output_size = _tuple(output_size, 2, "output_size", "fold")
    stride = _tuple(stride, 2, "stride", "fold")
    dilation = _tuple(dilation, 2, "dilation", "fold")
    pads = tuple((p, p) for p in _tuple(padding, 2, "padding", "fold"))
    n, ck, length = x.shape
    kk = kernel_size[0] * kernel_size[1]
    out = tuple(out_size(m, k, s, p, d) for m, k, s, p, d in
                zip(output_size, kernel_size, stride, pads, dilation))
    if ck % kk or out[0] * out[1] != length:
        raise ValueError(f"fold: input of shape {x.shape} does not fit kernel {kernel_size} and "
                         f"output {output_size}: expected (N, C * {kk}, {out[0] * out[1]})")
    c = ck // kk
    cols = x.reshape((n, c) + kernel_size + out)
    return Fold.apply(cols, shape=(n, c) + output_size, kernel_size=kernel_size, stride=stride,
                      padding=pads, dilation=dilation)


# ---- pooling ---------------------------------------------------------------------------

def _pool_geometry(x, nd, kernel_size, stride, padding, dilation, ceil_mode, fn):
    """kernel, stride, (before, after) pads (ceil_mode adds to `after`), dilation, out shape."""
    kernel_size = _tuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel_size if stride is None or stride == () else _tuple(stride, nd, "stride", fn)
    pads = _tuple(padding, nd, "padding", fn)
    dilation = _tuple(dilation, nd, "dilation", fn)
    if any(k < 1 for k in kernel_size) or any(s < 1 for s in stride):
        raise ValueError(f"{fn}: kernel_size and stride must be >= 1, got {kernel_size}, {stride}")
    if any(p < 0 or p > k // 2 for p, k in zip(pads, kernel_size)):
        raise ValueError(f"{fn}: padding should be at most half of the kernel size, got "
                         f"padding={pads} for kernel_size={kernel_size}")
    padding, out = [], []
    for m, k, s, p, d in zip(x.shape[2:], kernel_size, stride, pads, dilation):
        span = d * (k - 1) + 1
        if ceil_mode:
            n_out = -(-(m + 2 * p - span) // s) + 1
            if (n_out - 1) * s >= m + p:  # the last window must start inside input or left pad
                n_out -= 1
        else:
            n_out = (m + 2 * p - span) // s + 1
        if n_out < 1:
            raise ValueError(f"{fn}: input of shape {x.shape} is too small for kernel "
                             f"{kernel_size} with padding {pads} and dilation {dilation}")
        extra = max(0, (n_out - 1) * s + span - (m + 2 * p))
        padding.append((p, p + extra))
        out.append(n_out)
    return kernel_size, stride, tuple(padding), dilation, tuple(out)


def _winners(x, kernel_size, stride, padding, dilation):
    """(offset number of each window's winner, C order over the kernel; its flat index into
    the input plane, PyTorch's return_indices: int64), both of the output's shape."""
    # NOTE: MaxPool's forward finds the winners (first maximum in C order, NaN wins, padding
    # is -inf); it is run here on the array, outside the graph, only to read them.
    pool = MaxPool()
    pool.forward(x, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    out_shape = pool.index.shape[2:]
    nd = len(out_shape)
    offsets = [k.astype(np.int64) for k in np.unravel_index(pool.index, kernel_size)]
    starts, firsts = [], []
    outside = np.zeros(pool.index.shape, bool)
    for axis, (k, m, s, (before, _), d, n) in enumerate(
            zip(offsets, x.shape[2:], stride, padding, dilation, out_shape)):
        start = (np.arange(n) * s - before).reshape((n,) + (1,) * (nd - 1 - axis))
        position = start + k * d
        outside |= (position < 0) | (position >= m)
        starts.append(start)
        firsts.append(np.maximum(0, -(start // d)))  # the first offset inside the input
    if outside.any():
        # NOTE: a window whose real elements are all -inf is won by its padding; PyTorch
        # then points to the window's first real element (same value), and so do we (its
        # gradient goes there too, as PyTorch's).
        offsets = [np.where(outside, first, k) for first, k in zip(firsts, offsets)]
    flat = np.zeros(pool.index.shape, np.int64)
    for start, k, m, d in zip(starts, offsets, x.shape[2:], dilation):
        flat = flat * m + (start + k * d)
    index = np.ravel_multi_index(offsets, kernel_size) if outside.any() else pool.index
    return index, flat


def _max_pool(x, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices, fn):
    x, unbatched = _batched(fn, x, nd)
    kernel_size, stride, padding, dilation, _ = _pool_geometry(
        x, nd, kernel_size, stride, padding, dilation, ceil_mode, fn)
    geometry = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    if not return_indices:
        out = MaxPool.apply(x, **geometry)
        return out.squeeze(0) if unbatched else out
    # The same values and gradient as MaxPool, from the winners found once (a gather of x).
    index, flat = _winners(x.data, **geometry)
    out = WindowGather.apply(x, index=index, **geometry)
    indices = as_tensor(flat)
    if unbatched:
        return out.squeeze(0), indices.squeeze(0)
    return out, indices


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max over windows of (N, C, L); padding counts as -inf.

    return_indices=True also returns where each maximum is, as PyTorch: an int64 Tensor
    of the output's shape holding indices into L (for max_unpool1d)."""
    return _max_pool(x, 1, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool1d")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max over windows of (N, C, H, W); padding counts as -inf.

    return_indices=True also returns where each maximum is, as PyTorch: an int64 Tensor
    of the output's shape holding flat indices h * W + w into each (H, W) plane (for
    max_unpool2d).

    >>> import autograd
    >>> x = autograd.Tensor([[[[1., 9, 2, 3], [4, 5, 8, 6]]]])
    >>> out, indices = max_pool2d(x, 2, return_indices=True)
    >>> out.tolist(), indices.tolist()
    ([[[[9.0, 8.0]]]], [[[[1, 6]]]])
    """
    return _max_pool(x, 2, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     "max_pool2d")


def _unpool_size(fn, x, kernel_size, stride, padding, output_size):
    """The unpooled spatial shape: PyTorch's default, or output_size checked against it."""
    nd = len(kernel_size)
    default = tuple((m - 1) * s - 2 * p + k
                    for m, k, s, p in zip(x.shape[2:], kernel_size, stride, padding))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"{fn}: output_size must hold {nd} sizes (or {nd + 2}, with N and C "
                         f"first), got {tuple(output_size)}")
    for axis, (m, d, s) in enumerate(zip(size, default, stride)):
        if not d - s < m < d + s:
            raise ValueError(
                f"{fn}: output_size {size} does not fit input of shape {x.shape} with "
                f"kernel_size={kernel_size}, stride={stride}, padding={padding}: spatial axis "
                f"{axis} must be more than {d - s} and less than {d + s} (default {d})")
    return size


def _max_unpool(x, indices, nd, kernel_size, stride, padding, output_size, fn):
    x, unbatched = _batched(fn, x, nd)
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{fn}: indices must be integers (from max_pool{nd}d(..., "
                        f"return_indices=True)), got dtype {index.dtype}")
    if unbatched:
        index = index[None]
    if index.shape != x.shape:
        shown = index.shape[1:] if unbatched else index.shape
        raise ValueError(f"{fn}: indices of shape {shown} must have the input's shape "
                         f"{x.shape[1:] if unbatched else x.shape}")
    kernel_size = _tuple(kernel_size, nd, "kernel_size", fn)
    stride = kernel_size if stride is None else _tuple(stride, nd, "stride", fn)
    padding = _tuple(padding, nd, "padding", fn)
    size = _unpool_size(fn, x, kernel_size, stride, padding, output_size)
    plane = int(np.prod(size))
    if index.size and (index.min() < 0 or index.max() >= plane):
        bad = index[(index < 0) | (index >= plane)].ravel()[0]
        raise IndexError(f"{fn}: index {int(bad)} is out of range for an output plane of "
                         f"{' x '.join(map(str, size))} = {plane} elements (valid: 0 .. "
                         f"{plane - 1}); pass the pool's kernel_size, stride and padding, or "
                         "output_size=input.shape")
    n, c = x.shape[:2]
    planes = np.arange(n * c, dtype=np.int64).reshape((n, c) + (1,) * nd) * plane
    keys = (planes + index).reshape(-1)
    values = x.reshape(-1)
    # NOTE: indices repeat when overlapping windows share their maximum. PyTorch writes the
    # values of a plane in order, so the last one stays: keep only the last of each repeat,
    # and the scatter below adds each kept value once. (PyTorch's backward gathers the
    # gradient for every repeat, ours gives it to the kept one: the derivative of the output.)
    last = keys.size - 1 - np.unique(keys[::-1], return_index=True)[1]
    if last.size < keys.size:
        last.sort()
        values, keys = values[last], keys[last]
    out = ScatterAdd.apply(values, index=keys, shape=(n * c * plane,)).reshape((n, c) + size)
    return out.squeeze(0) if unbatched else out


def max_unpool1d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: zeros of length output_size (by default
    (L - 1) * stride - 2 * padding + kernel_size) with x written at `indices`;
    differentiable with respect to x."""
    return _max_unpool(x, indices, 1, kernel_size, stride, padding, output_size, "max_unpool1d")


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: zeros of spatial shape output_size (by default
    (H - 1) * stride - 2 * padding + kernel_size, and so for W) with x written at the flat
    `indices` of each plane; differentiable with respect to x.

    >>> import autograd
    >>> x = autograd.Tensor([[[[1., 9, 2, 3], [4, 5, 8, 6]]]])
    >>> out, indices = max_pool2d(x, 2, return_indices=True)
    >>> max_unpool2d(out, indices, 2).tolist()
    [[[[0.0, 9.0, 0.0, 0.0], [0.0, 0.0, 8.0, 0.0]]]]
    """
    return _max_unpool(x, indices, 2, kernel_size, stride, padding, output_size, "max_unpool2d")


def _avg_divisor(shape, kernel_size, stride, padding, out, count_include_pad, dtype):
    """Per output position: how many elements the average divides by (PyTorch's rule).

    With count_include_pad the window is clipped to the symmetrically padded input (only
    ceil_mode's extra windows are clipped); without it, to the input itself.
    """
    divisor = np.ones((), dtype)
    for axis, (m, k, s, (p, _), n) in enumerate(zip(shape, kernel_size, stride, padding, out)):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, m + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, m)
        counts = (end - start).astype(dtype)
        divisor = divisor[..., None] * counts if axis else counts
    return divisor


def _avg_pool(x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, fn):
    x, unbatched = _batched(fn, x, nd)
    kernel_size, stride, padding, dilation, out = _pool_geometry(
        x, nd, kernel_size, stride, padding, 1, ceil_mode, fn)
    cols = Unfold.apply(x, kernel_size=kernel_size, stride=stride, padding=padding,
                        dilation=dilation)                         # (N, C, *k, *out)
    total = cols.sum(axis=tuple(range(2, 2 + nd)))                  # (N, C, *out)
    if divisor_override:
        y = total * (1.0 / divisor_override)
    else:
        uniform = all(lo == hi for lo, hi in padding) and (count_include_pad or
                                                           not any(lo for lo, _ in padding))
        if uniform:
            y = total * (1.0 / int(np.prod(kernel_size)))
        else:
            divisor = _avg_divisor(x.shape[2:], kernel_size, stride, padding, out,
                                   count_include_pad, x.dtype)
            y = total / as_tensor(divisor)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """mean over windows of (N, C, L); zero padding counted unless count_include_pad=False"""
    return _avg_pool(x, 1, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     "avg_pool1d")


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """mean over windows of (N, C, H, W); zero padding counted unless count_include_pad=False"""
    return _avg_pool(x, 2, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, "avg_pool2d")


def _adaptive_matrix(size, n_out, dtype):
    """(n_out, size) averaging matrix: row i averages floor(i*size/n) .. ceil((i+1)*size/n)."""
    i = np.arange(n_out)
    start = (i * size) // n_out
    end = -((-(i + 1) * size) // n_out)
    cols = np.arange(size)
    inside = (cols >= start[:, None]) & (cols < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _adaptive_avg_pool(x, nd, output_size, fn):
    x, unbatched = _batched(fn, x, nd)
    spatial = x.shape[2:]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    output_size = tuple(m if o is None else int(o) for o, m in zip(output_size, spatial))
    if len(output_size) != nd or any(o < 1 for o in output_size):
        raise ValueError(f"{fn}: output_size must be {nd} positive ints, got {output_size}")
    # NOTE: the windows may overlap or differ in size, so the pooling is written as
    # (n_out, size) averaging matrices: out = A_h @ x @ A_w^T, exact and differentiable.
    y = x
    if nd == 2:
        a_h = _adaptive_matrix(spatial[0], output_size[0], x.dtype)
        y = as_tensor(a_h) @ y
    a_w = _adaptive_matrix(spatial[-1], output_size[-1], x.dtype)
    y = y @ as_tensor(np.ascontiguousarray(a_w.T))
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool1d(x, output_size):
    """mean over L_out windows covering (N, C, L) as evenly as possible"""
    return _adaptive_avg_pool(x, 1, output_size, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(x, output_size):
    """mean over H_out x W_out windows covering (N, C, H, W) as evenly as possible"""
    return _adaptive_avg_pool(x, 2, output_size, "adaptive_avg_pool2d")
