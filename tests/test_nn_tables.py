"""One parity case and one gradcheck case per nn module and nn.functional function.

Modules: ours and PyTorch's built with the same arguments, PyTorch's loaded with our
state_dict, run in float64 on the same inputs: outputs and input gradients must agree; then
a finite-difference gradcheck of ours with respect to its float inputs. Functions: the same
with PyTorch's function, its float inputs all differentiated. The other test_nn_*.py files
hold the deeper per-layer tests (geometries, errors, parameter gradients, init); these tables
make sure no public layer or function is missed (tests/test_ops_breadth.py checks that).
"""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor, gradcheck
from helpers import assert_parity, covers

torch = pytest.importorskip("torch")
TF = torch.nn.functional
T = torch.nn

RNG = np.random.default_rng(41)


def normal(*shape):
    return RNG.standard_normal(shape)


def unit(*shape):
    return RNG.uniform(0.1, 0.9, shape)


def _flat(out):
    """A module's output (a Tensor, or nested tuples of them) as a flat list."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _ours(out):
    flat = _flat(out)
    return flat[0] if len(flat) == 1 else tuple(flat)


# ---- modules -----------------------------------------------------------------------------------

MODULES = []


def module(name, ours, theirs, *inputs, consts=(), train=True, grad=True, tag="", **tol):
    """ours/theirs build the two modules; consts (integer targets, indices) follow the inputs."""
    covers(parity=f"nn.{name}", gradcheck=f"nn.{name}" if grad else ())
    tol = dict(dict(rtol=1e-9, atol=1e-11), **tol)
    MODULES.append(pytest.param(ours, theirs, inputs, consts, train, grad, tol, id=f"{name}{tag}"))


def same(name, *inputs, args=(), kwargs=None, **options):
    """A module whose constructor takes the same arguments in both libraries."""
    kwargs = kwargs or {}
    module(name, lambda: getattr(nn, name)(*args, **kwargs), lambda: getattr(T, name)(*args, **kwargs),
           *inputs, **options)


X34 = normal(3, 4)
# PyTorch's hardsigmoid and celu multiply by 1/6 and 1/alpha rounded to float32, also in float64.
FLOAT32_CONSTANTS = {"Hardsigmoid": dict(rtol=1e-7), "CELU": dict(rtol=1e-7)}
for name, args in (("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("CELU", (0.5,)),
                   ("SELU", ()), ("GELU", ()), ("SiLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("Softplus", (2.0,)),
                   ("Softsign", ()), ("Mish", ()), ("Hardtanh", (-0.5, 0.8)), ("Hardsigmoid", ()),
                   ("Hardswish", ()), ("LogSigmoid", ()), ("Softmax", (1,)), ("LogSoftmax", (0,)),
                   ("Identity", ())):
    same(name, 2 * X34, args=args, **FLOAT32_CONSTANTS.get(name, {}))
same("GELU", X34, args=("tanh",), tag=" tanh")
same("Flatten", normal(2, 3, 4))
same("Unflatten", normal(2, 6), args=(1, (2, 3)))
same("Dropout", X34, args=(0.5,), train=False)  # eval: the identity in both
same("Linear", normal(5, 3), args=(3, 2))
same("Bilinear", normal(5, 3), normal(5, 2), args=(3, 2, 4))
same("Embedding", consts=(np.array([[0, 4], [2, 2]]),), args=(5, 3), grad=False)
same("LayerNorm", X34, args=(4,))
same("RMSNorm", X34, args=(4,))
same("BatchNorm1d", normal(5, 3), args=(3,))
same("BatchNorm2d", normal(3, 2, 2, 2), args=(2,))
same("BatchNorm2d", normal(3, 2, 2, 2), args=(2,), train=False, tag=" eval")
same("Conv1d", normal(2, 2, 7), args=(2, 3, 3), kwargs=dict(stride=2, padding=1))
same("Conv2d", normal(1, 2, 5, 4), args=(2, 4, (2, 3)), kwargs=dict(padding=1, groups=2))
same("ConvTranspose1d", normal(2, 2, 5), args=(2, 3, 3), kwargs=dict(stride=2, padding=1, output_padding=1))
same("ConvTranspose2d", normal(1, 4, 3, 3), args=(4, 2, 3),
     kwargs=dict(stride=2, padding=1, output_padding=1, groups=2, dilation=1))
same("ConvTranspose2d", normal(1, 2, 3, 2), args=(2, 3, (2, 3)), kwargs=dict(stride=(1, 2), dilation=2),
     tag=" dilated")
same("MaxPool1d", normal(2, 3, 8), args=(2,))
same("MaxPool2d", normal(1, 2, 4, 6), args=(2,), kwargs=dict(stride=(1, 2)))
same("AvgPool1d", normal(2, 3, 8), args=(3, 2, 1))
same("AvgPool2d", normal(1, 2, 4, 6), args=(2,))
same("AdaptiveAvgPool1d", normal(2, 3, 7), args=(3,))
same("AdaptiveAvgPool2d", normal(1, 2, 5, 7), args=((2, 3),))
POOLED1, INDEX1 = (t.data for t in F.max_pool1d(Tensor(normal(2, 3, 8)), 2, return_indices=True))
POOLED2, INDEX2 = (t.data for t in F.max_pool2d(Tensor(normal(1, 2, 4, 6)), 2, return_indices=True))
same("MaxUnpool1d", POOLED1, consts=(INDEX1,), args=(2,))
same("MaxUnpool2d", POOLED2, consts=(INDEX2,), args=(2,))
same("Upsample", normal(1, 2, 3, 3), kwargs=dict(scale_factor=2))
same("Upsample", normal(1, 2, 3, 3), kwargs=dict(size=(4, 5), mode="bilinear", align_corners=True), tag=" bilinear")
same("Upsample", normal(1, 2, 3, 3), kwargs=dict(scale_factor=2, mode="bilinear"), tag=" bilinear corners off")
same("PixelShuffle", normal(1, 8, 2, 3), args=(2,))
same("PixelUnshuffle", normal(1, 2, 4, 6), args=(2,))
same("Unfold", normal(1, 2, 4, 5), kwargs=dict(kernel_size=2, padding=1, stride=2))
same("Fold", normal(2, 8, 12), kwargs=dict(output_size=(4, 5), kernel_size=2))
same("RNN", normal(2, 4, 3), args=(3, 2), kwargs=dict(batch_first=True))
same("LSTM", normal(4, 2, 3), args=(3, 2), kwargs=dict(bidirectional=True))
same("GRU", normal(2, 4, 3), args=(3, 2), kwargs=dict(num_layers=2, batch_first=True))
same("RNNCell", normal(4, 3), normal(4, 2), args=(3, 2))
same("LSTMCell", normal(4, 3), args=(3, 2))
same("GRUCell", normal(4, 3), normal(4, 2), args=(3, 2))
same("MultiheadAttention", normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 4), args=(4, 2),
     kwargs=dict(batch_first=True))
LAYER = dict(d_model=4, nhead=2, dim_feedforward=6, dropout=0.0, batch_first=True)
same("TransformerEncoderLayer", normal(2, 3, 4), kwargs=LAYER)
same("TransformerDecoderLayer", normal(2, 3, 4), normal(2, 5, 4), kwargs=LAYER)
module("TransformerEncoder", lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(**LAYER), 2),
       lambda: T.TransformerEncoder(T.TransformerEncoderLayer(**LAYER), 2, enable_nested_tensor=False),
       normal(2, 3, 4))
module("TransformerDecoder", lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(**LAYER), 2),
       lambda: T.TransformerDecoder(T.TransformerDecoderLayer(**LAYER), 2), normal(2, 3, 4), normal(2, 5, 4))
same("Transformer", normal(2, 3, 4), normal(2, 2, 4),
     kwargs=dict(LAYER, num_encoder_layers=1, num_decoder_layers=1))
TARGET = np.array([0, 2, 1, 2])
same("MSELoss", X34, normal(3, 4))
same("L1Loss", X34, normal(3, 4))
same("HuberLoss", 2 * X34, normal(3, 4), kwargs=dict(delta=0.5))
same("SmoothL1Loss", 2 * X34, normal(3, 4), kwargs=dict(beta=0.5))
same("CrossEntropyLoss", normal(4, 3), consts=(TARGET,), kwargs=dict(label_smoothing=0.1))
same("NLLLoss", normal(4, 3), consts=(TARGET,))
same("BCELoss", unit(4, 3), consts=(unit(4, 3),))
same("BCEWithLogitsLoss", normal(4, 3), consts=(unit(4, 3),))
same("HingeEmbeddingLoss", normal(4, 3), consts=(RNG.choice([-1.0, 1.0], (4, 3)),))
same("MultiMarginLoss", normal(4, 3), consts=(TARGET,))


def _state_into_torch(ours, theirs):
    state = {k: torch.from_numpy(np.array(v.data if isinstance(v, Tensor) else v))
             for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)


@pytest.mark.parametrize("make_ours, make_theirs, inputs, consts, train, grad, tol", MODULES)
def test_module_parity(make_ours, make_theirs, inputs, consts, train, grad, tol):
    ours, theirs = make_ours().double(), make_theirs().double()
    _state_into_torch(ours, theirs)
    ours.train(train)
    theirs.train(train)
    assert_parity(lambda *ts: _flat(ours(*ts, *[Tensor(c) for c in consts])),
                  lambda *ts: _flat(theirs(*ts, *[torch.from_numpy(c) for c in consts])),
                  *inputs, **tol)


@pytest.mark.parametrize("make_ours, make_theirs, inputs, consts, train, grad, tol",
                         [m for m in MODULES if m.values[5]])
def test_module_gradcheck(make_ours, make_theirs, inputs, consts, train, grad, tol):
    ours = make_ours().double()
    ours.train(train)
    assert gradcheck(lambda *ts: _ours(ours(*ts, *[Tensor(c) for c in consts])), list(inputs))


@covers(gradcheck="nn.Embedding")
def test_embedding_weight_gradcheck():
    # The input is integer indices: the gradient is the weight's, checked by nudging the
    # weight in place (numerical_grad) against what backward writes into weight.grad.
    m = nn.Embedding(5, 3, padding_idx=1).double()
    ids = Tensor(np.array([[0, 4, 1], [2, 2, 1]]))
    weight = Tensor(normal(2, 3, 3))
    (m(ids) * weight).sum().backward()
    numerical, = ag.numerical_grad(lambda w: m(ids), [m.weight], grad_output=weight.data)
    rows = [0, 2, 3, 4]  # padding_idx (row 1) takes no gradient by definition, as PyTorch's
    np.testing.assert_allclose(m.weight.grad.data[rows], numerical[rows], rtol=1e-6, atol=1e-8)
    assert m.weight.grad.data[1].tolist() == [0.0, 0.0, 0.0] and numerical[1].any()
    assert m.weight.grad.data[3].tolist() == [0.0, 0.0, 0.0]  # nor does an unused row


# ---- nn.functional ------------------------------------------------------------------------------

FUNCTIONS = []


def function(name, ours, theirs, *inputs, grad=True, tag="", **tol):
    covers(parity=f"F.{name}", gradcheck=f"F.{name}" if grad else ())
    tol = dict(dict(rtol=1e-9, atol=1e-11), **tol)
    FUNCTIONS.append(pytest.param(ours, theirs, inputs, grad, tol, id=f"{name}{tag}"))


def same_f(name, *inputs, args=(), kwargs=None, **options):
    kwargs = kwargs or {}
    function(name, lambda *ts: getattr(F, name)(*ts, *args, **kwargs),
             lambda *ts: getattr(TF, name)(*ts, *args, **kwargs), *inputs, **options)


for name in ("relu", "relu6", "selu", "silu", "sigmoid", "tanh", "mish", "softsign", "logsigmoid",
             "hardsigmoid", "hardswish"):
    same_f(name, 4 * X34, **FLOAT32_CONSTANTS.get(name.capitalize(), {}))
same_f("hardtanh", 2 * X34, args=(-0.5, 0.8))
same_f("leaky_relu", X34, args=(0.2,))
same_f("elu", X34, args=(0.7,))
same_f("celu", X34, kwargs=dict(alpha=0.5), **FLOAT32_CONSTANTS["CELU"])
same_f("gelu", X34)
same_f("gelu", X34, kwargs=dict(approximate="tanh"), tag=" tanh")
same_f("softplus", X34, kwargs=dict(beta=2.0, threshold=1.0))
function("softmax", lambda a: F.softmax(a, 0), lambda a: TF.softmax(a, 0), X34)
function("log_softmax", lambda a: F.log_softmax(a, -1), lambda a: TF.log_softmax(a, -1), X34)
same_f("dropout", X34, kwargs=dict(p=0.5, training=False))
same_f("pad", normal(2, 3, 4), args=((1, 2, 2, 0),), kwargs=dict(mode="replicate"))
same_f("linear", normal(5, 3), normal(2, 3), normal(2))
same_f("bilinear", normal(5, 3), normal(5, 2), normal(4, 3, 2), normal(4))
IDS = np.array([[0, 4], [2, 2]])
function("embedding", lambda w: F.embedding(Tensor(IDS), w), lambda w: TF.embedding(torch.from_numpy(IDS), w),
         normal(5, 3))
function("one_hot", lambda i: F.one_hot(i, 5), lambda i: TF.one_hot(i, 5), IDS, grad=False)
function("one_hot", F.one_hot, TF.one_hot, np.array([3, 0, 1]), grad=False, tag=" inferred classes")
STATS = normal(3), unit(3) + 0.5
function("batch_norm",
         lambda x, w, b: F.batch_norm(x, Tensor(STATS[0].copy()), Tensor(STATS[1].copy()), w, b, training=True),
         lambda x, w, b: TF.batch_norm(x, torch.from_numpy(STATS[0].copy()), torch.from_numpy(STATS[1].copy()), w, b,
                                       training=True), normal(4, 3), normal(3), normal(3))
function("batch_norm", lambda x: F.batch_norm(x, Tensor(STATS[0]), Tensor(STATS[1])),
         lambda x: TF.batch_norm(x, torch.from_numpy(STATS[0]), torch.from_numpy(STATS[1])), normal(4, 3, 2),
         tag=" eval")
function("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), lambda x, w, b: TF.layer_norm(x, (4,), w, b),
         X34, normal(4), normal(4))
function("rms_norm", lambda x, w: F.rms_norm(x, (4,), w), lambda x, w: TF.rms_norm(x, (4,), w), X34, normal(4))
same_f("conv1d", normal(2, 2, 7), normal(3, 2, 3), normal(3), kwargs=dict(stride=2, padding=1))
same_f("conv2d", normal(1, 4, 5, 6), normal(2, 2, 2, 3), normal(2),
       kwargs=dict(padding=(1, 0), dilation=(1, 2), groups=2))
same_f("conv_transpose1d", normal(2, 2, 5), normal(2, 3, 3), normal(3), kwargs=dict(stride=2, padding=1, output_padding=1))
same_f("conv_transpose2d", normal(1, 4, 3, 3), normal(4, 1, 3, 2), normal(2),
       kwargs=dict(stride=2, padding=1, output_padding=1, groups=2))
same_f("conv_transpose2d", normal(1, 2, 3, 2), normal(2, 3, 2, 2), kwargs=dict(stride=(1, 2), dilation=2),
       tag=" dilated")
same_f("max_pool1d", normal(2, 3, 8), args=(3,), kwargs=dict(stride=2, padding=1))
same_f("max_pool2d", normal(1, 2, 5, 6), args=(2,), kwargs=dict(ceil_mode=True))
same_f("avg_pool1d", normal(2, 3, 8), args=(3,), kwargs=dict(stride=2, padding=1, count_include_pad=False))
same_f("avg_pool2d", normal(1, 2, 4, 6), args=(2,))
same_f("adaptive_avg_pool1d", normal(2, 3, 7), args=(3,))
same_f("adaptive_avg_pool2d", normal(1, 2, 5, 7), args=((2, 3),))
function("max_unpool1d", lambda v: F.max_unpool1d(v, Tensor(INDEX1), 2),
         lambda v: TF.max_unpool1d(v, torch.from_numpy(INDEX1), 2), POOLED1)
function("max_unpool2d", lambda v: F.max_unpool2d(v, Tensor(INDEX2), 2),
         lambda v: TF.max_unpool2d(v, torch.from_numpy(INDEX2), 2), POOLED2)
same_f("unfold", normal(1, 2, 4, 5), kwargs=dict(kernel_size=(2, 3), padding=1, stride=(2, 1)))
same_f("fold", normal(2, 8, 12), kwargs=dict(output_size=(4, 5), kernel_size=2))
same_f("interpolate", normal(1, 2, 3, 3), kwargs=dict(scale_factor=2))
same_f("interpolate", normal(1, 2, 3, 3), kwargs=dict(size=(4, 5), mode="bilinear", align_corners=True),
       tag=" bilinear corners")
same_f("interpolate", normal(1, 2, 3, 3), kwargs=dict(scale_factor=(2, 3), mode="bilinear"), tag=" bilinear")
same_f("interpolate", normal(2, 3, 4), kwargs=dict(size=7, mode="linear"), tag=" linear")
same_f("pixel_shuffle", normal(1, 8, 2, 3), args=(2,))
same_f("pixel_unshuffle", normal(1, 2, 4, 6), args=(2,))
H4 = normal(4, 2)
same_f("scaled_dot_product_attention", normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 4))
same_f("scaled_dot_product_attention", normal(2, 3, 4), normal(2, 3, 4), normal(2, 3, 4),
       kwargs=dict(is_causal=True), tag=" causal")
for name, gates in (("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3)):
    function(name, getattr(F, name), getattr(torch, name), normal(4, 3), H4, normal(gates * 2, 3),
             normal(gates * 2, 2), normal(gates * 2), normal(gates * 2))
function("lstm_cell", lambda x, h, c, *w: _flat(F.lstm_cell(x, (h, c), *w)),
         lambda x, h, c, *w: list(torch.lstm_cell(x, (h, c), *w)), normal(4, 3), H4, normal(4, 2),
         normal(8, 3), normal(8, 2), normal(8), normal(8))
same_f("mse_loss", X34, normal(3, 4))
same_f("l1_loss", X34, normal(3, 4), kwargs=dict(reduction="sum"))
same_f("huber_loss", 2 * X34, normal(3, 4), kwargs=dict(delta=0.5))
same_f("smooth_l1_loss", 2 * X34, normal(3, 4), kwargs=dict(beta=0.5, reduction="none"))
CLASSES = np.array([0, 2, 1, 2])
WEIGHT = unit(3)  # (PyTorch does not differentiate class weights)
function("cross_entropy", lambda x: F.cross_entropy(x, Tensor(CLASSES), Tensor(WEIGHT)),
         lambda x: TF.cross_entropy(x, torch.from_numpy(CLASSES), torch.from_numpy(WEIGHT)), normal(4, 3))
function("cross_entropy", lambda x, p: F.cross_entropy(x, p.softmax(-1), label_smoothing=0.2),
         lambda x, p: TF.cross_entropy(x, p.softmax(-1), label_smoothing=0.2), normal(4, 3), normal(4, 3),
         tag=" probabilities")
function("nll_loss", lambda x: F.nll_loss(x, Tensor(CLASSES), ignore_index=1),
         lambda x: TF.nll_loss(x, torch.from_numpy(CLASSES), ignore_index=1), normal(4, 3))
same_f("binary_cross_entropy", unit(4, 3), unit(4, 3))
same_f("binary_cross_entropy_with_logits", normal(4, 3), unit(4, 3), kwargs=dict(pos_weight=None))
SIGNS = RNG.choice([-1.0, 1.0], (4, 3))
function("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, Tensor(SIGNS)),
         lambda x: TF.hinge_embedding_loss(x, torch.from_numpy(SIGNS)), normal(4, 3))
function("multi_margin_loss", lambda x: F.multi_margin_loss(x, Tensor(CLASSES), p=2),
         lambda x: TF.multi_margin_loss(x, torch.from_numpy(CLASSES), p=2), normal(4, 3))


@pytest.mark.parametrize("ours, theirs, inputs, grad, tol", FUNCTIONS)
def test_function_parity(ours, theirs, inputs, grad, tol):
    assert_parity(ours, theirs, *inputs, grad=grad, **tol)


@pytest.mark.parametrize("ours, theirs, inputs, grad, tol", [f for f in FUNCTIONS if f.values[3]])
def test_function_gradcheck(ours, theirs, inputs, grad, tol):
    assert gradcheck(lambda *ts: _ours(ours(*ts)), list(inputs))


# F.recurrent_layer runs a whole sequence for nn.RNN / LSTM / GRU: PyTorch has no public
# function to compare it with (the modules above are compared), so finite differences only.
@covers(gradcheck="F.recurrent_layer")
@pytest.mark.parametrize("mode, gates", [("RNN_TANH", 1), ("LSTM", 4), ("GRU", 3)])
def test_recurrent_layer_gradcheck(mode, gates):
    x, h0, c0 = normal(3, 2, 3), normal(2, 2), normal(2, 2)
    w_ih, w_hh, b_ih, b_hh = normal(gates * 2, 3), normal(gates * 2, 2), normal(gates * 2), normal(gates * 2)

    def run(x, h0, w_ih, w_hh, b_ih, b_hh, c0):
        return _ours(F.recurrent_layer(mode, x, h0, w_ih, w_hh, b_ih, b_hh,
                                       c0=c0 if mode == "LSTM" else None, reverse=True))

    assert gradcheck(run, [x, h0, w_ih, w_hh, b_ih, b_hh, c0])
