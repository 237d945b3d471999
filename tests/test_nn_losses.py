"""Loss parity with PyTorch (float64): values and input gradients for every reduction and
option; numerical stability at huge logits; clear errors for bad targets."""
import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def _randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _check(ours_fn, torch_fn, x, *others, rtol=1e-10, atol=1e-12):
    """Compare value and gradient w.r.t. x (others are passed unchanged, as arrays/tensors)."""
    xo = Tensor(np.asarray(x, np.float64), requires_grad=True)
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    out = ours_fn(xo, *[o if not isinstance(o, np.ndarray) else Tensor(o) for o in others])
    ref = torch_fn(xt, *[torch.tensor(o) if isinstance(o, np.ndarray) else o for o in others])
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    g = _randn(*out.shape, seed=5) if out.ndim else np.array(1.3)
    out.backward(Tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    return out


# ---- regression -------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_regression_losses(name, reduction):
    x, t = _randn(4, 3) * 2, _randn(4, 3, seed=1) * 2
    _check(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
           lambda a, b: getattr(TF, name)(a, b, reduction=reduction), x, t)


@pytest.mark.parametrize("delta", [0.3, 2.0])
def test_huber_and_smooth_l1_parameters(delta):
    x, t = _randn(10) * 2, _randn(10, seed=1)
    _check(lambda a, b: F.huber_loss(a, b, delta=delta), lambda a, b: TF.huber_loss(a, b, delta=delta),
           x, t)
    _check(lambda a, b: F.smooth_l1_loss(a, b, beta=delta),
           lambda a, b: TF.smooth_l1_loss(a, b, beta=delta), x, t)
    _check(lambda a, b: F.smooth_l1_loss(a, b, beta=0.0),
           lambda a, b: TF.smooth_l1_loss(a, b, beta=0.0), x, t)


def test_regression_target_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) differs from input "
                                         r"shape \(4, 1\)"):
        F.mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.l1_loss(Tensor(np.zeros(2)), Tensor(np.zeros(2)), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")


# ---- cross entropy / nll ------------------------------------------------------------------------

CE_OPTIONS = [
    {},
    {"label_smoothing": 0.2},
    {"weight": True},
    {"weight": True, "label_smoothing": 0.1},
    {"ignore_index": 2},
    {"ignore_index": 2, "weight": True, "label_smoothing": 0.3},
]


def _ce_args(opts, n_classes):
    ours, theirs = dict(opts), dict(opts)
    if opts.get("weight"):
        w = np.abs(_randn(n_classes, seed=9)) + 0.1
        ours["weight"], theirs["weight"] = Tensor(w), torch.tensor(w)
    return ours, theirs


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", CE_OPTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_class_indices(shape, opts, reduction):
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    x = _randn(*shape) * 3
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = np.random.default_rng(1).integers(0, n_classes, tshape)
    if t.ndim:
        t.reshape(-1)[:2] = [2, 0]  # make sure ignore_index=2 ignores something
    ours, theirs = _ce_args(opts, n_classes)
    _check(lambda a, b: F.cross_entropy(a, b, reduction=reduction, **ours),
           lambda a, b: TF.cross_entropy(a, b, reduction=reduction, **theirs), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.25}, {"weight": True},
                                  {"weight": True, "label_smoothing": 0.1}])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)])
def test_cross_entropy_class_probabilities(shape, opts, reduction):
    x = _randn(*shape) * 2
    p = np.random.default_rng(2).random(shape)
    p /= p.sum(axis=1, keepdims=True)
    ours, theirs = _ce_args(opts, shape[1])
    _check(lambda a, b: F.cross_entropy(a, b, reduction=reduction, **ours),
           lambda a, b: TF.cross_entropy(a, b, reduction=reduction, **theirs), x, p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"ignore_index": 1},
                                  {"ignore_index": 1, "weight": True}])
def test_nll_loss(opts, reduction):
    x = TF.log_softmax(torch.tensor(_randn(7, 3)), 1).numpy()
    t = np.array([0, 1, 2, 1, 0, 2, 2])
    ours, theirs = _ce_args(opts, 3)
    _check(lambda a, b: F.nll_loss(a, b, reduction=reduction, **ours),
           lambda a, b: TF.nll_loss(a, b, reduction=reduction, **theirs), x, t)


