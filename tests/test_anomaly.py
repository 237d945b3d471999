"""detect_anomaly(): the first NaN or Inf names the op and the user's line; grad mode per thread."""
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

HERE = "test_anomaly.py"


@pytest.fixture(autouse=True)
def _quiet_numpy():
    with np.errstate(all="ignore"):
        yield


def test_forward_nan_names_the_op_and_the_user_line():
    x = Tensor([1.0, -1.0], requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            y = x.log()  # the line the error must quote  # noqa: F841
    msg = str(info.value)
    assert "op 'log'" in msg and "NaN" in msg and "forward" in msg
    assert HERE in msg and "y = x.log()" in msg
    assert "first at index (1,)" in msg


def test_backward_inf_names_the_op_and_the_line_that_created_it():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        r = x.sqrt()  # finite forward; d sqrt/dx = inf at 0
        loss = r.sum()
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    msg = str(info.value)
    assert "op 'sqrt'" in msg and "Inf" in msg and "backward" in msg and "input 0" in msg
    assert HERE in msg and "r = x.sqrt()" in msg


def test_without_anomaly_mode_the_same_gradient_is_silently_inf():
    x = Tensor([0.0, 4.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.data[0]) and x.grad.data[1] == pytest.approx(0.25)


def test_the_where_trap_is_explained_with_the_safe_pattern():
    x = Tensor([0.0, 2.0], requires_grad=True)
    # Outside anomaly mode: where() discards log(0) = -inf in forward, but the gradient is NaN.
    ag.where(x.data > 0, x.log(), 0.0).sum().backward()
    assert np.isnan(x.grad.data[0])
    x.grad = None
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            ag.where(x.data > 0, x.log(), 0.0)
        msg = str(info.value)
        assert "op 'log'" in msg and "-Inf" in msg
        assert "where(x > 0, log(x), 0)" in msg and "safe = where(x > 0, x, 1.0)" in msg
        # The safe pattern the message recommends: no anomaly, and the right gradient.
        safe = ag.where(x.data > 0, x, 1.0)
        ag.where(x.data > 0, safe.log(), 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5])


def test_nan_that_appears_only_in_backward_is_caught_at_its_op():
    # where(x > 0, sqrt(x), 0): the forward is finite everywhere (sqrt(0) = 0), but sqrt's
    # rule divides the zero gradient of the untaken branch by 2 sqrt(0): 0 / 0 = NaN.
    x = Tensor([0.0, 4.0], requires_grad=True)
    with ag.detect_anomaly():
        y = ag.where(x.data > 0, x.sqrt(), 0.0)
        with pytest.raises(FloatingPointError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "op 'sqrt'" in msg and "NaN" in msg and "backward" in msg
    assert HERE in msg and "x.sqrt()" in msg and "safe = where(x > 0, x, 1.0)" in msg


def test_forward_inf_from_division_is_caught():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError, match="op 'div'"):
            _ = 1.0 / x


def test_anomaly_inside_a_module_names_the_users_call_not_the_library():
    import nn
    layer = nn.Linear(2, 2)
    with ag.no_grad():
        layer.weight.fill_(np.nan)
    x = Tensor(np.ones((1, 2), np.float32), requires_grad=True)
    with ag.detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            layer(x)  # the user's line
    msg = str(info.value)
    assert HERE in msg and "layer(x)" in msg
    assert "autograd" + "/" not in msg.split("created at")[1].split(":")[0]


def test_anomaly_mode_is_restored_after_an_error_and_nests():
    state = ag.grad_mode.state
    assert not state.anomaly
    with pytest.raises(FloatingPointError):
        with ag.detect_anomaly():
            assert state.anomaly
            with ag.detect_anomaly():
                pass
            assert state.anomaly  # the inner exit restores the outer setting
            Tensor([-1.0], requires_grad=True).log()
    assert not state.anomaly


def test_integer_results_are_never_anomalies():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with ag.detect_anomaly():
        (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])


# ---- grad mode and anomaly mode are per thread ------------------------------------------------

def _in_thread(fn):
    out, errors = {}, []

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive()
    if errors:
        raise errors[0]
    return out["value"]


def test_no_grad_in_one_thread_does_not_leak_into_another():
    x = Tensor([1.0], requires_grad=True)
    with ag.no_grad():
        assert not ag.is_grad_enabled()
        # a new thread starts with grad mode on, whatever this thread does
        assert _in_thread(lambda: ((x * 2).requires_grad, ag.is_grad_enabled())) == (True, True)
    assert ag.is_grad_enabled()


def test_no_grad_in_a_worker_thread_leaves_the_main_thread_recording():
    x = Tensor([1.0], requires_grad=True)
    entered, release = threading.Event(), threading.Event()

    def worker():
        with ag.no_grad():
            entered.set()
            release.wait(10)
            return (x * 2).requires_grad

    result = {}
    t = threading.Thread(target=lambda: result.setdefault("worker", worker()))
    t.start()
    assert entered.wait(10)
    try:
        assert ag.is_grad_enabled() and (x * 2).requires_grad  # while the worker is in no_grad
    finally:
        release.set()
        t.join(10)
    assert result["worker"] is False


def test_anomaly_mode_is_per_thread():
    with ag.detect_anomaly():
        assert _in_thread(lambda: ag.grad_mode.state.anomaly) is False
