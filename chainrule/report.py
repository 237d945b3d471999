"""The test-set report: accuracy, per-class precision/recall/F1, confusion matrix as text."""
import numpy as np

from nn import metrics


def classification_report(y_true, y_pred, classes):
    """{'text': table, 'confusion': (C, C) counts, 'summary': numbers for metrics.json}."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(classes)
    counts = np.asarray(metrics.confusion_matrix(y_true, y_pred, num_classes=n))
    precision = np.asarray(metrics.precision(y_true, y_pred, average=None, num_classes=n), float)
    recall = np.asarray(metrics.recall(y_true, y_pred, average=None, num_classes=n), float)
    f1 = np.asarray(metrics.f1_score(y_true, y_pred, average=None, num_classes=n), float)
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
