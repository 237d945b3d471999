"""Padding and resampling for nn.functional: pad (PyTorch's order of widths), interpolate
(nearest, linear, bilinear), pixel_shuffle / pixel_unshuffle. All composites of index and
reshape ops."""
import numpy as np

from autograd import Tensor
from autograd.functional_movement import pad_modes

__all__ = ["pad"]


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
