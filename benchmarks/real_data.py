"""Real data (issue 6): train on Fashion-MNIST and on text, chainrule next to PyTorch.

    python benchmarks/real_data.py [--only mlp,cnn,lstm,gpt] [--seeds 0,1,2] [--threads 1]

Each model is built once in PyTorch; its state dict, converted to arrays, is loaded into
the same model in chainrule (chainrule.models), so both start from the same weights. Both
then see the same batches: one shuffled index order per (seed, epoch), shared; the CNN's
dropout draws its masks from one NumPy generator per (seed, epoch), also shared. The two
libraries alternate epoch by epoch (chainrule's epoch, then PyTorch's, then chainrule's
next epoch, ...) and the LSTM and the GPT alternate step by step, so both train under the
same background load on these shared machines (benchmarks/README.md, "Method").

Reported per model and library: test accuracy on the official 10k test set (or bits per
character on the held-out last 10% of the text), training wall time (the epochs only),
evaluation time, and chainrule's peak memory (tracemalloc, measured in a separate short
run from the same initial weights: 20 training steps then the test evaluation, so the
timed runs do not pay for tracing). PyTorch's allocator is invisible to tracemalloc: '-'.
For the GPT both libraries also get a peak-RSS figure (Linux): a fresh process per library
runs the same 20 steps and the evaluation, and reports how far its peak resident set grew
past what it held once the model was built.
"""
import argparse
import gc
import math
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training set, as chainrule.datasets uses
PIXEL_EPS = 0.05  # added to every per-pixel std (norm "pixel", as chainrule.datasets does)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="mlp,cnn,lstm,gpt",
                   help="comma-separated: mlp, cnn, lstm, gpt")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (image models)")
    p.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX folder")
    p.add_argument("--limit", type=int, default=None, help="train/test examples (smoke runs)")
    p.add_argument("--mlp-epochs", type=int, default=5)
    p.add_argument("--mlp-batch", type=int, default=64)
    p.add_argument("--mlp-lr", type=float, default=2e-3)
    p.add_argument("--mlp-norm", default="pixel", choices=("global", "pixel"),
                   help="input standardisation (see load_fashion); chainrule train uses pixel")
    p.add_argument("--cnn-epochs", type=int, default=10)
    p.add_argument("--cnn-batch", type=int, default=64)
    p.add_argument("--cnn-lr", type=float, default=2e-3)
    p.add_argument("--cnn-norm", default="pixel", choices=("global", "pixel"))
    p.add_argument("--lstm-steps", type=int, default=500)
    p.add_argument("--lstm-batch", type=int, default=32)
    p.add_argument("--lstm-seq", type=int, default=64)
    p.add_argument("--lstm-lr", type=float, default=4e-3)
    p.add_argument("--lstm-dtype", default="float32", choices=("float32", "float64"))
    p.add_argument("--lstm-seed", type=int, default=0)
    p.add_argument("--gpt-steps", type=int, default=500)
    p.add_argument("--gpt-batch", type=int, default=32)
    p.add_argument("--gpt-seq", type=int, default=64)
    p.add_argument("--gpt-lr", type=float, default=2e-3)
    p.add_argument("--gpt-seed", type=int, default=0)
    p.add_argument("--gpt-rss", default=None, choices=("chainrule", "pytorch"),
                   help=argparse.SUPPRESS)  # the child process of the GPT's peak-RSS figure
    p.add_argument("--no-torch", action="store_true", help="chainrule only (no comparison)")
    return p.parse_args(argv)


# ---- shared pieces --------------------------------------------------------------------------

def epoch_order(n, seed, epoch):
    """The shuffled example order of one epoch; both libraries use the same one."""
    import numpy as np

    return np.random.default_rng([seed, epoch, 6]).permutation(n)


