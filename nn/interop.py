"""PyTorch both ways: `to_torch(module)` and `from_torch(torch_module)` for nn's layers and containers.

nn's state_dict keys and shapes are PyTorch's, so a layer crosses over as its constructor
arguments plus its state dict, copied bit for bit (dtypes kept); each module's train/eval
mode is kept too. One table, `LAYERS`, lists every layer of nn (a test checks it): (nn
class, PyTorch class name, constructor arguments, each read off a module of either side).
A new layer is one entry. Layers made of layers (MultiheadAttention, the Transformer layers
and stacks, nn.Transformer) are entries too: built from their arguments (a stack from its
first layer), then given the whole state dict.

A model class of your own (an nn.Module subclass with its own forward, such as the CLI's
CNN; not one of nn's classes, whose forward calls nn's functions) crosses to PyTorch as a generated torch.nn.Module subclass of the same name that runs
the SAME forward code on torch tensors: it works when the forward calls its submodules and
the Tensor methods both libraries share (reshape, shape, relu, ...). from_torch turns such a
generated class back into the original one. A PyTorch class written in PyTorch code cannot
run here: from_torch names the first such submodule (load its weights into a chainrule
model with `load_state_dict(state_dict_from_torch(m))`). PyTorch is imported only inside
these functions.

>>> import nn
>>> t = nn.interop.to_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))  # doctest: +SKIP
>>> type(t[0]).__name__                                                   # doctest: +SKIP
'Linear'
"""
from collections import OrderedDict

import numpy as np

from . import activation, attention, containers, conv, dropout, embedding, linear, loss
from . import normalization, pooling, resample, rnn, transformer
from .module import Module
from .parameter import Parameter


class _Arg:
    """One constructor argument: its keyword on each side and how to read it off a module of
    each side (an attribute path, or a function). `kind`: "value"; "tensor" (an array argument
    such as a loss weight, converted); "module" (a submodule, crossed over itself)."""

    def __init__(self, ours, theirs=None, get_ours=None, get_theirs=None, kind="value"):
        self.ours, self.theirs = ours, theirs or ours
        self.get_ours = _getter(get_ours or self.ours)
        self.get_theirs = _getter(get_theirs or get_ours or self.theirs)
        self.kind = kind


def _getter(path):
    if callable(path):
        return path
    def get(m):
        for part in path.split("."):
            m = getattr(m, part)
        return m
    return get


def _has_bias(name="bias"):
    def flag(m):
        return m._parameters.get(name) is not None if isinstance(m, Module) \
            else getattr(m, name, None) is not None
    return flag


_BIAS = _Arg("bias", get_ours=_has_bias())


def _tensor_arg(name):
    return _Arg(name, get_ours=lambda m: m._buffers.get(name) if isinstance(m, Module)
                else getattr(m, name, None), kind="tensor")


def _activation_name(m):
    """A Transformer layer's activation as the string both libraries take."""
    import nn.functional as F

    fn = m.activation
    if fn is F.relu or type(fn).__name__ == "ReLU" or getattr(fn, "__name__", "") == "relu":
        return "relu"
    if fn is F.gelu or getattr(fn, "__name__", "") == "gelu" or (
            type(fn).__name__ == "GELU" and getattr(fn, "approximate", "none") == "none"):
        return "gelu"
    raise TypeError(f"{type(m).__name__}(activation={fn!r}) has no counterpart on the other "
                    "side: only activation='relu' or 'gelu' crosses over")


def _transformer_layer_args():
    return [_Arg("d_model", get_ours="self_attn.embed_dim"),
            _Arg("nhead", get_ours="self_attn.num_heads"),
            _Arg("dim_feedforward", get_ours="linear1.out_features"),
            _Arg("dropout", get_ours="dropout.p"),
            _Arg("activation", get_ours=_activation_name),
            _Arg("layer_norm_eps", get_ours="norm1.eps"),
            _Arg("batch_first", get_ours="self_attn.batch_first"), "norm_first",
            _Arg("bias", get_ours=lambda m: m.linear1.bias is not None)]


