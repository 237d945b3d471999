"""Data: datasets, batching (DataLoader), splits, generated toy sets, IDX (MNIST) files."""
import gzip
import math
import numbers
from pathlib import Path

import numpy as np

import autograd
from autograd import Tensor, as_tensor

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


# ---- datasets ----------------------------------------------------------------------------

class Dataset:
    """Anything with `__len__` and `__getitem__(i)`. A dataset that also has
    `__getitems__(indices)` (one call for a whole batch) lets DataLoader skip per-item work."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} does not implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement __len__")


class TensorDataset(Dataset):
    """Rows of several arrays at once: item i is (t[i] for t in tensors).

    >>> ds = TensorDataset(np.zeros((5, 2), dtype="float32"), np.arange(5))
    >>> len(ds), ds[3][1].item()
    (5, 3)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor or array, e.g. "
                             "TensorDataset(x, y)")
        arrays = []
        for i, t in enumerate(tensors):
            array = t.data if isinstance(t, Tensor) else np.asarray(t)
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a "
                                 "first axis that indexes the samples")
            arrays.append(array)
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all tensors need the same first dimension (the "
                             f"number of samples), got shapes {[a.shape for a in arrays]}")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(a)
                             for t, a in zip(tensors, arrays))

    def __len__(self):
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        return tuple(as_tensor(t.data[index]) for t in self.tensors)

    def __getitems__(self, indices):
        indices = np.asarray(indices)
        return tuple(as_tensor(t.data[indices]) for t in self.tensors)


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for a dataset of {n} items, "
                             f"got a range {self.indices.min()}..{self.indices.max()}")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[index]]
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        inner = self.indices[np.asarray(indices)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return default_collate([self.dataset[int(i)] for i in inner])


def random_split(dataset, lengths, seed=None, generator=None):
    """Split into non-overlapping random Subsets of the given lengths (ints summing to
    len(dataset), or fractions summing to 1; leftover items go round-robin to the parts).

    >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(x, numbers.Integral) for x in lengths):
        counts = [int(x) for x in lengths]
    elif math.isclose(sum(lengths), 1.0, abs_tol=1e-9) and all(0 <= x <= 1 for x in lengths):
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        raise ValueError(f"random_split: lengths must be ints summing to {n} or fractions "
                         f"summing to 1, got {lengths}")
    if any(c < 0 for c in counts) or sum(counts) != n:
        raise ValueError(f"random_split: the lengths {counts} do not add up to the dataset's "
                         f"{n} items")
    order = _generator(seed, generator, "random_split").permutation(n)
    parts, start = [], 0
    for count in counts:
        parts.append(Subset(dataset, order[start:start + count]))
        start += count
    return parts


def _generator(seed, generator, fn):
    if seed is not None and generator is not None:
        raise ValueError(f"{fn}: pass seed or generator, not both")
    if generator is not None:
        if not isinstance(generator, np.random.Generator):
            raise TypeError(f"{fn}: generator should be a numpy.random.Generator, got "
                            f"{type(generator).__name__}")
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return autograd.default_rng()


# ---- batching --------------------------------------------------------------------------------

def default_collate(items):
    """Stack a list of items into a batch: tuples/lists field by field, dicts key by key,
    Tensors, arrays and numbers along a new first axis (as Tensors)."""
    first = items[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([item[k] for item in items]) for k in range(len(first)))
    if isinstance(first, dict):
        return {key: default_collate([item[key] for item in items]) for key in first}
    if isinstance(first, Tensor):
        return as_tensor(np.stack([item.data for item in items]))
    if isinstance(first, (np.ndarray, np.generic, numbers.Number)):
        return as_tensor(np.stack([np.asarray(item) for item in items]))
    raise TypeError(f"default_collate: cannot batch items of type {type(first).__name__}; "
                    "pass collate_fn=... to DataLoader")


class DataLoader:
    """Batches of a dataset, along axis 0, optionally shuffled each epoch.

    Shuffling draws from `generator` (a numpy Generator), or from a Generator seeded once with
    `seed` (so a run's sequence of epochs repeats exactly), or else from autograd's shared
    generator (see autograd.manual_seed). A TensorDataset (or a Subset of one) is batched with
    one fancy-index per tensor, never item by item.

    >>> x = np.arange(10, dtype="float32").reshape(5, 2)
    >>> loader = DataLoader(TensorDataset(x, np.arange(5)), batch_size=2)
    >>> len(loader), [yb.tolist() for _, yb in loader]
    (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, seed=None,
                 generator=None, collate_fn=None):
        if not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset needs __len__ and __getitem__, got a "
                            f"{type(dataset).__name__}")
        if len(dataset) == 0:
            raise ValueError(f"DataLoader: the dataset ({type(dataset).__name__}) is empty; "
                             "check how it was built (a filter or split that kept nothing?)")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if self.drop_last and len(dataset) < self.batch_size:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={self.batch_size} and "
                             f"{len(dataset)} samples leaves no batch at all; lower batch_size "
                             "or set drop_last=False")
        self.collate_fn = collate_fn
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: pass seed or generator, not both")
        self.generator = generator if seed is None else np.random.default_rng(seed)
        if self.generator is not None and not isinstance(self.generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator should be a numpy.random.Generator, got "
                            f"{type(self.generator).__name__}")

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            rng = self.generator if self.generator is not None else autograd.default_rng()
            order = rng.permutation(n)
        else:
            order = np.arange(n)
        batched = self.collate_fn is None and hasattr(self.dataset, "__getitems__")
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            index = order[start:start + self.batch_size]
            if batched:
                yield self.dataset.__getitems__(index)
            else:
                collate = self.collate_fn or default_collate
                yield collate([self.dataset[int(i)] for i in index])


