"""Composite movement and indexing: flips, rolls, tiles, gathers and scatters, padding modes.

Every op here is a reshape, a broadcast, a slice or an index of existing primitives (GetItem,
ScatterAdd, ...), so its gradient and create_graph come from theirs.
"""
import numpy as np

from .ops import ScatterAdd
from .composites import _tensor
from .tensor import Tensor, _check_axis, _lift


def _axes(op, x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(_check_axis(op, a, max(x.ndim, 1)) for a in axes)


def _int_index(op, index):
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype} (shape "
                        f"{idx.shape}); convert them, e.g. index.long()")
    return idx


def _in_range(op, idx, n, axis):
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)].ravel()[0]
        raise IndexError(f"{op}: index {int(bad)} is out of range for axis {axis} of size {n} "
                         f"(valid: {-n} .. {n - 1})")


# ---- reordering ----------------------------------------------------------------------------

def flip(x, axis=None):
    """x reversed along axis (an int, a tuple, or None for every axis)"""
    x = _tensor(x)
    axes = _axes("flip", x, axis)
    if x.ndim == 0:
        return x * 1
    index = tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))
    return x[index]


def roll(x, shifts, axis=None):
    """x shifted cyclically by `shifts` along axis (None: over the flattened tensor)"""
    x = _tensor(x)
    if axis is None:
        if not isinstance(shifts, (int, np.integer)):
            raise ValueError(f"roll: with axis=None, shifts must be one int, got {shifts}")
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    axes = _axes("roll", x, axis)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shift(s) for {len(axes)} axis/axes; give one "
                         "shift per axis")
    for s, a in zip(shifts, axes):
        n = x.shape[a]
        if n:
            index = (slice(None),) * a + ((np.arange(n) - int(s)) % n,)
            x = x[index]
    return x


# ---- repeating ---------------------------------------------------------------------------------

def tile(x, reps):
    """x repeated `reps` times along each axis, as numpy.tile (reps may add leading axes)"""
    x = _tensor(x)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be >= 0, got {reps}")
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + x.shape
    # NOTE: (r0, s0, r1, s1, ...) broadcast from (1, s0, 1, s1, ...) then merged: one view,
    # one copy, and the gradient is BroadcastTo's sum.
    inter = tuple(n for s in shape for n in (1, s))
    wide = tuple(n for r, s in zip(reps, shape) for n in (r, s))
    return x.reshape(inter).expand(wide).reshape(tuple(r * s for r, s in zip(reps, shape)))


def repeat(x, *sizes):
    """PyTorch's Tensor.repeat: numpy.tile with one count per axis (NumPy's repeat is
    repeat_interleave)"""
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    x = _tensor(x)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} count(s) for a tensor of shape {x.shape}; give "
                         f"at least one per axis ({x.ndim})")
    return tile(x, sizes)


def repeat_interleave(x, repeats, axis=None):
    """each element repeated `repeats` times along axis, as numpy.repeat (None: flattened)"""
    x = _tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = _check_axis("repeat_interleave", axis, max(x.ndim, 1))
    if x.ndim == 0:
        x = x.reshape(1)
    if isinstance(repeats, (int, np.integer)):
        if repeats < 0:
            raise ValueError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
        shape = x.shape
        grown = x.unsqueeze(axis + 1).expand(shape[:axis + 1] + (int(repeats),) + shape[axis + 1:])
        return grown.reshape(shape[:axis] + (shape[axis] * int(repeats),) + shape[axis + 1:])
    counts = _int_index("repeat_interleave", repeats).reshape(-1)
    if counts.size not in (1, x.shape[axis]) or (counts < 0).any():
        raise ValueError(f"repeat_interleave: repeats must be >= 0 with one count per element "
                         f"of axis {axis} ({x.shape[axis]}), got {counts.tolist()}")
    index = np.repeat(np.arange(x.shape[axis]), counts)
    return x[(slice(None),) * axis + (index,)]


# ---- gathers and scatters -----------------------------------------------------------------

