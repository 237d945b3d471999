"""Gradient checkpointing: gradients equal the plain run's; activations are recomputed, not kept."""
import gc
import tracemalloc

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor, checkpoint, forward_ad as fwAD


def _mlp(depth=6, width=16, dropout=0.0):
    ag.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _grads(model, x, run):
    model.zero_grad()
    x.grad = None
    loss = (run(model, x) ** 2).mean()
    loss.backward()
    return float(loss.data), [p.grad.data.copy() for p in model.parameters()] + [x.grad.data.copy()]


@pytest.mark.parametrize("segments", [1, 2, 3, 12])
def test_checkpoint_sequential_gradients_equal_the_plain_run(segments):
    model = _mlp()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32), requires_grad=True)
    plain = _grads(model, x, lambda m, h: m(h))
    ckpt = _grads(model, x, lambda m, h: nn.utils.checkpoint_sequential(m, segments, h))
    assert plain[0] == ckpt[0]
    for a, b in zip(plain[1], ckpt[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_dropout_inside_a_segment_draws_the_same_masks_again():
    model = _mlp(depth=3, dropout=0.5)
    x = Tensor(np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32), requires_grad=True)
    ag.manual_seed(5)
    plain = _grads(model, x, lambda m, h: m(h))
    ag.manual_seed(5)
    ckpt = _grads(model, x, lambda m, h: nn.utils.checkpoint_sequential(m, 2, h))
    for a, b in zip(plain[1], ckpt[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_checkpoint_of_a_module_finds_its_parameters():
    layer = nn.Linear(3, 2)
    x = Tensor(np.ones((2, 3), np.float32))
    checkpoint(layer, x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.data, np.full((2, 3), 2.0))
    np.testing.assert_allclose(layer.bias.grad.data, [2.0, 2.0])


def test_a_captured_tensor_not_passed_in_is_a_clear_error():
    w = Tensor(np.ones(3), requires_grad=True)
    x = Tensor(np.ones(3), requires_grad=True)
    y = checkpoint(lambda t: t * w, x).sum()
    with pytest.raises(RuntimeError, match="checkpoint: fn uses a tensor of shape \\(3,\\)"):
        y.backward()
    x.grad = None
    checkpoint(lambda t: t * w, x, params=[w]).sum().backward()
    np.testing.assert_allclose(w.grad.data, np.ones(3))


def test_second_order_and_forward_mode_through_a_checkpoint():
    x = Tensor(np.array([0.3, -0.8]), requires_grad=True)
    f = lambda t: (t ** 3).sin()  # noqa: E731
    (g,) = ag.grad([checkpoint(f, x).sum()], [x], create_graph=True)
    (h,) = ag.grad([g.sum()], [x])
    (g0,) = ag.grad([f(x).sum()], [x], create_graph=True)
    (h0,) = ag.grad([g0.sum()], [x])
    np.testing.assert_allclose(h.data, h0.data, rtol=1e-12)
    v = np.array([1.0, -2.0])
    with fwAD.dual_level():
        tangent = fwAD.unpack_dual(checkpoint(f, fwAD.make_dual(x, Tensor(v)))).tangent
    np.testing.assert_allclose(tangent.data, np.cos(x.data ** 3) * 3 * x.data ** 2 * v, rtol=1e-12)


def _peak(run):
    gc.collect()
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_peak_memory_of_a_deep_mlp_falls():
    model = _mlp(depth=24, width=64)
    x = Tensor(np.random.default_rng(2).standard_normal((256, 64)).astype(np.float32))
    plain = _peak(lambda: (model(x) ** 2).mean().backward())
    ckpt = _peak(lambda: (nn.utils.checkpoint_sequential(model, 6, x) ** 2).mean().backward())
    assert ckpt < 0.6 * plain, (plain, ckpt)
