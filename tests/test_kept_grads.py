"""Gradients of a released graph's small tensors, recomputed when a picture reads them
(autograd.kept_grads), equal those a retained graph keeps; where they cannot be known again
they are None, never wrong."""
import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor
from autograd.function import Function
from autograd.kept_grads import kept_grad
from autograd.summary import TensorSummary


def _ops(roots):
    """Every op the roots reach, in a fixed order (a depth-first walk over `parents`)."""
    order, seen = [], set()
    stack = [r.grad_fn for r in reversed(roots)]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        for p in reversed(node.parents):
            stack.append(p if isinstance(p, Function) else p.grad_fn)
    return order


def _kept(build, retain):
    """The kept gradient of every op of the graph `build()` makes, after one backward()."""
    roots, gradients = build()
    ag.backward(roots, gradients, retain_graph=retain)
    grads = [kept_grad(node) for node in _ops(roots)]
    assert roots[0].grad_fn.released is not retain
    return [None if g is None else np.asarray(g) for g in grads]


def _same_as_retained(build):
    retained, released = _kept(build, True), _kept(build, False)
    assert len(retained) == len(released)
    for i, (a, b) in enumerate(zip(retained, released)):
        assert (a is None) == (b is None), i
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape, i
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=0, err_msg=str(i))
    return released


def textbook():
    x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    return [(x + y) * z], None


def neurons():
    # micrograd's flow: a two-layer net built neuron by neuron from 0-d tensors, weights
    # shared by every sample (so most ops read a leaf another op guards)
    rng = np.random.default_rng(0)
    w1 = [[Tensor(rng.normal(), requires_grad=True) for _ in range(2)] for _ in range(3)]
    w2 = [Tensor(rng.normal(), requires_grad=True) for _ in range(3)]
    b = Tensor(0.1, requires_grad=True)
    loss = Tensor(0.0)
    for x, y in ((0.5, 1.0), (-1.5, -1.0), (2.0, 1.0)):
        hidden = [(w[0] * x + w[1] * -x).tanh() for w in w1]
        out = sum((h * v for h, v in zip(hidden, w2)), b)
        loss = loss + (out - y) ** 2
    return [loss], None


def broadcast_and_cast():
    a = Tensor(np.arange(6.0).reshape(2, 3) / 7, requires_grad=True)
    b = Tensor(np.array([0.5, -1.0, 2.0], np.float32), requires_grad=True)
    h = (a * b.astype("float64")).exp()
    s = (h + b.astype("float64")).sigmoid()
    return [(s * s).sum()], None


def small_through_a_large_op():
    # s feeds a large op (released with its state, so it left what it gave s) and a small one
    w = Tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
    big = Tensor(np.random.default_rng(1).normal(size=(50, 3)))
    s = (w * 2).tanh()
    t = s * 3
    return [(big * t).sum() + (s * s).sum()], None


def small_non_elementwise_ops():
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True)
    m = (x @ x.T).relu()
    return [m.sum(axis=0).max() + m.T.mean()], None


def two_roots_sharing_a_tensor():
    x = Tensor(np.array([1.0, 2.0, -1.0]), requires_grad=True)
    h = (x * x).tanh()
    return [(h * 2).sum(), (h + x).prod()], [Tensor(np.float64(1.0)), Tensor(np.float64(0.5))]


def with_a_hook():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    h = (x * 3).tanh()
    h.register_hook(lambda g: g * 10)  # what flows below h is the hooked gradient
    return [(h * h + h).sum()], None


def a_module():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]))
    return [((model(x) - 1.0) ** 2).mean()], None


@pytest.mark.parametrize("build", [textbook, neurons, broadcast_and_cast, small_through_a_large_op,
                                   small_non_elementwise_ops, two_roots_sharing_a_tensor,
                                   with_a_hook, a_module])
def test_recomputed_gradients_equal_a_retained_graphs(build):
    released = _same_as_retained(build)
    assert any(g is not None for g in released)


def test_the_neuron_graph_keeps_no_gradient_until_a_picture_asks():
    (loss,), _ = neurons()
    loss.backward()
    inner = [node for node in _ops([loss])[1:] if node.name == "tanh"]
    assert inner and all(node.out_grad is None for node in inner)
    assert all(kept_grad(node) is not None for node in inner)
    assert all(node.out_grad is not None for node in inner)  # filled in, once


