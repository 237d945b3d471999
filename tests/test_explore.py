"""viz.explore: the page's data from Python, then the page itself in a headless Chromium.

The browser tests skip when Chromium is absent, except under CI (the CI variable set),
where a missing browser fails: the page is only tested where it really runs.
"""
import json
import os
import re
import tempfile

import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor, viz
from autograd.viz import colors, tensor_view

from browser import Browser, find_chromium

LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


# ---- graphs -----------------------------------------------------------------------------------

def expression():
    """(x + y) * z at (-2, 5, -4), after backward(retain_graph=True): the worked example."""
    x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    f = (x + y) * z
    f.name = "f"
    f.backward(retain_graph=True)
    return f


def mlp_loss():
    ag.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    loss = nn.functional.cross_entropy(model(x), Tensor(np.array([0, 1, 1, 0, 1])))
    loss.name = "loss"
    loss.backward(retain_graph=True)
    return model, loss


def long_chain(n_ops):
    """A graph of about 2 n_ops nodes: add and tanh, one after the other."""
    y = Tensor(np.linspace(-1, 1, 4), requires_grad=True, name="x")
    for i in range(n_ops):
        y = y.tanh() if i % 2 else y + 0.5
    return y.sum()


def blob(page_html):
    """The graph data inlined in a page."""
    match = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                      page_html, re.S)
    return json.loads(match.group(1))


# ---- the page's data, no browser --------------------------------------------------------------

def test_page_data_holds_every_node_name_op_and_shape():
    model, loss = mlp_loss()
    page = viz.explore(loss, model=model)
    data = blob(page.html())
    values = {n["name"]: n for n in data["nodes"] if n["kind"] == "value"}
    for name, p in model.named_parameters():
        assert values[name]["shape"] == str(tuple(p.shape)) and values[name]["param"]
    ops = [n["op"] for n in data["nodes"] if n["kind"] == "op"]
    assert sorted(ops) == sorted(["linear", "relu", "linear", "cross_entropy"])
    assert {c["label"] for c in data["clusters"]} >= {"0 (Linear)", "1 (ReLU)", "2 (Linear)"}
    # forward in topological order, then backward in the engine's order, with captions
    phases = [s["phase"] for s in data["steps"]]
    assert phases == ["forward"] * 4 + ["backward"] * 4 and data["captions"]
    assert [s["text"].split(": ")[1] for s in data["steps"][:4]] == [
        "linear computes a tensor of shape (5, 4)", "relu computes a tensor of shape (5, 4)",
        "linear computes a tensor of shape (5, 2)", "cross_entropy computes a tensor of shape scalar"]
    assert data["steps"][4]["text"].startswith("backward 1/4: cross_entropy: dL/d")


def test_values_are_coloured_by_gradient_with_the_svg_legend():
    f = expression()
    data = viz.explore(f).data
    x = next(n for n in data["nodes"] if n["name"] == "x")
    assert x["fill"] == colors.grad_color(-4.0) and x["grad"] == {"full": "-4"}
    assert [(r["color"], r["text"]) for r in data["legend"]] == colors.legend()


def test_large_tensors_are_summarised_with_a_histogram():
    values = np.arange(1000, dtype=np.float32) - 500
    view = tensor_view.describe(values)
    assert "full" not in view and view["size"] == 1000
    assert view["stats"]["min"] == -500 and view["stats"]["absmax"] == 500
    assert len(view["hist"]["counts"]) == tensor_view.BINS and sum(view["hist"]["counts"]) == 1000
    small = tensor_view.describe(np.array([[1.5, -2.0]]))
    assert small == {"full": "[[1.5, -2]]"}
    with_nan = tensor_view.describe(np.array([np.nan, np.inf] + [1.0] * 100))
    assert (with_nan["nan"], with_nan["inf"], with_nan["stats"]["max"]) == (1, 1, 1.0)


def test_readers_accept_released_summaries_and_array_gradients():
    class Summary:  # what a released graph keeps of a large tensor
        data, grad, grad_fn = None, np.array([0.5, -1.0]), None

    assert tensor_view.read_data(Summary()) is None
    assert tensor_view.read_grad(Summary()).tolist() == [0.5, -1.0]
    t = Tensor([1.0, 2.0], requires_grad=True)
    (t * t).sum().backward()
    assert tensor_view.read_grad(t).tolist() == [2.0, 4.0]  # a Tensor's .grad is a Tensor


