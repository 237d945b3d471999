"""chainrule's autograd: Tensors that record their ops, and the reverse-mode engine.

Note: HIPS autograd also installs a package named `autograd`; chainrule's is a different
package with the same import name, so an environment can hold only one of the two.
"""
from . import allocator  # noqa: F401  (keeps freed heap for the next step; see allocator.py)
from .anomaly import detect_anomaly
from .creation import (arange, default_rng, empty, empty_like, eye, full, full_like, linspace,
                       manual_seed, multinomial, ones, ones_like, rand, randint, randn, tensor,
                       zeros, zeros_like)
from .engine import backward, grad
from .function import Function, set_inplace_guard
from .checkpointing import checkpoint
from .composites import (cat, concatenate, elu, gelu, leaky_relu, log_softmax, logsumexp,
                         masked_fill, matmul, maximum, minimum, pad, silu, softmax, softplus,
                         split, stack, tril, triu, where)
from .composites_math import (acos, acosh, argsort, asin, asinh, atan, atan2, atanh, ceil, celu,
                              cosh, cumprod, cumsum, einsum, exp2, expm1, floor, fmod, hardsigmoid,
                              hardswish, hardtanh, hypot, lerp, log2, log10, logical_and,
                              logical_not, logical_or, logical_xor, logsigmoid, mish, norm, prod,
                              relu6, remainder, round, rsqrt, selu, sign, sinh, softsign, sort,
                              tan, topk, trunc)
from .composites_movement import (chunk, flip, gather, index_select, masked_select, meshgrid,
                                  repeat, repeat_interleave, roll, scatter, scatter_add, take_along_axis,
                                  tile, unflatten)
from .tensor_functions import (abs, all, any, argmax, argmin, broadcast_to, clamp, clip, cos,
                               dot, exp, flatten, log, log1p, max, mean, min, permute, relu,
                               reshape, sigmoid, sin, sqrt, squeeze, std, sum, swapaxes, tanh,
                               transpose, unsqueeze, var)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from .tensor import Tensor, as_tensor, from_numpy
from . import forward_ad  # noqa: E402  (autograd.forward_ad: dual_level, make_dual, unpack_dual)

__version__ = "0.1.0"
IS_CHAINRULE = True  # tells this package apart from HIPS autograd, which shares the name

__all__ = [
    "Tensor", "from_numpy", "as_tensor", "Function", "backward", "grad", "checkpoint", "gradcheck", "numerical_grad", "GradcheckError",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "set_inplace_guard",
    "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange", "tensor",
    "manual_seed", "default_rng",
    "concatenate", "cat", "stack", "split", "pad", "where", "maximum", "minimum", "matmul",
    "softmax", "log_softmax", "logsumexp", "leaky_relu", "elu", "gelu", "softplus",
    # tensor API breadth (autograd.round, abs, all, any, max, min and sum exist too, but are
    # left out of `import *`: they would shadow the builtins)
    "full_like", "empty", "empty_like", "eye", "linspace", "randint", "multinomial",
    "floor", "ceil", "trunc", "sign", "tan", "asin", "acos", "atan", "atan2", "sinh",
    "cosh", "asinh", "acosh", "atanh", "expm1", "exp2", "log2", "log10", "rsqrt", "lerp",
    "hypot", "fmod", "remainder", "logical_and", "logical_or", "logical_xor", "logical_not",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "celu", "selu", "softsign",
    "logsigmoid", "cumsum", "cumprod", "prod", "norm", "argsort", "sort", "topk", "einsum",
    "flip", "roll", "tile", "repeat_interleave", "gather", "scatter", "scatter_add",
    "index_select", "masked_select", "take_along_axis", "unflatten", "chunk", "meshgrid",
    "repeat", "tril", "triu", "masked_fill", "silu",
    # the other Tensor methods as functions
    "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "clip", "clamp",
    "dot", "mean", "var", "std", "argmax", "argmin", "reshape", "transpose", "permute",
    "swapaxes", "squeeze", "unsqueeze", "broadcast_to", "flatten",
]
