"""Recurrent layers: RNN, LSTM, GRU (multi-layer, bidirectional) and RNNCell, LSTMCell, GRUCell.

Parameter names, shapes, gate order and initialisation are PyTorch's, so a converted
PyTorch state dict loads as is.
"""
import math
import warnings

import numpy as np

import autograd  # noqa: F401  (used by the docstring examples)
from autograd import Tensor, as_tensor
from autograd.composites import concatenate, stack

from . import functional_rnn as R
from . import init
from .functional import dropout as _dropout
from .module import Module
from .parameter import Parameter


def _uniform_init(module):
    """PyTorch's default for every recurrent weight and bias: U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    bound = 1.0 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (mode 'RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU')."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between layers, so it does nothing "
                          "with num_layers=1", stacklevel=2)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gates = R.GATES[mode] * hidden_size
        dtype = np.dtype(dtype or np.float32)
        names = []
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {"weight_ih": (gates, size), "weight_hh": (gates, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for kind, shape in shapes.items():
                    key = f"{kind}_l{layer}{suffix}"
                    setattr(self, key, Parameter(np.zeros(shape, dtype=dtype)))
                    names.append(key)
        self._flat_weights_names = names
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self)

    def _layer_params(self, layer, suffix):
        get = self._parameters.get
        return (get(f"weight_ih_l{layer}{suffix}"), get(f"weight_hh_l{layer}{suffix}"),
                get(f"bias_ih_l{layer}{suffix}"), get(f"bias_hh_l{layer}{suffix}"))

    def _check_state(self, state, expected, what, batched):
        state = state if isinstance(state, Tensor) else Tensor(state)
        shape = expected if batched else (expected[0], expected[2])
        if state.shape != shape:
            raise ValueError(
                f"{self!r}: expected {what} of shape {shape} (num_layers * num_directions, "
                f"{'batch, ' if batched else ''}hidden_size), got {state.shape}")
        return state if batched else state.unsqueeze(1)

    def forward(self, input, hx=None):  # noqa: A002 -- PyTorch's argument name
        x = input if isinstance(input, Tensor) else Tensor(input)
        if x.ndim not in (2, 3):
            layout = "(batch, seq, input_size)" if self.batch_first else "(seq, batch, input_size)"
            raise ValueError(f"{self!r}: expected a 3-D input {layout} or a 2-D unbatched input "
                             f"(seq, input_size), got shape {x.shape}")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self!r}: expected input with input_size={self.input_size} "
                             f"features on the last axis, got input of shape {input.shape}")
        steps, batch = x.shape[:2]
        if steps == 0:
            raise ValueError(f"{self!r}: the input sequence is empty (shape {input.shape}); "
                             "expected at least one time step")
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, batch, self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            zeros = as_tensor(np.zeros(expected, dtype=x.dtype))
            h0, c0 = zeros, zeros
        elif lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise ValueError(f"{self!r}: the initial state must be a tuple (h_0, c_0), "
                                 f"got {type(hx).__name__}")
            h0 = self._check_state(hx[0], expected, "h_0", batched)
            c0 = self._check_state(hx[1], expected, "c_0", batched)
        else:
            h0 = self._check_state(hx, expected, "h_0", batched)
            c0 = None
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                k = layer * directions + d
                result = R.recurrent_layer(self.mode, x, h0[k], *self._layer_params(layer, suffix),
                                           c0=c0[k] if lstm else None, reverse=d == 1)
                outs.append(result[0])
                h_n.append(result[1])
                if lstm:
                    c_n.append(result[2])
            x = outs[0] if directions == 1 else concatenate(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, training=True)
        h_n = stack(h_n)
        c_n = stack(c_n) if lstm else None
        if not batched:
            x, h_n = x.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        return (x, (h_n, c_n)) if lstm else (x, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    >>> rnn = RNN(10, 20, num_layers=2)
    >>> out, h_n = rnn(autograd.zeros(5, 3, 10))
    >>> out.shape, h_n.shape
    ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM: gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t). Returns
    (output, (h_n, c_n)).

    >>> lstm = LSTM(65, 128)
    >>> out, (h_n, c_n) = lstm(autograd.zeros(50, 32, 65))
    >>> out.shape, h_n.shape, c_n.shape
    ((50, 32, 128), (1, 32, 128), (1, 32, 128))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """GRU: r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n + z h.

    >>> out, h_n = GRU(4, 6, batch_first=True)(autograd.zeros(2, 7, 4))
    >>> out.shape, h_n.shape
    ((2, 7, 6), (1, 2, 6))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    def __init__(self, input_size, hidden_size, bias, gates, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = np.dtype(dtype or np.float32)
        self.weight_ih = Parameter(np.zeros((gates * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.zeros((gates * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.zeros(gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(np.zeros(gates * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self)

    def _check_input(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{self!r}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {x.shape}")
        return x

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu); h defaults to zeros."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x = self._check_input(input)
        cell = R.rnn_tanh_cell if self.nonlinearity == "tanh" else R.rnn_relu_cell
        return cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(RNNCellBase):
    """(h', c') = LSTM step from (h, c) (zeros if not given); gates i, f, g, o.

    >>> h, c = LSTMCell(3, 4)(autograd.zeros(2, 3))
    >>> h.shape, c.shape
    ((2, 4), (2, 4))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x = self._check_input(input)
        return R.lstm_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class GRUCell(RNNCellBase):
    """h' = GRU step from h (zeros if not given); gates r, z, n."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x = self._check_input(input)
        return R.gru_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