def _along(idx, axis):
    """An advanced index that picks idx along `axis` and keeps every other axis in place."""
    return tuple(idx if a == axis else
                 np.arange(n).reshape((-1,) + (1,) * (idx.ndim - a - 1))
                 for a, n in enumerate(idx.shape))


def take_along_axis(x, indices, axis):
    """numpy.take_along_axis: out[..., i, ...] = x[..., indices[..., i, ...], ...]"""
    x = _tensor(x)
    idx = _int_index("take_along_axis", indices)
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices of shape {idx.shape} need as many axes as x "
                         f"of shape {x.shape}")
    axis = _check_axis("take_along_axis", axis, x.ndim)
    _in_range("take_along_axis", idx, x.shape[axis], axis)
    shape = list(np.broadcast_shapes(
        tuple(1 if a == axis else n for a, n in enumerate(idx.shape)),
        tuple(1 if a == axis else n for a, n in enumerate(x.shape))))
    shape[axis] = idx.shape[axis]
    return x[_along(np.broadcast_to(idx, tuple(shape)), axis)]


def gather(x, axis, index):
    """PyTorch's gather: out[i][j] = x[index[i][j]][j] (axis 0); index may be smaller than x
    on the other axes"""
    x = _tensor(x)
    idx = _int_index("gather", index)
    axis = _check_axis("gather", axis, max(x.ndim, 1))
    if idx.ndim != x.ndim or any(i > n for a, (i, n) in enumerate(zip(idx.shape, x.shape))
                                 if a != axis):
        raise ValueError(f"gather: index of shape {idx.shape} must have the axes of x "
                         f"{x.shape}, none longer except axis {axis}")
    _in_range("gather", idx, x.shape[axis], axis)
    return x[_along(idx, axis)]


def _scatter_parts(op, x, axis, index, src):
    x = _tensor(x)
    idx = _int_index(op, index)
    axis = _check_axis(op, axis, max(x.ndim, 1))
    if idx.ndim != x.ndim or any(i > n for a, (i, n) in enumerate(zip(idx.shape, x.shape))
                                 if a != axis):
        raise ValueError(f"{op}: index of shape {idx.shape} must have the axes of x "
                         f"{x.shape}, none longer except axis {axis}")
    _in_range(op, idx, x.shape[axis], axis)
    if isinstance(src, Tensor) and src.ndim:
        if src.ndim != idx.ndim or any(i > n for i, n in zip(idx.shape, src.shape)):
            raise ValueError(f"{op}: src of shape {src.shape} must be at least as large as "
                             f"index {idx.shape} on every axis")
        src = src[tuple(slice(0, n) for n in idx.shape)]
    else:
        src = (src if isinstance(src, Tensor) else _lift(src, x)).expand(idx.shape)
    full = _along(idx, axis)
    return x, src, full, axis


def scatter_add(x, axis, index, src):
    """PyTorch's scatter_add: x with src[i][j] added at x[index[i][j]][j] (axis 0); repeated
    indices accumulate"""
    x, src, full, _ = _scatter_parts("scatter_add", x, axis, index, src)
    return x + ScatterAdd.apply(src, index=full, shape=x.shape)


def scatter(x, axis, index, src):
    """PyTorch's scatter: x with x[index[i][j]][j] = src[i][j] (axis 0); src may be a number.

    Where an index repeats, the last write wins (NumPy's assignment order) and only that
    element of src gets a gradient; the overwritten elements of x get none."""
    x, src, full, _ = _scatter_parts("scatter", x, axis, index, src)
    flat = np.ravel_multi_index(np.broadcast_arrays(*full), x.shape, mode="wrap").reshape(-1)
    # the last write to each position wins: keep the last occurrence of each flat index
    last = len(flat) - 1 - np.unique(flat[::-1], return_index=True)[1]
    keep = np.zeros(flat.shape, bool)
    keep[last] = True
    keep = keep.reshape(src.shape)
    hit = np.zeros(x.size, bool)
    hit[flat] = True
    kept = src * Tensor(keep.astype(src.dtype)) if not keep.all() else src
    placed = ScatterAdd.apply(kept, index=full, shape=x.shape)
    return x * Tensor((~hit).reshape(x.shape).astype(x.dtype)) + placed


