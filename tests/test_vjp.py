"""One rule, two namespaces: every op's `vjp` on arrays (ARRAYS) against the same rule on
Tensor ops (TENSORS, the create_graph path), and 0-d results.

backward() without create_graph carries arrays and calls `Function.vjp` where an op has
one; with create_graph it calls `backward`, which for a rule written once runs that rule on
recorded Tensor ops. Both must give the same gradients.
"""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor
from autograd.ops import PRIMITIVES

from test_gradcheck_primitives import CASES


def _with_vjp():
    for op in PRIMITIVES:
        if op.vjp is None:
            continue
        for case in CASES[op]():
            label, fn, inputs = case[:3]
            yield pytest.param(fn, inputs, id=label)


def _grads(fn, arrays, create_graph, weight_seed=0):
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) if a.dtype.kind == "f"
               else Tensor(a) for a in map(np.asarray, arrays)]
    out = fn(*tensors)
    weight = np.random.default_rng(weight_seed).uniform(0.5, 1.5, out.shape)
    diff = [t for t in tensors if t.requires_grad]
    grads = ag.grad([out], diff, grad_outputs=[Tensor(weight)], create_graph=create_graph,
                    allow_unused=True)
    return [None if g is None else np.asarray(g.data) for g in grads]


# Primitives allowed to state their rule twice, a recorded `backward` beside an array
# `vjp`. Each entry says why; the list only shrinks.
TWO_RULES_ALLOWED = {
    # The fused recurrences: their vjp is backpropagation through time in in-place NumPy
    # loops; their backward replays the recurrence in Tensor ops and differentiates that
    # (see the NOTE on autograd.ops.rnn._Recurrence).
    "RNNLayer", "LSTMLayer", "GRULayer",
}


def _rule_owners():
    """Every primitive, and the ops outside autograd.ops that have a rule (checkpoint)."""
    from autograd.checkpointing import Checkpoint

    return PRIMITIVES + (Checkpoint,)


def test_no_primitive_states_its_rule_twice():
    # One rule per derivative (issue 13): an op with a namespace vjp inherits Function's
    # backward, which runs that same rule on Tensor ops; its own backward would be a second
    # copy of the derivative, free to drift from the first.
    twice = sorted(op.__name__ for op in _rule_owners()
                   if op.vjp is not None and op.backward is not ag.Function.backward)
    assert twice == sorted(TWO_RULES_ALLOWED)


def test_every_primitive_states_its_rule_as_a_namespace_vjp():
    # Not a Tensor-only backward either: the array path then pays a Tensor per product.
    missing = sorted(op.__name__ for op in _rule_owners() if op.vjp is None)
    assert missing == []


def test_every_vjp_takes_a_namespace():
    # A vjp without `on` would be called with TENSORS by Function.backward and fail.
    import inspect

    for op in _rule_owners():
        if op.vjp is not None and op.__name__ not in TWO_RULES_ALLOWED:
            params = inspect.signature(op.vjp).parameters
            assert list(params)[:4] == ["self", "grad", "out", "on"], op.__name__


def test_the_hot_ops_have_an_array_rule():
    names = {op.__name__ for op in PRIMITIVES if op.vjp is not None}
    assert {"Add", "Sub", "Mul", "Div", "Neg", "Relu", "Tanh", "Exp", "Log", "Sum", "Reshape",
            "MatMul", "Linear", "CrossEntropy"} <= names


@pytest.mark.parametrize("fn, inputs", list(_with_vjp()))
def test_vjp_agrees_with_backward(fn, inputs):
    fast = _grads(fn, inputs, create_graph=False)
    reference = _grads(fn, inputs, create_graph=True)
    for a, b in zip(fast, reference):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_an_op_without_vjp_runs_its_backward_on_tensors():
    seen = []

    class Square(ag.Function):
        name = "square"

        def forward(self, x):
            return x * x

        def backward(self, grad, out):
            seen.append(type(grad))
            return (grad * 2 * self.inputs[0],)

    x = Tensor([1.0, 3.0], requires_grad=True)
    Square.apply(x).sum().backward()
    assert seen == [Tensor]
    np.testing.assert_array_equal(x.grad.data, [2.0, 6.0])


