"""Convolution layers: Conv1d, Conv2d (thin wrappers over nn.functional.conv1d/conv2d)."""

import numpy as np

import autograd  # noqa: F401  (used by the docstring example)

from . import functional_conv as F
from . import init
from .module import Module
from .parameter import Parameter


class _ConvNd(Module):
    _nd = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        if isinstance(padding, str) and padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', "
                             f"got {padding!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._tuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._tuple(stride, nd, "stride", name)
        self.padding = (padding if isinstance(padding, str)
                        else F._tuple(padding, nd, "padding", name))
        self.dilation = F._tuple(dilation, nd, "dilation", name)
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride={self.stride})")
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or np.float32)
        self.weight = Parameter(np.zeros((out_channels, in_channels // groups) + self.kernel_size,
                                         dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias likewise."""
        init._linear_default_(self.weight, self.bias)

    def forward(self, x):
        return F._conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                       self.groups, self._nd, type(self).__name__.lower(), self.padding_mode,
                       layer=self)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out); weight (C_out, C_in/groups, k).

    >>> conv = Conv1d(3, 5, kernel_size=3, padding=1)
    >>> conv(autograd.zeros(2, 3, 10)).shape
    (2, 5, 10)
    """

    _nd = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out);
    weight (C_out, C_in/groups, kh, kw), bias (C_out,).

    >>> conv = Conv2d(3, 96, kernel_size=11, stride=4)
    >>> conv(autograd.zeros(1, 3, 227, 227)).shape
    (1, 96, 55, 55)
    """

    _nd = 2


class _ConvTransposeNd(Module):
    _nd = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        nd = self._nd
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as PyTorch), "
                             f"got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._tuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._tuple(stride, nd, "stride", name)
        self.padding = F._tuple(padding, nd, "padding", name)
        self.output_padding = F._tuple(output_padding, nd, "output_padding", name)
        self.dilation = F._tuple(dilation, nd, "dilation", name)
        if any(e >= s and e >= d for e, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller than "
                             f"either the stride {self.stride} or the dilation {self.dilation}")
        self.groups = groups
        self.padding_mode = padding_mode
        dtype = np.dtype(dtype or np.float32)
        # NOTE: (in, out/groups, *k), PyTorch's layout for the transposed convolution.
        self.weight = Parameter(np.zeros((in_channels, out_channels // groups) + self.kernel_size,
                                         dtype=dtype))
        if bias:
            self.bias = Parameter(np.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: U(+-1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(k)."""
        init._linear_default_(self.weight, self.bias)

    def forward(self, x):
        return F._conv_transpose(x, self.weight, self.bias, self.stride, self.padding,
                                 self.output_padding, self.groups, self.dilation, self._nd,
                                 type(self).__name__.lower(), layer=self)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (N, C_in, L) -> (N, C_out, L_out); weight (C_in, C_out/groups, k).

    >>> up = ConvTranspose1d(4, 2, kernel_size=4, stride=2, padding=1)
    >>> up(autograd.zeros(1, 4, 8)).shape
    (1, 2, 16)
    """

    _nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (N, C_in, H, W) -> (N, C_out, H_out, W_out);
    weight (C_in, C_out/groups, kh, kw), H_out = (H - 1) stride - 2 padding + dilation (kh - 1)
    + output_padding + 1.

    >>> up = ConvTranspose2d(8, 3, kernel_size=3, stride=2, padding=1, output_padding=1)
    >>> up(autograd.zeros(1, 8, 5, 5)).shape
    (1, 3, 10, 10)
    """

    _nd = 2
