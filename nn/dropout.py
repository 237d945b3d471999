"""Dropout: zero activations at random while training (inverted dropout: survivors scaled)."""
import autograd  # noqa: F401  (used by the docstring example)

from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability p in training mode, scale the rest by 1/(1-p);
    the identity in eval mode. Masks come from autograd.default_rng().

    >>> d = Dropout(0.5).eval()
    >>> d(autograd.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