def test_a_released_graph_still_steps_with_captions():
    x = Tensor(np.arange(8.0), requires_grad=True, name="x")  # too large to keep its numbers
    g = (x * x + x).sum()
    g.backward()  # releases the graph
    data = viz.explore(g).data
    assert data["captions"] and any("released" in note for note in data["notes"])
    backward = [s for s in data["steps"] if s["phase"] == "backward"]
    assert [s["text"].split(": ")[1] for s in backward] == ["sum", "add", "mul"]
    texts = [s["text"] for s in backward]
    assert texts[0] == ("backward 1/3: sum: dL/dadd_out = dL/dout broadcast to add_out's "
                        "shape = a (8,) array that backward() did not keep")
    # x.grad = 2x + 1, its total over its three uses: max 15 at x = 7
    assert texts[2] == ("backward 3/3: mul: dL/dx = (8,), max|.| 15 (its total over all its "
                        "uses); dL/dx = (8,), max|.| 15 (its total over all its uses)")
    # every input the gradient reached is marked, its numbers kept or not
    made_by = {n["id"]: n["name"] or "made by " + n["op"] for n in data["nodes"]
               if n["kind"] == "value"}
    assert [made_by[v] for v in backward[1]["inputs"]] == ["made by mul", "x"]


def test_a_released_graph_of_scalars_steps_exactly_as_a_retained_one():
    # every number of a scalar graph is kept: the page says nothing is missing, because nothing is
    pages = []
    for retain in (True, False):
        x, y, z = (Tensor(v, requires_grad=True, name=n)
                   for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
        f = (x + y) * z
        f.backward(retain_graph=retain)
        pages.append(viz.explore(f).data)
    assert pages[1]["steps"] == pages[0]["steps"] and pages[1]["captions"]
    assert pages[1]["notes"] == pages[0]["notes"] == []
    assert pages[1]["steps"][-2]["text"] == ("backward 1/2: mul: dL/dadd_out = dL/dout × z = "
                                             "1 × -4 = -4; dL/dz = dL/dout × add_out = 1 × 3 = 3")


def test_big_graphs_are_summarised_beyond_max_nodes():
    data = viz.explore(long_chain(5000), max_nodes=300).data
    more = [n for n in data["nodes"] if n["kind"] == "note"]
    assert len(data["nodes"]) == 301 and more[0]["label"][0].endswith("more nodes")


def test_collapse_starts_at_the_innermost_modules():
    model, loss = mlp_loss()
    assert viz.explore(loss, model=model).data["collapsed"] == []  # small: open
    data = viz.explore(loss, model=model, collapse=True).data
    inner = {c["id"] for c in data["clusters"] if c["label"].endswith(("(Linear)", "(ReLU)"))}
    assert set(data["collapsed"]) == inner


def test_page_is_self_contained():
    html = viz.explore(expression()).html()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"""url\(\s*["']?(https?:)?//|@import""", html, re.I)
    assert "sourceMappingURL" not in html
    frame = viz.explore(expression())._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;script" in frame


def test_cli_writes_the_page(tmp_path, monkeypatch):
    from chainrule import cli

    monkeypatch.chdir(tmp_path)
    assert cli.main(["graph", "(x+y)*z", "x=-2", "y=5", "z=-4", "--html", "f.html"]) == 0
    data = blob((tmp_path / "f.html").read_text())
    assert {n["name"] for n in data["nodes"]} >= {"x", "y", "z", "out"}


# ---- in the browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed for the explorer tests under CI: "
                        "apt-get install -y chromium")
        pytest.skip("no Chromium (apt-get install chromium) to run the page in")
    with tempfile.TemporaryDirectory() as profile:
        b = Browser(executable, profile)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, tmp_path):
    pages = []

    def open_(explorer, name="page.html", **kw):
        """Save an Explorer (or take a saved page's path) and open it in a new tab."""
        path = explorer if hasattr(explorer, "as_uri") else explorer.save(tmp_path / name)
        page = browser.open(path.as_uri(), **kw)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        errors = page.errors()
        page.close()
        assert not errors, f"JavaScript errors: {errors}"


def visible_nodes(page):
    return page.eval("document.querySelectorAll('#graph .node').length")


def svg_text(page):
    return page.eval("Array.from(document.querySelectorAll('#graph text'))"
                     ".map(function (t) { return t.textContent; })")


def test_page_draws_the_graph_with_parameter_names(open_page):
    model, loss = mlp_loss()
    page = open_page(viz.explore(loss, model=model))
    assert page.errors() == []
    assert visible_nodes(page) == 13  # 9 tensors, 4 ops
    texts = svg_text(page)
    for name, _ in model.named_parameters():
        assert name in texts
    assert "▾ 0 (Linear)" in texts and "cross_entropy" in texts
    urls = page.requested_urls()
    assert urls and all(u.startswith(LOCAL_SCHEMES) for u in urls), urls


