"""How a training step's cost grows with batch size, width and sequence length, chainrule
against PyTorch: python benchmarks/scaling.py [--rounds 7] [--target 0.2] [--threads 1]

Three sweeps, each point built afresh from the same weights on both sides, losses checked
equal before timing, then timed in alternating rounds in this one process (harness.py,
benchmarks/README.md "Method"):

- mlp_step, batch 16..512: a 784-256-256-10 ReLU MLP on Fashion-MNIST, cross-entropy, SGD;
- mlp_step, width 64..1024: the same MLP as 784-W-W-10 at batch 128;
- lstm_step, sequence length 10..200: nn.LSTM against torch.nn.LSTM (65 one-hot inputs,
  hidden 128, batch 32, a linear head at every step; workloads/lstm_step.py).

Writes a CSV (one row per point: workload, parameter, value, chainrule ms, torch ms, ratio =
median over rounds of chainrule's time / PyTorch's in the same round, and that ratio's lowest
and highest round) and a PNG: time against the parameter on log-log axes for both libraries,
one panel per sweep, the ratio underneath. `--plot-only` redraws the PNG from a CSV.
"""
import argparse
import csv
import gc
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEPS = [  # (workload, parameter, values)
    ("mlp_step", "batch", (16, 32, 64, 128, 256, 512)),
    ("mlp_step", "width", (64, 128, 256, 512, 1024)),
    ("lstm_step", "seq_len", (10, 25, 50, 100, 200)),
]
PANEL_TITLES = {
    "batch": "MLP 784-256-256-10, batch swept",
    "width": "MLP 784-W-W-10, batch 128",
    "seq_len": "LSTM 65-128 + linear head, batch 32",
}
AXIS_LABELS = {"batch": "batch size", "width": "hidden width W", "seq_len": "sequence length"}
COLUMNS = ["workload", "parameter", "value", "chainrule_ms", "torch_ms", "ratio",
           "ratio_lowest_round", "ratio_highest_round"]
MLP_LR = 0.05


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=7, help="alternating rounds per point")
    p.add_argument("--target", type=float, default=0.2, help="seconds per round per contender")
    p.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads (both sides)")
    p.add_argument("--only", default="", help="comma-separated parameters: batch,width,seq_len")
    p.add_argument("--csv", default=os.path.join(HERE, "scaling.csv"))
    p.add_argument("--png", default=os.path.join(HERE, "..", "docs", "scaling.png"))
    p.add_argument("--plot-only", action="store_true", help="redraw the PNG from --csv, time nothing")
    return p.parse_args(argv)


def build_mlp(batch, width):
    """chainrule and PyTorch steps of a 784-width-width-10 MLP from the same weights and batches."""
    import torch

    import nn
    from harness import Bench
    from workloads.common import (Cycle, chainrule_sgd, cross_entropy, fashion_batches,
                                  load_weights, sgd_step, state_arrays)

    batches = fashion_batches(batch, 4)
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(),
                                 torch.nn.Linear(width, width), torch.nn.ReLU(),
                                 torch.nn.Linear(width, 10))
    weights = state_arrays(tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=MLP_LR)
    tnext = Cycle([(torch.from_numpy(x.reshape(len(x), -1)), torch.from_numpy(y)) for x, y in batches])
    torch_step = sgd_step(tmodel, torch.nn.functional.cross_entropy, topt, tnext)

    from autograd import Tensor

    model = load_weights(nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width),
                                       nn.ReLU(), nn.Linear(width, 10)), weights)
    opt = chainrule_sgd(model.parameters(), MLP_LR)
    ce = cross_entropy()
    cnext = Cycle([(Tensor(x.reshape(len(x), -1)), Tensor(y)) for x, y in batches])
    chainrule_step = sgd_step(model, ce, opt, cnext)

    contenders = {"chainrule": chainrule_step, "pytorch": torch_step}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}  # step 2 checks the update
    return Bench(f"mlp_step batch {batch} width {width}", contenders, losses, rtol=1e-4)


def build_lstm(seq):
    """workloads/lstm_step.py at sequence length `seq`: chainrule against torch.nn.LSTM only."""
    from workloads import lstm_step

    bench = lstm_step.build(False, seq=seq)  # also checks PyTorch's LSTMCell loop; not timed here
    keep = ("chainrule", "pytorch nn.LSTM")
    bench.contenders = {k: bench.contenders[k] for k in keep}
    bench.losses = {k: bench.losses[k] for k in keep}
    bench.name = f"lstm_step seq {seq}"
    return bench


def build(parameter, value):
    if parameter == "batch":
        return build_mlp(value, 256)
    if parameter == "width":
        return build_mlp(128, value)
    return build_lstm(value)


def measure(parameter, value, harness, rounds, target):
    bench = build(parameter, value)
    harness.check_losses(bench)
    # As run.py does: every object alive now (imports, both models, data) leaves the cyclic
    # collector's view, so neither side pays for scanning the other library's heap.
    gc.collect()
    gc.freeze()
    try:
        times, _ = harness.alternate(bench.contenders, rounds, target)
    finally:
        gc.unfreeze()
    ours, theirs = bench.contenders  # chainrule first, then the PyTorch contender
    per_round = [a / b for a, b in zip(times[ours], times[theirs])]
    return {"chainrule_ms": statistics.median(times[ours]) * 1e3,
            "torch_ms": statistics.median(times[theirs]) * 1e3,
            "ratio": harness.ratio(times, ours, theirs),
            "ratio_lowest_round": min(per_round), "ratio_highest_round": max(per_round)}


