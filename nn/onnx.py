"""ONNX export: run a model's forward pass through the engine and write the graph it recorded.

`export(model, args, f)` works as `torch.onnx.export`: the ops the model really ran are read
off the recorded graph (Function nodes, their `name` and the parameters they saved), so a
custom `forward` built from composites exports as well as a stack of layers. Each primitive
maps to ONNX ops through ONE table, `OPS` (an op name -> a function that emits its nodes);
a few composites whose recorded form reads constants computed from the input's values
(softmax's max shift, leaky_relu's `x.data > 0` mask) are recognised at call time instead
(`COMPOSITES`) and become one ONNX op each; a convolution's recorded im2col + matmul
chain is recognised and written as one Conv. The file is written with the `onnx` package's
helpers (`pip install chainrule[onnx]`), never by hand.

How the exported graph stays honest:
  * every forward is traced twice or more: once on `args`, once more on inputs with other
    values (and, per dynamic axis name, another size); a constant the model computed from the
    input's values outside the graph then differs between traces, and export refuses it,
    naming the op that reads it, instead of freezing one input's mask into the file;
  * `dynamic_axes`: dimensions that change with an axis between traces are written as
    -1 in Reshape targets, and as shapes computed from the input at run time elsewhere
    (Expand, the zero initial state of an LSTM), so the batch size (or the sequence
    length) is free.

What maps (opset 18 by default; every op below runs on ONNX Runtime's CPU provider):
  * elementwise math, reductions, reshapes, transposes, expand, concatenation, indexing (ints,
    slices, None, one integer array: Embedding's Gather), where and cast;
  * matmul and Linear (Gemm), Conv1d/2d (one Conv, any stride, padding, dilation, groups),
    im2col (F.unfold, as a Conv with one-hot kernels), col2im (F.fold, nn.Fold and the
    transposed convolutions, which record matmul + fold: ONNX's Col2Im), MaxPool, the
    average and adaptive pools and BatchNorm in eval (their composites), LayerNorm
    (LayerNormalization), RMSNorm, Dropout (eval: gone), Upsample, PixelShuffle/Unshuffle;
  * activations: relu, sigmoid, tanh, gelu (erf, or its tanh form), silu, mish, selu,
    softsign, logsigmoid, and as one op each softmax, log_softmax, logsumexp, leaky_relu,
    elu, softplus, clip, hardtanh / relu6 (Clip), hardsigmoid, hardswish, celu;
  * attention: masked_softmax and scaled_dot_product_attention (so F.scaled_dot_product_
    attention, nn.MultiheadAttention and the Transformer layers) become MatMul, Softmax and
    Where; the boolean mask is a constant, or, when it is the causal mask of a sequence length
    that a dynamic axis frees, rebuilt at run time (Range, LessOrEqual); an additive mask is
    an Add. A mask that changes with the input's values (one passed as an input) is refused;
  * RNN / LSTM / GRU layers and cells (below).
Anything else (max_unpool's window scatter, a boolean-mask index, ...) raises ExportError
naming the op.

Recurrent layers become ONNX's own RNN / LSTM / GRU ops (not unrolled): one node per layer
and direction keeps the sequence length free and runs ONNX Runtime's fused kernel. The
engine's recurrence ops receive the input projection x W_ih^T + b already computed (an
ordinary matmul in the recorded graph), so the ONNX op gets an identity input weight with
the gates permuted to ONNX's order (LSTM i, o, f, c; GRU z, r, h).
"""
import io
import os

import numpy as np

import autograd
from autograd import Tensor, enable_grad
from autograd import composites as _ac  # softmax, log_softmax, ...: the composites
from autograd import functional as _af  # re-exports them (nn.functional calls them there)
from autograd import composites_math as _am  # hardtanh, hardswish, ...

DEFAULT_OPSET = 18  # axes of ReduceMax/ReduceMin are inputs from 18 on; ONNX Runtime runs 18-2x
_INT64_MAX = np.iinfo(np.int64).max


class ExportError(RuntimeError):
    """The model cannot be written as ONNX (an op without a mapping, a data-dependent constant)."""


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("nn.onnx.export needs the onnx package: pip install 'chainrule[onnx]' "
                          "(or pip install onnx onnxruntime)") from err
    return onnx, helper, numpy_helper


# ---- tracing --------------------------------------------------------------------------

# Composites recognised while tracing: (module holding the function, attribute name). Their
# recorded graphs read constants computed from x's values (a max shift, a sign mask), so the
# call itself (inputs and arguments) is recorded and exported as one ONNX op (see COMPOSITE_OPS).
_NAMES = ("softmax", "log_softmax", "logsumexp", "leaky_relu", "elu", "softplus", "pad")
COMPOSITES = tuple((_ac, n) for n in _NAMES) + (
    (_af, "softmax"), (_af, "log_softmax"), (_af, "logsumexp"), (_af, "leaky_relu"),
    (_af, "elu"), (_af, "softplus"), (_af, "pad"),
    (autograd, "softmax"), (autograd, "log_softmax"), (autograd, "logsumexp"),
    (autograd, "leaky_relu"), (autograd, "elu"), (autograd, "softplus"), (autograd, "pad"),
    (Tensor, "clip"), (Tensor, "clamp"),
    # these pick their branch with masks of x.data (relu6 calls hardtanh)
    (_am, "hardtanh"), (_am, "hardsigmoid"), (_am, "hardswish"), (_am, "celu"),
)


class _Call:
    """A recorded call of a recognised composite: its name, tensor inputs and arguments."""

    def __init__(self, name, inputs, params):
        self.name, self.inputs, self.params = name, inputs, params


class _Recorder:
    """While active, the composites in COMPOSITES record their calls into `calls`.

    NOTE: the functions are swapped in their modules for the length of one traced forward
    pass (and restored even if it raises), so a forward running in another thread at the
    same time would be recorded too; export is not meant to run alongside training.
    """

    def __init__(self):
        self.calls = {}   # id(output Tensor) -> _Call
        self.keep = []    # the outputs, so that their ids stay unique while we look at them
        self._saved = []

    def __enter__(self):
        for owner, attr in COMPOSITES:
            original = owner.__dict__.get(attr)
            if original is None:  # not defined or re-exported by this module
                continue
            self._saved.append((owner, attr, original))
            setattr(owner, attr, self._wrap(attr, original))
        return self

    def __exit__(self, *exc):
        for owner, attr, original in reversed(self._saved):
            setattr(owner, attr, original)
        self._saved.clear()

    def _wrap(self, attr, original):
        name = "clip" if attr == "clamp" else attr
        calls, keep = self.calls, self.keep

        def recorded(x, *args, **kwargs):
            out = original(x, *args, **kwargs)
            if isinstance(out, Tensor) and isinstance(x, Tensor) and id(out) not in calls:
                calls[id(out)] = _Call(name, [x], (args, kwargs))
                keep.append(out)
            return out

        recorded.__name__ = getattr(original, "__name__", attr)
        return recorded


class _Trace:
    """One forward pass: graph inputs, flattened outputs, recorded calls, the ops in order."""

    def __init__(self, model, arrays):
        self.inputs = []
        for a in arrays:
            t = Tensor(np.array(a))  # its own memory: index arrays that view it are found by .base
            if t.dtype.kind == "f":
                t.requires_grad_(True)  # so that every op on the input is recorded
            self.inputs.append(t)
        with enable_grad(), _Recorder() as rec:
            result = model(*self.inputs)
        self.calls = rec.calls
        self._keep = rec.keep
        self.outputs = _flatten(result)
        self.order = _toposort(self.outputs, self.calls)

    def parents(self, t):
        return _parents(t, self.calls)


