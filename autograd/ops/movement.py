"""Movement primitives: reshape, transpose, indexing, concatenation, padding."""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


class Reshape(Function):
    """reshape(x, shape);  dx = reshape(grad, x.shape)"""

    name = "reshape"
    saves_inputs = False

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.reshape(grad, self.in_shape),)

    def jvp(self, tangents, out):
        return np.reshape(tangents[0], np.shape(out.data))


class Transpose(Function):
    """transpose(x, axes);  dx = transpose(grad, inverse(axes))"""

    name = "transpose"
    saves_inputs = False

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.transpose(grad, np.argsort(self.axes)),)

    def jvp(self, tangents, out):
        return np.transpose(tangents[0], self.axes)


def _is_basic(index):
    """True when `index` only holds ints, slices, None and Ellipsis (so no element repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice))
               for p in parts)


class GetItem(Function):
    """x[index];  dx = zeros like x, with grad scatter-added at index"""

    name = "getitem"
    saves_inputs = False

    def forward(self, x, index):
        self.in_shape = x.shape
        self.index = index
        return x[index]

    def vjp(self, grad, out, on=ARRAYS):
        return (on.op(ScatterAdd, grad, index=self.index, shape=self.in_shape),)

    def jvp(self, tangents, out):
        return tangents[0][self.index]


class ScatterAdd(Function):
    """zeros(shape) with x added at index (repeats accumulate);  dx = grad[index]"""

    name = "scatter_add"
    saves_inputs = False

    def forward(self, x, index, shape):
        self.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if _is_basic(index):
            out[index] = x
        elif (isinstance(index, np.ndarray) and index.dtype.kind in "iu"
              and index.ndim == 1 and len(shape) >= 1):
            # NOTE: bincount-style accumulation is far faster than np.add.at for row lookups.
            if len(index) and out.size:
                rows = x.reshape(len(index), -1)
                flat = out.reshape(shape[0], -1)
                # NOTE: wrap negative indices before sorting, so that -1 and n-1 land in one segment.
                wrapped = index % shape[0]
                order = np.argsort(wrapped, kind="stable")
                _add_rows(flat, wrapped[order], rows[order])
        else:
            np.add.at(out, index, x)
        return out

    def vjp(self, grad, out, on=ARRAYS):
        return (on.op(GetItem, grad, index=self.index),)

    def jvp(self, tangents, out):
        return ScatterAdd().forward(tangents[0], self.index, np.shape(out.data))


def _add_rows(flat, sorted_idx, sorted_rows):
    """flat[i] += sum of rows whose index is i, for sorted indices (segment sums)."""
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    flat[sorted_idx[starts]] += np.add.reduceat(sorted_rows, starts, axis=0)


class Concatenate(Function):
    """concatenate(xs, axis);  dx_i = grad sliced at x_i's place"""

    name = "concatenate"
    saves_inputs = False

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        self.ndim = xs[0].ndim
        return np.concatenate(xs, axis=axis)

    def vjp(self, grad, out, on=ARRAYS):
        grads, start = [], 0
        axis = self.axis % self.ndim
        for size, need in zip(self.sizes, self.needs):
            if need:
                index = (slice(None),) * axis + (slice(start, start + size),)
                grads.append(on.op(GetItem, grad, index=index))
            else:
                grads.append(None)
            start += size
        return tuple(grads)

    def jvp(self, tangents, out):
        parts = [np.zeros(t.shape, out.data.dtype) if d is None else d
                 for t, d in zip(self.inputs, tangents)]
        return np.concatenate(parts, axis=self.axis)


class Pad(Function):
    """pad(x, pad_width, value);  dx = grad with the padding cut off"""

    name = "pad"
    saves_inputs = False

    def forward(self, x, pad_width, value=0):
        self.index = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def vjp(self, grad, out, on=ARRAYS):
        return (on.op(GetItem, grad, index=self.index),)

    def jvp(self, tangents, out):
        padded = np.zeros(np.shape(out.data), out.data.dtype)  # the pad value is a constant
        padded[self.index] = tangents[0]
        return padded
