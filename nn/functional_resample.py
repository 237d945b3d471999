"""Padding and resampling for nn.functional: pad (PyTorch's order of widths), interpolate
(nearest, linear, bilinear), pixel_shuffle / pixel_unshuffle. All composites: interpolation
is a matmul with a small constant matrix per axis, the pixel shuffles are reshapes."""
import numpy as np

from autograd import Tensor
from autograd.composites_movement import pad_modes

__all__ = ["pad", "interpolate", "pixel_shuffle", "pixel_unshuffle"]


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def pad(x, pad, mode="constant", value=0.0):  # noqa: A002 -- PyTorch's argument name
    """PyTorch's F.pad: `pad` lists (before, after) pairs from the LAST axis backwards, e.g.
    (left, right, top, bottom); mode 'constant', 'reflect', 'replicate' or 'circular'.
    (Tensor.pad and autograd.pad take NumPy's pad_width, first axis first.)"""
    x = _tensor(x)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: pad must hold (before, after) pairs for at most {x.ndim} axes "
                         f"(input shape {x.shape}), got {pad}")
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in pairs):
        raise NotImplementedError(f"pad: negative widths (cropping) are not supported, got {pad}; "
                                  "slice the tensor instead")
    return pad_modes(x, tuple(pairs), mode, value)


# ---- interpolation ---------------------------------------------------------------------------

_MODES = {"nearest": None, "linear": 1, "bilinear": 2}


def _weights(n_in, n_out, mode, align_corners, scale, dtype):
    """The (n_out, n_in) matrix that resamples one axis, by PyTorch's index rules."""
    m = np.zeros((n_out, n_in), dtype)
    dst = np.arange(n_out)
    if mode == "nearest":
        # NOTE: float32 arithmetic, as PyTorch's nearest_idx (it matters at inexact ratios).
        ratio = np.float32(1.0 / scale if scale else n_in / n_out)
        src = np.minimum(np.floor(dst.astype(np.float32) * ratio).astype(np.int64), n_in - 1)
        m[dst, src] = 1
        return m
    ctype = np.float64 if dtype == np.float64 else np.float32  # PyTorch's opmath type
    if align_corners:
        ratio = ctype((n_in - 1) / (n_out - 1)) if n_out > 1 else ctype(0)
        src = dst.astype(ctype) * ratio
    else:
        ratio = ctype(1.0 / scale if scale else n_in / n_out)
        src = np.maximum((dst.astype(ctype) + ctype(0.5)) * ratio - ctype(0.5), 0)
    lo = np.minimum(src.astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = (src - lo).astype(dtype)
    np.add.at(m, (dst, lo), 1 - frac)
    np.add.at(m, (dst, hi), frac)
    return m


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial axes of (N, C, L) or (N, C, H, W): mode 'nearest' (any rank),
    'linear' (3-D) or 'bilinear' (4-D), with PyTorch's rules for size, scale_factor and
    align_corners.

    >>> import autograd
    >>> interpolate(autograd.ones(1, 1, 2, 3), scale_factor=2).shape
    (1, 1, 4, 6)
    """
    x = _tensor(x)
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode must be 'nearest', 'linear' or 'bilinear', "
                                  f"got {mode!r}")
    nd = x.ndim - 2
    if nd < 1 or (_MODES[mode] is not None and _MODES[mode] != nd):
        want = {None: "3-D or 4-D", 1: "3-D (N, C, L)", 2: "4-D (N, C, H, W)"}[_MODES[mode]]
        raise ValueError(f"interpolate: mode {mode!r} needs a {want} input, got shape {x.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners only applies to 'linear' and 'bilinear'")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial = x.shape[2:]
    if size is not None:
        size = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
        scales = (None,) * nd
    else:
        factors = ((scale_factor,) * nd if isinstance(scale_factor, (int, float))
                   else tuple(scale_factor))
        size = tuple(int(np.floor(n * f)) for n, f in zip(spatial, factors))
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in factors)
    if len(size) != nd or any(s < 1 for s in size):
        raise ValueError(f"interpolate: output size {size} must have {nd} positive sizes for "
                         f"input shape {x.shape}")
    out = x
    for axis, (n_in, n_out, scale) in enumerate(zip(spatial, size, scales)):
        if n_in == n_out and mode == "nearest" and scale in (None, 1.0):
            continue
        m = Tensor(_weights(n_in, n_out, mode, bool(align_corners), scale, x.dtype))
        # (..., n_in, rest) -> (..., n_out, rest): one matmul over the resampled axis
        moved = out.swapaxes(2 + axis, -1)
        out = (moved @ m.T).swapaxes(2 + axis, -1)
    return out


# ---- pixel shuffles ---------------------------------------------------------------------------

def pixel_shuffle(x, upscale_factor):
    """(N, C r^2, H, W) -> (N, C, H r, W r): each group of r^2 channels becomes an r x r block"""
    x = _tensor(x)
    r = int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise ValueError(f"pixel_shuffle: input of shape {x.shape} needs (..., C * {r}^2, H, W) "
                         f"with channels divisible by {r * r}")
    *lead, c, h, w = x.shape
    lead = tuple(lead)
    k = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(x, downscale_factor):
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of pixel_shuffle"""
    x = _tensor(x)
    r = int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-1] % r or x.shape[-2] % r:
        raise ValueError(f"pixel_unshuffle: input of shape {x.shape} needs height and width "
                         f"divisible by {r}")
    *lead, c, h, w = x.shape
    lead = tuple(lead)
    k = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape(lead + (c * r * r, h // r, w // r))
