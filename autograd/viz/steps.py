"""The backward pass frame by frame: which op's local gradient is applied, and what flows where."""
import numpy as np

from .graph import (Overlay, Walk, _as_roots, build_dot, fmt_array, fmt_shape, value_data,
                    value_grad)

# Each op's local rule, per input, as (in symbols, in numbers). Names in braces: {g} the
# incoming gradient dL/dout, {a} {b} the inputs, {out} the output. The numeric form is used
# when every tensor involved is a single number; ops not listed show only the result.
_RULES = {
    "add": [("dL/dout", "{g}"), ("dL/dout", "{g}")],
    "sub": [("dL/dout", "{g}"), ("-dL/dout", "-({g})")],
    "mul": [("dL/dout × {B}", "{g} × {b}"), ("dL/dout × {A}", "{g} × {a}")],
    "div": [("dL/dout / {B}", "{g} / {b}"), ("-dL/dout × {A} / {B}²", "-({g}) × {a} / ({b})²")],
    "neg": [("-dL/dout", "-({g})")],
    "exp": [("dL/dout × exp({A})", "{g} × {out}")],
    "log": [("dL/dout / {A}", "{g} / {a}")],
    "sqrt": [("dL/dout / (2 √{A})", "{g} / (2 × {out})")],
    "tanh": [("dL/dout × (1 - tanh²)", "{g} × (1 - ({out})²)")],
    "sigmoid": [("dL/dout × σ (1 - σ)", "{g} × {out} × (1 - {out})")],
    "relu": [("dL/dout × [{A} > 0]", None)],
    "sin": [("dL/dout × cos({A})", None)],
    "cos": [("-dL/dout × sin({A})", None)],
    "abs": [("dL/dout × sign({A})", None)],
    "pow": [("dL/dout × p {A}^(p-1)", None), ("dL/dout × out × ln {A}", None)],
    "matmul": [("dL/dout @ {B}ᵀ", None), ("{A}ᵀ @ dL/dout", None)],
    "linear": [("dL/dout @ {B}", None), ("dL/doutᵀ @ {A}", None), ("dL/dout", None)],
    "cross_entropy": [("(softmax({A}) - onehot(target)) × dL/dout", None)],
    "sum": [("dL/dout broadcast to {A}'s shape", None)],
    "reshape": [("dL/dout reshaped back", None)],
    "transpose": [("dL/dout transposed back", None)],
    "getitem": [("dL/dout scattered into zeros", None)],
    "max": [("dL/dout at the argmax", None)],
    "expand": [("dL/dout summed over the broadcast axes", None)],
}

# Ops whose rule returns a gradient of the output's shape, which the engine sums back to a
# broadcast input's shape: a released graph tells that the input was broadcast by its shape.
_BROADCASTING = {"add": None, "sub": None, "mul": None, "div": None, "pow": None,
                 "maximum": None, "minimum": None, "linear": (2,)}  # None: every input


class Frame:
    """One step of the backward pass: op `node` turned `grad_in` (dL/d its output) into
    `grads_out` (dL/d each input, None where no gradient flows).

    `.dot` is the DOT text, `.svg` the rendered picture (rendered on first use), `.caption`
    one line of arithmetic. `flows[i]` says whether a gradient flows to input i: after a
    backward() that released the graph, `grad_in` and `grads_out[i]` are None where that
    pass did not keep the array (a tensor of more than 6 elements that is not a leaf), while
    `flows` still says where the gradient went. Displays itself in Jupyter.
    """

    def __init__(self, index, node, output, grad_in, grads_out, caption, dot, flows=None):
        self.index = index
        self.node = node
        self.output = output
        self.grad_in = grad_in
        self.grads_out = grads_out
        self.caption = caption
        self.dot = dot
        self.flows = tuple(g is not None for g in grads_out) if flows is None else flows
        self._svg = None

    @property
    def svg(self):
        if self._svg is None:
            from .render import to_svg

            self._svg = to_svg(self.dot)
        return self._svg

    def _repr_svg_(self):
        return self.svg

    def __repr__(self):
        return f"<Frame {self.index}: {self.caption}>"


