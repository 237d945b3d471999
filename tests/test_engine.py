"""Engine properties: graph shapes, depth, grad modes, freeing, hooks, grad(), higher order,
numerical stability, in-place checks, anomaly detection, custom Functions, Tensor basics."""
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import autograd as ag
from autograd import Function, Tensor
from autograd.ops import Neg
from autograd.summary import SMALL


def leaf(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


# ---- graph shapes ------------------------------------------------------------------------

def test_diamond_graph_sums_both_paths():
    x = leaf([1.0, -2.0, 3.0])
    a = x * 2
    b = x.exp()
    (a * b).sum().backward()
    # d/dx (2x e^x) = 2 e^x + 2x e^x
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(x.data) * (1 + x.data))


def test_fan_out_of_one_tensor_into_many_ops():
    x = leaf([0.5, 2.0])
    terms = [x * k for k in range(1, 6)] + [x * x, x.sin()]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.sum().backward()
    np.testing.assert_allclose(x.grad.data, 15 + 2 * x.data + np.cos(x.data))


def test_same_tensor_twice_in_one_op():
    x = leaf([3.0])
    (x * x).backward(np.ones(1))
    (x + x).backward(np.ones(1))
    np.testing.assert_allclose(x.grad.data, [6.0 + 2.0])


@pytest.mark.slow
def test_chain_of_a_million_ops_backpropagates_without_recursion():
    x = leaf(0.5)
    y = x
    for _ in range(1_000_000):
        y = Neg.apply(y)
    y = y * 3
    y.backward()
    assert x.grad.item() == 3.0  # an even number of negations
    del y
    gc.collect()


def test_accumulation_across_calls_on_a_retained_graph():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * 3 * x.data ** 2)


def test_grad_of_a_leaf_is_a_fresh_buffer():
    # Accumulating in place must never write into a gradient the graph still holds.
    x = leaf([1.0, 2.0])
    g = Tensor(np.array([1.0, 1.0]))
    (x * 1).backward(g)
    (x * 1).backward(g)
    np.testing.assert_allclose(g.data, [1.0, 1.0])
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


def test_create_graph_grads_never_alias_and_accept_later_accumulation():
    # add hands one gradient object to both inputs; each leaf must still own its .grad.
    x, y = leaf([1.0, 1.0, 1.0]), leaf([1.0, 1.0, 1.0])
    (x + y).sum().backward(create_graph=True)
    assert x.grad is not y.grad
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0, 6.0])
    np.testing.assert_allclose(y.grad.data, [1.0, 1.0, 1.0])
    w = leaf([1.0, 2.0])
    (w * w).sum().backward(create_graph=True)
    kept = w.grad
    assert kept.grad_fn is not None
    (w * 3).sum().backward()  # plain accumulation onto a grad that is part of a graph
    np.testing.assert_allclose(w.grad.data, [5.0, 7.0])
    np.testing.assert_allclose(kept.data, [2.0, 4.0])  # not written through
    z = leaf([1.0, 2.0])
    z.sum().backward(create_graph=True)  # the sum's gradient is a broadcast (read-only) view
    z.grad.zero_()
    z.sum().backward()
    np.testing.assert_allclose(z.grad.data, [1.0, 1.0])


# ---- grad modes ----------------------------------------------------------------------------

def test_no_grad_and_enable_grad_as_context_managers_nest():
    x = leaf([1.0])
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        assert not (x * 2).requires_grad
        with ag.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled() and (x * 2).requires_grad


def test_grad_modes_as_decorators_with_and_without_parentheses():
    x = leaf([1.0])

    @ag.no_grad()
    def called():
        return x * 2

    @ag.no_grad
    def bare():
        return x * 2

    @ag.enable_grad()
    def inner():
        return x * 2

    assert not called().requires_grad and not bare().requires_grad
    with ag.no_grad():
        assert inner().requires_grad
    assert called.__name__ == "called" and ag.is_grad_enabled()


def test_grad_mode_restored_after_an_exception():
    with pytest.raises(KeyError):
        with ag.no_grad():
            raise KeyError("boom")
    assert ag.is_grad_enabled()


