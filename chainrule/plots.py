"""PNG figures for training runs (matplotlib, imported lazily, drawn with the Agg backend).

Every function returns the path it wrote, or None when matplotlib is not installed.
"""
import numpy as np


def available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt
    return plt


def curves(history, path, bits=False):
    """Loss and accuracy per epoch, training and validation side by side."""
    plt = _pyplot()
    if plt is None:
        return None
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    scale = 1 / np.log(2) if bits else 1.0  # nats -> bits per character for text
    dots, squares = ("o-", "s-") if len(epochs) <= 30 else ("-", "--")  # markers only if few
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, np.array(history["train_loss"]) * scale, dots, label="train")
    ax_loss.plot(epochs, np.array(history["val_loss"]) * scale, squares, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="bits per character" if bits else "cross-entropy loss",
                title="loss")
    ax_acc.plot(epochs, history["train_acc"], dots, label="train")
    ax_acc.plot(epochs, history["val_acc"], squares, label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def decision_boundary(model, data, path, steps=200):
    """The class the model predicts over the plane, with the test points on top."""
    import autograd
    from autograd import Tensor

    plt = _pyplot()
    if plt is None:
        return None
    points = np.concatenate([data.x_train, data.x_val, data.x_test])
    (x0, y0), (x1, y1) = points.min(axis=0) - 0.3, points.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(data.x_train.dtype)
    model.eval()
    with autograd.no_grad():
        labels = model(Tensor(grid)).data.argmax(axis=1).reshape(gx.shape)
    model.train()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    levels = np.arange(data.n_classes + 1) - 0.5
    ax.contourf(gx, gy, labels, levels=levels, cmap="coolwarm", alpha=0.35)
    ax.scatter(data.x_train[:, 0], data.x_train[:, 1], c=data.y_train, cmap="coolwarm",
               vmin=0, vmax=data.n_classes - 1, s=12, edgecolors="none", alpha=0.6,
               label="train")
    ax.scatter(data.x_test[:, 0], data.x_test[:, 1], c=data.y_test, cmap="coolwarm",
               vmin=0, vmax=data.n_classes - 1, s=22, edgecolors="k", linewidths=0.6,
               label="test")
    ax.set(title=f"decision boundary ({data.name})", xlabel="x1", ylabel="x2")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def confusion_matrix(counts, classes, path):
    """The confusion matrix as a heat map with the counts written in."""
    plt = _pyplot()
    if plt is None:
        return None
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * n, 1.0 + 0.55 * n))
    ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (test set)")
    top = counts.max() if counts.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if counts[i, j] > top / 2 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
