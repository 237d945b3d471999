"""Graph pictures for the CLI: a model's forward graph, or a small expression's, as SVG.

Drawing is autograd.viz's job; without it (or without the graphviz Python package) this
module writes the DOT text itself from the public graph view (`grad_fn.name`,
`grad_fn.parents`, `data`, `grad`). When Graphviz cannot render (no `dot` program), the
.dot source is written instead, and the caller says so.
"""
from pathlib import Path

import numpy as np

from autograd import Tensor


def save_graph(root, path, title=None, **draw_options):
    """Write the graph ending at `root` to `path` (.svg); returns ('graph', path, None), or
    ('graph (DOT source)', path_to_dot, why) when Graphviz could not render it."""
    path = Path(path)
    try:
        from autograd import viz
    except ImportError:
        viz = None
    source = None
    if viz is not None:
        try:
            source = viz.draw_graph(root, **draw_options).source
        except ImportError:  # no graphviz Python package: draw the DOT text ourselves
            source = None
    if source is None:
        source = _fallback_dot(root, title)
    try:
        if viz is not None:
            svg = viz.to_svg(source)
        else:
            import graphviz

            svg = graphviz.Source(source).pipe(format="svg").decode("utf-8")
    except Exception as exc:  # no `dot` program, no graphviz package, or dot failed
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(source)
        reason = str(exc).split(";")[0]
        return ("graph (DOT source)", dot_path,
                f"note: the graph was written as DOT text, not SVG ({reason}); install "
                f"Graphviz and run `dot -Tsvg {dot_path} -o {path}`")
    path.write_text(svg, encoding="utf-8")
    return "graph", path, None


def _fmt(array):
    if array is None:
        return "released"
    if isinstance(array, Tensor):
        array = array.data
    array = np.asarray(array)
    if array.size == 1:
        return f"{array.item():.4g}"
    return f"shape {array.shape}"


def _fallback_dot(root, title):
    """Graphviz source for the graph ending at `root`: a box per tensor, an oval per op."""
    lines = ["digraph G {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  label="{title}"; labelloc=t;')
    seen, stack = set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        label = (f"{t.name} | " if t.name else "") + f"data {_fmt(t.data)}"
        if t.grad is not None:
            label += f" | grad {_fmt(t.grad)}"
        lines.append(f'  t{id(t)} [shape=record, label="{{{label}}}"];')
        fn = t.grad_fn
        if fn is None:
            continue
        lines.append(f'  f{id(fn)} [shape=ellipse, label="{fn.name}"];')
        lines.append(f"  f{id(fn)} -> t{id(t)};")
        for parent in fn.parents:
            lines.append(f"  t{id(parent)} -> f{id(fn)};")
            stack.append(parent)
    lines.append("}")
    return "\n".join(lines) + "\n"


def model_graph(model, data, path):
    """The graph of the loss on a tiny batch (2 examples; 3 characters for text), with the
    gradients of one backward pass (cleared again afterwards)."""
    from .explorer import tiny_batch_loss

    loss = tiny_batch_loss(model, data)
    loss.backward()  # the drawing shows (and colours by) the gradients; the graph outlives it
    try:
        return save_graph(loss, path, title=f"{type(model).__name__}: loss on a tiny batch",
                          params=dict(model.named_parameters()), model=model)
    finally:
        model.zero_grad()


def expression_graph(output, path, source):
    return save_graph(output, path, title=source)


__all__ = ["save_graph", "model_graph", "expression_graph"]
