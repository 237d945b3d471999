"""chainrule's neural-network library, built on the `autograd` engine."""
from .containers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter
from . import functional, init  # noqa: E402  (nn.functional, nn.init)
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .activation import (CELU, SELU, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, ReLU6,
                         Softsign)
from .dropout import Dropout
from .embedding import Embedding
from .linear import Bilinear, Flatten, Identity, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeEmbeddingLoss, HuberLoss,
                   L1Loss, MSELoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, RMSNorm
from .serialization import load, save
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .resample import Fold, PixelShuffle, PixelUnshuffle, Unfold, Upsample
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                      MaxPool2d, MaxUnpool1d, MaxUnpool2d)
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from . import data, metrics, optim, utils  # noqa: E402  (nn.data, nn.metrics, nn.optim, nn.utils)
from . import interop, onnx  # noqa: E402  (nn.interop: PyTorch both ways; nn.onnx.export)
