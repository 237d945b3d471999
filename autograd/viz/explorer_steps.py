"""The forward and backward passes as steps of the explorer page's slider, with chain-rule captions.

Forward steps follow a topological order of the drawn ops. Backward steps come from
`backward_steps` (steps.py), which replays the backward pass (or, after a backward() that
released the graph, reads what that pass kept) and writes one line of chain rule per op;
where it cannot (an op with no rule, too many ops), the backward steps are the forward order
reversed, with no arithmetic.
"""
from collections import deque

import numpy as np

from .graph import fmt_shape

# NOTE: backward_steps writes a picture (DOT text) of every step, which walks the whole graph
# each time: quadratic in the number of ops (0.7 s for 500 ops, 5 s for 750). Beyond this many ops
# the page shows the order of the steps without their captions.
MAX_CAPTIONED = 500


def pass_steps(walk, roots, params=None, model=None, total_ops=None):
    """{"steps": [...], "notes": [...]}, the gradients of the replayed pass as {id(tensor):
    array} and, per value id, the slider position at which its gradient is complete."""
    forward = _topological(walk)
    made = {oid: (node, out) for oid, node, out in walk.ops}
    steps = [{"phase": "forward", "op": oid,
              "text": f"forward {k + 1}/{len(forward)}: {made[oid][0].name} computes a "
                      f"tensor of shape {fmt_shape(made[oid][1].shape)}"}
             for k, oid in enumerate(forward)]
    notes, grads = [], {}
    released = any(getattr(node, "inputs", None) is None for _, node, _ in walk.ops)
    frames, why = _replay(walk, roots, params, model, total_ops, released)
    if why:
        notes.append(why)
    if frames is None and (len(roots) != 1 or not roots[0].requires_grad):
        return {"steps": steps, "notes": notes, "captions": False}, grads, {}
    backward = []
    if frames is not None:
        value_id, op_id = walk.value_id, walk.op_id
        skipped = 0
        for frame in frames:
            oid = op_id.get(id(frame.node))
            if oid is None:
                skipped += 1
                continue
            got = [value_id[id(p)] for p, flows in zip(_parents(frame.node), frame.flows)
                   if flows and id(p) in value_id]
            backward.append((oid, frame.caption, got))
        if not released:  # a released graph's frames hold totals; .grad reads what it kept
            grads = _accumulate(frames, roots[0])
        if skipped:
            notes.append(f"{skipped} backward steps through ops beyond the drawn part of the "
                         "graph are not shown.")
    else:
        inputs = {}
        for src, dst, key in walk.edges:
            if key[0] == "in":
                inputs.setdefault(dst, []).append(src)
        backward = [(oid, None, inputs.get(oid, [])) for oid in reversed(forward)]
    offset = len(steps)
    done = {walk.value_id[id(roots[0])]: offset + 1}
    for k, (oid, caption, got) in enumerate(backward):
        text = caption if caption else f"{made[oid][0].name}: gradient passed to its inputs"
        steps.append({"phase": "backward", "op": oid, "inputs": got,
                      "text": f"backward {k + 1}/{len(backward)}: {text}"})
        for vid in got:
            done[vid] = offset + k + 1
    return {"steps": steps, "notes": notes, "captions": frames is not None}, grads, done


def _topological(walk):
    """The drawn ops, each after the ops that made its inputs (Kahn's algorithm, in the
    walk's order among ops that are ready together)."""
    made_by = {}
    for src, dst, key in walk.edges:
        if key[0] == "out":
            made_by[dst] = src
    needs = {oid: set() for oid, _, _ in walk.ops}
    users = {oid: [] for oid, _, _ in walk.ops}
    for src, dst, key in walk.edges:
        if key[0] == "in" and src in made_by:
            before = made_by[src]
            if before not in needs[dst]:
                needs[dst].add(before)
                users[before].append(dst)
    # the walk starts at the root, so the ops farthest from it come last: go from the end
    ready = deque(oid for oid, _, _ in reversed(walk.ops) if not needs[oid])
    order = []
    while ready:
        oid = ready.popleft()
        order.append(oid)
        for user in users[oid]:
            needs[user].discard(oid)
            if not needs[user]:
                ready.append(user)
    return order


def _replay(walk, roots, params, model, total_ops, released):
    """The frames of backward_steps as a list, or None and the reason the page gives."""
    from .steps import backward_steps

    if len(roots) != 1:
        return None, "Backward steps are shown for a single root tensor only."
    root = roots[0]
    if not root.requires_grad:
        return None, ("The root does not require grad, so there is no backward pass to "
                      "step through.")
    if total_ops is not None and total_ops > MAX_CAPTIONED:
        return None, (f"The graph has {total_ops} ops, so the backward steps show the order "
                      f"only (chain-rule captions up to {MAX_CAPTIONED} ops).")
    try:
        # max_nodes=1: each frame also writes DOT text of its picture, which the page does
        # not use; a one-node walk keeps that cheap
        frames = list(backward_steps(root, params=params, model=model, max_nodes=1,
                                     show_data=False))
    except Exception as exc:  # a missing rule, a hook that raises
        return None, (f"The backward pass could not be replayed ({type(exc).__name__}: "
                      f"{exc}), so the backward steps show the order only.")
    for frame in frames:
        frame.dot = None  # the pictures' DOT text: not used here
    if released:
        return frames, _released_note(frames)
    return frames, None


def _released_note(frames):
    """What the steps of a released graph leave out, or None when they miss nothing."""
    missing = any(frame.grad_in is None
                  or any(f and g is None for f, g in zip(frame.flows, frame.grads_out))
                  for frame in frames)
    shared = any("(its total over all its uses)" in frame.caption for frame in frames)
    if not (missing or shared):
        return None  # every gradient was small enough to keep: the steps are complete
    what = ["The graph was released by backward(): the steps show the gradients that pass "
            "kept"]
    if missing:
        what.append(", those of tensors of at most 6 elements and the leaves' .grad, and "
                    "each larger gradient by its rule and shape")
    if shared:
        what.append("; an input used by several ops shows its total")
    what.append(". Call backward(retain_graph=True), or explore before backward(), to see "
                "every step's own numbers.")
    return "".join(what)


def _parents(node):
    """An op's inputs: `parents` where the engine has it (it outlives backward), else `inputs`."""
    parents = getattr(node, "parents", None)
    return node.inputs if parents is None else parents


def _accumulate(frames, root):
    """dL/dt for every tensor the replayed pass reached, as {id(tensor): array}."""
    known = {id(root): np.ones(root.shape, dtype=root.dtype)}
    for frame in frames:
        for parent, g in zip(_parents(frame.node), frame.grads_out):
            if g is not None:
                known[id(parent)] = g if id(parent) not in known else known[id(parent)] + g
    return known
