"""The command line end to end, on tiny generated data: demo, train + resume, graph, errors."""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nn
from chainrule import checkpoint, cli, expr, train
from chainrule.errors import CheckpointError, ExpressionError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def chainrule(*args, cwd=None):
    """Run `python -m chainrule ARGS` in a fresh process, as a user would."""
    return subprocess.run([sys.executable, "-m", "chainrule", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


def assert_png(path):
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_demo_writes_graph_curves_and_decision_boundary(tmp_path):
    out = tmp_path / "demo"
    result = chainrule("demo", "--out", out)
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.split("test accuracy ")[1].split()[0])
    # Spirals are learnable; a broken step or loss would not get here. Measured (seeds 0-9,
    # 1 and 2 BLAS threads, AVX-512 and AVX2 kernels; benchmarks/notebook_margins.py demo):
    # 0.967-0.993, a third of the error 0.9 allows.
    assert accuracy > 0.9
    ET.parse(out / "graph.svg")  # a well-formed SVG
    assert_png(out / "curves.png")
    assert_png(out / "decision_boundary.png")
    for name in ("graph.svg", "graph.html", "curves.png", "decision_boundary.png"):
        assert str(out / name) in result.stdout  # the demo says where its files are
    page = (out / "graph.html").read_text()  # the explorer page (tests/test_explore.py)
    assert "layers.0.weight" in page and len(page) < 5_000_000


def _train(out, epochs, *extra, model="mlp", dataset="moons"):
    result = chainrule("train", "--model", model, "--dataset", dataset, "--epochs", epochs,
                       "--batch-size", 32, "--seed", 3, "--out", out, "--no-progress", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "metrics.json").read_text())


def test_train_writes_a_self_contained_explorer_page_beside_the_svg(tmp_path):
    out = tmp_path / "run"
    result = chainrule("train", "--model", "mlp", "--dataset", "moons", "--epochs", 1,
                       "--out", out, "--no-progress")
    assert result.returncode == 0, result.stderr
    ET.parse(out / "graph.svg")
    page = (out / "graph.html").read_text()
    assert str(out / "graph.html") in result.stdout  # train says where its files are
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # one file: every script and style inline, nothing fetched from anywhere
    assert not re.search(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=", page, re.I)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert not re.search(r"""url\(\s*["']?(?:https?:)?//|@import""", page, re.I)
    data = json.loads(re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                                page, re.S).group(1))
    params = {n["name"]: n["shape"] for n in data["nodes"] if n.get("param")}
    weights = nn.load(out / "model.npz")  # the trained model's state_dict
    assert params == {name: str(tuple(w.shape)) for name, w in weights.items()}


RUNS = {  # tiny versions of the four model families
    "mlp": dict(model="mlp", dataset="moons"),
    "cnn": dict(model="cnn", dataset="digits", extra=("--limit", "160")),
    "lstm": dict(model="lstm", dataset="text",
                 extra=("--limit", "1500", "--seq-len", "16", "--lr-schedule", "cosine")),
    "gpt": dict(model="gpt", dataset="text", extra=("--limit", "1500", "--seq-len", "16")),
}


@pytest.mark.parametrize("name", RUNS)
def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path, name):
    if name == "cnn":
        pytest.importorskip("sklearn")  # the digits ship with scikit-learn
    run = RUNS[name]
    extra, kw = run.get("extra", ()), dict(model=run["model"], dataset=run["dataset"])
    if "cosine" in extra:  # a cosine schedule's length is fixed: interrupt the 3-epoch run
        _interrupt_at_epoch_2(tmp_path / "a", ["--epochs", "3", *extra], kw)
    else:
        first = _train(tmp_path / "a", 2, *extra, **kw)
        assert first["epochs_trained"] == 2
    resumed = _train(tmp_path / "a", 3, *extra, "--resume", tmp_path / "a" / "checkpoint.npz",
                     **kw)
    straight = _train(tmp_path / "b", 3, *extra, **kw)
    assert resumed["epochs_trained"] == straight["epochs_trained"] == 3
    assert resumed["history"] == {**straight["history"], "seconds": resumed["history"]["seconds"]}
    assert resumed["test_loss"] == straight["test_loss"]
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    if name in ("lstm", "gpt"):
        assert resumed["sample"] == straight["sample"] and resumed["sample"].startswith("The ")
        assert resumed["test_bits_per_char"] == pytest.approx(resumed["test_loss"] / np.log(2))
    else:
        assert resumed["per_class"] == straight["per_class"]
        assert resumed["confusion_matrix"] == straight["confusion_matrix"]
    a = checkpoint.load(tmp_path / "a" / "checkpoint.npz")
    b = checkpoint.load(tmp_path / "b" / "checkpoint.npz")
    for key, value in b["model"].items():
        np.testing.assert_array_equal(a["model"][key], value)


