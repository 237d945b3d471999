"""The datasets `chainrule train` knows: generated points, digits, Fashion-MNIST, text.

Every loader returns a `Dataset` of NumPy arrays, already split into train, validation
and test parts by generators seeded from `seed` (never the shared autograd generator),
so the same seed always gives the same split, in a fresh run or a resumed one.
"""
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
FASHION_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
TEXT_SOURCE = ("The Dhammapada, translated from Pali by John Richards (1993), public domain; "
               "see chainrule/data/SOURCES.md")

NAMES = ("spirals", "moons", "digits", "fashion-mnist", "text")


@dataclass
class Dataset:
    """Arrays split three ways; `kind` is 'points' (N, 2), 'images' (N, C, H, W) or 'text'."""

    name: str
    kind: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list
    source: str = ""
    vocab: str = ""  # text only: the characters, index = class
    extra: dict = field(default_factory=dict)

    @property
    def n_classes(self):
        return len(self.classes)

    def describe(self):
        return (f"{self.name}: {len(self.y_train)} train, {len(self.y_val)} validation, "
                f"{len(self.y_test)} test {'characters' if self.kind == 'text' else 'examples'}, "
                f"{self.n_classes} classes")


def load(name, seed=0, val_fraction=0.1, limit=None, data_dir=None):
    """The dataset called `name` (one of NAMES), split for training."""
    if not 0 <= val_fraction < 1:
        raise DataError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if limit is not None and limit < 2:
        raise DataError(f"--limit must be at least 2, got {limit}")
    if name == "text":
        return _text(val_fraction, limit)
    if name in ("spirals", "moons"):
        x, y, classes = _points(name, seed)
        x_train, y_train, x_test, y_test = _split(x, y, 0.25, seed + 1)
        kind, source = "points", f"generated ({name}, seed {seed})"
    elif name == "digits":
        x, y = _digits()
        x_train, y_train, x_test, y_test = _split(x, y, 0.2, seed + 1)
        classes, kind = [str(i) for i in range(10)], "images"
        source = "scikit-learn's 8x8 handwritten digits (UCI)"
    elif name == "fashion-mnist":
        x_train, y_train, x_test, y_test = _fashion_mnist(data_dir)
        classes, kind = FASHION_CLASSES, "images"
        source = "Fashion-MNIST (Zalando Research, MIT licence)"
    else:
        raise DataError(f"unknown dataset {name!r}; choose from {', '.join(NAMES)}")
    if limit is not None:
        # The first `limit` of a seeded shuffle, so every class shows up even in tiny runs.
        pick = np.random.default_rng([seed, 2]).permutation(len(y_train))[:limit]
        x_train, y_train = x_train[pick], y_train[pick]
        x_test, y_test = x_test[:limit], y_test[:limit]
    x_train, y_train, x_val, y_val = _split(x_train, y_train, val_fraction, seed + 3)
    return Dataset(name, kind, x_train, y_train, x_val, y_val, x_test, y_test, classes, source)


def _split(x, y, fraction, seed):
    """(x_a, y_a, x_b, y_b) with about `fraction` of the rows in b, by a seeded shuffle."""
    order = np.random.default_rng(seed).permutation(len(y))
    n_b = int(round(len(y) * fraction))
    a, b = order[n_b:], order[:n_b]
    return x[a], y[a], x[b], y[b]


# ---- generated points --------------------------------------------------------------------

def _points(name, seed, n=600):
    rng = np.random.default_rng(seed)
    try:
        from nn import data as nn_data
        make = getattr(nn_data, "make_spirals" if name == "spirals" else "make_moons")
    except (ImportError, AttributeError):
        make = None
    if make is not None:
        x, y = make(n, noise=0.1 if name == "moons" else 0.2, rng=rng) if name == "moons" \
            else make(n, n_classes=3, noise=0.2, rng=rng)
        x, y = np.asarray(getattr(x, "data", x)), np.asarray(getattr(y, "data", y))
    elif name == "spirals":
        x, y = make_spirals(n, 3, 0.2, rng)
    else:
        x, y = make_moons(n, 0.1, rng)
    classes = [f"class {i}" for i in range(int(y.max()) + 1)]
    return x.astype(np.float32), y.astype(np.int64), classes


