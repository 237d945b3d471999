"""nn.metrics: a known-answer binary case, hand-checked multi-class counts, and agreement
with scikit-learn on random labels and scores (skipped when scikit-learn is absent)."""
import numpy as np
import pytest

from autograd import Tensor
from nn import metrics


def _binary_case():
    """TP=16, FN=1, FP=3, TN=10, shuffled."""
    y_true = np.array([1] * 16 + [1] * 1 + [0] * 3 + [0] * 10)
    y_pred = np.array([1] * 16 + [0] * 1 + [1] * 3 + [0] * 10)
    order = np.random.default_rng(0).permutation(30)
    return y_true[order], y_pred[order]


def test_known_answer_binary():
    y_true, y_pred = _binary_case()
    assert round(metrics.accuracy(y_true, y_pred), 3) == 0.867
    assert round(metrics.precision(y_true, y_pred), 3) == 0.842
    assert round(metrics.recall(y_true, y_pred), 3) == 0.941
    assert round(metrics.f1_score(y_true, y_pred), 3) == 0.889
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred), [[10, 3], [1, 16]])
    # The other class as positive swaps the roles: TP=10, FN=3, FP=1.
    assert metrics.precision(y_true, y_pred, pos_label=0) == pytest.approx(10 / 11)
    assert metrics.recall(y_true, y_pred, pos_label=0) == pytest.approx(10 / 13)


def test_accepts_tensors_lists_and_scores():
    y_true, y_pred = _binary_case()
    scores = np.eye(2, dtype=np.float32)[y_pred] * 0.6 + 0.2   # argmax gives y_pred
    for pred in (Tensor(y_pred), list(y_pred), scores, Tensor(scores),
                 y_pred.astype(np.float64), y_pred.reshape(-1, 1)):
        assert metrics.accuracy(Tensor(y_true), pred) == pytest.approx(26 / 30)
    assert isinstance(metrics.accuracy(y_true, y_pred), float)


def test_multiclass_by_hand():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0, 2]
    cm = metrics.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    # precision per class: 1/2, 2/3, 2/2; recall: 1/2, 2/2, 2/3
    np.testing.assert_allclose(metrics.precision(y_true, y_pred, average=None), [0.5, 2 / 3, 1])
    np.testing.assert_allclose(metrics.recall(y_true, y_pred, average=None), [0.5, 1, 2 / 3])
    assert metrics.precision(y_true, y_pred, average="macro") == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert metrics.recall(y_true, y_pred, average="micro") == pytest.approx(5 / 7)
    assert metrics.f1_score(y_true, y_pred, average="micro") == pytest.approx(5 / 7)
    f1 = [0.5, 0.8, 0.8]
    assert metrics.f1_score(y_true, y_pred, average="macro") == pytest.approx(np.mean(f1))
    cm5 = metrics.confusion_matrix(y_true, y_pred, num_classes=5)
    assert cm5.shape == (5, 5) and cm5.sum() == 7


def test_errors_are_specific():
    with pytest.raises(ValueError, match="average='binary' needs two classes"):
        metrics.precision([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="not whole numbers"):
        metrics.accuracy([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="num_classes=2"):
        metrics.confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="only one class"):
        metrics.roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="average must be"):
        metrics.recall([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="no samples"):
        metrics.accuracy([], [])


def test_zero_division():
    # Nothing predicted positive: precision is 0/0.
    assert metrics.precision([1, 0, 1], [0, 0, 0]) == 0.0
    assert metrics.precision([1, 0, 1], [0, 0, 0], zero_division=1.0) == 1.0


def test_roc_by_hand():
    # Scores 0.8(+), 0.4(-), 0.35(+), 0.1(-): AUC = P(pos > neg) = 3/4.
    fpr, tpr, thresholds = metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8],
                                             drop_intermediate=False)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert metrics.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    # Ties count half: one positive and one negative with the same score.
    assert metrics.roc_auc([0, 1], [0.5, 0.5]) == 0.5
    # A perfect ranking, given as (n, 2) class scores.
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    assert metrics.roc_auc(Tensor(np.array([0, 1, 0])), Tensor(scores)) == 1.0


def test_classification_report_lists_every_class():
    y_true, y_pred = _binary_case()
    text = metrics.classification_report(y_true, y_pred, target_names=["neg", "pos"])
    assert "pos" in text and "0.842" in text and "0.941" in text and "0.889" in text
    assert "accuracy" in text and "0.867" in text


# ---- agreement with scikit-learn -------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_multiclass(seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred),
                                  skm.confusion_matrix(y_true, y_pred))
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    for average in ("macro", "micro", "weighted", None):
        for ours, theirs in [(metrics.precision, skm.precision_score),
                             (metrics.recall, skm.recall_score),
                             (metrics.f1_score, skm.f1_score)]:
            np.testing.assert_allclose(ours(y_true, y_pred, average=average),
                                       theirs(y_true, y_pred, average=average), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_binary_and_roc(seed):
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 300)
    # Rounded scores make ties, which exercise the threshold grouping.
    y_score = np.round(np.clip(0.3 * y_true + rng.normal(0.35, 0.25, 300), 0, 1), 2)
    y_pred = (y_score > 0.5).astype(int)
    for pos_label in (0, 1):
        for ours, theirs in [(metrics.precision, skm.precision_score),
                             (metrics.recall, skm.recall_score),
                             (metrics.f1_score, skm.f1_score)]:
            assert ours(y_true, y_pred, pos_label=pos_label) == pytest.approx(
                theirs(y_true, y_pred, pos_label=pos_label), rel=1e-12)
    for drop in (True, False):
        ours = metrics.roc_curve(y_true, y_score, drop_intermediate=drop)
        theirs = skm.roc_curve(y_true, y_score, drop_intermediate=drop)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    assert metrics.roc_auc(y_true, y_score) == pytest.approx(skm.roc_auc_score(y_true, y_score),
                                                             rel=1e-12)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(metrics)
    assert result.attempted > 0 and result.failed == 0