def _interrupt_at_epoch_2(out, args, kw):
    """Run in this process and raise KeyboardInterrupt as epoch 3 starts (as Ctrl-C would)."""
    real_batches = train._batches

    def interrupt(data, config, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_batches(data, config, epoch)

    train._batches = interrupt
    try:
        code = cli.main(["train", "--model", kw["model"], "--dataset", kw["dataset"],
                         "--batch-size", "32", "--seed", "3", "--out", str(out),
                         "--no-progress", *args])
    finally:
        train._batches = real_batches
    assert code == 130
    assert checkpoint.load(out / "checkpoint.npz")["state"]["epoch"] == 2


@pytest.mark.parametrize("args", [
    ["train", "--model", "transformer"],
    ["train", "--epochs", "0"],
    ["train", "--lr", "-1"],
    ["train", "--val-fraction", "1.5"],
    ["train", "--model", "cnn", "--dataset", "moons"],
    ["train", "--model", "gpt", "--dataset", "moons"],
    ["frobnicate"],
    ["graph", "x +"],
    ["graph", "__import__('os').getcwd()"],
    ["graph", "x.real", "x=1"],
    ["graph", "x * y", "x=1"],
    ["graph", "x", "x=one"],
])
def test_bad_arguments_give_one_line_errors(args, tmp_path):
    line = assert_one_line_error(chainrule(*args, "--out", tmp_path / "out", cwd=tmp_path))
    assert line.startswith("error:")


def test_missing_dataset_directory_says_how_to_get_it(tmp_path):
    result = chainrule("train", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "nothing",
                       "--out", tmp_path / "out")
    line = assert_one_line_error(result)
    assert "apt-get install dataset-fashion-mnist" in line and "--data-dir" in line


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04" + b"\x00" * 64])
def test_corrupt_checkpoint_is_a_one_line_error(tmp_path, content):
    bad = tmp_path / "checkpoint.npz"
    bad.write_bytes(content)
    result = chainrule("train", "--dataset", "moons", "--resume", bad, "--out", tmp_path / "o")
    assert "checkpoint" in assert_one_line_error(result)


def test_truncated_and_mismatched_checkpoints_are_refused(tmp_path):
    _train(tmp_path / "a", 1)
    good = (tmp_path / "a" / "checkpoint.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(good[: len(good) // 2])
    result = chainrule("train", "--dataset", "moons", "--resume", tmp_path / "cut.npz")
    assert "corrupt" in assert_one_line_error(result)
    result = chainrule("train", "--dataset", "moons", "--seed", 4, "--out", tmp_path / "x",
                       "--resume", tmp_path / "a" / "checkpoint.npz")
    assert "--seed 3" in assert_one_line_error(result)


def test_graph_renders_values_and_gradients(tmp_path):
    out = tmp_path / "g.svg"
    result = chainrule("graph", "(x+y)*z", "x=-2", "y=5", "z=-4", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "= -12" in result.stdout
    assert "d/dx = -4" in result.stdout and "d/dz = 3" in result.stdout
    root = ET.parse(out).getroot()
    text = " ".join(t for t in root.itertext() if t.strip())
    assert "-12" in text
    assert text.count("-4") >= 2 and "3" in text  # d/dx = d/dy = z = -4, d/dz = x + y = 3


def test_ctrl_c_keeps_the_last_checkpoint_and_exits_130(tmp_path, monkeypatch, capsys):
    real_batches = train._batches

    def interrupt_in_second_epoch(data, config, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return real_batches(data, config, epoch)

    monkeypatch.setattr(train, "_batches", interrupt_in_second_epoch)
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "moons", "--epochs", "3", "--out", str(out),
                     "--no-progress"])
    assert code == 130
    assert str(out / "checkpoint.npz") in capsys.readouterr().err
    assert checkpoint.load(out / "checkpoint.npz")["state"]["epoch"] == 1


def test_expression_parser_refuses_everything_off_the_whitelist():
    for source in ["open('f')", "x if x else y", "[x]", "x < y", "lambda: 1", "x @ y",
                   "exp(x, y)", "(1).real", "'s'", "True + x"]:
        with pytest.raises(ExpressionError):
            expr.parse(source)
    tree = expr.parse("-exp(x) * 2 ** y / relu(x - 1)")
    assert expr.variables(tree) == ["x", "y"]


def test_checkpoint_round_trips_optimizer_and_generator_state_without_pickle(tmp_path):
    tree = {"state": {0: {"step": 3, "m": np.arange(4.0)}}, "groups": [{"betas": (0.9, 0.99)}],
            "rng": np.random.default_rng(1).bit_generator.state, "nan": float("nan")}
    checkpoint.save(tree, tmp_path / "c.npz")
    back = checkpoint.load(tmp_path / "c.npz")
    assert list(back["state"]) == [0]  # int keys stay ints
    np.testing.assert_array_equal(back["state"][0]["m"], np.arange(4.0))
    assert back["groups"] == tree["groups"] and back["rng"] == tree["rng"]
    with np.load(tmp_path / "c.npz", allow_pickle=False) as npz:  # readable without pickle
        assert all(npz[name].dtype != object for name in npz.files)
    np.savez(tmp_path / "weights.npz", w=np.ones(3))  # an .npz, but not a checkpoint
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        checkpoint.load(tmp_path / "weights.npz")


def test_graph_without_graphviz_writes_dot_and_says_so(tmp_path):
    env = {**os.environ, "CHAINRULE_DOT": "no-such-graphviz-program"}
    result = subprocess.run([sys.executable, "-m", "chainrule", "graph", "x*y", "x=3", "y=2",
                             "--out", str(tmp_path / "g.svg")],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "g.svg").exists()
    source = (tmp_path / "g.dot").read_text()
    assert source.startswith("digraph") and "mul" in source
    assert "DOT text, not SVG" in result.stdout and "g.dot" in result.stdout


def test_early_stopping_keeps_the_best_weights(tmp_path, monkeypatch):
    real_evaluate = train.evaluate
    val_losses = iter([0.5, 0.4, 0.45, 0.47, 0.1, 0.1])  # best at epoch 2, then 2 worse epochs

    def scripted(model, data, part, seq_len=64):
        result = real_evaluate(model, data, part, seq_len)
        return (next(val_losses),) + result[1:] if part == "val" else result

    monkeypatch.setattr(train, "evaluate", scripted)
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "moons", "--epochs", "6", "--patience", "2",
                     "--out", str(out), "--no-progress"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["stopped_early"] and metrics["epochs_trained"] == 4
    assert metrics["best_epoch"] == 2 and metrics["history"]["val_loss"] == [0.5, 0.4, 0.45, 0.47]
    saved = checkpoint.load(out / "checkpoint.npz")
    weights = nn.load(out / "model.npz")
    for key, value in saved["state"]["best"]["weights"].items():
        np.testing.assert_array_equal(weights[key], value)  # model.npz = epoch 2's weights
    assert any(not np.array_equal(weights[k], v) for k, v in saved["model"].items())
