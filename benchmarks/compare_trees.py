"""Time the engine of two checkouts in ONE process, alternating: compare_trees.py A B [rounds]
[--cpu].

For before/after figures of a change to autograd's hot paths on a busy machine, where two
runs of benchmarks/run.py a minute apart differ by more than the change. Each checkout's
`autograd/` package is copied under its own name (its imports are relative), both are
loaded side by side, and seven engine-only workloads (nn is not loaded: it imports
`autograd` by name) run in alternating rounds, in both orders (A first, then B first) so
that an order bias cancels. Reported: the median per-round ratio B/A of each order and
their geometric mean. With --cpu the clock is this thread's CPU time (time.thread_time)
rather than the wall clock: on a machine shared with other jobs, waiting for a core then
counts for neither tree (the work runs on this one thread: 1 BLAS thread).
"""
import importlib
import os
import shutil
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402

from harness import both_orders, timed  # noqa: E402


def _load(tree, name, where):
    shutil.copytree(os.path.join(tree, "autograd"), os.path.join(where, name))
    return importlib.import_module(name)


def workloads(ag):
    T, ops = ag.Tensor, ag.ops
    # Batches are wrapped without a copy where the tree can (Tensor(array) copies since issue
    # 19, as torch.tensor does): a copy of the input is not the engine's work.
    share = getattr(ag, "as_tensor", T)
    rng = np.random.default_rng(0)
    x4 = rng.standard_normal(4).astype(np.float32)

    def chain():  # op_overhead's chain: mul, add, tanh in turn on a (4,) tensor
        h = x = T(x4, requires_grad=True)
        for i in range(3000):
            h = h * 1.0001 if i % 3 == 0 else (h + 0.001 if i % 3 == 1 else h.tanh())
        h.sum().backward()

    def scalar():  # 0-d ops, as scalar_mlp's neurons
        ws = [T(np.float32(0.1 * i), requires_grad=True) for i in range(30)]
        acc = T(np.float32(0.0))
        for _ in range(20):
            for w in ws:
                acc = (acc + w * 0.5).tanh()
        acc.backward()

    X = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    W = [T(rng.standard_normal(s).astype(np.float32) * 0.05, requires_grad=True)
         for s in [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]]

    def mlp():  # mlp_step's shapes: Linear, ReLU, cross-entropy
        h = ops.Linear.apply(share(X), W[0], W[1]).relu()
        h = ops.Linear.apply(h, W[2], W[3]).relu()
        ops.CrossEntropy.apply(ops.Linear.apply(h, W[4], W[5]), share(y)).backward()

    img = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    K = T(rng.standard_normal((8, 9)).astype(np.float32) * 0.3, requires_grad=True)
    Wl = T(rng.standard_normal((10, 8 * 14 * 14)).astype(np.float32) * 0.01, requires_grad=True)
    g = dict(kernel_size=(3, 3), stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1))
    pool = dict(kernel_size=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), dilation=(1, 1))

    def cnn():  # one conv layer as unfold + matmul, ReLU, max pool, linear, cross-entropy
        cols = ops.Unfold.apply(share(img), layout="ckon", **g)
        out = (K @ cols.reshape(9, -1)).reshape(8, 28, 28, 64).transpose(3, 0, 1, 2).relu()
        p = ops.MaxPool.apply(out, **pool)
        ops.CrossEntropy.apply(ops.Linear.apply(p.reshape(64, -1), Wl), share(y[:64])).backward()

    def create_graph():  # a second-order gradient: the rules run on Tensor ops
        x = T(rng.standard_normal((16, 16)), requires_grad=True)
        (gx,) = ag.grad([((x @ x).tanh() * x).sum()], [x], create_graph=True)
        gx.sum().backward()

    B, L, D, H, F = 16, 64, 128, 4, 256  # transformer_step's shapes, one pre-norm block
    table = T(rng.standard_normal((65, D)).astype(np.float32) * 0.1, requires_grad=True)
    ids = rng.integers(0, 65, (B, L))
    keep = ~np.triu(np.ones((L, L), dtype=bool), 1)
    P = {n: T(rng.standard_normal(s).astype(np.float32) * 0.05, requires_grad=True)
         for n, s in [("qkv", (3 * D, D)), ("o", (D, D)), ("f1", (F, D)), ("f2", (D, F)),
                      ("head", (65, D))]}
    ones, zeros = (T(np.full(D, v, np.float32), requires_grad=True) for v in (1.0, 0.0))

    def attention():  # embedding lookup, LayerNorm, SDPA, GELU, cross-entropy
        x = table[ids]
        h = ops.LayerNorm.apply(x, ones, zeros)
        q, k, v = (t.reshape(B, L, H, D // H).transpose(0, 2, 1, 3)
                   for t in ops.Linear.apply(h, P["qkv"]).split(D, axis=-1))
        a = ops.ScaledDotProductAttention.apply(q, k, v, keep=keep, scale=(D // H) ** -0.5)
        x = x + ops.Linear.apply(a.transpose(0, 2, 1, 3).reshape(B, L, D), P["o"])
        h = ops.Gelu.apply(ops.Linear.apply(ops.LayerNorm.apply(x, ones, zeros), P["f1"]))
        x = x + ops.Linear.apply(h, P["f2"])
        logits = ops.Linear.apply(x.reshape(B * L, D), P["head"])
        ops.CrossEntropy.apply(logits, share(ids.reshape(-1))).backward()

    seq = T(rng.standard_normal((32, 50, 16)).astype(np.float32), requires_grad=True)

    def movement():  # slices, concatenation, padding, max, cumsum, masked softmax
        parts = [seq[:, t] for t in range(0, 50, 5)]
        y = ops.Concatenate.apply(*parts, axis=1)
        y = ops.Pad.apply(y, pad_width=((0, 0), (1, 1)), value=0.0)
        y = ops.CumSum.apply(y, axis=1) * ops.Max.apply(y, axis=1, keepdims=True)
        ops.MaskedSoftmax.apply(y).sum().backward()

    return dict(chain=chain, scalar=scalar, mlp=mlp, cnn=cnn, create_graph=create_graph,
                attention=attention, movement=movement)


def main():
    args = [a for a in sys.argv[1:] if a != "--cpu"]
    clock = time.thread_time if "--cpu" in sys.argv else time.perf_counter
    a_dir, b_dir = args[0], args[1]
    rounds = int(args[2]) if len(args) > 2 else 9
    where = tempfile.mkdtemp()
    sys.path.insert(0, where)
    a, b = workloads(_load(a_dir, "tree_a", where)), workloads(_load(b_dir, "tree_b", where))
    what = "CPU time of this thread" if clock is time.thread_time else "wall clock"
    print(f"B = {b_dir}\nA = {a_dir}\n{rounds} rounds per order, ~0.25 s per block, 1 BLAS "
          f"thread, {what}")
    for name in a:
        fa, fb = a[name], b[name]
        try:
            fa(), fb()
        except AttributeError as e:  # an op that one of the trees does not have yet
            print(f"{name:13s} skipped: {e}")
            continue
        both_orders(f"{name:13s}", lambda n: timed(fa, n, clock), lambda n: timed(fb, n, clock),
                    rounds, 0.25)
    shutil.rmtree(where)


if __name__ == "__main__":
    main()