def test_float32_gradients_stay_float32_on_the_array_path():
    x = Tensor(np.float32(0.5), requires_grad=True)
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    y = ((x * 3).tanh() * w).sum() / 2 - (w @ Tensor(np.ones((2, 1), np.float32))).exp().sum()
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()


# ---- 0-d results hold NumPy scalars ------------------------------------------------------------

def test_a_0d_result_reads_like_a_0d_array():
    a = Tensor(2.0, requires_grad=True)
    y = a * a + 1
    assert y.shape == () and y.dtype == np.float32 and y.ndim == 0 and y.size == 1
    assert float(y) == 5.0 and y.item() == 5.0
    assert type(y.numpy()) is np.ndarray and y.numpy().shape == ()
    assert "tensor(5., grad_fn=<add>)" == repr(y)


@pytest.mark.parametrize("change, expected", [
    (lambda y: y.zero_(), 0.0), (lambda y: y.fill_(7.0), 7.0), (lambda y: y.copy_(Tensor(3.0)), 3.0),
    (lambda y: y.add_(1.0), 5.0), (lambda y: y.mul_(2.0), 8.0), (lambda y: y.__iadd__(1.0), 5.0),
])
def test_in_place_methods_work_on_a_0d_result(change, expected):
    a = Tensor(2.0, requires_grad=True)
    y = a * a
    with ag.no_grad():
        out = change(y)
    assert out is y and float(y) == expected and y._version == 1
    assert type(y.data) is np.ndarray


def test_in_place_change_of_a_saved_0d_result_is_still_caught():
    a = Tensor(2.0, requires_grad=True)
    y = a * a
    z = y * y
    with ag.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="mul"):
        z.backward()


def test_a_neuron_level_graph_matches_the_batched_graph():
    # micrograd's style: every weight and input a 0-d tensor, every product its own node.
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((1, 4))
    x = rng.standard_normal(3)
    w1 = [[Tensor(v, dtype="float64", requires_grad=True) for v in row] for row in W1]
    w2 = [[Tensor(v, dtype="float64", requires_grad=True) for v in row] for row in W2]
    hidden = [sum((wi * xi for wi, xi in zip(row, x)), Tensor(0.0, dtype="float64")).relu()
              for row in w1]
    out = sum((wi * hi for wi, hi in zip(w2[0], hidden)), Tensor(0.0, dtype="float64")).tanh()
    out.backward()

    B1 = Tensor(W1, requires_grad=True)
    B2 = Tensor(W2, requires_grad=True)
    ((B2 @ (B1 @ Tensor(x.reshape(3, 1))).relu()).tanh()).sum().backward()
    np.testing.assert_allclose([[w.grad.item() for w in row] for row in w1], B1.grad.data, rtol=1e-12)
    np.testing.assert_allclose([[w.grad.item() for w in row] for row in w2], B2.grad.data, rtol=1e-12)


def test_a_rule_written_once_runs_on_arrays_and_on_tensors():
    from autograd.namespaces import ARRAYS

    seen = []

    class Cube(ag.Function):
        name = "cube"

        def forward(self, x):
            return x ** 3

        def vjp(self, grad, out, on=ARRAYS):
            seen.append(on.graph)
            x = on.value(self.inputs[0])
            return (grad * 3 * x * x,)

    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (g,) = ag.grad([Cube.apply(x).sum()], [x])
    assert seen == [False] and isinstance(g.data, np.ndarray)
    (g2,) = ag.grad([Cube.apply(x).sum()], [x], create_graph=True)
    assert seen == [False, True] and g2.requires_grad
    (h,) = ag.grad([g2.sum()], [x])
    np.testing.assert_allclose(h.data, 6 * x.data)