def test_all_targets_ignored_gives_nan_like_pytorch():
    x, t = _randn(2, 3), np.array([-100, -100])
    ours = F.cross_entropy(Tensor(x), Tensor(t))
    ref = TF.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert np.isnan(ours.item()) and torch.isnan(ref)


@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.1}])
def test_cross_entropy_huge_logits_are_finite_and_match(opts):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]])
    t = np.array([1, 2, 0])
    for dtype in (np.float32, np.float64):
        xo = Tensor(x.astype(dtype), requires_grad=True)
        loss = F.cross_entropy(xo, Tensor(t), **opts)
        loss.backward()
        assert np.isfinite(loss.data) and np.isfinite(xo.grad.data).all()
    _check(lambda a, b: F.cross_entropy(a, b, **opts), lambda a, b: TF.cross_entropy(a, b, **opts),
           x, t)


def test_cross_entropy_module_matches_functional_and_holds_weight_buffer():
    w = np.array([1.0, 2.0, 0.5])
    loss_fn = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, ignore_index=0)
    assert list(loss_fn.state_dict()) == list(torch.nn.CrossEntropyLoss(
        weight=torch.tensor(w)).state_dict()) == ["weight"]
    x, t = _randn(5, 3), np.array([0, 1, 2, 2, 1])
    _check(loss_fn, torch.nn.CrossEntropyLoss(weight=torch.tensor(w), label_smoothing=0.1,
                                              ignore_index=0), x, t)
    assert repr(loss_fn) == "CrossEntropyLoss()"


def test_cross_entropy_errors_name_the_loss_and_shapes():
    x = Tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"cross_entropy: float targets .* input's shape "
                                         r"\(4, 3\), got \(4, 2\)"):
        F.cross_entropy(x, Tensor(np.zeros((4, 2))))
    with pytest.raises(ValueError, match=r"cross_entropy: float targets .* must have the "
                                         r"input's shape \(4, 3\), got \(4,\)"):
        F.cross_entropy(x, Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(5,\) does not fit "
                                         r"input shape \(4, 3\); expected class indices of "
                                         r"shape \(4,\)"):
        F.cross_entropy(x, Tensor(np.zeros(5, np.int64)))
    with pytest.raises(IndexError, match=r"cross_entropy: target class 3 is out of range .* "
                                         r"3 classes"):
        F.cross_entropy(x, Tensor(np.array([0, 1, 3, 0])))
    with pytest.raises(IndexError, match="target class -1"):
        F.cross_entropy(x, Tensor(np.array([0, 1, -1, 0])))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, Tensor(np.array([0, 1, 2, 0])), weight=np.ones(4))
    with pytest.raises(IndexError, match="nll_loss: target class 7"):
        F.nll_loss(x, Tensor(np.array([0, 1, 7, 0])))
    with pytest.raises(TypeError, match="nll_loss: class-index targets must be integers"):
        nn.NLLLoss()(x, Tensor(np.zeros(4)))


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    x = _randn(3, 5)
    t = np.array([4, 0, 2])
    xo = Tensor(x, requires_grad=True)
    F.cross_entropy(xo, Tensor(t), reduction="sum").backward()
    e = np.exp(x - x.max(1, keepdims=True))
    expected = e / e.sum(1, keepdims=True) - np.eye(5)[t]
    np.testing.assert_allclose(xo.grad.data, expected, rtol=1e-12, atol=1e-14)


# ---- binary ------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    p = 1 / (1 + np.exp(-_randn(4, 3)))
    t = np.random.default_rng(1).random((4, 3))
    w = np.abs(_randn(4, 3, seed=2)) if weighted else None
    _check(lambda a, b: F.binary_cross_entropy(a, b, weight=None if w is None else Tensor(w),
                                               reduction=reduction),
           lambda a, b: TF.binary_cross_entropy(a, b, weight=None if w is None else torch.tensor(w),
                                                reduction=reduction), p, t)


