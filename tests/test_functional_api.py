"""autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against torch.autograd.functional
and torch.func.hessian: values, return conventions, strict and create_graph."""
import numpy as np
import pytest

import autograd as ag
import autograd.functional as AF
import nn.functional as F
from autograd import Tensor


def _np(x):
    if isinstance(x, tuple):
        return tuple(_np(t) for t in x)
    return np.asarray(x.detach().numpy() if hasattr(x, "detach") else x.data)


def _close(ours, theirs, rtol=1e-9, atol=1e-12):
    ours, theirs = _np(ours), _np(theirs)
    if isinstance(ours, tuple):
        assert isinstance(theirs, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, rtol, atol)
        return
    assert not isinstance(theirs, tuple)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def _pair(arrays):
    import torch

    return tuple(Tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


# functions written once against either library's Tensor methods
def _composite(x, y):
    return (x.tanh() * y).exp().sum(-1) + (x * x).sum()


def _two_outputs(x, y):
    return (x * y).sin(), (x - y).sum()


RNG = np.random.default_rng(21)
X, Y = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))


@pytest.mark.parametrize("fn", [_composite, _two_outputs])
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_matches_torch(fn, strategy):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair([X, Y])
    _close(AF.jacobian(fn, ours, strategy=strategy), torch.autograd.functional.jacobian(fn, theirs))
    _close(AF.jacobian(lambda x: fn(x, ours[1]), ours[0], strategy=strategy),
           torch.autograd.functional.jacobian(lambda x: fn(x, theirs[1]), theirs[0]))


def test_single_tensor_conventions():
    x = Tensor(X)
    jac = AF.jacobian(lambda t: t.exp(), x)
    assert isinstance(jac, Tensor) and jac.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(jac.data.reshape(6, 6), np.diag(np.exp(X).reshape(-1)))
    out, vjp = AF.vjp(lambda t: (t * t).sum(), x)
    assert isinstance(vjp, Tensor) and out.shape == ()
    np.testing.assert_allclose(vjp.data, 2 * X)
    h = AF.hessian(lambda t: (t ** 3).sum(), x)
    assert h.shape == (2, 3, 2, 3)
    assert not h.requires_grad and not jac.requires_grad


@pytest.mark.parametrize("name", ["vjp", "jvp", "hvp", "vhp"])
def test_products_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair([X, Y])
    rng = np.random.default_rng(22)
    scalar = name in ("hvp", "vhp")
    fn = (lambda x, y: _composite(x, y).sum()) if scalar else _composite
    if name == "vjp":
        v = rng.standard_normal(2)
        vs = (Tensor(v), torch.tensor(v))
    else:
        v = [rng.standard_normal(X.shape), rng.standard_normal(Y.shape)]
        vs = _pair(v)
    out, res = getattr(AF, name)(fn, ours, vs[0])
    tout, tres = getattr(torch.autograd.functional, name)(fn, theirs, vs[1])
    _close(out, tout)
    _close(res, tres)


def test_v_none_for_single_elements_and_errors_otherwise():
    x = Tensor(np.array([1.5]))
    out, g = AF.vjp(lambda t: (t * t).sum(), x)
    assert float(g.data[0]) == 3.0
    out, t = AF.jvp(lambda t: t * t, x)
    assert float(t.data[0]) == 3.0
    with pytest.raises(ValueError, match="vjp: v can be None only"):
        AF.vjp(lambda t: t * 2, Tensor(X))
    with pytest.raises(ValueError, match="jvp: entry 0 of v has shape"):
        AF.jvp(lambda t: t * 2, Tensor(X), Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="jacobian: inputs must be a Tensor"):
        AF.jacobian(lambda t: t, np.ones(3))
    with pytest.raises(ValueError, match="hessian: func must return a single-element"):
        AF.hessian(lambda t: t * 2, Tensor(X))


def test_strict_names_an_independent_input():
    x, y = Tensor(X), Tensor(Y)
    jac = AF.jacobian(lambda a, b: a * 2, (x, y))
    assert np.all(jac[1].data == 0)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, y), strict=True)


def test_create_graph_lets_the_result_be_differentiated():
    x = Tensor(np.array([0.3, -0.7]), requires_grad=True)
    jac = AF.jacobian(lambda t: (t ** 3), x, create_graph=True)
    assert jac.requires_grad
    (g,) = ag.grad([jac.sum()], [x])  # d/dx of sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(g.data, 6 * x.data)


def _mlp_loss(params, x, target, lib):
    w1, b1, w2, b2 = params
    if lib == "torch":
        import torch

        tf = torch.nn.functional
        return tf.cross_entropy(tf.linear(tf.linear(x, w1, b1).tanh(), w2, b2), torch.tensor(target))
    return F.cross_entropy(F.linear(F.linear(x, w1, b1).tanh(), w2, b2), Tensor(target))


def test_hessian_of_a_small_mlp_matches_torch_func():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(23)
    x, target = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    params = [rng.standard_normal((4, 3)) * 0.5, rng.standard_normal(4) * 0.1,
              rng.standard_normal((2, 4)) * 0.5, rng.standard_normal(2) * 0.1]
    ours, theirs = _pair(params)
    h = AF.hessian(lambda *p: _mlp_loss(p, Tensor(x), target, "ours"), ours)
    ht = torch.func.hessian(lambda *p: _mlp_loss(p, torch.tensor(x), target, "torch"),
                            argnums=(0, 1, 2, 3))(*theirs)
    for i in range(4):
        _close(h[i], tuple(ht[i]))


def test_hessian_of_a_small_cnn_matches_torch_func():
    torch = pytest.importorskip("torch")
    from nn.functional_conv import conv2d, max_pool2d

    rng = np.random.default_rng(24)
    x = rng.standard_normal((2, 1, 5, 5))
    w = rng.standard_normal((2, 1, 3, 3)) * 0.4

    def ours(w):
        return (max_pool2d(conv2d(Tensor(x), w, padding=1).tanh(), 2) ** 2).sum()

    def theirs(w):
        tf = torch.nn.functional
        return (tf.max_pool2d(tf.conv2d(torch.tensor(x), w, padding=1).tanh(), 2) ** 2).sum()

    _close(AF.hessian(ours, Tensor(w)), torch.func.hessian(theirs)(torch.tensor(w)))


def test_mlp_jacobian_wide_and_tall_agree_both_ways():
    rng = np.random.default_rng(25)
    w = Tensor(rng.standard_normal((7, 2)))
    tall = lambda x: (w @ x).tanh()  # noqa: E731  (2 inputs -> 7 outputs)
    x = Tensor(rng.standard_normal(2))
    _close(AF.jacobian(tall, x), AF.jacobian(tall, x, strategy="forward-mode"))
    wide = lambda x: (w.T @ x).tanh()  # noqa: E731  (7 inputs -> 2 outputs)
    x = Tensor(rng.standard_normal(7))
    _close(AF.jacobian(wide, x), AF.jacobian(wide, x, strategy="forward-mode"))


def test_old_composite_imports_still_work():
    from autograd.composites import softmax as direct
    from autograd.functional import softmax

    assert softmax is direct
