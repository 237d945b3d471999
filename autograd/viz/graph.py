"""Walking a graph from its output and writing it as DOT: value nodes, op nodes, module clusters."""
from collections import deque

import numpy as np

from autograd.kept_grads import kept_grad
from autograd.summary import SMALL  # tensors with at most this many elements show their numbers

from .colors import EXPLODING, VANISHING, grad_color, legend_dot, magnitude

_OP_FILL = "#dde6f5"
_VALUE_FILL = "#f7f7f7"
_HIGHLIGHT = "#ffd34d"


# ---- formatting -------------------------------------------------------------------------------

def fmt_number(x):
    """A number for a label: integers without a point, others with 4 significant digits."""
    x = float(x)
    if np.isfinite(x) and x == round(x) and abs(x) < 1e6:
        return str(int(round(x)))
    return f"{x:.4g}"


def fmt_array(array):
    """A small array as nested brackets ('-12', '[1, 2.5]'); a large one by shape and max |x|."""
    array = np.asarray(array)
    if array.size > SMALL:
        return f"max|.| {magnitude(array):.3g}"
    if array.ndim == 0:
        return fmt_number(array)
    if array.size == 0:
        return "[]"
    # nested lists, written iteratively: one level of brackets per axis
    rows = [fmt_number(v) for v in array.reshape(-1)]
    for size in reversed(array.shape):
        rows = ["[" + ", ".join(rows[i:i + size]) + "]" for i in range(0, len(rows), size)]
    return rows[0]


def fmt_shape(shape):
    return "scalar" if shape == () else str(tuple(int(n) for n in shape))


def _quote(text):
    """A DOT double-quoted string; lines are joined with centred line breaks."""
    lines = str(text).split("\n")
    return '"' + "\\n".join(ln.replace("\\", "\\\\").replace('"', '\\"') for ln in lines) + '"'


def _attrs(**kw):
    """A DOT attribute list from keyword arguments, leaving out those that are None."""
    return "[" + " ".join(f"{k}={_quote(v)}" for k, v in kw.items() if v is not None) + "]"


# ---- what a drawn value shows ---------------------------------------------------------------

def value_data(t):
    """The numbers of a drawn tensor: its array, or None where a released graph kept none."""
    return t.data


def value_grad(t):
    """dL/dt as an array, or None: `.grad` where set, else the gradient that the last
    backward() left for a small output of an op (autograd.kept_grads)."""
    g = t.grad
    if g is not None:
        return g if isinstance(g, (np.ndarray, np.generic)) else g.data  # a summary's, a Tensor's
    return kept_grad(t.grad_fn)


# ---- the walk ---------------------------------------------------------------------------------

class Walk:
    """The part of the graph to draw: tensors and ops nearest the roots, breadth first.

    `values`: [(id, Tensor)], `ops`: [(id, node, output Tensor)], `edges`: [(src, dst, key)]
    with key ("out", id(node)) or ("in", id(node), input index); `more`: how many graph nodes
    (tensors + ops) were left out beyond `max_nodes`, `cut`: drawn ids with something left out
    upstream. After backward() released the graph, values are read from what it keeps
    (`node.parents`: TensorSummary records, see autograd.summary).
    """

    def __init__(self, roots, max_nodes):
        self.values, self.ops, self.edges = [], [], []
        self.value_id, self.op_id = {}, {}
        self.cut = []
        self.more = 0
        limit = float("inf") if max_nodes is None else max_nodes
        queue = deque()
        for r in roots:
            if id(r) not in self.value_id:
                self._add_value(r)
                queue.append(r)
        frontier = []  # tensors left out, each an input of a drawn op
        while queue:
            t = queue.popleft()
            node = t.grad_fn
            if node is None or id(node) in self.op_id:
                continue
            if len(self.values) + len(self.ops) >= limit:
                pending = [t] + [q for q in queue if q.grad_fn is not None]
                for q in pending:  # drawn tensors whose op is left out
                    self._mark_cut(self.value_id[id(q)])
                self._count_rest(frontier + pending)
                break
            oid = f"op{len(self.ops)}"
            self.op_id[id(node)] = oid
            self.ops.append((oid, node, t))
            self.edges.append((oid, self.value_id[id(t)], ("out", id(node))))
            for i, parent in enumerate(node.parents):
                if id(parent) not in self.value_id:
                    if len(self.values) + len(self.ops) >= limit:
                        frontier.append(parent)
                        self._mark_cut(oid)
                        continue
                    self._add_value(parent)
                    queue.append(parent)
                self.edges.append((self.value_id[id(parent)], oid, ("in", id(node), i)))
        else:
            if frontier:
                self._count_rest(frontier)

    def _add_value(self, t):
        vid = f"v{len(self.values)}"
        self.value_id[id(t)] = vid
        self.values.append((vid, t))

    def _mark_cut(self, eid):
        if eid not in self.cut:
            self.cut.append(eid)

    def _count_rest(self, start):
        """Count the tensors and ops left out (an explicit stack: the graph may be huge)."""
        seen = set(self.value_id) | set(self.op_id)
        stack = list(start)
        while stack:
            t = stack.pop()
            if id(t) not in seen:
                seen.add(id(t))
                self.more += 1
            node = t.grad_fn
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            self.more += 1
            for parent in node.parents:
                if id(parent) not in seen:
                    stack.append(parent)


