/* The explorer page's behaviour (autograd/viz/explorer.py): lay the graph out with dagre,
   collapse and expand modules, pan and zoom, show a node's numbers, step through the passes,
   search, and export the view. All the graph's facts come from the JSON blob; this file only
   draws them. */
(function () {
  "use strict";

  var SVGNS = "http://www.w3.org/2000/svg";
  var NEUTRAL = "#f7f7f7"; // a value whose gradient is not known (yet)
  var PLAY_MS = 900;
  var HINT = '<p class="hint">Hover over a node to see its numbers; click to pin it. Click a ' +
    "module's title to collapse it, a module box to expand it. Drag to pan, scroll to zoom.</p>";

  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var nodeById = {}, clusterById = {};
  data.nodes.forEach(function (n) { nodeById[n.id] = n; });
  data.clusters.forEach(function (c) { clusterById[c.id] = c; });
  var steps = data.steps;

  var svg = document.getElementById("graph");
  var canvas = document.getElementById("canvas");
  var slider = document.getElementById("slider");

  var state = {
    collapsed: new Set(data.collapsed),
    view: { x: 0, y: 0, k: 1 },
    step: 0,             // slider position: 0 is the overview, 1..steps.length a step
    selected: null,      // the id whose details are pinned in the side panel
    matches: [], matchAt: -1,
    timer: null,
    layout: null         // the dagre graph last drawn
  };
  var elements = {};     // drawn id -> its <g>
  var edgeElements = {}; // "src>dst" (drawn ids) -> its <g>

  // ---- structure: which box stands for a node when modules are collapsed -------------------

  function chainOf(clusterId) { // the cluster and its ancestors, innermost first
    var out = [];
    for (var c = clusterId; c; c = clusterById[c].parent) out.push(c);
    return out;
  }

  function shownAs(id) { // the id of the drawn box holding node or cluster `id`
    var start = nodeById[id] ? nodeById[id].cluster : id;
    var rep = nodeById[id] ? id : null;
    chainOf(start).forEach(function (c) { if (state.collapsed.has(c)) rep = c; });
    return rep;
  }

  // where each node appears in the forward pass, and each value's gradient completes
  var madeAt = {};
  steps.forEach(function (s, i) {
    if (s.phase !== "forward") return;
    madeAt[s.op] = i + 1;
    var out = nodeById[s.op].output;
    if (out) madeAt[out] = i + 1;
  });

  var members = {}; // cluster id -> ids of the nodes inside (at any depth)
  data.nodes.forEach(function (n) {
    chainOf(n.cluster).forEach(function (c) { (members[c] = members[c] || []).push(n.id); });
  });

  // ---- measuring and laying out -----------------------------------------------------------

  var ruler = document.createElement("canvas").getContext("2d");
  function textWidth(text, bold) {
    ruler.font = (bold ? "bold " : "") + "12px Helvetica, Arial, sans-serif";
    return ruler.measureText(text).width;
  }

  function moduleLines(c) {
    var lines = ["\u25B8 " + c.label];
    if (c.params) lines.push(c.params.toLocaleString("en-US") + " parameters");
    lines.push(c.ops + (c.ops === 1 ? " op" : " ops") + (c.out ? ", out " + c.out : ""));
    return lines;
  }

  function boxFor(id) {
    var n = nodeById[id];
    var lines = n ? n.label : moduleLines(clusterById[id]);
    var kind = n ? n.kind : "module";
    var w = 0;
    var bold = kind === "module" || (n && n.name);
    lines.forEach(function (ln, i) { w = Math.max(w, textWidth(ln, i === 0 && bold)); });
    if (kind === "op") return { lines: lines, kind: kind, width: w + 22, height: 26 };
    return { lines: lines, kind: kind, width: Math.max(w + 18, 40), height: lines.length * 15 + 10 };
  }

  function layout() {
    var g = new dagre.graphlib.Graph({ compound: true });
    g.setGraph({ rankdir: data.rankdir || "LR", nodesep: 12, ranksep: 26, edgesep: 8,
                 marginx: 24, marginy: 24 });
    g.setDefaultEdgeLabel(function () { return {}; });
    data.clusters.forEach(function (c) {
      var rep = shownAs(c.id);
      if (rep === null) g.setNode(c.id, { cluster: true });
      else if (rep === c.id) g.setNode(c.id, boxFor(c.id));
      else return;
      if (c.parent) g.setParent(c.id, c.parent);
    });
    data.nodes.forEach(function (n) {
      if (shownAs(n.id) !== n.id) return;
      g.setNode(n.id, boxFor(n.id));
      if (n.cluster) g.setParent(n.id, n.cluster);
    });
    data.edges.forEach(function (e) {
      var s = shownAs(e[0]), d = shownAs(e[1]);
      if (s === d || g.hasEdge(s, d)) return;
      g.setEdge(s, d, { dotted: e[2] === "dotted" });
    });
    dagre.layout(g);
    state.layout = g;
    draw(g);
    applyStep();
    markMatches();
    if (state.selected && !elements[shownAs(state.selected)]) state.selected = null;
    markSelected();
  }

  // ---- drawing ----------------------------------------------------------------------------

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVGNS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function textLines(lines, x, y, parent, boldFirst) {
    var top = y - (lines.length * 15) / 2 + 11;
    lines.forEach(function (ln, i) {
      var t = el("text", { x: x, y: top + i * 15, "text-anchor": "middle" }, parent);
      if (boldFirst && i === 0) t.setAttribute("font-weight", "bold");
      if (ln.indexOf("grad ") === 0) t.setAttribute("class", "grad-line");
      t.textContent = ln;
    });
  }

  function draw(g) {
    svg.textContent = "";
    elements = {}; edgeElements = {};
    var defs = el("defs", {}, svg);
    [["arrow", "#8a8a8a"], ["arrow-flow", "#c0392b"], ["arrow-made", "#2c5aa0"]].forEach(function (m) {
      // user-space units: a thick highlighted edge keeps a normal-sized arrowhead
      var marker = el("marker", { id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5,
                                  markerUnits: "userSpaceOnUse", markerWidth: 9,
                                  markerHeight: 9, orient: "auto" }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: m[1] }, marker);
    });
    var viewport = el("g", { id: "viewport" }, svg);
    var clusterLayer = el("g", {}, viewport), edgeLayer = el("g", {}, viewport),
        nodeLayer = el("g", {}, viewport);

    var frames = clusterFrames(g);
    Object.keys(frames).sort(function (a, b) {
      return clusterById[a].depth - clusterById[b].depth;
    }).forEach(function (id) {
      var f = frames[id], c = clusterById[id];
      var grp = el("g", { "class": "cluster", "data-id": id }, clusterLayer);
      el("rect", { "class": "frame", x: f.left, y: f.top, width: f.right - f.left,
                   height: f.bottom - f.top, rx: 8 }, grp);
      var title = el("g", { "class": "title", "data-id": id }, grp);
      el("rect", { x: f.left, y: f.top, width: f.right - f.left, height: TITLE,
                   fill: "transparent" }, title);
      var t = el("text", { x: f.left + 8, y: f.top + 13 }, title);
      t.textContent = "\u25BE " + c.label;
      el("title", {}, title).textContent = "click to collapse " + c.label;
      elements[id] = grp;
    });

    g.edges().forEach(function (e) {
      var info = g.edge(e);
      var grp = el("g", { "class": "edge" + (info.dotted ? " dotted" : "") }, edgeLayer);
      el("path", { d: curve(info.points), "marker-end": "url(#arrow)" }, grp);
      edgeElements[e.v + ">" + e.w] = grp;
    });

    g.nodes().forEach(function (id) {
      var b = g.node(id);
      if (b.cluster) return;
      var n = nodeById[id];
      var cls = "node " + b.kind;
      if (n && n.constant) cls += " constant";
      if (n && n.root) cls += " root";
      var grp = el("g", { "class": cls, "data-id": id }, nodeLayer);
      var x0 = b.x - b.width / 2, y0 = b.y - b.height / 2;
      if (b.kind === "op") {
        el("ellipse", { cx: b.x, cy: b.y, rx: b.width / 2, ry: b.height / 2 }, grp);
      } else if (b.kind === "module") {
        el("rect", { "class": "shadow", x: x0 + 4, y: y0 - 4, width: b.width, height: b.height,
                     rx: 3 }, grp);
        el("rect", { x: x0, y: y0, width: b.width, height: b.height, rx: 3 }, grp);
        el("title", {}, grp).textContent = "click to expand";
      } else {
        el("rect", { x: x0, y: y0, width: b.width, height: b.height, rx: 5,
                     fill: n.fill || NEUTRAL }, grp);
      }
      textLines(b.lines, b.x, b.y, grp, b.kind === "module" || (n && n.name));
      elements[id] = grp;
    });
    applyView();
  }

  var TITLE = 18; // the height of a module's title strip

  function clusterFrames(g) {
    // dagre's box of each open module, with room on top for its title; a module's frame
    // also wraps its submodules' frames (innermost first), so nested titles never overlap
    var frames = {};
    var open = g.nodes().filter(function (id) { return g.node(id).cluster; });
    open.sort(function (a, b) { return clusterById[b].depth - clusterById[a].depth; });
    open.forEach(function (id) {
      var b = g.node(id), f = frames[id] = {
        left: b.x - b.width / 2, right: b.x + b.width / 2,
        top: b.y - b.height / 2 - TITLE + 4, bottom: b.y + b.height / 2 };
      g.children(id).forEach(function (child) {
        var cf = frames[child];
        if (!cf) return;
        f.left = Math.min(f.left, cf.left - 6); f.right = Math.max(f.right, cf.right + 6);
        f.top = Math.min(f.top, cf.top - TITLE); f.bottom = Math.max(f.bottom, cf.bottom + 6);
      });
    });
    return frames;
  }

  function curve(points) { // a smooth path through dagre's points
    var d = "M" + points[0].x + "," + points[0].y;
    for (var i = 1; i < points.length - 1; i++) {
      var p = points[i], q = points[i + 1];
      d += " Q" + p.x + "," + p.y + " " + (p.x + q.x) / 2 + "," + (p.y + q.y) / 2;
    }
    var last = points[points.length - 1];
    return d + " L" + last.x + "," + last.y;
  }

  // ---- pan and zoom -----------------------------------------------------------------------

  function applyView() {
    var v = state.view, vp = document.getElementById("viewport");
    if (vp) vp.setAttribute("transform", "translate(" + v.x + "," + v.y + ") scale(" + v.k + ")");
  }

  function fit() {
    var g = state.layout.graph(), r = canvas.getBoundingClientRect();
    var k = Math.min(r.width / (g.width || 1), r.height / (g.height || 1), 1.4);
    state.view = { k: k, x: (r.width - g.width * k) / 2, y: (r.height - g.height * k) / 2 };
    applyView();
  }

  var READABLE = 0.62; // the smallest zoom at which labels can be read, for the first view

  function firstView() { // the whole graph if it is readable so, else its start, readable
    var g = state.layout.graph(), r = canvas.getBoundingClientRect();
    if (Math.min(r.width / (g.width || 1), r.height / (g.height || 1)) >= READABLE) return fit();
    var k = READABLE, across = (data.rankdir || "LR").indexOf("L") >= 0 ? "x" : "y";
    state.view = { k: k, x: Math.max(0, (r.width - g.width * k) / 2),
                   y: Math.max(0, (r.height - g.height * k) / 2) };
    state.view[across] = 0; // the forward pass starts at the left (or the top)
    applyView();
  }

  function keepInView(id) { // centre on `id` when it is off screen
    var e = elements[id];
    if (!e) return;
    var b = e.getBoundingClientRect(), r = canvas.getBoundingClientRect();
    if (b.right < r.left + 10 || b.left > r.right - 10 || b.bottom < r.top + 10 || b.top > r.bottom - 10) {
      centreOn(id);
    }
  }

  function centreOn(id) {
    var b = state.layout.node(id), r = canvas.getBoundingClientRect();
    if (!b) return;
    var k = Math.max(state.view.k, 0.8);
    state.view = { k: k, x: r.width / 2 - b.x * k, y: r.height / 2 - b.y * k };
    applyView();
  }

  var drag = null;
  canvas.addEventListener("mousedown", function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: state.view.x, vy: state.view.y, moved: false };
    canvas.classList.add("panning");
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    state.view.x = drag.vx + dx; state.view.y = drag.vy + dy;
    applyView();
  });
  window.addEventListener("mouseup", function () {
    canvas.classList.remove("panning");
    setTimeout(function () { drag = null; }, 0); // the click that ends a drag is not a click
  });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect(), v = state.view;
    var k = Math.min(4, Math.max(0.03, v.k * Math.exp(-ev.deltaY * 0.0015)));
    var px = ev.clientX - r.left, py = ev.clientY - r.top;
    state.view = { k: k, x: px - (px - v.x) * k / v.k, y: py - (py - v.y) * k / v.k };
    applyView();
  }, { passive: false });

  // ---- clicks: collapse, expand, select ---------------------------------------------------

  canvas.addEventListener("click", function (ev) {
    if (drag && drag.moved) return;
    var title = ev.target.closest(".cluster .title");
    var node = ev.target.closest(".node");
    if (node && node.classList.contains("module")) {
      expand(node.getAttribute("data-id"));
    } else if (node) {
      select(node.getAttribute("data-id"));
    } else if (title) {
      collapse(title.getAttribute("data-id"));
    } else {
      select(null);
    }
  });
  canvas.addEventListener("mouseover", function (ev) {
    var node = ev.target.closest(".node");
    if (node && !state.selected) showInfo(node.getAttribute("data-id"));
  });

  function collapse(id) { state.collapsed.add(id); layout(); }
  function expand(id) {
    state.collapsed.delete(id);
    layout();
    if (state.layout.hasNode(id)) centreOn(id);
  }
  function setAll(shut) {
    state.collapsed = new Set(shut ? data.clusters.map(function (c) { return c.id; }) : []);
    layout(); firstView();
  }

  function select(id) {
    state.selected = id;
    markSelected();
    showInfo(id);
  }
  function markSelected() {
    svg.querySelectorAll(".node.selected").forEach(function (e) { e.classList.remove("selected"); });
    if (state.selected && elements[shownAs(state.selected)]) {
      elements[shownAs(state.selected)].classList.add("selected");
    }
  }

  // ---- the side panel ---------------------------------------------------------------------

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  function num(x) { return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : +x.toPrecision(4) + ""; }
  function row(k, v) { return "<tr><td>" + esc(k) + "</td><td>" + v + "</td></tr>"; }

  function numbers(view, what) {
    if (!view) return '<p class="hint">no ' + what + "</p>";
    if (view.released) return '<p class="hint">released: backward() freed these numbers</p>';
    if (view.full !== undefined) return "<pre>" + esc(view.full) + "</pre>";
    var html = "<table>";
    if (view.stats) {
      var s = view.stats;
      html += row("min", num(s.min)) + row("max", num(s.max)) + row("mean", num(s.mean)) +
              row("std", num(s.std)) + row("max|.|", num(s.absmax));
    }
    if (view.nan || view.inf) html += row("non-finite", view.nan + " NaN, " + view.inf + " Inf");
    html += row("elements", view.size.toLocaleString("en-US")) + "</table>";
    if (view.hist) html += histogram(view.hist);
    return html;
  }

  function histogram(h) {
    var W = 260, H = 46, n = h.counts.length, top = Math.max.apply(null, h.counts) || 1;
    var bars = h.counts.map(function (c, i) {
      var bh = c ? Math.max(1, (c / top) * H) : 0;
      return '<rect x="' + (i * W / n + 0.5) + '" y="' + (H - bh) + '" width="' + (W / n - 1) +
             '" height="' + bh + '" fill="#7a9cc6"><title>' + c + "</title></rect>";
    }).join("");
    return '<svg class="hist" width="' + W + '" height="' + (H + 14) + '">' + bars +
           '<text x="0" y="' + (H + 12) + '" font-size="10">' + esc(num(h.lo)) + "</text>" +
           '<text x="' + W + '" y="' + (H + 12) + '" font-size="10" text-anchor="end">' +
           esc(num(h.hi)) + "</text></svg>";
  }

  function moduleOf(n) { return n.cluster ? clusterById[n.cluster].label : ""; }

  function showInfo(id) {
    var box = document.getElementById("info");
    if (!id) { box.innerHTML = HINT; return; }
    var n = nodeById[id], html;
    if (!n) {
      var c = clusterById[id];
      html = "<h2>" + esc(c.label) + "</h2><table>" +
             row("kind", "module") + row("parameters", c.params.toLocaleString("en-US")) +
             row("ops", c.ops) + (c.out ? row("output", esc(c.out)) : "") +
             (c.parent ? row("inside", esc(clusterById[c.parent].label)) : "") + "</table>" +
             '<p class="hint">' + (state.collapsed.has(id) ? "Click the box to expand it."
                                   : "Click its title to collapse it.") + "</p>";
    } else if (n.kind === "value") {
      html = "<h2>" + esc(n.name || (n.op ? n.op + " output" : "tensor")) + "</h2><table>" +
             row("role", esc(n.role)) +
             row("shape", esc(n.shape)) + row("dtype", esc(n.dtype)) +
             (n.cluster ? row("module", esc(moduleOf(n))) : "") + "</table>" +
             "<h3>value</h3>" + numbers(n.data, "value") +
             "<h3>gradient dL/d" + esc(n.name || "t") + "</h3>" + numbers(n.grad, "gradient") +
             (n.grad_source === "pass" ? '<p class="hint">from the replayed backward pass ' +
              "(the tensor keeps no .grad)</p>" : "");
    } else if (n.kind === "op") {
      var ins = n.inputs.map(function (v) {
        var t = nodeById[v];
        return esc((t.name ? t.name + " " : "") + t.shape);
      }).join("<br>");
      var at = [];
      steps.forEach(function (s, i) { if (s.op === id) at.push(i + 1); });
      html = "<h2>" + esc(n.op) + "</h2><table>" + row("kind", "op") +
             row("output", esc(n.shape)) + row("inputs", ins || "none") +
             (n.cluster ? row("module", esc(moduleOf(n))) : "") +
             (n.where ? row("source", "<code>" + esc(n.where) + "</code>") : "") +
             (at.length ? row("steps", at.join(", ")) : "") + "</table>";
    } else {
      html = "<h2>" + esc(n.label[0]) + "</h2><p class=\"hint\">The rest of the graph, " +
             "beyond max_nodes, is not drawn.</p>";
    }
    box.innerHTML = html;
  }

  function showLegend() {
    var html = "<h3>max |grad|</h3>";
    data.legend.forEach(function (r) {
      html += '<div class="legend-row"><span class="swatch" style="background:' + esc(r.color) +
              '"></span>' + esc(r.text) + "</div>";
    });
    html += '<div class="legend-row"><span class="swatch" style="background:' + NEUTRAL +
            '"></span>no gradient (yet)</div>';
    html += "<h3>shapes</h3><div class=\"legend-row\">box: a tensor (dashed: a constant)</div>" +
            "<div class=\"legend-row\">oval: an op</div>" +
            "<div class=\"legend-row\">purple box: a collapsed module</div>";
    document.getElementById("legend").innerHTML = html;
    document.getElementById("notes").innerHTML = data.notes.map(function (t) {
      return '<p class="note">' + esc(t) + "</p>";
    }).join("");
  }

  // ---- stepping through the passes --------------------------------------------------------

  function go(position) {
    state.step = Math.max(0, Math.min(steps.length, position));
    slider.value = state.step;
    applyStep();
  }

  function showGrad(id, known, color) { // a value's colour and "grad" line, once known
    var e = elements[id];
    if (!e || !e.classList.contains("value")) return;
    e.querySelector("rect").setAttribute("fill", known ? color : NEUTRAL);
    var line = e.querySelector(".grad-line");
    if (line) line.setAttribute("visibility", known ? "visible" : "hidden");
  }

  function applyStep() {
    var s = state.step, cur = s ? steps[s - 1] : null;
    svg.querySelectorAll(".current, .future, .flow, .made").forEach(function (e) {
      e.classList.remove("current", "future", "flow", "made");
    });
    svg.querySelectorAll(".edge path").forEach(function (p) { p.setAttribute("marker-end", "url(#arrow)"); });
    var forward = cur && cur.phase === "forward";
    data.nodes.forEach(function (n) {
      if (n.kind !== "value" || shownAs(n.id) !== n.id) return;
      var known = !cur || (!forward && n.grad_step !== undefined && n.grad_step <= s);
      showGrad(n.id, known, n.fill);
    });
    if (forward) {
      Object.keys(elements).forEach(function (id) {
        var inside = nodeById[id] ? [id] : (members[id] || []);
        var later = inside.every(function (m) { return (madeAt[m] || 0) > s; });
        if (later && elements[id].classList.contains("node")) elements[id].classList.add("future");
      });
    }
    var where = document.getElementById("where"), caption = document.getElementById("caption");
    where.textContent = cur ? "step " + s + " of " + steps.length : steps.length ?
      "overview \u2013 " + steps.length + " steps" : "no steps";
    if (!cur) {
      caption.textContent = steps.length ? "Press \u25B6 or the right arrow to step through " +
        "the forward pass, then the backward pass." : "";
      return;
    }
    var op = shownAs(cur.op), n = nodeById[cur.op];
    if (elements[op]) { elements[op].classList.add("current"); keepInView(op); }
    if (forward) {
      mark(n.inputs, op, "made");
      if (n.output) mark([op], shownAs(n.output), "made");
    } else {
      mark(cur.inputs || [], op, "flow");
      if (n.output) mark([op], shownAs(n.output), "flow");
    }
    var label = cur.text.indexOf(":") > 0 ? cur.text.slice(0, cur.text.indexOf(":")) : cur.text;
    caption.innerHTML = '<span class="phase-' + cur.phase + '">' + esc(label) + "</span>" +
                        esc(cur.text.slice(label.length));
  }

  function mark(sources, target, cls) {
    sources.forEach(function (src) {
      var e = edgeElements[shownAs(src) + ">" + target] || edgeElements[src + ">" + target];
      if (!e) return;
      e.classList.add(cls);
      e.querySelector("path").setAttribute("marker-end", "url(#arrow-" + cls + ")");
    });
  }

  function play(on) {
    if (state.timer) { clearInterval(state.timer); state.timer = null; }
    if (on) {
      if (state.step >= steps.length) go(0);
      state.timer = setInterval(function () {
        if (state.step >= steps.length) play(false); else go(state.step + 1);
      }, PLAY_MS);
    }
    document.getElementById("play").innerHTML = on ? "&#10074;&#10074; pause" : "&#9654; play";
  }

  slider.max = steps.length;
  slider.addEventListener("input", function () { go(+slider.value); });
  document.getElementById("prev").onclick = function () { play(false); go(state.step - 1); };
  document.getElementById("next").onclick = function () { play(false); go(state.step + 1); };
  document.getElementById("play").onclick = function () { play(!state.timer); };
  document.addEventListener("keydown", function (ev) {
    if (ev.target.id === "search" || ev.target === slider) return;
    if (ev.key === "ArrowRight") { play(false); go(state.step + 1); }
    else if (ev.key === "ArrowLeft") { play(false); go(state.step - 1); }
    else if (ev.key === "Home") go(0);
    else if (ev.key === "End") go(steps.length);
    else if (ev.key === " ") play(!state.timer);
    else return;
    ev.preventDefault();
  });

  // ---- search -----------------------------------------------------------------------------

  var search = document.getElementById("search");
  function findMatches() {
    var q = search.value.trim().toLowerCase();
    state.matches = !q ? [] : data.nodes.filter(function (n) {
      return [n.name, n.op, n.shape, n.kind === "note" ? n.label[0] : ""].join(" ")
        .toLowerCase().indexOf(q) >= 0;
    }).map(function (n) { return n.id; }).concat(data.clusters.filter(function (c) {
      return c.label.toLowerCase().indexOf(q) >= 0;
    }).map(function (c) { return c.id; }));
    state.matchAt = -1;
    document.getElementById("found").textContent = !q ? "" :
      state.matches.length ? state.matches.length + " found (Enter: next)" : "none found";
    markMatches();
  }
  function markMatches() {
    svg.querySelectorAll(".node.match").forEach(function (e) { e.classList.remove("match"); });
    state.matches.forEach(function (id) {
      var e = elements[shownAs(id)];
      if (e && e.classList.contains("node")) e.classList.add("match");
    });
  }
  function nextMatch() {
    if (!state.matches.length) return;
    state.matchAt = (state.matchAt + 1) % state.matches.length;
    reveal(state.matches[state.matchAt]);
    document.getElementById("found").textContent =
      (state.matchAt + 1) + " of " + state.matches.length + " (Enter: next)";
  }
  function reveal(id) { // expand the modules around `id`, then centre on it
    var start = nodeById[id] ? nodeById[id].cluster : clusterById[id].parent;
    var changed = false;
    chainOf(start).forEach(function (c) { changed = state.collapsed.delete(c) || changed; });
    if (changed) layout();
    var shown = shownAs(id) || id;
    centreOn(shown);
    select(nodeById[id] ? id : shown);
  }
  search.addEventListener("input", findMatches);
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); nextMatch(); }
    if (ev.key === "Escape") { search.value = ""; findMatches(); }
  });

  // ---- export -----------------------------------------------------------------------------

  function svgText() { // the current view as a standalone SVG document
    var r = canvas.getBoundingClientRect();
    var copy = svg.cloneNode(true);
    copy.setAttribute("xmlns", SVGNS);
    copy.setAttribute("width", Math.round(r.width));
    copy.setAttribute("height", Math.round(r.height));
    copy.setAttribute("viewBox", "0 0 " + Math.round(r.width) + " " + Math.round(r.height));
    var style = document.createElementNS(SVGNS, "style");
    style.textContent = document.getElementById("explorer-style").textContent;
    copy.insertBefore(style, copy.firstChild);
    var bg = document.createElementNS(SVGNS, "rect");
    bg.setAttribute("width", "100%"); bg.setAttribute("height", "100%"); bg.setAttribute("fill", "#fff");
    copy.insertBefore(bg, style.nextSibling);
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(copy);
  }

  function pngBlob() {
    return new Promise(function (resolve, reject) {
      var r = canvas.getBoundingClientRect(), scale = 2;
      var url = URL.createObjectURL(new Blob([svgText()], { type: "image/svg+xml" }));
      var img = new Image();
      img.onload = function () {
        var c = document.createElement("canvas");
        c.width = Math.round(r.width * scale); c.height = Math.round(r.height * scale);
        var ctx = c.getContext("2d");
        ctx.scale(scale, scale);
        ctx.drawImage(img, 0, 0);
        URL.revokeObjectURL(url);
        c.toBlob(resolve, "image/png");
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("SVG to PNG failed")); };
      img.src = url;
    });
  }

  function download(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  function fileName(ext) { return (data.title || "graph").replace(/[^\w.-]+/g, "_") + "." + ext; }

  document.getElementById("export-svg").onclick = function () {
    download(new Blob([svgText()], { type: "image/svg+xml" }), fileName("svg"));
  };
  document.getElementById("export-png").onclick = function () {
    pngBlob().then(function (b) { download(b, fileName("png")); });
  };
  document.getElementById("collapse-all").onclick = function () { setAll(true); };
  document.getElementById("expand-all").onclick = function () { setAll(false); };
  document.getElementById("fit").onclick = fit;
  document.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("mouseup", function () { b.blur(); }); // keys step, not re-click
  });

  // ---- start: the address's #step=..&select=..&expand=all|collapse=all&search=.. ---------

  var wish = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var i = kv.indexOf("=");
    if (i > 0) wish[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
  });
  if (wish.expand === "all") state.collapsed = new Set();
  if (wish.collapse === "all") state.collapsed = new Set(data.clusters.map(function (c) { return c.id; }));
  document.title = data.title;
  showLegend();
  layout();
  firstView();
  window.addEventListener("resize", firstView);
  if (wish.step) go(wish.step === "last" ? steps.length : +wish.step);
  else go(0);
  if (wish.search) { search.value = wish.search; findMatches(); }
  if (wish.select && (nodeById[wish.select] || clusterById[wish.select])) select(wish.select);
  else showInfo(null);

  // for tests and for scripting the page from the console
  window.chainruleExplorer = {
    data: data, state: state, go: go, collapse: collapse, expand: expand, select: select,
    reveal: reveal, svgText: svgText, pngBlob: pngBlob, fit: fit,
    visibleNodes: function () { return svg.querySelectorAll(".node").length; }
  };
  document.body.setAttribute("data-ready", "1");
})();