def batches_of(order, batch_size):
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def load_fashion(data_dir=None, limit=None, norm="global"):
    """(x_train, y_train, x_test, y_test): float32 (N, 1, 28, 28), int64.

    norm "global": (x - 0.286) / 0.353, one mean and std for every pixel; "pixel" (what
    chainrule.datasets does): each pixel standardised by its own training-set mean and
    std + PIXEL_EPS (border pixels are nearly always 0, with a std near 0: without
    the floor their rare non-zero values would be blown up a hundredfold).
    """
    import numpy as np

    from nn.data import load_fashion_mnist

    x_train, y_train = load_fashion_mnist(data_dir, train=True, normalize=True)
    x_test, y_test = load_fashion_mnist(data_dir, train=False, normalize=True)
    if limit is not None:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], \
            y_test[:limit]
    if norm == "pixel":
        mean, std = x_train.mean(axis=0), x_train.std(axis=0) + PIXEL_EPS
    elif norm == "global":
        mean, std = MEAN, STD
    else:
        raise ValueError(f"load_fashion: norm must be 'global' or 'pixel', got {norm!r}")
    scale = lambda a: ((a - mean) / std).astype(np.float32)[:, None]  # noqa: E731
    return scale(x_train), y_train, scale(x_test), y_test


def text_ids(limit=None):
    """(ids of the first 90% of the text, ids of the last 10%, vocab)."""
    import numpy as np

    from chainrule.corpus import load_text

    text = load_text("dhammapada")
    if limit is not None:
        text = text[:limit]
    vocab = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    n_test = len(ids) // 10
    return ids[:len(ids) - n_test], ids[len(ids) - n_test:], vocab


def text_batches(ids, seq_len, batch_size, seed, epoch):
    """One epoch of (x, y) windows of seq_len characters from a random offset, shuffled."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch, 17])
    n = len(ids) - seq_len - 1
    offset = int(rng.integers(seq_len)) % n
    starts = rng.permutation(np.arange(offset, n, seq_len))
    out = []
    for i in range(0, len(starts), batch_size):
        window = starts[i:i + batch_size, None] + np.arange(seq_len + 1)
        chars = ids[window]
        out.append((chars[:, :-1], chars[:, 1:]))
    return out


def chainrule_peak(fn):
    """Peak bytes that tracemalloc sees during fn() (NumPy reports its buffers to it)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def fmt_mib(n):
    return "-" if n is None else f"{n / 2**20:.1f} MiB"


# ---- the two libraries, one interface -------------------------------------------------------
# Each side offers: step(x, y) -> loss (float); predict(x) -> logits as an array (eval mode,
# no graph); end_epoch() (the lr schedule).

class ChainruleSide:
    def __init__(self, model, lr, epochs, clip=None):
        import autograd
        import nn
        from nn import optim
        from nn.optim import lr_scheduler

        self.autograd, self.nn, self.model, self.clip = autograd, nn, model, clip
        self.opt = optim.Adam(model.parameters(), lr=lr)
        self.sched = lr_scheduler.CosineAnnealingLR(self.opt, T_max=epochs) if epochs else None

    def step(self, x, y, mask=None):
        from autograd import Tensor

        if mask is not None:
            self.model.classifier[0].mask = Tensor(mask)
        logits = self.model(Tensor(x))
        if isinstance(logits, tuple):  # the LSTM returns (logits, state)
            logits = logits[0]
        loss = self.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                Tensor(y.reshape(-1)))
        self.opt.zero_grad()
        loss.backward()
        if self.clip:
            self.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return loss.item()

    def predict(self, x, state=None):
        from autograd import Tensor

        self.model.eval()
        try:
            with self.autograd.no_grad():
                if state is not None or x.dtype.kind == "i":
                    logits, state = self.model(Tensor(x), state)
                    return logits.data, state
                return self.model(Tensor(x)).data
        finally:
            self.model.train()

    def end_epoch(self):
        if self.sched is not None:
            self.sched.step()


