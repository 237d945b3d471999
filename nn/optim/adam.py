"""Adam and AdamW (Adam with decoupled weight decay), with optional AMSGrad."""
import math
import numbers

import numpy as np

from .optimizer import Optimizer, reject_unknown


class Adam(Optimizer):
    """Adam (Kingma & Ba), PyTorch's formulation, step t = 1, 2, ...:

        g = grad + weight_decay * p          (or p *= 1 - lr * weight_decay, decoupled)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2     (AMSGrad uses v_max = max(v_max, v))
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    >>> import autograd
    >>> w = autograd.Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]  # the first step moves each coordinate by ~lr
    [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False, **unknown):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        reject_unknown(type(self).__name__, unknown, defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        betas = options.get("betas")
        if betas is None:
            return
        ok = (isinstance(betas, (tuple, list)) and len(betas) == 2
              and all(isinstance(b, numbers.Real) and 0.0 <= b < 1.0 for b in betas))
        if not ok:
            raise ValueError(f"{type(self).__name__}: betas must be two numbers in [0, 1), "
                             f"got {betas!r}")

    def _step_group(self, group):
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        for p, grad in self._grads(group):
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                         "exp_avg_sq": np.zeros_like(p.data)}
            if group["amsgrad"] and "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            t = state["step"]
            decoupled = group["decoupled_weight_decay"]
            g = self._direction(p, grad, group["maximize"], 0 if decoupled else weight_decay)
            if decoupled and weight_decay != 0:
                p.data *= 1 - lr * weight_decay
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            scratch = np.empty_like(exp_avg)           # one temporary, reused below
            np.subtract(g, exp_avg, out=scratch)       # m += (1 - beta1) * (g - m)
            scratch *= 1 - beta1
            exp_avg += scratch
            exp_avg_sq *= beta2                        # v = beta2 v + (1 - beta2) g^2
            np.multiply(g, g, out=scratch)
            scratch *= 1 - beta2
            exp_avg_sq += scratch
            step_size = lr / (1 - beta1 ** t)
            bias_correction2_sqrt = math.sqrt(1 - beta2 ** t)
            if group["amsgrad"]:
                np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
                second = state["max_exp_avg_sq"]
            else:
                second = exp_avg_sq
            denom = np.sqrt(second, out=scratch)
            denom /= bias_correction2_sqrt
            denom += eps
            np.divide(exp_avg, denom, out=scratch)
            scratch *= step_size
            p.data -= scratch
            p._version += 1


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay
    before the Adam step, instead of adding weight_decay * p to the gradient.

    >>> import autograd
    >>> w = autograd.Tensor([1.0], requires_grad=True)
    >>> AdamW([w]).defaults["weight_decay"]
    0.01
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, **unknown):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True,
                         **unknown)
