"""What the explorer page shows of one tensor's numbers: all of them when few, else statistics.

A drawn tensor may be a live Tensor or, once backward() released the graph, a light summary
whose `data` is None for large tensors and whose `grad` is an array (a Tensor's `.grad` is a
Tensor): the readers here accept all of these.
"""
import numpy as np

from autograd.kept_grads import kept_grad

FULL = 64  # tensors with at most this many elements are shown in full
BINS = 16  # histogram bins for larger ones


def read_data(t):
    """The tensor's numbers as an array, or None where a released graph no longer holds them."""
    data = getattr(t, "data", None)
    return None if data is None else np.asarray(data)


def read_grad(t):
    """dL/dt as an array, or None: `.grad` (a Tensor or an array), else the gradient a released
    or retained graph left for a small output of an op (autograd.kept_grads)."""
    g = getattr(t, "grad", None)
    if g is None:
        g = kept_grad(getattr(t, "grad_fn", None))
    if g is None:
        return None
    return np.asarray(getattr(g, "data", g))


def describe(array):
    """A JSON-ready view of an array: {"full": text} when small, else {"stats", "hist"};
    None stays None (no gradient), and "released" marks numbers the graph let go of."""
    if array is None:
        return None
    array = np.asarray(array)
    if array.size <= FULL:
        return {"full": _text(array)}
    flat = array.reshape(-1).astype(np.float64)
    finite = flat[np.isfinite(flat)]
    view = {"size": int(array.size), "nan": int(np.isnan(flat).sum()),
            "inf": int(np.isinf(flat).sum())}
    if finite.size:
        view["stats"] = {"min": float(finite.min()), "max": float(finite.max()),
                         "mean": float(finite.mean()), "std": float(finite.std()),
                         "absmax": float(np.abs(finite).max())}
        counts, edges = np.histogram(finite, bins=BINS)
        view["hist"] = {"counts": counts.tolist(), "lo": float(edges[0]), "hi": float(edges[-1])}
    return view


RELEASED = {"released": True}


def _text(array):
    """Every number, 4 significant digits, in nested brackets (NumPy's layout)."""
    if array.dtype.kind not in "fc":
        return np.array2string(array, separator=", ", max_line_width=72)
    return np.array2string(array, separator=", ", max_line_width=72,
                           formatter={"float_kind": lambda v: f"{v:.4g}"})
