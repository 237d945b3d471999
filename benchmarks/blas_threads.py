"""OpenBLAS at 1 and 2 threads in ONE process, alternating: GEMMs of the workloads' shapes and
chainrule's cnn_step / lstm_step models. python benchmarks/blas_threads.py [--rounds 7]

threadpoolctl (a benchmark-only package) switches the BLAS thread count between rounds, so
both counts see the same background load. Reported per case: the median time at each count,
their median per-round ratio (2 threads / 1 thread; below 1 means 2 threads win), the best
round at 2 threads, and the process CPU time per call (spinning BLAS threads show up there).
Run it with OPENBLAS_THREAD_TIMEOUT=4 in the environment to see idle BLAS threads sleep at
once instead of spinning (benchmarks/README.md, "Issue 16: second round").
"""
import argparse
import gc
import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def _cases():
    rng = np.random.default_rng(0)

    def f(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    cases = {}
    for name, (a, b) in {"GEMM 32x128 @ 128x512 (an LSTM step)": (f(32, 128), f(128, 512)),
                         "GEMM 16x72 @ 72x12544 (cnn conv2)": (f(16, 72), f(72, 12544)),
                         "GEMM 128x784 @ 784x256 (mlp)": (f(128, 784), f(784, 256)),
                         "GEMM 1024^3": (f(1024, 1024), f(1024, 1024))}.items():
        cases[name] = (lambda a=a, b=b: a @ b)
    from compare_steps import _workloads

    import autograd
    import nn
    import nn.functional as F

    steps = _workloads(autograd, nn, F)
    cases["cnn_step (chainrule)"] = steps["cnn"]
    cases["lstm_step (chainrule)"] = steps["lstm"]
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, fn in _cases().items():
        fn()
        t0 = time.perf_counter()
        fn()
        n = max(1, int(0.2 / max(time.perf_counter() - t0, 1e-6)))
        wall, cpu = {1: [], 2: []}, {1: [], 2: []}
        for r in range(args.rounds):
            for threads in (1, 2) if r % 2 == 0 else (2, 1):
                with threadpool_limits(threads, user_api="blas"):
                    fn()
                    gc.collect()
                    t, c = time.perf_counter(), time.process_time()
                    for _ in range(n):
                        fn()
                    wall[threads].append((time.perf_counter() - t) / n * 1e3)
                    cpu[threads].append((time.process_time() - c) / n * 1e3)
        ratio = statistics.median(b / a for a, b in zip(wall[1], wall[2]))
        print(f"{name:38s} 1 thread {statistics.median(wall[1]):8.3f} ms (cpu "
              f"{statistics.median(cpu[1]):7.3f})  2 threads {statistics.median(wall[2]):8.3f} ms "
              f"(cpu {statistics.median(cpu[2]):7.3f}, best {min(wall[2]):.3f})  2/1 {ratio:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
