"""Classification metrics: accuracy, confusion matrix, precision/recall/F1, ROC curve and AUC.

Every function takes NumPy arrays, Tensors or lists. Predictions may be labels, or scores of
shape (n, classes), which are turned into labels by argmax. Results are Python floats (or
NumPy arrays for per-class values and curves). Confusion matrices put true classes on rows
and predicted classes on columns, as scikit-learn does.
"""
import numpy as np

from autograd import Tensor

_AVERAGES = ("binary", "micro", "macro", "weighted", None)


def _array(x, fn, what):
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: {what} should be numbers, got dtype {data.dtype}")
    return data


def _labels(x, fn, what):
    """1-d int64 labels from labels, (n, 1) columns, or (n, classes) scores (argmax)."""
    data = _array(x, fn, what)
    if data.ndim == 2 and data.shape[1] > 1:
        return np.argmax(data, axis=1).astype(np.int64)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim != 1:
        raise ValueError(f"{fn}: {what} should be labels of shape (n,) or scores of shape "
                         f"(n, classes), got shape {data.shape}")
    if data.dtype.kind == "b":
        return data.astype(np.int64)
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
            raise ValueError(f"{fn}: {what} are 1-d floats that are not whole numbers; "
                             "threshold scores into labels first, e.g. (p > 0.5), or pass "
                             "(n, classes) scores")
    return data.astype(np.int64)


def _pair(y_true, y_pred, fn):
    t = _labels(y_true, fn, "y_true")
    p = _labels(y_pred, fn, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"{fn}: y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}")
    if t.size == 0:
        raise ValueError(f"{fn}: got no samples")
    return t, p


