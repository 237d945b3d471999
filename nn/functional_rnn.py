"""Functional recurrent cells and layers: RNN (tanh/relu), LSTM, GRU, in PyTorch's gate order.

The input projection x W_ih^T + b of every time step is ONE matmul; the sequential part
runs in the fused recurrence ops of autograd.ops.rnn (a cell is a one-step sequence).
Weights: W_ih (gates * hidden, input), W_hh (gates * hidden, hidden); LSTM gates i, f, g, o;
GRU gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).

>>> import numpy as np, autograd
>>> x, h = autograd.ones(2, 3), autograd.zeros(2, 4)
>>> w_ih, w_hh = autograd.ones(16, 3) * 0.1, autograd.ones(16, 4) * 0.1
>>> h1, c1 = lstm_cell(x, (h, h), w_ih, w_hh)
>>> h1.shape, c1.shape
((2, 4), (2, 4))
"""
import numpy as np

from autograd import Tensor, as_tensor
from autograd.ops import Linear
from autograd.ops.rnn import GRULayer, LSTMLayer, RNNLayer

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "recurrent_layer"]

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _input_projection(x, w_ih, bias):
    """(T, B, I) -> (T, B, G): x W_ih^T + bias for every step in one matmul."""
    # NOTE: the fused Linear (one GEMM over the T * B rows, the bias added in place, W_ih's
    # gradient in its own layout) rather than transpose, matmul and add: three nodes and a
    # (T, B, G) temporary fewer (benchmarks/README.md, "Issue 16: second round").
    return Linear.apply(x, w_ih) if bias is None else Linear.apply(x, w_ih, bias)


def recurrent_layer(mode, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, c0=None, reverse=False):
    """One layer, one direction, over a whole sequence x (T, B, I) from state h0 (B, H).

    mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'. Returns (outputs (T, B, H), h_n) and,
    for LSTM, (outputs, h_n, c_n). `reverse` runs from the last step to the first; the
    outputs stay in input order, and h_n is the state after the whole (reversed) pass.
    """
    if mode not in GATES:
        raise ValueError(f"recurrent_layer: mode must be one of {tuple(GATES)}, got {mode!r}")
    hidden = w_hh.shape[1]
    if mode == "GRU":
        bias = b_ih  # b_hh sits inside r * (W_hn h + b_hn): the recurrence adds it itself
    elif b_ih is None or b_hh is None:
        bias = b_ih if b_hh is None else b_hh
    else:
        bias = b_ih + b_hh
    xproj = _input_projection(x, w_ih, bias)
    if reverse:
        xproj = xproj[::-1]
    c_n = None
    if mode == "LSTM":
        both = LSTMLayer.apply(xproj, w_hh, h0, c0)             # (T, B, 2H): [h_t, c_t]
        out, h_n, c_n = both[:, :, :hidden], both[-1, :, :hidden], both[-1, :, hidden:]
    elif mode == "GRU":
        if b_hh is None:
            b_hh = as_tensor(np.zeros(w_hh.shape[0], dtype=xproj.dtype))
        out = GRULayer.apply(xproj, w_hh, b_hh, h0)
        h_n = out[-1]
    else:
        out = RNNLayer.apply(xproj, w_hh, h0, nonlinearity=mode[4:].lower())
        h_n = out[-1]
    if reverse:
        out = out[::-1]
    return (out, h_n) if mode != "LSTM" else (out, h_n, c_n)


def _cell(mode, x, hx, w_ih, w_hh, b_ih, b_hh, c=None):
    """A cell is a one-step layer: (B, I) or unbatched (I,) input."""
    x = _tensor(x)
    if x.ndim not in (1, 2) or x.shape[-1] != w_ih.shape[1]:
        raise ValueError(f"{mode.lower()}_cell: expected input of shape (batch, {w_ih.shape[1]}) "
                         f"or ({w_ih.shape[1]},), got {x.shape}")
    unbatched = x.ndim == 1
    if unbatched:
        x = x.unsqueeze(0)
    states = []
    for s in (hx, c) if mode == "LSTM" else (hx,):
        s = as_tensor(np.zeros((x.shape[0], w_hh.shape[1]), x.dtype)) if s is None else _tensor(s)
        s = s.unsqueeze(0) if unbatched and s.ndim == 1 else s
        if s.shape != (x.shape[0], w_hh.shape[1]):
            raise ValueError(f"{mode.lower()}_cell: expected hidden state of shape "
                             f"({x.shape[0]}, {w_hh.shape[1]}), got {s.shape}")
        states.append(s)
    c0 = states[1] if mode == "LSTM" else None
    result = recurrent_layer(mode, x.unsqueeze(0), states[0], w_ih, w_hh, b_ih, b_hh, c0)
    new = result[1:]
    if unbatched:
        new = tuple(s.squeeze(0) for s in new)
    return new if mode == "LSTM" else new[0]


def rnn_tanh_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)"""
    return _cell("RNN_TANH", x, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)"""
    return _cell("RNN_RELU", x, hx, w_ih, w_hh, b_ih, b_hh)


def lstm_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c') from (h, c): gates i, f, g, o; c' = f c + i g, h' = o tanh(c')"""
    h, c = (None, None) if hx is None else hx
    return _cell("LSTM", x, h, w_ih, w_hh, b_ih, b_hh, c)


def gru_cell(x, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = (1 - z) n + z h with r, z = sigmoid(.), n = tanh(W_in x + b_in + r (W_hn h + b_hn))"""
    return _cell("GRU", x, hx, w_ih, w_hh, b_ih, b_hh)
