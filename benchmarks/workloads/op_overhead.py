"""op_overhead: a chain of 10,000 elementwise ops on a shape-(4,) tensor, forward + backward.

The arrays are tiny, so the time is the per-op bookkeeping: creating the node, recording
it, and running its rule in the backward walk. Reported in microseconds per op.
"""
import numpy as np
import torch

import autograd
from harness import Bench

from .common import chain

N_OPS = 10_000


def build(quick):
    rng = np.random.default_rng(0)
    x0, a, b = (rng.standard_normal(4).astype(np.float32) for _ in range(3))

    cx = autograd.Tensor(x0, requires_grad=True)
    ca, cb = autograd.Tensor(a), autograd.Tensor(b)

    def chainrule_step():
        cx.grad = None
        y = chain(cx, ca, cb, N_OPS).sum()
        y.backward()
        return float(y.data) + float(cx.grad.data.sum())

    tx = torch.tensor(x0, requires_grad=True)
    ta, tb = torch.tensor(a), torch.tensor(b)

    def torch_step():
        tx.grad = None
        y = chain(tx, ta, tb, N_OPS).sum()
        y.backward()
        return float(y.detach()) + float(tx.grad.sum())

    def numpy_step():
        # Forward keeps what the backward needs (tanh outputs); backward walks it in reverse.
        x, saved = x0, []
        for i in range(N_OPS):
            k = i % 3
            if k == 0:
                x = x * a
            elif k == 1:
                x = x + b
            else:
                x = np.tanh(x)
                saved.append(x)
        y = x.sum()
        g = np.ones_like(x)
        for i in reversed(range(N_OPS)):
            k = i % 3
            if k == 0:
                g = g * a
            elif k == 2:
                out = saved.pop()
                g = g * (1 - out * out)
        return float(y) + float(g.sum())

    losses = {"chainrule": chainrule_step(), "pytorch": torch_step(), "numpy (no autograd)": numpy_step()}
    return Bench("op_overhead", {"chainrule": chainrule_step, "pytorch": torch_step,
                                 "numpy (no autograd)": numpy_step},
                 losses, unit="us/op", scale=1e6 / N_OPS, rtol=1e-4,
                 numpy_side=("chainrule", "numpy (no autograd)"))
