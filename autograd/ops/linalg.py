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
        da = None
        if self.needs[0]:
            b = on.data(b)
            if grad.ndim == 2 and b.ndim == 2 and grad.shape[0] < b.shape[0]:
                # NOTE: (b @ grad^T)^T, the same numbers: OpenBLAS runs a product with a long
                # contraction faster when the larger side of the result is its rows; a
                # convolution's dW (16 x 12544 @ 12544 x 72): 0.89 -> 0.53 ms (benchmarks/
                # README.md, "Issue 16: second round"). The result is a transposed view.
                da = on.mT(b @ on.mT(grad))
            else:
                da = grad @ on.mT(b)
        return da, (on.mT(on.data(a)) @ grad if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), (a, b) = tangents, self.inputs
        da = None if ta is None else np.matmul(ta, b.data)
        db = None if tb is None else np.matmul(a.data, tb)
        return db if da is None else da if db is None else da + db
