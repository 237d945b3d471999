"""transformer_step: embedding 65 -> 128, 2 pre-norm Transformer encoder layers (4 heads,
feed-forward 256, GELU), causal mask, batch 16 x 64 tokens, a linear to 65 logits,
cross-entropy, SGD step. chainrule against torch.nn.TransformerEncoder from the same weights.
"""
import numpy as np
import torch

from autograd import Tensor
from harness import Bench

from .common import (Cycle, chainrule_nn, chainrule_sgd, cross_entropy, load_weights, sgd_step,
                     state_arrays)

VOCAB, D_MODEL, HEADS, FF, LAYERS, SEQ, BATCH, LR = 65, 128, 4, 256, 2, 64, 16, 0.1


def _batches(n):
    """(ids (BATCH, SEQ) int64, next-token targets (BATCH * SEQ,) int64) from the shipped text."""
    from chainrule.corpus import load_text

    codes = np.frombuffer(load_text().encode("ascii"), np.uint8).astype(np.int64) % VOCAB
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        starts = rng.integers(0, len(codes) - SEQ - 1, BATCH)
        idx = np.stack([codes[s:s + SEQ + 1] for s in starts])
        out.append((idx[:, :-1].copy(), idx[:, 1:].reshape(-1).copy()))
    return out


def _causal():
    return np.triu(np.ones((SEQ, SEQ), dtype=bool), 1)  # True = masked out (the future)


class _TorchModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, D_MODEL)
        layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0,
                                                 activation="gelu", batch_first=True,
                                                 norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.head = torch.nn.Linear(D_MODEL, VOCAB)
        self.register_buffer("mask", torch.from_numpy(_causal()), persistent=False)

    def forward(self, ids):
        return self.head(self.encoder(self.embedding(ids), mask=self.mask, is_causal=True))


def build(quick):
    nn = chainrule_nn("Embedding", "TransformerEncoder", "TransformerEncoderLayer", "Linear",
                      "Module")
    ce = cross_entropy()
    batches = _batches(4)
    torch.manual_seed(0)
    tmodel = _TorchModel()
    weights = state_arrays(tmodel)
    mask = _causal()

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, D_MODEL)
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, LAYERS)
            self.head = nn.Linear(D_MODEL, VOCAB)

        def forward(self, ids):
            return self.head(self.encoder(self.embedding(ids), mask=mask, is_causal=True))

    model = load_weights(Model(), weights)
    opt = chainrule_sgd(model.parameters(), LR)
    nxt = Cycle([(Tensor(x), Tensor(y)) for x, y in batches])
    chainrule_step = sgd_step(model, lambda out, y: ce(out.reshape(-1, VOCAB), y), opt, nxt)
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
    tnxt = Cycle([(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches])
    torch_step = sgd_step(tmodel, lambda out, y: torch.nn.functional.cross_entropy(
        out.reshape(-1, VOCAB), y), topt, tnxt)

    contenders = {"chainrule": chainrule_step, "pytorch": torch_step}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}
    return Bench("transformer_step", contenders, losses, unit="ms/step", scale=1e3, rtol=2e-4)
