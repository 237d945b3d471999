"""Turning DOT text into SVG/PNG: find a Graphviz program (system `dot`, else `graphviz-pure`)."""
import functools
import os
import shutil
import subprocess
import sysconfig

# Programs tried in order. `graphviz-pure` is a self-contained port of `dot` shipped as a pip
# wheel (a binary, no Python code), installed under its own name so it never shadows `dot`.
PROGRAMS = ("dot", "graphviz-pure")

INSTALL_HINT = (
    "install one of:\n"
    "  pip install chainrule[render]    (or: pip install graphviz-pure; a pip-only 'dot')\n"
    "  apt-get install graphviz         (Debian/Ubuntu)\n"
    "  brew install graphviz            (macOS)\n"
    "  conda install graphviz\n"
    "The DOT text is still available without a renderer: draw_graph(...).source")


class RendererNotFoundError(RuntimeError):
    """No Graphviz program was found to lay out the graph."""


def _which(program):
    """`program` on PATH, or in this interpreter's scripts folder (an un-activated venv)."""
    found = shutil.which(program)
    if found is None:
        scripts = sysconfig.get_path("scripts")
        if scripts:
            found = shutil.which(program, path=scripts)
    return found


def find_renderer():
    """(program name, path) of the Graphviz program to use, or None when there is none.

    The environment variable CHAINRULE_DOT, when set, names the program to use instead.
    """
    forced = os.environ.get("CHAINRULE_DOT")
    if forced:
        path = _which(forced)
        return (os.path.basename(forced), path) if path else None
    for program in PROGRAMS:
        path = _which(program)
        if path:
            return program, path
    return None


def render(source, format="svg"):  # noqa: A002 -- graphviz's own argument name
    """Lay out DOT `source` and return the bytes of the image (`format`: 'svg' or 'png')."""
    found = find_renderer()
    if found is None:
        raise RendererNotFoundError(
            f"cannot render the graph as {format}: no Graphviz program found (looked for "
            f"{' and '.join(repr(p) for p in PROGRAMS)} on PATH); " + INSTALL_HINT)
    program, path = found
    proc = subprocess.run([path, f"-T{format}"], input=source.encode("utf-8"),
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{program} ({path}) failed to render {format} "
                           f"(exit code {proc.returncode}): "
                           f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def to_svg(source):
    """SVG text for DOT `source`."""
    return render(source, "svg").decode("utf-8")


def to_png(source):
    """PNG bytes for DOT `source`."""
    return render(source, "png")


@functools.lru_cache(maxsize=None)
def digraph_class():
    """A `graphviz.Digraph` subclass whose Jupyter display uses `render` (so graphviz-pure works).

    Built on first use: `graphviz` is imported lazily, so the engine works without it.
    """
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("autograd.viz needs the 'graphviz' Python package to build "
                          "graphs: pip install graphviz") from e

    class Digraph(graphviz.Digraph):
        """A graphviz.Digraph that renders through chainrule's renderer discovery."""

        def _repr_image_svg_xml(self):
            return to_svg(self.source)

        def _repr_image_png(self):
            return to_png(self.source)

        def _repr_svg_(self):
            return to_svg(self.source)

    Digraph.__module__ = __name__
    return Digraph