# ---- generated datasets ------------------------------------------------------------------------

def _shuffled(x, y, rng):
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order].astype(np.int64)


def make_moons(n_samples=200, noise=0.1, seed=None):
    """Two interleaved half circles in 2-D: X float32 (n, 2), y int64 in {0, 1}.

    >>> x, y = make_moons(100, seed=0)
    >>> x.shape, x.dtype, y.dtype, int(y.sum())
    ((100, 2), dtype('float32'), dtype('int64'), 50)
    """
    rng = _generator(seed, None, "make_moons")
    n_top = n_samples // 2
    n_bottom = n_samples - n_top
    t_top = np.linspace(0.0, np.pi, n_top)
    t_bottom = np.linspace(0.0, np.pi, n_bottom)
    x = np.concatenate([np.stack([np.cos(t_top), np.sin(t_top)], axis=1),
                        np.stack([1.0 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)])
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    x = x + noise * rng.standard_normal(x.shape)
    return _shuffled(x, y, rng)


def make_spirals(n_samples=300, n_classes=3, noise=0.2, turns=1.0, seed=None):
    """`n_classes` spiral arms around the origin: X float32 (n, 2), y int64 in [0, n_classes).

    Each arm sweeps `turns` revolutions outward from radius 0 to 1; `noise` jitters the angle
    (in radians), so higher noise blurs the arms into each other.
    """
    rng = _generator(seed, None, "make_spirals")
    counts = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
    xs, ys = [], []
    for k, count in enumerate(counts):
        radius = np.linspace(0.0, 1.0, count)
        angle = (2 * np.pi * k / n_classes + 2 * np.pi * turns * radius
                 + noise * rng.standard_normal(count))
        xs.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        ys.append(np.full(count, k))
    return _shuffled(np.concatenate(xs), np.concatenate(ys), rng)


def make_xor(n_samples=200, noise=0.1, seed=None):
    """Four clusters at (+-1, +-1); the label is 1 where the signs differ (XOR of the signs).

    X float32 (n, 2), y int64. No line separates the classes, one hidden layer does.
    """
    rng = _generator(seed, None, "make_xor")
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    which = np.arange(n_samples) % 4
    x = corners[which] + noise * rng.standard_normal((n_samples, 2))
    return _shuffled(x, labels[which], rng)


def make_sine(n_samples=200, noise=0.1, low=-np.pi, high=np.pi, seed=None):
    """A noisy sine for regression: x ~ U(low, high), y = sin(x) + noise * N(0, 1).

    Both are float32 of shape (n, 1) (y is a real target, not a class).
    """
    rng = _generator(seed, None, "make_sine")
    x = rng.uniform(low, high, size=(n_samples, 1))
    y = np.sin(x) + noise * rng.standard_normal((n_samples, 1))
    return x.astype(np.float32), y.astype(np.float32)


def load_digits(images=False):
    """scikit-learn's 8x8 handwritten digits (1797 samples): X float32 scaled to [0, 1],
    shape (n, 64), or (n, 1, 8, 8) with images=True; y int64 in [0, 10)."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ImportError("nn.data.load_digits needs scikit-learn, which ships the digits: "
                          "pip install scikit-learn (or use load_fashion_mnist, make_moons, "
                          "make_spirals)") from None
    bunch = sk_load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    return x, bunch.target.astype(np.int64)


# ---- IDX files (MNIST, Fashion-MNIST) --------------------------------------------------------

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path):
    """The array stored in an IDX file (gzip-compressed or raw), in native byte order.

    IDX: two zero bytes, a type code, the number of axes, each axis length as a big-endian
    uint32, then the values (big-endian) in C order.
    """
    path = Path(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number, whatever the file is called
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (header bytes {raw[:4]!r}; "
                         "expected 00 00 <type> <ndim>)")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(n) for n in np.frombuffer(raw[4:header], dtype=">u4"))
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"read_idx: {path} declares shape {shape} of {dtype} "
                         f"({count * dtype.itemsize} bytes) but holds {len(raw) - header} "
                         "bytes of data; the file is truncated or damaged")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _find(root, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def load_idx_dataset(root, train=True, name="IDX dataset", hint=""):
    """(images uint8 (n, rows, cols), labels int64 (n,)) from the four MNIST-style files in
    `root` (train-/t10k- images-idx3-ubyte and labels-idx1-ubyte, raw or .gz)."""
    root = Path(root)
    prefix = "train" if train else "t10k"
    stems = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    paths = [_find(root, stem) for stem in stems]
    missing = [stem for stem, p in zip(stems, paths) if p is None]
    if missing:
        where = f"directory {root}" if root.is_dir() else f"{root} (no such directory)"
        raise FileNotFoundError(
            f"{name}: no {' or '.join(m + '[.gz]' for m in missing)} in {where}. {hint}"
            "Otherwise download the four files train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
            "t10k-labels-idx1-ubyte.gz into a directory and pass it as root=...")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{name}: {paths[0].name} has shape {images.shape} and "
                         f"{paths[1].name} has shape {labels.shape}; expected (n, rows, cols) "
                         "images and n labels")
    return images, labels.astype(np.int64)


def load_fashion_mnist(root=None, train=True, normalize=False):
    """Fashion-MNIST (Zalando): 60000 training or 10000 test 28x28 images of 10 kinds of
    clothing (names in FASHION_MNIST_CLASSES).

    Returns (images, labels): images uint8 (n, 28, 28), or float32 in [0, 1] with
    normalize=True; labels int64. `root` defaults to /usr/share/datasets/fashion-mnist.
    """
    images, labels = load_idx_dataset(
        FASHION_MNIST_DIR if root is None else root, train, "Fashion-MNIST",
        "Install the files with `apt-get install dataset-fashion-mnist` (they go to "
        f"{FASHION_MNIST_DIR}). ")
    return (images.astype(np.float32) / 255.0 if normalize else images), labels


def load_mnist(root, train=True, normalize=False):
    """MNIST digits from the four IDX files in `root`; same layout as load_fashion_mnist."""
    images, labels = load_idx_dataset(root, train, "MNIST")
    return (images.astype(np.float32) / 255.0 if normalize else images), labels
