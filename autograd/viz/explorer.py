"""`explore(root)`: one self-contained HTML page to explore a graph, step through its passes.

The page lays the graph out in the browser with dagre (vendor/, MIT): a layered layout of
directed graphs that understands compound graphs, so module clusters can be collapsed and
expanded and the layout redone on the spot, in one small file with no dependencies. Every
script, style and number is inlined, so the file opens from disk with no network; the graph
itself is a JSON blob in the page (nodes' names, ops and shapes are there for search).
"""
import html
import json
from pathlib import Path

from .colors import EXPLODING, VANISHING, legend
from .explorer_graph import graph_data
from .explorer_steps import pass_steps
from .graph import Walk, _as_roots

COLLAPSE_ABOVE = 150  # with collapse="auto", pages with more nodes than this start collapsed
_HERE = Path(__file__).resolve().parent


class Explorer:
    """An explorer page: `.save(path)` writes it as one HTML file, Jupyter shows it inline.

    `.data` is what the page draws (nodes, edges, clusters, steps), as plain JSON-ready data.
    """

    def __init__(self, data, height=640):
        self.data = data
        self.height = height

    def html(self):
        """The whole page as text."""
        blob = json.dumps(self.data, separators=(",", ":"), allow_nan=False)
        blob = blob.replace("<", "\\u003c")  # no "</script>" can end the blob early
        title = html.escape(self.data["title"])
        return _PAGE.format(title=title, css=_asset("explorer.css"),
                            dagre=_script(_asset("vendor/dagre.min.js")),
                            js=_script(_asset("explorer.js")), data=blob)

    def save(self, path):
        """Write the page to `path` (UTF-8); returns the path."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self):
        # an iframe: the page's script and styles run apart from the notebook's
        return (f'<iframe srcdoc="{html.escape(self.html(), quote=True)}" '
                f'style="width:100%;height:{int(self.height)}px;border:1px solid #ddd" '
                'sandbox="allow-scripts allow-downloads"></iframe>')

    def __repr__(self):
        counts = {}
        for n in self.data["nodes"]:
            counts[n["kind"]] = counts.get(n["kind"], 0) + 1
        return (f"<Explorer {counts.get('value', 0)} values, {counts.get('op', 0)} ops, "
                f"{len(self.data['steps'])} steps>")


def explore(root, params=None, model=None, max_nodes=1000, collapse="auto", title=None,
            rankdir="LR", vanishing=VANISHING, exploding=EXPLODING, height=640):
    """The graph that computed `root`, as an interactive page (an Explorer).

    Pan by dragging, zoom with the wheel; click a module's title to collapse it into one box
    and the box to expand it (`collapse`: "auto" starts collapsed beyond 150 nodes, True at
    the innermost modules, an int at that nesting depth, False never). Hover or click a node
    for its name, op, shape, dtype, value and gradient; values are coloured by max|grad| as
    in draw_graph. The slider (or the arrow keys, space to play) steps through the forward
    pass and then the backward pass, one op at a time, with the chain rule of each step.
    Beyond `max_nodes` the nodes farthest from the root are summarised as "... N more nodes".
    Names come from `params` (e.g. `dict(model.named_parameters())`) or `model`.

    >>> from autograd import Tensor
    >>> x = Tensor(-2.0, requires_grad=True, name="x")
    >>> page = explore(x * x + x)
    >>> [s["phase"] for s in page.data["steps"]]
    ['forward', 'forward', 'backward', 'backward']
    """
    roots = _as_roots(root)
    if params is None and model is not None:
        params = dict(model.named_parameters())
    walk = Walk(roots, max_nodes)
    total_ops = len(walk.ops) + walk.more // 2  # beyond max_nodes: about one op per tensor
    steps, pass_grads, grad_done = pass_steps(walk, roots, params, model, total_ops)
    data = graph_data(walk, roots, params, model, vanishing, exploding, pass_grads)
    for n in data["nodes"]:
        if n["id"] in grad_done:
            n["grad_step"] = grad_done[n["id"]]
    data["steps"] = steps["steps"]
    notes = list(steps["notes"])
    if walk.more:
        notes.insert(0, f"{walk.more} nodes farthest from the root are summarised as one "
                        f"box (max_nodes={max_nodes}).")
    if any(n.get("grad_source") == "pass" for n in data["nodes"]):
        notes.append("Gradients of tensors that keep no .grad are those of the replayed "
                     "backward pass (dL/dt with dL/droot = 1).")
    data.update(
        title=title or _default_title(roots, model),
        notes=notes, captions=steps.get("captions", False), rankdir=rankdir,
        legend=[{"color": c, "text": t} for c, t in legend(vanishing, exploding)],
        collapsed=_start_collapsed(data, collapse))
    return Explorer(data, height)


def _default_title(roots, model):
    what = type(model).__name__ if model is not None else "graph"
    name = getattr(roots[0], "name", None)
    return f"{what}: {name}" if name else what


def _start_collapsed(data, collapse):
    """The cluster ids to show collapsed when the page opens."""
    clusters = data["clusters"]
    if not clusters or collapse is False or collapse is None:
        return []
    if collapse == "auto" and len(data["nodes"]) <= COLLAPSE_ABOVE:
        return []
    has_child = {c["parent"] for c in clusters}
    deepest = max(c["depth"] for c in clusters)

    def at(depth):  # collapse at `depth`, and shallower modules with no submodules
        return [c["id"] for c in clusters
                if c["depth"] == depth or (c["depth"] < depth and c["id"] not in has_child)]

    if collapse is True:
        return at(deepest)
    if not isinstance(collapse, str):
        return at(max(1, min(int(collapse), deepest)))
    for depth in range(deepest, 0, -1):
        if _visible(data, at(depth)) <= COLLAPSE_ABOVE:
            return at(depth)
    return at(1)


def _visible(data, collapsed):
    """How many boxes the page draws with these clusters collapsed."""
    parent = {c["id"]: c["parent"] for c in data["clusters"]}
    shut = set(collapsed)
    shown = set()
    for n in data["nodes"]:
        rep, c = n["id"], n.get("cluster")
        while c is not None:
            if c in shut:
                rep = c
            c = parent[c]
        shown.add(rep)
    return len(shown)


def _asset(name):
    return (_HERE / name).read_text(encoding="utf-8")


def _script(text):
    """Script text safe to inline: no closing tag inside, no source-map comment (no file)."""
    lines = [ln for ln in text.splitlines() if not ln.startswith("//# sourceMappingURL=")]
    return "\n".join(lines).replace("</script", "<\\/script")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style id="explorer-style">
{css}
</style>
</head>
<body>
<div id="app">
  <header>
    <h1 id="title">{title}</h1>
    <input id="search" type="search" placeholder="find a node: name, op or shape"
           aria-label="find a node by name, op or shape" autocomplete="off">
    <span id="found"></span>
    <span class="buttons">
      <button id="collapse-all" title="collapse every module">collapse all</button>
      <button id="expand-all" title="expand every module">expand all</button>
      <button id="fit" title="fit the graph to the window">fit</button>
      <button id="export-svg" title="download the current view as SVG">SVG</button>
      <button id="export-png" title="download the current view as PNG">PNG</button>
    </span>
  </header>
  <main>
    <div id="canvas"><svg id="graph" xmlns="http://www.w3.org/2000/svg"></svg></div>
    <aside id="side">
      <section id="info"><p class="hint">Hover over a node to see its numbers; click to pin it.
        Click a module's title to collapse it, a module box to expand it. Drag to pan, scroll
        to zoom.</p></section>
      <section id="legend"></section>
      <section id="notes"></section>
    </aside>
  </main>
  <footer>
    <div class="controls">
      <button id="prev" title="previous step (left arrow)">&#9664;</button>
      <button id="play" title="play / pause (space)">&#9654; play</button>
      <button id="next" title="next step (right arrow)">&#9654;</button>
      <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
      <span id="where"></span>
    </div>
    <div id="caption"></div>
  </footer>
</div>
<noscript>This page draws the graph with JavaScript; please enable it.</noscript>
<script type="application/json" id="graph-data">{data}</script>
<script>{dagre}</script>
<script>{js}</script>
</body>
</html>
"""
