"""The test-set report: accuracy, per-class precision/recall/F1, confusion matrix as text."""
import numpy as np


def _metrics():
    """nn.metrics when it is there; the small fallback below otherwise."""
    try:
        from nn import metrics
        needed = ("confusion_matrix", "precision", "recall", "f1_score")
        if all(hasattr(metrics, name) for name in needed):
            return metrics
    except ImportError:
        pass
    return None


def confusion(y_true, y_pred, n_classes):
    """counts[i, j] = examples of class i predicted as j."""
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def classification_report(y_true, y_pred, classes):
    """{'text': table, 'confusion': (C, C) counts, 'summary': numbers for metrics.json}."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(classes)
    lib = _metrics()
    if lib is not None:
        counts = np.asarray(lib.confusion_matrix(y_true, y_pred, num_classes=n))
        precision = np.asarray(lib.precision(y_true, y_pred, num_classes=n, average=None), float)
        recall = np.asarray(lib.recall(y_true, y_pred, num_classes=n, average=None), float)
        f1 = np.asarray(lib.f1_score(y_true, y_pred, num_classes=n, average=None), float)
    else:
        counts = confusion(y_true, y_pred, n)
        hits = np.diag(counts).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(counts.sum(0) > 0, hits / counts.sum(0), 0.0)
            recall = np.where(counts.sum(1) > 0, hits / counts.sum(1), 0.0)
            f1 = np.where(precision + recall > 0,
                          2 * precision * recall / (precision + recall), 0.0)
    support = counts.sum(axis=1)
    accuracy = float(np.trace(counts) / max(counts.sum(), 1))
    width = max(12, max(len(c) for c in classes) + 2)
    rows = [f"test accuracy {accuracy:.4f} ({int(np.trace(counts))}/{int(counts.sum())})", "",
            f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for i, name in enumerate(classes):
        rows.append(f"{name:<{width}}{precision[i]:>10.4f}{recall[i]:>10.4f}{f1[i]:>10.4f}"
                    f"{int(support[i]):>10d}")
    rows.append(f"{'macro avg':<{width}}{precision.mean():>10.4f}{recall.mean():>10.4f}"
                f"{f1.mean():>10.4f}{int(support.sum()):>10d}")
    rows += ["", "confusion matrix (rows: true class, columns: predicted class)"]
    cell = max(5, len(str(int(counts.max(initial=0)))) + 1)
    rows.append(" " * 4 + "".join(f"{j:>{cell}d}" for j in range(n)))
    for i in range(n):
        rows.append(f"{i:>3d} " + "".join(f"{int(v):>{cell}d}" for v in counts[i]))
    summary = {"per_class": {name: {"precision": float(precision[i]), "recall": float(recall[i]),
                                    "f1": float(f1[i]), "support": int(support[i])}
                             for i, name in enumerate(classes)},
               "macro_f1": float(f1.mean()), "confusion_matrix": counts.tolist()}
    return {"text": "\n".join(rows), "confusion": counts, "summary": summary,
            "accuracy": accuracy}