_CONV = ["in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
         "groups", _BIAS, "padding_mode"]
_INPLACE = ["inplace"]

# (nn class, torch.nn class name, [constructor argument, ...]): an argument is a name (the
# same keyword and attribute on both sides), a pair (nn's name, PyTorch's name), or an _Arg.
LAYERS = [
    (linear.Identity, "Identity", []),
    (linear.Linear, "Linear", ["in_features", "out_features", _BIAS]),
    (linear.Bilinear, "Bilinear", ["in1_features", "in2_features", "out_features", _BIAS]),
    (linear.Flatten, "Flatten", [("start_axis", "start_dim"), ("end_axis", "end_dim")]),
    (linear.Unflatten, "Unflatten", [("axis", "dim"), "unflattened_size"]),
    (conv.Conv1d, "Conv1d", _CONV),
    (conv.Conv2d, "Conv2d", _CONV),
    (conv.ConvTranspose1d, "ConvTranspose1d", _CONV + ["output_padding"]),
    (conv.ConvTranspose2d, "ConvTranspose2d", _CONV + ["output_padding"]),
    (pooling.MaxPool1d, "MaxPool1d", ["kernel_size", "stride", "padding", "dilation",
                                      "return_indices", "ceil_mode"]),
    (pooling.MaxPool2d, "MaxPool2d", ["kernel_size", "stride", "padding", "dilation",
                                      "return_indices", "ceil_mode"]),
    (pooling.MaxUnpool1d, "MaxUnpool1d", ["kernel_size", "stride", "padding"]),
    (pooling.MaxUnpool2d, "MaxUnpool2d", ["kernel_size", "stride", "padding"]),
    (pooling.AvgPool1d, "AvgPool1d", ["kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad"]),
    (pooling.AvgPool2d, "AvgPool2d", ["kernel_size", "stride", "padding", "ceil_mode",
                                      "count_include_pad", "divisor_override"]),
    (pooling.AdaptiveAvgPool1d, "AdaptiveAvgPool1d", ["output_size"]),
    (pooling.AdaptiveAvgPool2d, "AdaptiveAvgPool2d", ["output_size"]),
    (resample.Upsample, "Upsample", ["size", "scale_factor", "mode", "align_corners",
                                     "recompute_scale_factor"]),
    (resample.PixelShuffle, "PixelShuffle", ["upscale_factor"]),
    (resample.PixelUnshuffle, "PixelUnshuffle", ["downscale_factor"]),
    (resample.Unfold, "Unfold", ["kernel_size", "dilation", "padding", "stride"]),
    (resample.Fold, "Fold", ["output_size", "kernel_size", "dilation", "padding", "stride"]),
    (normalization.BatchNorm1d, "BatchNorm1d", ["num_features", "eps", "momentum", "affine",
                                                "track_running_stats"]),
    (normalization.BatchNorm2d, "BatchNorm2d", ["num_features", "eps", "momentum", "affine",
                                                "track_running_stats"]),
    (normalization.LayerNorm, "LayerNorm", ["normalized_shape", "eps", "elementwise_affine",
                                            _BIAS]),
    (normalization.RMSNorm, "RMSNorm", ["normalized_shape", "eps", "elementwise_affine"]),
    (dropout.Dropout, "Dropout", ["p", "inplace"]),
    (embedding.Embedding, "Embedding", ["num_embeddings", "embedding_dim", "padding_idx",
                                        "max_norm", "norm_type", "scale_grad_by_freq",
                                        "sparse"]),
    (activation.ReLU, "ReLU", _INPLACE),
    (activation.LeakyReLU, "LeakyReLU", ["negative_slope", "inplace"]),
    (activation.ELU, "ELU", ["alpha", "inplace"]),
    (activation.CELU, "CELU", ["alpha", "inplace"]),
    (activation.SELU, "SELU", _INPLACE),
    (activation.GELU, "GELU", ["approximate"]),
    (activation.Sigmoid, "Sigmoid", []),
    (activation.Tanh, "Tanh", []),
    (activation.SiLU, "SiLU", _INPLACE),
    (activation.Mish, "Mish", _INPLACE),
    (activation.Hardtanh, "Hardtanh", ["min_val", "max_val", "inplace"]),
    (activation.ReLU6, "ReLU6", _INPLACE),
    (activation.Hardsigmoid, "Hardsigmoid", _INPLACE),
    (activation.Hardswish, "Hardswish", _INPLACE),
    (activation.Softsign, "Softsign", []),
    (activation.LogSigmoid, "LogSigmoid", []),
    (activation.Softplus, "Softplus", ["beta", "threshold"]),
    (activation.Softmax, "Softmax", [("axis", "dim")]),
    (activation.LogSoftmax, "LogSoftmax", [("axis", "dim")]),
    (attention.MultiheadAttention, "MultiheadAttention", [
        "embed_dim", "num_heads", "dropout", _Arg("bias", get_ours=_has_bias("in_proj_bias")),
        _Arg("add_bias_kv", get_ours=_has_bias("bias_k")), "add_zero_attn", "kdim", "vdim",
        "batch_first"]),
    (transformer.TransformerEncoderLayer, "TransformerEncoderLayer", _transformer_layer_args()),
    (transformer.TransformerDecoderLayer, "TransformerDecoderLayer", _transformer_layer_args()),
    # the stacks are built from their first layer and norm, then take the whole state dict
    (transformer.TransformerEncoder, "TransformerEncoder", [
        _Arg("encoder_layer", get_ours=lambda m: m.layers[0], kind="module"),
        _Arg("num_layers", get_ours=lambda m: len(m.layers)),
        _Arg("norm", kind="module"),
        # PyTorch's nested-tensor fast path is an inference detail with its own rounding
        _Arg("enable_nested_tensor", get_ours=lambda m: False)]),
    (transformer.TransformerDecoder, "TransformerDecoder", [
        _Arg("decoder_layer", get_ours=lambda m: m.layers[0], kind="module"),
        _Arg("num_layers", get_ours=lambda m: len(m.layers)), _Arg("norm", kind="module")]),
    (transformer.Transformer, "Transformer", [
        "d_model", "nhead", "batch_first",
        _Arg("custom_encoder", get_ours="encoder", kind="module"),
        _Arg("custom_decoder", get_ours="decoder", kind="module")]),
    (rnn.RNN, "RNN", ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias",
                      "batch_first", "dropout", "bidirectional"]),
    (rnn.LSTM, "LSTM", ["input_size", "hidden_size", "num_layers", "bias", "batch_first",
                        "dropout", "bidirectional", "proj_size"]),
    (rnn.GRU, "GRU", ["input_size", "hidden_size", "num_layers", "bias", "batch_first",
                      "dropout", "bidirectional"]),
    (rnn.RNNCell, "RNNCell", ["input_size", "hidden_size", "bias", "nonlinearity"]),
    (rnn.LSTMCell, "LSTMCell", ["input_size", "hidden_size", "bias"]),
    (rnn.GRUCell, "GRUCell", ["input_size", "hidden_size", "bias"]),
    (loss.MSELoss, "MSELoss", ["reduction"]),
    (loss.L1Loss, "L1Loss", ["reduction"]),
    (loss.HuberLoss, "HuberLoss", ["reduction", "delta"]),
    (loss.SmoothL1Loss, "SmoothL1Loss", ["reduction", "beta"]),
    (loss.NLLLoss, "NLLLoss", [_tensor_arg("weight"), "ignore_index", "reduction"]),
    (loss.CrossEntropyLoss, "CrossEntropyLoss", [_tensor_arg("weight"), "ignore_index",
                                                 "reduction", "label_smoothing"]),
    (loss.BCELoss, "BCELoss", [_tensor_arg("weight"), "reduction"]),
    (loss.BCEWithLogitsLoss, "BCEWithLogitsLoss", [_tensor_arg("weight"), "reduction",
                                                   _tensor_arg("pos_weight")]),
    (loss.HingeEmbeddingLoss, "HingeEmbeddingLoss", ["margin", "reduction"]),
    (loss.MultiMarginLoss, "MultiMarginLoss", ["p", "margin", _tensor_arg("weight"),
                                               "reduction"]),
]
CONTAINERS = [(containers.Sequential, "Sequential"), (containers.ModuleList, "ModuleList"),
              (containers.ModuleDict, "ModuleDict")]

