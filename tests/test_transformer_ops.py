"""The fused GELU and LayerNorm primitives (autograd/ops/transformer.py): their gradchecks
(for test_gradcheck_primitives' CASES), against their composites, and against PyTorch."""
import numpy as np
import pytest

import autograd
import nn.functional as F
from autograd import Tensor, gradcheck
from autograd.ops import Gelu, LayerNorm

from helpers import assert_parity


def gradcheck_cases(which):
    """(label, fn, float64 input arrays) for test_gradcheck_primitives' CASES table."""
    rng = np.random.default_rng(21)
    if which == "gelu":
        for shape in [(), (2,), (3, 2), (4, 1, 3)]:
            yield f"gelu {shape}", (lambda x: Gelu.apply(x)), [rng.normal(size=shape) * 2]
        return
    for shape, k in [((5,), 1), ((3, 5), 1), ((2, 3, 4), 1), ((2, 3, 4), 2)]:
        norm = shape[len(shape) - k:]
        x, w, b = rng.normal(size=shape), rng.normal(size=norm), rng.normal(size=norm)
        yield (f"layer_norm {shape} over {norm}",
               (lambda x, w, b, k=k: LayerNorm.apply(x, w, b, k=k, eps=1e-3)), [x, w, b])


def _grads(out, inputs, seed=0):
    w = Tensor(np.random.default_rng(seed).normal(size=out.shape))
    return [g.data for g in autograd.grad([out], inputs, [w])]


def test_gelu_matches_the_composite_and_pytorch():
    torch = pytest.importorskip("torch")
    x = Tensor(np.random.default_rng(0).normal(size=(4, 5)) * 3, requires_grad=True)
    fused, composite = Gelu.apply(x), x.gelu()
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-14, atol=1e-15)
    for a, b in zip(_grads(fused, [x]), _grads(composite, [x])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert_parity(F.gelu, torch.nn.functional.gelu, x.data)
    assert_parity(F.gelu, torch.nn.functional.gelu, x.data, dtype=np.float32, rtol=1e-6,
                  atol=1e-6)


def test_layer_norm_matches_the_composite_and_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    w = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    b = Tensor(rng.normal(size=(3, 4)), requires_grad=True)
    fused = LayerNorm.apply(x, w, b, k=2, eps=1e-5)
    composite = F.layer_norm(x, (3, 4), None, None, 1e-5) * w + b
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-12, atol=1e-14)
    for a, c in zip(_grads(fused, [x, w, b]), _grads(composite, [x, w, b])):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-13)
    assert_parity(lambda a, c, d: F.layer_norm(a, (4,), c, d, 1e-3),
                  lambda a, c, d: torch.nn.functional.layer_norm(a, (4,), c, d, 1e-3),
                  x.data, w.data[0], b.data[0])


def test_second_order_through_the_tensor_rules():
    rng = np.random.default_rng(2)

    def gelu_grad(x):
        return autograd.grad([Gelu.apply(x).sum()], [x], create_graph=True)[0]

    def ln_grad(x, w, b):
        out = LayerNorm.apply(x, w, b, k=1, eps=1e-3)
        return autograd.grad([(out * out).sum()], [x], create_graph=True)[0]

    assert gradcheck(gelu_grad, [rng.normal(size=(3, 2))])
    assert gradcheck(ln_grad, [rng.normal(size=(2, 4)), rng.normal(size=4), rng.normal(size=4)])