def _flatten(result):
    """The Tensors of a (nested) tuple or list of outputs, in order; None entries are skipped."""
    out, stack = [], [result]
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            out.append(item)
        elif isinstance(item, (tuple, list)):
            stack.extend(reversed(item))
        elif isinstance(item, np.ndarray):
            raise ExportError(
                f"export: the model returned a NumPy array (shape {item.shape}, dtype "
                f"{item.dtype}) among its outputs; it was computed outside the engine's graph, "
                "so ONNX cannot compute it. Export a wrapper whose forward returns only the "
                "Tensors (e.g. CharGPT's logits without the context of ids it returns)")
        elif item is not None:
            raise ExportError(f"export: the model returned a {type(item).__name__}; expected "
                              "Tensors, or tuples and lists of them")
    return out


def _parents(t, calls):
    call = calls.get(id(t))
    if call is not None:
        return call.inputs
    fn = t._ctx
    return () if fn is None else fn.inputs


def _toposort(outputs, calls):
    """Every tensor the outputs depend on, inputs before users (an explicit stack, any depth)."""
    order, seen = [], set()
    stack = [(t, False) for t in reversed(outputs)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        for p in reversed(tuple(_parents(t, calls))):
            if id(p) not in seen:
                stack.append((p, False))
    return order


# ---- what a value is: shapes along dynamic axes ---------------------------------------------

class _Dim:
    """A size that changes with dynamic axes: value = coef * prod(symbols) or a * symbol + b."""

    def __init__(self, kind, symbols, a, b=0):
        self.kind, self.symbols, self.a, self.b = kind, symbols, a, b


def _solve_dim(v0, probes, base_sizes):
    """An int, or a _Dim fitted to (value in trace 0, values in each symbol's probe trace)."""
    changed = [(sym, s1, v1) for sym, s1, v1 in probes if v1 != v0]
    if not changed:
        return v0
    if len(changed) == 1:
        sym, s1, v1 = changed[0]
        s0 = base_sizes[sym]
        a, rest = divmod(v1 - v0, s1 - s0)
        if rest == 0:
            return _Dim("affine", (sym,), a, v0 - a * s0)
    syms = tuple(sym for sym, _, _ in changed)
    denom = int(np.prod([base_sizes[s] for s in syms]))
    if v0 % denom == 0 and all(v1 * base_sizes[sym] == v0 * s1 for sym, s1, v1 in changed):
        return _Dim("product", syms, v0 // denom)
    raise ExportError(f"export: a size ({v0}) changes with the dynamic axes {syms} in a way "
                      "that is neither a multiple of them nor linear in one of them")


# ---- the builder -------------------------------------------------------------------------

class _Builder:
    """Turns trace 0 into ONNX nodes, reading sizes along dynamic axes from the probe traces."""

    def __init__(self, helper, numpy_helper, model, base, probes, input_names, dynamic):
        self.helper, self.numpy_helper = helper, numpy_helper
        self.base, self.probes = base, probes   # probes: [(symbol, size, _Trace)]
        self.input_names, self.dynamic = input_names, dynamic
        self.nodes, self.initializers = [], []
        self.names = {}                          # id(Tensor) -> ONNX value name
        self._counter = 0
        self._const_cache = {}
        self._symbol_cache = {}
        self.base_sizes = {}
        for i, axes in dynamic.items():
            for axis, sym in axes.items():
                self.base_sizes[sym] = base.inputs[i].shape[axis]
        self.symbol_source = {}
        for i, axes in dynamic.items():
            for axis, sym in axes.items():
                self.symbol_source.setdefault(sym, (input_names[i], axis))
        # Tensors of the probe traces that correspond to each tensor of trace 0 (same position).
        self.twins = {}
        for sym, size, trace in probes:
            if len(trace.order) != len(base.order):
                raise ExportError(self._changed_message(sym))
            for t0, t1 in zip(base.order, trace.order):
                if _op_name(t0, base.calls) != _op_name(t1, trace.calls) or t0.ndim != t1.ndim:
                    raise ExportError(self._changed_message(sym, t0, base.calls))
                self.twins.setdefault(id(t0), []).append((sym, size, t1))
        self.state_names = {}
        self.state_bases = {}
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if t is None:
                continue
            self.state_names.setdefault(id(t), name)
            data = np.asarray(getattr(t, "data", t))
            self.state_bases.setdefault(id(data), (name, data))

    def _changed_message(self, sym, t=None, calls=None):
        what = f" at op '{_op_name(t, calls)}'" if t is not None else ""
        return (f"export: the model runs different ops when the dynamic axis {sym!r} (or the "
                f"input's values) change{what}, so one ONNX graph cannot describe it; export "
                "without dynamic_axes, or make the forward pass independent of the sizes")

    # -- names and small helpers --

    def fresh(self, hint="v"):
        self._counter += 1
        return f"{hint}_{self._counter}"

    def node(self, op, inputs, n_outputs=1, hint=None, **attrs):
        outs = [self.fresh(hint or op.lower()) for _ in range(n_outputs)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outs,
                                                name=self.fresh(op), **attrs))
        return outs[0] if n_outputs == 1 else outs

    def const(self, array, hint="const"):
        """An initializer holding `array` (small int vectors are shared)."""
        array = np.asarray(array)
        key = None
        if array.dtype.kind in "iub" and array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._const_cache:
                return self._const_cache[key]
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        if key is not None:
            self._const_cache[key] = name
        return name

    def ints(self, values):
        return self.const(np.asarray(list(values), dtype=np.int64), "ints")

    def scalar(self, value, like):
        return self.const(np.asarray(value, dtype=like.dtype), "scalar")

    # -- sizes along dynamic axes --

    def dims(self, t):
        """t's shape in trace 0, each entry an int or a _Dim (it changes with dynamic axes)."""
        twins = self.twins.get(id(t))
        if not twins:
            return list(t.shape)
        return [_solve_dim(v0, [(sym, size, t1.shape[i]) for sym, size, t1 in twins],
                           self.base_sizes) for i, v0 in enumerate(t.shape)]

    def symbol(self, sym):
        """A 1-D int64 value holding the run-time size of dynamic axis `sym`."""
        if sym not in self._symbol_cache:
            name, axis = self.symbol_source[sym]
            shape = self.node("Shape", [name], hint="shape")
            self._symbol_cache[sym] = self.node("Gather", [shape, self.ints([axis])], axis=0,
                                                hint=f"size_{sym}")
        return self._symbol_cache[sym]

    def shape_value(self, dims):
        """A 1-D int64 value for `dims` (ints and _Dims), computed at run time where needed."""
        if all(isinstance(d, (int, np.integer)) for d in dims):
            return self.ints(dims)
        parts = []
        for d in dims:
            if isinstance(d, _Dim):
                if d.kind == "affine":
                    v = self.symbol(d.symbols[0])
                    if d.a != 1:
                        v = self.node("Mul", [v, self.ints([d.a])])
                    if d.b:
                        v = self.node("Add", [v, self.ints([d.b])])
                else:
                    v = self.symbol(d.symbols[0])
                    for s in d.symbols[1:]:
                        v = self.node("Mul", [v, self.symbol(s)])
                    if d.a != 1:
                        v = self.node("Mul", [v, self.ints([d.a])])
                parts.append(v)
            else:
                parts.append(self.ints([d]))
        return self.node("Concat", parts, axis=0, hint="shape")

    def reshape_target(self, dims):
        """A Reshape target: a dynamic size becomes -1 (one allowed), else a run-time shape."""
        dynamic = [i for i, d in enumerate(dims) if isinstance(d, _Dim)]
        if len(dynamic) <= 1:
            return self.ints([-1 if isinstance(d, _Dim) else d for d in dims])
        return self.shape_value(dims)

    # -- values --

    def value(self, t):
        name = self.names.get(id(t))
        if name is None:
            name = self._leaf(t)
            self.names[id(t)] = name
        return name

    def _leaf(self, t):
        state = self.state_names.get(id(t))
        if state is not None:
            self._initializer(np.asarray(t.data), state)
            return state
        array = np.asarray(t.data)
        view = self._state_view(array)
        twins = self.twins.get(id(t), [])
        for sym, size, t1 in twins:
            other = np.asarray(t1.data)
            if other.shape != array.shape:
                return self._fill(t, array, other)
            if not _same(array, other):
                raise ExportError(self._data_dependent(t))
        if view is not None:
            name, base = view
            self._initializer(base, name)
            if array.shape == base.shape and array.dtype == base.dtype:
                return name
            out = self.node("Reshape", [name, self.ints(array.shape)], hint=name + "_view")
            if array.dtype != base.dtype:
                out = self.node("Cast", [out], to=_onnx_dtype(self.helper, array.dtype))
            return out
        return self.const(array)

    def _initializer(self, array, name):
        if not any(init.name == name for init in self.initializers):
            self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))

    def _state_view(self, array):
        """(state_dict name, array) when `array` is a reshape (or a same-size cast) of state."""
        base = array
        while base is not None:
            hit = self.state_bases.get(id(base))
            if hit is not None and hit[1].size == array.size:
                return hit
            base = base.base
        return None

    def _fill(self, t, array, other):
        """A constant whose shape follows a dynamic axis: a fill (zeros) shaped at run time."""
        flat = array.reshape(-1)
        if flat.size == 0 or not (flat == flat[0]).all() or not (other == flat[0]).all():
            raise ExportError(
                f"export: a constant of shape {array.shape} (read by op "
                f"'{self._reader(t)}') changes shape with a dynamic axis and is not one value "
                "repeated; ONNX cannot recompute it. Export without dynamic_axes")
        value = self.numpy_helper.from_array(np.asarray([flat[0]], dtype=array.dtype))
        return self.node("ConstantOfShape", [self.shape_value(self.dims(t))], value=value,
                         hint="fill")

    def _reader(self, t):
        for u in self.base.order:
            if any(p is t for p in self.base.parents(u)):
                return _op_name(u, self.base.calls)
        return "?"

    def _data_dependent(self, t):
        for i, out in enumerate(self.base.outputs):
            if out is t:
                return (f"export: the model's output {i} (shape {t.shape}) was computed outside "
                        "the engine's graph (argmax, comparisons and .data are not recorded), "
                        "so ONNX would freeze one input's result into the file; return the "
                        "values it is computed from (e.g. the logits) instead")
        op = self._reader(t)
        return (f"export: op '{op}' reads a constant of shape {t.shape} that the model computed "
                "from the input's values outside the graph (e.g. where(x.data > 0, ...)), so "
                "ONNX would freeze one input's values into the file. Write the forward pass "
                "with Tensor ops (x > 0 cannot be recorded, but relu, leaky_relu, elu, "
                "softplus, clip, softmax and log_softmax export), or compute that part "
                "outside the model")

    def index_array(self, array, out=None):
        """An int index array the node making `out` saved: the graph input it views or copies
        (e.g. Embedding's ids, flattened), or a constant when it is the same in every trace."""
        twins = [_array_in(t1._ctx.index) for _, _, t1 in self.twins.get(id(out), [])]
        for i, t in enumerate(self.base.inputs):
            data = t.data
            if data.dtype.kind not in "iu" or array.size != data.size:
                continue
            views = (array is data or array.base is data or
                     (array.base is not None and array.base is data.base and data.base is not None))
            # NOTE: a copy (Tensor(ids) copies) is recognised by its values, in every trace:
            # the input's values in trace 0 and in each probe trace.
            copies = _same(array.reshape(-1), data.reshape(-1)) and all(
                a is not None and a.size == trace.inputs[i].data.size and
                _same(a.reshape(-1), trace.inputs[i].data.reshape(-1))
                for a, (_, _, trace) in zip(twins, self.probes))
            if views or copies:
                name = self.input_names[i]
                if array.shape != data.shape:
                    dims = self._index_dims(array, i)
                    name = self.node("Reshape", [name, self.ints(dims)], hint="ids")
                return self.node("Cast", [name], to=_onnx_dtype(self.helper, np.int64)) \
                    if data.dtype != np.int64 else name
        if all(a is not None and a.shape == array.shape and _same(a, array) for a in twins):
            return self.const(array.astype(np.int64, copy=False), "index")
        if all(a is not None and a.ndim == 1 and np.array_equal(a, np.arange(a.size))
               for a in [array] + twins):
            # positions 0 .. n-1 for a length that a dynamic axis frees (learned position
            # embeddings): a Range of the run-time length
            probes = [(sym, size, a.size) for (sym, size, _), a in zip(self.twins[id(out)], twins)]
            return self.arange(_solve_dim(array.size, probes, self.base_sizes))
        raise ExportError(
                f"export: op '{_op_name(out, self.base.calls)}' reads an index array of shape "
                f"{array.shape} that changes with the input's values or sizes but is not an "
                "input (nor a reshape of one); ONNX would freeze one input's indices into the "
                "file. Pass the indices as a model input, or compute them with Tensor ops")

    def arange(self, n):
        """A 1-D int64 value 0, 1, ..., n - 1 for a size n (an int or a _Dim)."""
        n = self.node("Squeeze", [self.shape_value([n]), self.ints([0])])
        return self.node("Range", [self.const(np.asarray(0, np.int64)), n,
                                   self.const(np.asarray(1, np.int64))])

    def _index_dims(self, array, i):
        if array.ndim == 1:
            return [-1]  # a flattened index (Embedding's) follows any input size
        if i in self.dynamic:
            raise ExportError("export: an index array reshaped from a dynamic input to "
                              f"{array.shape} is not supported; flatten it to 1-D")
        return list(array.shape)

    # -- the graph --

    def build(self):
        for i, t in enumerate(self.base.inputs):
            self.names[id(t)] = self.input_names[i]
        fused, skip = _find_convolutions(self.base)
        for t in self.base.order:
            if id(t) in self.names or id(t) in skip:
                continue
            if id(t) in fused:
                self.names[id(t)] = _emit_conv(self, *fused[id(t)])
                continue
            call = self.base.calls.get(id(t))
            if call is not None:
                handler = COMPOSITE_OPS[call.name]
                self.names[id(t)] = handler(self, t, call)
                continue
            fn = t._ctx
            if fn is None:
                continue  # leaves are written when an op reads them (see value)
            handler = OPS.get(fn.name)
            if handler is None:
                raise ExportError(
                    f"export: op '{fn.name}' (output shape {t.shape}) has no ONNX mapping; "
                    f"the ops that export are: {', '.join(sorted(OPS))}. Add an entry to "
                    "nn.onnx.OPS, or keep that part outside the exported model")
            self.names[id(t)] = handler(self, t, fn, _Inputs(self, fn.inputs))
        return [self.value(t) for t in self.base.outputs]


