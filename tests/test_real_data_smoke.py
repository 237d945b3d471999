"""Smoke test of benchmarks/real_data.py on tiny generated images and a slice of the text.

No Fashion-MNIST needed. The check that can fail: chainrule and PyTorch, started from the
same weights and fed the same batches, must compute the same losses and the same
predictions, which is what the real-data comparison relies on.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import real_data  # noqa: E402


def _images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    # A class-dependent bright square, so a couple of epochs learn something.
    x = rng.normal(0, 0.3, (n, 1, 28, 28)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 0, 2 * c:2 * c + 6, 2 * c:2 * c + 6] += 2.0
    return x, y.astype(np.int64)


def test_epoch_order_is_shared_and_seeded():
    a, b = real_data.epoch_order(50, 0, 1), real_data.epoch_order(50, 0, 1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, real_data.epoch_order(50, 0, 2))
    assert sorted(a.tolist()) == list(range(50))
    sizes = [len(i) for i in real_data.batches_of(a, 16)]
    assert sizes == [16, 16, 16, 2]


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_image_models_agree_with_pytorch(name):
    x, y = _images()
    xt, yt = _images(64, seed=1)
    res = real_data.run_image(name, (x, y, xt, yt), seed=0, epochs=2, batch_size=32, lr=2e-3,
                              log=lambda *a: None, freeze=False)
    c, t = res["chainrule"], res["pytorch"]
    assert c["first_loss"] == pytest.approx(t["first_loss"], rel=1e-5)
    assert c["losses"] == pytest.approx(t["losses"], rel=1e-3)
    assert c["losses"][-1] < c["losses"][0]  # it trained
    assert abs(c["test_acc"] - t["test_acc"]) <= 2 / len(yt)
    assert c["peak"] > 0


def test_text_batches_are_next_character_windows():
    ids = np.arange(300) % 7
    batches = real_data.text_batches(ids, seq_len=10, batch_size=4, seed=0, epoch=0)
    for x, y in batches:
        assert x.shape[1] == 10 and np.array_equal(x[:, 1:], y[:, :-1])


def test_lstm_agrees_with_pytorch_on_a_slice():
    res = real_data.run_lstm(steps=6, batch_size=8, seq_len=16, lr=4e-3, limit=3000,
                             report_every=3, log=lambda *a: None, freeze=False)
    c, t = res["chainrule"], res["pytorch"]
    assert sorted(c["losses"]) == [0, 3, 6]
    for step in c["losses"]:
        assert c["losses"][step] == pytest.approx(t["losses"][step], rel=1e-4)
    assert c["bpc"] == pytest.approx(t["bpc"], rel=1e-4)
    assert c["losses"][6] < c["losses"][0]
    assert c["sample"].startswith("The ") and len(c["sample"]) == 304


def test_gpt_agrees_with_pytorch_on_a_slice():
    res = real_data.run_gpt(steps=6, batch_size=8, seq_len=16, lr=2e-3, limit=3000,
                            report_every=3, log=lambda *a: None, freeze=False, rss=False)
    c, t = res["chainrule"], res["pytorch"]
    assert sorted(c["losses"]) == [0, 3, 6]
    for step in c["losses"]:
        assert c["losses"][step] == pytest.approx(t["losses"][step], rel=1e-4)
    assert c["bpc"] == pytest.approx(t["bpc"], rel=1e-4)
    assert c["losses"][6] < c["losses"][0]
    assert c["sample"].startswith("The ") and len(c["sample"]) == 304
    assert c["peak"] > 0
