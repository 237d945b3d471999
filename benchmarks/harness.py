"""Timing and memory helpers shared by the workloads: alternating rounds, medians, peaks.

Why alternate: the machines are shared, so two libraries timed one after the other can
disagree by 2x for identical code. Rounds A, B, A, B, ... inside one process see the same
background load, and the median of the per-round ratios is stable (identical code timed
this way came out at 0.97x-0.99x, against 0.56x-1.30x for two processes in a row; see
benchmarks/README.md, "Method").
"""
import gc
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field


class SkipWorkload(Exception):
    """Raised by a workload that cannot run here (a layer it needs does not exist yet)."""


@dataclass
class Bench:
    """One workload, ready to time.

    contenders: name -> callable doing one step (the first is chainrule, the reference).
    losses: name -> the loss (or checksum) each contender computed from the same weights and
        batch before any timing; they must agree within `rtol`.
    unit, scale: how to print a time: seconds per call * scale, in `unit`.
    numpy_side: contenders whose memory tracemalloc can see (NumPy reports its buffers to
        tracemalloc; PyTorch's allocator does not).
    """

    name: str
    contenders: dict
    losses: dict
    unit: str = "ms/step"
    scale: float = 1e3
    rtol: float = 1e-4
    numpy_side: tuple = ("chainrule",)
    notes: list = field(default_factory=list)


def steps_for(fn, target):
    """Warm `fn` up, then find how many calls last about `target` seconds."""
    fn()
    fn()
    n, elapsed = 1, 0.0
    while True:
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= target / 4 or n >= 1 << 20:
            break
        n *= 2
    return max(1, round(n * target / max(elapsed, 1e-9)))


def alternate(contenders, rounds=7, target=0.3):
    """Time each contender in alternating rounds; returns name -> [seconds per call, per round]."""
    counts = {name: steps_for(fn, target) for name, fn in contenders.items()}
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            # timed() collects outside the timed block: no contender pays for another's garbage
            times[name].append(timed(fn, counts[name]))
    return times, counts


def timed(fn, n, clock=time.perf_counter):
    """Seconds per call of fn over n calls by `clock`, after a collection outside the block."""
    gc.collect()
    t0 = clock()
    for _ in range(n):
        fn()
    return (clock() - t0) / n


def both_orders(label, time_a, time_b, rounds, block):
    """Two versions of one step (time_x(n): seconds per call over n calls) in alternating
    rounds, A first then B first, so that an order bias cancels; prints the median times, the
    median per-round ratio B/A of each order and their geometric mean."""
    n = max(1, int(block / time_a(1)))
    medians, times = [], {"A": [], "B": []}
    for first, second in ((time_a, time_b), (time_b, time_a)):
        ratios = []
        for _ in range(rounds):
            t1, t2 = first(n), second(n)
            ta, tb = (t1, t2) if first is time_a else (t2, t1)
            times["A"].append(ta)
            times["B"].append(tb)
            ratios.append(tb / ta)
        medians.append(statistics.median(ratios))
    geo = (medians[0] * medians[1]) ** 0.5
    print(f"{label} A {statistics.median(times['A']) * 1e3:8.3f} ms  "
          f"B {statistics.median(times['B']) * 1e3:8.3f} ms  B/A: A first {medians[0]:.3f}, "
          f"B first {medians[1]:.3f}, geometric mean {geo:.3f}", flush=True)


def ratio(times, a, b):
    """Median over rounds of time(a) / time(b), measured in the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def peak_bytes(fn):
    """Peak bytes allocated (tracemalloc, which NumPy reports its buffers to) during one call."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base


def rss_bytes():
    """The resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def check_losses(bench):
    """Raise if the contenders disagree before timing (they would not be doing the same work).

    A loss may be one number or a list (one per step, so the update is checked too).
    """
    ref_name = next(iter(bench.losses))
    ref = bench.losses[ref_name]
    for name, value in bench.losses.items():
        for step, (v, r) in enumerate(zip(_as_list(value), _as_list(ref))):
            if abs(v - r) > bench.rtol * max(1.0, abs(r)):
                raise AssertionError(
                    f"{bench.name}: at step {step} {name} computed {v!r} but {ref_name} "
                    f"computed {r!r} (rtol {bench.rtol}); the contenders are not doing the "
                    "same work")


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def fmt_bytes(n):
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
