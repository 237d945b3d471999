"""Peak memory of training loops whose graph outlives backward(): memory_after_backward.py [tree].

A step's graph stays reachable from `loss` until the next step's forward pass rebinds it,
so whatever a released graph keeps is held while the next graph is built. This script
measures the tracemalloc peak and the RSS of 1,000 MLP steps and 200 CNN steps (the
`benchmarks/` workloads' shapes, random data of the same sizes). Pass another checkout's
directory to measure its autograd/nn instead (before/after a change to what release keeps).
"""
import gc
import os
import resource
import sys
import time
import tracemalloc

if len(sys.argv) > 1:
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()
                        and "editable" not in getattr(f, "__module__", "")]
    sys.path.insert(0, sys.argv[1])
else:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import autograd as ag  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd import Tensor  # noqa: E402


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(name, model, batches, steps):
    opt = nn.optim.SGD(model.parameters(), lr=0.01)
    gc.collect()
    tracemalloc.start()
    rss0, rss_peak = rss_mib(), 0.0
    start = time.perf_counter()
    loss = None
    for i in range(steps):
        x, y = batches[i % len(batches)]
        loss = F.cross_entropy(model(x), y)  # the previous step's graph dies here
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 10 == 0:
            rss_peak = max(rss_peak, rss_mib())
    elapsed = time.perf_counter() - start
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{name:4s} {steps:5d} steps  tracemalloc peak {peak / 2**20:7.2f} MiB  "
          f"held after {current / 2**20:6.2f} MiB  RSS {rss0:6.1f} -> peak {rss_peak:6.1f} MiB  "
          f"({elapsed:.1f} s, loss {loss.item():.3f})")


def main():
    rng = np.random.default_rng(0)
    ag.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    flat = [(Tensor(rng.normal(size=(64, 784)).astype(np.float32)),
             Tensor(rng.integers(0, 10, 64))) for _ in range(8)]
    run("mlp", mlp, flat, 1000)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(784, 10))
    images = [(Tensor(rng.normal(size=(64, 1, 28, 28)).astype(np.float32)),
               Tensor(rng.integers(0, 10, 64))) for _ in range(8)]
    run("cnn", cnn, images, 200)
    print(f"maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
