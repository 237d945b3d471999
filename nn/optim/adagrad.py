"""Adagrad: per-coordinate step sizes from the sum of all past squared gradients."""
import numpy as np

from .optimizer import Optimizer, reject_unknown


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), PyTorch's formulation, step t = 1, 2, ...:

        g = grad + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g^2                      (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    >>> import autograd
    >>> w = autograd.Tensor([1.0], requires_grad=True)
    >>> Adagrad([w]).defaults["eps"]
    1e-10
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False, **unknown):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        reject_unknown("Adagrad", unknown, defaults)
        super().__init__(params, defaults)

    def _step_group(self, group):
        lr, lr_decay, eps, weight_decay = (group["lr"], group["lr_decay"], group["eps"],
                                           group["weight_decay"])
        for p, grad in self._grads(group):
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {
                    "step": 0,
                    "sum": np.full_like(p.data, group["initial_accumulator_value"])}
            state["step"] += 1
            g = self._direction(p, grad, group["maximize"], weight_decay)
            clr = lr / (1 + (state["step"] - 1) * lr_decay)
            total = state["sum"]
            scratch = np.empty_like(total)             # one temporary, reused below
            np.multiply(g, g, out=scratch)
            total += scratch
            np.sqrt(total, out=scratch)
            scratch += eps
            np.divide(g, scratch, out=scratch)
            scratch *= clr
            p.data -= scratch
            p._version += 1
