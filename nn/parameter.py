"""`Parameter`: a Tensor that a Module registers as learnable."""
import numpy as np

from autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor with requires_grad=True, found by Module.parameters().

    >>> w = Parameter(np.zeros((2, 3), dtype="float32"))
    >>> w.requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data)
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
