"""The primitive ops: each a `Function` with its forward, vector-Jacobian (vjp) and Jacobian-vector (jvp) rules side by side."""
from .elementwise import (Abs, Add, Cast, Clip, Cos, Div, Erf, Exp, Log, Log1p, Maximum,
                          Minimum, Mul, Neg, Pow, PowScalar, Relu, Sigmoid, Sin, Sqrt, Sub,
                          Tanh, Where)
from .einsum import Einsum
from .rounding import Ceil, Floor, Round, Sign, Trunc
from .scan import CumProd, CumSum
from .transcendental import (Acos, Acosh, Asin, Asinh, Atan, Atan2, Atanh, Cosh, Expm1, Sinh,
                             Tan)
from .attention import MaskedSoftmax, ScaledDotProductAttention
from .transformer import Gelu, LayerNorm
from .conv import Fold, MaxPool, Unfold, WindowGather, WindowScatter
from .fused import CrossEntropy, Linear
from .linalg import MatMul
from .movement import Concatenate, GetItem, Pad, Reshape, ScatterAdd, Transpose
from .reduce import BroadcastTo, Max, Min, Sum, SumTo
from .rnn import GRULayer, LSTMLayer, RNNLayer

PRIMITIVES = (
    Add, Sub, Mul, Div, Neg, Pow, PowScalar, Exp, Log, Log1p, Sqrt, Abs, Sin, Cos, Tanh,
    Sigmoid, Relu, Erf, Maximum, Minimum, Where, Clip, Cast,
    Sum, Max, Min, SumTo,
    Reshape, Transpose, BroadcastTo, GetItem, ScatterAdd, Concatenate, Pad,
    MatMul,
    Unfold, Fold, MaxPool, WindowGather, WindowScatter,
    RNNLayer, LSTMLayer, GRULayer,
    Linear, CrossEntropy,
    # tensor API breadth: trigonometric/hyperbolic, rounding, scans, einsum
    Tan, Asin, Acos, Atan, Atan2, Sinh, Cosh, Asinh, Acosh, Atanh, Expm1,
    Floor, Ceil, Round, Trunc, Sign,
    CumSum, CumProd, Einsum,
    MaskedSoftmax, ScaledDotProductAttention, Gelu, LayerNorm,
)

# Ops whose inputs all broadcast to the output's shape (none is larger than the output): a
# small output means small inputs, which backward()'s release reads (Function.elementwise;
# tests/test_gradcheck_primitives.py checks the claim on every gradcheck case).
ELEMENTWISE = (
    Add, Sub, Mul, Div, Neg, Pow, PowScalar, Exp, Log, Log1p, Sqrt, Abs, Sin, Cos, Tanh,
    Sigmoid, Relu, Erf, Maximum, Minimum, Where, Clip, Cast,
    Tan, Asin, Acos, Atan, Atan2, Sinh, Cosh, Asinh, Acosh, Atanh, Expm1,
    Floor, Ceil, Round, Trunc, Sign, Gelu,
)
for _op in ELEMENTWISE:
    _op.elementwise = True
