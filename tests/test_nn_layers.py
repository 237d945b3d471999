"""Layer parity with PyTorch (float64): forward, input gradient and every parameter gradient
after loading PyTorch's state dict; BatchNorm train/eval and running statistics; errors."""
import math

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-10, 1e-12


def _torch_state(m):
    return {k: v.detach().numpy() for k, v in m.state_dict().items()}


def _compare(ours, theirs, *inputs, seed=0, check_state=True):
    """Load theirs' state into ours, run both on the same float64 inputs, compare output,
    gradients of the inputs (if float) and of every parameter, and the state afterwards."""
    theirs = theirs.double()
    ours.double()
    ours.load_state_dict(_torch_state(theirs))
    ours_in, torch_in = [], []
    for x in inputs:
        x = np.asarray(x)
        if x.dtype.kind == "f":
            ours_in.append(Tensor(x.astype(np.float64), requires_grad=True))
            torch_in.append(torch.tensor(x.astype(np.float64), requires_grad=True))
        else:
            ours_in.append(Tensor(x))
            torch_in.append(torch.tensor(x))
    out = ours(*ours_in)
    ref = theirs(*torch_in)
    assert out.shape == tuple(ref.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(Tensor(g))
    ref.backward(torch.tensor(g))
    for a, b in zip(ours_in, torch_in):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    torch_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(torch_params)
    for name, p in ours_params.items():
        tp = torch_params[name]
        if tp.grad is None:
            assert p.grad is None or not np.any(p.grad.data), name
        else:
            np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=name)
    if check_state:
        ref_state = _torch_state(theirs)
        our_state = ours.state_dict()
        assert list(our_state) == list(ref_state)
        for k in ref_state:
            np.testing.assert_allclose(our_state[k].data, ref_state[k], rtol=1e-10, atol=1e-12,
                                       err_msg=k)
    return out


def _randn(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- linear family --------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
def test_linear_parity(bias, shape):
    _compare(nn.Linear(3, 4, bias=bias), torch.nn.Linear(3, 4, bias=bias), _randn(*shape))


def test_bilinear_parity():
    _compare(nn.Bilinear(3, 2, 4), torch.nn.Bilinear(3, 2, 4), _randn(5, 3), _randn(5, 2, seed=2))
    _compare(nn.Bilinear(3, 2, 4, bias=False), torch.nn.Bilinear(3, 2, 4, bias=False),
             _randn(2, 5, 3), _randn(2, 5, 2, seed=2))


def test_identity_flatten_unflatten_parity():
    x = _randn(2, 3, 4, 5)
    _compare(nn.Identity(54, unused=1), torch.nn.Identity(54, unused=1), x)
    _compare(nn.Flatten(), torch.nn.Flatten(), x)
    _compare(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), x)
    _compare(nn.Unflatten(1, (3, 1)), torch.nn.Unflatten(1, (3, 1)), x)
    _compare(nn.Unflatten(-1, (-1, 5)), torch.nn.Unflatten(-1, (-1, 5)), x)


def test_linear_default_init_matches_pytorch_bounds():
    autograd.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.data, layer.bias.data
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.95 * bound
    # U(-a, a) has standard deviation a / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound


def test_linear_seeded_init_is_reproducible():
    autograd.manual_seed(3)
    a = nn.Linear(4, 2).state_dict()
    autograd.manual_seed(3)
    b = nn.Linear(4, 2).state_dict()
    autograd.manual_seed(4)
    c = nn.Linear(4, 2).state_dict()
    np.testing.assert_array_equal(a["weight"].data, b["weight"].data)
    assert not np.array_equal(a["weight"].data, c["weight"].data)


def test_linear_wrong_input_size_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(5, 2\).*in_features=3"):
        nn.Linear(3, 4)(Tensor(np.zeros((5, 2), np.float32)))