_BY_NN = {cls: (name, args) for cls, name, args in LAYERS}


def _args(args):
    """The table's arguments as _Args."""
    out = []
    for a in args:
        if isinstance(a, str):
            a = _Arg(a)
        elif isinstance(a, tuple):
            a = _Arg(a[0], a[1])
        out.append(a)
    return out


def _array(value):
    """A NumPy copy of a chainrule state value (an array or a Tensor)."""
    return np.array(getattr(value, "data", value))


# ---- to PyTorch ------------------------------------------------------------------------

def to_torch(module):
    """A torch.nn.Module equal to `module`: the same classes (by name), constructor arguments,
    weights (bit for bit, dtypes kept) and train/eval mode, submodule by submodule."""
    import torch

    _check_supported(module, "to_torch", _nn_kind)
    out = _to_torch(module, torch)
    _copy_modes(module.named_modules(), dict(out.named_modules()))
    return out


def _nn_kind(m):
    if type(m) in _BY_NN or any(type(m) is c for c, _ in CONTAINERS):
        return "layer"
    if isinstance(m, Module) and not _defined_in_nn(type(m)) and \
            type(m).forward is not Module.forward:
        return "custom"
    return None


def _defined_in_nn(cls):
    """True for nn's own classes (and a subclass that keeps their forward): those cross over
    through LAYERS only, since their forward calls nn's functions, which PyTorch cannot run."""
    where = getattr(cls.forward, "__module__", "") or ""
    return where == "nn" or where.startswith("nn.")


