"""Fused primitives (autograd/ops/fused.py): against their composites, PyTorch, and gradcheck."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, gradcheck
from autograd.ops import CrossEntropy, Linear


def _rng(seed):
    return np.random.default_rng(seed)


def gradcheck_cases(which):
    """(label, fn, float64 input arrays) for test_gradcheck_primitives' CASES table."""
    rng = _rng(7)
    if which == "linear":
        for x_shape in [(4,), (3, 4), (2, 3, 4)]:
            x, w, b = rng.normal(size=x_shape), rng.normal(size=(5, 4)), rng.normal(size=5)
            yield f"linear x{x_shape} w(5, 4) b(5,)", (lambda x, w, b: Linear.apply(x, w, b)), [x, w, b]
        x, w = rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
        yield "linear x(3, 4) w(2, 4) no bias", (lambda x, w: Linear.apply(x, w)), [x, w]
    else:
        target = np.array([0, 2, 1, 2])
        for reduction in ("mean", "sum", "none"):
            x = rng.normal(size=(4, 3)) * 3
            yield (f"cross_entropy (4, 3) reduction={reduction}",
                   (lambda x, r=reduction: CrossEntropy.apply(x, target=target, reduction=r)), [x])


def _composite_linear(x, w, b=None):
    out = x @ w.T
    return out if b is None else out + b


def _composite_cross_entropy(x, target, reduction):
    picked = -x.log_softmax(axis=1)[np.arange(len(target)), target]
    return {"mean": picked.mean, "sum": picked.sum, "none": lambda: picked}[reduction]()


@pytest.mark.parametrize("x_shape", [(4,), (6, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_its_composite(x_shape, bias):
    rng = _rng(1)
    arrays = [rng.normal(size=x_shape), rng.normal(size=(5, 4))] + ([rng.normal(size=5)] if bias else [])
    fused = [Tensor(a, requires_grad=True) for a in arrays]
    plain = [Tensor(a, requires_grad=True) for a in arrays]
    upstream = rng.normal(size=x_shape[:-1] + (5,))
    y1, y2 = Linear.apply(*fused), _composite_linear(*plain)
    np.testing.assert_allclose(y1.data, y2.data, rtol=1e-12, atol=1e-12)
    (y1 * Tensor(upstream)).sum().backward()
    (y2 * Tensor(upstream)).sum().backward()
    for f, p in zip(fused, plain):
        np.testing.assert_allclose(f.grad.data, p.grad.data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_its_composite(reduction):
    rng = _rng(2)
    x = rng.normal(size=(5, 7)) * 4
    target = rng.integers(0, 7, 5)
    a, b = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    y1 = CrossEntropy.apply(a, target=target, reduction=reduction)
    y2 = _composite_cross_entropy(b, target, reduction)
    np.testing.assert_allclose(y1.data, y2.data, rtol=1e-12)
    upstream = Tensor(rng.normal(size=y1.shape))
    (y1 * upstream).sum().backward()
    (y2 * upstream).sum().backward()
    np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-10, atol=1e-12)


def test_float32_stays_float32_and_bias_add_keeps_promotion():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    b32 = Tensor(np.ones(4, np.float32), requires_grad=True)
    assert Linear.apply(x, w, b32).dtype == np.float32
    assert Linear.apply(x, w, Tensor(np.ones(4))).dtype == np.float64  # as x @ w.T + b would
    loss = CrossEntropy.apply(Linear.apply(x, w, b32), target=np.array([0, 3]))
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == w.grad.dtype == b32.grad.dtype == np.float32


def test_cross_entropy_is_stable_for_huge_logits():
    x = Tensor(np.array([[1000.0, -1000.0, 0.0]], np.float32), requires_grad=True)
    loss = CrossEntropy.apply(x, target=np.array([1]))
    loss.backward()
    assert np.isfinite(loss.data) and np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(loss.data, 2000.0, rtol=1e-6)


def test_cross_entropy_rejects_bad_shapes_naming_the_op():
    with pytest.raises(ValueError, match="cross_entropy.*logits"):
        CrossEntropy.apply(Tensor(np.zeros((2, 3, 4))), target=np.zeros(2, int))


@pytest.mark.parametrize("which", ["linear", "cross_entropy"])
def test_second_order_gradients(which):
    for label, fn, arrays in gradcheck_cases(which):
        inputs = [Tensor(a, requires_grad=True) for a in arrays]

        def first_grad_norm(*ts):
            (g,) = ag.grad(fn(*ts).sum(), [ts[0]], create_graph=True)
            return (g * g).sum()

        assert gradcheck(first_grad_norm, inputs), label


# ---- PyTorch parity (float64) ---------------------------------------------------------------

def test_linear_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = _rng(3)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(5, 4)), rng.normal(size=5)
    ours = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = Linear.apply(*ours)
    ty = torch.nn.functional.linear(*theirs)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_pytorch(reduction):
    torch = pytest.importorskip("torch")
    rng = _rng(4)
    x, target = rng.normal(size=(6, 4)) * 3, rng.integers(0, 4, 6)
    ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = CrossEntropy.apply(ours, target=target, reduction=reduction)
    ty = torch.nn.functional.cross_entropy(theirs, torch.tensor(target), reduction=reduction)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    upstream = rng.normal(size=y.shape)
    (y * Tensor(upstream)).sum().backward()
    (ty * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