def test_set_grad_enabled_as_context_call_and_decorator():
    x = leaf([1.0])
    with ag.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ag.is_grad_enabled()
    with ag.no_grad():
        with ag.set_grad_enabled(True):
            assert (x * 2).requires_grad
    try:
        ag.set_grad_enabled(False)  # a plain call switches until switched back, as PyTorch
        assert not ag.is_grad_enabled()
    finally:
        ag.set_grad_enabled(True)
    assert ag.is_grad_enabled()

    @ag.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad

    assert ag.is_grad_enabled() and f() is False and ag.is_grad_enabled()


def test_grad_mode_is_thread_local():
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker():
        with ag.no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = ag.is_grad_enabled()

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(5)
    try:
        x = leaf([1.0])
        assert ag.is_grad_enabled() and (x * 2).requires_grad  # main thread unaffected
    finally:
        release.set()
        thread.join(5)
    assert seen["worker"] is False

    # A new thread starts in grad mode even when the spawning thread is in no_grad.
    with ag.no_grad():
        t = threading.Thread(target=lambda: seen.update(fresh=ag.is_grad_enabled()))
        t.start()
        t.join(5)
    assert seen["fresh"] is True


# ---- freeing the graph -----------------------------------------------------------------------

def _live_tensors(larger_than=-1):
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Tensor and o.data.size > larger_than)


def _build(x, n=50):
    y = x
    for _ in range(n):
        y = (y * 1.01).tanh()
    return y.sum()


@pytest.mark.parametrize("retain", [False, True])
def test_graph_is_freed_after_backward_unless_retained(retain):
    x = leaf(np.linspace(-1, 1, 16))  # more than autograd.summary.SMALL elements
    before = _live_tensors()
    before_large = _live_tensors(larger_than=SMALL)
    loss = _build(x)
    a = x * 3
    probe = weakref.ref(a)
    loss = loss + a.sum()
    del a
    during = _live_tensors()
    loss.backward(retain_graph=retain)
    after = _live_tensors()
    assert during - before > 100  # the graph holds its intermediates...
    if retain:
        assert probe() is not None and after - before > 100
    else:
        # ...and lets the large ones go: only x.grad remains (the small ones, the constants
        # 1.01 and the sums, stay for pictures of the graph: see the next test)
        assert probe() is None
        large = _live_tensors(larger_than=SMALL) - before_large
        assert large < 3, f"{large} large tensors still alive after backward"


def test_small_intermediates_outlive_backward_for_pictures_until_the_output_goes():
    x = leaf(np.linspace(-1, 1, 4))  # small: released ops keep such tensors themselves
    before = _live_tensors()
    loss = _build(x)
    a = x * 3
    probe = weakref.ref(a)
    loss = loss + a.sum()
    del a
    loss.backward()
    assert probe() is not None and probe().grad_fn.released  # kept, its op released
    del loss
    assert probe() is None and _live_tensors() - before < 5


def test_no_graph_is_kept_under_no_grad_or_without_leaves():
    x = leaf([1.0, 2.0])
    before = _live_tensors()
    with ag.no_grad():
        y = _build(x)
    z = _build(Tensor(x.data))
    assert y.grad_fn is None and z.grad_fn is None
    assert _live_tensors() - before < 10  # y and z (a graph would hold 200 tensors)


def test_backward_twice_raises_a_clear_error_unless_retained():
    x = leaf([1.0, 2.0])
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.data, 3 * 2 * np.exp(x.data))


# ---- retain_grad, hooks, gradient checks --------------------------------------------------------

def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    m = x * 5  # not retained
    (h * h + m).sum().backward()
    np.testing.assert_allclose(h.grad.data, 2 * h.data)
    assert m.grad is None
    np.testing.assert_allclose(x.grad.data, 2 * 9 * x.data + 5)


