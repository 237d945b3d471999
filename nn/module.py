"""`Module`: the base of every layer; finds parameters, buffers and submodules by attribute."""
from collections import OrderedDict

import numpy as np

from autograd import Tensor
from autograd.grad_mode import state
from autograd.tensor import _HookHandle

from .parameter import Parameter


class StateDictError(RuntimeError, KeyError):
    """load_state_dict found missing/unexpected keys or mismatched shapes (nothing was loaded).

    A RuntimeError as in PyTorch; also a KeyError for callers that caught the old type."""

    def __str__(self):
        return RuntimeError.__str__(self)  # KeyError's __str__ would quote the message


def _check_name(module, name, kind):
    """Dotted state-dict keys need names that are non-empty strings without dots."""
    if not isinstance(name, str) or not name or "." in name:
        raise KeyError(f"{type(module).__name__}: {kind} name {name!r} must be a non-empty "
                       "string without '.'")


class Module:
    """Base class of layers and models: define `__init__` (create parameters) and `forward`.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(np.ones(3, dtype="float32"))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration by attribute ---------------------------------------------------------

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign '{name}' before Module.__init__() is called; "
                f"call super().__init__() first in {type(self).__name__}.__init__")
        if value is None and name in self._parameters:
            self._parameters[name] = None
            return
        if name in self._parameters and not isinstance(value, Parameter):
            # NOTE: as PyTorch: silently turning a parameter into a plain attribute would
            # drop it from parameters() and state_dict().
            raise TypeError(
                f"cannot assign {type(value).__name__} as parameter '{name}' of "
                f"{type(self).__name__} (nn.Parameter or None expected); wrap it: "
                f"nn.Parameter(value), or update it in place with .data / copy_()")
        if name in self._buffers and not isinstance(value, Parameter) and (
                value is None or isinstance(value, Tensor)):
            self._buffers[name] = value
            return
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        import difflib  # only on the error path

        known = [k for table in ("_parameters", "_buffers", "_modules") for k in d.get(table, ())]
        close = difflib.get_close_matches(name, known + [k for k in d if not k.startswith("_")], 1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register a Parameter (or None, for an absent optional one such as bias=False)."""
        _check_name(self, name, "parameter")
        if param is None:
            self.__dict__.pop(name, None)
            self._parameters[name] = None
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def register_buffer(self, name, value, persistent=True):
        """A non-learnable tensor saved in the state dict (e.g. BatchNorm's running mean);
        `persistent=False` keeps it out of the state dict."""
        _check_name(self, name, "buffer")
        self.__dict__.pop(name, None)
        self._buffers[name] = None if value is None else (
            value if isinstance(value, Tensor) else Tensor(np.asarray(value)))
        if not persistent:
            if "_non_persistent" not in self.__dict__:
                object.__setattr__(self, "_non_persistent", set())
            self._non_persistent.add(name)
        elif "_non_persistent" in self.__dict__:
            self._non_persistent.discard(name)

    def add_module(self, name, module):
        _check_name(self, name, "submodule")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module "
                            f"(registering '{name}' in {type(self).__name__})")
        self._modules[name] = module

    # ---- calling ------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_forward_hooks")  # only set by register_forward_(pre_)hook
        if hooks:
            for hook in list(hooks["pre"]):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        outer = state.scope
        state.scope = outer + (self,)  # ops record the modules they run in (for graph clusters)
        try:
            out = self.forward(*args, **kwargs)
        finally:
            state.scope = outer
        if hooks:
            for hook in list(hooks["post"]):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_pre_hook(self, hook):
        """Call `hook(module, args)` before each forward; a returned value replaces `args`.

        Returns a handle whose `.remove()` unregisters the hook.
        """
        return self._add_forward_hook("pre", hook)

    def register_forward_hook(self, hook):
        """Call `hook(module, args, output)` after each forward; a returned value replaces the
        output (nn.diagnostics counts dead ReLUs this way). Returns a handle with `.remove()`.
        """
        return self._add_forward_hook("post", hook)

    def _add_forward_hook(self, kind, hook):
        if "_forward_hooks" not in self.__dict__:
            object.__setattr__(self, "_forward_hooks", {"pre": [], "post": []})
        hooks = self._forward_hooks[kind]
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # ---- traversal ------------------------------------------------------------------------

    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, depth first."""
        stack, seen = [(prefix, self)], set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{k}" if name else k, m)
                        for k, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and grads ---------------------------------------------------------------------

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.data[...] = 0

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        for m in list(self.modules())[::-1]:
            fn(m)
        return self

    def to(self, dtype=None, device=None):
        """Cast floating-point parameters and buffers to `dtype`, in place (the Parameter
        objects stay the same, so an optimizer built before still holds them).

        Everything lives on the CPU: `to("cpu")` and `device="cpu"` are accepted as no-ops."""
        if device is not None and str(device) != "cpu":
            raise ValueError(f"{type(self).__name__}.to: only the 'cpu' device exists, "
                             f"got {device!r}")
        if dtype is None or (isinstance(dtype, str) and dtype == "cpu"):
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: expected a floating-point dtype, "
                            f"got {dtype}")
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f" and t.data.dtype != dtype:
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.data.astype(dtype))
                t._version += 1
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):  # noqa: A003 -- PyTorch's name
        return self.to(np.float32)

    # ---- state -------------------------------------------------------------------------

    def _state_tensors(self):
        """(dotted name, Tensor) of every parameter and persistent buffer, in PyTorch's order.

        NOTE: unlike named_modules, a module reached twice is listed under both names, as
        PyTorch's state_dict does (Sequential(fc, act, fc) has 0.weight and 2.weight)."""
        stack = [("", self)]
        while stack:
            mod_name, module = stack.pop()
            stack.extend(reversed([(f"{mod_name}.{k}" if mod_name else k, m)
                                   for k, m in module._modules.items() if m is not None]))
            skip = module.__dict__.get("_non_persistent", ())
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is not None and not (table is module._buffers and name in skip):
                        yield (f"{mod_name}.{name}" if mod_name else name), t

    def state_dict(self):
        """Parameters and buffers by dotted name, in registration order: detached Tensors that
        share the parameters' memory, as PyTorch's (copy them to keep a snapshot)."""
        sd = OrderedDict()
        for key, t in self._state_tensors():
            sd[key] = t.detach()
        return sd

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into parameters and buffers; check every key and shape first, so a
        failed load changes nothing. Returns (missing_keys, unexpected_keys)."""
        targets = OrderedDict(self._state_tensors())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        problems = []
        arrays = {}
        for key, value in state_dict.items():
            if key not in targets:
                continue
            array = _state_array(value)
            if array.dtype.kind not in "biuf":
                problems.append(f"'{key}': dtype {array.dtype} is not numeric")
                continue
            target = targets[key]
            if array.shape != target.shape:
                problems.append(f"'{key}': checkpoint shape {array.shape}, "
                                f"model shape {target.shape}")
                continue
            arrays[key] = array
        if strict and missing:
            problems.append(f"missing keys {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys {unexpected}")
        if problems:
            raise StateDictError(f"load_state_dict into {type(self).__name__}: "
                                 + "; ".join(problems) + ". Nothing was changed.")
        for key, array in arrays.items():
            target = targets[key]
            target.data = np.array(array, dtype=target.dtype, copy=True)
            target._version += 1
        return missing, unexpected

    # ---- printing -------------------------------------------------------------------------

    def extra_repr(self):
        return ""

    def __repr__(self):
        # PyTorch's layout: a one-line extra_repr stays inline when there are no children;
        # otherwise extra lines, then "(name): child", each indented by two spaces.
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                       for name, m in self._modules.items()]
        head = f"{type(self).__name__}("
        if len(extra_lines) == 1 and not child_lines:
            return head + extra_lines[0] + ")"
        lines = extra_lines + child_lines
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


def _state_array(value):
    """The array of a state-dict value: a Tensor, a NumPy array, or a torch.Tensor (converted
    without importing torch: only an object from torch can be one)."""
    if isinstance(value, Tensor):
        return value.data
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        return value.numpy()
    return np.asarray(value)
