"""nn.plotting: the numbers behind each picture (grid labels, counts, paths, image grids)."""
import numpy as np
import pytest

import autograd
import nn
from nn import plotting

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


POINTS = np.array([[-1.0, -2.0], [1.0, 2.0]], dtype=np.float32)


def test_grid_predictions_logits_threshold_and_extent():
    gx, gy, labels = plotting.grid_predictions(lambda g: g[:, 0] + g[:, 1], POINTS, steps=21,
                                               pad=0.5)
    assert gx.shape == gy.shape == labels.shape == (21, 21)
    assert gx.min() == pytest.approx(-1.5) and gx.max() == pytest.approx(1.5)
    assert gy.min() == pytest.approx(-2.5) and gy.max() == pytest.approx(2.5)
    np.testing.assert_array_equal(labels, (gx + gy > 0).astype(int))
    _, _, shifted = plotting.grid_predictions(lambda g: g[:, 0], POINTS, steps=21, threshold=1.0)
    assert shifted.sum() == (gx > 1.0).sum()


def test_grid_predictions_argmax_of_class_scores():
    def scores(g):  # class 2 right of x=0.5, class 1 above y=0, else class 0
        d = g.data
        return np.stack([np.zeros(len(d)), (d[:, 1] > 0) * 1.0, (d[:, 0] > 0.5) * 2.0], axis=1)

    gx, gy, labels = plotting.grid_predictions(scores, POINTS, steps=15)
    expected = np.where(gx > 0.5, 2, np.where(gy > 0, 1, 0))
    np.testing.assert_array_equal(labels, expected)


def test_grid_predictions_module_runs_in_eval_mode_and_is_restored():
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.9), nn.Linear(4, 2))
    _, _, a = plotting.grid_predictions(model, POINTS, steps=9)
    _, _, b = plotting.grid_predictions(model, POINTS, steps=9)
    np.testing.assert_array_equal(a, b)  # dropout off: deterministic
    assert model.training


def test_grid_predictions_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plotting.grid_predictions(lambda g: g[:, 0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="predict returned shape"):
        plotting.grid_predictions(lambda g: g[:5, 0], POINTS, steps=4)


def test_decision_boundary_draws_the_points_with_their_labels():
    y = np.array([0, 1])
    ax = plotting.decision_boundary(lambda g: g[:, 0], POINTS, y, steps=10, title="t")
    scatter = ax.collections[-1]
    np.testing.assert_allclose(scatter.get_offsets(), POINTS)
    np.testing.assert_array_equal(scatter.get_array(), y)
    assert ax.get_title() == "t"


def test_show_images_one_panel_per_image_with_titles():
    images = np.arange(5 * 1 * 3 * 3, dtype=np.float32).reshape(5, 1, 3, 3)
    fig = plotting.show_images(images, titles=list("abcde"), ncols=3)
    axes = fig.axes
    assert len(axes) == 6  # 2 rows x 3 columns, the last one blank
    drawn = [ax for ax in axes if ax.images]
    assert [ax.get_title() for ax in drawn] == list("abcde")
    np.testing.assert_array_equal(drawn[4].images[0].get_array(), images[4, 0])
    signed = plotting.show_images(np.array([[[-1.0, 3.0]], [[0.5, 2.0]]]), symmetric=True)
    assert [ax.images[0].get_clim() for ax in signed.axes] == [(-3.0, 3.0), (-2.0, 2.0)]
    with pytest.raises(ValueError, match="2 titles for 5 images"):
        plotting.show_images(images, titles=["a", "b"])
    with pytest.raises(ValueError, match="expected images"):
        plotting.show_images(np.zeros(4))


def test_confusion_matrix_writes_every_count():
    counts = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    ax = plotting.confusion_matrix(counts, ["a", "b", "c"])
    texts = [int(t.get_text()) for t in ax.texts]
    assert texts == counts.ravel().tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="square"):
        plotting.confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        plotting.confusion_matrix(counts, ["a", "b"])


def test_loss_paths_draws_each_path():
    path = np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]])
    ax = plotting.loss_paths(lambda x, y: x ** 2 + 3 * y ** 2, {"gd": path}, (-2, 2), (-2, 2),
                             steps=30, minimum=(0, 0))
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(np.stack(lines["gd"].get_data(), axis=1), path)
    with pytest.raises(ValueError, match="'bad' should have shape"):
        plotting.loss_paths(lambda x, y: x + y, {"bad": np.zeros(3)}, (0, 1), (0, 1), steps=5)


def test_docstring_examples():
    import doctest

    result = doctest.testmod(plotting)
    assert result.attempted > 0 and result.failed == 0