class TorchSide:
    def __init__(self, model, lr, epochs, clip=None):
        import torch

        self.torch, self.model, self.clip = torch, model, clip
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)
        self.sched = (torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=epochs)
                      if epochs else None)

    def step(self, x, y, mask=None):
        torch = self.torch
        if mask is not None:
            self.model.classifier[0].mask = torch.from_numpy(mask)
        logits = self.model(torch.from_numpy(x))
        if isinstance(logits, tuple):
            logits = logits[0]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.from_numpy(y.reshape(-1)))
        self.opt.zero_grad()
        loss.backward()
        if self.clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip)
        self.opt.step()
        return loss.item()

    def predict(self, x, state=None):
        torch = self.torch
        self.model.eval()
        try:
            with torch.no_grad():
                if state is not None or x.dtype.kind == "i":
                    logits, state = self.model(torch.from_numpy(x), state)
                    return logits.numpy(), state
                return self.model(torch.from_numpy(x)).numpy()
        finally:
            self.model.train()

    def end_epoch(self):
        if self.sched is not None:
            self.sched.step()


def torch_models():
    """PyTorch twins of chainrule.models (same parameter names, so state dicts match)."""
    import torch
    from torch import nn as tnn

    class MaskDropout(tnn.Module):
        """Dropout with a given mask (already scaled by 1/(1-p)); the identity in eval mode."""

        mask = None

        def forward(self, x):
            return x * self.mask if self.training else x

    class MLP(tnn.Module):
        def __init__(self):
            super().__init__()
            self.layers = tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128),
                                         tnn.ReLU(), tnn.Linear(128, 10))

        def forward(self, x):
            return self.layers(x.reshape(x.shape[0], -1))

    class CNN(tnn.Module):
        def __init__(self, c1=32, c2=48, hidden=32):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, c1, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(c1, c2, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(MaskDropout(), tnn.Linear(c2 * 7 * 7, hidden),
                                             tnn.ReLU(), tnn.Linear(hidden, 10))

        def forward(self, x):
            x = self.features(x)
            return self.classifier(x.reshape(x.shape[0], -1))

    class CharLSTM(tnn.Module):
        def __init__(self, vocab, embedding_dim=32, hidden=128):
            super().__init__()
            self.embedding = tnn.Embedding(vocab, embedding_dim)
            self.lstm = tnn.LSTM(embedding_dim, hidden, batch_first=True)
            self.head = tnn.Linear(hidden, vocab)

        def forward(self, ids, state=None):
            out, state = self.lstm(self.embedding(ids), state)
            return self.head(out), state

    class CharGPT(tnn.Module):
        """chainrule.models.CharGPT in PyTorch: the same parameter names and forward."""

        def __init__(self, vocab, block_size=64, d_model=128, n_layers=2, n_heads=4, d_ff=256):
            super().__init__()
            self.block_size = block_size
            self.token = tnn.Embedding(vocab, d_model)
            self.position = tnn.Embedding(block_size, d_model)
            layer = tnn.TransformerEncoderLayer(d_model, n_heads, d_ff, 0.0, activation="gelu",
                                                batch_first=True, norm_first=True)
            self.blocks = tnn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
            self.norm = tnn.LayerNorm(d_model)
            self.head = tnn.Linear(d_model, vocab)

        def forward(self, ids, state=None):
            n = ids.shape[1]
            context = ids if state is None else torch.cat([state, ids], 1)
            context = context[:, -self.block_size:]
            T = context.shape[1]
            x = self.token(context) + self.position(torch.arange(T))
            causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
            x = self.norm(self.blocks(x, mask=causal, is_causal=True))
            return self.head(x[:, T - n:]), context

    return {"mlp": MLP, "cnn": CNN, "lstm": CharLSTM, "gpt": CharGPT, "torch": torch}


def chainrule_mask_dropout():
    """chainrule's twin of torch_models()'s MaskDropout (defined here: nn is imported late)."""
    import nn

    class MaskDropout(nn.Module):
        """Dropout with a given mask (already scaled by 1/(1-p)); the identity in eval mode."""

        mask = None

        def forward(self, x):
            return x * self.mask if self.training else x

    return MaskDropout()


def dropout_masks(seed, epoch, shape, p):
    """The CNN's dropout masks of one epoch, in step order: float32, 0 or 1/(1-p)."""
    import numpy as np

    rng = np.random.default_rng([seed, epoch, 8])
    while True:
        yield ((rng.random(shape) >= p) * (1.0 / (1.0 - p))).astype(np.float32)


def cnn_model():
    """chainrule's CNN, its dropout swapped for one fed the shared masks."""
    from chainrule import models

    model = models.CNN(1, 28, 10)
    model.classifier.add_module("0", chainrule_mask_dropout())
    return model


def twins(name, vocab_size=None, dtype="float32"):
    """(torch model, chainrule model with the torch model's initial weights)."""
    import numpy as np

    from chainrule import models

    t = torch_models()
    if name == "lstm":
        tmodel = t["lstm"](vocab_size)
        cmodel = models.CharLSTM(vocab_size)
    elif name == "gpt":
        tmodel = t["gpt"](vocab_size)
        cmodel = models.CharGPT(vocab_size, dropout=0.0)  # no dropout: the twins' masks differ
    elif name == "cnn":
        tmodel, cmodel = t["cnn"](), cnn_model()
    else:
        tmodel, cmodel = t["mlp"](), models.MLP(784, (256, 128), 10)
    if dtype == "float64":
        tmodel = tmodel.double()
    weights = {k: v.detach().numpy() for k, v in tmodel.state_dict().items()}
    if dtype == "float64":  # load_state_dict keeps the parameters' dtype: cast them first
        for p in cmodel.parameters():
            p.data = p.data.astype(np.float64)
    cmodel.load_state_dict(weights)
    return tmodel, cmodel


def accuracy(side, x, y, chunk=500):
    import numpy as np

    preds = [side.predict(x[i:i + chunk]).argmax(axis=1) for i in range(0, len(y), chunk)]
    return float((np.concatenate(preds) == y).mean())


# ---- image models ---------------------------------------------------------------------------

def run_image(name, data, seed, epochs, batch_size, lr, with_torch=True, log=print,
              freeze=True):
    """Train `name` ('mlp' or 'cnn') in both libraries, alternating epochs; a result dict."""
    import numpy as np

    torch = torch_models()["torch"]
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    tmodel, cmodel = twins(name)
    initial = {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}
    sides = {"chainrule": ChainruleSide(cmodel, lr, epochs)}
    if with_torch:
        sides["pytorch"] = TorchSide(tmodel, lr, epochs)
    res = {k: {"train_s": 0.0, "losses": []} for k in sides}
    if freeze:  # PyTorch's import-time objects out of the collector's full passes (as run.py)
        gc.collect()
        gc.freeze()
    for epoch in range(epochs):
        order = batches_of(epoch_order(len(y_train), seed, epoch), batch_size)
        for lib, side in sides.items():
            masks = _masks(cmodel, seed, epoch, batch_size)
            gc.collect()
            t0 = time.perf_counter()
            total = 0.0
            for i, idx in enumerate(order):
                mask = None if masks is None else next(masks)[:len(idx)]
                loss = side.step(x_train[idx], y_train[idx], mask)
                total += loss * len(idx)
                if epoch == 0 and i == 0:
                    res[lib]["first_loss"] = loss
            side.end_epoch()
            res[lib]["train_s"] += time.perf_counter() - t0
            res[lib]["losses"].append(total / len(y_train))
        log(f"  {name} seed {seed} epoch {epoch + 1}/{epochs}: " + ", ".join(
            f"{lib} loss {r['losses'][-1]:.4f} ({r['train_s']:.1f} s so far)"
            for lib, r in res.items()))
    for lib, side in sides.items():
        t0 = time.perf_counter()
        res[lib]["test_acc"] = accuracy(side, x_test, y_test)
        res[lib]["eval_s"] = time.perf_counter() - t0
    res["chainrule"]["peak"] = _image_peak(name, initial, data, seed, batch_size, lr)
    return res


def _masks(model, seed, epoch, batch_size):
    """The CNN's dropout masks for one epoch (None for the MLP, which has no dropout)."""
    from chainrule import models

    if not isinstance(model, models.CNN):
        return None
    features = model.classifier[1].weight.shape[1]  # what the dropout sees: c2 * 7 * 7
    return dropout_masks(seed, epoch, (batch_size, features), models.DROPOUT)


def _image_peak(name, initial, data, seed, batch_size, lr, steps=20):
    """tracemalloc peak of chainrule: `steps` training steps then the test evaluation."""
    from chainrule import models

    x_train, y_train, x_test, y_test = data
    model = cnn_model() if name == "cnn" else models.MLP(784, (256, 128), 10)
    model.load_state_dict(initial)
    side = ChainruleSide(model, lr, 1)
    order = batches_of(epoch_order(len(y_train), seed, 0), batch_size)[:steps]
    masks = _masks(model, seed, 0, batch_size)

    def work():
        for idx in order:
            side.step(x_train[idx], y_train[idx],
                      None if masks is None else next(masks)[:len(idx)])
        accuracy(side, x_test, y_test)

    return chainrule_peak(work)


# ---- character LSTM -------------------------------------------------------------------------

def bits_per_char(side, ids, seq_len=64, streams=16, start_state=None):
    """Next-character loss (bits) over held-out ids read as `streams` parallel strands,
    the state carried from window to window (as chainrule.train evaluates text)."""
    import numpy as np

    length = (len(ids) - 1) // streams
    x = ids[:streams * length].reshape(streams, length)
    y = ids[1:streams * length + 1].reshape(streams, length)
    state, total = None, 0.0
    for start in range(0, length, seq_len):
        xb, yb = x[:, start:start + seq_len], y[:, start:start + seq_len]
        if state is None:
            state = (start_state or _zero_state)(side, xb)
        logits, state = side.predict(xb, state)
        z = logits.astype(np.float64)
        z = z - z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        total -= np.take_along_axis(logp, yb[..., None], axis=-1).sum()
    return total / (streams * length) / math.log(2)


def _zero_state(side, xb):
    """An explicit zero (h, c) so predict() knows it is the recurrent model."""
    import numpy as np

    hidden = 128
    dtype = np.float64 if getattr(side, "dtype", "float32") == "float64" else np.float32
    h = np.zeros((1, xb.shape[0], hidden), dtype)
    if isinstance(side, TorchSide):
        import torch

        return torch.from_numpy(h), torch.from_numpy(h.copy())
    from autograd import Tensor

    return Tensor(h), Tensor(h.copy())


def sample(side, vocab, prompt, length, temperature, seed, start_state=None):
    import numpy as np

    rng = np.random.default_rng([seed, 99])
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.array([[index[c] for c in prompt if c in index] or [0]], dtype=np.int64)
    logits, state = side.predict(ids, (start_state or _zero_state)(side, ids))
    chars = []
    for _ in range(length):
        z = logits[0, -1].astype(np.float64) / temperature
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(vocab), p=p / p.sum()))
        chars.append(vocab[nxt])
        logits, state = side.predict(np.array([[nxt]], dtype=np.int64), state)
    return prompt + "".join(chars)


