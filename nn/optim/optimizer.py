"""`Optimizer`: the base class every optimizer shares (param groups, state, zero_grad, saving)."""
import numbers

import numpy as np

import autograd
from autograd import Tensor
from autograd.function import unguard


class Optimizer:
    """Holds parameter groups and per-parameter state; subclasses implement `_step_group`.

    `params` is an iterable of Tensors that require grad, or a list of dicts, each with a
    'params' entry and any options that override the constructor's defaults for that group:

    >>> from nn import Linear
    >>> from nn.optim import SGD
    >>> model = Linear(2, 1)
    >>> opt = SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    >>> [g["lr"] for g in opt.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or a list of "
                f"dicts, got a single Tensor of shape {params.shape}; wrap it in a list")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass "
                             "model.parameters() of a model that has parameters")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- groups and options --------------------------------------------------------------

    def _check_unknown(self, names):
        """TypeError for option names this optimizer does not have."""
        valid = [k for k in self.defaults]
        unknown = [k for k in names if k not in valid]
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {', '.join(map(repr, unknown))}; "
                f"valid options are {', '.join(valid)}")

    def _check_options(self, options):
        """ValueError for options out of range; subclasses extend `_validate`."""
        for key, value in options.items():
            if key in ("lr", "eps", "weight_decay", "momentum", "lr_decay",
                       "initial_accumulator_value", "dampening", "alpha"):
                if not isinstance(value, numbers.Real) or isinstance(value, bool):
                    raise TypeError(f"{type(self).__name__}: option {key} should be a number, "
                                    f"got {type(value).__name__} {value!r}")
                if not value >= 0.0:  # also rejects NaN
                    raise ValueError(f"{type(self).__name__}: invalid {key} {value!r}; "
                                     f"it must be >= 0")
        self._validate(options)

    def _validate(self, options):
        """Checks specific to one optimizer (betas, nesterov, ...); overridden as needed."""

    def add_param_group(self, param_group):
        """Add a group: a dict with 'params' and optional per-group options."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}.add_param_group: expected a dict with a "
                            f"'params' entry, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{type(self).__name__}: a param group needs a 'params' entry, "
                             f"got keys {sorted(param_group)}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, but "
                                f"params[{i}] is a {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: params[{i}] (shape {p.shape}) does "
                                 "not require grad; pass only trainable tensors, e.g. "
                                 "[p for p in model.parameters() if p.requires_grad]")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: params[{i}] (shape {p.shape}) is "
                                 "not a leaf tensor (it was computed by an op); optimize the "
                                 "leaves it was computed from")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{type(self).__name__}: a param group lists the same tensor "
                             "more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "param group")
        options = {k: v for k, v in param_group.items() if k != "params"}
        self._check_unknown([k for k in options if k != "initial_lr"])
        group = {key: options.get(key, default) for key, default in self.defaults.items()}
        if "initial_lr" in options:  # set by a learning-rate scheduler
            group["initial_lr"] = options["initial_lr"]
        self._check_options(group)
        group["params"] = params
        self.param_groups.append(group)

    # ---- the update ------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Forget every parameter's gradient (set to None, or fill with zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    if p.grad.data.flags.writeable:
                        p.grad.data[...] = 0
                    else:  # a read-only view: replace it rather than write through it
                        p.grad.data = np.zeros_like(p.grad.data)
                    p.grad._version += 1

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() if given.

        The closure re-evaluates the model and returns the loss (LBFGS-style optimizers call
        it several times; these call it once, before the update).
        """
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        with autograd.no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group):
        raise NotImplementedError(f"{type(self).__name__} does not implement _step_group")

    def _grads(self, group):
        """(param, grad array) for the group's params that have a gradient."""
        for p in group["params"]:
            if p.grad is None:
                continue
            grad = p.grad.data
            if grad.shape != p.data.shape:
                raise RuntimeError(
                    f"{type(self).__name__}: a parameter of shape {p.shape} has a gradient of "
                    f"shape {grad.shape}; something wrote a wrong .grad")
            unguard(p)  # the step writes p.data in place (and bumps p's version)
            yield p, grad

    @staticmethod
    def _direction(p, grad, maximize, weight_decay):
        """The gradient an update follows: negated to maximize, plus weight_decay * p (L2).
        Returns `grad` itself when neither applies (no copy)."""
        g = np.negative(grad) if maximize else grad
        if weight_decay != 0:
            decay = np.multiply(p.data, weight_decay)
            decay += g
            g = decay
        return g

    # ---- saving ------------------------------------------------------------------------------

    def state_dict(self):
        """{'state': {index: {name: array or number}}, 'param_groups': [{options, 'params':
        [indices]}]} -- PyTorch's layout, made only of dicts, lists, numbers, strings and
        NumPy arrays (copies), so it can be saved without pickle."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {}
            for key, value in group.items():
                if key == "params":
                    continue
                packed[key] = list(value) if isinstance(value, tuple) else value
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v)
                        for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore options and state saved by state_dict(). Everything is checked first:
        on any mismatch a ValueError says what differs and nothing is changed."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"{name}.load_state_dict: expected a dict with keys 'state' and "
                             f"'param_groups', got {got}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has "
                             f"{len(saved_groups)} param groups, this optimizer has "
                             f"{len(self.param_groups)}")
        by_index = {}
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{name}.load_state_dict: param_groups[{g}] should be a dict "
                                 "with a 'params' entry")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: param group {g} has "
                                 f"{len(saved['params'])} parameters in the saved state and "
                                 f"{len(group['params'])} here")
            unknown = [k for k in saved if k not in self.defaults
                       and k not in ("params", "initial_lr")]
            if unknown:
                raise ValueError(f"{name}.load_state_dict: param group {g} has options "
                                 f"{unknown} that {name} does not have (saved by another "
                                 f"optimizer?); valid options are {', '.join(self.defaults)}")
            new = dict(group)
            for key, value in saved.items():
                if key == "params":
                    continue
                default = self.defaults.get(key)
                new[key] = tuple(value) if isinstance(default, tuple) else value
            try:
                self._check_options({k: v for k, v in new.items()
                                     if k not in ("params", "initial_lr")})
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}.load_state_dict: param group {g}: {exc}") from None
            new_groups.append(new)
            for saved_id, p in zip(saved["params"], group["params"]):
                by_index[_as_index(saved_id)] = p
        new_state = {}
        for key, entry in dict(state_dict["state"]).items():
            index = _as_index(key)
            if index not in by_index:
                raise ValueError(f"{name}.load_state_dict: the saved state has an entry for "
                                 f"parameter {key!r}, which no param group lists")
            p = by_index[index]
            if not isinstance(entry, dict):
                raise ValueError(f"{name}.load_state_dict: state[{key!r}] should be a dict, "
                                 f"got {type(entry).__name__}")
            restored = {}
            for k, v in entry.items():
                if isinstance(v, Tensor):
                    v = v.data
                if k == "step":
                    if not isinstance(v, numbers.Real) and np.ndim(v) != 0:
                        raise ValueError(f"{name}.load_state_dict: state[{key!r}]['step'] "
                                         f"should be a number, got {v!r}")
                    restored[k] = int(v)
                else:
                    array = np.asarray(v)
                    if array.shape != p.shape:
                        raise ValueError(
                            f"{name}.load_state_dict: state[{key!r}][{k!r}] has shape "
                            f"{array.shape}, but the parameter has shape {p.shape}")
                    if array.dtype.kind not in "biuf":
                        raise ValueError(f"{name}.load_state_dict: state[{key!r}][{k!r}] has "
                                         f"dtype {array.dtype}, expected numbers")
                    restored[k] = np.array(array, dtype=p.dtype, copy=True)
            new_state[p] = restored
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _as_index(key):
    """State keys are ints; accept ints and digit strings (a JSON round trip makes strings)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return int(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    raise ValueError(f"load_state_dict: parameter indices must be ints, got {key!r}")


def reject_unknown(optimizer_name, unknown, valid):
    """The TypeError for constructor keywords an optimizer does not take."""
    if unknown:
        raise TypeError(
            f"{optimizer_name}: unknown option(s) {', '.join(map(repr, unknown))}; valid "
            f"options are {', '.join(valid)}")