def test_hook_reads_and_replaces_a_gradient():
    x = leaf([1.0, 2.0])
    h = x * x
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))
    handle = h.register_hook(lambda g: g * 10)
    h.sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.data, 10 * 2 * x.data)
    handle.remove()
    x.grad = None
    h.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_hook_on_a_leaf_changes_what_is_accumulated():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 0 + 7)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [7.0, 7.0])


def test_hook_returning_a_wrong_shape_is_rejected_naming_both_shapes():
    x = leaf([[1.0, 2.0, 3.0]])
    h = x * 2
    h.register_hook(lambda g: g.sum(axis=0))
    with pytest.raises(ValueError, match=r"hook.*\(3,\).*\(1, 3\)"):
        h.sum().backward()


def test_backward_gradient_shape_and_value_are_checked():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        y.backward(np.ones(2))
    y.backward(np.array([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(x.grad.data, [2.0, 1.0, 0.0])


def test_backward_on_a_tensor_without_graph_explains():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        Tensor([1.0]).backward()


# ---- autograd.grad -------------------------------------------------------------------------

def test_grad_returns_gradients_without_touching_dot_grad():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gy = ag.grad((x * y).sum(), [x, y])
    np.testing.assert_allclose(gx.data, y.data)
    np.testing.assert_allclose(gy.data, x.data)
    assert x.grad is None and y.grad is None


def test_grad_of_a_single_input_and_grad_outputs():
    x = leaf([1.0, 2.0])
    (gx,) = ag.grad(x * x, x, grad_outputs=Tensor(np.array([1.0, 10.0])))
    np.testing.assert_allclose(gx.data, [2.0, 40.0])


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        ag.grad((x * 2).sum(), [x, unused])
    gx, gu = ag.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x.exp()
    (gh,) = ag.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.data, 2 * h.data)
    assert x.grad is None


# ---- higher order (against PyTorch) ---------------------------------------------------------

SECOND = {
    "x^3 sin x": (lambda x: x ** 3 * x.sin(), lambda x: x ** 3 * x.sin()),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "softplus": (lambda x: x.softplus(), lambda x: __import__("torch").nn.functional.softplus(x)),
    "gelu": (lambda x: x.gelu(), lambda x: __import__("torch").nn.functional.gelu(x)),
    "gelu tanh": (lambda x: x.gelu("tanh"),
                  lambda x: __import__("torch").nn.functional.gelu(x, approximate="tanh")),
    "log_softmax": (lambda x: x.log_softmax() * (x + 2), lambda x: x.log_softmax(-1) * (x + 2)),
    "sqrt log": (lambda x: (x * x + 1).sqrt() * (x * x + 1).log(),
                 lambda x: (x * x + 1).sqrt() * (x * x + 1).log()),
    "pow tensor": (lambda x: (x * x + 1) ** x, lambda x: (x * x + 1) ** x),
}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives_match_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = SECOND[name]
    data = np.array([-1.3, -0.2, 0.4, 1.7])
    x = leaf(data)
    (g,) = ag.grad(ours(x).sum(), [x], create_graph=True)
    (h,) = ag.grad(g.sum(), [x])
    tx = torch.tensor(data, requires_grad=True)
    (tg,) = torch.autograd.grad(theirs(tx).sum(), [tx], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [tx])
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.data, th.numpy(), rtol=1e-10, atol=1e-12)


def test_backward_with_create_graph_gives_differentiable_grads():
    x = leaf([2.0])
    (x ** 4).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    (g2,) = ag.grad(x.grad.sum(), [x])
    assert g2.item() == pytest.approx(12 * 2.0 ** 2)


def test_hessian_vector_product_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a, x0, v = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)

    def f(x, lib_a):
        return ((x @ lib_a @ x) * 0.5 + (x.tanh() ** 3 * x).sum() + (x * x).sum() * x.sum())

    x = leaf(x0)
    (g,) = ag.grad(f(x, Tensor(a)), [x], create_graph=True)
    (hv,) = ag.grad((g * Tensor(v)).sum(), [x])
    tx = torch.tensor(x0, requires_grad=True)
    (tg,) = torch.autograd.grad(f(tx, torch.tensor(a)), [tx], create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), [tx])
    np.testing.assert_allclose(hv.data, thv.numpy(), rtol=1e-10, atol=1e-12)