def test_linear_repr():
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
    assert repr(nn.Linear(2, 3, bias=False)) == "Linear(in_features=2, out_features=3, bias=False)"


# ---- activations ------------------------------------------------------------------------

ACTIVATIONS = [
    (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=0.5), lambda: torch.nn.ELU(alpha=0.5)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
    (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    (lambda: nn.Softplus(beta=2.0), lambda: torch.nn.Softplus(beta=2.0)),
    (lambda: nn.Softmax(axis=1), lambda: torch.nn.Softmax(dim=1)),
    (lambda: nn.Softmax(axis=0), lambda: torch.nn.Softmax(dim=0)),
    (lambda: nn.LogSoftmax(axis=1), lambda: torch.nn.LogSoftmax(dim=1)),
    (lambda: nn.LogSoftmax(axis=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
]


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_parity(make):
    ours, theirs = make[0](), make[1]()
    x = _randn(4, 5) * 3
    x[0, 0] = 0.5  # keep away from kinks: no exact zeros
    _compare(ours, theirs, x)


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_is_finite_on_huge_inputs(make):
    ours = make[0]().double()
    x = Tensor(np.array([[-1e4, -50.0, 0.3, 50.0, 1e4]]), requires_grad=True)
    y = ours(x)
    y.backward(Tensor(np.ones(y.shape)))
    assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all()


def test_activation_reprs_match_pytorch():
    assert repr(nn.ReLU()) == repr(torch.nn.ReLU())
    assert repr(nn.LeakyReLU(0.2)) == repr(torch.nn.LeakyReLU(0.2))
    assert repr(nn.ELU()) == repr(torch.nn.ELU())
    assert repr(nn.GELU("tanh")) == repr(torch.nn.GELU("tanh"))
    assert repr(nn.Softplus()) == repr(torch.nn.Softplus())
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    assert repr(nn.Softmax(axis=1)) == "Softmax(axis=1)"


# ---- dropout ------------------------------------------------------------------------------

def test_dropout_eval_is_identity_and_p0_is_identity():
    x = Tensor(_randn(20, 30), requires_grad=True)
    d = nn.Dropout(0.7).eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x


def test_dropout_train_masks_scales_and_gradient_matches_mask():
    autograd.manual_seed(0)
    p = 0.3
    x = Tensor(_randn(200, 100) + 5, requires_grad=True)
    y = nn.Dropout(p)(x)
    kept = y.data != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / (1 - p), rtol=1e-6)


def test_dropout_uses_the_shared_seed():
    x = Tensor(np.ones((10, 10)))
    autograd.manual_seed(5)
    a = F.dropout(x, 0.5).data
    autograd.manual_seed(5)
    b = F.dropout(x, 0.5).data
    c = F.dropout(x, 0.5).data
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_dropout_p1_zeros_and_bad_p_rejected():
    x = Tensor(np.ones(5), requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.data.any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(x, -0.1)


# ---- batch norm -----------------------------------------------------------------------------

BN_CASES = [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 3)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 2, 5)),
]
BN_KWARGS = [
    {},
    {"momentum": 0.3},
    {"momentum": None},
    {"affine": False},
    {"bias": False, "momentum": 0.5},
    {"track_running_stats": False},
    {"eps": 1e-2, "affine": False, "track_running_stats": False},
]


def _randomise_affine(m, seed):
    with torch.no_grad():
        rng = np.random.default_rng(seed)
        for p in m.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))


