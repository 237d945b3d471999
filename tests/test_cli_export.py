"""`chainrule export WEIGHTS --model M --onnx FILE`: a run's model.npz, run in ONNX Runtime."""
import json

import numpy as np
import pytest

import autograd
import nn
from chainrule import cli, models

from test_cli import assert_one_line_error, chainrule

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _train_and_export(tmp_path, model, *train_args):
    """One epoch of `chainrule train --model MODEL`, then `chainrule export` of its weights:
    the run's folder, the checked ONNX file and the export's stdout."""
    run = tmp_path / "runs" / model
    code = cli.main(["train", "--model", model, *train_args, "--epochs", "1",
                     "--out", str(run), "--no-progress"])
    assert code == 0
    out = tmp_path / f"{model}.onnx"
    result = chainrule("export", run / "model.npz", "--model", model, "--onnx", out)
    assert result.returncode == 0, result.stderr
    onnx.checker.check_model(onnx.load(str(out)))
    return run, out, result.stdout


def test_a_trained_cnn_exports_and_runs_in_onnx_runtime(tmp_path):
    pytest.importorskip("sklearn")  # the digits ship with scikit-learn
    run, out, stdout = _train_and_export(tmp_path, "cnn", "--dataset", "digits",
                                         "--limit", "64", "--batch-size", "32")
    assert "cnn.onnx" in stdout and "batch" in stdout
    # the same weights in chainrule, on a batch of another size than the export's
    model = models.CNN(1, 8, 10)
    model.load_state_dict(nn.load(run / "model.npz"))
    model.eval()
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    (logits,) = session(out).run(None, {"image": x})
    np.testing.assert_allclose(logits, model(x).data, rtol=1e-5, atol=1e-5)


def test_mlp_and_lstm_weights_export(tmp_path):
    autograd.manual_seed(0)
    rng = np.random.default_rng(1)
    mlp = models.MLP(2, (64, 64), 3)
    nn.save(mlp.state_dict(), tmp_path / "mlp.npz")
    assert cli.main(["export", str(tmp_path / "mlp.npz"), "--model", "mlp",
                     "--onnx", str(tmp_path / "mlp.onnx")]) == 0
    x = rng.standard_normal((4, 2)).astype(np.float32)
    (got,) = session(tmp_path / "mlp.onnx").run(None, {"x": x})
    np.testing.assert_allclose(got, mlp(x).data, rtol=1e-5, atol=1e-6)

    lstm = models.CharLSTM(17, 8, 12)
    (tmp_path / "text").mkdir()
    nn.save(lstm.state_dict(), tmp_path / "text" / "model.npz")
    (tmp_path / "text" / "metrics.json").write_text(json.dumps({"config": {"dataset": "text"}}))
    assert cli.main(["export", str(tmp_path / "text" / "model.npz"), "--model", "lstm",
                     "--onnx", str(tmp_path / "lstm.onnx")]) == 0
    ids = rng.integers(0, 17, (3, 11))
    logits, h, c = session(tmp_path / "lstm.onnx").run(None, {"ids": ids})
    want, (want_h, want_c) = lstm.eval()(ids)
    for g, w in ((logits, want), (h, want_h), (c, want_c)):
        np.testing.assert_allclose(g, w.data, rtol=1e-5, atol=1e-6)


def test_a_trained_gpt_exports_with_free_batch_and_length(tmp_path):
    run, out, stdout = _train_and_export(tmp_path, "gpt", "--dataset", "text", "--limit",
                                         "1500", "--seq-len", "16", "--batch-size", "32")
    assert "batch" in stdout and "time" in stdout
    # the run's weights in the CLI's CharGPT (block_size = --seq-len), against ONNX Runtime
    state = nn.load(run / "model.npz")
    vocab = np.shape(getattr(state["token.weight"], "data", state["token.weight"]))[0]
    model = models.CharGPT(vocab, block_size=16)
    model.load_state_dict(state)
    model.eval()
    rng = np.random.default_rng(2)
    for shape in ((1, 16), (3, 5)):
        ids = rng.integers(0, vocab, shape)
        (logits,) = session(out).run(None, {"ids": ids})
        np.testing.assert_allclose(logits, model(ids)[0].data, rtol=1e-4, atol=1e-4)


def test_gpt_export_names_weights_of_another_model(tmp_path):
    nn.save(models.CharLSTM(7, 4, 5).state_dict(), tmp_path / "model.npz")
    wrong = chainrule("export", tmp_path / "model.npz", "--model", "gpt", "--onnx",
                      tmp_path / "x.onnx")
    assert "does not hold the weights of a --model gpt" in assert_one_line_error(wrong)


def test_export_errors_are_one_line(tmp_path):
    nn.save(models.MLP(2, (4,), 3).state_dict(), tmp_path / "model.npz")
    wrong = chainrule("export", tmp_path / "model.npz", "--model", "cnn", "--onnx",
                      tmp_path / "x.onnx")
    assert "does not hold the weights of a --model cnn" in assert_one_line_error(wrong)
    missing = chainrule("export", tmp_path / "nope.npz", "--model", "mlp", "--onnx",
                        tmp_path / "x.onnx")
    assert "does not exist" in assert_one_line_error(missing)
    no_model = chainrule("export", tmp_path / "model.npz", "--onnx", tmp_path / "x.onnx")
    assert "--model" in assert_one_line_error(no_model)
    assert not (tmp_path / "x.onnx").exists()
