"""The datasets `chainrule train` knows: generated points, digits, Fashion-MNIST, text.

Every loader returns a `Dataset` of NumPy arrays, already split into train, validation
and test parts by generators seeded from `seed` (never the shared autograd generator),
so the same seed always gives the same split, in a fresh run or a resumed one.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
TEXT_SOURCE = ("The Dhammapada, translated from Pali by John Richards (1993), public domain; "
               "see chainrule/data/SOURCES.md")

NAMES = ("spirals", "moons", "digits", "fashion-mnist", "text")


@dataclass
class Dataset:
    """Arrays split three ways; `kind` is 'points' (N, 2), 'images' (N, C, H, W) or 'text'
    (then x and y are the same character ids: the targets are the next characters)."""

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
    from nn import data as nn_data

    if name == "spirals":
        x, y = nn_data.make_spirals(n, n_classes=3, noise=0.2, turns=1.0, seed=seed)
    else:
        x, y = nn_data.make_moons(n, noise=0.15, seed=seed)
    classes = [f"class {i}" for i in range(int(y.max()) + 1)]
    return x.astype(np.float32), y.astype(np.int64), classes


# ---- images ----------------------------------------------------------------------------

def _digits():
    from nn import data as nn_data

    try:
        return nn_data.load_digits(images=True)
    except ImportError:
        raise DataError("the digits dataset needs scikit-learn: pip install 'chainrule[digits]'"
                        ) from None


def _fashion_mnist(data_dir):
    from nn import data as nn_data

    root = Path(data_dir) if data_dir else FASHION_MNIST_DIR
    how = ("install it with `apt-get install dataset-fashion-mnist` or pass --data-dir DIR "
           "(a folder holding train-images-idx3-ubyte.gz and the other three IDX files)")
    if not root.is_dir():
        raise DataError(f"Fashion-MNIST: no directory {root}; {how}")
    try:
        parts = [nn_data.load_fashion_mnist(root, train=train, normalize=True)
                 for train in (True, False)]
    except FileNotFoundError:
        raise DataError(f"Fashion-MNIST: {root} lacks some of the four IDX files; {how}"
                        ) from None
    except (ValueError, OSError) as exc:
        raise DataError(str(exc).replace("\n", " ")) from None
    # Each pixel standardised by its own training-set mean and std; + 0.05 so that border
    # pixels (almost always 0, std near 0) are not blown up. The MLP reaches 89.2-89.5% in
    # 5 epochs with it, 88.7-89.3% with one mean and std (0.286, 0.353) for every pixel
    # (benchmarks/README.md, "Real data").
    (x_train, y_train), (x_test, y_test) = parts
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 0.05
    scale = lambda a: ((a - mean) / std).astype(np.float32)[:, None, :, :]
    return scale(x_train), y_train, scale(x_test), y_test


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
