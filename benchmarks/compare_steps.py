"""Time chainrule's training steps (autograd + nn) of two checkouts in ONE process: compare_steps.py A B.

compare_trees.py copies `autograd/` only, so it cannot see a change in `nn/` (the LSTM's
and the convolution's functional code live there). Here each checkout's `autograd` and
`nn` are imported under their own names in turn (sys.modules emptied of them, the
checkout first on sys.path), each builds the same models from the same arrays, and the
set of modules a step belongs to is put back into sys.modules before its timed block (a
rule that imports lazily, `from ..composites import stack`, then finds its own tree's
module). Rounds alternate A, B in both orders; reported: the median per-round ratio B/A of
each order and their geometric mean, as compare_trees.py does. No PyTorch in the process.

    python benchmarks/compare_steps.py /tmp/before . --only lstm,cnn,mlp --rounds 9
"""
import argparse
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import both_orders, timed  # noqa: E402
from workloads.common import fashion_batches, sgd_step  # noqa: E402


def _ours(name):
    return name in ("autograd", "nn") or name.startswith(("autograd.", "nn."))


def _load(tree):
    """Import tree's autograd and nn; returns (the modules, the step functions)."""
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
    sys.path.insert(0, os.path.abspath(tree))
    try:
        import autograd
        import nn
        import nn.functional as F

        steps = _workloads(autograd, nn, F)
    finally:
        sys.path.pop(0)
    return {n: m for n, m in sys.modules.items() if _ours(n)}, steps


def _workloads(autograd, nn, F):
    T = autograd.Tensor
    rng = np.random.default_rng(0)

    def trainer(model, x, y):
        opt = nn.optim.SGD(model.parameters(), lr=0.05)
        return sgd_step(model, F.cross_entropy, opt, lambda: (x, y))

    def init(model):  # the same weights in both trees, whatever their initialisers draw
        wrng = np.random.default_rng(1)
        model.load_state_dict({k: T((wrng.standard_normal(v.shape) * 0.1).astype(np.float32))
                               for k, v in model.state_dict().items()})
        return model

    vocab, hidden, seq, batch = 65, 128, 50, 32  # benchmarks/workloads/lstm_step.py

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(vocab, hidden), nn.Linear(hidden, vocab)

        def forward(self, x):
            return self.head(self.lstm(x)[0]).reshape(-1, vocab)

    idx = rng.integers(0, vocab, (seq + 1, batch))
    lstm = trainer(init(CharLSTM()), T(np.eye(vocab, dtype=np.float32)[idx[:-1]]),
                   T(idx[1:].reshape(-1)))

    (images, labels), = fashion_batches(64, 1)  # benchmarks/workloads/cnn_step.py
    cnn = init(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 10)))
    cnn = trainer(cnn, T(images[:, None]), T(labels))
    (flat, flat_labels), = fashion_batches(128, 1)  # benchmarks/workloads/mlp_step.py
    mlp = init(nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10)))
    mlp = trainer(mlp, T(flat.reshape(128, -1)), T(flat_labels))
    return {"lstm": lstm, "cnn": cnn, "mlp": mlp}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--only", default="lstm,cnn")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: this process's CPU time (time.process_time), which does not "
                             "count the time other jobs hold the cores; only with 1 BLAS thread")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    (mods_a, a), (mods_b, b) = _load(args.a), _load(args.b)
    mods = {id(a): mods_a, id(b): mods_b}

    def run(side, name, n):
        sys.modules.update(mods[id(side)])
        return timed(side[name], n, clock)

    print(f"B = {args.b}\nA = {args.a}\n{args.rounds} rounds per order, ~0.3 s per block, "
          f"{os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s), {args.clock} clock")
    for name in args.only.split(","):
        for side in (a, b):
            run(side, name, 3)
        both_orders(f"{name:5s}", lambda n: run(a, name, n), lambda n: run(b, name, n),
                    args.rounds, 0.3)


if __name__ == "__main__":
    main()