def run_lstm(steps, batch_size, seq_len, lr, dtype="float32", seed=0, with_torch=True,
             limit=None, report_every=100, log=print, freeze=True):
    """Train the character LSTM in both libraries in lockstep (one step each in turn)."""
    import numpy as np

    torch = torch_models()["torch"]
    train_ids, test_ids, vocab = text_ids(limit)
    torch.manual_seed(seed)
    tmodel, cmodel = twins("lstm", len(vocab), dtype)
    initial = {k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()}
    sides = {"chainrule": ChainruleSide(cmodel, lr, 0, clip=5.0)}
    if with_torch:
        sides["pytorch"] = TorchSide(tmodel, lr, 0, clip=5.0)
    for side in sides.values():
        side.dtype = dtype
    res = {k: {"train_s": 0.0, "losses": {}} for k in sides}
    if freeze:
        gc.collect()
        gc.freeze()
    step, epoch = 0, 0
    while step <= steps:  # the loss at step k is computed before update k; steps+1 forwards
        for x, y in text_batches(train_ids, seq_len, batch_size, seed, epoch):
            if step > steps:
                break
            for lib, side in sides.items():
                t0 = time.perf_counter()
                loss = side.step(x, y)
                res[lib]["train_s"] += time.perf_counter() - t0
                if step % report_every == 0 or step == steps:
                    res[lib]["losses"][step] = loss
            if step % report_every == 0 or step == steps:
                log(f"  lstm step {step}: " + ", ".join(
                    f"{lib} {r['losses'][step]:.5f}" for lib, r in res.items()))
            step += 1
        epoch += 1
    res["epochs"] = epoch
    for lib, side in sides.items():
        t0 = time.perf_counter()
        res[lib]["bpc"] = bits_per_char(side, test_ids, seq_len)
        res[lib]["eval_s"] = time.perf_counter() - t0
        res[lib]["sample"] = sample(side, vocab, "The ", 300, 0.8, seed)
    res["chainrule"]["peak"] = _lstm_peak(initial, vocab, train_ids, test_ids, batch_size,
                                         seq_len, lr, dtype, seed)
    return res


