"""Run every benchmark in one process and print one table.

    python benchmarks/run.py [--quick] [--only NAME[,NAME]] [--threads N] [--rounds R]

Each workload builds every contender from the same weights and batches, checks that their
losses agree, then times them in alternating rounds (see harness.py). The ratio column is
chainrule's time divided by the contender's, median over rounds: below 1 means chainrule
is faster.
"""
import argparse
import os
import platform
import sys
import time

WORKLOADS = ["op_overhead", "scalar_mlp", "mlp_step", "cnn_step", "lstm_step", "transformer_step",
             "deep_chain", "matmul_limit", "decoder_step"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer rounds, smaller deep chain")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads (both sides)")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 7, quick 3)")
    p.add_argument("--target", type=float, default=None, help="seconds per round per contender")
    p.add_argument("--no-gc-freeze", action="store_true",
                   help="leave the objects of every imported library in the collector's view")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # Threads are fixed before NumPy or PyTorch is imported: BLAS reads them at load time.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    import importlib

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import harness

    rounds = args.rounds or (3 if args.quick else 7)
    target = args.target or (0.15 if args.quick else 0.3)
    names = [n for n in args.only.split(",") if n] or WORKLOADS
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workload(s) {sorted(unknown)}; choose from {WORKLOADS}")

    print_header(args, np, torch, rounds, target)
    rows = []
    for name in names:
        module = importlib.import_module(f"workloads.{name}")
        module.GC_FREEZE = not args.no_gc_freeze
        t0 = time.perf_counter()
        try:
            rows += run_workload(module, harness, args.quick, rounds, target)
        except harness.SkipWorkload as skip:
            rows.append({"workload": name, "contender": "-", "time": "skipped", "note": str(skip)})
        except Exception as e:  # one broken workload must not hide the others' figures
            import traceback

            traceback.print_exc()
            rows.append({"workload": name, "contender": "-", "time": "FAILED",
                         "note": f"{type(e).__name__}: {e}"})
        print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    print_table(rows)


def run_workload(module, harness, quick, rounds, target):
    if hasattr(module, "run"):  # workloads that are not a contender-vs-contender step
        if module.GC_FREEZE:
            freeze_heap()
        return module.run(quick, harness)
    bench = module.build(quick)
    harness.check_losses(bench)
    if module.GC_FREEZE:
        freeze_heap()
    times, counts = harness.alternate(bench.contenders, rounds, target)
    memory = {name: harness.peak_bytes(bench.contenders[name]) for name in bench.numpy_side}
    ref = next(iter(bench.contenders))
    rows = []
    for name in bench.contenders:
        median = sorted(times[name])[len(times[name]) // 2]
        rows.append({
            "workload": bench.name, "contender": name,
            "time": f"{median * bench.scale:.4g}", "unit": bench.unit,
            "ratio": "" if name == ref else f"{harness.ratio(times, ref, name):.2f}",
            "memory": harness.fmt_bytes(memory.get(name)),
            "note": f"{counts[name]} steps/round"})
    if bench.notes:
        rows[-1]["note"] += "; " + "; ".join(bench.notes)
    return rows


def freeze_heap():
    """Move every object alive now (imported libraries, models, data) out of the collector's view.

    NOTE: PyTorch, scikit-learn and the other imports leave ~200,000 objects that every full
    collection of the cyclic garbage collector scans (about 0.1-0.25 s each here). A program
    using only one of these libraries would not pay for the others' heap, and the graph
    libraries (chainrule, micrograd) trigger full collections far more often than PyTorch,
    whose graph lives in C++. Freezing the heap before timing removes that cross-library tax
    for every contender alike; --no-gc-freeze shows the figures with it.
    """
    import gc

    gc.collect()
    gc.freeze()


def print_header(args, np, torch, rounds, target):
    from threadpoolctl import threadpool_info

    blas = "; ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
                     f"{i['prefix']})" for i in threadpool_info())
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"date      {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine   {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"versions  python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__}")
    print(f"threads   {args.threads} (OMP/OPENBLAS/MKL env, torch.set_num_threads; "
          f"torch reports {torch.get_num_threads()})")
    print(f"BLAS      {blas}")
    print(f"timing    {rounds} alternating rounds of ~{target} s per contender; "
          "ratio = median over rounds of chainrule time / contender time")
    print("memory    tracemalloc peak during one step (NumPy-side contenders only)")
    frozen = ("nothing frozen (--no-gc-freeze)" if args.no_gc_freeze else
              "heap frozen (gc.freeze) once each workload is built")
    print(f"gc        cyclic collector on; {frozen}; gc.collect() before each timed block\n",
          flush=True)


def print_table(rows):
    cols = [("workload", "workload"), ("contender", "contender"), ("time", "time"),
            ("unit", "unit"), ("ratio", "chainrule/x"), ("memory", "peak mem"), ("note", "note")]
    widths = {k: max(len(h), *(len(str(r.get(k, ""))) for r in rows)) for k, h in cols}
    line = " | ".join(h.ljust(widths[k]) for k, h in cols)
    print(line)
    print("-|-".join("-" * widths[k] for k, _ in cols))
    for r in rows:
        print(" | ".join(str(r.get(k, "")).ljust(widths[k]) for k, _ in cols))


if __name__ == "__main__":
    main()
