"""Pictures of models and data for notebooks: decision boundaries, image grids, confusion
matrices, optimizer paths over a loss surface. matplotlib is imported when a function runs,
never at import time, so `nn` works without it.
"""
import numpy as np

import autograd
from autograd import Tensor


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("nn.plotting needs matplotlib: pip install matplotlib") from None
    return plt


def _numpy(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize)
    return ax


def grid_predictions(predict, x, steps=150, pad=0.5, threshold=0.0):
    """The class `predict` gives at each point of a steps x steps grid covering the 2-D points
    `x` (plus `pad` on every side): (gx, gy, labels), each of shape (steps, steps).

    `predict` gets the grid as a float32 Tensor of shape (steps * steps, 2), under no_grad, and
    returns scores: (n, classes) are turned into labels by argmax; (n,) or (n, 1) are one
    logit per point, labelled 1 where the score is above `threshold`. A Module in training
    mode is switched to eval mode for the call and back afterwards.

    >>> gx, gy, labels = grid_predictions(lambda g: g[:, 0], np.array([[-1., 0.], [1., 1.]]), steps=4, pad=0)
    >>> labels.tolist()[0]
    [0, 0, 1, 1]
    """
    x = _numpy(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"grid_predictions: expected 2-D points of shape (n, 2), got {x.shape}")
    (x0, y0), (x1, y1) = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    grid = Tensor(np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32))
    was_training = getattr(predict, "training", None)
    if was_training:
        predict.eval()
    try:
        with autograd.no_grad():
            scores = _numpy(predict(grid))
    finally:
        if was_training:
            predict.train()
    if scores.ndim == 2 and scores.shape[1] > 1:
        labels = scores.argmax(axis=1)
    elif scores.size == grid.shape[0]:
        labels = (scores.reshape(-1) > threshold).astype(np.int64)
    else:
        raise ValueError(f"grid_predictions: predict returned shape {scores.shape} for "
                         f"{grid.shape[0]} points; expected (n, classes), (n, 1) or (n,)")
    return gx, gy, labels.reshape(gx.shape)


def decision_boundary(predict, x, y, ax=None, steps=150, pad=0.5, threshold=0.0, title=None):
    """Shade the plane by the class `predict` gives (see grid_predictions) and draw the points
    `x` (n, 2) coloured by their labels `y`. Returns the matplotlib Axes."""
    x, y = _numpy(x), _numpy(y).reshape(-1)
    gx, gy, labels = grid_predictions(predict, x, steps, pad, threshold)
    ax = _axes(ax, (4.5, 4))
    n_classes = int(max(labels.max(), y.max())) + 1
    levels = np.arange(n_classes + 1) - 0.5
    ax.contourf(gx, gy, labels, levels=levels, cmap="coolwarm", alpha=0.3)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", vmin=0, vmax=max(n_classes - 1, 1), s=14,
               edgecolors="k", linewidths=0.4)
    ax.set(xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return ax


def show_images(images, titles=None, ncols=8, cmap="gray", size=1.3, suptitle=None,
                symmetric=False):
    """A grid of images (n, H, W), (n, 1, H, W) or (n, 3, H, W), each with an optional title.

    Each image is scaled to its own range (so weights and feature maps show their pattern);
    with `symmetric` the range is -max|x|..max|x|, so 0 is the middle colour of a diverging
    map such as "bwr". Returns the matplotlib Figure.
    """
    plt = _pyplot()
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    elif images.ndim == 4 and images.shape[1] == 3:
        images = images.transpose(0, 2, 3, 1)
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"show_images: expected images of shape (n, H, W), (n, 1, H, W) or "
                         f"(n, 3, H, W) with n >= 1, got {images.shape}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"show_images: got {len(titles)} titles for {len(images)} images")
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3),
                             squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            top = float(np.abs(images[k]).max()) or 1.0
            limits = dict(vmin=-top, vmax=top) if symmetric else {}
            ax.imshow(images[k], cmap=cmap, **limits)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout()
    return fig


def confusion_matrix(counts, class_names=None, ax=None, title="confusion matrix"):
    """A confusion matrix (true classes on rows, predictions on columns, as
    nn.metrics.confusion_matrix gives it) as a heat map with the counts written in.
    Returns the matplotlib Axes."""
    counts = _numpy(counts)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"confusion_matrix: expected a square matrix of counts, got shape "
                         f"{counts.shape}")
    n = counts.shape[0]
    names = [str(k) for k in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"confusion_matrix: {len(names)} class names for {n} classes")
    ax = _axes(ax, (1.5 + 0.5 * n, 1.2 + 0.45 * n))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    top = counts.max() if counts.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > top / 2 else "black")
    return ax


def loss_paths(f, paths, xlim, ylim, ax=None, steps=200, levels=30, log_levels=True,
               minimum=None):
    """Contours of a 2-D function with optimizer paths drawn over them.

    `f(X, Y)` takes NumPy grids and returns the function's values on them; `paths` maps a
    label to an array of shape (steps, 2) of visited points; `minimum` (x, y) is marked with a
    star. Levels are spaced logarithmically (f shifted to be positive) when `log_levels`.
    Returns the matplotlib Axes.
    """
    gx, gy = np.meshgrid(np.linspace(*xlim, steps), np.linspace(*ylim, steps))
    z = np.asarray(f(gx, gy), dtype=np.float64)
    ax = _axes(ax, (5.5, 4.5))
    if log_levels:
        z = z - z.min() + 1e-3
        levels = np.geomspace(z.min(), z.max(), levels)
    ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.6)
    for label, path in paths.items():
        path = _numpy(path)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"loss_paths: the path {label!r} should have shape (steps, 2), "
                             f"got {path.shape}")
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1, label=label)
    if minimum is not None:
        ax.plot(*minimum, "k*", ms=12)
    ax.set(xlim=xlim, ylim=ylim)
    ax.legend(fontsize=8)
    return ax