def backward_steps(root, params=None, gradient=None, model=None, grad_colors=False, **kw):
    """Run backward from `root` and yield one Frame per op, in the order the engine applies them.

    Each frame highlights the op whose local gradient is applied, labels its edges with the
    gradients flowing along them, and shows on every value the gradient accumulated so far.
    The user's graph and `.grad`s are left as they were: the pass keeps the graph
    (retain_graph=True) and returns gradients instead of accumulating them into leaves.
    Hooks registered on tensors (register_hook) do run, as in any backward. After a
    backward() that released the graph, the frames replay what that pass kept (the gradient
    of every small tensor); an input used by two ops shows its total gradient.
    Keyword arguments go to draw_graph (show_data, rankdir, group_modules, ...).

    >>> from autograd import Tensor
    >>> x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2., "x"), (5., "y"), (-4., "z")))
    >>> frames = list(backward_steps((x + y) * z))
    >>> [f.node.name for f in frames], x.grad is None
    (['mul', 'add'], True)
    """
    from autograd.engine import backward

    roots = _as_roots(root)
    if len(roots) != 1:
        raise ValueError(f"backward_steps: expected one root tensor, got {len(roots)}")
    root = roots[0]
    if not root.requires_grad:
        raise RuntimeError(f"backward_steps: the root of shape {root.shape} does not require "
                           "grad, so there is no backward pass to show; create the leaves with "
                           "requires_grad=True")
    if params is None and model is not None:
        params = dict(model.named_parameters())
    param_name = {id(p): n for n, p in (params or {}).items()}
    walk = Walk([root], None)
    aliases = _aliases(walk, param_name)
    if any(node.released for _, node, _ in walk.ops):
        steps = _kept_steps(walk)
    else:
        steps = _replayed_steps(walk, root, gradient)

    if gradient is None:
        seed = np.ones(root.shape, dtype=root.dtype)
    else:
        seed = np.asarray(getattr(gradient, "data", gradient), dtype=root.dtype)
    known = {id(root): seed}
    for k, (out, g, node, outs, summed, flows) in enumerate(steps):
        labels = {("out", id(node)): (f"dL/dout = {fmt_array(g)}" if g is not None
                                      else f"dL/dout {fmt_shape(out.shape)}")}
        for i, (parent, pg) in enumerate(zip(node.parents, outs)):
            if pg is None:
                if flows[i]:  # released: the gradient flowed, its array was not kept
                    labels[("in", id(node), i)] = (f"dL/d{aliases[id(parent)]} "
                                                   f"{fmt_shape(parent.shape)}")
                continue
            if summed[i] is None or id(parent) not in known:  # None: a total (see _kept_steps)
                known[id(parent)] = pg
            else:
                known[id(parent)] = known[id(parent)] + pg
            labels[("in", id(node), i)] = f"dL/d{aliases[id(parent)]} += {fmt_array(pg)}"
        caption = _caption(node, out, g, outs, summed, flows, aliases)
        overlay = Overlay(grads=dict(known), highlight=node, edge_labels=labels,
                          names=aliases)
        body, _ = build_dot([root], params=params, model=model, grad_colors=grad_colors,
                            overlay=overlay, title=f"step {k + 1}/{len(steps)}  {caption}",
                            **kw)
        dot = "digraph backward_step {\n" + "".join(body) + "}\n"
        yield Frame(k, node, out, g, outs, caption, dot, tuple(flows))