def test_meta_gradient_of_a_learning_rate_through_unrolled_sgd_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    X, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    Xv, yv = rng.standard_normal((5, 3)), rng.standard_normal(5)
    w0 = rng.standard_normal(3)

    def run(lib, tensor, grad_fn, w, lr):
        def loss(w, X, y):
            r = (X @ w).tanh() - y
            return (r * r).mean()

        for _ in range(3):
            (g,) = grad_fn(loss(w, tensor(X), tensor(y)), [w], create_graph=True)
            w = w - lr * g
        return loss(w, tensor(Xv), tensor(yv))

    w, lr = leaf(w0), leaf(0.3)
    val = run(ag, Tensor, ag.grad, w, lr)
    val.backward()
    tw = torch.tensor(w0, requires_grad=True)
    tlr = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    tval = run(torch, torch.tensor, torch.autograd.grad, tw, tlr)
    tval.backward()
    np.testing.assert_allclose(val.item(), tval.item(), rtol=1e-12)
    np.testing.assert_allclose(lr.grad.item(), tlr.grad.item(), rtol=1e-9)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert lr.grad.item() != 0


# ---- numerical stability -----------------------------------------------------------------------

STABLE = {
    "softmax": (lambda x: x.softmax(), lambda v: np.exp(v - v.max()) / np.exp(v - v.max()).sum()),
    "log_softmax": (lambda x: x.log_softmax(), lambda v: v - v.max() - np.log(np.exp(v - v.max()).sum())),
    "logsumexp": (lambda x: x.logsumexp(), lambda v: v.max() + np.log(np.exp(v - v.max()).sum())),
    "sigmoid": (lambda x: x.sigmoid(), lambda v: np.array([0.0 if a < 0 else 1.0 if a > 0 else 0.5 for a in v])),
    "softplus": (lambda x: x.softplus(), lambda v: np.logaddexp(0.0, v)),
}


@pytest.mark.parametrize("name", sorted(STABLE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_overflow_warning_or_nan_at_plus_minus_1000(name, dtype):
    fn, expected = STABLE[name]
    values = np.array([-1000.0, 0.0, 1000.0])
    # NOTE: underflow (exp(-2000) -> 0) is the exact answer at float precision; every other
    # floating-point event (overflow, invalid, divide by zero) is an error here.
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        for v in (values, np.full(3, 1000.0), np.full(3, -1000.0)):
            x = leaf(v, dtype)
            out = fn(x)
            (out * Tensor(np.array([1.0, 2.0, 3.0], dtype))).sum().backward()
            assert np.isfinite(out.data).all() and np.isfinite(x.grad.data).all(), name
            assert out.dtype == dtype and x.grad.dtype == dtype
            np.testing.assert_allclose(out.data, expected(v.astype(np.float64)).astype(dtype), rtol=1e-6, atol=1e-6)


# ---- in-place changes of saved tensors ---------------------------------------------------------

def test_in_place_change_of_a_saved_input_raises_naming_the_op():
    x = leaf([1.0, 2.0])
    w = Tensor(np.array([3.0, 4.0]))
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match=r"op 'mul'.*modified in place"):
        y.backward()


def test_ops_that_share_a_version_pair_still_each_see_their_own_inputs_change():
    # after two in-place updates, every w * x records versions (2, 0): one shared tuple
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with ag.no_grad():
        w.add_(1.0)
        w.add_(1.0)
    xs = [Tensor(np.array([float(k), 1.0])) for k in range(3)]
    products = [w * x for x in xs]
    assert products[0].grad_fn.versions == (2, 0)
    assert all(p.grad_fn.versions is products[0].grad_fn.versions for p in products)
    xs[1].add_(1.0)  # only the second product's saved input changes
    products[0].sum().backward()
    products[2].sum().backward()
    np.testing.assert_allclose(w.grad.data, xs[0].data + xs[2].data)
    with pytest.raises(RuntimeError, match=r"op 'mul'.*modified in place"):
        products[1].sum().backward()


def test_zero_on_a_saved_output_raises_naming_the_op():
    x = leaf([1.0, 2.0])
    e = x.exp()
    y = e.sum()  # sum reads no values: only exp's saved output is at stake
    with ag.no_grad():  # in grad mode, zero_ on a graph tensor is refused outright
        e.zero_()
    with pytest.raises(RuntimeError, match=r"op 'exp'.*saved its output"):
        y.backward()


def test_copy_into_a_saved_leaf_under_no_grad_raises_naming_the_op():
    x = leaf([1.0, 2.0])
    y = x.sin().sum()
    with ag.no_grad():
        x.copy_(Tensor(np.array([0.0, 0.0])))
    with pytest.raises(RuntimeError, match=r"op 'sin'.*copy_"):
        y.backward()


def test_in_place_change_of_an_unsaved_input_is_fine():
    x = leaf([1.0, 2.0])
    b = Tensor(np.array([3.0, 4.0]))
    y = (x + b).sum()  # add never reads its inputs in backward
    b.add_(1.0)
    y.backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


def test_in_place_on_a_leaf_that_requires_grad_is_refused_in_grad_mode():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        x.add_(1.0)


# ---- detect_anomaly ----------------------------------------------------------------------------

def test_anomaly_nan_in_forward_names_the_op():
    x = leaf([-1.0, 1.0])
    with ag.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match=r"op 'sqrt'.*NaN.*forward"):
            x.sqrt()


