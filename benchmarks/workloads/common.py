"""Data and weights the workloads share: Fashion-MNIST batches, PyTorch weights as arrays."""
import gzip
import os

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def fashion_batches(batch, n_batches, seed=0):
    """`n_batches` batches of Fashion-MNIST training images (float32 in [0, 1], N x 28 x 28)
    and int64 labels; random images stand in when the files are absent."""
    n = batch * n_batches
    images_path = os.path.join(FASHION, "train-images-idx3-ubyte.gz")
    if os.path.exists(images_path):
        with gzip.open(images_path) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:n]
        with gzip.open(os.path.join(FASHION, "train-labels-idx1-ubyte.gz")) as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    else:
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
    x = (images.astype(np.float32) / 255).reshape(n_batches, batch, 28, 28)
    y = labels.astype(np.int64).reshape(n_batches, batch)
    return list(zip(x, y))


def state_arrays(module):
    """A PyTorch module's state dict as float32 NumPy arrays (copies)."""
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


class Cycle:
    """Hands out the same sequence of batches to every contender, round and round."""

    def __init__(self, batches):
        self.batches, self.i = batches, 0

    def __call__(self):
        b = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        return b


def chainrule_nn(*names):
    """nn and the named layer classes, or SkipWorkload naming what is missing."""
    from harness import SkipWorkload

    import nn

    missing = [n for n in names if not hasattr(nn, n)]
    if missing:
        raise SkipWorkload(f"nn has no {', '.join(missing)} yet (the layers are being written)")
    return nn


def chainrule_sgd(params, lr):
    """nn.optim.SGD when it exists; otherwise the same update by hand (p -= lr * grad)."""
    try:
        from nn import optim

        return optim.SGD(params, lr=lr)
    except (ImportError, AttributeError):
        return _PlainSGD(params, lr)


class _PlainSGD:
    def __init__(self, params, lr):
        self.params, self.lr = list(params), lr

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        import autograd

        with autograd.no_grad():
            for p in self.params:
                p.sub_(p.grad, alpha=self.lr)


def load_weights(model, weights):
    """Copy PyTorch's state dict (as arrays) into a chainrule module."""
    from autograd import Tensor

    model.load_state_dict({k: Tensor(v.copy()) for k, v in weights.items()})
    return model


def cross_entropy():
    """nn.functional.cross_entropy, or SkipWorkload."""
    from harness import SkipWorkload
    from nn import functional as F

    if not hasattr(F, "cross_entropy"):
        raise SkipWorkload("nn.functional has no cross_entropy yet")
    return F.cross_entropy


def sgd_step(model, loss_fn, opt, next_batch):
    """One training step as a function, the same in either library: the next batch,
    loss_fn(model(x), y), zero_grad, backward, the optimizer's step; returns the loss."""

    def step():
        x, y = next_batch()
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def chain(x, a, b, n):
    """n elementwise ops in turn: x * a, x + b, tanh(x) (tanh keeps long chains bounded).
    Works on any library's tensors with those operators and a .tanh() method."""
    for i in range(n):
        k = i % 3
        if k == 0:
            x = x * a
        elif k == 1:
            x = x + b
        else:
            x = x.tanh()
    return x