def _replayed_steps(walk, root, gradient):
    """(output, dL/dout, op, dL/d each input, broadcast flags, flows) per op, from a backward
    pass that keeps the graph and returns its gradients instead of writing them on leaves."""
    from autograd.engine import backward

    leaves = [t for _, t in walk.values if t.is_leaf and t.requires_grad]
    steps = []

    def on_step(t, g, node, input_grads):
        outs, summed = [], []
        for parent, pg in zip(node.inputs, input_grads):
            if pg is None or not parent.requires_grad:
                outs.append(None)
                summed.append(False)
            else:
                outs.append(_sum_to(np.array(pg.data, copy=True), parent.shape))
                summed.append(pg.shape != parent.shape)
        flows = [pg is not None for pg in outs]
        steps.append((t, np.array(g.data, copy=True), node, outs, summed, flows))

    backward([root], None if gradient is None else [gradient], retain_graph=True,
             inputs=leaves, on_step=on_step)
    return steps


def _kept_steps(walk):
    """The same steps from what a releasing backward() kept, running no large rule again: each
    op's output gradient where it was small (autograd.kept_grads) and, for each input, the
    gradient it received in all: exact where the op is its only consumer; for a shared
    input its total, flagged None. A larger intermediate's gradient was not kept: its
    entry is None and `flows` says that a gradient went there (the caption gives its rule
    and shape).

    NOTE: the engine keeps nothing more for this than for draw_graph (no statistics, no
    copies): a training step pays nothing for frames that nobody asks for.
    """
    out_of = {id(node): out for _, node, out in walk.ops}
    uses = {}
    for _, node, _ in walk.ops:
        for parent in node.parents:
            uses[id(parent)] = uses.get(id(parent), 0) + 1
    steps = []
    for node in _backward_order(walk):
        out = out_of[id(node)]
        g = value_grad(out)
        flows = [bool(p.requires_grad) for p in node.parents]
        outs = [value_grad(p) if flow else None for p, flow in zip(node.parents, flows)]
        summed = [_broadcast(node, i, p, out) if uses[id(p)] == 1 else None
                  for i, p in enumerate(node.parents)]
        steps.append((out, g, node, outs, summed, flows))
    return steps


def _broadcast(node, i, parent, out):
    """Whether op `node` broadcast its input `i` (so the engine summed its gradient back)."""
    if node.name not in _BROADCASTING:
        return False
    which = _BROADCASTING[node.name]
    return (which is None or i in which) and tuple(parent.shape) != tuple(out.shape)


def _backward_order(walk):
    """The drawn ops in the engine's order: each after every op that consumes its output."""
    producer = {id(out): node for _, node, out in walk.ops}
    order, done, stack = [], set(), [(walk.values[0][1], False)]
    while stack:
        t, expanded = stack.pop()
        node = producer.get(id(t))
        if node is None:
            continue
        if expanded:
            order.append(node)
            continue
        if id(node) in done:
            continue
        done.add(id(node))
        stack.append((t, True))
        stack.extend((parent, False) for parent in node.parents)
    order.reverse()
    return order


def _aliases(walk, param_name):
    """A short name for every tensor in captions: its own, its parameter name, or 'op_out'."""
    aliases, used = {}, {}
    for _, t in walk.values:
        name = param_name.get(id(t)) or t.name
        if not name:
            if t.grad_fn is not None:
                name = f"{t.grad_fn.name}_out"
            else:
                name = "input" if t.requires_grad else "const"
            used[name] = used.get(name, 0) + 1
            if used[name] > 1:
                name = f"{name}{used[name]}"
        aliases[id(t)] = name
    return aliases


def _sum_to(array, shape):
    """Sum a broadcast gradient back to `shape` (for display; the engine does its own)."""
    while array.ndim > len(shape):
        array = array.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and array.shape[axis] != 1:
            array = array.sum(axis=axis, keepdims=True)
    return array