def make_spirals(n, n_classes, noise, rng):
    """`n_classes` interleaved spiral arms in the plane (a fallback for nn.data's)."""
    per = n // n_classes
    xs, ys = [], []
    for k in range(n_classes):
        r = np.linspace(0.05, 1.0, per)
        theta = k * 2 * np.pi / n_classes + 4 * r + rng.normal(0, noise, per)
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        ys.append(np.full(per, k))
    return np.concatenate(xs), np.concatenate(ys)


def make_moons(n, noise, rng):
    """Two interleaved half circles (a fallback for nn.data's)."""
    half = n // 2
    t = np.pi * rng.random(half)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    t = np.pi * rng.random(n - half)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, noise, (n, 2))
    return x, np.concatenate([np.zeros(half), np.ones(n - half)])


# ---- images ----------------------------------------------------------------------------

def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the digits dataset needs scikit-learn: pip install 'chainrule[digits]'"
                        ) from None
    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    return x, bunch.target.astype(np.int64)


def _fashion_mnist(data_dir):
    root = Path(data_dir) if data_dir else FASHION_MNIST_DIR
    how = ("install it with `apt-get install dataset-fashion-mnist` or pass --data-dir DIR "
           "(a folder holding train-images-idx3-ubyte.gz and the other three IDX files)")
    if not root.is_dir():
        raise DataError(f"Fashion-MNIST: no directory {root}; {how}")
    arrays = {}
    for key, stem in FASHION_FILES.items():
        path = next((p for p in (root / f"{stem}.gz", root / stem) if p.exists()), None)
        if path is None:
            raise DataError(f"Fashion-MNIST: {root} has no {stem}[.gz]; {how}")
        arrays[key] = read_idx(path)
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or len(images) != len(labels):
            raise DataError(f"Fashion-MNIST: {part} images of shape {images.shape} do not match "
                            f"{len(labels)} labels in {root}")
    # Scaled to [0, 1], then centred with the training set's mean and std (0.286, 0.353).
    scale = lambda a: ((a.astype(np.float32) / 255.0 - 0.2860) / 0.3530)[:, None, :, :]
    return (scale(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
            scale(arrays["test_images"]), arrays["test_labels"].astype(np.int64))


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """An array from an IDX file (gzipped or not): the format of (Fashion-)MNIST."""
    path = Path(path)
    try:
        from nn import data as nn_data
        reader = getattr(nn_data, "read_idx", None)
    except ImportError:
        reader = None
    try:
        if reader is not None:
            array = reader(path)
            return np.asarray(getattr(array, "data", array))
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
        if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
            raise ValueError("bad magic number")
        ndim = raw[3]
        dims = np.frombuffer(raw, ">u4", ndim, 4).astype(int)
        dtype = np.dtype(_IDX_TYPES[raw[2]])
        body = np.frombuffer(raw, dtype, int(np.prod(dims)), 4 + 4 * ndim)
        return body.reshape(dims)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from None


# ---- text ----------------------------------------------------------------------------------

def _text(val_fraction, limit):
    """Characters as class indices: train on the first part, validate and test on the end."""
    from .corpus import load_text

    text = load_text("dhammapada")
    vocab = "".join(sorted(set(text)))
    codes = np.frombuffer(text.encode("ascii"), np.uint8)
    lookup = np.zeros(256, np.int64)
    lookup[np.frombuffer(vocab.encode("ascii"), np.uint8)] = np.arange(len(vocab))
    ids = lookup[codes]
    n_test = len(ids) // 10
    n_val = max(int(len(ids) * val_fraction), 0)
    train = ids[:len(ids) - n_test - n_val]
    val = ids[len(ids) - n_test - n_val:len(ids) - n_test]
    test = ids[len(ids) - n_test:]
    if limit is not None:
        train, val, test = train[:limit], val[:limit], test[:limit]
    classes = [repr(c) for c in vocab]
    return Dataset("text", "text", train, train, val, val, test, test, classes, TEXT_SOURCE,
                   vocab=vocab)
