"""The cost of the in-place guard: chainrule's step with the guard on vs off, in one process.

    python benchmarks/inplace_guard.py [--quick] [--only NAME[,NAME]] [--rounds R]

For each workload (op_overhead, scalar_mlp, mlp_step by default) the chainrule step of
benchmarks/workloads is timed twice in alternating rounds, once with
autograd.set_inplace_guard(True) (the default) and once with it off; the ratio is the
median over rounds of on / off (above 1: the guard costs that fraction).
"""
import argparse
import os
import sys

WORKLOADS = ["op_overhead", "scalar_mlp", "mlp_step"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--target", type=float, default=None)
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gc
    import importlib
    import statistics

    import autograd
    import harness

    rounds = args.rounds or (5 if args.quick else 11)
    target = args.target or (0.15 if args.quick else 0.3)
    print(f"{rounds} alternating rounds of ~{target} s; ratio = median over rounds of "
          "time(guard on) / time(guard off)")
    for name in [n for n in args.only.split(",") if n] or WORKLOADS:
        bench = importlib.import_module(f"workloads.{name}").build(args.quick)
        step = bench.contenders["chainrule"]

        def on(step=step):
            autograd.set_inplace_guard(True)
            return step()

        def off(step=step):
            autograd.set_inplace_guard(False)
            return step()

        gc.collect()
        gc.freeze()
        times, counts = harness.alternate({"guard on": on, "guard off": off}, rounds, target)
        autograd.set_inplace_guard(True)
        ratios = [a / b for a, b in zip(times["guard on"], times["guard off"])]
        print(f"{name:12s} on {statistics.median(times['guard on']) * bench.scale:8.4g} "
              f"{bench.unit:6s} off {statistics.median(times['guard off']) * bench.scale:8.4g} "
              f"ratio {statistics.median(ratios):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f},"
              f" {counts['guard on']} steps/round)", flush=True)


if __name__ == "__main__":
    main()