def test_anomaly_nan_in_backward_names_the_op():
    x = leaf([0.0, 1.0])
    with ag.detect_anomaly(), np.errstate(all="ignore"):
        y = (x.sqrt() * 0).sum()  # forward is finite; d sqrt at 0 is inf, times 0 = NaN
        with pytest.raises(FloatingPointError, match=r"op 'sqrt'.*NaN.*backward"):
            y.backward()


def test_anomaly_where_log_at_zero_explains_masking_the_input():
    x = leaf([0.0, 2.0])
    with np.errstate(all="ignore"):
        y = ag.where(x.data > 0, x.log(), 0.0).sum()
        y.backward()
    assert np.isnan(x.grad.data[0])  # the trap: 0 * (1/0)
    with ag.detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError) as info:
            ag.where(x.data > 0, x.log(), 0.0).sum().backward()
    message = str(info.value)
    assert "'log'" in message and "where" in message and "safe" in message
    # The fix the message suggests gives finite gradients.
    x.grad = None
    with ag.detect_anomaly():
        safe = ag.where(x.data > 0, x, 1.0)
        ag.where(x.data > 0, safe.log(), 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5])


def test_anomaly_mode_is_off_again_after_the_block():
    x = leaf([-1.0])
    with ag.detect_anomaly():
        pass
    with np.errstate(invalid="ignore"):
        assert np.isnan(x.sqrt().data).all()


# ---- custom Function (the README's example) -------------------------------------------------------

class Cube(Function):
    name = "cube"

    def forward(self, x):
        return x ** 3

    def backward(self, grad, out):
        (x,) = self.inputs
        return (grad * 3 * x * x,)


def test_custom_function_passes_gradcheck_to_second_order():
    assert ag.gradcheck(lambda t: Cube.apply(t), [np.array([2.0, -1.5])])

    def first(t):
        (g,) = ag.grad(Cube.apply(t).sum(), [t], create_graph=True)
        return g

    assert ag.gradcheck(first, [np.array([2.0, -1.5])])
    y = Cube.apply(Tensor([2.0], requires_grad=True))
    assert y.grad_fn.name == "cube" and y.item() == 8.0


def test_custom_function_without_backward_names_itself():
    class NoRule(Function):
        name = "no_rule"

        def forward(self, x):
            return x * 2

    y = NoRule.apply(leaf([1.0])).sum()
    with pytest.raises(NotImplementedError, match="no_rule"):
        y.backward()


