"""`Tensor`: a NumPy array that records the ops applied to it, and their gradients."""
import numbers
import operator

import numpy as np

from . import function
from .function import UNSHARED, unguard
from .grad_mode import state
from .ops import (Abs, Acos, Acosh, Add, Asin, Asinh, Atan, Atanh, Cast, Ceil, Clip, Cos, Cosh,
                  Div, Exp, Expm1, Floor, Log, Log1p, Max, MatMul, Maximum, Min, Minimum, Mul,
                  Neg, Pow, PowScalar, Relu, Reshape, Round, Sigmoid, Sign, Sin, Sinh, Sqrt, Sub,
                  Sum, Tan, Tanh, Transpose, Trunc, BroadcastTo, GetItem, Where)

_FLOAT_KINDS = "f"


def _to_array(data, dtype):
    """NumPy array from numbers, nested lists, arrays or Tensors (Python floats -> float32)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
        if dtype is not None and array.dtype.kind in "biuf":  # never parse strings as numbers
            array = array.astype(dtype, copy=False)
    else:
        try:
            array = np.asarray(data)
            if dtype is not None and array.dtype.kind in "biuf":
                # NOTE: converted from the data again, so an int out of dtype's range raises.
                array = np.asarray(data, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as err:
            raise (ValueError if isinstance(err, OverflowError) else type(err))(
                f"Tensor: cannot make an array from {type(data).__name__} data ({err}); expected "
                "numbers (within the dtype's range) or rectangular nested lists of them") from err
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)  # Python floats become float32, as in PyTorch
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor: cannot hold data of dtype {array.dtype} (from {type(data).__name__}); "
            "use numbers, nested lists of numbers, or numeric NumPy arrays")
    return array


class Tensor:
    """An n-dimensional array that can record the graph of ops applied to it.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_hooks", "_version", "name",
                 "_retains_grad", "_tangent", "_guard", "__weakref__")
    __array_ufunc__ = None  # make `ndarray <op> Tensor` call the Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        array = _to_array(data, None if dtype is None else np.dtype(dtype))
        if array is (data.data if isinstance(data, Tensor) else data) or array.base is not None:
            array = array.copy()  # NOTE: as torch.tensor; from_numpy / as_tensor share instead
        self.data = array
        self.grad = None
        self._requires_grad = False
        self._ctx = None
        self._hooks = None
        self._version = 0
        self.name = name
        self._retains_grad = False
        self._guard = None
        if requires_grad:
            self.requires_grad_(True)

    # ---- attributes ---------------------------------------------------------------------

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """The last two axes swapped (a batch of matrices transposed)."""
        axes = list(range(self.ndim))
        axes[-2], axes[-1] = axes[-1], axes[-2]
        return Transpose.apply(self, axes=tuple(axes))

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op that produced this tensor (`None` for leaves): `.name`, `.inputs`."""
        return self._ctx

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # NOTE: identity hashing (== is elementwise, so Python would drop the default hash); the
    # C slot rather than a Python `return id(self)`: the engine keys its dicts by tensor.
    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.name:
            extra += f", name={self.name!r}"
        return f"tensor({body}{extra})"

    # ---- conversion and grad bookkeeping ---------------------------------------------------

    def numpy(self):
        return np.asarray(self.data)  # a 0-d op result holds a NumPy scalar (Function.apply)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a number, "
                             f"this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data)

    def detach(self):
        """The same data (shared memory), cut from the graph."""
        return _const(self.data)

    def requires_grad_(self, requires_grad=True):
        self.requires_grad = requires_grad
        return self

    def _set_requires_grad(self, requires_grad):
        # NOTE: a property so that `t.requires_grad = True` on an int tensor is refused here,
        # not when a float gradient reaches it; the engine reads the slot _requires_grad.
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(
                f"requires_grad: only floating-point tensors can require grad, got dtype "
                f"{self.data.dtype}; convert first, e.g. Tensor(x, dtype='float32') or x.float()")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad=False on a non-leaf tensor; use .detach()")
        self._requires_grad = bool(requires_grad)

    requires_grad = property(operator.attrgetter("_requires_grad"), _set_requires_grad,
                             doc="Whether ops on this tensor are recorded for backward().")

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned Tensor replaces it.

        Returns a handle whose `.remove()` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`."""
        from .engine import backward

        backward([self], None if gradient is None else [gradient], retain_graph, create_graph)

    # ---- in-place updates (they bump the version counter) ------------------------------------

    def _check_inplace(self, op):
        if state.enabled and self.requires_grad:
            if self._ctx is None:
                raise RuntimeError(
                    f"{op}: in-place change of a leaf tensor that requires grad while grad mode "
                    "is on; wrap it in `with autograd.no_grad():` (as optimizers do)")
            # NOTE: in-place methods are not recorded: the graph would still see the old values.
            raise RuntimeError(
                f"{op}: in-place change of a tensor of shape {self.shape} computed by op "
                f"'{self._ctx.name}' while grad mode is on; it would not be recorded, so the "
                "gradients through it would be wrong. Use an out-of-place op (y = y * 0, "
                "y = y + x), or `with autograd.no_grad():` if the graph must not see the change")
        if self._guard is not None:
            unguard(self)  # a saved leaf: the version bump below is what its graph checks
        if type(self.data) is not np.ndarray:
            self.data = np.array(self.data)  # a 0-d op result holds a NumPy scalar: make it writable

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        self._version += 1
        return self

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data[...] = value
        self._version += 1
        return self

    def copy_(self, other):
        self._check_inplace("copy_")
        src = _data(other)
        try:
            fits = np.broadcast_shapes(np.shape(src), self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"copy_: cannot copy shape {np.shape(src)} into shape {self.shape}; "
                             "the source must broadcast to the destination's shape")
        self.data[...] = src
        self._version += 1
        return self

    def add_(self, other, alpha=1):
        self._check_inplace("add_")
        src = _data(other)
        self.data += src if alpha == 1 else alpha * src
        self._version += 1
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, -alpha)

    def mul_(self, other):
        self._check_inplace("mul_")
        self.data *= _data(other)
        self._version += 1
        return self

    def _inplace(self, other, op, name):
        if state.enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return op(self, other)  # recorded out of place: the name is rebound, nothing aliased
        self._check_inplace(name)
        result = op(_wrap(self.data), other).data
        if np.broadcast_shapes(result.shape, self.shape) != self.shape:
            raise ValueError(f"{name}: result shape {result.shape} does not fit {self.shape}")
        self.data[...] = result
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace(other, Tensor.__add__, "+=")

    def __isub__(self, other):
        return self._inplace(other, Tensor.__sub__, "-=")

    def __imul__(self, other):
        return self._inplace(other, Tensor.__mul__, "*=")

    def __itruediv__(self, other):
        return self._inplace(other, Tensor.__truediv__, "/=")

    # ---- arithmetic operators -------------------------------------------------------------
    # NOTE: `type(other) is Tensor` first: it skips a call to _lift on the common path (a
    # Parameter or a number still goes through _lift, which returns Tensors unchanged). The
    # hot ops' `apply` is bound once below (_add = Add.apply, ...): reading a classmethod
    # makes a new bound method on every call, ~8% of a 0-d op.

    def __add__(self, other):
        return _add(self, other if type(other) is Tensor else _lift(other, self))

    def __radd__(self, other):
        return _add(other if type(other) is Tensor else _lift(other, self), self)

    def __sub__(self, other):
        return _sub(self, other if type(other) is Tensor else _lift(other, self))

    def __rsub__(self, other):
        return _sub(other if type(other) is Tensor else _lift(other, self), self)

    def __mul__(self, other):
        return _mul(self, other if type(other) is Tensor else _lift(other, self))

    def __rmul__(self, other):
        return _mul(other if type(other) is Tensor else _lift(other, self), self)

    def __truediv__(self, other):
        return _div(self, other if type(other) is Tensor else _lift(other, self))

    def __rtruediv__(self, other):
        return _div(other if type(other) is Tensor else _lift(other, self), self)

    def __neg__(self):
        return _neg(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Number) and not isinstance(exponent, bool):
            return PowScalar.apply(self, exponent=exponent)
        return Pow.apply(self, _lift(exponent, self))

    def __rpow__(self, base):
        return Pow.apply(_lift(base, self), self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _lift(other, self).matmul(self)

    # ---- comparisons (never differentiable) -------------------------------------------------

    def __lt__(self, other):
        return _const(self.data < _data(other))

    def __le__(self, other):
        return _const(self.data <= _data(other))

    def __gt__(self, other):
        return _const(self.data > _data(other))

    def __ge__(self, other):
        return _const(self.data >= _data(other))

    def __eq__(self, other):
        return _const(self.data == _data(other))

    def __ne__(self, other):
        return _const(self.data != _data(other))

    # ---- bitwise (bool and integer tensors) and logical (any dtype; never differentiable) ----

    def __invert__(self):
        return composites_math.bitwise_not(self)

    def __and__(self, other):
        return composites_math.bitwise_and(self, other)

    def __rand__(self, other):
        return composites_math.bitwise_and(other, self)

    def __or__(self, other):
        return composites_math.bitwise_or(self, other)

    def __ror__(self, other):
        return composites_math.bitwise_or(other, self)

    def __xor__(self, other):
        return composites_math.bitwise_xor(self, other)

    def __rxor__(self, other):
        return composites_math.bitwise_xor(other, self)

    def logical_and(self, other):
        return composites_math.logical_and(self, other)

    def logical_or(self, other):
        return composites_math.logical_or(self, other)

    def logical_xor(self, other):
        return composites_math.logical_xor(self, other)

    def logical_not(self):
        return composites_math.logical_not(self)

    def any(self, axis=None, keepdims=False):
        return _const(self.data.any(axis=axis, keepdims=keepdims))

    def all(self, axis=None, keepdims=False):
        return _const(self.data.all(axis=axis, keepdims=keepdims))

    # ---- elementwise functions -----------------------------------------------------------

    def exp(self):
        return _exp(self)

    def log(self):
        return _log(self)

    def log1p(self):
        return Log1p.apply(self)

    def sqrt(self):
        return Sqrt.apply(self)

    def abs(self):
        return Abs.apply(self)

    __abs__ = abs  # the builtin abs(x)

    def sin(self):
        return Sin.apply(self)

    def cos(self):
        return Cos.apply(self)

    def tanh(self):
        return _tanh(self)

    def sigmoid(self):
        return _sigmoid(self)

    def relu(self):
        return _relu(self)

    def leaky_relu(self, negative_slope=0.01):
        return composites.leaky_relu(self, negative_slope)

    def elu(self, alpha=1.0):
        return composites.elu(self, alpha)

    def gelu(self, approximate="none"):
        return composites.gelu(self, approximate)

    def softplus(self, beta=1.0, threshold=20.0):
        return composites.softplus(self, beta, threshold)

    def silu(self):
        return composites.silu(self)

    # NOTE: floor, ceil, round, trunc and sign are piecewise constant: gradient 0, as PyTorch.
    def floor(self):
        return Floor.apply(self)

    def ceil(self):
        return Ceil.apply(self)

    def round(self, decimals=0):
        return Round.apply(self, decimals=decimals) if decimals else Round.apply(self)

    def trunc(self):
        return Trunc.apply(self)

    def sign(self):
        return Sign.apply(self)

    def tan(self):
        return Tan.apply(self)

    def asin(self):
        return Asin.apply(self)

    def acos(self):
        return Acos.apply(self)

    def atan(self):
        return Atan.apply(self)

    def atan2(self, other):
        return composites_math.atan2(self, other)

    def sinh(self):
        return Sinh.apply(self)

    def cosh(self):
        return Cosh.apply(self)

    def asinh(self):
        return Asinh.apply(self)

    def acosh(self):
        return Acosh.apply(self)

    def atanh(self):
        return Atanh.apply(self)

    def expm1(self):
        return Expm1.apply(self)

    def exp2(self):
        return composites_math.exp2(self)

    def log2(self):
        return composites_math.log2(self)

    def log10(self):
        return composites_math.log10(self)

    def rsqrt(self):
        return composites_math.rsqrt(self)

    def lerp(self, end, weight):
        return composites_math.lerp(self, end, weight)

    def hypot(self, other):
        return composites_math.hypot(self, other)

    def fmod(self, other):
        return composites_math.fmod(self, other)

    def remainder(self, other):
        return composites_math.remainder(self, other)

    def __mod__(self, other):
        return composites_math.remainder(self, other)

    def __rmod__(self, other):
        return composites_math.remainder(other, self)

    def hardtanh(self, min_val=-1.0, max_val=1.0):
        return composites_math.hardtanh(self, min_val, max_val)

    def relu6(self):
        return composites_math.relu6(self)

    def hardsigmoid(self):
        return composites_math.hardsigmoid(self)

    def hardswish(self):
        return composites_math.hardswish(self)

    def mish(self):
        return composites_math.mish(self)

    def celu(self, alpha=1.0):
        return composites_math.celu(self, alpha)

    def selu(self):
        return composites_math.selu(self)

    def softsign(self):
        return composites_math.softsign(self)

    def logsigmoid(self):
        return composites_math.logsigmoid(self)

    def clip(self, min=None, max=None):  # noqa: A002 -- NumPy's and PyTorch's argument names
        return Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def maximum(self, other):
        return Maximum.apply(self, _lift(other, self))

    def minimum(self, other):
        return Minimum.apply(self, _lift(other, self))

    def where(self, condition, other):
        """`self` where `condition`, else `other` (PyTorch's argument order)."""
        return composites.where(condition, self, other)

    def masked_fill(self, mask, value):
        """`value` where the boolean `mask` is True, `self` elsewhere (PyTorch's masked_fill)."""
        return composites.masked_fill(self, mask, value)

    def tril(self, diagonal=0):
        return composites.tril(self, diagonal)

    def triu(self, diagonal=0):
        return composites.triu(self, diagonal)

    def astype(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":  # rounding to integers or bools has no gradient: cut the graph
            return _const(self.data.astype(dtype))
        return Cast.apply(self, dtype=dtype)

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def long(self):
        return _const(self.data.astype(np.int64))

    # ---- reductions ------------------------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        return Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return composites.mean(self, axis, keepdims)

    # NOTE: ddof=0 (the population variance) by default, as NumPy; PyTorch's default is the
    # unbiased ddof=1. `correction` is accepted as PyTorch's name for ddof.
    def var(self, axis=None, keepdims=False, ddof=0, correction=None):
        return composites.var(self, axis, keepdims, _ddof("var", ddof, correction))

    def std(self, axis=None, keepdims=False, ddof=0, correction=None):
        return composites.std(self, axis, keepdims, _ddof("std", ddof, correction))

    def max(self, axis=None, keepdims=False):
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return Min.apply(self, axis=_axis(axis), keepdims=keepdims)

    def logsumexp(self, axis=None, keepdims=False):
        return composites.logsumexp(self, axis, keepdims)

    def softmax(self, axis=-1):
        return composites.softmax(self, axis)

    def log_softmax(self, axis=-1):
        return composites.log_softmax(self, axis)

    def argmax(self, axis=None, keepdims=False):
        return _const(np.argmax(self.data, axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return _const(np.argmin(self.data, axis=axis, keepdims=keepdims))

    def norm(self, ord=None, axis=None, keepdims=False):
        """The 2-norm of all elements by default (gradient 0 at 0, as PyTorch); `ord` and
        `axis` as numpy.linalg.norm (see autograd.composites_math.norm)."""
        if ord is None and axis is None and not keepdims:
            return composites.norm(self)
        return composites_math.norm(self, ord, axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return composites_math.prod(self, axis, keepdims)

    def cumsum(self, axis=None):
        return composites_math.cumsum(self, axis)

    def cumprod(self, axis=None):
        return composites_math.cumprod(self, axis)

    def argsort(self, axis=-1, descending=False):
        return composites_math.argsort(self, axis, descending)

    def sort(self, axis=-1, descending=False):
        """(values, indices) along axis; values are differentiable."""
        return composites_math.sort(self, axis, descending)

    def topk(self, k, axis=-1, largest=True, sorted=True):  # noqa: A002 -- PyTorch's name
        return composites_math.topk(self, k, axis, largest, sorted)

    # ---- shape and movement ------------------------------------------------------------

    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.data.shape:
            return self
        return Reshape.apply(self, shape=shape)

    view = reshape

    def transpose(self, *axes):
        axes = _shape_arg(axes)
        if not axes:
            axes = tuple(range(self.ndim))[::-1]
        elif len(axes) == 2 and self.ndim >= 2:
            # PyTorch's transpose(dim0, dim1): swap two axes. On a matrix this also makes
            # NumPy's transpose(1, 0) a swap; NumPy's identity transpose(0, 1) is not kept.
            a0, a1 = (_check_axis("transpose", a, self.ndim) for a in axes)
            swap = list(range(self.ndim))
            swap[a0], swap[a1] = swap[a1], swap[a0]
            axes = tuple(swap)
        elif len(axes) != self.ndim:
            raise ValueError(f"transpose: expected {self.ndim} axes (or 2 to swap) for a tensor "
                             f"of shape {self.shape}, got {axes}")
        return Transpose.apply(self, axes=tuple(_check_axis("transpose", a, self.ndim)
                                                for a in axes))

    def permute(self, *axes):
        axes = _shape_arg(axes)
        if len(axes) != self.ndim:
            raise ValueError(f"permute: expected {self.ndim} axes for a tensor of shape "
                             f"{self.shape}, got {len(axes)}: {axes}")
        return Transpose.apply(self, axes=tuple(_check_axis("permute", a, self.ndim) for a in axes))

    def swapaxes(self, axis1, axis2):
        axis1, axis2 = (_check_axis("swapaxes", a, self.ndim) for a in (axis1, axis2))
        swap = list(range(self.ndim))
        swap[axis1], swap[axis2] = swap[axis2], swap[axis1]
        return Transpose.apply(self, axes=tuple(swap))

    def squeeze(self, axis=None):
        if axis is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:
            axes = {_check_axis("squeeze", a, max(self.ndim, 1))
                    for a in (axis if isinstance(axis, tuple) else (axis,))}
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self.reshape(shape)

    def unsqueeze(self, axis):
        axis = _check_axis("unsqueeze", axis, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        shape = _shape_arg(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape}, which has "
                             "fewer axes; new axes can only be added in front")
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        if shape == self.shape:
            return self
        return BroadcastTo.apply(self, shape=shape)

    broadcast_to = expand

    def flatten(self, start_axis=0, end_axis=-1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (_check_axis("flatten", a, self.ndim) for a in (start_axis, end_axis))
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        if self.size == 0:
            shape = self.shape[:start] + (int(np.prod(self.shape[start:end + 1])),) + self.shape[end + 1:]
        return self.reshape(shape)

    def unflatten(self, axis, sizes):
        return composites_movement.unflatten(self, axis, sizes)

    def flip(self, axis=None):
        return composites_movement.flip(self, axis)

    def roll(self, shifts, axis=None):
        return composites_movement.roll(self, shifts, axis)

    def repeat(self, *sizes):
        """PyTorch's repeat (numpy.tile); NumPy's repeat is repeat_interleave."""
        return composites_movement.repeat(self, *sizes)

    def tile(self, reps):
        return composites_movement.tile(self, reps)

    def repeat_interleave(self, repeats, axis=None):
        return composites_movement.repeat_interleave(self, repeats, axis)

    def gather(self, axis, index):
        return composites_movement.gather(self, axis, index)

    def take_along_axis(self, indices, axis):
        return composites_movement.take_along_axis(self, indices, axis)

    def scatter(self, axis, index, src):
        return composites_movement.scatter(self, axis, index, src)

    def scatter_add(self, axis, index, src):
        return composites_movement.scatter_add(self, axis, index, src)

    def index_select(self, axis, index):
        return composites_movement.index_select(self, axis, index)

    def masked_select(self, mask):
        return composites_movement.masked_select(self, mask)

    def pad(self, pad_width, mode="constant", value=0.0):
        """numpy.pad's pad_width; mode 'constant', 'reflect', 'replicate' or 'circular'."""
        return composites_movement.pad_modes(self, pad_width, mode, value)

    def chunk(self, chunks, axis=0):
        return composites_movement.chunk(self, chunks, axis)

    def split(self, split_size_or_sections, axis=0):
        """PyTorch's split (by piece size or sizes); autograd.split is numpy.split's."""
        return composites_movement.split_sizes(self, split_size_or_sections, axis)

    def __getitem__(self, index):
        return GetItem.apply(self, index=_index(index))

    def matmul(self, other):
        return composites.matmul(self, other)

    dot = matmul


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_add, _sub, _mul, _div, _neg = Add.apply, Sub.apply, Mul.apply, Div.apply, Neg.apply
_exp, _log, _tanh, _sigmoid, _relu = Exp.apply, Log.apply, Tanh.apply, Sigmoid.apply, Relu.apply


def _data(x):
    return x.data if isinstance(x, Tensor) else x


_NUMBERS = {}  # (Python number, float dtype) -> its NumPy scalar, for numbers lifted by _lift


def _lift(x, like):
    """A Tensor from an operand: a Python number takes `like`'s dtype when `like` is float;
    with an integer or bool tensor, an int takes its int dtype and a float gives float64
    (NumPy 2's rule for Python scalars; see docs/dtypes.md)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        dtype = like.data.dtype
        kind = dtype.kind
        if kind == "f":
            # NOTE: a NumPy scalar (what a 0-d op result holds), made once per number: no 0-d
            # array to make here and none for apply to convert, ~300 ns an op less (h * 2.0).
            # Zeros are not cached: 0.0 == -0.0 as keys, and the sign of a zero matters.
            key = (x, dtype)
            value = _NUMBERS.get(key) if x else None
            if value is None:
                value = dtype.type(x)
                if x and len(_NUMBERS) < 4096:
                    _NUMBERS[key] = value
            t = _wrap(value)
        elif isinstance(x, float):
            t = _wrap(np.array(x, dtype=np.float64))
        else:
            t = _wrap(np.array(x, dtype=like.data.dtype if kind in "iu" else np.int64))
        t._guard = UNSHARED  # its array is ours alone: no in-place guard needed
        return t
    return as_tensor(x)  # an operand is only read: no copy


def from_numpy(array, requires_grad=False):
    """A Tensor that shares `array`'s memory, as torch.from_numpy: a change through either one
    shows in the other (Tensor(array) copies instead). No copy is made; the array must be
    numeric or boolean.

    >>> a = np.zeros(2)
    >>> t = from_numpy(a)
    >>> t.add_(1)
    tensor([1., 1.], dtype=float64)
    >>> a
    array([1., 1.])
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}; "
                        "Tensor(data) takes numbers and nested lists (and copies)")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: cannot hold data of dtype {array.dtype}; use a numeric "
                        "or boolean array")
    t = _wrap(array)
    if requires_grad:
        t.requires_grad = True
    return t


def as_tensor(data, dtype=None):
    """A Tensor sharing `data`'s memory when it is a NumPy array (or a Tensor) of the dtype
    asked, converting otherwise, as torch.as_tensor. For arrays the caller owns and hands
    over (batches, masks): no copy.

    >>> a = np.ones(2, np.float32)
    >>> as_tensor(a).data is a
    True
    """
    return _wrap(_to_array(data, None if dtype is None else np.dtype(dtype)))


def _const(x):
    """A constant Tensor around a result just computed (a NumPy scalar becomes a 0-d array)."""
    return _wrap(x if type(x) is np.ndarray else np.asarray(x))


def _wrap(array):
    """A constant Tensor around an array made just now (Tensor() without its checks)."""
    t = Tensor.__new__(Tensor)
    t.data = array
    t.grad = None
    t._requires_grad = False
    t._ctx = None
    t._hooks = None
    t._version = 0
    t.name = None
    t._retains_grad = False
    t._guard = None
    return t


def _ddof(op, ddof, correction):
    """ddof from NumPy's name or PyTorch's (`correction`); both only if they agree."""
    if correction is None:
        return ddof
    if ddof not in (0, correction):
        raise ValueError(f"{op}: ddof={ddof} and correction={correction} disagree; they are two "
                         "names for the same number, give one")
    return correction


def _axis(axis):
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _check_axis(op, axis, ndim):
    """`axis` in range(ndim), counting negative axes from the end; IndexError otherwise."""
    if not -ndim <= axis < ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for {ndim} axes "
                         f"(expected {-ndim} <= axis < {ndim})")
    return axis % ndim


def _shape_arg(shape):
    """Accept f(2, 3) and f((2, 3)) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(int(n) for n in shape)


def _index(index):
    """Turn Tensors and lists inside an index into NumPy arrays."""
    if isinstance(index, tuple):
        return tuple(_index_part(p) for p in index)
    return _index_part(index)


def _index_part(p):
    if isinstance(p, Tensor):
        if p.data.dtype.kind not in "biu":
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, "
                             f"got {p.data.dtype}")
        return p.data
    if isinstance(p, list):
        return np.asarray(p)
    return p


function.Tensor = Tensor
from . import composites, composites_math, composites_movement  # noqa: E402  (composites use Tensor)