def _check_supported(root, fn, kind):
    """Raise TypeError naming the first submodule (in named_modules order) without a
    counterpart; a layer of the table takes its own submodules with it."""
    stack = [("", root)]
    while stack:
        name, m = stack.pop()
        k = kind(m)
        if k is None:
            where = f"submodule '{name}'" if name else "the module"
            raise TypeError(
                f"{fn}: {where} ({type(m).__name__}) has no counterpart; supported: nn's "
                f"layers ({', '.join(n for _, n, _ in LAYERS[:6])}, ..., "
                "MultiheadAttention, the Transformer layers), Sequential, ModuleList, "
                "ModuleDict, and model classes of your own whose forward calls them with "
                "methods both libraries share")
        if k == "layer" and not _is_container(m):
            continue
        children = [(f"{name}.{c}" if name else c, child) for c, child in m.named_children()
                    if child is not None]
        stack.extend(reversed(children))


def _is_container(m):
    return type(m).__name__ in ("Sequential", "ModuleList", "ModuleDict")


def _to_torch(m, torch):
    tnn = torch.nn
    spec = _BY_NN.get(type(m))
    if spec is not None:
        name, args = spec
        kwargs = {}
        for arg in _args(args):
            value = _read(arg.get_ours, m, "to_torch")
            if arg.kind == "tensor":
                value = None if value is None else torch.from_numpy(_array(value))
            elif arg.kind == "module":
                value = None if value is None else to_torch(value)
            kwargs[arg.theirs] = value
        if isinstance(m, normalization._BatchNorm) and m.affine and m.bias is None:
            raise TypeError(f"to_torch: {type(m).__name__}(bias=False) has no PyTorch "
                            "counterpart (PyTorch's affine BatchNorm always has a bias)")
        try:
            out = getattr(tnn, name)(**kwargs)
        except (TypeError, ValueError) as err:
            raise TypeError(f"to_torch: cannot build torch.nn.{name} from {m!r}: {err}") from err
        _load_into_torch(out, m, torch)
        return out
    if type(m) is containers.Sequential:
        return tnn.Sequential(OrderedDict((k, _to_torch(c, torch)) for k, c in m.named_children()))
    if type(m) is containers.ModuleList:
        return tnn.ModuleList([_to_torch(c, torch) for _, c in m.named_children()])
    if type(m) is containers.ModuleDict:
        return tnn.ModuleDict(OrderedDict((k, _to_torch(c, torch)) for k, c in m.named_children()))
    return _custom_to_torch(m, torch)


