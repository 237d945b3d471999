"""`detect_anomaly()`: turn the first NaN or Inf in forward or backward into an error."""
from .grad_mode import state


class detect_anomaly:
    """Raise at the first op whose forward output or input gradient holds NaN or Inf.

    The error names the op and the line of your code that created it. Slow: use it to
    hunt a NaN, not in production.

    >>> with detect_anomaly():
    ...     loss = model(x).sum()
    ...     loss.backward()
    """

    def __enter__(self):
        self._prev = state.anomaly
        state.anomaly = True
        return self

    def __exit__(self, *exc):
        state.anomaly = self._prev
        return False