@pytest.mark.parametrize("case", BN_CASES)
@pytest.mark.parametrize("kwargs", BN_KWARGS)
def test_batchnorm_train_steps_then_eval_parity(case, kwargs):
    ours_cls, torch_cls, shape = case
    theirs = torch_cls(3, **kwargs).double()
    _randomise_affine(theirs, 0)
    ours = ours_cls(3, **kwargs)
    # several training steps: outputs, gradients and running statistics all match
    for step in range(3):
        ours.train(), theirs.train()
        x = _randn(*shape, seed=10 + step) * (step + 1) + step
        if step == 0:
            _compare(ours, theirs, x, seed=step)
        else:
            # keep our running statistics (no reload) and compare them afterwards
            xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            yo, yt = ours(xo), theirs(xt)
            np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
            yo.sum().backward(), yt.sum().backward()
            np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-10)
        ref = _torch_state(theirs)
        for k, v in ours.state_dict().items():
            np.testing.assert_allclose(v.data, ref[k], rtol=1e-10, atol=1e-12, err_msg=k)
    ours.eval(), theirs.eval()
    x = _randn(*shape, seed=99) * 2
    xo, xt = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = _randn(*shape, seed=7)
    yo.backward(Tensor(g)), yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_batchnorm_buffers_and_running_var_unbiased():
    bn = nn.BatchNorm1d(2, momentum=1.0)
    assert [k for k, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                 "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == np.int64
    x = _randn(6, 2).astype(np.float32)
    bn(Tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data, x.var(0, ddof=1), rtol=1e-5)
    assert int(bn.num_batches_tracked.data) == 1
    bn.eval()
    bn(Tensor(x))
    assert int(bn.num_batches_tracked.data) == 1  # eval leaves the statistics alone


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="expected 2D or 3D input, got 4D"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((2, 3, 4, 5))))
    with pytest.raises(ValueError, match="num_features=3"):
        nn.BatchNorm2d(3)(Tensor(np.zeros((2, 4, 4, 5))))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((1, 3))))


def test_batchnorm_repr_matches_pytorch():
    assert repr(nn.BatchNorm1d(4)) == repr(torch.nn.BatchNorm1d(4))
    assert repr(nn.BatchNorm2d(4, momentum=None, affine=False)) == \
        repr(torch.nn.BatchNorm2d(4, momentum=None, affine=False))


# ---- layer norm --------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"elementwise_affine": False}, {"bias": False},
                                    {"eps": 0.1}])
@pytest.mark.parametrize("normalized_shape,shape", [(5, (3, 5)), ((4, 5), (2, 3, 4, 5)),
                                                    (5, (5,))])
def test_layernorm_parity(kwargs, normalized_shape, shape):
    theirs = torch.nn.LayerNorm(normalized_shape, **kwargs).double()
    _randomise_affine(theirs, 1)
    _compare(nn.LayerNorm(normalized_shape, **kwargs), theirs, _randn(*shape) * 3 + 1)


def test_layernorm_shape_error_and_repr():
    with pytest.raises(ValueError, match=r"does not end with normalized_shape \(4,\)"):
        nn.LayerNorm(4)(Tensor(np.zeros((2, 5))))
    assert repr(nn.LayerNorm(4)) == repr(torch.nn.LayerNorm(4))


# ---- embedding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_parity(padding_idx):
    theirs = torch.nn.Embedding(7, 3, padding_idx=padding_idx)
    _randomise_affine(theirs, 2)  # a non-zero padding row: its gradient must still be zero
    idx = np.array([[0, 3, 6, 3], [6, 6, 1, 0]])
    _compare(nn.Embedding(7, 3, padding_idx=padding_idx), theirs, idx)


def test_embedding_init_and_padding_row():
    autograd.manual_seed(0)
    emb = nn.Embedding(1000, 20, padding_idx=3)
    w = emb.weight.data
    assert not w[3].any()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    assert repr(emb) == repr(torch.nn.Embedding(1000, 20, padding_idx=3))