def _lstm_peak(initial, vocab, train_ids, test_ids, batch_size, seq_len, lr, dtype, seed,
               steps=5):
    from chainrule import models

    model = models.CharLSTM(len(vocab))
    if dtype == "float64":
        for p in model.parameters():
            p.data = p.data.astype("float64")
    model.load_state_dict(initial)
    side = ChainruleSide(model, lr, 0, clip=5.0)
    side.dtype = dtype
    batches = text_batches(train_ids, seq_len, batch_size, seed, 0)[:steps]

    def work():
        for x, y in batches:
            side.step(x, y)
        bits_per_char(side, test_ids, seq_len)

    return chainrule_peak(work)


# ---- character GPT --------------------------------------------------------------------------

def _no_state(side, xb):
    return None  # the GPT starts with no context


def run_gpt(steps, batch_size, seq_len, lr, seed=0, with_torch=True, limit=None,
            report_every=100, log=print, freeze=True, rss=True):
    """Train the character GPT in both libraries in lockstep (one step each in turn)."""
    torch = torch_models()["torch"]
    train_ids, test_ids, vocab = text_ids(limit)
    torch.manual_seed(seed)
    tmodel, cmodel = twins("gpt", len(vocab))
    sides = {"chainrule": ChainruleSide(cmodel, lr, 0, clip=5.0)}
    if with_torch:
        sides["pytorch"] = TorchSide(tmodel, lr, 0, clip=5.0)
    res = {k: {"train_s": 0.0, "losses": {}} for k in sides}
    if freeze:
        gc.collect()
        gc.freeze()
    step, epoch = 0, 0
    while step <= steps:  # the loss at step k is computed before update k; steps+1 forwards
        for x, y in text_batches(train_ids, seq_len, batch_size, seed, epoch):
            if step > steps:
                break
            for lib, side in sides.items():
                t0 = time.perf_counter()
                loss = side.step(x, y)
                res[lib]["train_s"] += time.perf_counter() - t0
                if step % report_every == 0 or step == steps:
                    res[lib]["losses"][step] = loss
            if step % report_every == 0 or step == steps:
                log(f"  gpt step {step}: " + ", ".join(
                    f"{lib} {r['losses'][step]:.5f}" for lib, r in res.items()))
            step += 1
        epoch += 1
    res["epochs"] = epoch
    for lib, side in sides.items():
        t0 = time.perf_counter()
        res[lib]["bpc"] = bits_per_char(side, test_ids, seq_len, start_state=_no_state)
        res[lib]["eval_s"] = time.perf_counter() - t0
        res[lib]["sample"] = sample(side, vocab, "The ", 300, 0.8, seed, start_state=_no_state)
    res["chainrule"]["peak"] = chainrule_peak(lambda: _gpt_work("chainrule", batch_size,
                                                                seq_len, lr, seed, limit)())
    for lib in sides:
        res[lib]["rss"] = _gpt_rss(lib, batch_size, seq_len, lr, seed, limit) if rss else None
    return res