def test_binary_cross_entropy_at_zero_and_one_is_finite_and_clamped():
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    xo = Tensor(p, requires_grad=True)
    loss = F.binary_cross_entropy(xo, Tensor(t), reduction="none")
    ref = TF.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(loss.data, ref.numpy())  # log clamped at -100
    loss.sum().backward()
    assert np.isfinite(xo.grad.data).all()
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input values must be "
                                         r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(Tensor([1.5]), Tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": True}, {"pos_weight": True},
                                  {"weight": True, "pos_weight": True}])
def test_binary_cross_entropy_with_logits(opts, reduction):
    x = _randn(5, 3) * 3
    t = np.random.default_rng(1).random((5, 3))
    ours, theirs = {}, {}
    if opts.get("weight"):
        w = np.abs(_randn(5, 3, seed=3))
        ours["weight"], theirs["weight"] = Tensor(w), torch.tensor(w)
    if opts.get("pos_weight"):
        pw = np.abs(_randn(3, seed=4)) + 0.5
        ours["pos_weight"], theirs["pos_weight"] = Tensor(pw), torch.tensor(pw)
    _check(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction, **ours),
           lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction, **theirs),
           x, t)
    module = nn.BCEWithLogitsLoss(reduction=reduction, **ours)
    ref = torch.nn.BCEWithLogitsLoss(reduction=reduction, **theirs)
    assert list(module.state_dict()) == list(ref.state_dict())
    _check(module, ref, x, t)