def run(args):
    # Threads are fixed before NumPy or PyTorch is imported: BLAS reads them at load time.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, HERE)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    import harness

    only = [p for p in args.only.split(",") if p]
    sweeps = [s for s in SWEEPS if not only or s[1] in only]
    load_start = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{started}; numpy {np.__version__}, torch {torch.__version__}; {args.threads} thread(s); "
          f"{args.rounds} alternating rounds of ~{args.target} s per contender; load average "
          f"{load_start:.1f} on {os.cpu_count()} cores", flush=True)
    rows = []
    t0 = time.perf_counter()
    for workload, parameter, values in sweeps:
        for value in values:
            row = {"workload": workload, "parameter": parameter, "value": value}
            row.update(measure(parameter, value, harness, args.rounds, args.target))
            rows.append(row)
            print(f"{workload:9} {parameter:7} {value:5}  chainrule {row['chainrule_ms']:8.2f} ms  "
                  f"torch {row['torch_ms']:8.2f} ms  ratio {row['ratio']:.2f} "
                  f"(rounds {row['ratio_lowest_round']:.2f}-{row['ratio_highest_round']:.2f})  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    load_end = os.getloadavg()[0]
    note = (f"{started}, {args.threads} thread(s), {args.rounds} alternating rounds, "
            f"load average {load_start:.1f} -> {load_end:.1f} on {os.cpu_count()} cores")
    print(f"done in {time.perf_counter() - t0:.0f} s; load average {load_end:.1f}")
    write_csv(args.csv, rows, note)
    return rows, note


def write_csv(path, rows, note):
    with open(path, "w", newline="") as f:
        f.write(f"# {note}\n")  # the run's conditions; read with comment="#" (pandas) or skip it
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()})
    print(f"wrote {path}")


def read_csv(path):
    with open(path) as f:
        first = f.readline()
        note = first[1:].strip() if first.startswith("#") else ""
        if not note:
            f.seek(0)
        rows = list(csv.DictReader(f))
    for r in rows:
        r["value"] = int(r["value"])
        for k in COLUMNS[3:]:
            r[k] = float(r[k])
    return rows, note


def plot(rows, note, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter, NullLocator

    params = [p for _, p, _ in SWEEPS if any(r["parameter"] == p for r in rows)]
    fig, axes = plt.subplots(2, len(params), figsize=(4.4 * len(params), 7.2), squeeze=False,
                             sharex="col", gridspec_kw={"height_ratios": [3, 2]})
    ratio_top = max(2.0, 1.1 * max(r["ratio_highest_round"] for r in rows))
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for col, param in enumerate(params):
        pts = sorted((r for r in rows if r["parameter"] == param), key=lambda r: r["value"])
        x = [r["value"] for r in pts]
        top, bottom = axes[0][col], axes[1][col]
        top.loglog(x, [r["chainrule_ms"] for r in pts], "o-", color="tab:blue", label="chainrule")
        top.loglog(x, [r["torch_ms"] for r in pts], "s--", color="tab:orange",
                   label="PyTorch" + (" (nn.LSTM)" if param == "seq_len" else ""))
        top.set_title(PANEL_TITLES[param], fontsize=11)
        top.grid(True, which="both", alpha=0.3)
        top.yaxis.set_major_formatter(plain)
        top.yaxis.set_minor_formatter(plain if top.get_ylim()[1] / top.get_ylim()[0] < 20
                                      else NullFormatter())
        if col == 0:
            top.set_ylabel("ms per training step (log)")
        top.legend(loc="upper left", fontsize=9)

        ratio = [r["ratio"] for r in pts]
        lo = [r["ratio"] - r["ratio_lowest_round"] for r in pts]
        hi = [r["ratio_highest_round"] - r["ratio"] for r in pts]
        bottom.errorbar(x, ratio, yerr=[lo, hi], fmt="o-", color="tab:green", capsize=3)
        bottom.axhline(1.0, color="grey", lw=1, ls=":")
        for i, (xi, ri) in enumerate(zip(x, ratio)):
            # Labels right of their point (the last one left, inside the axes), every other one
            # below the line so that neighbours at similar heights do not run into each other.
            last = i == len(x) - 1
            bottom.annotate(f"{ri:.2f}", (xi, ri), textcoords="offset points",
                            xytext=(-7 if last else 7, 5 if i % 2 == 0 else -12),
                            ha="right" if last else "left", fontsize=8)
        bottom.set_xscale("log")
        bottom.set_ylim(0, ratio_top)  # one scale for every sweep, so panels compare
        bottom.grid(True, alpha=0.3)
        bottom.set_xlabel(AXIS_LABELS[param] + " (log)")
        if col == 0:
            bottom.set_ylabel("chainrule / PyTorch\n(median of rounds; bars: range)")
        for ax in (top, bottom):  # the swept values themselves as ticks, in plain numbers
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in x])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_minor_formatter(NullFormatter())
    fig.suptitle("Training-step time against size, chainrule and PyTorch (CPU)\n" + note, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv=None):
    args = parse_args(argv)
    if args.plot_only:
        rows, note = read_csv(args.csv)
    else:
        rows, note = run(args)
    plot(rows, note, args.png)


if __name__ == "__main__":
    main()
