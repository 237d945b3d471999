"""The drawn part of a graph as plain data for the explorer page: nodes, edges, module clusters.

Everything is read from graph.py's Walk and the module helpers draw_graph uses, so the page
names and groups exactly what the SVG pictures do.
"""
import numpy as np

from .colors import grad_color
from .graph import SMALL, _param_owners, fmt_array, fmt_shape, module_label, module_names
from .tensor_view import RELEASED, describe, read_data, read_grad

OP_FILL = "#dde6f5"
VALUE_FILL = "#f7f7f7"


def graph_data(walk, roots, params, model, vanishing, exploding, pass_grads=None):
    """{"nodes", "edges", "clusters"} for the page; `pass_grads` ({id(tensor): array}, from
    the step-through's backward pass) fill in gradients that `.grad` does not hold."""
    pass_grads = pass_grads or {}
    param_name = {id(p): n for n, p in (params or {}).items()}

    scopes, seen = [], set()
    for _, node, _ in walk.ops:
        key = tuple(id(m) for m in node.scope)
        if node.scope and key not in seen:
            seen.add(key)
            scopes.append(tuple(node.scope))
    names = module_names(scopes, model, params) if scopes else {}
    # as in build_dot: an op and its output sit in the modules running when the op was
    # recorded; a parameter sits in the module that owns it; other tensors outside
    owners = _param_owners(scopes) if scopes else {}
    chain = {}
    for oid, node, out in walk.ops:
        chain[oid] = chain[walk.value_id[id(out)]] = tuple(node.scope)
    for vid, t in walk.values:
        chain.setdefault(vid, owners.get(id(t), ()))
    clusters, cluster_of = _clusters(chain, names)

    made_by = {walk.value_id[id(out)]: node.name for _, node, out in walk.ops}
    root_ids = {id(r) for r in roots}
    nodes = []
    for vid, t in walk.values:
        name = param_name.get(id(t)) or getattr(t, "name", None) or ""
        nodes.append(_value_node(vid, t, name, made_by.get(vid, ""), id(t) in param_name,
                                 id(t) in root_ids, cluster_of.get(vid), pass_grads,
                                 vanishing, exploding))
    inputs_of, output_of = {}, {}
    for src, dst, key in walk.edges:
        if key[0] == "in":
            inputs_of.setdefault(dst, []).append(src)
        else:
            output_of[src] = dst
    value_of = dict(walk.values)
    for oid, node, out in walk.ops:
        where = getattr(node, "where", None)
        nodes.append({"id": oid, "kind": "op", "op": node.name, "name": "",
                      "shape": fmt_shape(out.shape), "label": [node.name],
                      "cluster": cluster_of.get(oid), "inputs": inputs_of.get(oid, []),
                      "output": output_of.get(oid),
                      "input_shapes": [fmt_shape(value_of[v].shape) for v in inputs_of.get(oid, [])],
                      "where": None if where is None else str(where)})
    edges = [[src, dst] for src, dst, _ in walk.edges]
    if walk.more:
        nodes.append({"id": "more", "kind": "note", "op": "", "name": "", "shape": "",
                      "label": [f"… {walk.more} more nodes"], "cluster": None})
        edges += [["more", eid, "dotted"] for eid in walk.cut]
    _cluster_summaries(clusters, nodes, edges, value_of)
    return {"nodes": nodes, "edges": edges, "clusters": clusters}


def _value_node(vid, t, name, made_by, is_param, is_root, cluster, pass_grads, vanishing,
                exploding):
    data = read_data(t)
    grad, source = read_grad(t), "grad"
    if grad is None and id(t) in pass_grads:
        grad, source = pass_grads[id(t)], "pass"
    label = [name] if name else []
    if t.shape != () or data is None:  # a scalar's number says it all
        label.append(fmt_shape(t.shape))
    if data is not None and data.size <= SMALL:
        label.append(f"data {fmt_array(data)}")
    if grad is not None and grad.size <= SMALL:
        label.append(f"grad {fmt_array(grad)}")
    if is_param:
        role = "parameter"
    elif made_by:
        role = f"output of {made_by}"
    elif t.requires_grad:
        role = "leaf (requires grad)"
    else:
        role = "constant (no gradient flows into it)"
    return {"id": vid, "kind": "value", "name": name, "op": made_by,
            "shape": fmt_shape(t.shape), "dtype": str(t.dtype), "label": label,
            "fill": VALUE_FILL if grad is None else grad_color(grad, vanishing, exploding),
            "constant": not t.requires_grad, "root": is_root, "param": is_param,
            "role": role, "cluster": cluster, "size": int(np.prod(t.shape)),
            "data": RELEASED if data is None else describe(data),
            "grad": describe(grad), "grad_source": None if grad is None else source}


def _clusters(chain, names):
    """[{id, label, parent, depth}] for every module chain prefix, in order of first
    appearance, and {element id: innermost cluster id}."""
    clusters, ids, cluster_of = [], {}, {}
    for eid, c in chain.items():
        key = tuple(id(m) for m in c)
        for depth in range(1, len(key) + 1):
            sub = key[:depth]
            if sub not in ids:
                ids[sub] = f"c{len(clusters)}"
                clusters.append({"id": ids[sub], "label": module_label(c[depth - 1], names),
                                 "parent": ids.get(key[: depth - 1]), "depth": depth})
        if key:
            cluster_of[eid] = ids[key]
    return clusters, cluster_of


def _cluster_summaries(clusters, nodes, edges, value_of):
    """Add to each cluster what its collapsed box shows: parameter count, ops inside, and the
    shape of the value leaving it (the first such, nearest the root)."""
    parent = {c["id"]: c["parent"] for c in clusters}
    inside = {}  # element id -> every cluster it sits in
    for n in nodes:
        chain, c = [], n.get("cluster")
        while c is not None:
            chain.append(c)
            c = parent[c]
        inside[n["id"]] = chain
    by_id = {c["id"]: c for c in clusters}
    for c in clusters:
        c.update(params=0, ops=0, out=None)
    for n in nodes:
        for cid in inside[n["id"]]:
            if n["kind"] == "op":
                by_id[cid]["ops"] += 1
            elif n.get("param"):
                by_id[cid]["params"] += n["size"]
    for src, dst, *_ in edges:
        if src not in value_of:
            continue
        for cid in inside.get(src, ()):
            if cid not in inside.get(dst, ()) and by_id[cid]["out"] is None:
                by_id[cid]["out"] = fmt_shape(value_of[src].shape)
