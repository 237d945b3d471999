"""One helper for PyTorch parity: same inputs through both libraries, compare values, dtypes, grads."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def torch_or_skip():
    return pytest.importorskip("torch")


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def torch_index(index, torch):
    """The same index for a torch tensor: NumPy arrays inside become torch tensors."""
    if isinstance(index, tuple):
        return tuple(torch_index(p, torch) for p in index)
    if isinstance(index, np.ndarray):
        return torch.from_numpy(index)
    return index


def assert_parity(ours, theirs, *arrays, grad=True, rtol=1e-10, atol=1e-12, dtype=np.float64):
    """Run `ours(*Tensors)` and `theirs(*torch tensors)` on the same arrays and compare.

    Float arrays are cast to `dtype` and require grad in both libraries; other arrays
    (ints, bools) are constants. Outputs may be one tensor or a list. Checks shapes,
    values and dtypes, then (if `grad`) the gradients of sum(w_k * out_k) for a fixed
    random weight w_k per output: values, shapes and dtypes, `None` counting as zeros.
    """
    torch = torch_or_skip()
    arrays = [np.asarray(a, dtype=dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    mine = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f" and grad) for a in arrays]
    theirs_in = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f" and grad) for a in arrays]
    outs = _as_list(ours(*mine))
    touts = _as_list(theirs(*theirs_in))
    assert len(outs) == len(touts), f"{len(outs)} outputs, PyTorch gives {len(touts)}"
    for k, (o, t) in enumerate(zip(outs, touts)):
        expected = t.detach().numpy()
        assert isinstance(o, Tensor), f"output {k} is a {type(o).__name__}, not a Tensor"
        assert o.shape == expected.shape, f"output {k}: shape {o.shape}, PyTorch {expected.shape}"
        assert o.dtype == expected.dtype, f"output {k}: dtype {o.dtype}, PyTorch {expected.dtype}"
        np.testing.assert_allclose(o.data, expected, rtol=rtol, atol=atol,
                                   err_msg=f"output {k} differs from PyTorch")
    if not grad:
        return
    rng = np.random.default_rng(0)
    pairs = [(o, t) for o, t in zip(outs, touts) if t.requires_grad]
    assert all(o.requires_grad for o, _ in pairs), "an output PyTorch differentiates has no graph"
    weights = [rng.uniform(0.5, 1.5, o.shape).astype(o.dtype) for o, _ in pairs]
    diff = [(m, t) for m, t in zip(mine, theirs_in) if m.requires_grad]
    if not pairs or not diff:
        return
    got = ag.grad([o for o, _ in pairs], [m for m, _ in diff],
                  grad_outputs=[Tensor(w) for w in weights], allow_unused=True)
    want = torch.autograd.grad([t for _, t in pairs], [t for _, t in diff],
                               grad_outputs=[torch.from_numpy(w) for w in weights],
                               allow_unused=True)
    for k, ((m, _), g, w) in enumerate(zip(diff, got, want)):
        w = np.zeros(m.shape, m.dtype) if w is None else w.numpy()
        assert g is None or g.shape == m.shape, f"grad {k}: shape {g.shape} for input {m.shape}"
        assert g is None or g.dtype == m.dtype, f"grad {k}: dtype {g.dtype} for input {m.dtype}"
        np.testing.assert_allclose(np.zeros(m.shape) if g is None else g.data, w, rtol=rtol,
                                   atol=atol, err_msg=f"gradient of input {k} differs from PyTorch")


def assert_second_order_parity(ours, theirs, *arrays, rtol=1e-9, atol=1e-11):
    """Gradient-of-gradient parity: d/dx <v, d/dx sum(w * f(x))> in both libraries.

    The first gradients are built with create_graph; a fixed random v contracts them, and
    the gradient of that scalar (a Hessian-vector product) must match PyTorch's.
    """
    torch = torch_or_skip()
    arrays = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    mine = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs_in = [torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    rng = np.random.default_rng(1)
    outs = [o for o in _as_list(ours(*mine))]
    touts = _as_list(theirs(*theirs_in))
    diff = [k for k, m in enumerate(mine) if m.requires_grad]
    weights = [rng.uniform(0.5, 1.5, o.shape) for o in outs]
    first = ag.grad([o for o in outs], [mine[k] for k in diff],
                    grad_outputs=[Tensor(w) for w in weights], create_graph=True, allow_unused=True)
    tfirst = torch.autograd.grad(touts, [theirs_in[k] for k in diff],
                                 grad_outputs=[torch.from_numpy(w) for w in weights],
                                 create_graph=True, allow_unused=True)
    vs = [rng.uniform(-1, 1, mine[k].shape) for k in diff]
    total = None
    for g, v in zip(first, vs):
        if g is not None and g.requires_grad:
            term = (g * Tensor(v)).sum()
            total = term if total is None else total + term
    ttotal = sum((g * torch.from_numpy(v)).sum() for g, v in zip(tfirst, vs)
                 if g is not None and g.requires_grad)
    # A first gradient without graph (linear ops; masks of relu, abs...) has second derivative 0.
    second = ([None] * len(diff) if total is None else
              ag.grad(total, [mine[k] for k in diff], allow_unused=True))
    if not torch.is_tensor(ttotal):
        tsecond = [None] * len(diff)
    else:
        tsecond = torch.autograd.grad(ttotal, [theirs_in[k] for k in diff], allow_unused=True)
    for k, g, t in zip(diff, second, tsecond):
        want = np.zeros(mine[k].shape) if t is None else t.numpy(force=True)  # (may be a ZeroTensor)
        got = np.zeros(mine[k].shape) if g is None else g.data
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                                   err_msg=f"second-order gradient of input {k} differs from PyTorch")


# ---- which public ops the tests check (tests/test_ops_breadth.py derives the public API and
# fails when an op is in neither a parity case nor a gradcheck case, nor exempt with a reason)

PARITY = set()  # public op names with a PyTorch parity case
GRADCHECKED = set()  # public op names with a finite-difference gradcheck case


def covers(parity=(), gradcheck=()):
    """Record that a case table row, or the test this decorates, checks these public ops.

    Names: "exp" for a Tensor method or autograd function, an operator's symbol ("+",
    "getitem"), "F.conv2d" for nn.functional, "nn.Conv2d" for a module. Returns a
    decorator that leaves the test as it is.
    """
    PARITY.update([parity] if isinstance(parity, str) else parity)
    GRADCHECKED.update([gradcheck] if isinstance(gradcheck, str) else gradcheck)
    return lambda test: test
