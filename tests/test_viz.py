"""autograd.viz: DOT and SVG content of drawn graphs, clusters, gradient colours, backward frames,
renderer discovery (system dot, graphviz-pure, none)."""
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor, viz
from autograd.viz import colors, render
from nn import Module, Parameter, Sequential

SVG_NS = "{http://www.w3.org/2000/svg}"

needs_renderer = pytest.mark.skipif(render.find_renderer() is None,
                                    reason="no Graphviz program (dot / graphviz-pure)")


# ---- helpers ----------------------------------------------------------------------------------

def textbook():
    x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    f = (x + y) * z
    return x, y, z, f


def dot_nodes(source):
    """{node id: (label lines, attribute text)} from DOT text."""
    nodes = {}
    for m in re.finditer(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', source, re.M):
        nodes[m.group(1)] = (m.group(2).split("\\n"), m.group(3))
    return nodes


def dot_edges(source):
    return re.findall(r"^\s*(\w+) -> (\w+)", source, re.M)


def svg_nodes(svg):
    """{node id: (texts, fill colour)} from rendered SVG, read with xml.etree."""
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(SVG_NS + "g"):
        if g.get("class") != "node":
            continue
        title = g.find(SVG_NS + "title").text
        texts = [t.text for t in g.iter(SVG_NS + "text")]
        fill = None
        for el in g.iter():  # shapes may sit inside an <a> for the tooltip
            if el.tag in (SVG_NS + "path", SVG_NS + "polygon", SVG_NS + "ellipse"):
                if el.get("fill") not in (None, "none"):
                    fill = el.get("fill")
                    break
        out[title] = (texts, fill)
    return out


def svg_cluster_labels(svg):
    root = ET.fromstring(svg)
    labels = []
    for g in root.iter(SVG_NS + "g"):
        if g.get("class") == "cluster":
            labels.append(" ".join(t.text for t in g.iter(SVG_NS + "text")))
    return labels


def cluster_tree(source):
    """[(cluster label, parent cluster label or None)] from the brace structure of DOT text."""
    pairs, stack = [], []
    for line in source.splitlines():
        s = line.strip()
        if s.startswith("subgraph cluster"):
            stack.append(None)
        elif s.startswith("label=") and stack and stack[-1] is None:
            label = re.match(r'label="((?:[^"\\]|\\.)*)"', s).group(1)
            stack[-1] = label
            pairs.append((label, stack[-2] if len(stack) > 1 else None))
        elif s == "}" and stack:
            stack.pop()
    return pairs


def find_label(nodes, first_line):
    return [k for k, (lines, _) in nodes.items() if lines[0] == first_line]


class Affine(Module):
    def __init__(self, n_in, n_out, scale=0.5):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weight = Parameter(rng.standard_normal((n_in, n_out)) * scale)
        self.bias = Parameter(np.zeros(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class Net(Module):
    def __init__(self):
        super().__init__()
        self.encoder = Sequential(Affine(3, 4), Tanh())
        self.head = Affine(4, 1)

    def forward(self, x):
        return self.head(self.encoder(x))


# ---- values, ops, labels --------------------------------------------------------------------

def test_textbook_graph_shows_values_and_grads_in_dot():
    x, y, z, f = textbook()
    f.backward(retain_graph=True)
    nodes = dot_nodes(viz.draw_graph(f).source)
    by_name = {lines[0]: lines for lines, _ in nodes.values()}
    assert by_name["x"][1:] == ["scalar", "data -2", "grad -4"]
    assert by_name["y"][1:] == ["scalar", "data 5", "grad -4"]
    assert by_name["z"][1:] == ["scalar", "data -4", "grad 3"]
    root = [lines for lines, attrs in nodes.values() if "data -12" in lines]
    assert len(root) == 1
    ops = sorted(lines[0] for k, (lines, _) in nodes.items() if k.startswith("op"))
    assert ops == ["add", "mul"]


def test_edges_go_input_to_op_to_output():
    x, y, z, f = textbook()
    src = viz.draw_graph(f).source
    nodes = dot_nodes(src)
    ids = {lines[0]: k for k, (lines, _) in nodes.items()}
    edges = set(dot_edges(src))
    assert (ids["x"], ids["add"]) in edges and (ids["y"], ids["add"]) in edges
    assert (ids["z"], ids["mul"]) in edges
    add_out = [b for a, b in edges if a == ids["add"]]
    assert len(add_out) == 1 and (add_out[0], ids["mul"]) in edges


@needs_renderer
@pytest.mark.parametrize("retain", [True, False])
def test_textbook_svg_contains_the_numbers(retain):
    # micrograd's flow: backward, then draw; every value shows its data and its gradient,
    # the intermediates included, whether or not backward released the graph.
    x, y, z, f = textbook()
    f.backward(retain_graph=retain)
    nodes = svg_nodes(viz.show(f)._repr_svg_())
    texts = {tuple(t) for t, _ in nodes.values()}
    assert ("x", "scalar", "data -2", "grad -4") in texts
    assert ("z", "scalar", "data -4", "grad 3") in texts
    assert ("scalar", "data 3", "grad -4") in texts  # q = x + y, dL/dq = z
    assert ("scalar", "data -12", "grad 1") in texts  # the root, dL/dL = 1
    assert ("mul",) in texts and ("add",) in texts


def test_small_arrays_show_numbers_large_show_summary():
    a = Tensor(np.array([[1.0, 2.5], [-3.0, 4.0]]), requires_grad=True, name="a")
    b = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True, name="b")
    out = (a.sum() * b).sum()
    out.backward(retain_graph=True)
    by_name = {lines[0]: lines for lines, _ in dot_nodes(viz.draw_graph(out).source).values()}
    assert by_name["a"] == ["a", "(2, 2)", "data [[1, 2.5], [-3, 4]]", "grad [[66, 66], [66, 66]]"]
    assert by_name["b"][1] == "(3, 4)"
    assert by_name["b"][2] == "grad max|.| 4.5"  # no data line for 12 elements; grad summarised
    hidden = viz.draw_graph(out, show_data=False, show_grad=False).source
    assert "data" not in hidden and "grad " not in hidden


def test_params_mapping_names_the_leaves():
    w = Parameter(np.array([2.0]))
    x = Tensor([3.0])
    y = (w * x).sum()
    nodes = dot_nodes(viz.draw_graph(y, params={"layer.weight": w}).source)
    assert find_label(nodes, "layer.weight")


def test_same_graph_gives_identical_dot_text():
    sources = []
    for _ in range(2):
        x, y, z, f = textbook()
        g = (f * f + x.exp()).sum()
        g.backward(retain_graph=True)
        sources.append(viz.draw_graph(g).source)
    assert sources[0] == sources[1]
    assert "v0" in sources[0] and "op0" in sources[0]


# ---- big graphs -----------------------------------------------------------------------------

def test_100k_op_chain_is_summarised_beyond_max_nodes():
    n = 100_000
    x = Tensor(1.0, requires_grad=True, name="x")
    c = Tensor(1.0)
    y = x
    for _ in range(n):
        y = y * c
    src = viz.draw_graph(y, max_nodes=300).source
    nodes = dot_nodes(src)
    drawn = [k for k in nodes if re.fullmatch(r"(v|op)\d+", k)]
    assert 290 <= len(drawn) <= 300
    total = 2 * n + 2  # n ops, n outputs, the leaf x and the shared constant c
    assert f"… {total - len(drawn)} more nodes" in src
    assert find_label(nodes, "x") == []  # the leaf is the farthest node: summarised away
    cut = [b for a, b in dot_edges(src) if a == "more"]
    assert cut and set(cut) <= set(drawn)  # the summary hangs off the drawn frontier


def test_no_summary_when_the_graph_fits():
    x, y, z, f = textbook()
    src = viz.draw_graph(f, max_nodes=7).source  # 5 values + 2 ops
    assert "more nodes" not in src
    src = viz.draw_graph(f, max_nodes=5).source
    assert "… 2 more nodes" in src


# ---- modules ----------------------------------------------------------------------------------

def test_module_clusters_are_nested_and_named():
    net = Net()
    x = Tensor(np.ones((2, 3)))
    loss = (net(x) ** 2).sum()
    src = viz.draw_graph(loss, model=net).source
    tree = set(cluster_tree(src))
    assert ("Net", None) in tree
    assert ("encoder (Sequential)", "Net") in tree
    assert ("encoder.0 (Affine)", "encoder (Sequential)") in tree
    assert ("encoder.1 (Tanh)", "encoder (Sequential)") in tree
    assert ("head (Affine)", "Net") in tree
    # parameters sit inside their module's cluster, named by their dotted names
    block = src[src.index('label="encoder.0 (Affine)"'):]
    block = block[: block.index("}")]
    assert '"encoder.0.weight' in block and '"encoder.0.bias' in block
    assert "matmul" in block


def test_module_names_from_params_mapping_alone():
    net = Net()
    loss = net(Tensor(np.ones((2, 3)))).sum()
    src = viz.draw_graph(loss, params=dict(net.named_parameters())).source
    labels = {label for label, _ in cluster_tree(src)}
    assert {"Net", "encoder (Sequential)", "encoder.0 (Affine)", "head (Affine)"} <= labels
    flat = viz.draw_graph(loss, group_modules=False).source
    assert "subgraph" not in flat


@needs_renderer
def test_cluster_labels_in_svg():
    net = Net()
    loss = net(Tensor(np.ones((2, 3)))).sum()
    labels = svg_cluster_labels(viz.show(loss, model=net).text)
    assert "encoder.0 (Affine)" in labels and "head (Affine)" in labels


def test_collapse_modules_draws_one_node_per_module():
    net = Net()
    x = Tensor(np.ones((2, 3)), name="input")
    loss = net(x).sum()
    src = viz.draw_graph(loss, model=net, collapse_modules=True).source
    nodes = dot_nodes(src)
    units = {nodes[k][0][0]: k for k in nodes if re.fullmatch(r"m\d+", k)}
    assert set(units) == {"encoder.0 (Affine)", "encoder.1 (Tanh)", "head (Affine)"}
    assert "16 parameters" in nodes[units["encoder.0 (Affine)"]][0]  # 3*4 + 4
    ops = [nodes[k][0][0] for k in nodes if k.startswith("op")]
    assert ops == ["sum"]  # the only op outside every module
    edges = set(dot_edges(src))
    inp = find_label(nodes, "input")[0]
    assert (inp, units["encoder.0 (Affine)"]) in edges
    assert (units["encoder.0 (Affine)"], units["encoder.1 (Tanh)"]) in edges
    assert (units["encoder.1 (Tanh)"], units["head (Affine)"]) in edges
    top = viz.draw_graph(loss, model=net, collapse_modules=2).source
    top_units = {dot_nodes(top)[k][0][0] for k in dot_nodes(top) if re.fullmatch(r"m\d+", k)}
    assert top_units == {"encoder (Sequential)", "head (Affine)"}


# ---- gradient colours -------------------------------------------------------------------------

def test_grad_color_scale():
    assert colors.grad_color(1e-9) == colors.bands()[0][1]
    assert colors.grad_color(0.0) == colors.bands()[0][1]
    assert colors.grad_color(0.5) == colors.bands()[2][1]
    assert colors.grad_color(np.array([1e-9, -5e4])) == colors.bands()[-1][1]
    assert colors.grad_color(float("nan")) not in [c for _, c, _ in colors.bands()]
    assert colors.grad_color(1e-3, vanishing=1e-2) == colors.bands(1e-2)[0][1]


def _vanish_explode():
    a = Tensor(1.0, requires_grad=True, name="tiny")
    b = Tensor(1.0, requires_grad=True, name="huge")
    loss = a * 1e-8 + b * 1e5
    loss.backward(retain_graph=True)
    return loss


def test_vanishing_and_exploding_colours_in_dot():
    src = viz.draw_graph(_vanish_explode()).source
    nodes = dot_nodes(src)
    blue, red = colors.bands()[0][1], colors.bands()[-1][1]
    assert f'fillcolor="{blue}"' in nodes[find_label(nodes, "tiny")[0]][1]
    assert f'fillcolor="{red}"' in nodes[find_label(nodes, "huge")[0]][1]
    assert "cluster_legend" in src
    plain = viz.draw_graph(_vanish_explode(), grad_colors=False).source
    assert blue not in plain and "cluster_legend" not in plain


@needs_renderer
def test_vanishing_and_exploding_colours_and_legend_in_svg():
    svg = viz.show(_vanish_explode()).text
    nodes = svg_nodes(svg)
    fills = {texts[0]: fill for texts, fill in nodes.values() if texts}
    assert fills["tiny"].lower() == colors.bands()[0][1]
    assert fills["huge"].lower() == colors.bands()[-1][1]
    all_text = " ".join(t.text or "" for t in ET.fromstring(svg).iter(SVG_NS + "text"))
    assert "gradient scale" in all_text and "vanishing" in all_text and "exploding" in all_text


# ---- backward frames --------------------------------------------------------------------------

def test_backward_steps_one_frame_per_op_with_highlight():
    x, y, z, f = textbook()
    frames = list(viz.backward_steps(f))
    assert [fr.node.name for fr in frames] == ["mul", "add"]
    for fr in frames:
        nodes = dot_nodes(fr.dot)
        lit = [k for k, (_, attrs) in nodes.items() if "#ffd34d" in attrs]
        assert len(lit) == 1 and nodes[lit[0]][0] == [fr.node.name]
    mul, add = frames
    assert float(mul.grad_in) == 1
    assert [float(g) for g in mul.grads_out] == [-4, 3]
    assert [float(g) for g in add.grads_out] == [-4, -4]
    assert "1 × -4 = -4" in mul.caption and "1 × 3 = 3" in mul.caption
    assert "dL/dx = dL/dout = -4" in add.caption
    assert 'label="dL/dx += -4"' in add.dot and 'label="dL/dz += 3"' in mul.dot


def test_backward_steps_leaves_grads_and_graph_alone():
    x, y, z, f = textbook()
    x.grad = Tensor(100.0)
    frames = list(viz.backward_steps(f))
    assert len(frames) == 2
    assert x.grad.item() == 100 and y.grad is None and z.grad is None
    f.backward()  # the graph is still there
    assert x.grad.item() == 96 and z.grad.item() == 3


def test_backward_steps_counts_ops_of_a_bigger_graph_and_accumulates_fanout():
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x * x            # fan-out of x into one op twice
    out = (h.exp() + h).sum()
    n_ops = 4  # mul, exp, add, sum
    frames = list(viz.backward_steps(out))
    assert len(frames) == n_ops
    assert sorted(fr.node.name for fr in frames) == ["add", "exp", "mul", "sum"]
    last = frames[-1]
    assert last.node.name == "mul"
    expected = 2 * x.data * (np.exp(x.data ** 2) + 1)
    total = last.grads_out[0] + last.grads_out[1]
    np.testing.assert_allclose(total, expected, rtol=1e-6)
    shown = dot_nodes(last.dot)[find_label(dot_nodes(last.dot), "x")[0]][0]
    assert shown[-1] == "grad " + viz.graph.fmt_array(total)


@needs_renderer
def test_backward_frames_render_with_highlighted_op():
    x, y, z, f = textbook()
    for fr in viz.backward_steps(f):
        nodes = svg_nodes(fr.svg)
        lit = [texts for texts, fill in nodes.values() if fill and fill.lower() == "#ffd34d"]
        assert lit == [[fr.node.name]]
        assert fr._repr_svg_() is fr.svg


def test_backward_steps_of_a_leaf_or_constant_is_an_error_or_empty():
    with pytest.raises(RuntimeError, match="does not require grad"):
        list(viz.backward_steps(Tensor(1.0)))
    assert list(viz.backward_steps(Tensor(1.0, requires_grad=True))) == []


# ---- renderer discovery -----------------------------------------------------------------------

def _only(monkeypatch, allowed):
    real = shutil.which

    def which(name, *args, **kw):
        return real(name, *args, **kw) if name in allowed else None

    monkeypatch.setattr(render.shutil, "which", which)
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)


def test_no_renderer_gives_a_clear_error_but_dot_text_works(monkeypatch):
    _only(monkeypatch, ())
    x, y, z, f = textbook()
    assert render.find_renderer() is None
    assert "mul" in viz.draw_graph(f).source
    with pytest.raises(viz.RendererNotFoundError) as info:
        viz.show(f)
    msg = str(info.value)
    for hint in ("pip install chainrule[render]", "pip install graphviz-pure",
                 "apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in msg
    with pytest.raises(viz.RendererNotFoundError):
        viz.draw_graph(f)._repr_mimebundle_()


@pytest.mark.skipif(shutil.which("dot") is None, reason="system Graphviz not installed")
def test_system_dot_is_preferred(monkeypatch):
    monkeypatch.delenv("CHAINRULE_DOT", raising=False)
    assert render.find_renderer()[0] == "dot"
    x, y, z, f = textbook()
    assert "<svg" in viz.show(f).text


@pytest.mark.skipif(render._which("graphviz-pure") is None,
                    reason="graphviz-pure not installed (pip install graphviz-pure)")
def test_graphviz_pure_fallback_without_dot(monkeypatch, tmp_path):
    _only(monkeypatch, ("graphviz-pure",))
    assert render.find_renderer()[0] == "graphviz-pure"
    x, y, z, f = textbook()
    f.backward(retain_graph=True)
    svg = viz.show(f).text
    assert "graphviz-pure" in svg
    texts = {tuple(t) for t, _ in svg_nodes(svg).values()}
    assert ("x", "scalar", "data -2", "grad -4") in texts
    bundle = viz.draw_graph(f)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    png = viz.save_png(f, tmp_path / "f.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


@needs_renderer
def test_save_svg_and_png(tmp_path):
    x, y, z, f = textbook()
    svg_path = viz.save_svg(f, tmp_path / "f.svg")
    root = ET.parse(svg_path).getroot()
    assert root.tag == SVG_NS + "svg"
    png_path = viz.save_png(f, tmp_path / "f.png", show_data=False)
    assert open(png_path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_engine_does_not_import_graphviz():
    import subprocess
    import sys

    code = ("import sys; import autograd; from autograd import Tensor; "
            "(Tensor(1.0, requires_grad=True) * 2).backward(); "
            "import autograd.viz; print('graphviz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_draw_graph_rejects_non_tensors():
    with pytest.raises(TypeError, match="expected a Tensor"):
        viz.draw_graph(3.0)


def test_no_grad_graph_draws_a_single_value():
    with ag.no_grad():
        y = Tensor(2.0, requires_grad=True) * 3
    nodes = dot_nodes(viz.draw_graph(y).source)
    assert list(nodes) == ["v0"]


@needs_renderer
def test_play_puts_every_frame_in_one_html_widget():
    x, y, z, f = textbook()
    player = viz.play(f)
    assert len(player) == 2 and [fr.node.name for fr in player] == ["mul", "add"]
    page = player._repr_html_()
    assert page.count('class="frame"') == 2 and page.count("<svg") == 2
    assert "<?xml" not in page and "step 1/2" in page
    assert 'style="display:block"' in page and 'style="display:none"' in page


def test_draw_graph_returns_a_graphviz_digraph_with_options():
    graphviz = pytest.importorskip("graphviz")
    x, y, z, f = textbook()
    g = viz.draw_graph(f, rankdir="TB", legend=True)
    assert isinstance(g, graphviz.Digraph)
    assert "rankdir=TB" in g.source and "cluster_legend" in g.source
    assert "cluster_legend" not in viz.draw_graph(f, legend=False).source


def test_clusters_with_nn_layers_and_frames_inside_them():
    import nn

    ag.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    loss = (model(Tensor(np.ones((2, 3), dtype="float32"))) ** 2).mean()
    labels = {label for label, _ in cluster_tree(viz.draw_graph(loss, model=model).source)}
    assert {"Sequential", "0 (Linear)", "1 (ReLU)", "2 (Linear)"} <= labels
    frames = list(viz.backward_steps(loss, model=model))
    n_ops = len([k for k in dot_nodes(viz.draw_graph(loss).source) if k.startswith("op")])
    assert len(frames) == n_ops
    bias_frames = [fr for fr in frames if "dL/d2.bias" in fr.caption]
    assert len(bias_frames) == 1 and "summed to (1,)" in bias_frames[0].caption