class _Inputs:
    """The ONNX names of an op's inputs, each written when first read (so that an emitter
    can leave an input out, e.g. the mask of an identity where)."""

    def __init__(self, builder, tensors):
        self._builder, self._tensors = builder, tensors

    def __getitem__(self, i):
        return self._builder.value(self._tensors[i])

    def __len__(self):
        return len(self._tensors)

    def __iter__(self):
        return (self._builder.value(t) for t in self._tensors)


def _op_name(t, calls):
    call = calls.get(id(t))
    if call is not None:
        return call.name
    return "leaf" if t._ctx is None else t._ctx.name


def _same(a, b):
    if a.dtype.kind == "f":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def _product_dim(dims, base_sizes):
    static, syms, fixed = 1, [], True
    for d in dims:
        if isinstance(d, _Dim):
            if d.kind == "affine" and d.b == 0:
                static *= d.a
                syms.append(d.symbols[0])
            elif d.kind == "product":
                static *= d.a
                syms.extend(d.symbols)
            else:
                fixed = False
        else:
            static *= d
    if not fixed:
        raise ExportError("export: cannot flatten a size that is not a multiple of a dynamic axis")
    if not syms:
        return static
    return _Dim("product", tuple(syms), static) if len(syms) > 1 else _Dim("affine", tuple(syms),
                                                                             static, 0)