def accuracy(y_true, y_pred):
    """The fraction of predictions equal to the true labels.

    >>> accuracy([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    0.75
    """
    t, p = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes=None):
    """(num_classes, num_classes) int64 counts: entry [i, j] counts true class i predicted j.

    >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    low = min(t.min(), p.min())
    if low < 0:
        raise ValueError(f"confusion_matrix: labels must be >= 0, got {low}")
    high = int(max(t.max(), p.max()))
    if num_classes is None:
        num_classes = high + 1
    elif high >= num_classes:
        raise ValueError(f"confusion_matrix: label {high} does not fit num_classes="
                         f"{num_classes} (labels must be < num_classes)")
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def _counts(y_true, y_pred, fn, average, pos_label, num_classes):
    """(true positives, predicted positives, actual positives) per considered class."""
    if average not in _AVERAGES:
        raise ValueError(f"{fn}: average must be one of {_AVERAGES}, got {average!r}")
    t, p = _pair(y_true, y_pred, fn)
    if min(t.min(), p.min()) < 0:
        raise ValueError(f"{fn}: labels must be >= 0")
    present = np.union1d(t, p)
    if average == "binary":
        if present.size > 2:
            raise ValueError(f"{fn}: average='binary' needs two classes, but the labels are "
                             f"{present.tolist()}; choose average='macro', 'micro', "
                             "'weighted' or None")
        if pos_label not in present and present.size == 2:
            raise ValueError(f"{fn}: pos_label={pos_label} is not one of the labels "
                             f"{present.tolist()}")
        classes = np.array([pos_label])
    elif num_classes is not None:
        classes = np.arange(num_classes)
    else:
        classes = present
    size = int(max(present.max(), classes.max())) + 1
    cm = confusion_matrix(t, p, num_classes=size)
    tp = np.diag(cm)[classes].astype(np.float64)
    predicted = cm.sum(axis=0)[classes].astype(np.float64)
    actual = cm.sum(axis=1)[classes].astype(np.float64)
    return tp, predicted, actual


def _ratio(num, den, zero_division):
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def _average(per_class, weights, average, num, den, zero_division):
    if average is None:
        return per_class
    if average == "micro":
        return float(_ratio(np.array([num.sum()]), np.array([den.sum()]), zero_division)[0])
    if average == "weighted":
        return float(np.average(per_class, weights=weights)) if weights.sum() > 0 else 0.0
    return float(per_class.mean())  # binary (one class) and macro


def precision(y_true, y_pred, average="binary", pos_label=1, num_classes=None,
              zero_division=0.0):
    """TP / (TP + FP): of the samples predicted positive, the fraction that are.

    average: 'binary' (the class pos_label), 'macro' (unweighted mean over classes),
    'micro' (from counts pooled over classes), 'weighted' (mean weighted by support) or None
    (an array, one per class). Classes are range(num_classes) if given, else the labels seen.

    >>> precision([1, 1, 0, 0], [1, 0, 1, 1])
    0.3333333333333333
    """
    tp, predicted, actual = _counts(y_true, y_pred, "precision", average, pos_label,
                                    num_classes)
    per_class = _ratio(tp, predicted, zero_division)
    return _average(per_class, actual, average, tp, predicted, zero_division)


def recall(y_true, y_pred, average="binary", pos_label=1, num_classes=None, zero_division=0.0):
    """TP / (TP + FN): of the positive samples, the fraction predicted positive (see
    precision for `average`).

    >>> recall([1, 1, 0, 0], [1, 0, 1, 1])
    0.5
    """
    tp, predicted, actual = _counts(y_true, y_pred, "recall", average, pos_label, num_classes)
    per_class = _ratio(tp, actual, zero_division)
    return _average(per_class, actual, average, tp, actual, zero_division)


def f1_score(y_true, y_pred, average="binary", pos_label=1, num_classes=None,
             zero_division=0.0):
    """The harmonic mean of precision and recall, 2 TP / (2 TP + FP + FN); 'macro' averages
    the per-class F1 (see precision for `average`).

    >>> f1_score([1, 1, 0, 0], [1, 0, 1, 1])
    0.4
    """
    tp, predicted, actual = _counts(y_true, y_pred, "f1_score", average, pos_label,
                                    num_classes)
    per_class = _ratio(2 * tp, predicted + actual, zero_division)
    return _average(per_class, actual, average, 2 * tp, predicted + actual, zero_division)


def classification_report(y_true, y_pred, target_names=None, num_classes=None, digits=3):
    """A text table of precision, recall, F1 and support per class, then accuracy and the
    macro and weighted averages."""
    t, p = _pair(y_true, y_pred, "classification_report")
    classes = (np.arange(num_classes) if num_classes is not None else np.union1d(t, p))
    names = ([str(c) for c in classes] if target_names is None
             else [target_names[int(c)] for c in classes])
    args = dict(num_classes=int(classes.max()) + 1 if num_classes is None else num_classes)
    per = [metric(t, p, average=None, **args)[classes]
           for metric in (precision, recall, f1_score)]
    support = np.bincount(t, minlength=args["num_classes"])[classes]
    width = max(12, max(len(n) for n in names))
    head = f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    lines = [head, ""]
    for i, name in enumerate(names):
        lines.append(f"{name:>{width}} " + " ".join(f"{m[i]:>9.{digits}f}" for m in per)
                     + f" {support[i]:>9d}")
    lines.append("")
    n = int(support.sum())
    lines.append(f"{'accuracy':>{width}} {'':>9} {'':>9} {accuracy(t, p):>9.{digits}f} {n:>9d}")
    weights = support / max(n, 1)
    lines.append(f"{'macro avg':>{width}} " + " ".join(f"{m.mean():>9.{digits}f}" for m in per)
                 + f" {n:>9d}")
    lines.append(f"{'weighted avg':>{width}} "
                 + " ".join(f"{(m * weights).sum():>9.{digits}f}" for m in per) + f" {n:>9d}")
    return "\n".join(lines)


# ---- ranking metrics -------------------------------------------------------------------------

def _scores(y_true, y_score, fn, pos_label):
    t = _array(y_true, fn, "y_true")
    s = _array(y_score, fn, "y_score")
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1]  # (n, 2) class scores: the positive class is column 1
    s = s.reshape(-1) if s.ndim == 2 and s.shape[1] == 1 else s
    t = t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t
    if s.ndim != 1 or t.ndim != 1 or s.shape != t.shape:
        raise ValueError(f"{fn}: expected y_true (n,) and y_score (n,) (or (n, 2) class "
                         f"scores), got shapes {t.shape} and {s.shape}")
    positive = t == pos_label
    if positive.all() or not positive.any():
        raise ValueError(f"{fn}: y_true holds only one class (pos_label={pos_label}: "
                         f"{int(positive.sum())} of {t.size}); a ROC curve needs positives and "
                         "negatives")
    return positive, s.astype(np.float64)


def roc_curve(y_true, y_score, pos_label=1, drop_intermediate=True):
    """(fpr, tpr, thresholds) of the binary classifier 'score >= threshold', for every
    distinct score from high to low; the first threshold is inf (nothing predicted positive).

    drop_intermediate removes points on straight segments of the curve (the area is the same).

    >>> fpr, tpr, thr = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    positive, s = _scores(y_true, y_score, "roc_curve", pos_label)
    order = np.argsort(s, kind="stable")[::-1]
    s, positive = s[order], positive[order]
    # Cut only where the score changes: tied scores are one threshold.
    cuts = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(positive)[cuts].astype(np.float64)
    fps = (cuts + 1) - tps
    thresholds = s[cuts]
    if drop_intermediate and tps.size > 2:
        # A point is kept where the curve bends: second differences nonzero.
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, thresholds = tps[keep], fps[keep], thresholds[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def roc_auc(y_true, y_score, pos_label=1):
    """The area under the ROC curve: the probability that a random positive scores above a
    random negative (ties count half).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label)
    return float(np.trapezoid(tpr, fpr))


roc_auc_score = roc_auc  # scikit-learn's name
