"""Linear algebra primitives."""
import numpy as np

from ..function import Function


class MatMul(Function):
    """a @ b (batched, both at least 2-D);  da = grad @ b^T, db = a^T @ grad"""

    name = "matmul"

    def forward(self, a, b):
        return np.matmul(a, b)

    def backward(self, grad, out):
        a, b = self.inputs
        ga = grad @ b.mT if self.needs[0] else None
        gb = a.mT @ grad if self.needs[1] else None
        return ga, gb

    def vjp(self, grad, out):
        a, b = self.inputs[0].data, self.inputs[1].data
        return (grad @ np.swapaxes(b, -1, -2) if self.needs[0] else None,
                np.swapaxes(a, -1, -2) @ grad if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), (a, b) = tangents, self.inputs
        da = None if ta is None else np.matmul(ta, b.data)
        db = None if tb is None else np.matmul(a.data, tb)
        return db if da is None else da if db is None else da + db
