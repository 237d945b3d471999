"""Recurrent layers and cells: PyTorch parity (float64: outputs, final states, input, state
and every parameter gradient), a tiny learning task, and error messages."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
TOL = dict(atol=1e-10, rtol=1e-8)


def _load(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def _flatten(out):
    """Output structure -> flat list of tensors (output, h_n[, c_n])."""
    if isinstance(out, (tuple, list)):
        return [t for part in out for t in _flatten(part)]
    return [out]


def _parity(ours, theirs, x, state=None):
    """Forward with (x, state) on both; backward a random weighting of every output."""
    _load(ours, theirs)
    xt = torch.tensor(x, requires_grad=True)
    states_np = [] if state is None else list(state) if isinstance(state, tuple) else [state]
    st = [torch.tensor(s, requires_grad=True) for s in states_np]
    so = [Tensor(s.copy(), requires_grad=True) for s in states_np]
    arg_t = None if state is None else (tuple(st) if isinstance(state, tuple) else st[0])
    arg_o = None if state is None else (tuple(so) if isinstance(state, tuple) else so[0])
    outs_t = _flatten(theirs(xt, arg_t))
    xo = Tensor(x.copy(), requires_grad=True)
    outs_o = _flatten(ours(xo, arg_o))
    assert len(outs_o) == len(outs_t)
    weights = [RNG.standard_normal(tuple(t.shape)) for t in outs_t]
    sum(((t * torch.tensor(w)).sum() for t, w in zip(outs_t, weights))).backward()
    total = None
    for o, w in zip(outs_o, weights):
        term = (o * Tensor(w)).sum()
        total = term if total is None else total + term
    total.backward()
    for o, t in zip(outs_o, outs_t):
        assert o.shape == tuple(t.shape)
        np.testing.assert_allclose(o.data, t.detach().numpy(), **TOL)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), **TOL)
    for a, b in zip(so, st):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), **TOL)
    theirs_params = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(theirs_params)  # same names, same order
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), err_msg=name,
                                   **TOL)


LAYER_CASES = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("RNN", dict(bidirectional=True, bias=False)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(num_layers=2, batch_first=True, bias=False)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=3, bidirectional=True, batch_first=True)),
    ("GRU", dict(bias=False)),
]


@pytest.mark.parametrize("name,kwargs", LAYER_CASES)
@pytest.mark.parametrize("with_state", [False, True])
def test_layers_match_pytorch(name, kwargs, with_state):
    ours = getattr(nn, name)(3, 4, **kwargs).double()
    theirs = getattr(torch.nn, name)(3, 4, **kwargs).double()
    seq, batch = 5, 2
    x = RNG.standard_normal((batch, seq, 3) if kwargs.get("batch_first") else (seq, batch, 3))
    state = None
    if with_state:
        shape = (kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1), batch, 4)
        state = RNG.standard_normal(shape)
        if name == "LSTM":
            state = (state, RNG.standard_normal(shape))
    _parity(ours, theirs, x, state)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input_matches_pytorch(name):
    ours = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True).double()
    theirs = getattr(torch.nn, name)(3, 4, num_layers=2, bidirectional=True).double()
    state = RNG.standard_normal((4, 4))
    _parity(ours, theirs, RNG.standard_normal((6, 3)),
            (state, RNG.standard_normal((4, 4))) if name == "LSTM" else state)


CELL_CASES = [("RNNCell", dict()), ("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", dict()),
              ("GRUCell", dict()), ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("name,kwargs", CELL_CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(name, kwargs, batched):
    ours = getattr(nn, name)(3, 5, **kwargs).double()
    theirs = getattr(torch.nn, name)(3, 5, **kwargs).double()
    shape = (4, 5) if batched else (5,)
    state = RNG.standard_normal(shape)
    if name == "LSTMCell":
        state = (state, RNG.standard_normal(shape))
    _parity(ours, theirs, RNG.standard_normal((4, 3) if batched else (3,)), state)


def test_cells_default_to_zero_state():
    cell = nn.GRUCell(3, 5).double()
    x = Tensor(RNG.standard_normal((2, 3)))
    np.testing.assert_allclose(cell(x).data, cell(x, Tensor(np.zeros((2, 5)))).data)


def test_parameter_shapes_and_init_like_pytorch():
    ours, theirs = nn.LSTM(7, 6, num_layers=2, bidirectional=True), torch.nn.LSTM(
        7, 6, num_layers=2, bidirectional=True)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    bound = 1 / np.sqrt(6)
    values = np.concatenate([p.data.ravel() for p in ours.parameters()])
    assert np.abs(values).max() <= bound and values.std() > bound / 3


def test_dropout_between_layers_only_when_training():
    ag.manual_seed(0)
    lstm = nn.LSTM(3, 8, num_layers=2, dropout=0.5).double()
    x = Tensor(RNG.standard_normal((4, 2, 3)))
    a, b = lstm(x)[0].data, lstm(x)[0].data
    assert not np.allclose(a, b)  # a fresh mask each call
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].data, lstm(x)[0].data)


def test_lstm_second_order_gradients_through_the_fused_op():
    # create_graph makes the fused op replay its recurrence with Tensor ops.
    lstm = nn.LSTM(2, 3).double()
    w = lstm.weight_hh_l0

    def grad_norm(x):
        with ag.enable_grad():
            x = x if x.requires_grad else Tensor(x.data, requires_grad=True)
            out, _ = lstm(x)
            (gx,) = ag.grad((out * out).sum(), [x], create_graph=True)
        return (gx * gx).sum()

    x = RNG.standard_normal((3, 2, 2))
    assert ag.gradcheck(grad_norm, [x])
    xt = Tensor(x, requires_grad=True)
    (gw,) = ag.grad(grad_norm(xt), [w])  # a parameter's second-order gradient exists
    assert gw.shape == w.shape and np.abs(gw.data).sum() > 0


# ---- learning ---------------------------------------------------------------------------

def test_rnn_learns_hello():
    """A small RNN learns to map 'hell' to 'ello' (next character), plain SGD written inline."""
    ag.manual_seed(0)
    chars = "helo"
    ids = {c: i for i, c in enumerate(chars)}
    x = Tensor(np.eye(4)[[ids[c] for c in "hell"]][:, None, :])      # (seq 4, batch 1, 4)
    target = Tensor(np.array([ids[c] for c in "ello"]))
    rnn, head = nn.RNN(4, 16).double(), nn.Linear(16, 4).double()
    params = list(rnn.parameters()) + list(head.parameters())
    first = None
    for _ in range(300):
        out, _ = rnn(x)
        loss = F.cross_entropy(head(out.reshape(4, 16)), target)
        first = float(loss) if first is None else first
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad.data
    out, _ = rnn(x)
    predicted = "".join(chars[i] for i in head(out.reshape(4, 16)).data.argmax(axis=1))
    assert predicted == "ello"
    assert float(loss) < 0.1 * first


# ---- errors -----------------------------------------------------------------------------

def test_wrong_feature_size_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\).*input_size=3.*\(5, 2, 7\)"):
        nn.LSTM(3, 4)(ag.zeros(5, 2, 7))


def test_wrong_input_ndim_is_explained():
    message = r"GRU\(3, 4, batch_first=True\).*\(batch, seq, input_size\)"
    with pytest.raises(ValueError, match=message):
        nn.GRU(3, 4, batch_first=True)(ag.zeros(5, 2, 7, 1))


def test_wrong_h0_shape_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        nn.RNN(3, 4, num_layers=2)(ag.zeros(5, 2, 3), ag.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"c_0 of shape \(1, 2, 4\)"):
        nn.LSTM(3, 4)(ag.zeros(5, 2, 3), (ag.zeros(1, 2, 4), ag.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"tuple \(h_0, c_0\)"):
        nn.LSTM(3, 4)(ag.zeros(5, 2, 3), ag.zeros(1, 2, 4))


def test_empty_sequence_is_refused():
    with pytest.raises(ValueError, match="sequence is empty"):
        nn.GRU(3, 4)(ag.zeros(0, 2, 3))


def test_cell_input_size_mismatch():
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\).*\(batch, 3\).*\(2, 5\)"):
        nn.LSTMCell(3, 4)(ag.zeros(2, 5))
