"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
import numpy as np

from .optimizer import Optimizer, reject_unknown


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture notes), PyTorch's formulation:

        g = grad + weight_decay * p
        s = alpha * s + (1 - alpha) * g^2
        avg = sqrt(s - a^2) + eps with a = running mean of g (centered), else sqrt(s) + eps
        buf = momentum * buf + g / avg; p -= lr * buf   (momentum > 0)
        p -= lr * g / avg                                (otherwise)

    >>> import autograd
    >>> w = autograd.Tensor([1.0], requires_grad=True)
    >>> RMSprop([w]).defaults["alpha"]
    0.99
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False, **unknown):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        reject_unknown("RMSprop", unknown, defaults)
        super().__init__(params, defaults)

    def _step_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p, grad in self._grads(group):
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {"step": 0, "square_avg": np.zeros_like(p.data)}
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if centered and "grad_avg" not in state:
                state["grad_avg"] = np.zeros_like(p.data)
            state["step"] += 1
            g = self._direction(p, grad, group["maximize"], weight_decay)
            square_avg = state["square_avg"]
            square_avg *= alpha
            scratch = np.empty_like(square_avg)        # one temporary, reused below
            np.multiply(g, g, out=scratch)
            scratch *= 1 - alpha
            square_avg += scratch
            if centered:
                grad_avg = state["grad_avg"]               # a += (1 - alpha) * (g - a)
                np.subtract(g, grad_avg, out=scratch)
                scratch *= 1 - alpha
                grad_avg += scratch
                np.multiply(grad_avg, grad_avg, out=scratch)
                np.subtract(square_avg, scratch, out=scratch)
                avg = np.sqrt(scratch, out=scratch)
            else:
                avg = np.sqrt(square_avg, out=scratch)
            avg += eps
            np.divide(g, avg, out=scratch)
            if momentum > 0:
                buf = state["momentum_buffer"]
                buf *= momentum
                buf += scratch
                p.data -= lr * buf
            else:
                scratch *= lr
                p.data -= scratch
            p._version += 1
