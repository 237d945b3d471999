"""In-place changes of tensors a graph saved for backward: an error, never a wrong gradient."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

MODIFIED = "modified in place after the op ran"


def _leaf(values=(1.0, 2.0, 3.0)):
    return Tensor(np.array(values, dtype=np.float32), requires_grad=True)


# ---- every in-place Tensor method bumps the version, and backward notices ----------------------

IN_PLACE = {
    "+=": lambda t: t.__iadd__(1.0),
    "-=": lambda t: t.__isub__(1.0),
    "*=": lambda t: t.__imul__(2.0),
    "/=": lambda t: t.__itruediv__(2.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(4.0),
    "add_": lambda t: t.add_(Tensor(np.ones(3, np.float32))),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(3.0),
    "copy_": lambda t: t.copy_(Tensor(np.zeros(3, np.float32))),
}


@pytest.mark.parametrize("change", IN_PLACE.values(), ids=IN_PLACE.keys())
def test_in_place_change_of_a_saved_input_raises_naming_op_and_tensor(change):
    w = _leaf()
    w.name = "w"
    loss = (w * w).sum()
    version = w._version
    with ag.no_grad():
        change(w)
    assert w._version == version + 1
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        loss.backward()
    msg = str(info.value)
    assert "op 'mul'" in msg and "tensor 'w'" in msg and "(3,)" in msg and "float32" in msg
    assert f"version {version} -> {version + 1}" in msg


def test_in_place_change_of_a_saved_output_raises():
    # exp's rule reads its own output: changing that output would corrupt the gradient.
    x = _leaf()
    y = x.exp()
    loss = y.sum()
    with ag.no_grad():
        y.mul_(0.0)
    with pytest.raises(RuntimeError, match="op 'exp' saved its output"):
        loss.backward()


@pytest.mark.parametrize("make", [lambda x: x.tanh(), lambda x: x.sigmoid(), lambda x: x.sqrt(),
                                  lambda x: x ** Tensor(np.float32(2.0))],
                         ids=["tanh", "sigmoid", "sqrt", "pow"])
def test_every_rule_that_reads_its_output_is_protected(make):
    x = _leaf()
    y = make(x)
    loss = y.sum()
    with ag.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="saved its output"):
        loss.backward()


def test_ops_that_save_nothing_allow_later_in_place_changes():
    # add's rule reads neither input nor output: no false alarm, and the gradient is right.
    a, b = _leaf(), _leaf((4.0, 5.0, 6.0))
    c = a + b
    loss = (c * 2).sum()
    with ag.no_grad():
        a.zero_()
        c.add_(100.0)  # c is read by mul's rule... as the *output* of add, and by mul as input
    with pytest.raises(RuntimeError, match="op 'mul' saved its input"):
        loss.backward()
    a2, b2 = _leaf(), _leaf((4.0, 5.0, 6.0))
    loss2 = (a2 + b2).sum()
    with ag.no_grad():
        a2.zero_()
        b2.fill_(7.0)
    loss2.backward()
    np.testing.assert_array_equal(a2.grad.data, np.ones(3))
    np.testing.assert_array_equal(b2.grad.data, np.ones(3))


def test_change_through_the_base_of_a_saved_view_raises():
    # matmul saves w.T, a view of w's memory; an in-place step on w must be noticed.
    w = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    x = Tensor(np.ones((4, 3), np.float32))
    loss = (x @ w.T).sum()
    with ag.no_grad():
        w.sub_(0.5)
    with pytest.raises(RuntimeError, match=r"views the memory of tensor of shape \(2, 3\)"):
        loss.backward()


def test_change_through_a_chain_of_views_raises():
    w = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    v = w[1:].T[1:]  # three views deep
    assert np.shares_memory(v.data, w.data)
    loss = (v * v).sum()
    with ag.no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="views the memory of"):
        loss.backward()


def test_views_of_a_copy_are_not_confused_with_views_of_the_base():
    # w.T.reshape(-1) must copy (w.T is not contiguous): changing w afterwards changes nothing
    # the rule reads, so there is no error and the gradient is that of the forward values.
    w = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    flat = w.T.reshape(-1)
    assert not np.shares_memory(flat.data, w.data)
    loss = (flat * flat).sum()
    expected = 2 * w.data.T.reshape(-1).copy()
    with ag.no_grad():
        w.add_(1.0)
    loss.backward()
    np.testing.assert_allclose(w.grad.data.T.reshape(-1), expected)


def test_the_error_names_the_parameter_of_the_module():
    import nn
    layer = nn.Linear(3, 2)
    loss = layer(Tensor(np.ones((4, 3), np.float32), requires_grad=True)).sum()
    with ag.no_grad():
        layer.weight.mul_(0.5)
    with pytest.raises(RuntimeError, match="parameter 'weight' of Linear"):
        loss.backward()


def _optimizers():
    from nn import optim
    names = [n for n in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad") if hasattr(optim, n)]
    return optim, names


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_step_between_forward_and_backward_raises(name):
    import nn
    optim, names = _optimizers()
    assert name in names, f"nn.optim.{name} is missing"
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = getattr(optim, name)(model.parameters(), lr=0.1)
    x = Tensor(np.ones((5, 3), np.float32))
    loss = model(x).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=MODIFIED) as info:
        loss.backward()  # the graph still holds the weights from before the step
    assert "parameter '" in str(info.value) and "of Sequential" in str(info.value)


def test_the_usual_training_loop_never_trips_the_check():
    import nn
    optim, names = _optimizers()
    assert names, "nn.optim has no optimizer"
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = getattr(optim, names[0])(model.parameters(), lr=0.1)
    x = Tensor(np.ones((5, 3), np.float32))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_in_place_on_a_leaf_that_requires_grad_in_grad_mode_is_refused():
    w = _leaf()
    for change in (lambda: w.zero_(), lambda: w.add_(1.0), lambda: w.copy_(np.zeros(3))):
        with pytest.raises(RuntimeError, match="in-place change of a leaf"):
            change()
    assert w._version == 0


def test_augmented_assignment_in_grad_mode_is_recorded_out_of_place():
    # `y += 1` on a tensor in the graph rebinds the name; the saved tensor stays intact.
    x = _leaf()
    y = x * 1.0
    saved = y
    y += 1.0
    assert y is not saved and saved._version == 0
    (y * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)


# ---- raw .data writes: refused by the in-place guard; detect_anomaly() checks the rest -----------

@pytest.fixture
def guard_off():
    previous = ag.set_inplace_guard(False)
    yield
    ag.set_inplace_guard(previous)


GUARDED = "assignment destination is read-only|output array is read-only"


@pytest.mark.parametrize("write", ["slice", "micrograd step", "np.copyto"])
def test_raw_write_into_a_saved_leaf_is_refused_by_default(write):
    w = _leaf()
    loss = (w * w).sum()
    with pytest.raises(ValueError, match=GUARDED):
        if write == "slice":
            w.data[...] = 10.0
        elif write == "micrograd step":
            w.data -= 0.1 * np.ones(3, np.float32)  # one line too early: before backward()
        else:
            np.copyto(w.data, 7.0)
    loss.backward()  # nothing changed: the right gradient
    np.testing.assert_allclose(w.grad.data, [2.0, 4.0, 6.0])
    w.data -= 0.1 * w.grad.data  # after backward() the graph is released: writes are free
    np.testing.assert_allclose(w.data, [0.8, 1.6, 2.4], rtol=1e-6)


def test_the_guard_ends_with_the_graph():
    w = _leaf()
    loss = (w * w).sum()
    assert not w.data.flags.writeable
    del loss  # a forward pass never backpropagated: its graph dies, and so does the guard
    assert w.data.flags.writeable
    loss = (w * w).sum()
    loss.backward(retain_graph=True)  # a retained graph is alive: still guarded
    with pytest.raises(ValueError, match=GUARDED):
        w.data[0] = 5.0
    loss.backward()  # the last backward releases it
    w.data[0] = 5.0
    for _ in range(3):  # guarded again in every new graph
        loss = (w * 3.0).sum()
        with pytest.raises(ValueError, match=GUARDED):
            w.data[0] = 6.0
        loss.backward()


def test_the_guard_keeps_nothing_alive():
    import gc
    import weakref
    gc.disable()  # everything below must go by reference counting alone
    try:
        w = _leaf()
        x = _leaf()
        node = weakref.ref((w * x).grad_fn)
        alive_x = weakref.ref(x)
        loss = (w * x).sum()
        del x
        assert alive_x() is not None  # the graph holds it
        del loss
        assert node() is None and alive_x() is None
        assert w.data.flags.writeable
    finally:
        gc.enable()


def test_library_in_place_changes_keep_their_version_errors():
    w = _leaf()
    loss = (w * w).sum()
    with ag.no_grad():
        w.add_(1.0)  # not refused by the guard: bumps the version instead
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_views_and_read_only_arrays_are_left_alone():
    base = np.arange(4.0)
    base.flags.writeable = False
    t = ag.from_numpy(base).requires_grad_()
    y = (t * t).sum()  # a user's read-only array stays read-only after the graph goes
    y.backward()
    assert not base.flags.writeable
    w = _leaf()
    early_view = w.data[:2]  # made before the forward pass: NumPy gives it its own flag
    loss = (w * w).sum()
    early_view[0] = 9.0  # not caught (documented): take views after backward, or none
    assert not w.data.flags.writeable
    loss.backward()


def test_raw_data_write_is_not_tracked_when_the_guard_is_off(guard_off):
    # The one opt-out: ag.set_inplace_guard(False). Then, as PyTorch's .data, the rule
    # reads the new values.
    w = _leaf()
    loss = (w * w).sum()
    assert w.data.flags.writeable
    w.data[...] = 10.0
    loss.backward()
    np.testing.assert_allclose(w.grad.data, 2 * 10.0 * np.ones(3))


def test_requires_grad_set_by_hand_on_an_int_tensor_is_refused_at_once():
    t = Tensor(np.arange(3))
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, got "
                                        "dtype int64"):
        t.requires_grad = True
    assert t.requires_grad is False
    with pytest.raises(TypeError, match="only floating-point"):
        t.requires_grad_()
    y = Tensor([1.0]) * 2
    y.requires_grad = True  # a float tensor: fine
    with pytest.raises(RuntimeError, match="non-leaf"):
        (y * 2).requires_grad = False


@pytest.mark.parametrize("write", ["slice", "element", "rebind"])
def test_raw_data_write_is_caught_under_detect_anomaly(write, guard_off):
    with ag.detect_anomaly():
        w = _leaf()
        loss = (w * w).sum()
        if write == "slice":
            w.data[...] = 10.0
        elif write == "element":
            w.data[1] += 1e-3  # one element, a tiny change
        else:
            w.data = np.full(3, 7.0, np.float32)
        with pytest.raises(RuntimeError, match="raw write to .data") as info:
            loss.backward()
    assert "op 'mul'" in str(info.value) and "test_inplace.py" in str(info.value)


def test_raw_write_to_a_saved_output_is_caught_under_detect_anomaly():
    with ag.detect_anomaly():
        x = _leaf()
        y = x.exp()
        loss = y.sum()
        y.data[0] = 0.0
        with pytest.raises(RuntimeError, match="op 'exp'.* saved its output"):
            loss.backward()


def test_anomaly_mode_records_nothing_extra_outside_it():
    w = _leaf()
    y = w * w
    assert y.grad_fn.fingerprints is None and y.grad_fn.where is None
    with ag.detect_anomaly():
        z = w * w
    assert z.grad_fn.fingerprints is not None


@pytest.mark.parametrize("alias", ["detach", "view"])
def test_changes_through_an_alias_are_caught_under_detect_anomaly(alias):
    # A detach()ed tensor or a view shares memory but not the version counter: outside anomaly
    # mode the change goes unnoticed (documented); under detect_anomaly() the checksum sees it.
    def run():
        x = _leaf()
        y = x.exp()  # exp's rule reads y
        loss = y.sum()
        with ag.no_grad():
            other = y.detach() if alias == "detach" else y[1:]
            other.zero_()
        assert np.shares_memory(other.data, y.data)
        loss.backward()
        return x

    x = run()  # silently uses the zeroed values: documented limitation
    assert x.grad.data[1] == 0.0
    with ag.detect_anomaly():
        with pytest.raises(RuntimeError, match="op 'exp'.* saved its output"):
            run()


@pytest.mark.parametrize("change", ["load_state_dict", "init", "to"])
def test_library_writes_into_parameters_count_as_in_place(change):
    import nn
    ag.manual_seed(0)
    layer = nn.Linear(3, 2)
    loss = layer(Tensor(np.ones((4, 3), np.float32), requires_grad=True)).sum()
    if change == "load_state_dict":
        layer.load_state_dict({k: v * 2 for k, v in layer.state_dict().items()})
    elif change == "init":
        nn.init.zeros_(layer.weight)
    else:
        layer.to("float64")
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_raw_write_into_a_saved_input_that_needs_no_grad_is_refused():
    # w * x needs x's values for w's gradient: x (a batch, say) is guarded like w
    w = _leaf()
    x = Tensor(np.array([1.0, 1.0, 1.0], np.float32))
    loss = (w * x).sum()
    with pytest.raises(ValueError, match=GUARDED):
        x.data[...] = 5.0
    loss.backward()
    np.testing.assert_allclose(w.grad.data, [1.0, 1.0, 1.0])
    x.data[...] = 5.0  # released with the graph


def test_numbers_lifted_into_constants_carry_no_guard():
    w = _leaf()
    y = w * 2.0
    assert y.grad_fn.__dict__.get("_guards") is not None  # w's guard only
    assert len(y.grad_fn._guards) == 1