@pytest.mark.parametrize("rule, error, pattern", [
    (lambda g: (g[:2],), ValueError, r"op 'broken'.*shape \(2,\) for its input 0 of shape \(3,\)"),
    (lambda g: g, TypeError, r"op 'broken' returned Tensor for its 1 input\(s\); it must return a tuple"),
    (lambda g: (g, g), TypeError, r"op 'broken' returned 2 value\(s\)"),
    (lambda g: (g.data,), TypeError, r"op 'broken' returned ndarray for its input 0"),
])
def test_a_broken_custom_rule_is_reported_naming_the_op(rule, error, pattern):
    class Broken(Function):
        name = "broken"

        def forward(self, x):
            return x * 2

        def backward(self, grad, out):
            return rule(grad)

    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(error, match=pattern):
        Broken.apply(x).sum().backward()


def test_a_rule_may_leave_out_trailing_inputs_that_need_no_gradient():
    class Scale(Function):
        name = "scale"

        def forward(self, x, k):
            return x * k

        def backward(self, grad, out):
            return (grad * self.inputs[1],)  # k is a constant: no entry for it

    x, k = leaf([1.0, 2.0]), Tensor(np.array([3.0, 4.0]))
    Scale.apply(x, k).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])
    with pytest.raises(TypeError, match=r"op 'scale' returned 1 value\(s\) for its 2 input"):
        Scale.apply(x, leaf([3.0, 4.0])).sum().backward()


def test_a_rule_may_return_a_list_and_broadcast_shaped_gradients():
    class Spread(Function):
        name = "spread"

        def forward(self, x):
            return x.sum()

        def backward(self, grad, out):
            return [grad * Tensor(np.ones((4, 3)))]  # broadcast shape: the engine sums it back

    x = leaf([1.0, 2.0, 3.0])
    Spread.apply(x).backward()
    np.testing.assert_allclose(x.grad.data, [4.0, 4.0, 4.0])


# ---- Tensor basics ---------------------------------------------------------------------------

def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([True, False]).requires_grad_()
    assert Tensor(np.arange(3), dtype="float64", requires_grad=True).requires_grad


@pytest.mark.parametrize("data, dtype, expected", [
    (1.5, None, np.float32), ([1.0, 2.0], None, np.float32), ([[1, 2.5]], None, np.float32),
    (np.zeros(2), None, np.float64), (np.zeros(2, np.float32), None, np.float32),
    (np.zeros(2, np.float16), None, np.float16), (3, None, np.int64), ([1, 2], None, np.int64),
    (np.arange(3, dtype=np.int32), None, np.int32), ([True], None, np.bool_),
    ([1, 2], "float64", np.float64), (1.5, "float64", np.float64), (np.zeros(2), "float32", np.float32),
    (np.float64(2.0), None, np.float64), (np.float32(2.0), None, np.float32),
])
def test_constructor_dtype_rules(data, dtype, expected):
    assert Tensor(data, dtype=dtype).dtype == expected


def test_casting_to_integers_cuts_the_graph():
    x = leaf([1.7, -2.2])
    i = x.astype("int64")
    assert i.dtype == np.int64 and not i.requires_grad and i.grad_fn is None
    y = x.astype("float32")
    assert y.requires_grad and y.grad_fn.name == "cast"


def test_factories_follow_the_same_dtype_rules():
    assert ag.arange(4).dtype == np.int64 and ag.arange(0, 1, 0.25).dtype == np.float32
    assert ag.arange(np.float64(0), 1, 0.5).dtype == np.float64
    np.testing.assert_allclose(ag.arange(0, 1, 0.25).data, [0, 0.25, 0.5, 0.75])
    assert ag.zeros(2, 3).dtype == np.float32 and ag.zeros((2, 3)).shape == (2, 3)
    assert ag.ones(2, dtype="float64", requires_grad=True).requires_grad
    assert ag.full((2,), 1.5).dtype == np.float32 and ag.tensor([1.0]).dtype == np.float32
    x = Tensor(np.zeros(3, np.float16))
    assert ag.zeros_like(x).dtype == np.float16 and ag.ones_like(x, dtype="float64").dtype == np.float64
    ag.manual_seed(3)
    a = ag.randn(4, dtype="float64")
    ag.manual_seed(3)
    assert np.array_equal(a.data, ag.randn(4, dtype="float64").data) and a.dtype == np.float64
    assert ag.rand(2, 2).dtype == np.float32 and ((ag.rand(100).data >= 0) & (ag.rand(100).data < 1)).all()


