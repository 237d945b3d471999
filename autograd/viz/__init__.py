"""See the graph: draw what computed a tensor, colour it by gradient, step through backward.

    >>> from autograd import Tensor, viz
    >>> x = Tensor(-2.0, requires_grad=True, name="x")
    >>> f = x * x
    >>> "mul" in viz.draw_graph(f).source      # DOT text, no renderer needed
    True

`viz.show(f)` displays inline in Jupyter; `viz.save_svg(f, "f.svg")`; `viz.backward_steps(f)`
yields one frame per op of the backward pass, and `viz.play(f)` puts them behind back/next
buttons. Rendering uses the system `dot` or, failing that,
the pip package `graphviz-pure`. `viz.explore(f).save("f.html")` writes one self-contained
page to zoom into the graph, collapse its modules and step through both passes (no `dot`
needed: the page lays the graph out itself).
"""
from .colors import EXPLODING, VANISHING, grad_color
from .explorer import Explorer, explore
from .graph import draw_graph
from .render import RendererNotFoundError, find_renderer, to_png, to_svg
from .steps import Frame, FramePlayer, backward_steps, play


class SVG:
    """Rendered SVG text that Jupyter displays inline (`_repr_svg_`); `str()` gives the text."""

    def __init__(self, text, source=None):
        self.text = text
        self.source = source

    def _repr_svg_(self):
        return self.text

    def __str__(self):
        return self.text


def _graph(root, kw):
    from autograd import Tensor

    if not isinstance(root, (Tensor, list, tuple)) and hasattr(root, "source"):
        return root  # already a drawn graph
    return draw_graph(root, **kw)


def show(root, **kw):
    """Render the graph of `root` (a Tensor, list of Tensors, or a draw_graph result) to SVG.

    Returns an object that displays itself in Jupyter; keyword arguments go to draw_graph.
    """
    graph = _graph(root, kw)
    return SVG(to_svg(graph.source), graph.source)


def save_svg(root, path, **kw):
    """Write the graph of `root` as an SVG file at `path`; returns the path."""
    graph = _graph(root, kw)
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_svg(graph.source))
    return path


def save_png(root, path, **kw):
    """Write the graph of `root` as a PNG file at `path`; returns the path."""
    graph = _graph(root, kw)
    with open(path, "wb") as f:
        f.write(to_png(graph.source))
    return path


__all__ = ["draw_graph", "show", "save_svg", "save_png", "backward_steps", "Frame", "SVG",
           "play", "FramePlayer", "explore", "Explorer",
           "grad_color", "VANISHING", "EXPLODING", "find_renderer", "to_svg", "to_png",
           "RendererNotFoundError"]
