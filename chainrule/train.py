"""The training loop behind `chainrule train` and `chainrule demo`.

One run: seed, load and split the data, build the model and optimizer (or restore them
from a checkpoint), train epoch by epoch with a validation pass and early stopping,
save a checkpoint after every epoch, then report on the test set with the best weights.

Resuming gives the same result as never stopping: batches are shuffled by a generator
seeded from (seed, epoch), and the checkpoint holds everything else that changes during
training (weights, optimizer state, the shared autograd generator, history, best weights).
"""
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import autograd
import nn
from autograd import Tensor, as_tensor

from . import checkpoint, datasets, models
from .errors import CheckpointError, CLIError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "cosine")
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3}
CHECKPOINT_NAME = "checkpoint.npz"
EVAL_CHUNK = 500  # examples per forward pass when evaluating (bounds im2col memory)


@dataclass
class Config:
    """Everything that defines a run (saved in its checkpoint and metrics.json)."""

    model: str = "mlp"
    dataset: str = "spirals"
    epochs: int = 10
    batch_size: int = 64
    lr: float = None
    optimizer: str = "adam"
    seed: int = 0
    out: str = "chainrule-run"
    data_dir: str = None
    resume: str = None
    patience: int = None
    val_fraction: float = 0.1
    limit: int = None
    seq_len: int = 64
    temperature: float = 0.8
    sample_length: int = 300
    lr_schedule: str = "constant"  # or "cosine": down to 0 over --epochs
    progress: str = "batches"  # "batches", "epochs" (one bar for the run) or "none"

    def check(self):
        if self.model not in models.MODELS:
            raise CLIError(f"unknown --model {self.model!r}; "
                           f"choose from {', '.join(models.MODELS)}")
        if self.optimizer not in OPTIMIZERS:
            raise CLIError(f"unknown --optimizer {self.optimizer!r}; "
                           f"choose from {', '.join(OPTIMIZERS)}")
        for name in ("epochs", "batch_size", "seq_len"):
            if getattr(self, name) < 1:
                raise CLIError(f"--{name.replace('_', '-')} must be at least 1, "
                               f"got {getattr(self, name)}")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise CLIError(f"--lr must be a positive number, got {self.lr}")
        if self.patience is not None and self.patience < 1:
            raise CLIError(f"--patience must be at least 1, got {self.patience}")
        if self.lr_schedule not in SCHEDULES:
            raise CLIError(f"unknown --lr-schedule {self.lr_schedule!r}; "
                           f"choose from {', '.join(SCHEDULES)}")
        if not self.temperature > 0:
            raise CLIError(f"--temperature must be positive, got {self.temperature}")

    @property
    def learning_rate(self):
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]


# ---- building -----------------------------------------------------------------------------

