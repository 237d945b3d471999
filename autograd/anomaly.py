"""`detect_anomaly()`: turn the first NaN or Inf in forward or backward into an error."""
from .grad_mode import state


class detect_anomaly:
    """Raise at the first op whose forward output or input gradient holds NaN or Inf.

    The error names the op and the line of your code that created it. Slow: use it to
    hunt a NaN, not in production.

    >>> import numpy as np
    >>> from autograd import Tensor
    >>> x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    >>> with detect_anomaly():
    ...     (x.sqrt() * 0).sum().backward()  # d sqrt(x) at 0 is inf; inf * 0 is NaN
    Traceback (most recent call last):
    FloatingPointError: detect_anomaly: op 'sqrt' produced NaN in the gradient for its input 0 ...
    """

    def __enter__(self):
        self._prev = state.anomaly
        state.anomaly = True
        return self

    def __exit__(self, *exc):
        state.anomaly = self._prev
        return False