# ---- module names and clusters ----------------------------------------------------------------

def module_names(scopes, model=None, params=None):
    """{id(module): dotted name} for the modules in `scopes`, from `model` or the params names."""
    names = {}
    if model is not None:
        for name, m in model.named_modules():
            names.setdefault(id(m), name)
        return names
    param_names = {id(p): n for n, p in (params or {}).items()}
    outermost = []
    for scope in scopes:
        if scope and all(scope[0] is not m for m in outermost):
            outermost.append(scope[0])
    for top in outermost:
        prefix = ""
        for rel, p in top.named_parameters():
            full = param_names.get(id(p))
            if full is not None and full.endswith(rel):
                prefix = full[: len(full) - len(rel)].rstrip(".")
                break
        for rel, m in top.named_modules():
            full = ".".join(part for part in (prefix, rel) if part)
            names.setdefault(id(m), full)
    return names


def module_label(module, names):
    name = names.get(id(module), "")
    cls = type(module).__name__
    return f"{name} ({cls})" if name else cls


def _param_owners(scopes):
    """{id(parameter): the scope chain (outermost first) ending at the module that owns it}."""
    owners = {}
    for scope in scopes:
        for depth, m in enumerate(scope):
            for _, p in m.named_parameters(recurse=False):
                owners.setdefault(id(p), scope[: depth + 1])
    return owners


# ---- DOT --------------------------------------------------------------------------------------

class Overlay:
    """Extra drawing for one backward step: grads by tensor id (instead of `.grad`), the op
    node to highlight, edge labels keyed like Walk.edges, names for unnamed tensors."""

    def __init__(self, grads=None, highlight=None, edge_labels=None, names=None):
        self.grads = grads or {}
        self.highlight = highlight
        self.edge_labels = edge_labels or {}
        self.names = names or {}


class _Options:
    """The drawing switches of draw_graph, in one place."""

    def __init__(self, show_data=True, show_grad=True, rankdir="LR", max_nodes=500,
                 group_modules=True, collapse_modules=False, grad_colors=True,
                 vanishing=VANISHING, exploding=EXPLODING, legend=None, title=None):
        self.show_data, self.show_grad = show_data, show_grad
        self.rankdir, self.max_nodes = rankdir, max_nodes
        self.group_modules, self.collapse_modules = group_modules, collapse_modules
        self.grad_colors, self.vanishing, self.exploding = grad_colors, vanishing, exploding
        self.legend, self.title = legend, title


