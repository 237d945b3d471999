"""lstm_step: one-layer LSTM, 65 one-hot inputs, hidden 128, 50 steps, batch 32; a linear to
65 logits at every step, cross-entropy, backprop through time, SGD step.

PyTorch runs twice: its fused torch.nn.LSTM, and a hand-unrolled LSTMCell loop (what a
NumPy engine does, step by step) with the same weights.
"""
import os

import numpy as np
import torch

from autograd import Tensor
from harness import Bench

from .common import (Cycle, chainrule_nn, chainrule_sgd, cross_entropy, load_weights, sgd_step,
                     state_arrays)

VOCAB, HIDDEN, SEQ, BATCH, LR = 65, 128, 50, 32, 0.5


def _batches(n, seq=SEQ):
    """(one-hot inputs (seq, BATCH, VOCAB) float32, next-char targets (seq, BATCH) int64)."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "chainrule", "data", "dhammapada.txt")
    with open(path, "rb") as f:
        codes = np.frombuffer(f.read(), np.uint8).astype(np.int64) % VOCAB
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        starts = rng.integers(0, len(codes) - seq - 1, BATCH)
        idx = np.stack([codes[s:s + seq + 1] for s in starts], axis=1)  # (seq + 1, BATCH)
        x = np.eye(VOCAB, dtype=np.float32)[idx[:-1]]
        out.append((x, idx[1:].copy()))
    return out


class _TorchLSTM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(VOCAB, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, x):
        h, _ = self.lstm(x)
        return self.head(h)


class _TorchCellLoop(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = torch.nn.LSTMCell(VOCAB, HIDDEN)
        self.head = torch.nn.Linear(HIDDEN, VOCAB)

    def forward(self, x):
        h = c = torch.zeros(x.shape[1], HIDDEN)
        outs = []
        for x_t in x:
            h, c = self.cell(x_t, (h, c))
            outs.append(h)
        return self.head(torch.stack(outs))


def _torch_step_fn(model, batches):
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    nxt = Cycle([(torch.from_numpy(x), torch.from_numpy(y.reshape(-1))) for x, y in batches])
    return sgd_step(model, lambda out, y: torch.nn.functional.cross_entropy(
        out.reshape(-1, VOCAB), y), opt, nxt)


def build(quick, seq=SEQ):
    nn = chainrule_nn("LSTM", "Linear", "Module")
    ce = cross_entropy()
    batches = _batches(4, seq)
    torch.manual_seed(0)
    tmodel = _TorchLSTM()
    weights = state_arrays(tmodel)
    cell = _TorchCellLoop()
    cell.load_state_dict({k.replace("lstm.", "cell.").replace("_l0", ""): torch.from_numpy(v.copy())
                          for k, v in weights.items()})

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(VOCAB, HIDDEN)
            self.head = nn.Linear(HIDDEN, VOCAB)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.head(h)

    model = load_weights(Model(), weights)
    opt = chainrule_sgd(model.parameters(), LR)
    nxt = Cycle([(Tensor(x), Tensor(y.reshape(-1))) for x, y in batches])
    chainrule_step = sgd_step(model, lambda out, y: ce(out.reshape(-1, VOCAB), y), opt, nxt)

    contenders = {"chainrule": chainrule_step, "pytorch nn.LSTM": _torch_step_fn(tmodel, batches),
                  "pytorch LSTMCell loop": _torch_step_fn(cell, batches)}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}
    return Bench("lstm_step", contenders, losses, unit="ms/step", scale=1e3, rtol=2e-4)
