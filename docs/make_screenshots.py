"""Screenshots of the graph explorer (autograd.viz.explore) for the README, with headless Chromium.

    python docs/make_screenshots.py     # writes docs/explorer.png and docs/explorer_cnn.png

The pages open at a chosen step and selection through their address (#step=..&select=..),
so Chromium's own --screenshot is all that is needed.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import autograd as ag  # noqa: E402  (after the path: the script runs from a checkout)
from autograd import Tensor, viz  # noqa: E402


def worked_example():
    """Notebook 2's 2-2-1 sigmoid network, one scalar per node, after backward."""
    x = [Tensor(v, name=f"x{k + 1}") for k, v in enumerate((0.35, 0.9))]
    w = [[Tensor(v, requires_grad=True, name=f"w{j + 1}{k + 1}") for k, v in enumerate(row)]
         for j, row in enumerate(((0.1, 0.8), (0.4, 0.6)))]
    v = [Tensor(c, requires_grad=True, name=f"v{j + 1}") for j, c in enumerate((0.3, 0.9))]
    h = []
    for j in range(2):
        h.append((w[j][0] * x[0] + w[j][1] * x[1]).sigmoid())
        h[-1].name = f"h{j + 1}"
    out = (v[0] * h[0] + v[1] * h[1]).sigmoid()
    out.name = "o"
    loss = (out - 0.5) ** 2 * 0.5
    loss.name = "E"
    loss.backward()  # a graph of scalars keeps every number: the page is as before backward
    return viz.explore(loss, title="2-2-1 network: E = ½ (o - t)²")


def cnn():
    """The CLI's CNN on two 28x28 images, collapsed to one box per layer."""
    from chainrule.models import CNN
    from nn import functional as F

    ag.manual_seed(0)
    model = CNN(1, 28, 10)
    images = np.random.default_rng(0).random((2, 1, 28, 28), dtype=np.float32)
    loss = F.cross_entropy(model(Tensor(images)), Tensor(np.array([3, 7])))
    loss.name = "loss"
    # retain_graph for the page's numbers: a released graph keeps those of tensors of at most
    # 6 elements only, and the page shows every activation's with its histogram
    loss.backward(retain_graph=True)
    return viz.explore(loss, model=model, collapse=True, title="CNN: loss on two images")


def screenshot(chromium, page_path, fragment, png, size):
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--window-size={size}",
                        "--virtual-time-budget=5000", f"--screenshot={png}",
                        page_path.as_uri() + "#" + fragment],
                       check=True, capture_output=True, timeout=120)
    print("wrote", png)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="folder for the PNGs (default: docs/)")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        page = worked_example()
        steps = page.data["steps"]
        # late in the backward pass: the last hidden unit's sigmoid, a weight selected
        at = max(i for i, s in enumerate(steps, 1) if s["phase"] == "backward"
                 and s["text"].split(": ")[1] == "sigmoid")
        weight = next(n["id"] for n in page.data["nodes"] if n["name"] == "w11")
        path = page.save(Path(tmp) / "worked.html")
        screenshot(args.chromium, path, f"step={at}&select={weight}", out / "explorer.png",
                   "1500,760")
        page = cnn()
        conv = next(c["id"] for c in page.data["clusters"] if "features.0" in c["label"])
        path = page.save(Path(tmp) / "cnn.html")
        screenshot(args.chromium, path, f"select={conv}", out / "explorer_cnn.png", "1600,600")


if __name__ == "__main__":
    main()