def _onnx_dtype(helper, dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ---- the op table: primitive name -> emitter ------------------------------------------------
# Each emitter gets (builder, output Tensor, the Function node, ONNX names of its inputs) and
# returns the ONNX name of the output. New primitives are one entry each.

def _simple(op):
    def emit(b, out, fn, ins):
        return b.node(op, ins)
    emit.__name__ = f"_emit_{op.lower()}"
    return emit


def _log1p(b, out, fn, ins):
    return b.node("Log", [b.node("Add", [ins[0], b.scalar(1, out)])])


def _pow(b, out, fn, ins):
    if len(ins) == 1:  # PowScalar: x ** p for a number p
        return b.node("Pow", [ins[0], b.scalar(fn.exponent, out)])
    return b.node("Pow", ins)


def _where(b, out, fn, ins):
    cond, x, y = fn.inputs
    # NOTE: where(mask, rows, Tensor(rows.data)) is the "same values, no gradient" idiom
    # (Embedding's padding_idx): the identity for export.
    if y._ctx is None and y.data is x.data:
        return ins[1]
    if x._ctx is None and x.data is y.data:
        return ins[2]
    c = ins[0] if cond.dtype == np.bool_ else b.node("Cast", [ins[0]], to=_onnx_dtype(b.helper, bool))
    return b.node("Where", [c, ins[1], ins[2]])


def _cast(b, out, fn, ins):
    return b.node("Cast", ins, to=_onnx_dtype(b.helper, out.dtype))


def _axes_of(axis, ndim):
    if axis is None:
        return list(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return [a % ndim for a in axes]


def _reduce(op):
    def emit(b, out, fn, ins):
        x = fn.inputs[0]
        axes = _axes_of(fn.axis, x.ndim)
        if not axes:
            return b.node("Identity", ins)
        return b.node(op, [ins[0], b.ints(axes)], keepdims=int(bool(fn.keepdims)))
    emit.__name__ = f"_emit_{op.lower()}"
    return emit


def _reshape(b, out, fn, ins):
    return b.node("Reshape", [ins[0], b.reshape_target(b.dims(out))])


def _transpose(b, out, fn, ins):
    return b.node("Transpose", ins, perm=[int(a) for a in fn.axes])


def _expand(b, out, fn, ins):
    return b.node("Expand", [ins[0], b.shape_value(b.dims(out))])


def _concatenate(b, out, fn, ins):
    return b.node("Concat", ins, axis=int(fn.axis) % out.ndim)


def _getitem(b, out, fn, ins):
    return _index(b, fn.inputs[0], fn.index, ins[0], "getitem", out)


def _array_in(index):
    """The integer array (ndim > 0) in a getitem index, or None."""
    for p in index if isinstance(index, tuple) else (index,):
        if isinstance(p, np.ndarray) and p.ndim > 0:
            return p
    return None


def _index(b, x, index, name, op, out=None):
    """x[index] for ints, slices, None, Ellipsis and one integer array (as NumPy)."""
    parts = list(index) if isinstance(index, tuple) else [index]
    if any(p is Ellipsis for p in parts):
        at = next(i for i, p in enumerate(parts) if p is Ellipsis)
        used = sum(1 for p in parts if p is not None and p is not Ellipsis)
        parts[at:at + 1] = [slice(None)] * (x.ndim - used)
    used = sum(1 for p in parts if p is not None)
    parts += [slice(None)] * (x.ndim - used)
    arrays = [i for i, p in enumerate(parts) if isinstance(p, np.ndarray) and p.ndim > 0]
    ints = [i for i, p in enumerate(parts) if isinstance(p, (int, np.integer)) or
            (isinstance(p, np.ndarray) and p.ndim == 0)]
    if any(isinstance(parts[i], np.ndarray) and parts[i].dtype == np.bool_ for i in arrays) or \
            len(arrays) > 1 or (arrays and ints):
        raise ExportError(f"export: op '{op}' with index {_show(index)} (input shape {x.shape}) "
                          "has no ONNX mapping: only ints, slices, None and ONE integer array "
                          "(without ints) export")
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = 0   # axis of x
    for p in parts:
        if p is None:
            continue
        if isinstance(p, slice):
            if p != slice(None):
                step = 1 if p.step is None else int(p.step)
                lo_default, hi_default = (0, _INT64_MAX) if step > 0 else (-1, -_INT64_MAX)
                starts.append(lo_default if p.start is None else int(p.start))
                ends.append(hi_default if p.stop is None else int(p.stop))
                axes.append(axis)
                steps.append(step)
        elif not isinstance(p, np.ndarray) or p.ndim == 0:
            i = int(p)
            starts.append(i)
            ends.append(i + 1 if i != -1 else _INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    y = name
    if axes:
        y = b.node("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if arrays:
        i = arrays[0]
        at = sum(1 for p in parts[:i] if p is not None)  # x's axis the array indexes
        y = b.node("Gather", [y, b.index_array(parts[i], out)], axis=at)
        shift = parts[i].ndim - 1
        squeeze = [a + shift if a > at else a for a in squeeze]
    if squeeze:
        y = b.node("Squeeze", [y, b.ints(squeeze)])
    # None adds an axis where it stands in the result
    pos = 0
    for p in parts:
        if p is None:
            unsqueeze.append(pos)
            pos += 1
        elif isinstance(p, slice):
            pos += 1
        elif isinstance(p, np.ndarray) and p.ndim > 0:
            pos += p.ndim
    if unsqueeze:
        y = b.node("Unsqueeze", [y, b.ints(unsqueeze)])
    return y


def _show(index):
    text = repr(index)
    return text if len(text) <= 60 else text[:57] + "..."


def _pads(padding):
    """ONNX pads: all the 'before's, then all the 'after's."""
    return [int(lo) for lo, _ in padding] + [int(hi) for _, hi in padding]


def _unfold(b, out, fn, ins):
    # NOTE: im2col as a grouped convolution with one-hot kernels: output channel c*K + j of
    # group c copies kernel offset j of channel c (exact: one product by 1, the rest by 0).
    x = fn.inputs[0]
    g = fn.geometry
    kernel = tuple(int(k) for k in g["kernel_size"])
    c, k = x.shape[1], int(np.prod(kernel))
    eye = np.eye(k, dtype=x.dtype).reshape((k, 1) + kernel)
    weight = b.const(np.tile(eye, (c, 1) + (1,) * len(kernel)), "unfold_kernel")
    y = b.node("Conv", [ins[0], weight], group=c, kernel_shape=list(kernel),
               strides=[int(s) for s in g["stride"]], pads=_pads(g["padding"]),
               dilations=[int(d) for d in g["dilation"]])        # (N, C*K, *out)
    nd = len(kernel)
    dims = b.dims(out)
    if g["layout"] == "ncko":   # out (N, C, *k, *out)
        return b.node("Reshape", [y, b.reshape_target(dims)])
    # "ckon": out (C, *k, *out, N) = transpose of (N, C, *k, *out)
    n_dim = dims[-1]
    y = b.node("Reshape", [y, b.reshape_target([n_dim] + dims[:-1])])
    return b.node("Transpose", [y], perm=list(range(1, 2 + 2 * nd)) + [0])


def _fold(b, out, fn, ins):
    # col2im (nn.Fold; ConvTranspose records matmul -> fold) as ONNX's Col2Im, which takes
    # (N, C*K, L) and at least two spatial axes: a 1-D fold gets a leading axis of 1.
    g = fn.geometry
    kernel = [int(k) for k in g["kernel_size"]]
    nd = len(kernel)
    cols = fn.inputs[0]
    name = ins[0]
    if g["layout"] == "ckon":   # (C, *k, *out, N) -> (N, C, *k, *out)
        name = b.node("Transpose", [name], perm=[cols.ndim - 1] + list(range(cols.ndim - 1)))
        cdims = b.dims(cols)
        cdims = [cdims[-1]] + cdims[:-1]
    else:
        cdims = b.dims(cols)
    n, c = cdims[0], cdims[1]
    windows = [int(w) for w in cols.shape[-nd - 1:-1]] if g["layout"] == "ckon" else \
        [int(w) for w in cols.shape[2 + nd:]]
    if any(isinstance(d, _Dim) for d in cdims[1:]):
        raise ExportError("export: op 'fold' with a dynamic spatial or channel size has no "
                          "ONNX mapping; make only the batch axis dynamic")
    name = b.node("Reshape", [name, b.reshape_target([n, c * int(np.prod(kernel)),
                                                      int(np.prod(windows))])])
    image, lo, hi, tail = [], [], [], []
    for size, k, w, s, d, (p_lo, _) in zip(out.shape[2:], kernel, windows, g["stride"],
                                          g["dilation"], g["padding"]):
        # Col2Im counts the windows from the padded image: pad its end so that they span it
        # exactly, and add back (as zeros) what lies beyond the last window.
        extent = (w - 1) * int(s) + int(d) * (k - 1) + 1
        end = extent - int(p_lo) - int(size)
        if int(size) + end < 1:
            raise ExportError(f"export: op 'fold' (output shape {out.shape}): its windows miss "
                              "the image; ONNX's Col2Im cannot write that")
        image.append(int(size) + min(end, 0))
        lo.append(int(p_lo))
        hi.append(max(end, 0))
        tail.append(max(-end, 0))
    strides, dilations = [int(s) for s in g["stride"]], [int(d) for d in g["dilation"]]
    if nd == 1:
        image, kernel, lo, hi, tail = [1] + image, [1] + kernel, [0] + lo, [0] + hi, [0] + tail
        strides, dilations = [1] + strides, [1] + dilations
    y = b.node("Col2Im", [name, b.ints(image), b.ints(kernel)], strides=strides,
               dilations=dilations, pads=lo + hi)
    if any(tail):
        y = b.node("Pad", [y, b.ints([0, 0] + [0] * len(tail) + [0, 0] + tail)], mode="constant")
    if nd == 1:
        y = b.node("Squeeze", [y, b.ints([2])])
    return y


# ---- convolution: the recorded im2col + matmul, recognised and written as one Conv ----------
# nn.functional's convolution records unfold (layout "ckon") -> reshape -> matmul with the
# reshaped weight [-> reshape, groups] [-> + bias reshaped (O, 1)] -> reshape -> transpose.
# That chain, where nothing else reads its inner values, becomes ONE ONNX Conv (what a
# reader expects to see in Netron, and ONNX Runtime's convolution kernel); any other use
# of unfold is written as im2col (_unfold above).

def _single_user(users, t, op):
    us = users.get(id(t), [])
    if len(us) != 1 or us[0]._ctx is None or us[0]._ctx.name != op:
        return None
    return us[0]


def _find_convolutions(trace):
    """({id(final tensor): (unfold node, x, weight, bias, final)}, ids written by the Conv)."""
    users = {}
    for t in trace.order:
        if trace.calls.get(id(t)) is None and t._ctx is not None:
            for p in t._ctx.inputs:
                users.setdefault(id(p), []).append(t)
    fused, skip = {}, set()
    for cols in trace.order:
        fn = cols._ctx
        if (fn is None or fn.name != "unfold" or trace.calls.get(id(cols)) is not None
                or fn.geometry["layout"] != "ckon"):
            continue
        chain = [cols]
        r1 = _single_user(users, cols, "reshape")
        mm = None if r1 is None else _single_user(users, r1, "matmul")
        if mm is None or mm._ctx.inputs[1] is not r1:
            continue
        w2 = mm._ctx.inputs[0]
        chain += [r1, mm]
        y = mm
        if r1.ndim == 3:   # groups: (G, k, columns) -> (G, O/G, columns) -> (O, columns)
            y = _single_user(users, mm, "reshape")
            if y is None:
                continue
            chain.append(y)
        bias = None
        add = _single_user(users, y, "add")
        if add is not None:
            if add._ctx.inputs[0] is not y or add._ctx.inputs[1].shape != (y.shape[0], 1):
                continue
            bias = add._ctx.inputs[1]
            chain.append(add)
            y = add
        r3 = _single_user(users, y, "reshape")
        tr = None if r3 is None else _single_user(users, r3, "transpose")
        nd = len(fn.geometry["kernel_size"])
        if tr is None or tuple(tr._ctx.axes) != (nd + 1, 0) + tuple(range(1, nd + 1)):
            continue
        chain.append(r3)
        inner = [w2] + ([bias] if bias is not None else [])
        for part in inner:  # the weight's and bias's reshapes go too when only the chain reads them
            if part._ctx is not None and part._ctx.name == "reshape" and \
                    len(users.get(id(part), [])) == 1:
                chain.append(part)
        fused[id(tr)] = (fn, fn.inputs[0], w2, bias, tr)
        skip.update(id(t) for t in chain)
    return fused, skip


def _emit_conv(b, fn, x, w2, bias, out):
    g = fn.geometry
    kernel = [int(k) for k in g["kernel_size"]]
    o = out.shape[1]
    c = x.shape[1]
    groups = w2.shape[0] if w2.ndim == 3 else 1
    shape = [o, c // groups] + kernel

    def unreshaped(t, want):
        if t._ctx is not None and t._ctx.name == "reshape" and t._ctx.inputs[0].shape == tuple(want):
            return b.value(t._ctx.inputs[0])
        return b.node("Reshape", [b.value(t), b.ints(want)])

    ins = [b.value(x), unreshaped(w2, shape)]
    if bias is not None:
        ins.append(unreshaped(bias, [o]))
    return b.node("Conv", ins, group=groups, kernel_shape=kernel,
                  strides=[int(s) for s in g["stride"]], pads=_pads(g["padding"]),
                  dilations=[int(d) for d in g["dilation"]])


def _max_pool(b, out, fn, ins):
    g = fn.geometry
    return b.node("MaxPool", ins, kernel_shape=[int(k) for k in g["kernel_size"]],
                  strides=[int(s) for s in g["stride"]], pads=_pads(g["padding"]),
                  dilations=[int(d) for d in g["dilation"]])


def _gelu(b, out, fn, ins):
    # x * (1 + erf(x / sqrt 2)) / 2: ONNX has Gelu only from opset 20
    x = ins[0]
    cdf = b.node("Add", [b.node("Erf", [b.node("Mul", [x, b.scalar(np.sqrt(0.5), out)])]),
                         b.scalar(1, out)])
    return b.node("Mul", [b.node("Mul", [x, cdf]), b.scalar(0.5, out)])


def _layer_norm(b, out, fn, ins):
    # over the last len(fn.axes) axes: ONNX's LayerNormalization (opset 17 on)
    return b.node("LayerNormalization", ins, axis=-len(fn.axes), epsilon=float(fn.eps))


# ---- attention: the fused primitives written out as MatMul, Softmax and Where ---------------
# Their boolean `keep` mask (True = takes part) is a parameter of the node, not an input: it
# is written as a constant when it is the same in every trace, and rebuilt at run time when
# it is the causal mask of a sequence length that changes with a dynamic axis.

def _keep_mask(b, out, fn, rows, cols):
    """The ONNX name of fn.keep (None when there is no mask); rows, cols: the scores' last two
    sizes (ints or _Dims)."""
    keep = fn.keep
    others = [t1._ctx.keep for _, _, t1 in b.twins.get(id(out), [])]
    if keep is None and all(k is None for k in others):
        return None
    masks = [None if k is None else np.asarray(k) for k in [keep] + others]
    if all(m is not None and m.shape == masks[0].shape and np.array_equal(m, masks[0])
           for m in masks):
        return b.const(masks[0], "keep")
    if all(m is not None and _is_causal(m) for m in masks):
        # np.tri(L, S): key j takes part in query i's row when j <= i
        i = b.node("Unsqueeze", [b.arange(rows), b.ints([1])])
        j = b.node("Unsqueeze", [b.arange(cols), b.ints([0])])
        return b.node("LessOrEqual", [j, i], hint="causal")
    raise ExportError(
        f"export: op '{fn.name}' (output shape {out.shape}) uses an attention mask that "
        "changes with the input's values or sizes (a key_padding_mask or attn_mask passed as "
        "an input, or computed from the input outside the graph), so ONNX would freeze one "
        "input's mask into the file; export with the mask fixed inside the model, or pass it "
        "as a float (additive) Tensor computed with Tensor ops")


def _is_causal(mask):
    rows, cols = mask.shape[-2:] if mask.ndim >= 2 else (0, 0)
    return (mask.ndim >= 2 and all(n == 1 for n in mask.shape[:-2])
            and np.array_equal(mask.reshape(rows, cols), np.tri(rows, cols, dtype=bool)))


def _softmax_kept(b, scores, keep, like):
    """softmax over the last axis where `keep`, 0 elsewhere (as the engine's _softmax_rows)."""
    if keep is None:
        return b.node("Softmax", [scores], axis=-1)
    # NOTE: a row with every entry masked out is -inf throughout, and Softmax gives 0/0 = NaN
    # there; the outer Where writes the engine's 0 over it (and over every masked entry).
    masked = b.node("Where", [keep, scores, b.scalar(-np.inf, like)])
    return b.node("Where", [keep, b.node("Softmax", [masked], axis=-1), b.scalar(0, like)])


def _masked_softmax(b, out, fn, ins):
    dims = b.dims(out)
    return _softmax_kept(b, ins[0], _keep_mask(b, out, fn, dims[-2], dims[-1]), out)


def _attention(b, out, fn, ins):
    # softmax(q * scale @ k^T + bias, where keep) @ v, in the forward rule's order of operations
    q, k = fn.inputs[0], fn.inputs[1]
    swap = list(range(k.ndim - 2)) + [k.ndim - 1, k.ndim - 2]
    scores = b.node("MatMul", [b.node("Mul", [ins[0], b.scalar(fn.scale, q)]),
                               b.node("Transpose", [ins[1]], perm=swap)])
    if len(ins) == 4:
        scores = b.node("Add", [scores, ins[3]])
    keep = _keep_mask(b, out, fn, b.dims(q)[-2], b.dims(k)[-2])
    return b.node("MatMul", [_softmax_kept(b, scores, keep, out), ins[2]])


def _linear(b, out, fn, ins):
    x = fn.inputs[0]
    if x.ndim == 2:
        return b.node("Gemm", ins, transB=1)
    y = b.node("MatMul", [ins[0], b.node("Transpose", [ins[1]], perm=[1, 0])])
    return b.node("Add", [y, ins[2]]) if len(ins) == 3 else y


def _gate_eye(n_gates, hidden, order, dtype):
    """(G*H, G*H) identity with the gate blocks permuted: row block i reads gate order[i]."""
    size = n_gates * hidden
    eye = np.zeros((size, size), dtype)
    for i, src in enumerate(order):
        eye[i * hidden:(i + 1) * hidden, src * hidden:(src + 1) * hidden] = np.eye(hidden, dtype=dtype)
    return eye


def _gate_rows(b, name, hidden, order):
    """Rows of a (G*H, ...) weight regrouped into ONNX's gate order, plus a leading axis of 1."""
    blocks = [b.node("Slice", [name, b.ints([src * hidden]), b.ints([(src + 1) * hidden]),
                               b.ints([0])]) for src in order]
    stacked = b.node("Concat", blocks, axis=0)
    return b.node("Unsqueeze", [stacked, b.ints([0])])


def _recurrent(op, n_gates, order, bias_input=None):
    """RNN / LSTM / GRU primitive -> ONNX's own op over the projected input."""
    def emit(b, out, fn, ins):
        xproj, w_hh = fn.inputs[0], fn.inputs[1]
        hidden = w_hh.shape[1]
        dtype = xproj.dtype
        w = b.const(_gate_eye(n_gates, hidden, order, dtype)[None], f"{op.lower()}_identity_w")
        r = _gate_rows(b, ins[1], hidden, order)
        if bias_input is not None:   # GRU: b_hh is the recurrence's own (inside r * (.))
            rb = b.node("Reshape", [_gate_rows(b, ins[bias_input], hidden, order), b.ints([-1])])
            bias = b.node("Concat", [b.const(np.zeros(n_gates * hidden, dtype)), rb], axis=0)
            bias = b.node("Unsqueeze", [bias, b.ints([0])])
            h0 = ins[3]
        else:
            bias = b.const(np.zeros((1, 2 * n_gates * hidden), dtype), "zero_bias")
            h0 = ins[2]
        inputs = [ins[0], w, r, bias, "", b.node("Unsqueeze", [h0, b.ints([0])])]
        attrs = dict(hidden_size=int(hidden))
        if op == "LSTM":
            inputs.append(b.node("Unsqueeze", [ins[3], b.ints([0])]))
        if op == "RNN":
            attrs["activations"] = ["Tanh" if fn.nonlinearity == "tanh" else "Relu"]
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        n_out = 3 if op == "LSTM" else 2
        outs = b.node(op, inputs, n_outputs=n_out, **attrs)
        y = b.node("Squeeze", [outs[0], b.ints([1])])            # (T, B, H)
        if op != "LSTM":
            return y
        # The engine's LSTM output is [h_t, c_t] per step; ONNX gives c only after the last
        # step, so c is written there and export checks that nothing reads earlier c's.
        _check_lstm_readers(b, out, hidden)
        steps = b.dims(out)[0]
        c_last = b.node("Squeeze", [outs[2], b.ints([0])])       # (B, H)
        c_all = b.node("Expand", [b.node("Unsqueeze", [c_last, b.ints([0])]),
                                  b.shape_value([steps, 1, 1])])
        return b.node("Concat", [y, c_all], axis=2)
    emit.__name__ = f"_emit_{op.lower()}"
    return emit


def _check_lstm_readers(b, out, hidden):
    from autograd.ops import GetItem

    for u in b.base.order:
        if any(p is out for p in b.base.parents(u)):
            fn = u._ctx
            ok = isinstance(fn, GetItem) and isinstance(fn.index, tuple) and len(fn.index) == 3
            if ok:
                t_index, _, h_index = fn.index
                reads_c = not (isinstance(h_index, slice) and h_index.start in (None, 0)
                               and h_index.stop == hidden and h_index.step in (None, 1))
                last = isinstance(t_index, (int, np.integer)) and t_index in (-1, out.shape[0] - 1)
                ok = not reads_c or last
            if not ok:
                raise ExportError("export: op 'lstm_layer': ONNX's LSTM gives the cell state "
                                  "only after the last step, and this model reads it at other "
                                  "steps; read c only at the last step (as nn.LSTM does)")


OPS = {
    "add": _simple("Add"), "sub": _simple("Sub"), "mul": _simple("Mul"), "div": _simple("Div"),
    "neg": _simple("Neg"), "pow": _pow, "exp": _simple("Exp"), "log": _simple("Log"),
    "log1p": _log1p, "sqrt": _simple("Sqrt"), "abs": _simple("Abs"), "sin": _simple("Sin"),
    "cos": _simple("Cos"), "tanh": _simple("Tanh"), "sigmoid": _simple("Sigmoid"),
    "relu": _simple("Relu"), "erf": _simple("Erf"), "maximum": _simple("Max"),
    "minimum": _simple("Min"), "where": _where, "cast": _cast,
    "sum": _reduce("ReduceSum"), "max": _reduce("ReduceMax"), "min": _reduce("ReduceMin"),
    "reshape": _reshape, "transpose": _transpose, "expand": _expand, "getitem": _getitem,
    "concatenate": _concatenate,
    "matmul": _simple("MatMul"), "linear": _linear, "gelu": _gelu, "layer_norm": _layer_norm,
    "masked_softmax": _masked_softmax, "scaled_dot_product_attention": _attention,
    "unfold": _unfold, "fold": _fold, "max_pool": _max_pool,
    "rnn_layer": _recurrent("RNN", 1, (0,)),
    "lstm_layer": _recurrent("LSTM", 4, (0, 3, 1, 2)),       # PyTorch i, f, g, o -> ONNX i, o, f, c
    "gru_layer": _recurrent("GRU", 3, (1, 0, 2), bias_input=2),  # r, z, n -> z, r, h
}


# ---- recognised composites: name -> emitter (builder, output, _Call) -------------------------

def _arg(call, position, name, default):
    args, kwargs = call.params
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else default


def _softmax_like(op):
    def emit(b, out, call):
        x = call.inputs[0]
        axis = _arg(call, 0, "axis", -1)
        return b.node(op, [b.value(x)], axis=int(axis) % max(x.ndim, 1))
    return emit


def _logsumexp(b, out, call):
    x = call.inputs[0]
    axes = _axes_of(_arg(call, 0, "axis", None), x.ndim)
    keep = bool(_arg(call, 1, "keepdims", False))
    return b.node("ReduceLogSumExp", [b.value(x), b.ints(axes)], keepdims=int(keep))


def _leaky_relu(b, out, call):
    return b.node("LeakyRelu", [b.value(call.inputs[0])],
                  alpha=float(_arg(call, 0, "negative_slope", 0.01)))


def _elu(b, out, call):
    return b.node("Elu", [b.value(call.inputs[0])], alpha=float(_arg(call, 0, "alpha", 1.0)))


def _softplus(b, out, call):
    x = call.inputs[0]
    beta = float(_arg(call, 0, "beta", 1.0))
    threshold = float(_arg(call, 1, "threshold", 20.0))
    name = b.value(x)
    z = name if beta == 1 else b.node("Mul", [name, b.scalar(beta, x)])
    soft = b.node("Softplus", [z])
    if beta != 1:
        soft = b.node("Div", [soft, b.scalar(beta, x)])
    linear = b.node("Greater", [z, b.scalar(threshold, x)])
    return b.node("Where", [linear, name, soft])


def _clip(b, out, call):
    x = call.inputs[0]
    lo = _arg(call, 0, "min", None)
    hi = _arg(call, 1, "max", None)
    ins = [b.value(x), "" if lo is None else b.scalar(lo, x), "" if hi is None else b.scalar(hi, x)]
    while ins[-1] == "":
        ins.pop()
    return b.node("Clip", ins)


def _pad_call(b, out, call):
    x = call.inputs[0]
    width = np.broadcast_to(np.asarray(_arg(call, 0, "pad_width", 0), dtype=int), (x.ndim, 2))
    value = _arg(call, 1, "value", 0.0)
    return b.node("Pad", [b.value(x), b.ints(list(width[:, 0]) + list(width[:, 1])),
                          b.scalar(value, x)], mode="constant")


def _hardtanh(b, out, call):
    x = call.inputs[0]
    lo, hi = _arg(call, 0, "min_val", -1.0), _arg(call, 1, "max_val", 1.0)
    return b.node("Clip", [b.value(x), b.scalar(lo, x), b.scalar(hi, x)])


def _hardsigmoid_of(b, x, name):
    if x.dtype == np.float32:   # ONNX Runtime's HardSigmoid and HardSwish take float only
        return b.node("HardSigmoid", [name], alpha=1 / 6, beta=0.5)
    return b.node("Clip", [b.node("Add", [b.node("Mul", [name, b.scalar(1 / 6, x)]),
                                          b.scalar(0.5, x)]),
                           b.scalar(0, x), b.scalar(1, x)])


def _hardsigmoid(b, out, call):
    x = call.inputs[0]
    return _hardsigmoid_of(b, x, b.value(x))


def _hardswish(b, out, call):
    x = call.inputs[0]
    if x.dtype == np.float32:
        return b.node("HardSwish", [b.value(x)])
    return b.node("Mul", [b.value(x), _hardsigmoid_of(b, x, b.value(x))])


def _celu(b, out, call):
    # ONNX's Celu takes float only: written out as max(0, x) + min(0, alpha (exp(x/alpha) - 1))
    x = call.inputs[0]
    alpha = float(_arg(call, 0, "alpha", 1.0))
    name = b.value(x)
    neg = b.node("Mul", [b.node("Sub", [b.node("Exp", [b.node("Div", [name, b.scalar(alpha, x)])]),
                                        b.scalar(1, x)]), b.scalar(alpha, x)])
    return b.node("Add", [b.node("Max", [name, b.scalar(0, x)]),
                          b.node("Min", [neg, b.scalar(0, x)])])


COMPOSITE_OPS = {
    "softmax": _softmax_like("Softmax"), "log_softmax": _softmax_like("LogSoftmax"),
    "logsumexp": _logsumexp, "leaky_relu": _leaky_relu, "elu": _elu, "softplus": _softplus,
    "clip": _clip, "pad": _pad_call, "hardtanh": _hardtanh, "hardsigmoid": _hardsigmoid,
    "hardswish": _hardswish, "celu": _celu,
}


# ---- the public function ------------------------------------------------------------------

def _parse_dynamic(dynamic_axes, input_names, output_names, arrays):
    """{input index: {axis: symbol}}, and {output name: {axis: symbol}} for the outputs."""
    inputs, outputs = {}, {}
    for key, axes in (dynamic_axes or {}).items():
        if isinstance(axes, (list, tuple)):
            axes = {int(a): f"{key}_dynamic_axes_{j + 1}" for j, a in enumerate(axes)}
        else:
            axes = {int(a): str(s) for a, s in axes.items()}
        if key in input_names:
            i = input_names.index(key)
            ndim = arrays[i].ndim
            for a in axes:
                if not -ndim <= a < ndim:
                    raise ValueError(f"export: dynamic axis {a} of input {key!r} is out of "
                                     f"range for its shape {arrays[i].shape}")
            inputs[i] = {a % ndim: s for a, s in axes.items()}
        elif key in output_names:
            outputs[key] = axes
        else:
            raise ValueError(f"export: dynamic_axes names {key!r}, which is neither an input "
                             f"({input_names}) nor an output ({output_names})")
    return inputs, outputs


def _probe_arrays(arrays, dynamic, symbol, rng):
    """The inputs for a probe trace: other values for float inputs, and, along the axes named
    `symbol`, one more entry (a repeat of the first)."""
    out = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f" and a.size:
            # the same values in other places, slightly moved: a mask or a max computed
            # from the values outside the graph comes out different (and so is caught)
            scale = float(np.abs(a).std()) or 1.0
            moved = np.roll(a.reshape(-1), 1).reshape(a.shape)
            a = (moved + 0.1 * scale * rng.standard_normal(a.shape)).astype(a.dtype)
        elif a.dtype == np.bool_ and a.size:
            a = np.roll(a.reshape(-1), 1).reshape(a.shape)  # a mask built from it then moves too
        for axis, sym in dynamic.get(i, {}).items():
            if sym == symbol:
                a = np.concatenate([a, np.take(a, [0], axis=axis)], axis=axis)
        out.append(a)
    return out


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=None, training=False):
    """Write `model` as an ONNX file (or file object) `f`, as torch.onnx.export does.

    `args`: the example input (an array or Tensor), or a tuple of them; the forward pass on
    them is recorded and written. Parameters and buffers become initializers named by their
    state_dict keys. `dynamic_axes`, e.g. {"input": {0: "batch"}, "logits": {0: "batch"}},
    frees those axes. The model is exported in eval mode (Dropout off, BatchNorm's running
    statistics), as PyTorch does by default; its mode is restored afterwards. Returns the
    onnx.ModelProto.

    >>> import nn, numpy as np
    >>> proto = nn.onnx.export(nn.Linear(3, 2), np.zeros((1, 3), np.float32), io.BytesIO())
    >>> [n.op_type for n in proto.graph.node]
    ['Gemm']
    """
    onnx, helper, numpy_helper = _onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    newest = onnx.defs.onnx_opset_version()
    if not DEFAULT_OPSET <= opset <= newest:
        raise ValueError(f"export: opset_version must be between {DEFAULT_OPSET} and {newest} "
                         f"(the onnx package's newest), got {opset_version}")
    if training:
        raise ValueError("export: only eval-mode export is supported (training=False): a "
                         "training graph would freeze one batch's dropout mask")
    if not isinstance(args, tuple):
        args = (args,)
    arrays = [np.asarray(getattr(a, "data", a)) for a in args]
    if input_names is None:
        input_names = ["input"] if len(arrays) == 1 else [f"input_{i}" for i in range(len(arrays))]
    input_names = list(input_names)
    if len(input_names) != len(arrays):
        raise ValueError(f"export: {len(input_names)} input_names for {len(arrays)} inputs")
    was_training = model.training
    model.eval()
    try:
        base = _Trace(model, arrays)
        if output_names is None:
            output_names = (["output"] if len(base.outputs) == 1 else
                            [f"output_{i}" for i in range(len(base.outputs))])
        output_names = list(output_names)
        if len(output_names) != len(base.outputs):
            raise ValueError(f"export: {len(output_names)} output_names for the model's "
                             f"{len(base.outputs)} outputs")
        dynamic, out_dynamic = _parse_dynamic(dynamic_axes, input_names, output_names, arrays)
        symbols = []
        for axes in dynamic.values():
            for sym in axes.values():
                if sym not in symbols:
                    symbols.append(sym)
        rng = np.random.default_rng(0)
        probes = [(sym, None, _probe_trace(model, arrays, dynamic, sym, rng))
                  for sym in (symbols or [None])]
        probes = [(sym, None if sym is None else _size_of(trace, dynamic, sym), trace)
                  for sym, _, trace in probes]
    finally:
        model.train(was_training)
    builder = _Builder(helper, numpy_helper, model, base, probes, input_names, dynamic)
    out_values = builder.build()
    # Each output takes its name: the node that makes it is renamed, or (for a graph input,
    # an initializer or a value given twice) an Identity is added.
    nodes = builder.nodes
    produced = {out for n in nodes for out in n.output}
    renamed = {}
    for name, value in zip(output_names, out_values):
        if value in produced and value not in renamed and out_values.count(value) == 1:
            renamed[value] = name
        else:
            nodes.append(helper.make_node("Identity", [value], [name], name=f"output_{name}"))
    for n in nodes:
        for field in (n.input, n.output):
            for i, v in enumerate(field):
                if v in renamed:
                    field[i] = renamed[v]
    graph_inputs = []
    for i, (name, a) in enumerate(zip(input_names, arrays)):
        shape = [dynamic.get(i, {}).get(axis, n) for axis, n in enumerate(a.shape)]
        graph_inputs.append(helper.make_tensor_value_info(name, _onnx_dtype(helper, a.dtype), shape))
    graph_outputs = []
    for name, t in zip(output_names, base.outputs):
        dims = builder.dims(t)
        shape = [out_dynamic.get(name, {}).get(axis, d if isinstance(d, (int, np.integer)) else None)
                 for axis, d in enumerate(dims)]
        shape = [f"{name}_dim_{axis}" if d is None else d for axis, d in enumerate(shape)]
        graph_outputs.append(helper.make_tensor_value_info(
            name, _onnx_dtype(helper, np.asarray(t.data).dtype), shape))
    graph = helper.make_graph(nodes, type(model).__name__, graph_inputs, graph_outputs,
                              initializer=builder.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="chainrule", producer_version=autograd.__version__)
    proto.ir_version = min(proto.ir_version, 10)  # readable by ONNX Runtime releases of 2024 on
    onnx.checker.check_model(proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(proto, os.fspath(f))
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        raise TypeError(f"export: f must be a path or a writable file object, got {type(f).__name__}")
    return proto


def _probe_trace(model, arrays, dynamic, sym, rng):
    try:
        return _Trace(model, _probe_arrays(arrays, dynamic, sym, rng))
    except (ValueError, IndexError, TypeError) as err:
        if sym is None:
            raise
        raise ExportError(
            f"export: the forward pass fails when the dynamic axis {sym!r} is one longer "
            f"({err}); axes that must stay equal (the batch of two inputs) need the same "
            "name in dynamic_axes, e.g. {'x': {0: 'batch'}, 'h': {0: 'batch'}}") from err


def _size_of(trace, dynamic, sym):
    for i, axes in dynamic.items():
        for axis, s in axes.items():
            if s == sym:
                return trace.inputs[i].shape[axis]
    return None
