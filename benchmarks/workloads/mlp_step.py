"""mlp_step: a 784-256-128-10 ReLU MLP on Fashion-MNIST, batch 128, cross-entropy, SGD step.

Big enough that the matmuls dominate: this measures how close the engine gets to the
NumPy ceiling (hand-written forward/backward) and to PyTorch.
"""
import numpy as np
import torch

import autograd
from autograd import Tensor

from harness import Bench

from .common import Cycle, fashion_batches, sgd_step, state_arrays

# sharing the batch's memory, as torch.from_numpy does (older checkouts, timed through
# run_at.py, have no as_tensor: their Tensor(array) did not copy)
as_tensor = getattr(autograd, "as_tensor", Tensor)

BATCH, LR = 128, 0.05
SIZES = (784, 256, 128, 10)


def _torch_model():
    torch.manual_seed(0)
    layers = []
    for i, (nin, nout) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(nin, nout))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _chainrule_step_fn(weights, next_batch):
    """chainrule with nn.Linear / cross_entropy / optim.SGD when they exist, raw ops otherwise."""
    try:
        import nn
        from nn import functional as F
        from nn import optim

        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        model.load_state_dict({k: Tensor(v) for k, v in weights.items()})
        opt = optim.SGD(model.parameters(), lr=LR)
        cross_entropy = F.cross_entropy
    except (ImportError, AttributeError):
        return _raw_step_fn(weights, next_batch), "raw autograd ops (nn layers not there yet)"

    def step():
        x, y = next_batch()
        # NOTE: as_tensor shares the batch's memory, as torch.from_numpy does on PyTorch's
        # side (Tensor(array) copies, as torch.tensor): the same work on both sides.
        loss = cross_entropy(model(as_tensor(x.reshape(len(x), -1))), as_tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss)

    return step, "nn.Linear, F.cross_entropy, optim.SGD"


def _raw_step_fn(weights, next_batch):
    params = [Tensor(weights[f"{i}.{kind}"].copy(), requires_grad=True)
              for i in (0, 2, 4) for kind in ("weight", "bias")]

    def step():
        x, y = next_batch()
        h = as_tensor(x.reshape(len(x), -1))
        for i in range(0, 6, 2):
            h = h @ params[i].T + params[i + 1]
            if i < 4:
                h = h.relu()
        loss = -h.log_softmax(-1)[np.arange(len(y)), y].mean()
        for p in params:
            p.grad = None
        loss.backward()
        with autograd.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=LR)
        return float(loss)

    return step


def _numpy_step_fn(weights, next_batch):
    W = [weights[f"{i}.weight"].copy() for i in (0, 2, 4)]
    b = [weights[f"{i}.bias"].copy() for i in (0, 2, 4)]

    def step():
        x, y = next_batch()
        n = len(y)
        acts = [x.reshape(n, -1)]
        for i in range(3):
            z = acts[-1] @ W[i].T + b[i]
            acts.append(np.maximum(z, 0) if i < 2 else z)
        z = acts[-1]
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_p[np.arange(n), y].mean()
        g = np.exp(log_p)
        g[np.arange(n), y] -= 1
        g /= n
        for i in (2, 1, 0):
            gW, gb = g.T @ acts[i], g.sum(axis=0)
            if i:
                g = (g @ W[i]) * (acts[i] > 0)
            W[i] -= LR * gW
            b[i] -= LR * gb
        return float(loss)

    return step


def build(quick):
    batches = fashion_batches(BATCH, 8)
    model = _torch_model()
    weights = state_arrays(model)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    torch_batches = [(torch.from_numpy(x.reshape(len(x), -1)), torch.from_numpy(y)) for x, y in batches]
    torch_step = sgd_step(model, torch.nn.functional.cross_entropy, opt, Cycle(torch_batches))
    chainrule_step, how = _chainrule_step_fn(weights, Cycle(batches))
    numpy_step = _numpy_step_fn(weights, Cycle(batches))
    contenders = {"chainrule": chainrule_step, "pytorch": torch_step, "numpy (hand)": numpy_step}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}  # step 2 checks the update
    return Bench("mlp_step", contenders, losses, unit="ms/step", scale=1e3, rtol=1e-4,
                 numpy_side=("chainrule", "numpy (hand)"), notes=[f"chainrule uses {how}"])