def make_optimizer(name, params, lr):
    """The optimizer `name` from nn.optim; SGD gets momentum 0.9, AdamW weight decay 0.01."""
    from nn import optim

    params = list(params)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=0.01)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    raise CLIError(f"unknown --optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def make_scheduler(name, optimizer, epochs):
    """None for a constant lr; cosine annealing to 0 over `epochs` (stepped once an epoch)."""
    if name == "constant":
        return None
    from nn.optim import lr_scheduler

    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def _identity(config):
    """The settings a checkpoint must share with the run that resumes it."""
    identity = {"model": config.model, "dataset": config.dataset, "seed": config.seed,
                "optimizer": config.optimizer, "lr_schedule": config.lr_schedule,
                "limit": config.limit, "val_fraction": config.val_fraction}
    if config.lr_schedule == "cosine":
        identity["epochs"] = config.epochs  # the schedule's length is part of the schedule
    return identity


# ---- batches and steps ---------------------------------------------------------------------

def _batches(data, config, epoch):
    """One epoch of (x, y) batches, shuffled by a generator seeded from (seed, epoch).

    Rows of points and images come through nn.data.DataLoader; text comes as windows of
    `seq_len` characters (x) and the same windows shifted by one (y), from a random offset.
    """
    rng = np.random.default_rng([config.seed, epoch, 17])
    if data.kind != "text":
        from nn.data import DataLoader, TensorDataset

        return DataLoader(TensorDataset(data.x_train, data.y_train),
                          batch_size=config.batch_size, shuffle=True, generator=rng)
    n = len(data.x_train) - config.seq_len - 1
    if n < 1:
        raise CLIError(f"the training text has {len(data.x_train)} characters, fewer than "
                       f"--seq-len {config.seq_len} + 2; lower --seq-len or raise --limit")
    offset = int(rng.integers(config.seq_len)) % n
    starts = rng.permutation(np.arange(offset, n, config.seq_len))
    batches = []
    for i in range(0, len(starts), config.batch_size):
        window = starts[i:i + config.batch_size, None] + np.arange(config.seq_len + 1)
        chars = data.x_train[window]
        batches.append((chars[:, :-1], chars[:, 1:]))
    return batches


def _loss_and_logits(model, x, y, kind, state=None):
    """Mean cross-entropy and the (N, C) logits; text models also return their state."""
    F = nn.functional
    if kind == "text":
        logits, state = model(as_tensor(x), state)
        logits = logits.reshape(-1, logits.shape[-1])
        return F.cross_entropy(logits, as_tensor(y.reshape(-1))), logits, state
    logits = model(as_tensor(x))
    return F.cross_entropy(logits, as_tensor(y)), logits, None


def evaluate(model, data, part, seq_len=64):
    """(mean loss, accuracy, predictions, targets) on part 'train', 'val' or 'test'."""
    x, y = getattr(data, f"x_{part}"), getattr(data, f"y_{part}")
    model.eval()
    try:
        with autograd.no_grad():
            if data.kind == "text":
                return _evaluate_text(model, x, seq_len)
            losses, preds = [], []
            for start in range(0, len(y), EVAL_CHUNK):
                xb, yb = x[start:start + EVAL_CHUNK], y[start:start + EVAL_CHUNK]
                loss, logits, _ = _loss_and_logits(model, xb, yb, data.kind)
                losses.append(loss.item() * len(yb))
                preds.append(logits.data.argmax(axis=1))
    finally:
        model.train()
    if len(y) == 0:
        return float("nan"), float("nan"), np.zeros(0, np.int64), y
    preds = np.concatenate(preds)
    return sum(losses) / len(y), float((preds == y).mean()), preds, y


def _evaluate_text(model, ids, seq_len, streams=16):
    """Next-character loss over a held-out text, read as `streams` parallel strands.

    The state carries across windows within a strand, as when reading the text through.
    """
    length = (len(ids) - 1) // streams
    if length < 1:
        return float("nan"), float("nan"), np.zeros(0, np.int64), np.zeros(0, np.int64)
    x = ids[:streams * length].reshape(streams, length)
    y = ids[1:streams * length + 1].reshape(streams, length)
    state, total, preds, targets = None, 0.0, [], []
    for start in range(0, length, seq_len):
        xb, yb = x[:, start:start + seq_len], y[:, start:start + seq_len]
        loss, logits, state = _loss_and_logits(model, xb, yb, "text", state)
        total += loss.item() * yb.size
        preds.append(logits.data.argmax(axis=1))
        targets.append(yb.reshape(-1))
    preds, targets = np.concatenate(preds), np.concatenate(targets)
    return total / targets.size, float((preds == targets).mean()), preds, targets


# ---- progress display (tqdm when installed, plain lines otherwise) ------------------------

class _Progress:
    """A bar with live loss/accuracy; falls back to a few printed lines without tqdm."""

    def __init__(self, total, desc, enabled):
        self.total, self.desc, self.enabled, self.count = total, desc, enabled, 0
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, unit="step", leave=True,
                                dynamic_ncols=True, file=sys.stderr)

    def update(self, **stats):
        self.count += 1
        if not self.enabled:
            return
        text = {k: f"{v:.4f}" for k, v in stats.items()}
        if self.bar is not None:
            self.bar.set_postfix(text, refresh=False)
            self.bar.update(1)
        elif self.count == self.total or self.count % max(1, self.total // 4) == 0:
            shown = " ".join(f"{k} {v}" for k, v in text.items())
            print(f"{self.desc}: {self.count}/{self.total} {shown}", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ---- the run ----------------------------------------------------------------------------------

class Interrupted(Exception):
    """Ctrl-C during training; carries the path of the last complete checkpoint (or None)."""

    def __init__(self, checkpoint_path, epoch):
        super().__init__(checkpoint_path)
        self.checkpoint_path, self.epoch = checkpoint_path, epoch


def run(config, log=print):
    """Train as `config` says, write the outputs into config.out; returns the summary dict."""
    config.check()
    out = Path(config.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot create output folder {out}: {exc.strerror}") from None
    saved = None
    if config.resume:  # fail before any work
        saved = checkpoint.load(config.resume)
        _check_identity(saved, config)

    autograd.manual_seed(config.seed)
    data = datasets.load(config.dataset, seed=config.seed, val_fraction=config.val_fraction,
                         limit=config.limit, data_dir=config.data_dir)
    model = models.build(config.model, data, seq_len=config.seq_len)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.learning_rate)
    scheduler = make_scheduler(config.lr_schedule, optimizer, config.epochs)
    log(f"data: {data.describe()}; source: {data.source}")
    log(f"model: {config.model}, {models.count_parameters(model):,} parameters; "
        f"optimizer: {config.optimizer} (lr {config.learning_rate:g})")

    state = _fresh_state(model)
    if saved is not None:
        state = _restore(saved, config, model, optimizer, scheduler)
        log(f"resumed from {config.resume} after epoch {state['epoch']}")

    ckpt_path = out / CHECKPOINT_NAME
    try:
        _train_epochs(config, data, model, optimizer, scheduler, state, ckpt_path, log)
    except KeyboardInterrupt:
        last = ckpt_path if state["saved"] else None
        raise Interrupted(last, state["epoch"]) from None
    return _finish(config, data, model, state, out, log)


def _fresh_state(model):
    return {"epoch": 0, "history": {"train_loss": [], "train_acc": [], "val_loss": [],
                                    "val_acc": [], "seconds": []},
            "best": {"score": None, "epoch": 0, "bad_epochs": 0, "weights": _snapshot(model)},
            "stopped_early": False, "saved": False}


def _check_identity(saved, config):
    identity = saved.get("identity") if isinstance(saved, dict) else None
    if not isinstance(identity, dict):
        raise CheckpointError(f"checkpoint {config.resume} is not a training checkpoint "
                              "(no run settings in it); pass the checkpoint.npz of a run")
    mismatched = [f"--{k.replace('_', '-')} {identity.get(k)} (this run: {v})"
                  for k, v in _identity(config).items() if identity.get(k) != v]
    if mismatched:
        raise CheckpointError(f"checkpoint {config.resume} was made with "
                              + ", ".join(mismatched) + "; rerun with the same settings")


def _restore(saved, config, model, optimizer, scheduler):
    """Load a checkpoint's weights, optimizer and schedule state, and random generator."""
    try:
        run_state = saved["state"]
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        autograd.default_rng().bit_generator.state = saved["rng"]
        run_state["saved"] = True
        return run_state
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        message = str(exc).strip("'\"")
        raise CheckpointError(f"checkpoint {config.resume} does not fit this model and "
                              f"optimizer ({type(exc).__name__}: {message})") from None


def _train_epochs(config, data, model, optimizer, scheduler, state, ckpt_path, log):
    first = state["epoch"]
    if state["stopped_early"] or first >= config.epochs:
        log(f"nothing to train: the checkpoint is at epoch {first} of {config.epochs}"
            + (" (it stopped early)" if state["stopped_early"] else ""))
        return
    run_bar = _Progress(config.epochs - first, "training", config.progress == "epochs")
    try:
        _epochs(config, data, model, optimizer, scheduler, state, ckpt_path, log, run_bar)
    finally:  # on Ctrl-C too, so no half-drawn bar follows the message
        run_bar.close()


def _epochs(config, data, model, optimizer, scheduler, state, ckpt_path, log, run_bar):
    """Epochs from state['epoch'] on: train, validate, keep the best, checkpoint."""
    history, best = state["history"], state["best"]
    has_val = len(data.y_val) > 0
    for epoch in range(state["epoch"], config.epochs):
        started = time.perf_counter()
        batches = _batches(data, config, epoch)
        bar = _Progress(len(batches), f"epoch {epoch + 1}/{config.epochs}",
                        config.progress == "batches")
        total_loss = total_correct = total_seen = 0.0
        try:
            for x, y in batches:
                if isinstance(x, Tensor):  # the DataLoader gives Tensors, text windows arrays
                    x, y = x.data, y.data
                loss, logits, _ = _loss_and_logits(model, x, y, data.kind)
                optimizer.zero_grad()
                loss.backward()
                if data.kind == "text":  # one long sequence can blow the gradient up
                    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                n = y.size
                total_loss += loss.item() * n
                total_correct += float((logits.data.argmax(axis=1) == y.reshape(-1)).sum())
                total_seen += n
                bar.update(loss=total_loss / total_seen, acc=total_correct / total_seen)
        finally:
            bar.close()
        train_loss, train_acc = total_loss / total_seen, total_correct / total_seen
        if not math.isfinite(train_loss):
            raise CLIError(f"the training loss became {train_loss} in epoch {epoch + 1}; "
                           f"lower --lr (now {config.learning_rate:g})")
        val_loss, val_acc = (evaluate(model, data, "val", config.seq_len)[:2] if has_val
                             else (float("nan"), float("nan")))
        history["train_loss"].append(train_loss)
        history["train_acc"].append(train_acc)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["seconds"].append(time.perf_counter() - started)
        score = val_loss if has_val else train_loss  # lower is better
        if best["score"] is None or score < best["score"]:
            best.update(score=score, epoch=epoch + 1, bad_epochs=0, weights=_snapshot(model))
        else:
            best["bad_epochs"] += 1
        if scheduler is not None:
            scheduler.step()
        state["epoch"] = epoch + 1
        stop = config.patience is not None and best["bad_epochs"] >= config.patience
        state["stopped_early"] = stop
        _save_checkpoint(ckpt_path, config, model, optimizer, scheduler, state)
        if config.progress == "epochs":
            run_bar.update(loss=train_loss, acc=train_acc)
        else:
            extra = (f", val loss {val_loss:.4f}, val acc {val_acc:.4f}" if has_val else "")
            log(f"epoch {epoch + 1}/{config.epochs}: train loss {train_loss:.4f}, "
                f"train acc {train_acc:.4f}{extra} ({history['seconds'][-1]:.1f} s)")
        if stop:
            log(f"early stop: validation loss has not improved for {config.patience} epochs "
                f"(best at epoch {best['epoch']})")
            break


def _save_checkpoint(path, config, model, optimizer, scheduler, state):
    tree = {"identity": _identity(config), "config": asdict(config),
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "rng": autograd.default_rng().bit_generator.state,
            "state": {k: v for k, v in state.items() if k != "saved"}}
    checkpoint.save(tree, path)
    state["saved"] = True


def _finish(config, data, model, state, out, log):
    """Test-set report with the best weights, plots, the model's graph, metrics.json."""
    from . import explorer, plots, render, report

    best = state["best"]
    model.load_state_dict(best["weights"])
    weights_path = out / "model.npz"
    nn.save(model.state_dict(), weights_path)
    history = state["history"]
    test_loss, test_acc, preds, targets = evaluate(model, data, "test", config.seq_len)
    summary = {"config": asdict(config), "epochs_trained": state["epoch"],
               "best_epoch": best["epoch"], "stopped_early": state["stopped_early"],
               "test_loss": test_loss, "test_accuracy": test_acc, "history": history,
               "parameters": models.count_parameters(model), "data_source": data.source}
    train_acc = history["train_acc"][-1] if history["train_acc"] else float("nan")
    files = {"checkpoint": out / CHECKPOINT_NAME, "weights": weights_path}
    lines = [f"dataset: {data.describe()}", f"source: {data.source}",
             f"model: {config.model} ({summary['parameters']:,} parameters), "
             f"best epoch {best['epoch']} of {state['epoch']}"]
    if data.kind == "text":
        bpc = test_loss / math.log(2)
        summary["test_bits_per_char"] = bpc
        sample = generate(model, data.vocab, "The ", config.sample_length,
                          config.temperature, np.random.default_rng([config.seed, 99]))
        summary["sample"] = sample
        lines += [f"test (held-out last 10% of the text): {bpc:.3f} bits per character, "
                  f"next-character accuracy {test_acc:.4f}",
                  f"sample at temperature {config.temperature:g}:", sample]
        log(f"test: {bpc:.3f} bits per character on held-out text "
            f"(next-char accuracy {test_acc:.4f})")
        log(f"sample (temperature {config.temperature:g}):\n{sample}")
    else:
        rep = report.classification_report(targets, preds, data.classes)
        summary.update(rep["summary"])
        lines.append(rep["text"])
        log(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")
        log(rep["text"])
        png = plots.confusion_matrix(rep["confusion"], data.classes, out / "confusion.png")
        if png:
            files["confusion matrix"] = png
    (out / "report.txt").write_text("\n".join(lines) + "\n")
    files["report"] = out / "report.txt"
    png = plots.curves(history, out / "curves.png", bits=data.kind == "text")
    if png:
        files["curves"] = png
    if data.kind == "points":
        png = plots.decision_boundary(model, data, out / "decision_boundary.png")
        if png:
            files["decision boundary"] = png
    label, graph_path, note = render.model_graph(model, data, out / "graph.svg")
    files[label] = graph_path
    if note:
        log(note)
    files["graph explorer"] = explorer.model_page(model, data, out / "graph.html")
    with open(out / "metrics.json", "w") as f:
        json.dump(summary, f, indent=1, default=float)
    files["metrics"] = out / "metrics.json"
    if not plots.available():
        log("note: matplotlib is not installed, so no PNGs were written "
            "(pip install 'chainrule[cli]')")
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary


def generate(model, vocab, prompt, length, temperature, rng):
    """`length` characters sampled after `prompt` at `temperature` (lower = safer)."""
    index = {c: i for i, c in enumerate(vocab)}
    ids = [index[c] for c in prompt if c in index] or [0]
    chars = []
    model.eval()
    try:
        with autograd.no_grad():
            logits, state = model(Tensor(np.array([ids], dtype=np.int64)))
            for _ in range(length):
                z = logits.data[0, -1].astype(np.float64) / temperature
                p = np.exp(z - z.max())
                nxt = int(rng.choice(len(vocab), p=p / p.sum()))
                chars.append(vocab[nxt])
                logits, state = model(Tensor(np.array([[nxt]], dtype=np.int64)), state)
    finally:
        model.train()
    return prompt + "".join(chars)


def _snapshot(model):
    """The model's weights now: copies (state_dict() shares the parameters' memory)."""
    return {k: Tensor(v) for k, v in model.state_dict().items()}