def test_clicking_a_module_title_collapses_it_and_its_box_expands_it(open_page):
    model, loss = mlp_loss()
    page = open_page(viz.explore(loss, model=model))
    before = visible_nodes(page)
    title = "#graph .cluster .title[data-id='%s']" % next(
        c["id"] for c in viz.explore(loss, model=model).data["clusters"]
        if c["label"] == "0 (Linear)")
    page.click(*page.centre_of(title))
    assert visible_nodes(page) == before - 3  # weight, bias, linear, its output -> one box
    box = page.eval("document.querySelector('#graph .node.module text').textContent")
    assert box == "▸ 0 (Linear)"
    page.click(*page.centre_of("#graph .node.module"))
    assert visible_nodes(page) == before


def test_hovering_a_parameter_shows_its_numbers(open_page):
    model, loss = mlp_loss()
    page = open_page(viz.explore(loss, model=model))
    weight = page.eval("(function(){var d=chainruleExplorer.data.nodes.filter(function(n){"
                       "return n.name==='0.weight';})[0];return d.id;})()")
    page.hover(*page.centre_of(f"#graph .node[data-id='{weight}']"))
    info = page.eval("document.getElementById('info').innerText")
    assert "0.weight" in info and "(4, 3)" in info and "float32" in info
    assert "gradient" in info and "[[" in info  # 12 numbers: shown in full


def test_slider_reaches_the_last_backward_step_and_its_caption(open_page):
    f = expression()
    explorer = viz.explore(f)
    last = explorer.data["steps"][-1]["text"]
    page = open_page(explorer)
    page.press("ArrowRight")
    assert page.eval("document.getElementById('where').textContent") == "step 1 of 4"
    assert page.eval("document.querySelector('#graph .node.current text').textContent") == "add"
    page.press("End")
    assert page.eval("+document.getElementById('slider').value") == 4
    caption = page.eval("document.getElementById('caption').textContent")
    assert caption == last and "dL/dx = dL/dout = -4" in caption
    # the slider itself, as a user drags it
    page.eval("(function(){var s=document.getElementById('slider');s.value=3;"
              "s.dispatchEvent(new Event('input'));})()")
    assert "mul: dL/dadd_out = dL/dout × z = 1 × -4 = -4" in page.eval(
        "document.getElementById('caption').textContent")
    page.press(" ", "Space", 32)
    assert page.eval("chainruleExplorer.state.timer !== null")
    page.click(*page.centre_of("#play"))
    assert page.eval("chainruleExplorer.state.timer === null")


def test_search_finds_nodes_and_opens_their_module(open_page):
    model, loss = mlp_loss()
    page = open_page(viz.explore(loss, model=model, collapse=True))
    collapsed = visible_nodes(page)
    page.click(*page.centre_of("#search"))
    page.type_text("2.bias")
    assert page.eval("document.getElementById('found').textContent").startswith("1 found")
    page.press("Enter", "Enter", 13)
    assert visible_nodes(page) > collapsed  # module 2 opened to show its bias
    assert "2.bias" in page.eval("document.getElementById('info').innerText")


def test_export_gives_svg_and_png(open_page):
    page = open_page(viz.explore(expression()))
    text = page.eval("chainruleExplorer.svgText()")
    assert text.startswith("<?xml") and "<svg" in text and "mul" in text
    kind, size = page.eval("chainruleExplorer.pngBlob().then(function(b){return [b.type, b.size];})",
                           await_promise=True)
    assert kind == "image/png" and size > 1000


def test_cli_cnn_page_is_small_and_loads(open_page, tmp_path):
    from chainrule import datasets, explorer, models

    data = datasets.load("digits", limit=20)
    model = models.build("cnn", data)
    path = explorer.model_page(model, data, tmp_path / "graph.html")
    assert path.stat().st_size < 5_000_000
    assert all(p.grad is None for p in model.parameters())  # cleared again
    page = open_page(path)
    assert visible_nodes(page) > 40
    page.eval("chainruleExplorer.go(chainruleExplorer.data.steps.length)")
    assert page.eval("document.getElementById('caption').textContent").startswith("backward")


def test_ten_thousand_node_graph_loads(open_page):
    explorer = viz.explore(long_chain(5000))  # 10,002 nodes
    assert len(explorer.html()) < 5_000_000
    page = open_page(explorer, wait=40)
    assert visible_nodes(page) == 1001  # max_nodes, and the "... more nodes" box
    assert "more nodes" in " ".join(svg_text(page))


def test_released_numbers_are_shown_as_released(open_page):
    x = Tensor(np.arange(8.0), requires_grad=True, name="x")
    y = (x * x).tanh().sum()
    y.backward()  # releases the graph: the (8,) intermediates keep no numbers
    page = open_page(viz.explore(y))
    released = page.eval("chainruleExplorer.data.nodes.filter(function(n){"
                         "return n.data && n.data.released;})[0].id")
    page.hover(*page.centre_of(f"#graph .node[data-id='{released}']"))
    assert "released" in page.eval("document.getElementById('info').innerText")
    assert "released" in page.eval("document.getElementById('notes').innerText")