def test_embedding_accepts_tensors_and_rejects_bad_indices():
    emb = nn.Embedding(5, 2)
    np.testing.assert_array_equal(emb(Tensor([4, 0])).data, emb.weight.data[[4, 0]])
    with pytest.raises(TypeError, match="integers, got dtype float"):
        emb(Tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match="index 5 is out of range for 5 rows"):
        emb(np.array([0, 5]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(np.array([-1]))


def test_embedding_from_pretrained_is_frozen():
    w = _randn(4, 3)
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(np.array([2])).data[0], w[2])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_one_hot_matches_pytorch():
    idx = np.array([[0, 2], [1, 3]])
    np.testing.assert_array_equal(F.one_hot(idx).data,
                                  torch.nn.functional.one_hot(torch.tensor(idx)).numpy())
    assert F.one_hot(Tensor([1]), num_classes=4).shape == (1, 4)
    with pytest.raises(IndexError, match="out of range"):
        F.one_hot(np.array([4]), num_classes=4)


# ---- functional forms -------------------------------------------------------------------------------

def test_functional_batch_norm_and_layer_norm_match_pytorch():
    x = _randn(4, 3, 5)
    rm, rv = _randn(3, seed=3), np.abs(_randn(3, seed=4)) + 0.5
    w, b = _randn(3, seed=5), _randn(3, seed=6)
    ours = F.batch_norm(Tensor(x), Tensor(rm), Tensor(rv), Tensor(w), Tensor(b), training=False)
    ref = torch.nn.functional.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv),
                                         torch.tensor(w), torch.tensor(b), training=False)
    np.testing.assert_allclose(ours.data, ref.numpy(), rtol=1e-12)
    ours = F.layer_norm(Tensor(x), (5,), eps=1e-3)
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (5,), eps=1e-3)
    np.testing.assert_allclose(ours.data, ref.numpy(), rtol=1e-10, atol=1e-12)


def test_functional_linear_softmax_axes():
    x = _randn(2, 3, 4)
    for axis in (0, 1, 2, -1):
        np.testing.assert_allclose(F.softmax(Tensor(x), axis).data,
                                   torch.softmax(torch.tensor(x), axis).numpy(), rtol=1e-12)
        np.testing.assert_allclose(F.log_softmax(Tensor(x), axis=axis).data,
                                   torch.log_softmax(torch.tensor(x), axis).numpy(), rtol=1e-12)
    w = _randn(5, 4)
    np.testing.assert_allclose(F.linear(Tensor(x), Tensor(w)).data,
                               torch.nn.functional.linear(torch.tensor(x), torch.tensor(w)).numpy(),
                               rtol=1e-12)


# ---- nn.init -------------------------------------------------------------------------------------

def _param(*shape):
    return nn.Parameter(np.zeros(shape, np.float64))


@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_pytorch(name, param):
    assert nn.init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


def test_fan_in_fan_out_match_pytorch_for_conv_shapes():
    for shape in [(3, 4), (8, 3, 5, 5), (6, 2, 7)]:
        ours = nn.init._calculate_fan_in_and_fan_out(_param(*shape))
        assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(_param(5))


@pytest.mark.parametrize("mode,nonlinearity,a", [("fan_in", "leaky_relu", 0),
                                                 ("fan_out", "relu", 0),
                                                 ("fan_in", "leaky_relu", math.sqrt(5))])
def test_kaiming_uniform_bound_and_spread(mode, nonlinearity, a):
    autograd.manual_seed(0)
    w = nn.init.kaiming_uniform_(_param(200, 50, 3), a=a, mode=mode, nonlinearity=nonlinearity)
    fan = 50 * 3 if mode == "fan_in" else 200 * 3
    bound = nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3 / fan)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.999 * bound
    assert w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert abs(w.data.mean()) < 0.01 * bound


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_std(mode):
    autograd.manual_seed(1)
    w = nn.init.kaiming_normal_(_param(300, 100), mode=mode, nonlinearity="relu")
    fan = 100 if mode == "fan_in" else 300
    assert w.data.std() == pytest.approx(math.sqrt(2 / fan), rel=0.02)
    assert abs(w.data.mean()) < 0.01


