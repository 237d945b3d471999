"""`Module`: the base of every layer; finds parameters, buffers and submodules by attribute."""
from collections import OrderedDict

import numpy as np

from autograd import Tensor
from autograd.grad_mode import state

from .parameter import Parameter


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
        if isinstance(value, Tensor) and name in self._buffers and not isinstance(value, Parameter):
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
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register a Parameter (or None, for an absent optional one such as bias=False)."""
        if param is None:
            self.__dict__.pop(name, None)
            self._parameters[name] = None
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def register_buffer(self, name, value):
        """A non-learnable tensor saved in the state dict (e.g. BatchNorm's running mean)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = None if value is None else (
            value if isinstance(value, Tensor) else Tensor(np.asarray(value)))

    def add_module(self, name, module):
        self._modules[name] = module

    # ---- calling ------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        outer = state.scope
        state.scope = outer + (self,)  # ops record the modules they run in (for graph clusters)
        try:
            return self.forward(*args, **kwargs)
        finally:
            state.scope = outer

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

    def named_parameters(self, prefix=""):
        seen = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self, prefix=""):
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
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

    # ---- state -------------------------------------------------------------------------

    def state_dict(self):
        """Parameters and buffers by dotted name (arrays, copied), in registration order."""
        sd = OrderedDict()
        for mod_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is not None:
                        sd[f"{mod_name}.{name}" if mod_name else name] = t.data.copy()
        return sd

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into parameters and buffers; check every key and shape first, so a
        failed load changes nothing. Returns (missing_keys, unexpected_keys)."""
        targets = OrderedDict()
        for mod_name, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is not None:
                        targets[f"{mod_name}.{name}" if mod_name else name] = t
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        problems = []
        arrays = {}
        for key, value in state_dict.items():
            if key not in targets:
                continue
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if array.dtype == object:
                problems.append(f"'{key}': object arrays are not accepted")
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
            raise KeyError(f"load_state_dict into {type(self).__name__}: "
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
        lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))