def _read(get, m, fn):
    try:
        return get(m)
    except TypeError as err:
        raise TypeError(f"{fn}: {err}") from None


def _load_into_torch(out, m, torch):
    state = {k: torch.from_numpy(_array(v)) for k, v in m.state_dict().items()}
    # assign=True takes the tensors as they are: the exact values and the source's dtype
    out.load_state_dict(state, strict=True, assign=True)
    ours = dict(m.named_parameters())
    for name, p in out.named_parameters():
        p.requires_grad_(bool(ours[name].requires_grad))


_PORTED = {}  # chainrule class -> its generated torch class


def _torch_class(cls, torch):
    """A torch.nn.Module subclass named as `cls` that runs cls's own methods (forward too)."""
    if cls not in _PORTED:
        body = {"_chainrule_class": cls, "__doc__": cls.__doc__, "__module__": cls.__module__}
        for klass in reversed(cls.__mro__[:cls.__mro__.index(Module)]):
            for key, value in vars(klass).items():
                if callable(value) and key != "__init__" and not key.startswith("__"):
                    body[key] = value
                elif isinstance(value, (staticmethod, classmethod, property)):
                    body[key] = value
        _PORTED[cls] = type(cls.__name__, (torch.nn.Module,), body)
    return _PORTED[cls]


def _plain_attributes(m):
    """A module's own attributes that are neither parameters, buffers nor submodules."""
    return {k: v for k, v in vars(m).items()
            if k not in ("_parameters", "_buffers", "_modules", "training", "_non_persistent",
                         "_forward_hooks", "_forward_pre_hooks") and not k.startswith("_hooks")
            and not isinstance(v, Module)}


def _custom_to_torch(m, torch):
    out = _torch_class(type(m), torch).__new__(_torch_class(type(m), torch))
    torch.nn.Module.__init__(out)
    for key, value in _plain_attributes(m).items():
        object.__setattr__(out, key, value)
    for key, child in m.named_children():
        out.add_module(key, None if child is None else _to_torch(child, torch))
    for key, p in m._parameters.items():
        out.register_parameter(key, None if p is None else torch.nn.Parameter(
            torch.from_numpy(_array(p)), requires_grad=bool(p.requires_grad)))
    persistent = set(m._buffers) - getattr(m, "_non_persistent", set())
    for key, b in m._buffers.items():
        out.register_buffer(key, None if b is None else torch.from_numpy(_array(b)),
                            persistent=key in persistent)
    return out


def _copy_modes(src_named, dst_by_name):
    for name, m in src_named:
        if name in dst_by_name:
            dst_by_name[name].training = bool(m.training)


# ---- from PyTorch ------------------------------------------------------------------------

