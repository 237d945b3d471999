"""matmul_limit: float32 GEMM throughput through NumPy -- the ceiling for mlp_step.

The shapes are mlp_step's forward and backward products, plus one square 1024^3 product.
PyTorch's GEMM on the same shapes is alongside for reference.
"""
import numpy as np
import torch

SHAPES = [  # (m, k, n) for (m x k) @ (k x n)
    (128, 784, 256), (128, 256, 128),   # mlp_step forward
    (256, 128, 784), (784, 128, 256),   # its backward: weight gradients
    (1024, 1024, 1024),
]


def run(quick, harness):
    rng = np.random.default_rng(0)
    rows = []
    rounds = 3 if quick else 7
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        times, _ = harness.alternate({"numpy": lambda: a @ b, "pytorch": lambda: ta @ tb},
                                     rounds=rounds, target=0.1 if quick else 0.2)
        flops = 2 * m * k * n
        for name in ("numpy", "pytorch"):
            median = sorted(times[name])[len(times[name]) // 2]
            row = {"workload": "matmul_limit", "contender": f"{name} {m}x{k} @ {k}x{n}",
                   "time": f"{flops / median / 1e9:.1f}", "unit": "GFLOP/s"}
            if name == "pytorch":
                row["note"] = f"numpy/pytorch speed {harness.ratio(times, 'pytorch', 'numpy'):.2f}"
            rows.append(row)
    return rows
