"""deep_chain: 1,000,000 scalar ops in one chain, then backward.

Checks that the engine walks any depth (no recursion), that memory grows linearly with
depth, and that it is all given back after backward. Time is for one forward + backward;
memory from tracemalloc (which sees NumPy's buffers and every Python object) in a separate
run, and the process RSS around the timed run.
"""
import gc
import time
import tracemalloc

import numpy as np
import torch

import autograd

from .common import chain


def _chainrule_once(n):
    x = autograd.Tensor(np.float32(0.5), requires_grad=True)
    a, b = autograd.Tensor(np.float32(1.01)), autograd.Tensor(np.float32(0.01))
    t0 = time.perf_counter()
    y = chain(x, a, b, n)
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    return x, y, t1 - t0, t2 - t1


def _torch_once(n):
    x = torch.tensor(0.5, requires_grad=True)
    a, b = torch.tensor(1.01), torch.tensor(0.01)
    t0 = time.perf_counter()
    y = chain(x, a, b, n)
    t1 = time.perf_counter()
    y.backward()
    t2 = time.perf_counter()
    return x, y, t1 - t0, t2 - t1


def _traced(n):
    """Peak bytes while building + walking the chain, and what is left after `del`."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    x, y, _, _ = _chainrule_once(n)
    after_backward = tracemalloc.get_traced_memory()[0] - base
    del y
    left = tracemalloc.get_traced_memory()[0] - base
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, after_backward, left, x


def run(quick, harness):
    n = 100_000 if quick else 1_000_000
    gc.collect()
    rss0 = harness.rss_bytes()
    x, y, fwd, bwd = _chainrule_once(n)
    rss_after = harness.rss_bytes()
    grad = float(x.grad)
    del x, y
    gc.collect()
    rss_released = harness.rss_bytes()
    tx, ty, tfwd, tbwd = _torch_once(n)
    if abs(float(tx.grad) - grad) > 1e-3 * max(1.0, abs(grad)):
        raise AssertionError(f"deep_chain: gradient {grad} vs PyTorch {float(tx.grad)}")
    del tx, ty

    rows = [
        {"workload": "deep_chain", "contender": "chainrule", "time": f"{fwd + bwd:.3g}", "unit": "s",
         "note": f"{n:,} ops: forward {fwd:.2f} s + backward {bwd:.2f} s; RSS +"
                 f"{harness.fmt_bytes(rss_after - rss0)} after backward, "
                 f"+{harness.fmt_bytes(rss_released - rss0)} after del"},
        {"workload": "deep_chain", "contender": "pytorch", "time": f"{tfwd + tbwd:.3g}", "unit": "s",
         "ratio": f"{(fwd + bwd) / (tfwd + tbwd):.2f}",
         "note": f"forward {tfwd:.2f} s + backward {tbwd:.2f} s (one run each, not alternated)"},
    ]
    for depth in (n // 10, n):
        peak, after_backward, left, _ = _traced(depth)
        rows.append({"workload": "deep_chain", "contender": f"chainrule, depth {depth:,}",
                     "memory": harness.fmt_bytes(peak),
                     "note": f"{peak / depth:.0f} B/op at peak; after backward "
                             f"{harness.fmt_bytes(after_backward)} still held (the output), "
                             f"after del {harness.fmt_bytes(left)}"})
    return rows