def test_bce_with_logits_huge_logits_finite():
    x = np.array([1e4, -1e4, 1e4, -1e4, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    for dtype in (np.float32, np.float64):
        xo = Tensor(x.astype(dtype), requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(xo, Tensor(t.astype(dtype)),
                                                  pos_weight=Tensor(np.array(3.0, dtype)))
        loss.backward()
        assert np.isfinite(loss.data) and np.isfinite(xo.grad.data).all()
    _check(lambda a, b: F.binary_cross_entropy_with_logits(a, b),
           lambda a, b: TF.binary_cross_entropy_with_logits(a, b), x, t)


# ---- margin losses ---------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_loss(margin, reduction):
    x = _randn(4, 5)
    t = np.where(np.random.default_rng(1).random((4, 5)) > 0.5, 1.0, -1.0)
    _check(lambda a, b: F.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
           lambda a, b: TF.hinge_embedding_loss(a, b, margin=margin, reduction=reduction), x, t)
    _check(nn.HingeEmbeddingLoss(margin, reduction),
           torch.nn.HingeEmbeddingLoss(margin, reduction=reduction), x, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("opts", [{}, {"margin": 0.5}, {"weight": True}])
def test_multi_margin_loss(p, opts, reduction):
    x = _randn(6, 4)
    t = np.array([0, 3, 1, 2, 3, 0])
    ours, theirs = _ce_args(opts, 4)
    _check(lambda a, b: F.multi_margin_loss(a, b, p=p, reduction=reduction, **ours),
           lambda a, b: TF.multi_margin_loss(a, b, p=p, reduction=reduction, **theirs), x, t)
    _check(nn.MultiMarginLoss(p=p, reduction=reduction, **ours),
           torch.nn.MultiMarginLoss(p=p, reduction=reduction, **theirs), x, t)


def test_multi_margin_loss_single_sample_and_errors():
    _check(lambda a, b: F.multi_margin_loss(a, b), lambda a, b: TF.multi_margin_loss(a, b),
           _randn(4), np.array(2))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(IndexError, match="multi_margin_loss: target class 4"):
        F.multi_margin_loss(Tensor(_randn(2, 4)), Tensor(np.array([0, 4])))


# ---- modules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,args", [("MSELoss", {}), ("L1Loss", {"reduction": "sum"}),
                                       ("HuberLoss", {"delta": 0.5}),
                                       ("SmoothL1Loss", {"beta": 0.5})])
def test_regression_modules(name, args):
    x, t = _randn(3, 4), _randn(3, 4, seed=1)
    _check(getattr(nn, name)(**args), getattr(torch.nn, name)(**args), x, t)


def test_classification_modules():
    x, t = _randn(5, 3), np.array([0, 2, 1, 1, 0])
    _check(nn.CrossEntropyLoss(reduction="sum"), torch.nn.CrossEntropyLoss(reduction="sum"), x, t)
    logp = TF.log_softmax(torch.tensor(x), 1).numpy()
    _check(nn.NLLLoss(ignore_index=1), torch.nn.NLLLoss(ignore_index=1), logp, t)
    p, y = 1 / (1 + np.exp(-x)), (x > 0).astype(float)
    _check(nn.BCELoss(), torch.nn.BCELoss(), p, y)


def test_float32_inputs_give_float32_losses_and_gradients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    t_cls = np.array([0, 2, 1, 1])
    t_real = rng.random((4, 3))  # float64 target: cast to the input's dtype
    cases = [
        lambda a: F.cross_entropy(a, Tensor(t_cls), weight=np.ones(3), label_smoothing=0.1),
        lambda a: F.cross_entropy(a, Tensor(t_real / t_real.sum(1, keepdims=True))),
        lambda a: F.nll_loss(a, Tensor(t_cls), ignore_index=1),
        lambda a: F.mse_loss(a, Tensor(t_real)),
        lambda a: F.huber_loss(a, Tensor(t_real)),
        lambda a: F.binary_cross_entropy_with_logits(a, Tensor(t_real), pos_weight=np.ones(3)),
        lambda a: F.binary_cross_entropy(a.sigmoid(), Tensor(t_real)),
        lambda a: F.multi_margin_loss(a, Tensor(t_cls), p=2),
        lambda a: F.hinge_embedding_loss(a, Tensor(np.sign(t_real - 0.5))),
    ]
    for i, loss_fn in enumerate(cases):
        xo = Tensor(x, requires_grad=True)
        loss = loss_fn(xo)
        loss.backward()
        assert loss.dtype == np.float32, i
        assert xo.grad.dtype == np.float32, i


@pytest.mark.parametrize("name", ["cross_entropy", "bce_with_logits", "huber", "nll_ignore"])
def test_second_order_gradients_match_pytorch(name):
    """Composites differentiate twice: Hessian-vector products agree with PyTorch's."""
    import autograd

    x = _randn(4, 3) * 2
    t_cls = np.array([0, 2, 1, 1])
    t_real = np.random.default_rng(1).random((4, 3))
    fns = {
        "cross_entropy": (lambda a: F.cross_entropy(a, Tensor(t_cls), label_smoothing=0.1,
                                                    weight=np.array([1.0, 2.0, 0.5])),
                          lambda a: TF.cross_entropy(a, torch.tensor(t_cls), label_smoothing=0.1,
                                                     weight=torch.tensor([1.0, 2.0, 0.5],
                                                                         dtype=torch.float64))),
        "bce_with_logits": (lambda a: F.binary_cross_entropy_with_logits(a, Tensor(t_real)),
                            lambda a: TF.binary_cross_entropy_with_logits(
                                a, torch.tensor(t_real))),
        "huber": (lambda a: F.huber_loss(a, Tensor(t_real), delta=0.5),
                  lambda a: TF.huber_loss(a, torch.tensor(t_real), delta=0.5)),
        # (PyTorch has no second derivative for multi_margin_loss to compare with)
        "nll_ignore": (lambda a: F.nll_loss(F.log_softmax(a, 1), Tensor(t_cls), ignore_index=1),
                       lambda a: TF.nll_loss(TF.log_softmax(a, 1), torch.tensor(t_cls),
                                             ignore_index=1)),
    }
    ours_fn, torch_fn = fns[name]
    v = _randn(4, 3, seed=8)
    xo = Tensor(x, requires_grad=True)
    (g,) = autograd.grad(ours_fn(xo), [xo], create_graph=True)
    (hv,) = autograd.grad((g * Tensor(v)).sum(), [xo])
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(torch_fn(xt), [xt], create_graph=True)
    (hvt,) = torch.autograd.grad((gt * torch.tensor(v)).sum(), [xt])
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hv.data, hvt.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.uint64])
def test_any_integer_target_dtype_works(dtype):
    x = _randn(3, 4)
    t = np.array([0, 3, 1])
    for fn in ("cross_entropy", "nll_loss", "multi_margin_loss"):
        ours = getattr(F, fn)(Tensor(x), Tensor(t.astype(dtype))).item()
        ref = getattr(TF, fn)(torch.tensor(x), torch.tensor(t)).item()
        assert ours == pytest.approx(ref, rel=1e-12), fn
