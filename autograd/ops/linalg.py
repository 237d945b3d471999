"""Linear algebra primitives."""
import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


class MatMul(Function):
    """a @ b (batched, both at least 2-D);  da = grad @ b^T, db = a^T @ grad"""

    name = "matmul"

    def forward(self, a, b):
        return np.matmul(a, b)

    def vjp(self, grad, out, on=ARRAYS):
        a, b = self.inputs
        return (grad @ on.mT(on.data(b)) if self.needs[0] else None,
                on.mT(on.data(a)) @ grad if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), (a, b) = tangents, self.inputs
        da = None if ta is None else np.matmul(ta, b.data)
        db = None if tb is None else np.matmul(a.data, tb)
        return db if da is None else da if db is None else da + db
