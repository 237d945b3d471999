"""nn.diagnostics.GradientMonitor: recorded numbers checked against norms computed directly;
warnings for vanishing/exploding gradients; forward hooks on Module."""
import warnings

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor
from nn.diagnostics import GradientMonitor, GradientWarning


def make_mlp(seed=0):
    ag.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


def batch(seed=1, n=8):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((n, 3)).astype(np.float32))


def sgd(model, lr):
    with ag.no_grad():
        for p in model.parameters():
            p.data = p.data - lr * p.grad.data
            p._version += 1


def test_grad_norms_and_update_ratios_match_direct_computation():
    model = make_mlp()
    monitor = GradientMonitor(model, warn=False)
    expected_norms, expected_ratios = {}, {}
    for step in range(3):
        model.zero_grad()
        loss = (model(batch(step)) ** 2).mean()
        loss.backward()
        before = {n: p.data.astype(np.float64).copy() for n, p in model.named_parameters()}
        for n, p in model.named_parameters():
            expected_norms.setdefault(n, []).append(np.linalg.norm(p.grad.data.astype(np.float64)))
        sgd(model, lr=0.1)
        for n, p in model.named_parameters():
            expected_ratios.setdefault(n, []).append(
                np.linalg.norm(p.data.astype(np.float64) - before[n]) / np.linalg.norm(before[n]))
        monitor.step()
    assert monitor.steps == 3
    assert set(monitor.grad_norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    for n in expected_norms:
        np.testing.assert_allclose(monitor.grad_norms[n], expected_norms[n], rtol=1e-6)
        np.testing.assert_allclose(monitor.update_ratios[n], expected_ratios[n], rtol=1e-5)
    layers = monitor.layer_grad_norms()
    assert set(layers) == {"0", "2"}
    np.testing.assert_allclose(
        layers["2"], np.hypot(expected_norms["2.weight"], expected_norms["2.bias"]), rtol=1e-6)


def test_two_backwards_in_one_step_record_the_accumulated_gradient():
    model = make_mlp()
    monitor = GradientMonitor(model, warn=False)
    model(batch(1)).sum().backward()
    (model(batch(2)) ** 2).sum().backward()
    monitor.step()
    for n, p in model.named_parameters():
        np.testing.assert_allclose(monitor.grad_norms[n][-1], np.linalg.norm(p.grad.data),
                                   rtol=1e-5)


def test_dead_relu_fraction():
    model = make_mlp()
    first = model[0]
    first.weight.data[...] = 0.0
    first.bias.data[...] = np.array([-1.0, 1.0, -1.0, 1.0, 1.0], dtype=np.float32)  # 2 of 5 dead
    monitor = GradientMonitor(model, warn=False)
    model(batch()).sum().backward()
    with ag.no_grad():
        first.bias.data[...] = -1.0
        model(batch())  # evaluation under no_grad is not counted
        first.bias.data[...] = np.array([-1.0, 1.0, -1.0, 1.0, 1.0], dtype=np.float32)
    monitor.step()
    assert monitor.dead_relu == {"1": [pytest.approx(2 / 5)]}
    # a unit alive for one example of the batch is not dead
    first.weight.data[...] = 0.0
    first.weight.data[0, 0] = 10.0  # unit 0 fires when x[:, 0] > 0.1
    x = batch()
    x.data[0, 0] = 1.0
    model(x).sum().backward()
    monitor.step()
    assert monitor.dead_relu["1"][-1] == pytest.approx(1 / 5)


def _rnn(scale, steps, seed=0):
    rng = np.random.default_rng(seed)
    w = nn.Parameter(np.eye(4) * scale)
    u = nn.Parameter(rng.standard_normal((2, 4)) * 0.5)
    xs = [Tensor(rng.standard_normal((3, 2))) for _ in range(steps)]
    h = Tensor(np.zeros((3, 4)))
    hs = []
    for x in xs:
        h = (h @ w + x @ u).tanh()
        hs.append(h)
    return (w, u), hs, (h * h).sum()


class Holder(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.w, self.u = params


def test_time_step_norms_match_direct_gradients():
    params, hs, loss = _rnn(scale=0.9, steps=6)
    direct = ag.grad(loss, hs, retain_graph=True)
    monitor = GradientMonitor(Holder(params), warn=False)
    monitor.track_time_steps(hs)
    loss.backward()
    monitor.step()
    assert len(monitor.time_step_norms) == 1
    np.testing.assert_allclose(monitor.time_step_norms[0],
                               [np.linalg.norm(g.data) for g in direct], rtol=1e-9)
    # gradients shrink going back in time through a contracting recurrence
    assert monitor.time_step_norms[0][0] < monitor.time_step_norms[0][-1]


def test_vanishing_through_time_warns():
    params, hs, loss = _rnn(scale=0.01, steps=12)
    monitor = GradientMonitor(Holder(params))
    monitor.track_time_steps(hs)
    loss.backward()
    with pytest.warns(GradientWarning, match="vanishes through time"):
        monitor.step()


def test_track_time_steps_rejects_detached_states():
    monitor = GradientMonitor(make_mlp())
    with pytest.raises(RuntimeError, match="hidden state 1"):
        monitor.track_time_steps([Tensor(1.0, requires_grad=True) * 2, Tensor(1.0)])


@pytest.mark.parametrize("factor, word", [(1e9, "exploding"), (1e-12, "vanishing")])
def test_exploding_and_vanishing_parameter_gradients_warn(factor, word):
    model = make_mlp()
    monitor = GradientMonitor(model)
    (model(batch()).sum() * factor).backward()
    with pytest.warns(GradientWarning, match=word) as record:
        monitor.step()
    assert "'0.weight'" in str(record[0].message)


def test_healthy_gradients_do_not_warn_and_thresholds_are_configurable():
    model = make_mlp()
    monitor = GradientMonitor(model)
    model(batch()).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.step()
    strict = GradientMonitor(model, exploding=1e-9)
    model(batch()).sum().backward()
    with pytest.warns(GradientWarning, match="exploding"):
        strict.step()


def test_remove_unregisters_hooks():
    model = make_mlp()
    monitor = GradientMonitor(model, warn=False)
    monitor.remove()
    model(batch()).sum().backward()
    monitor.step()
    assert all(np.isnan(v[-1]) for v in monitor.grad_norms.values())
    assert np.isnan(monitor.dead_relu["1"][-1])


def test_plot_draws_the_recorded_numbers():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params, hs, loss = _rnn(scale=0.9, steps=5)
    holder = Holder(params)
    monitor = GradientMonitor(holder, warn=False)
    monitor.track_time_steps(hs)
    loss.backward()
    monitor.step()
    fig = monitor.plot()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["gradient norm per layer", "update / weight ratio",
                      "||dL/dh_t|| over time steps"]  # no ReLU: no dead-ReLU panel
    norms_ax, _, time_ax = fig.axes
    np.testing.assert_allclose(norms_ax.lines[0].get_ydata(),
                               monitor.layer_grad_norms()[""])
    np.testing.assert_allclose(time_ax.lines[0].get_ydata(), monitor.time_step_norms[0])
    plt.close(fig)
    with pytest.raises(ValueError, match="nothing recorded"):
        GradientMonitor(make_mlp()).plot()


# ---- Module forward hooks (used by the monitor) ----------------------------------------------

class Double(nn.Module):
    def forward(self, x):
        return x * 2


def test_forward_hooks_see_and_replace_args_and_output():
    m = Double()
    seen = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
    h2 = m.register_forward_hook(lambda mod, args, out: seen.append((mod, args[0].item(), out.item())))
    assert m(Tensor(1.0)).item() == 4
    assert seen == [(m, 2.0, 4.0)]
    h3 = m.register_forward_hook(lambda mod, args, out: out * 10)
    assert m(Tensor(1.0)).item() == 40
    for h in (h1, h2, h3):
        h.remove()
    assert m(Tensor(1.0)).item() == 2 and len(seen) == 2