def build_dot(roots, params=None, model=None, overlay=None, **options):
    """The body lines of the DOT text (options as for draw_graph), and the Walk drawn."""
    opt = _Options(**options)
    overlay = overlay or Overlay()
    walk = Walk(roots, opt.max_nodes)
    if params is None and model is not None:
        params = dict(model.named_parameters())
    param_name = {id(p): n for n, p in (params or {}).items()}

    scopes, seen = [], set()
    for _, node, _ in walk.ops:
        key = tuple(id(m) for m in node.scope)
        if node.scope and key not in seen:
            seen.add(key)
            scopes.append(tuple(node.scope))
    names = module_names(scopes, model, params) if scopes else {}

    # where each drawn element sits: the chain of modules (outermost first) it was made in;
    # a parameter sits in the module that owns it
    owners = _param_owners(scopes) if scopes else {}
    chain = {}
    for oid, node, out in walk.ops:
        chain[oid] = chain[walk.value_id[id(out)]] = tuple(node.scope)
    for vid, t in walk.values:
        chain.setdefault(vid, owners.get(id(t), ()))

    def grad_of(t):
        if id(t) in overlay.grads:
            return overlay.grads[id(t)]
        return value_grad(t) if opt.show_grad else None

    display, units = _collapse(walk, chain, opt.collapse_modules)
    node_lines = []  # (module chain, DOT line)
    any_grad = False
    for vid, t in walk.values:
        if vid not in display:
            name = param_name.get(id(t)) or t.name or overlay.names.get(id(t), "")
            g = grad_of(t) if opt.show_grad else None
            any_grad = any_grad or g is not None
            node_lines.append((chain[vid], f"\t{vid} " + _value_attrs(
                t, name, g, opt, is_root=any(t is r for r in roots))))
    for oid, node, _ in walk.ops:
        if oid not in display:
            node_lines.append((chain[oid], f"\t{oid} " + _op_attrs(node, overlay)))
    for uid, (cut, members) in units.items():
        node_lines.append((cut[:-1], f"\t{uid} " + _unit_attrs(
            cut[-1], members, walk, names, param_name)))
    if not opt.group_modules:
        node_lines = [((), line) for _, line in node_lines]

    body = [f"\trankdir={opt.rankdir}\n", '\tnode [fontname="Helvetica" fontsize=11]\n',
            '\tedge [fontname="Helvetica" fontsize=9]\n']
    if opt.title:
        body.append(f'\tlabel={_quote(opt.title)} labelloc=t fontname="Helvetica"\n')
    body += [ln + "\n" for ln in _clustered(node_lines, names)]
    body += [ln + "\n" for ln in _edge_lines(walk, display, overlay, grad_of, opt)]
    body += [ln + "\n" for ln in _note_lines(walk, display)]
    if opt.legend if opt.legend is not None else (opt.grad_colors and any_grad):
        body += ["\t" + ln + "\n" for ln in legend_dot(opt.vanishing, opt.exploding)]
    return body, walk


def _collapse(walk, chain, collapse_modules):
    """With collapse_modules: {element id: unit id} and {unit id: (module chain, members)}."""
    display, units, unit_ids = {}, {}, {}
    if not collapse_modules:
        return display, units
    for eid in [v for v, _ in walk.values] + [o for o, _, _ in walk.ops]:
        c = chain[eid]
        if not c:
            continue
        cut = c if collapse_modules is True else c[: int(collapse_modules)]
        key = tuple(id(m) for m in cut)
        if key not in unit_ids:
            unit_ids[key] = f"m{len(unit_ids)}"
            units[unit_ids[key]] = (cut, set())
        display[eid] = unit_ids[key]
        units[unit_ids[key]][1].add(eid)
    return display, units


def _value_attrs(t, name, g, opt, is_root):
    lines = [name] if name else []
    lines.append(fmt_shape(t.shape))
    data = value_data(t)
    if opt.show_data and data is not None and data.size <= SMALL:
        lines.append(f"data {fmt_array(data)}")
    fill = _VALUE_FILL
    if g is not None:
        lines.append(f"grad {fmt_array(g)}")
        if opt.grad_colors:
            fill = grad_color(g, opt.vanishing, opt.exploding)
    # dashed and grey: a constant (no gradient flows into it)
    return _attrs(label="\n".join(lines), shape="box",
                  style="rounded,filled" if t.requires_grad else "rounded,filled,dashed",
                  fillcolor=fill, fontcolor=None if t.requires_grad else "gray35",
                  penwidth="2" if is_root else None,
                  tooltip=f"{name or 'tensor'} {fmt_shape(t.shape)} {t.dtype}")


def _op_attrs(node, overlay):
    lit = overlay.highlight is not None and node is overlay.highlight
    return _attrs(label=node.name, shape="ellipse", style="filled",
                  fillcolor=_HIGHLIGHT if lit else _OP_FILL,
                  penwidth="3" if lit else None, color="#b8860b" if lit else None)


def _unit_attrs(module, members, walk, names, param_name):
    """One node for a collapsed module: its name, parameter count, output shape."""
    lines = [module_label(module, names)]
    n_params = sum(int(np.prod(t.shape)) for v, t in walk.values
                   if v in members and id(t) in param_name)
    if n_params:
        lines.append(f"{n_params} parameters")
    leaving = [src for src, dst, _ in walk.edges if src in members and dst not in members]
    by_id = dict(walk.values)
    outs = [by_id[v] for v in leaving if v in by_id]
    if outs:
        lines.append(f"out {fmt_shape(outs[0].shape)}")
    return _attrs(label="\n".join(lines), shape="box3d", style="filled", fillcolor="#e8e0f5")


