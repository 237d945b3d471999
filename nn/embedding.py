"""Embedding: a table of vectors looked up by integer index."""
import numpy as np

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from autograd.function import unguard


class Embedding(Module):
    """weight[indices] with weight (num_embeddings, embedding_dim), initialised N(0, 1);
    the padding_idx row starts at zero and never receives a gradient. With max_norm, each
    forward first scales the looked-up rows whose norm_type-norm exceeds max_norm down to
    max_norm, in the weight itself (in place, without gradient), as PyTorch.

    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(np.array([[0, 4]])).shape
    (1, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        if scale_grad_by_freq or sparse:
            raise NotImplementedError("Embedding: scale_grad_by_freq and sparse are not "
                                      "supported")
        F._check_max_norm("Embedding", max_norm, norm_type)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within "
                                 f"[-{num_embeddings}, {num_embeddings})")
            if padding_idx < 0:
                padding_idx += num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dtype = np.dtype(dtype or np.float32)
            self.weight = Parameter(np.zeros((num_embeddings, embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            array = np.asarray(getattr(_weight, "data", _weight))
            if array.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {array.shape}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(array.copy(), requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            unguard(self.weight)
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx, self.max_norm,
                           self.norm_type)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding a copy of a 2-D array of vectors (frozen by default)."""
        array = np.asarray(getattr(embeddings, "data", embeddings))
        if array.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got {array.shape}")
        return cls(array.shape[0], array.shape[1], padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse,
                   _weight=array, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        return s
