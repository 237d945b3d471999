"""scalar_mlp: micrograd's demo -- a 2-16-16-1 MLP of scalar neurons on 100 two-moons points.

Every weight is a 0-d tensor and every multiply-add is its own graph node (about 8,000 ops
per step), the same code for every contender. One step = forward over all points,
max-margin loss + 1e-4 L2, backward, SGD update. micrograd (PyPI, pure Python floats) is the
contender to beat; PyTorch runs the same model on 0-d tensors.
"""
import numpy as np

import autograd
from harness import Bench, SkipWorkload

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
LR = 0.05


def _moons(n=100):
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=0.1, random_state=1)
    return X.astype(np.float32), (y * 2 - 1).astype(np.float32)


def _init_weights():
    rng = np.random.default_rng(1337)
    layers = []
    for nin, nout in zip(SIZES[:-1], SIZES[1:]):
        layers.append((rng.uniform(-1, 1, (nout, nin)).astype(np.float32),
                       np.zeros(nout, np.float32)))
    return layers


def _forward(layers, x):
    """micrograd's MLP.__call__, written once for any scalar type with + * and relu()."""
    last = len(layers) - 1
    for i, (W, b) in enumerate(layers):
        out = []
        for w_row, bias in zip(W, b):
            act = sum((wi * xi for wi, xi in zip(w_row, x)), bias)
            out.append(act.relu() if i != last else act)
        x = out
    return x[0]


def _loss(layers, params, inputs, ys):
    scores = [_forward(layers, x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in params)
    return data_loss + reg_loss


def _make(weights, scalar):
    layers = [([[scalar(v) for v in row] for row in W], [scalar(v) for v in b]) for W, b in weights]
    params = [p for W, b in layers for row_and_b in (W, [b]) for row in row_and_b for p in row]
    return layers, params


def build(quick):
    X, y = _moons()
    weights = _init_weights()
    ys = [float(v) for v in y]
    steps = numpy_side_steps(weights, X, ys)

    import torch  # here, not at the top: scalar_gc.py uses this module in a process without it

    t_layers, t_params = _make(weights, lambda v: torch.tensor(float(v), requires_grad=True))
    torch_step = _tensor_step(t_layers, t_params, X, ys, lambda v: torch.tensor(float(v)),
                              torch.no_grad)

    contenders = {"chainrule": steps["chainrule"], "pytorch": torch_step,
                  "micrograd": steps["micrograd"]}
    losses = {name: fn() for name, fn in contenders.items()}
    n_ops = _count_ops(*_make(weights, lambda v: autograd.Tensor(np.float32(v), requires_grad=True)),
                       X, ys)
    return Bench("scalar_mlp", contenders, losses, unit="ms/step", scale=1e3, rtol=1e-4,
                 numpy_side=("chainrule", "micrograd"),
                 notes=[f"{n_ops} graph nodes per step"])


def _tensor_step(layers, params, X, ys, tensor, no_grad):
    """One step of a tensor library with PyTorch's API (chainrule's or PyTorch's own):
    inputs made by `tensor`, forward, backward, SGD in place under `no_grad`."""

    def step():
        inputs = [[tensor(v) for v in row] for row in X]
        loss = _loss(layers, params, inputs, ys)
        for p in params:
            p.grad = None
        loss.backward()
        with no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
        return float(loss)

    return step


def numpy_side_steps(weights, X, ys):
    """{"chainrule": step, "micrograd": step} on the same weights and points (no PyTorch)."""
    try:
        from micrograd.engine import Value
    except ImportError as e:
        raise SkipWorkload(f"micrograd is not installed ({e}); `pip install micrograd`") from None
    c_layers, c_params = _make(weights, lambda v: autograd.Tensor(np.float32(v), requires_grad=True))
    chainrule_step = _tensor_step(c_layers, c_params, X, ys, autograd.Tensor, autograd.no_grad)

    m_layers, m_params = _make(weights, lambda v: Value(float(v)))

    def micrograd_step():
        inputs = [list(map(Value, map(float, row))) for row in X]
        loss = _loss(m_layers, m_params, inputs, ys)
        for p in m_params:
            p.grad = 0
        loss.backward()
        for p in m_params:
            p.data -= LR * p.grad
        return loss.data

    return {"chainrule": chainrule_step, "micrograd": micrograd_step}


def _count_ops(layers, params, X, ys):
    loss = _loss(layers, params, [[autograd.Tensor(v) for v in row] for row in X], ys)
    seen, stack, n = set(), [loss], 0
    while stack:
        t = stack.pop()
        if id(t) in seen or t.grad_fn is None:
            continue
        seen.add(id(t))
        n += 1
        stack.extend(t.grad_fn.inputs)
    return n
