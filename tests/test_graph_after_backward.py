"""The graph outlives backward(): pictures see every op, edge, name and module after it, while
the arrays that only the rules needed are freed."""
import gc
import weakref

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor, viz
from autograd.kept_grads import kept_grad
from autograd.summary import SMALL, TensorSummary
from autograd.viz.graph import value_grad
from autograd.viz import render

needs_renderer = pytest.mark.skipif(render.find_renderer() is None,
                                    reason="no Graphviz program (dot / graphviz-pure)")


def textbook():
    x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    return x, y, z, (x + y) * z


def mlp_loss(seed=0):
    ag.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = Tensor(np.random.default_rng(seed).normal(size=(5, 4)).astype(np.float32))
    loss = F.cross_entropy(model(x), Tensor(np.array([0, 1, 2, 1, 0])))
    return model, loss


def test_released_graph_draws_exactly_as_a_retained_one():
    sources = []
    for retain in (True, False):
        *_, f = textbook()
        f.backward(retain_graph=retain)
        assert f.grad_fn.released is not retain
        sources.append(viz.draw_graph(f).source)
    assert sources[0] == sources[1]
    assert "released" not in sources[1] and "retain_graph" not in sources[1]


def test_mlp_keeps_its_module_clusters_and_parameter_names_after_backward():
    sources = []
    for retain in (True, False):
        model, loss = mlp_loss()
        loss.backward(retain_graph=retain)
        sources.append(viz.draw_graph(loss, model=model).source)
    assert sources[0] == sources[1]
    for name in ("0.weight", "0.bias", "2.weight", "2.bias", "0 (Linear)", "2 (Linear)",
                 "1 (ReLU)"):
        assert name in sources[1], name


def test_second_backward_through_the_released_graph_still_raises():
    *_, f = textbook()
    f.backward()
    with pytest.raises(RuntimeError, match=r"op 'mul' was already freed.*retain_graph=True"):
        f.backward()


def test_summaries_keep_numbers_of_small_tensors_only():
    x = Tensor(np.ones((3, 4)), requires_grad=True, name="x")
    s = Tensor(np.ones(2), requires_grad=True, name="s")
    big = (x * 2).exp()
    small = (s * 3).exp()
    loss = big.sum() + small.sum()
    loss.backward()
    summaries = {p.shape: p for node in (loss.grad_fn,) for p in node.parents}
    # the sum nodes' inputs: exp outputs; the large one kept as a summary (its array freed),
    # the small one as itself (as light as a summary), its gradient on its op
    big_sum, small_sum = (p.grad_fn for p in loss.grad_fn.parents)
    (big_kept,), (small_kept,) = big_sum.parents, small_sum.parents
    assert isinstance(big_kept, TensorSummary) and isinstance(small_kept, Tensor)
    assert big_kept.shape == (3, 4) and big_kept.data is None and big_kept.grad is None
    np.testing.assert_array_equal(small_kept.data, np.exp(3.0) * np.ones(2))
    np.testing.assert_array_equal(kept_grad(small_kept.grad_fn), np.ones(2))
    assert big_kept.grad_fn.name == "exp" and big_kept.dtype == np.float64
    assert summaries  # the root's inputs are summaries too
    # leaves that learn are kept themselves, with their .grad
    (mul,) = [big_kept.grad_fn.parents[0].grad_fn]
    assert mul.parents[0] is x


def test_backward_frees_the_saved_arrays_and_op_buffers():
    # The large intermediate's array dies with backward, although the graph is still drawn.
    x = Tensor(np.ones((64, 64)), requires_grad=True)
    h = (x * 2).tanh()
    probe = weakref.ref(h.data)
    loss = h.sum()
    del h
    loss.backward()
    gc.collect()
    assert probe() is None
    # Every released op keeps only its skeleton: no saved input, mask or buffer.
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2 * 3 * 3, 2))
    out = F.cross_entropy(model(Tensor(np.ones((2, 1, 8, 8), np.float32))),
                          Tensor(np.array([0, 1])))
    out.backward()
    stack, seen, small_ops = [out.grad_fn], set(), []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        assert node.released
        if kept_grad(node) is not None and all(p.data is not None and p.data.size <= SMALL
                                               for p in node.parents):
            # an op of small tensors only keeps its state as it was: nothing in it is large
            small_ops.append(node.name)
            for value in vars(node).values():
                assert not isinstance(value, np.ndarray) or value.size <= SMALL, node.name
        else:
            assert set(vars(node)) <= {"_kept", "_out", "scope", "where", "out_grad",
                                       "in_grads"}, (node.name, vars(node))
            for value in (node.in_grads or ()):  # what it gave its small inputs
                assert value is None or value.size <= SMALL, node.name
        stack.extend(p.grad_fn for p in node.parents if p.grad_fn is not None)
    assert "cross_entropy" in small_ops and len(seen) - len(small_ops) >= 8