def from_torch(torch_module):
    """An nn module equal to the PyTorch module: the same layers, arguments, weights (bit for
    bit) and modes. Raises TypeError naming the first submodule without a counterpart."""
    import torch

    by_torch = {getattr(torch.nn, name): (cls, args) for cls, name, args in LAYERS}
    containers_by_torch = {getattr(torch.nn, name): cls for cls, name in CONTAINERS}

    def kind(m):
        if type(m) in by_torch or type(m) in containers_by_torch:
            return "layer"
        if getattr(type(m), "_chainrule_class", None) is not None:
            return "custom"
        return None

    _check_supported(torch_module, "from_torch", kind)
    out = _from_torch(torch_module, torch, by_torch, containers_by_torch)
    _copy_modes(torch_module.named_modules(), dict(out.named_modules()))
    return out


def _from_torch(t, torch, by_torch, containers_by_torch):
    spec = by_torch.get(type(t))
    if spec is not None:
        cls, args = spec
        kwargs = {}
        for arg in _args(args):
            value = _read(arg.get_theirs, t, "from_torch")
            if arg.kind == "tensor":
                value = None if value is None else value.detach().cpu().numpy().copy()
            elif arg.kind == "module":
                value = None if value is None else from_torch(value)
            kwargs[arg.ours] = value
        kwargs.pop("enable_nested_tensor", None)
        if cls in (activation.Softmax, activation.LogSoftmax) and kwargs["axis"] is None:
            raise TypeError(f"from_torch: {type(t).__name__}(dim=None) picks its axis from the "
                            "input's rank; give dim explicitly")
        if cls is rnn.LSTM and kwargs.pop("proj_size"):
            raise TypeError(f"from_torch: LSTM(proj_size={t.proj_size}) is not supported")
        if cls in (normalization.RMSNorm, normalization.LayerNorm):
            kwargs["normalized_shape"] = tuple(kwargs["normalized_shape"])
        try:
            out = cls(**kwargs)
        except (TypeError, ValueError, NotImplementedError) as err:
            raise TypeError(f"from_torch: cannot build {cls.__name__} from {t!r}: {err}") from err
        _load_from_torch(out, t)
        return out
    kind = containers_by_torch.get(type(t))
    recurse = [(k, None if c is None else _from_torch(c, torch, by_torch, containers_by_torch))
               for k, c in t.named_children()]
    if kind is containers.Sequential:
        out = containers.Sequential()
        for k, c in recurse:
            out.add_module(k, c)
        return out
    if kind is containers.ModuleList:
        return containers.ModuleList([c for _, c in recurse])
    if kind is containers.ModuleDict:
        return containers.ModuleDict(OrderedDict(recurse))
    cls = type(t)._chainrule_class
    out = cls.__new__(cls)
    Module.__init__(out)
    for key, value in vars(t).items():
        if not key.startswith("_") and key != "training":
            object.__setattr__(out, key, value)
    for key, c in recurse:
        out.add_module(key, c)
    for key, p in t._parameters.items():
        if p is None:
            out.register_parameter(key, None)
        else:
            param = Parameter(_from_tensor(p))
            param.requires_grad = bool(p.requires_grad)
            setattr(out, key, param)
    for key, b in t._buffers.items():
        out.register_buffer(key, None if b is None else _from_tensor(b),
                            persistent=key not in t._non_persistent_buffers_set)
    return out


def _from_tensor(t):
    return t.detach().cpu().numpy().copy()


def state_dict_from_torch(torch_module):
    """A PyTorch module's state dict as NumPy arrays (copies), for nn's load_state_dict."""
    return OrderedDict((k, _from_tensor(v)) for k, v in torch_module.state_dict().items())


def _load_from_torch(out, t):
    state = state_dict_from_torch(t)
    out.load_state_dict(state)  # checks every key and shape
    for key, target in out._state_tensors():
        target.data = state[key]  # the source's dtype, not the new layer's default
    ours = dict(out.named_parameters())
    for name, p in t.named_parameters():
        ours[name].requires_grad = bool(p.requires_grad)
