"""The way out and back: the CLI's CNN, prototyped in chainrule, trains under PyTorch's
DistributedDataParallel in two CPU processes, then comes home to be drawn in the explorer.

    python examples/ddp.py                      # 3 steps on 2 processes, writes ddp.html

1. `nn.interop.to_torch` turns chainrule's CNN into a torch.nn.Module (same names, weights).
2. `torch.multiprocessing` starts two processes (gloo backend, CPU); each wraps the model in
   DistributedDataParallel and trains on its half of every batch. DDP averages the
   gradients across the processes, so each step equals one step of a single process on the
   whole batch: the first step's averaged gradients are saved and compared with one
   process's gradients on the whole batch (tests/test_ddp_example.py checks them).
3. `nn.interop.from_torch` brings the trained weights back; `autograd.viz.explore` draws
   the loss's graph on a batch, with the gradients, as an interactive page.

The CNN's Dropout is switched off (eval mode), so that the two processes' random masks do
not make the comparison with one process approximate.
"""
import argparse
import os
import socket
import sys
import tempfile
from datetime import timedelta

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd.viz import explore  # noqa: E402
from chainrule.models import CNN  # noqa: E402

IMAGE, CLASSES, BATCH, LR = 8, 10, 16, 0.05


def make_model(seed=0):
    """The CLI's CNN for 8x8 one-channel images (the digits), with Dropout off."""
    autograd.manual_seed(seed)
    model = CNN(1, IMAGE, CLASSES)
    model.classifier[0].eval()
    return model


def make_data(steps, seed=0):
    """`steps` batches of random images and labels (any data shows the mechanics)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, BATCH, 1, IMAGE, IMAGE)).astype(np.float32)
    y = rng.integers(0, CLASSES, (steps, BATCH))
    return x, y


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world_size, port, state, x, y, out_dir):
    """One process of the DDP group: train on this rank's half of every batch."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size, timeout=timedelta(seconds=60))
    try:
        model = nn.interop.to_torch(make_model())
        model.load_state_dict({k: torch.from_numpy(np.asarray(getattr(v, "data", v))) for k, v in state.items()})
        ddp = DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=LR)
        share = BATCH // world_size
        for step in range(len(x)):
            part = slice(rank * share, (rank + 1) * share)
            opt.zero_grad()
            logits = ddp(torch.from_numpy(x[step, part]))
            torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[step, part])).backward()
            if step == 0 and rank == 0:  # after backward, DDP has averaged the gradients
                torch.save({k: p.grad.clone() for k, p in model.named_parameters()},
                           os.path.join(out_dir, "ddp_grads.pt"))
            opt.step()
        if rank == 0:
            torch.save(model.state_dict(), os.path.join(out_dir, "trained.pt"))
    finally:
        dist.destroy_process_group()


def single_process_grads(state, x, y):
    """The gradients of one process on the whole first batch, from the same weights."""
    import torch

    model = nn.interop.to_torch(make_model())
    model.load_state_dict({k: torch.from_numpy(np.asarray(getattr(v, "data", v))) for k, v in state.items()})
    torch.nn.functional.cross_entropy(model(torch.from_numpy(x[0])),
                                      torch.from_numpy(y[0])).backward()
    return {k: p.grad.numpy().copy() for k, p in model.named_parameters()}


def run(steps=3, world_size=2, html="ddp.html", report=None):
    import torch
    import torch.multiprocessing as mp

    model = make_model()
    state = {k: np.asarray(getattr(v, "data", v)) for k, v in model.state_dict().items()}
    x, y = make_data(steps)
    with tempfile.TemporaryDirectory() as tmp:
        # NOTE: "fork" where there is one (Linux, macOS) starts the processes in a fraction
        # of a second; "spawn" (Windows) re-imports torch in each of them.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        mp.start_processes(worker, args=(world_size, free_port(), state, x, y, tmp),
                           nprocs=world_size, join=True, start_method=method)
        ddp_grads = {k: v.numpy() for k, v in torch.load(os.path.join(tmp, "ddp_grads.pt")).items()}
        trained = torch.load(os.path.join(tmp, "trained.pt"))
    one = single_process_grads(state, x, y)
    worst = max(float(np.abs(ddp_grads[k] - one[k]).max()) for k in one)
    print(f"{world_size} processes x {BATCH // world_size} images = one process x {BATCH}: "
          f"largest gradient difference {worst:.2g}")
    # back home: the trained weights in chainrule, the graph of a loss drawn with its gradients
    ported = nn.interop.to_torch(make_model())
    ported.load_state_dict(trained)
    back = nn.interop.from_torch(ported)
    loss = F.cross_entropy(back(x[-1, :4]), y[-1, :4])
    loss.backward()
    explore(loss, model=back, title="CNN after DDP training").save(html)
    print(f"loss after {steps} DDP steps on the last batch: {float(loss.data):.4f}; "
          f"explorer: {html}")
    if report is not None:
        np.savez(report, **{f"ddp/{k}": v for k, v in ddp_grads.items()},
                 **{f"one/{k}": v for k, v in one.items()},
                 **{f"trained/{k}": np.asarray(v) for k, v in trained.items()})
    return ddp_grads, one, back


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--html", default="ddp.html", help="the explorer page to write")
    parser.add_argument("--report", default=None, help="also save both gradients (.npz)")
    args = parser.parse_args(argv)
    run(args.steps, args.processes, args.html, args.report)


if __name__ == "__main__":
    main()