def test_intermediate_gradients_are_kept_for_small_outputs_only():
    x = Tensor(np.arange(SMALL + 1.0), requires_grad=True)
    y = Tensor(np.arange(SMALL * 1.0), requires_grad=True)
    loss = (x * 2).sum() + (y * 3).sum()
    loss.backward()
    big_sum, small_sum = (p.grad_fn for p in loss.grad_fn.parents)
    assert value_grad(big_sum.parents[0]) is None
    np.testing.assert_array_equal(value_grad(small_sum.parents[0]), np.ones(SMALL))
    assert small_sum.parents[0].grad is None  # a non-leaf's .grad stays None, as in PyTorch


def test_grad_and_the_step_renderer_leave_no_kept_gradient():
    x, y, z, f = textbook()
    ag.grad(f, [x], retain_graph=True)
    assert kept_grad(f.grad_fn) is None
    list(viz.backward_steps(f))
    assert kept_grad(f.grad_fn) is None


def test_backward_steps_after_a_released_backward_replays_the_same_captions():
    captions = []
    for retain in (True, False):
        *_, f = textbook()
        f.backward(retain_graph=retain)
        captions.append([frame.caption for frame in viz.backward_steps(f)])
    assert captions[0] == captions[1]
    assert captions[1][0].startswith("mul: ") and "dL/dz" in captions[1][0]
    assert "= -1 × 3" not in captions[1][0]  # numbers, not placeholders
    assert "1 × 3 = 3" in captions[1][0]


def test_backward_steps_of_a_shared_input_shows_its_total():
    x = Tensor(3.0, requires_grad=True, name="x")
    f = x * x + x
    f.backward()
    captions = [frame.caption for frame in viz.backward_steps(f)]
    assert any("dL/dx = 7 (its total over all its uses)" in c for c in captions), captions


def test_backward_steps_of_a_released_large_graph_captions_every_op():
    # backward() keeps no gradient of a large intermediate, yet every op still gets its
    # frame: the rule and shape where the numbers were released, the numbers where kept.
    x = Tensor(np.ones((4, 4)), requires_grad=True, name="x")
    f = (x * 2).sum()
    f.backward()
    assert f.grad_fn.released
    frames = list(viz.backward_steps(f))
    assert [frame.node.name for frame in frames] == ["sum", "mul"]
    total, mul = (frame.caption for frame in frames)
    assert total == ("sum: dL/dmul_out = dL/dout broadcast to mul_out's shape = "
                     "a (4, 4) array that backward() did not keep")
    assert frames[0].grad_in.tolist() == 1.0 and list(frames[0].grads_out) == [None]
    assert frames[0].flows == (True,)
    # x is a leaf: its .grad (2 everywhere) is what the rule gave it
    assert mul == "mul: dL/dx = dL/dout × const = (4, 4), max|.| 2"
    assert frames[1].flows == (True, False) and np.all(frames[1].grads_out[0] == 2)
    assert 'label="dL/dmul_out (4, 4)"' in frames[0].dot  # the edge the gradient took


def test_released_captions_match_a_retained_replay_where_numbers_were_kept():
    # An MLP: the parameters' gradients are .grad, so a released graph captions them with
    # the same numbers as a replay of the retained graph; intermediates by shape.
    captions = []
    for retain in (True, False):
        model, loss = mlp_loss()
        loss.backward(retain_graph=retain)
        captions.append([frame.caption for frame in viz.backward_steps(loss, model=model)])
    assert len(captions[0]) == len(captions[1]) == 4
    for kept, released in zip(*captions):
        for part_kept, part_released in zip(kept.split("; "), released.split("; ")):
            if "did not keep" in part_released:  # the same rule, the array not kept
                shape = part_kept.rsplit(" = ", 1)[1].split(", max")[0]
                assert part_released.startswith(part_kept.rsplit(" = ", 1)[0] + " = a ")
                assert f"a {shape} array" in part_released
            else:
                assert part_released == part_kept
    assert "dL/d2.bias = dL/dout, summed to (3,) = [" in captions[1][1]
    assert "dL/d0.weight = dL/doutᵀ @ const = (8, 4), max|.| " in captions[1][3]


@needs_renderer
def test_released_graph_renders_to_svg():
    model, loss = mlp_loss()
    loss.backward()
    svg = viz.show(loss, model=model)._repr_svg_()
    assert "<svg" in svg and "0.weight" in svg


@needs_renderer
def test_digraph_pipe_and_render_use_the_pip_only_renderer(tmp_path, monkeypatch):
    if render._which("graphviz-pure") is None:
        pytest.skip("graphviz-pure not installed")
    monkeypatch.setenv("CHAINRULE_DOT", "graphviz-pure")
    *_, f = textbook()
    f.backward()
    graph = viz.draw_graph(f)
    svg = graph.pipe(format="svg").decode("utf-8")
    assert "<svg" in svg and "mul" in svg
    assert graph.pipe(format="svg", encoding="utf-8") == svg
    out = graph.render(str(tmp_path / "f"), format="svg", cleanup=True)
    assert out == str(tmp_path / "f.svg") and "<svg" in (tmp_path / "f.svg").read_text()
    assert not (tmp_path / "f").exists()  # cleanup removed the DOT source
    png = graph.render(outfile=str(tmp_path / "g.png"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