def test_a_gradient_through_a_tensor_changed_in_place_is_not_recomputed():
    w = nn.Parameter(np.array([0.5, -1.0]))
    x = Tensor(np.array([2.0, 3.0]))
    h = (w * x).tanh()
    loss = (h * w).sum()  # dL/dh = w: it reads w, which the step below changes
    loss.backward()
    expected = w.data.copy()
    nn.optim.SGD([w], lr=0.1).step()
    assert kept_grad(h.grad_fn) is None  # not w's new values
    # drawn before the step, it is there
    w2 = nn.Parameter(expected.copy())
    h2 = (w2 * x).tanh()
    loss2 = (h2 * w2).sum()
    loss2.backward()
    np.testing.assert_allclose(kept_grad(h2.grad_fn), expected)


def test_a_dropped_root_leaves_its_graphs_gradients_unknown():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).tanh()
    loss = (h * h).sum()
    loss.backward()
    del loss
    assert kept_grad(h.grad_fn) is None


def test_a_retained_then_released_backward_shows_the_second_gradient():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).tanh()
    y = h * 2
    y.backward(Tensor(np.ones(2)), retain_graph=True)
    y.backward(Tensor(np.array([3.0, -1.0])))
    np.testing.assert_allclose(kept_grad(h.grad_fn), [6.0, -2.0])


def test_grad_leaves_nothing_to_recompute():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = (x * 3).tanh()
    ag.grad((h * h).sum(), [x])
    assert kept_grad(h.grad_fn) is None


def test_a_large_intermediates_gradient_is_never_kept():
    x = Tensor(np.ones((4, 4)), requires_grad=True)
    h = (x * 2).tanh()
    loss = (h * 3).sum()
    loss.backward()
    summary = loss.grad_fn.parents[0]
    assert isinstance(summary, TensorSummary) and summary.grad is None


def test_create_graph_then_release_keeps_what_large_ops_gave():
    # create_graph=True walks Tensors; released anyway, large ops keep arrays for small inputs
    def build():
        w = Tensor(np.array([0.3, -0.7, 1.1]), requires_grad=True)
        big = Tensor(np.random.default_rng(1).normal(size=(50, 3)))
        s = (w * 2).tanh()
        return (big * s).sum()
    retained = build()
    retained.backward(retain_graph=True)
    released = build()
    ag.backward([released], create_graph=True, retain_graph=False)
    a = [kept_grad(n) for n in _ops([retained])]
    b = [kept_grad(n) for n in _ops([released])]
    for x, y in zip(a, b):
        assert (x is None) == (y is None)
        if x is not None:
            assert isinstance(y, (np.ndarray, np.generic))
            np.testing.assert_allclose(np.asarray(y), np.asarray(x), rtol=1e-12)


def test_dropping_a_long_released_chain_frees_every_node():
    import gc
    import weakref

    x = Tensor(np.array([0.5, -0.25]), requires_grad=True)
    h = x
    for _ in range(3000):
        h = (h * 1.0001).tanh()
    loss = h.sum()
    loss.backward()
    probes = [weakref.ref(t) for t in (h, h.grad_fn._kept[0])]
    del h
    assert all(p() is not None for p in probes)  # the graph outlives backward
    gc.disable()
    try:
        del loss  # freed by reference counting alone, from the root down
        assert all(p() is None for p in probes)
    finally:
        gc.enable()


def test_a_rule_that_fails_on_replay_leaves_its_inputs_gradients_unknown():
    calls = []

    class Once(Function):
        """2x, whose rule refuses to run a second time (a user's op with one-shot state)."""
        name = "once"

        def forward(self, x):
            return x * 2

        def backward(self, grad, out):
            calls.append(1)
            if len(calls) > 1:
                raise RuntimeError("state already consumed")
            return (grad * 2,)

    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    h = x.tanh()
    y = Once.apply(h)
    loss = (y * y).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 8 * np.tanh([1.0, -1.0]) * (1 - np.tanh([1.0, -1.0]) ** 2))
    np.testing.assert_allclose(kept_grad(y.grad_fn), 2 * y.data)  # kept by the walk
    assert kept_grad(h.grad_fn) is None and len(calls) == 2  # tried again, refused: not kept
