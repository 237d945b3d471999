"""`chainrule export`: the weights a run saved (model.npz), rebuilt into their model and
written as ONNX with a free batch size (and, for the LSTM and the GPT, a free sequence length)."""
import json
from pathlib import Path

import numpy as np

import nn

from . import models
from .errors import CLIError

IMAGE_SIDES = {"digits": 8, "fashion-mnist": 28}  # the image datasets' (square) sizes


def _shape(state, key, model_name, path):
    if key not in state:
        raise CLIError(f"{path} does not hold the weights of a --model {model_name} "
                       f"(no {key!r}; it has {', '.join(sorted(state)[:4])}, ...); pass the "
                       "--model the run was trained with")
    return np.shape(np.asarray(getattr(state[key], "data", state[key])))


def _dataset(path):
    """The dataset named in the run's metrics.json next to the weights, or None."""
    metrics = Path(path).with_name("metrics.json")
    try:
        return json.loads(metrics.read_text())["config"]["dataset"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


class GPTLogits(models.CharGPT):
    """CharGPT as exported: the logits alone. Its second output, the last block_size ids kept
    as the context for generation, is a NumPy array made outside the graph."""

    def forward(self, ids):
        return super().forward(ids)[0]


def _gpt(state, path):
    vocab, d_model = _shape(state, "token.weight", "gpt", path)
    block_size = _shape(state, "position.weight", "gpt", path)[0]
    d_ff = _shape(state, "blocks.layers.0.linear1.weight", "gpt", path)[0]
    n_layers = len({k.split(".")[2] for k in state if k.startswith("blocks.layers.")})
    heads = models.GPT_HEADS
    if d_model % heads:
        raise CLIError(f"{path}: the GPT's width {d_model} does not split into the "
                       f"{heads} heads `chainrule train` gives it; it was not trained by chainrule")
    model = GPTLogits(vocab, block_size=block_size, d_model=d_model, n_layers=n_layers,
                      n_heads=heads, d_ff=d_ff)
    # the sequence length is free up to block_size: traced on a shorter one (export also
    # runs the forward pass one step longer)
    example = np.zeros((1, max(1, min(8, block_size - 1))), np.int64)
    axes = {0: "batch", 1: "time"} if block_size > 1 else {0: "batch"}
    return model, example, dict(input_names=["ids"], output_names=["logits"],
                                dynamic_axes={"ids": axes, "logits": dict(axes)})


def rebuild(name, state, path="model.npz"):
    """(model, example input, export keyword arguments) for the weights `state` of model `name`."""
    if name not in models.MODELS:
        raise CLIError(f"unknown model {name!r}; choose from {', '.join(models.MODELS)}")
    dataset = _dataset(path)
    if name == "lstm":
        vocab, embedding_dim = _shape(state, "embedding.weight", name, path)
        hidden = _shape(state, "lstm.weight_hh_l0", name, path)[1]
        model = models.CharLSTM(vocab, embedding_dim, hidden)
        example = np.zeros((1, 8), np.int64)
        kwargs = dict(input_names=["ids"], output_names=["logits", "h", "c"],
                      dynamic_axes={"ids": {0: "batch", 1: "time"},
                                    "logits": {0: "batch", 1: "time"}})
    elif name == "gpt":
        model, example, kwargs = _gpt(state, path)
    elif name == "cnn":
        c1, channels = _shape(state, "features.0.weight", name, path)[:2]
        c2 = _shape(state, "features.3.weight", name, path)[0]
        hidden, flat = _shape(state, "classifier.1.weight", name, path)
        n_classes = _shape(state, "classifier.3.weight", name, path)[0]
        side = int(round((flat / c2) ** 0.5))
        image = IMAGE_SIDES.get(dataset, 4 * side)
        model = models.CNN(channels, image, n_classes, channels=(c1, c2), hidden=hidden)
        example = np.zeros((1, channels, image, image), np.float32)
        kwargs = dict(input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    else:
        keys = sorted((k for k in state if k.startswith("layers.") and k.endswith(".weight")),
                      key=lambda k: int(k.split(".")[1]))
        if not keys:
            _shape(state, "layers.0.weight", name, path)
        shapes = [_shape(state, k, name, path) for k in keys]
        model = models.MLP(shapes[0][1], [s[0] for s in shapes[:-1]], shapes[-1][0])
        side = IMAGE_SIDES.get(dataset)
        if side is not None and side * side == shapes[0][1]:
            example = np.zeros((1, 1, side, side), np.float32)
            kwargs = dict(input_names=["image"])
        else:
            example = np.zeros((1, shapes[0][1]), np.float32)
            kwargs = dict(input_names=["x"])
        kwargs.update(output_names=["logits"],
                      dynamic_axes={kwargs["input_names"][0]: {0: "batch"}, "logits": {0: "batch"}})
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as exc:
        detail = str(exc).replace("\n", " ")
        raise CLIError(f"{path} does not fit --model {name}: {detail}") from None
    return model.eval(), example, kwargs


def export_onnx(weights, name, out, opset=None):
    """Write the model saved at `weights` as ONNX at `out`; returns (out, input shape)."""
    weights, out = Path(weights), Path(out)
    if not weights.is_file():
        raise CLIError(f"weights file {weights} does not exist (a run writes model.npz)")
    if out.parent and not out.parent.exists():
        raise CLIError(f"output folder {out.parent} does not exist")
    try:
        import nn.onnx as nn_onnx
        nn_onnx._onnx()
    except ImportError:
        raise CLIError("exporting to ONNX needs the onnx package: "
                       "pip install 'chainrule[onnx]'") from None
    try:
        state = nn.load(weights)
    except ValueError as exc:
        raise CLIError(str(exc).replace("\n", " ")) from None
    if not isinstance(state, dict) or "kind" in state:
        raise CLIError(f"{weights} is not a weights file (a checkpoint.npz?); export the "
                       "model.npz a run writes")
    model, example, kwargs = rebuild(name, state, weights)
    nn_onnx.export(model, example, out, opset_version=opset, **kwargs)
    return out, example.shape, kwargs