def test_xavier_uniform_and_normal():
    autograd.manual_seed(2)
    w = nn.init.xavier_uniform_(_param(300, 200), gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.999 * bound
    w = nn.init.xavier_normal_(_param(300, 200))
    assert w.data.std() == pytest.approx(math.sqrt(2 / 500), rel=0.02)


def test_simple_fills_and_orthogonal():
    autograd.manual_seed(3)
    w = nn.init.uniform_(_param(1000), -2, 3)
    assert w.data.min() >= -2 and w.data.max() < 3 and w.data.mean() == pytest.approx(0.5, abs=0.1)
    w = nn.init.normal_(_param(20000), 1.0, 0.5)
    assert w.data.mean() == pytest.approx(1.0, abs=0.02) and w.data.std() == pytest.approx(0.5, rel=0.03)
    assert (nn.init.constant_(_param(3), 0.25).data == 0.25).all()
    assert (nn.init.ones_(_param(3)).data == 1).all()
    assert not nn.init.zeros_(nn.init.ones_(_param(3))).data.any()
    np.testing.assert_array_equal(nn.init.eye_(_param(2, 3)).data, np.eye(2, 3))
    q = nn.init.orthogonal_(_param(4, 6)).data
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-12)
    t = nn.init.trunc_normal_(_param(5000), std=2.0, a=-1.0, b=1.0).data
    assert t.min() >= -1 and t.max() <= 1


def test_init_is_in_place_on_parameters_bumps_version_and_records_nothing():
    w = nn.Parameter(np.zeros((3, 4), np.float32))
    buffer, version = w.data, w._version
    out = nn.init.kaiming_uniform_(w)  # grad mode on, w requires grad: still allowed
    assert out is w and w.data is buffer and w._version > version
    assert w.grad_fn is None and w.requires_grad and w.dtype == np.float32
    assert w.data.any()


def test_init_uses_the_shared_seed_or_a_given_generator():
    autograd.manual_seed(11)
    a = nn.init.normal_(_param(5)).data.copy()
    autograd.manual_seed(11)
    b = nn.init.normal_(_param(5)).data.copy()
    np.testing.assert_array_equal(a, b)
    c = nn.init.normal_(_param(5), generator=np.random.default_rng(0)).data
    d = nn.init.normal_(_param(5), generator=np.random.default_rng(0)).data
    np.testing.assert_array_equal(c, d)


def test_init_errors():
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        nn.init.kaiming_uniform_(_param(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.kaiming_normal_(_param(2, 2), nonlinearity="swish")
    with pytest.raises(TypeError, match="floating-point"):
        nn.init.ones_(Tensor(np.zeros(2, np.int64)))


@pytest.mark.parametrize("which", ["layernorm", "batchnorm", "gelu_linear"])
def test_layer_second_order_gradients_match_pytorch(which):
    """Hessian-vector products w.r.t. the input agree with PyTorch (create_graph works)."""
    if which == "layernorm":
        ours, theirs = nn.LayerNorm(5), torch.nn.LayerNorm(5)
    elif which == "batchnorm":
        ours, theirs = nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5)
    else:
        ours = nn.Sequential(nn.Linear(5, 4), nn.GELU(), nn.Linear(4, 2))
        theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.GELU(),
                                     torch.nn.Linear(4, 2))
    theirs.double()
    _randomise_affine(theirs, 4)
    ours.double().load_state_dict(_torch_state(theirs))
    x, w, v = _randn(6, 5), _randn(6, ours(Tensor(_randn(6, 5))).shape[1], seed=2), _randn(6, 5, seed=3)
    xo = Tensor(x, requires_grad=True)
    (g,) = autograd.grad((ours(xo) * Tensor(w)).sum(), [xo], create_graph=True)
    (hv,) = autograd.grad((g * Tensor(v)).sum(), [xo])
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad((theirs(xt) * torch.tensor(w)).sum(), [xt], create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt])
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(hv.data, hvt.numpy(), rtol=1e-8, atol=1e-10)
