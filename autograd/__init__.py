"""chainrule's autograd: Tensors that record their ops, and the reverse-mode engine.

Note: HIPS autograd also installs a package named `autograd`; chainrule's is a different
package with the same import name, so an environment can hold only one of the two.
"""
from . import allocator  # noqa: F401  (keeps freed heap for the next step; see allocator.py)
from .anomaly import detect_anomaly
from .creation import (arange, default_rng, full, manual_seed, ones, ones_like, rand, randn,
                       tensor, zeros, zeros_like)
from .engine import backward, grad
from .function import Function, set_inplace_guard
from .functional import (cat, concatenate, elu, gelu, leaky_relu, log_softmax, logsumexp,
                         matmul, maximum, minimum, pad, softmax, softplus, split, stack, where)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from .tensor import Tensor, as_tensor, from_numpy

__version__ = "0.1.0"
IS_CHAINRULE = True  # tells this package apart from HIPS autograd, which shares the name

__all__ = [
    "Tensor", "from_numpy", "as_tensor", "Function", "backward", "grad", "gradcheck", "numerical_grad", "GradcheckError",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "set_inplace_guard",
    "zeros", "ones", "full", "zeros_like", "ones_like", "randn", "rand", "arange", "tensor",
    "manual_seed", "default_rng",
    "concatenate", "cat", "stack", "split", "pad", "where", "maximum", "minimum", "matmul",
    "softmax", "log_softmax", "logsumexp", "leaky_relu", "elu", "gelu", "softplus",
]
