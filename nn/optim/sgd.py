"""SGD with optional momentum, dampening, Nesterov momentum and L2 weight decay."""
import numpy as np

from .optimizer import Optimizer, reject_unknown


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's formulation:

        g = grad + weight_decay * p
        buf = g (first step), else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov) or buf
        p = p - lr * g

    >>> import autograd
    >>> w = autograd.Tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, **unknown):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        reject_unknown("SGD", unknown, defaults)
        super().__init__(params, defaults)

    def _validate(self, options):
        if options.get("nesterov") and (options.get("momentum", 0) <= 0
                                        or options.get("dampening", 0) != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={options.get('momentum')}, "
                             f"dampening={options.get('dampening')}")

    def _step_group(self, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        for p, grad in self._grads(group):
            d_p = self._direction(p, grad, group["maximize"], weight_decay)
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    state["momentum_buffer"] = buf = np.array(d_p, dtype=p.dtype, copy=True)
                else:
                    buf *= momentum
                    buf += d_p if dampening == 0 else (1 - dampening) * d_p
                d_p = d_p + momentum * buf if nesterov else buf
            p.data -= lr * d_p
            p._version += 1