def _edge_lines(walk, display, overlay, grad_of, opt):
    lines, seen = [], set()
    value_of = dict(walk.values)
    for src, dst, key in walk.edges:
        s, d = display.get(src, src), display.get(dst, dst)
        if s == d:
            continue  # inside one collapsed module
        label = overlay.edge_labels.get(key)
        if (s, d) in seen and label is None:
            continue
        seen.add((s, d))
        color = None
        if label is not None:
            color = "#c0392b"
        elif opt.grad_colors and src in value_of and src not in display:
            g = grad_of(value_of[src])
            if g is not None:
                color = grad_color(g, opt.vanishing, opt.exploding)
        # a labelled edge carries a gradient: its arrow points the way the gradient flows
        attrs = dict(label=label, color=color, fontcolor="#c0392b" if label else None,
                     penwidth="2.5" if label else None, dir="back" if label else None)
        if any(v is not None for v in attrs.values()):
            lines.append(f"\t{s} -> {d} {_attrs(**attrs)}")
        else:
            lines.append(f"\t{s} -> {d}")
    return lines


def _note_lines(walk, display):
    """The '... N more nodes' summary, with its edges."""
    lines = []
    if walk.more:
        lines.append(f'\tmore [label="… {walk.more} more nodes" shape=note style=filled '
                     'fillcolor="#eeeeee" fontcolor=gray30]')
        for eid in walk.cut:
            lines.append(f"\tmore -> {display.get(eid, eid)} [style=dotted]")
    return lines


def _clustered(node_lines, names):
    """Node lines wrapped in nested `subgraph cluster_*` blocks, one per module chain.

    Clusters are emitted in order of first appearance (deterministic); written with an
    explicit stack of open clusters.
    """
    tree = {(): []}  # chain key -> [("node", line) | ("cluster", key)]
    modules = {}
    order = {(): 0}
    for c, line in node_lines:
        key = tuple(id(m) for m in c)
        for depth in range(1, len(key) + 1):
            sub = key[:depth]
            if sub not in tree:
                tree[sub] = []
                modules[sub] = c[depth - 1]
                order[sub] = len(order)
                tree[key[: depth - 1]].append(("cluster", sub))
        tree[key].append(("node", line))
    out = []
    stack = [((), 0, 0)]  # (cluster key, next item index, indent)
    while stack:
        key, i, indent = stack.pop()
        items = tree[key]
        if i >= len(items):
            if key:
                out.append("\t" * indent + "}")
            continue
        stack.append((key, i + 1, indent))
        kind, item = items[i]
        if kind == "node":
            out.append("\t" * indent + item)
        else:
            pad = "\t" * (indent + 1)
            out.append(pad + f"subgraph cluster_{order[item]} {{")
            out.append(pad + f"\tlabel={_quote(module_label(modules[item], names))} "
                       'style="rounded,dashed" color=gray50 fontname="Helvetica" fontsize=10')
            stack.append((item, 0, indent + 1))
    return out


def draw_graph(root, params=None, show_data=True, show_grad=True, rankdir="LR", max_nodes=500,
               group_modules=True, collapse_modules=False, grad_colors=True, model=None,
               vanishing=VANISHING, exploding=EXPLODING, legend=None):
    """The graph that computed `root` (a Tensor or a list of them), as a graphviz.Digraph.

    Value nodes (boxes) show the tensor's name (or its parameter name from `params`, e.g.
    `dict(model.named_parameters())`), its shape and, for tensors of at most 6 elements, its
    data and grad; op nodes (ellipses) sit between them. Ops recorded inside a module's
    forward are grouped in a cluster labelled `name (Class)` (`model=` gives the names);
    `collapse_modules=True` draws one node per innermost module (an int k: per module at
    nesting depth k). With `grad_colors`, values are filled by max|grad| on a log scale
    (blue < `vanishing`, red > `exploding`) and a legend is added. Beyond `max_nodes` the
    nodes farthest from the root are summarised as one "... N more nodes" node.
    In Jupyter the result displays itself; `.source` is the DOT text (no renderer needed).

    >>> from autograd import Tensor
    >>> x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    >>> f = (x + y) * z
    >>> "mul" in draw_graph(f).source
    True
    """
    roots = _as_roots(root)
    body, _ = build_dot(roots, params=params, show_data=show_data, show_grad=show_grad,
                        rankdir=rankdir, max_nodes=max_nodes, group_modules=group_modules,
                        collapse_modules=collapse_modules, grad_colors=grad_colors, model=model,
                        vanishing=vanishing, exploding=exploding, legend=legend)
    from .render import digraph_class

    return digraph_class()(name="chainrule", body=body)


def _as_roots(root):
    from autograd import Tensor

    roots = [root] if isinstance(root, Tensor) else list(root) if isinstance(
        root, (list, tuple)) else [root]
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw_graph: expected a Tensor (or a list of Tensors) to draw the "
                            f"graph of, got {type(r).__name__}")
    return roots
