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


def _graphviz_runs_it(renderer, formatter, neato_no_op, engine):
    """Whether graphviz's own pipe/render should run: options only it knows, or the system
    `dot` chosen (the one graphviz runs) and present."""
    if renderer or formatter or neato_no_op or engine not in (None, "dot"):
        return True
    found = find_renderer()
    return found is not None and found[0] == "dot"


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
        """A graphviz.Digraph that renders through chainrule's renderer discovery.

        `.pipe(format=...)` and `.render(...)` work as graphviz's own, with the system `dot`
        when there is one, else through `graphviz-pure` (graphviz itself only runs `dot`).
        """

        def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None,  # noqa: A002
                 quiet=False, *, engine=None, encoding=None):
            if _graphviz_runs_it(renderer, formatter, neato_no_op, engine):
                return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                    engine=engine, encoding=encoding)
            data = render(self.source, format or self.format)
            return data.decode(encoding) if encoding else data

        def render(self, filename=None, directory=None, view=False, cleanup=False,
                   format=None, renderer=None, formatter=None, neato_no_op=None,  # noqa: A002
                   quiet=False, quiet_view=False, *, outfile=None, engine=None, **kw):
            if view or kw or _graphviz_runs_it(renderer, formatter, neato_no_op, engine):
                return super().render(filename, directory, view, cleanup, format, renderer,
                                      formatter, neato_no_op, quiet, quiet_view,
                                      outfile=outfile, engine=engine, **kw)
            format = format or (os.path.splitext(outfile)[1].lstrip(".") if outfile
                                else self.format)
            source_path = self.save(filename, directory=directory)
            target = outfile if outfile is not None else f"{source_path}.{format}"
            data = render(self.source, format)
            with open(target, "wb") as f:
                f.write(data)
            if cleanup:
                os.remove(source_path)
            return os.fspath(target)

        def _repr_image_svg_xml(self):
            return to_svg(self.source)

        def _repr_image_png(self):
            return to_png(self.source)

        def _repr_svg_(self):
            return to_svg(self.source)

    Digraph.__module__ = __name__
    return Digraph