def _gpt_work(lib, batch_size, seq_len, lr, seed, limit, steps=20):
    """A function that runs `steps` GPT training steps and the test evaluation for `lib`."""
    torch = torch_models()["torch"]
    train_ids, test_ids, vocab = text_ids(limit)
    torch.manual_seed(seed)
    tmodel, cmodel = twins("gpt", len(vocab))
    side = (ChainruleSide(cmodel, lr, 0, clip=5.0) if lib == "chainrule"
            else TorchSide(tmodel, lr, 0, clip=5.0))
    batches = text_batches(train_ids, seq_len, batch_size, seed, 0)[:steps]

    def work():
        for x, y in batches:
            side.step(x, y)
        bits_per_char(side, test_ids, seq_len, start_state=_no_state)

    return work


def _gpt_rss(lib, batch_size, seq_len, lr, seed, limit):
    """Peak RSS growth (bytes) of a fresh process running _gpt_work for `lib`."""
    import subprocess

    cmd = [sys.executable, str(Path(__file__).resolve()), "--gpt-rss", lib,
           "--gpt-batch", str(batch_size), "--gpt-seq", str(seq_len), "--gpt-lr", str(lr),
           "--gpt-seed", str(seed), "--threads", os.environ.get("OPENBLAS_NUM_THREADS", "1")]
    if limit:
        cmd += ["--limit", str(limit)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1])


