"""Engine basics: the textbook example, accumulation, no_grad, freed graphs."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def test_textbook_chain_rule():
    x, y, z = (Tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward()
    assert f.item() == -12
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4, -4, 3)


def test_grads_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 + 2, 3 + 4])


def test_no_grad_records_nothing():
    x = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None


def test_second_backward_through_freed_graph_raises():
    x = Tensor([1.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()


def test_float_lists_become_float32_and_ints_stay_ints():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor(np.zeros(2)).dtype == np.float64
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([1, 2], requires_grad=True)


# ---- a backward that fails part-way (issue 19) ---------------------------------------------------

def test_retry_after_a_hook_raised_names_the_failure_not_a_freed_graph():
    import pytest
    import numpy as np
    from autograd import Tensor

    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    h = (x * 2).tanh()

    def bad_hook(grad):
        raise ValueError("hook says no")

    h.register_hook(bad_hook)
    loss = (h * 3).sum()
    with pytest.raises(ValueError, match="hook says no"):
        loss.backward()
    with pytest.raises(RuntimeError, match=r"an earlier backward\(\) failed part-way \(hook "
                                           r".*bad_hook on a tensor of shape \(3,\) raised "
                                           r"ValueError: hook says no\)"):
        loss.backward()


def test_retry_after_a_custom_rule_raised_names_the_op():
    import pytest
    import numpy as np
    from autograd import Function, Tensor

    class Broken(Function):
        name = "broken"

        def forward(self, x):
            return x * 1

        def backward(self, grad, out):
            raise ArithmeticError("rule failed")

    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    loss = (Broken.apply(x * 2) * 3).sum()
    with pytest.raises(ArithmeticError):
        loss.backward()
    with pytest.raises(RuntimeError, match=r"failed part-way \(the backward rule of op 'broken' "
                                           r"raised ArithmeticError: rule failed\)"):
        loss.backward()
    # a graph released by a backward that succeeded still says so
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already freed by an earlier backward"):
        y.backward()
