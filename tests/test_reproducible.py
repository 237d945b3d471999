"""Same seed, same results: training (init, dropout, shuffling) is bit-for-bit reproducible.

Bit-for-bit means on one machine with one BLAS thread count: another CPU's kernels (AVX2 in
place of AVX-512, in OpenBLAS or in NumPy's own loops) or another thread count may change the
last bits of a sum, and training carries such differences forward. So every comparison here
is between runs in one environment, never against numbers recorded elsewhere.
"""
import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

nn = pytest.importorskip("nn")
optim = pytest.importorskip("nn.optim")
from nn.data import DataLoader, TensorDataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def train(seed, epochs=3):
    """A small MLP with dropout, trained on shuffled minibatches; every random draw comes from
    autograd's generator. Returns the per-step losses and the final parameters."""
    ag.manual_seed(seed)
    data = np.random.default_rng(123)  # the data itself is fixed, whatever the seed
    x = data.standard_normal((96, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return np.array(losses), {k: v.data.copy() for k, v in model.state_dict().items()}


def digest(losses, state):
    h = hashlib.sha256(losses.tobytes())
    for k in sorted(state):
        h.update(k.encode())
        h.update(np.ascontiguousarray(state[k]).tobytes())
    return h.hexdigest()


def test_two_runs_with_the_same_seed_are_bit_identical():
    losses1, state1 = train(seed=7)
    ag.randn(100)  # unrelated draws in between must not matter once re-seeded
    losses2, state2 = train(seed=7)
    assert losses1.tobytes() == losses2.tobytes()
    for k in state1:
        assert state1[k].tobytes() == state2[k].tobytes(), k
    # It trained: the last epoch's mean minibatch loss is below the first's. Measured ratio
    # 0.71-0.88 over 40 seeds, 1/2 threads, AVX2/AVX-512 kernels, numpy 1.24/2.4; the last batch
    # alone against the first, with dropout, ranged 0.54-0.997.
    per_epoch = losses1.reshape(3, -1).mean(axis=1)
    assert per_epoch[-1] < per_epoch[0]


def test_a_different_seed_gives_a_different_run():
    # The check above could pass trivially if nothing were random: here it must differ.
    losses1, state1 = train(seed=7, epochs=1)
    losses2, state2 = train(seed=8, epochs=1)
    assert digest(losses1, state1) != digest(losses2, state2)


def test_dropout_masks_and_shuffles_follow_the_seed():
    ag.manual_seed(3)
    drop = nn.Dropout(0.5)
    a = drop(Tensor(np.ones(64, np.float32))).data.copy()
    order_a = [yb.tolist() for _, yb in DataLoader(TensorDataset(np.zeros((8, 1)), np.arange(8)),
                                                   batch_size=8, shuffle=True)]
    ag.manual_seed(3)
    b = drop(Tensor(np.ones(64, np.float32))).data.copy()
    order_b = [yb.tolist() for _, yb in DataLoader(TensorDataset(np.zeros((8, 1)), np.arange(8)),
                                                   batch_size=8, shuffle=True)]
    assert a.tobytes() == b.tobytes() and 0 < (a == 0).sum() < 64
    assert order_a == order_b and order_a != [list(range(8))]


def test_two_processes_with_the_same_seed_agree():
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import test_reproducible as t\n"
        "print(t.digest(*t.train(seed=11, epochs=1)))\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=ROOT, timeout=120) for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.strip() == digest(*train(seed=11, epochs=1))  # and this process too
