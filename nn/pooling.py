"""Pooling layers: MaxPool1d/2d, MaxUnpool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d."""
import autograd  # noqa: F401  (used by the docstring example)

from . import functional_conv as F
from .module import Module


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """max over windows of (N, C, L); stride defaults to kernel_size.

    With return_indices=True, forward returns (output, indices): int64 indices into L of
    each maximum, the output's shape (for MaxUnpool1d).
    """

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """max over windows of (N, C, H, W); stride defaults to kernel_size.

    With return_indices=True, forward returns (output, indices): int64 flat indices
    h * W + w of each maximum in its (H, W) plane, the output's shape (for MaxUnpool2d).

    >>> pool = MaxPool2d(2)
    >>> x = autograd.Tensor([[[[1., 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]]])
    >>> pool(x).tolist()
    [[[[6.0, 8.0], [3.0, 4.0]]]]
    >>> MaxPool2d(2, return_indices=True)(x)[1].tolist()
    [[[[5, 7], [8, 15]]]]
    """

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class _MaxUnpoolNd(Module):
    _nd = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        fn = type(self).__name__
        self.kernel_size = F._tuple(kernel_size, self._nd, "kernel_size", fn)
        self.stride = (self.kernel_size if stride is None else
                       F._tuple(stride, self._nd, "stride", fn))
        self.padding = F._tuple(padding, self._nd, "padding", fn)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of MaxPool1d: forward(x, indices, output_size=None) puts each
    value of x at its index into zeros of length output_size (by default
    (L - 1) * stride - 2 * padding + kernel_size); gradients flow to x."""

    _nd = 1

    def forward(self, x, indices, output_size=None):
        return F.max_unpool1d(x, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of MaxPool2d: forward(x, indices, output_size=None) puts each
    value of x at its flat index into zero planes of output_size (by default
    (H - 1) * stride - 2 * padding + kernel_size, and so for W); gradients flow to x.

    >>> pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
    >>> x = autograd.Tensor([[[[1., 9, 2, 3], [4, 5, 8, 6]]]])
    >>> unpool(*pool(x)).tolist()
    [[[[0.0, 9.0, 0.0, 0.0], [0.0, 0.0, 8.0, 0.0]]]]
    """

    _nd = 2

    def forward(self, x, indices, output_size=None):
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class AvgPool1d(Module):
    """mean over windows of (N, C, L); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """mean over windows of (N, C, H, W); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """mean over output_size windows covering (N, C, L) as evenly as possible."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(Module):
    """mean over output_size windows covering (N, C, H, W) as evenly as possible.

    >>> AdaptiveAvgPool2d((1, 1))(autograd.ones(2, 3, 5, 7)).shape
    (2, 3, 1, 1)
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