def _caption(node, out, g, outs, summed, flows, aliases):
    """One line: 'mul: dL/dz = dL/dout × add_out = 1 × 3 = 3; ...'."""
    inputs = node.parents
    rules = _RULES.get(node.name)
    names = {"A": aliases[id(inputs[0])] if inputs else "",
             "B": aliases[id(inputs[1])] if len(inputs) > 1 else ""}
    data = [value_data(t) for t in (out, *inputs)]
    scalar = (g is not None and g.size == 1
              and all(d is not None and d.size == 1 for d in data))
    values = dict(g=fmt_array(g) if scalar else "",
                  out=fmt_array(data[0]) if scalar else "",
                  a=fmt_array(data[1]) if scalar and inputs else "",
                  b=fmt_array(data[2]) if scalar and len(inputs) > 1 else "")
    parts = []
    for i, (parent, pg) in enumerate(zip(inputs, outs)):
        if pg is None and not flows[i]:
            continue
        text = f"dL/d{aliases[id(parent)]} = "
        if summed[i] is None and pg is not None:  # a released graph kept only its total
            parts.append(text + f"{_numbers(pg)} (its total over all its uses)")
            continue
        if rules is not None and i < len(rules):
            symbolic, numeric = rules[i]
            text += symbolic.format(**names)
            if summed[i]:  # the input was broadcast in the forward pass
                text += f", summed to {fmt_shape(parent.shape)}"
            text += " = "
            if scalar and numeric is not None:
                text += numeric.format(**values) + " = "
        if pg is None:  # released by backward(), which keeps the gradients of small tensors
            parts.append(text + f"{_a_shape(parent.shape)} that backward() did not keep")
            continue
        result = _numbers(pg)
        if not text.endswith(f"= {result} = "):  # add's rule is the number itself
            text += result
        parts.append(text.removesuffix(" = "))
    return f"{node.name}: " + "; ".join(parts)


def _numbers(g):
    """A gradient in a caption: its numbers, or its shape and max |.| when large."""
    return fmt_array(g) if g.size <= 6 else f"{fmt_shape(g.shape)}, {fmt_array(g)}"


def _a_shape(shape):
    """'a (4, 4) array' or 'a scalar', for captions."""
    return "a scalar" if tuple(shape) == () else f"a {fmt_shape(shape)} array"


class FramePlayer:
    """The frames of one backward pass as a single HTML widget with back/next buttons, for
    Jupyter (`_repr_html_`); without JavaScript it shows the first frame. Indexable like a list.
    """

    def __init__(self, frames):
        self.frames = list(frames)

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return self.frames[i]

    def __iter__(self):
        return iter(self.frames)

    def _repr_html_(self):
        import html
        import json

        uid = f"chainrule-steps-{id(self):x}"
        parts = [f'<div id="{uid}"><div style="font-family:sans-serif;margin:4px 0">'
                 '<button class="prev">&#9664; back</button> '
                 '<button class="next">next &#9654;</button> '
                 f'<span class="where">step 1/{len(self.frames)}</span></div>']
        for k, frame in enumerate(self.frames):
            svg = frame.svg
            svg = svg[svg.index("<svg"):]  # drop the XML prolog: the SVG sits inside HTML
            shown = "block" if k == 0 else "none"
            parts.append(f'<div class="frame" style="display:{shown}" '
                         f'title="{html.escape(frame.caption)}">{svg}</div>')
        parts.append(
            "<script>(function(){var root=document.getElementById(" + json.dumps(uid) + ");"
            "var frames=root.querySelectorAll('.frame'),where=root.querySelector('.where'),i=0;"
            "function show(k){i=(k+frames.length)%frames.length;"
            "frames.forEach(function(f,j){f.style.display=(j==i)?'block':'none';});"
            "where.textContent='step '+(i+1)+'/'+frames.length;}"
            "root.querySelector('.prev').onclick=function(){show(i-1);};"
            "root.querySelector('.next').onclick=function(){show(i+1);};})();</script></div>")
        return "".join(parts)


def play(root, **kw):
    """All frames of `backward_steps(root, **kw)` in one widget to click through in Jupyter."""
    return FramePlayer(backward_steps(root, **kw))