def _status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _gpt_rss_child(args):
    """Print the peak RSS growth of _gpt_work: the high-water mark is reset (Linux's
    clear_refs 5) once the model is built, so imports and weights do not count."""
    work = _gpt_work(args.gpt_rss, args.gpt_batch, args.gpt_seq, args.gpt_lr, args.gpt_seed,
                     args.limit)
    gc.collect()
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    work()
    print((_status_kib("VmHWM") - before) * 1024)


# ---- printing -------------------------------------------------------------------------------

def header(args, np, torch):
    try:
        import threadpoolctl

        blas = "; ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads, "
                         f"{i['prefix']})" for i in threadpoolctl.threadpool_info())
    except ImportError:
        blas = "(pip install threadpoolctl to show)"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [f"date      {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             f"machine   {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
             f"versions  python {platform.python_version()}, numpy {np.__version__}"
             + (f", torch {torch.__version__}" if torch else ""),
             f"threads   {args.threads} (OMP/OPENBLAS/MKL env"
             + (f", torch.set_num_threads; torch reports {torch.get_num_threads()})" if torch
                else ")"),
             f"BLAS      {blas}",
             f"command   {' '.join([Path(sys.executable).name] + sys.argv)}"]
    print("\n".join(lines), flush=True)


def table(rows, columns):
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths)),
           "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy/PyTorch load their BLAS
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch

    from chainrule.models import DROPOUT

    torch.set_num_threads(args.threads)
    if args.gpt_rss:
        return _gpt_rss_child(args)
    header(args, np, torch)
    only = [n for n in args.only.split(",") if n]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    with_torch = not args.no_torch
    rows = []
    started = time.perf_counter()
    for name in ("mlp", "cnn"):
        if name not in only:
            continue
        norm = args.mlp_norm if name == "mlp" else args.cnn_norm
        data = load_fashion(args.data_dir, args.limit, norm)
        print(f"data      Fashion-MNIST {len(data[1])} train, {len(data[3])} test, " + (
            f"standardised with mean {MEAN} std {STD}" if norm == "global" else
            f"each pixel standardised (its training mean, std + {PIXEL_EPS})"), flush=True)
        epochs, batch, lr = (getattr(args, f"{name}_{k}") for k in ("epochs", "batch", "lr"))
        for seed in seeds:
            print(f"{name}: seed {seed}, {epochs} epochs, batch {batch}, Adam lr {lr:g}, "
                  "cosine over epochs" + (f", dropout {DROPOUT} (shared masks)" if name == "cnn"
                                          else ""), flush=True)
            res = run_image(name, data, seed, epochs, batch, lr, with_torch)
            for lib in ("chainrule", "pytorch"):
                if lib not in res:
                    continue
                r = res[lib]
                rows.append({"model": name, "seed": seed, "library": lib,
                             "test acc": f"{100 * r['test_acc']:.2f}%",
                             "train time": f"{r['train_s']:.1f} s",
                             "eval time": f"{r['eval_s']:.1f} s",
                             "peak mem": fmt_mib(r.get("peak")),
                             "first loss": f"{r['first_loss']:.5f}",
                             "last epoch loss": f"{r['losses'][-1]:.4f}"})
            print(table(rows[-2:], list(rows[-1])), flush=True)
    if "lstm" in only:
        print(f"lstm: {args.lstm_steps} steps, batch {args.lstm_batch}, seq {args.lstm_seq}, "
              f"Adam lr {args.lstm_lr:g}, clip 5, {args.lstm_dtype}", flush=True)
        res = run_lstm(args.lstm_steps, args.lstm_batch, args.lstm_seq, args.lstm_lr,
                       args.lstm_dtype, args.lstm_seed, with_torch, args.limit)
        steps = sorted(res["chainrule"]["losses"])
        lrows = []
        for s in steps:
            row = {"step": s, "chainrule": f"{res['chainrule']['losses'][s]:.5f}"}
            if with_torch:
                c, t = res["chainrule"]["losses"][s], res["pytorch"]["losses"][s]
                row.update(pytorch=f"{t:.5f}", **{"rel diff": f"{abs(c - t) / abs(t):.2e}"})
            lrows.append(row)
        print(f"lstm training loss ({res['epochs']} passes over the text), {args.lstm_dtype}:")
        print(table(lrows, list(lrows[0])))
        for lib in ("chainrule", "pytorch"):
            if lib not in res:
                continue
            r = res[lib]
            rows.append({"model": "lstm", "seed": args.lstm_seed, "library": lib,
                         "test acc": f"{r['bpc']:.3f} bpc", "train time": f"{r['train_s']:.1f} s",
                         "eval time": f"{r['eval_s']:.1f} s", "peak mem": fmt_mib(r.get("peak")),
                         "first loss": f"{r['losses'][0]:.5f}",
                         "last epoch loss": f"{r['losses'][steps[-1]]:.4f}"})
            print(f"{lib} sample at temperature 0.8:\n{r['sample']}\n")
    if "gpt" in only:
        print(f"gpt: {args.gpt_steps} steps, batch {args.gpt_batch}, seq {args.gpt_seq}, "
              f"Adam lr {args.gpt_lr:g}, clip 5, float32", flush=True)
        res = run_gpt(args.gpt_steps, args.gpt_batch, args.gpt_seq, args.gpt_lr, args.gpt_seed,
                      with_torch, args.limit)
        steps = sorted(res["chainrule"]["losses"])
        grows = []
        for s in steps:
            row = {"step": s, "chainrule": f"{res['chainrule']['losses'][s]:.5f}"}
            if with_torch:
                c, t = res["chainrule"]["losses"][s], res["pytorch"]["losses"][s]
                row.update(pytorch=f"{t:.5f}", **{"rel diff": f"{abs(c - t) / abs(t):.2e}"})
            grows.append(row)
        print(f"gpt training loss ({res['epochs']} passes over the text), float32:")
        print(table(grows, list(grows[0])))
        for lib in ("chainrule", "pytorch"):
            if lib not in res:
                continue
            r = res[lib]
            rows.append({"model": "gpt", "seed": args.gpt_seed, "library": lib,
                         "test acc": f"{r['bpc']:.3f} bpc", "train time": f"{r['train_s']:.1f} s",
                         "eval time": f"{r['eval_s']:.1f} s",
                         "peak mem": fmt_mib(r.get("peak")) + f" (RSS +{fmt_mib(r['rss'])})",
                         "first loss": f"{r['losses'][0]:.5f}",
                         "last epoch loss": f"{r['losses'][steps[-1]]:.4f}"})
            print(f"{lib} sample at temperature 0.8:\n{r['sample']}\n")
    print(f"\nall results (total {time.perf_counter() - started:.0f} s; peak mem = chainrule's "
          "tracemalloc peak over 20 training steps (LSTM: 5) + the test evaluation, '-' for "
          "PyTorch; 'last epoch loss' for the LSTM is the loss of the last step)")
    print(table(rows, ["model", "seed", "library", "test acc", "train time", "eval time",
                       "peak mem", "first loss", "last epoch loss"]))
    return rows


if __name__ == "__main__":
    main()
