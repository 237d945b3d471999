"""The primitive ops: each a `Function` with its forward and its vector-Jacobian rule side by side."""
from .elementwise import (Abs, Add, Cast, Clip, Cos, Div, Erf, Exp, Log, Log1p, Maximum,
                          Minimum, Mul, Neg, Pow, PowScalar, Relu, Sigmoid, Sin, Sqrt, Sub,
                          Tanh, Where)
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
    MaskedSoftmax, ScaledDotProductAttention, Gelu, LayerNorm,
)
