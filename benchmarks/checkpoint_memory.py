"""Peak memory and time of one training step with and without checkpointing: checkpoint_memory.py.

A deep MLP (48 Linear(256, 256) + Tanh layers, batch 512, float32) and a char-LSTM-sized
stack of LSTM layers: the tracemalloc peak of forward + backward, plain and under
nn.utils.checkpoint_sequential with several segment counts, and the step's time (median of
alternating rounds, since recomputation costs a second forward of each checkpointed segment).
Gradients are checked equal to the plain run's before anything is measured.
"""
import gc
import os
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import autograd as ag  # noqa: E402
import nn  # noqa: E402


def _step(model, x, segments):
    model.zero_grad()
    out = model(x) if segments is None else nn.utils.checkpoint_sequential(model, segments, x)
    (out ** 2).mean().backward()
    return [p.grad.data.copy() for p in model.parameters()]


def _peak(model, x, segments):
    gc.collect()
    tracemalloc.start()
    _step(model, x, segments)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def _times(model, x, configs, rounds=5):
    times = {c: [] for c in configs}
    for _ in range(rounds):
        for c in configs:
            gc.collect()
            t0 = time.perf_counter()
            _step(model, x, c)
            times[c].append(time.perf_counter() - t0)
    return {c: float(np.median(v)) for c, v in times.items()}


def _report(title, model, x, configs):
    reference = _step(model, x, None)
    for c in configs[1:]:
        for a, b in zip(reference, _step(model, x, c)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    peaks = {c: _peak(model, x, c) for c in configs}
    times = _times(model, x, configs)
    print(f"\n{title}")
    print(f"{'segments':<10} | {'peak MiB':>9} | {'vs plain':>8} | {'step ms':>8} | {'vs plain':>8}")
    for c in configs:
        print(f"{'plain' if c is None else c:<10} | {peaks[c] / 2**20:9.1f} | "
              f"{peaks[c] / peaks[None]:8.2f} | {times[c] * 1e3:8.1f} | {times[c] / times[None]:8.2f}")


class _LastHidden(nn.Module):
    """An LSTM layer as a Sequential stage: (N, T, H) -> its outputs (N, T, H)."""

    def __init__(self, size):
        super().__init__()
        self.lstm = nn.LSTM(size, size, batch_first=True)

    def forward(self, x):
        return self.lstm(x)[0]


def main():
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    layers = []
    for _ in range(48):
        layers += [nn.Linear(256, 256), nn.Tanh()]
    mlp = nn.Sequential(*layers)
    x = ag.Tensor(rng.standard_normal((512, 256)).astype(np.float32))
    _report("deep MLP: 48 x (Linear(256, 256) + Tanh), batch 512", mlp, x, [None, 2, 4, 8, 16])
    lstm = nn.Sequential(*[_LastHidden(128) for _ in range(8)])
    x = ag.Tensor(rng.standard_normal((32, 50, 128)).astype(np.float32))
    _report("LSTM stack: 8 x LSTM(128, 128), batch 32, 50 steps", lstm, x, [None, 2, 4, 8])


if __name__ == "__main__":
    main()
