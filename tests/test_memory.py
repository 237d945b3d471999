"""Long runs keep memory flat; a graph of a million nodes back-propagates and is freed.

Resident memory (RSS) is read from /proc/self/statm; live Tensors are counted with gc.
Bounds (why these numbers):
  * training loops: after a warm-up (allocator pools, optimizer state, first-call caches),
    RSS may grow by at most 8 MiB over the remaining steps. A leak of a single small Tensor
    (about 0.5-1 KiB with its array and graph node) per step would add 4-9 MiB over 9,000
    MLP steps and trip it; a leaked graph per step (tens of KiB) would trip it in a few
    hundred steps. The live-Tensor count must not grow at all (it is exact, where RSS is not).
  * the million-node graph: hundreds of MiB while alive; after `del` and glibc's malloc_trim
    (freed heap memory goes back to the OS), RSS must come back within 32 MiB of the
    baseline, no Tensor may survive, and a weakref to an intermediate must die.
"""
import gc
import os
import sys
import weakref

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

import nn  # noqa: E402  (our own package: never skipped)
from nn import optim  # noqa: E402

linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/statm"),
                                reason="RSS is read from /proc/self/statm (Linux)")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
MiB = 1 << 20
RECORD = {}  # figures for the report: printed with -s


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Tensor))


def _watch(step, total, checkpoints):
    """Run `step(i)` `total` times; sample (rss, live tensors) at the given step numbers."""
    samples = []
    for i in range(total):
        step(i)
        if i + 1 in checkpoints:
            samples.append((i + 1, rss(), live_tensors()))
    return samples


def _assert_flat(name, samples, rss_bound=8 * MiB):
    (_, rss0, live0) = samples[0]
    growth = max(r for _, r, _ in samples) - rss0
    live = [n for _, _, n in samples]
    RECORD[name] = (f"RSS {rss0 / MiB:.1f} MiB after warm-up, growth {growth / MiB:+.2f} MiB "
                    f"over {samples[-1][0] - samples[0][0]} steps; live Tensors {live}")
    print(f"\n{name}: {RECORD[name]}", file=sys.stderr)
    assert growth <= rss_bound, RECORD[name]
    assert max(live) <= live0, RECORD[name]


@linux_only
def test_mlp_10000_steps_keep_memory_flat():
    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 16),
                          nn.Tanh(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 2)).astype(np.float32))
    y = Tensor((x.data[:, 0] * x.data[:, 1] > 0).astype(np.int64))
    losses = []

    def step(i):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if i % 1000 == 0:
            losses.append(loss.item())

    samples = _watch(step, 10_000, checkpoints={1000, 2500, 4000, 5500, 7000, 8500, 10_000})
    _assert_flat("MLP 2-16-16-2, Adam, 10,000 steps", samples)
    assert losses[-1] < losses[0]  # it really trained


@linux_only
def test_lstm_1000_steps_keep_memory_flat():
    ag.manual_seed(0)
    lstm = nn.LSTM(3, 8)
    head = nn.Linear(8, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = optim.SGD(params, lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((5, 4, 3)).astype(np.float32))  # (seq, batch, features)
    target = Tensor(x.data.sum(axis=(0, 2))[:, None].astype(np.float32) * 0.1)
    losses = []

    def step(i):
        opt.zero_grad()
        out, (h, c) = lstm(x)
        loss = ((head(out[-1]) - target) ** 2).mean()
        loss.backward()
        opt.step()
        if i % 100 == 0:
            losses.append(loss.item())

    samples = _watch(step, 1000, checkpoints={200, 400, 600, 800, 1000})
    _assert_flat("LSTM 3->8, seq 5, batch 4, SGD, 1,000 steps", samples)
    assert losses[-1] < losses[0]


def _trim():
    """Hand freed heap memory back to the OS (glibc), so RSS shows what is really still held."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


@linux_only
def test_a_million_node_graph_backpropagates_and_is_released():
    n = 1_000_000
    gc.collect()
    _trim()
    base, tensors_before = rss(), live_tensors()
    x = Tensor(np.float32(1.0), requires_grad=True)
    y = x
    probe = None
    for i in range(n):
        y = -y  # one node each
        if i == n // 2:
            probe = weakref.ref(y)
    peak = rss()
    assert probe() is not None
    y.backward()  # an explicit stack: no recursion limit at any depth
    assert x.grad.item() == 1.0  # (-1) ** 1_000_000
    del y
    gc.collect()
    trimmed = _trim()
    after = rss()
    RECORD["million-node graph"] = (f"baseline {base / MiB:.0f} MiB, with graph "
                                    f"{peak / MiB:.0f} MiB, after del (and malloc_trim) "
                                    f"{after / MiB:.0f} MiB")
    print(f"\nmillion-node graph: {RECORD['million-node graph']}", file=sys.stderr)
    assert probe() is None  # the intermediate died with the graph
    assert live_tensors() == tensors_before + 2  # only x and x.grad are left
    assert peak - base > 100 * MiB  # the graph really was that big (the test can fail)
    if trimmed:
        assert after - base < 32 * MiB, RECORD["million-node graph"]


def test_graph_is_freed_by_refcount_alone_without_the_cycle_collector():
    # A forward + backward leaves no reference cycles: with gc disabled, every node dies.
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones(3, np.float32), requires_grad=True)
        y = (x * 2).exp().sum()
        probe = weakref.ref(y.grad_fn)
        mid = weakref.ref(y.grad_fn.inputs[0])
        y.backward()
        del y
        assert probe() is None and mid() is None
    finally:
        gc.enable()


def test_no_grad_forward_keeps_no_graph():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    with ag.no_grad():
        y = (x * 2).exp()
    assert y.grad_fn is None and not y.requires_grad