def test_constructor_rejects_ragged_and_non_numeric_data():
    with pytest.raises(ValueError, match="rectangular"):
        Tensor([[1.0], [1.0, 2.0]])
    with pytest.raises(TypeError, match="dtype"):
        Tensor(np.array(["a"]))


def test_python_numbers_take_the_tensor_dtype():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    for y in (x + 1, 1 + x, x * 2.5, 2.5 * x, x / 3, 3 / x, x - 1.5, 1.5 - x, x ** 2, 2 ** x,
              x.maximum(0.5), ag.where(x.data > 0, x, 0.0)):
        assert y.dtype == np.float32
    (x * 2.5).sum().backward()
    assert x.grad.dtype == np.float32


def test_mixed_dtypes_promote_and_grads_keep_each_dtype():
    a = Tensor(np.ones(2, np.float32), requires_grad=True)
    b = Tensor(np.full(2, 2.0), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.data, [2.0, 2.0])


def test_repr_shows_values_dtype_and_graph():
    assert repr(Tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(Tensor(np.zeros(2)))
    assert "requires_grad=True" in repr(leaf([1.0]))
    r = repr(leaf([1.0]) * 2)
    assert "grad_fn=<mul>" in r and "2." in r
    assert "name='w'" in repr(Tensor([1.0], name="w"))


def test_T_item_detach_and_conversions():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.T.shape == (3, 2)
    np.testing.assert_array_equal(x.T.data, x.data.T)
    assert x[1, 2].item() == 6.0 and isinstance(x[1, 2].item(), float)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        x.item()
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, y.data)  # the same data, cut from the graph
    assert float(Tensor(2.5)) == 2.5 and int(Tensor(3)) == 3
    assert len(x) == 2 and [r.shape for r in x] == [(3,), (3,)]
    z = abs(leaf([-2.0, 3.0]) * 1)
    assert z.grad_fn.name == "abs" and z.tolist() == [2.0, 3.0]


@pytest.mark.parametrize("expr, grad", [
    (lambda x: 2 - x, -1.0), (lambda x: 2 / x, -2 / 4.0), (lambda x: 3 * x, 3.0),
    (lambda x: 1 + x, 1.0), (lambda x: 2 ** x, 4 * np.log(2)), (lambda x: -x, -1.0),
    (lambda x: np.float64(3.0) * x, 3.0), (lambda x: np.array([1.0, 2.0]) + x, 2.0),
    (lambda x: np.array([1.0, 2.0]) * x, 3.0), (lambda x: np.array([5.0]) - x, -1.0),
    (lambda x: np.array([4.0]) / x, -4 / 4.0), (lambda x: np.ones((1, 1)) @ x.reshape(1, 1), 1.0),
])
def test_reflected_operators_with_numbers_and_ndarrays(expr, grad):
    x = leaf([2.0])
    y = expr(x)
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [grad])


def test_textbook_example_through_grad():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    f = (x + y) * z
    grads = ag.grad(f, [x, y, z])
    assert f.item() == -12
    assert [g.item() for g in grads] == [-4.0, -4.0, 3.0]


# ---- docstring examples ----------------------------------------------------------------------

@pytest.mark.parametrize("module", ["autograd.tensor", "autograd.engine", "autograd.function",
                                    "autograd.gradcheck", "autograd.anomaly", "autograd.composites", "autograd.functional",
                                    "autograd.forward_ad", "autograd.checkpointing",
                                    "autograd.grad_mode", "autograd.creation"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    with np.errstate(all="ignore"):
        result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {module} failed"
