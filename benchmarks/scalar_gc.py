"""scalar_mlp in a plain process, with the cyclic garbage collector on and off: scalar_gc.py [rounds].

run.py times scalar_mlp in a process that has also imported PyTorch and scikit-learn, whose
objects the collector scans too. This script imports only NumPy, chainrule and micrograd
(the two moons are made here with NumPy, not scikit-learn), as a user's script would, and
times both libraries' steps (the same code as workloads/scalar_mlp.py) in alternating rounds,
first with the collector on as Python leaves it, then with gc.disable(), and reports the
time the collector took during the steps (gc.callbacks). Nothing is frozen.
"""
import gc
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads.scalar_mlp import _init_weights, numpy_side_steps  # noqa: E402


def moons(n=100, noise=0.1, seed=1):
    """Two interleaved half circles with Gaussian noise, labels -1 and +1 (as make_moons)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, np.pi, n // 2)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    X = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([-np.ones(n // 2), np.ones(n // 2)])
    return X.astype(np.float32), [float(v) for v in y]


class CollectorClock:
    """Seconds spent in the cyclic collector, and collections per generation, while on."""

    def __init__(self):
        self.seconds, self.runs, self._t0 = 0.0, [0, 0, 0], 0.0

    def __call__(self, phase, info):
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t0
            self.runs[info["generation"]] += 1


def timed_rounds(steps, rounds):
    """Alternating rounds of one step each; name -> (step seconds, collector seconds) lists."""
    out = {name: ([], []) for name in steps}
    for r in range(rounds):
        order = list(steps) if r % 2 == 0 else list(reversed(steps))
        for name in order:
            clock = CollectorClock()
            gc.collect()
            gc.callbacks.append(clock)
            t0 = time.perf_counter()
            steps[name]()
            elapsed = time.perf_counter() - t0
            gc.callbacks.remove(clock)
            out[name][0].append(elapsed)
            out[name][1].append(clock.seconds)
    return out


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    X, ys = moons()
    steps = numpy_side_steps(_init_weights(), X, ys)
    gc.collect()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {rounds} alternating rounds "
          f"of one step; {len(gc.get_objects())} objects tracked by the collector at the start")
    for fn in steps.values():
        fn()
    print(f"{'collector':10s} | {'library':10s} | {'step ms':>8s} | {'in gc ms':>8s} | chainrule/micrograd")
    for mode in ("on", "off"):
        if mode == "off":
            gc.disable()
        res = timed_rounds(steps, rounds)
        ratio = statistics.median(c / m for c, m in zip(res["chainrule"][0], res["micrograd"][0]))
        for name, (secs, in_gc) in res.items():
            extra = f"{ratio:.2f}" if name == "chainrule" else ""
            print(f"{mode:10s} | {name:10s} | {statistics.median(secs) * 1e3:8.1f} | "
                  f"{statistics.median(in_gc) * 1e3:8.1f} | {extra}")
        gc.enable()


if __name__ == "__main__":
    main()