def index_select(x, axis, index):
    """the entries of `index` (1-D integers) along axis"""
    x = _tensor(x)
    idx = _int_index("index_select", index)
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
    axis = _check_axis("index_select", axis, max(x.ndim, 1))
    if x.ndim == 0:
        return x.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
    _in_range("index_select", idx, x.shape[axis], axis)
    return x[(slice(None),) * axis + (idx.reshape(-1),)]


def masked_select(x, mask):
    """the elements of x where the boolean mask (broadcast against x) is True, as a 1-D tensor"""
    x = _tensor(x)
    m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_select: mask must be bool, got dtype {m.dtype}; use x > 0 or "
                        "mask.astype(bool)")
    shape = np.broadcast_shapes(x.shape, m.shape)
    x = x.expand(shape) if x.shape != shape else x
    return x[np.broadcast_to(m, shape)]


# ---- shapes ------------------------------------------------------------------------------------

def unflatten(x, axis, sizes):
    """axis split into `sizes` (one of them may be -1)"""
    x = _tensor(x)
    axis = _check_axis("unflatten", axis, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    known = int(np.prod([s for s in sizes if s != -1]))
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != x.shape[axis]) or \
            (sizes.count(-1) == 1 and (known == 0 or x.shape[axis] % known)):
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to the length "
                         f"{x.shape[axis]} of axis {axis} (shape {x.shape})")
    return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])


def chunk(x, chunks, axis=0):
    """PyTorch's chunk: at most `chunks` pieces of ceil(n / chunks) along axis (the last smaller)"""
    x = _tensor(x)
    if not isinstance(chunks, (int, np.integer)) or chunks < 1:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.shape[_check_axis("chunk", axis, x.ndim)]
    size = -(-n // chunks) if n else 1
    return split_sizes(x, size, axis)


def split_sizes(x, split_size_or_sections, axis=0):
    """PyTorch's split: pieces of one size (the last may be smaller), or of the listed sizes"""
    x = _tensor(x)
    axis = _check_axis("split", axis, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size < 1:
            raise ValueError(f"split: split_size must be >= 1, got {size}")
        sizes = [min(size, n - lo) for lo in range(0, n, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} must be >= 0 and sum to the length {n} of "
                             f"axis {axis} (shape {x.shape})")
    out, lo = [], 0
    for s in sizes:
        out.append(x[(slice(None),) * axis + (slice(lo, lo + s),)])
        lo += s
    return tuple(out)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: indexing 'ij' (matrix, PyTorch's default) or 'xy'"""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    tensors = [_tensor(t) for t in tensors]
    for t in tensors:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: inputs must be 0-D or 1-D, got shape {t.shape}")
    tensors = [t.reshape(-1) for t in tensors]
    sizes = [t.shape[0] for t in tensors]
    n = len(tensors)
    order = list(range(n))
    if indexing == "xy" and n >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[o] for o in order)
    grids = []
    for i, t in enumerate(tensors):
        place = order.index(i)
        view = [1] * n
        view[place] = sizes[i]
        grids.append(t.reshape(tuple(view)).expand(shape))
    return tuple(grids)


# ---- padding ----------------------------------------------------------------------------------

_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad_modes(x, pad_width, mode="constant", value=0.0):
    """numpy.pad's pad_width with mode 'constant' (value), 'reflect', 'replicate' or 'circular'"""
    from .functional import pad

    x = _tensor(x)
    if mode == "constant":
        return pad(x, pad_width, value)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                         f"got {mode!r}")
    if x.ndim == 0:
        return x
    width = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if (width < 0).any():
        raise ValueError(f"pad: widths must be >= 0, got {pad_width}")
    for axis, (lo, hi) in enumerate(width.tolist()):
        n = x.shape[axis]
        if not (lo or hi):
            continue
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than axis "
                             f"{axis} of size {n} (shape {x.shape})")
        if n == 0:
            raise ValueError(f"pad: cannot {mode}-pad the empty axis {axis} (shape {x.shape})")
        idx = np.pad(np.arange(n), (lo, hi), mode=_PAD_MODES[mode])
        x = x[(slice(None),) * axis + (idx,)]
    return x
