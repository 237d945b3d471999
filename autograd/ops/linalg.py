"""Linear algebra primitives."""
import os

import numpy as np

from ..function import Function
from ..namespaces import ARRAYS


# NOTE: OpenBLAS's AVX-512 kernels run a product with M N K <= 100^3 without packing its
# operands; above that they pack them, which for a skinny product with one long side costs
# more than the arithmetic. cnn_step's products are such (conv2: 16 x 72 @ 72 x 12544, its
# dW 16 x 12544 @ 12544 x 72; conv1's dW 8 x 50176 @ 50176 x 9), so a 2-D float product is
# cut along its longest side into pieces of at most _UNPACKED multiply-adds, run as one
# stacked np.matmul (one BLAS call per piece, written in place; pieces of the contraction
# are summed). Measured on one thread (benchmarks/README.md, "Issue 16: third round"):
# conv1's dW 419 -> 105 µs, conv2's 443 -> 288, conv2's forward 404 -> 275, its input
# gradient 362 -> 304, conv1's forward 173 -> 113. Only when a piece still holds at least
# _MIN_PIECE rows/columns/terms: fatter products (64 x 64 @ 64 x 4096, 512^2 x 8192, a
# 32 -> 48 channel convolution's dW) gained nothing or lost. When BLAS may use more than one
# thread, only the contraction is cut: OpenBLAS splits a long side of the result over its
# threads (conv2's forward: 231 µs whole on 2 threads, 277 in pieces, which run on one),
# and cnn_step at 2 threads took 4.37-4.51 ms (best rounds) so, 4.85-5.02 with every cut.
_UNPACKED = 100 ** 3
_MIN_PIECE = 256
_BLAS_TYPES = (np.dtype(np.float32), np.dtype(np.float64))  # float16 has no BLAS product
_blas = None  # threadpoolctl's view of NumPy's BLAS, () without it (see _blas_threads)


def _blas_threads():
    """How many threads BLAS may use now: threadpoolctl's answer when it is installed (it
    sees limits set at run time), else OPENBLAS_NUM_THREADS / OMP_NUM_THREADS or the CPU
    count, as OpenBLAS itself decides when it loads."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # not installed, or it cannot read this BLAS
            _blas = ()
    if _blas:
        return max(lib.num_threads for lib in _blas)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit():
            return int(value)
    return os.cpu_count() or 1


def _product(a, b):
    """a @ b for 2-D arrays, in pieces along the longest side when that side is long and
    the other two short (see the NOTE above)."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k <= _UNPACKED or a.dtype != b.dtype or a.dtype not in _BLAS_TYPES:
        return np.matmul(a, b)
    longest = max(m, n, k)
    piece = _UNPACKED * longest // (m * n * k)
    if piece < _MIN_PIECE or longest < 2 * piece or (longest != k and _blas_threads() > 1):
        return np.matmul(a, b)
    count = longest // piece
    body = count * piece
    if longest == k:  # the contraction: partial products, summed
        parts = np.matmul(a[:, :body].reshape(m, count, piece).transpose(1, 0, 2),
                          b[:body].reshape(count, piece, n))
        out = parts.sum(axis=0)
        if body < k:
            out += a[:, body:] @ b[body:]
        return out
    out = np.empty((m, n), dtype=a.dtype)
    if longest == n:  # column blocks of b and of the result
        np.matmul(a, b[:, :body].reshape(k, count, piece).transpose(1, 0, 2),
                  out=out[:, :body].reshape(m, count, piece).transpose(1, 0, 2))
        np.matmul(a, b[:, body:], out=out[:, body:])
    else:  # row blocks of a and of the result
        np.matmul(a[:body].reshape(count, piece, k), b, out=out[:body].reshape(count, piece, n))
        np.matmul(a[body:], b, out=out[body:])
    return out


def _matmul(a, b):
    return _product(a, b) if a.ndim == 2 and b.ndim == 2 else np.matmul(a, b)


class MatMul(Function):
    """a @ b (batched, both at least 2-D);  da = grad @ b^T, db = a^T @ grad"""

    name = "matmul"

    def forward(self, a, b):
        return _matmul(a, b)

    def vjp(self, grad, out, on=ARRAYS):
        a, b = self.inputs
        product = _matmul if not on.graph else (lambda x, y: x @ y)
        da = None
        if self.needs[0]:
            b = on.data(b)
            if grad.ndim == 2 and b.ndim == 2 and grad.shape[0] < b.shape[0]:
                # NOTE: (b @ grad^T)^T, the same numbers: OpenBLAS runs a product with a long
                # contraction faster when the larger side of the result is its rows; a
                # convolution's dW (16 x 12544 @ 12544 x 72): 0.89 -> 0.53 ms (benchmarks/
                # README.md, "Issue 16: second round"). The result is a transposed view.
                da = on.mT(product(b, on.mT(grad)))
            else:
                da = product(grad, on.mT(b))
        return da, (product(on.mT(on.data(a)), grad) if self.needs[1] else None)

    def jvp(self, tangents, out):
        (ta, tb), (a, b) = tangents, self.inputs
        da = None if ta is None else np.matmul(ta, b.data)
        db = None if tb is None else np.matmul(a.data, tb)
        return db if da is None else da if db is None else da + db
