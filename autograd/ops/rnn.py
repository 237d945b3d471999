"""Recurrent primitives: the recurrence of one RNN / LSTM / GRU layer over all time steps.

The input projection (x W_ih^T + b for every step at once) is an ordinary matmul outside
these ops; what they own is the sequential part, h_t = cell(xproj_t, h_{t-1}).

# NOTE: fused on purpose. Built from Tensor ops, a 50-step LSTM is ~750 graph nodes, and
# every per-step slice xproj[t] sends back a gradient the size of the whole sequence (an
# O(T^2) sum); as one op the forward and the backward-through-time are tight NumPy loops
# (measured ~5x faster on a 50-step, 128-unit LSTM): that loop is each op's `vjp`. Its
# `backward` (used under create_graph) replays the same recurrence with Tensor ops
# (`*_steps` below) and differentiates that, so higher-order gradients still work. Gate
# order and formulas are PyTorch's.
"""
import numpy as np

from ..function import Function


def _sigmoid_(a):
    """In-place logistic: sigmoid(a) = (tanh(a / 2) + 1) / 2 (no overflow, one transcendental)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class _Recurrence(Function):
    """Base of the fused recurrences: they keep per-step activations for their backward."""

    # NOTE: the documented exception to "one rule, two namespaces" (tests/test_vjp.py keeps
    # the list): the array `vjp` is backpropagation through time as in-place NumPy loops over
    # preallocated per-step buffers, which Tensor ops cannot express, and written against the
    # namespace it would record some ten ops per step and gate under create_graph. So the
    # recorded `backward` differentiates the same recurrence replayed in Tensor ops instead
    # (`*_steps`): the same derivative, which tests/test_nn_rnn.py checks both ways.


def _replay(fn, grad, steps, **params):
    """create_graph: the input gradients of the op, via the same recurrence in Tensor ops."""
    from ..engine import grad as _grad

    wanted = [t for t, need in zip(fn.inputs, fn.needs) if need]
    out = steps(*fn.inputs, **params)
    grads = iter(_grad([out], wanted, grad_outputs=[grad], create_graph=True,
                       allow_unused=True))
    return tuple(next(grads) if need else None for need in fn.needs)


def _zeros_for(tangents, inputs):
    """The tangents with None (zero) replaced by zeros, for rules that add every term."""
    return [np.zeros(np.shape(t.data), t.data.dtype) if d is None else d
            for t, d in zip(inputs, tangents)]


def _rows_times(w):
    """W^T as a C-contiguous copy, for the per-step products h @ W^T."""
    # NOTE: OpenBLAS multiplies a few rows (the batch) by a transposed, F-ordered matrix ~1.5x
    # slower than by the same matrix stored C-contiguous: 32 x 128 @ 128 x 512, float32, 88
    # against 58 us (benchmarks/README.md, "Issue 16: second round"). One copy per sequence.
    return np.ascontiguousarray(w.T)


def _stack(rows):
    from ..composites import stack

    return stack(rows)


# ---- Elman RNN ----------------------------------------------------------------------------

def rnn_steps(xproj, w_hh, h0, nonlinearity="tanh"):
    """Tensor-op form of RNNLayer (for create_graph and as the readable reference)."""
    h, outs = h0, []
    for t in range(xproj.shape[0]):
        pre = xproj[t] + h @ w_hh.T
        h = pre.tanh() if nonlinearity == "tanh" else pre.relu()
        outs.append(h)
    return _stack(outs)


class RNNLayer(_Recurrence):
    """h_t = act(xproj_t + h_{t-1} W_hh^T), out = (h_1 .. h_T);
    d pre_t = (grad_t + d h_t) act'(pre_t), d h_{t-1} = d pre_t W_hh,
    d W_hh = sum_t d pre_t^T h_{t-1}"""

    name = "rnn_layer"

    def forward(self, xproj, w_hh, h0, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', "
                             f"got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        out = np.empty(xproj.shape[:2] + (w_hh.shape[0],), dtype=xproj.dtype)
        w_t, h = _rows_times(w_hh), h0
        for t in range(xproj.shape[0]):
            a = out[t]
            np.matmul(h, w_t, out=a)
            a += xproj[t]
            if nonlinearity == "tanh":
                np.tanh(a, out=a)
            else:
                np.maximum(a, 0, out=a)
            h = a
        return out

    def backward(self, grad, out):
        return _replay(self, grad, rnn_steps, nonlinearity=self.nonlinearity)

    def vjp(self, grad, out):
        xproj, w_hh, h0 = self.inputs
        g, hs, w = grad, out.data, w_hh.data
        d_pre = np.empty_like(hs)
        dh = np.zeros_like(hs[0])
        for t in range(hs.shape[0] - 1, -1, -1):
            d = d_pre[t]
            np.add(g[t], dh, out=d)
            if self.nonlinearity == "tanh":
                d *= 1 - hs[t] * hs[t]
            else:
                d *= hs[t] > 0
            dh = d @ w
        return (d_pre if self.needs[0] else None,
                _w_hh_grad(d_pre, hs, h0.data) if self.needs[1] else None,
                dh if self.needs[2] else None)

    def jvp(self, tangents, out):
        # d pre_t = d xproj_t + d h_{t-1} W_hh^T + h_{t-1} d W_hh^T, d h_t = act'(pre_t) d pre_t
        (_, w_hh, h0), hs = self.inputs, out.data
        tx, tw, th = tangents
        w_t = _rows_times(w_hh.data)
        tw_t = None if tw is None else _rows_times(tw)
        dh = None if th is None else np.asarray(th)
        h_prev = h0.data
        douts = np.empty_like(hs)
        for t in range(hs.shape[0]):
            d = douts[t]
            d[...] = 0 if tx is None else tx[t]
            if dh is not None:
                d += dh @ w_t
            if tw_t is not None:
                d += h_prev @ tw_t
            if self.nonlinearity == "tanh":
                d *= 1 - hs[t] * hs[t]
            else:
                d *= hs[t] > 0
            dh, h_prev = d, hs[t]
        return douts


def _w_hh_grad(d_pre, hs, h0):
    """d W_hh = sum_t d pre_t^T h_{t-1}, as ONE matmul over all steps."""
    steps, batch, gates = d_pre.shape
    h_prev = np.concatenate([h0[None], hs[:-1]]) if steps > 1 else h0[None]
    return d_pre.reshape(steps * batch, gates).T @ h_prev.reshape(steps * batch, -1)


# ---- LSTM ------------------------------------------------------------------------------

# LSTMLayer's activations hold PyTorch's gates i, f, g, o in the order i, f, o, g.
_FORWARD_ORDER = (0, 1, 3, 2)


def _lstm_gates(acts):
    """(i, f, g, o) of every step, each (T, B, H), from LSTMLayer's gate-major activations."""
    i, f, o, g = (acts[:, k] for k in range(4))
    return i, f, g, o


def lstm_steps(xproj, w_hh, h0, c0):
    """Tensor-op form of LSTMLayer: out[t] = [h_t, c_t] along the last axis."""
    from ..composites import concatenate

    hidden = h0.shape[-1]
    h, c, outs = h0, c0, []
    for t in range(xproj.shape[0]):
        gates = xproj[t] + h @ w_hh.T
        i = gates[:, :hidden].sigmoid()
        f = gates[:, hidden:2 * hidden].sigmoid()
        g = gates[:, 2 * hidden:3 * hidden].tanh()
        o = gates[:, 3 * hidden:].sigmoid()
        c = f * c + i * g
        h = o * c.tanh()
        outs.append(concatenate([h, c], axis=1))
    return _stack(outs)


class LSTMLayer(_Recurrence):
    """(i, f, g, o) = (sig, sig, tanh, sig)(xproj_t + h_{t-1} W_hh^T), c_t = f c_{t-1} + i g,
    h_t = o tanh(c_t); out[t] = [h_t, c_t] (one array: an op has one output).
    Backward through time: dc_t = grad_c + dc_{t+1} f_{t+1} + dh_t o (1 - tanh^2 c_t),
    d pre = (dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh tanh(c) o(1-o))"""

    name = "lstm_layer"

    def forward(self, xproj, w_hh, h0, c0):
        steps, batch, four_h = xproj.shape
        hidden = four_h // 4
        dtype = xproj.dtype
        # acts[t]: step t's gates, gate-major (4, B, H) in the order i, f, o, g (_FORWARD_ORDER),
        # so each gate is one contiguous block and the three sigmoids are one block.
        acts = np.empty((steps, 4, batch, hidden), dtype)
        w_gates = np.empty((4, hidden, hidden), dtype)  # per gate, W_gate^T C-contiguous
        for k, gate in enumerate(_FORWARD_ORDER):
            cols = slice(gate * hidden, (gate + 1) * hidden)
            # sigmoid(x) = (tanh(x/2) + 1)/2, so one tanh pass serves all four gates; the
            # halving is folded into the inputs and the weights, once.
            half = 1.0 if gate == 2 else 0.5
            np.multiply(xproj[:, :, cols], half, out=acts[:, k])
            np.multiply(w_hh[cols].T, half, out=w_gates[k])
        gates = np.empty((4, batch, hidden), dtype)
        i_g = np.empty((batch, hidden), dtype)
        out = np.empty((steps, batch, 2 * hidden), dtype)
        tanh_c = np.empty((steps, batch, hidden), dtype)
        # NOTE: h W^T as four (B, H) @ (H, H) products (one matmul call), not one
        # (B, H) @ (H, 4H): OpenBLAS runs products with M N K <= 100^3 in its small-matrix
        # kernel (no packing, never threaded), 39 against 50 us for 32 x 128 x 512 at one
        # thread; at two, the one big product wakes the second thread every step and, when
        # that core is busy, takes up to 10x longer (benchmarks/README.md, "Issue 16: third
        # round").
        h, c = h0, c0
        for t in range(steps):
            np.matmul(h, w_gates, out=gates)
            a = acts[t]
            a += gates
            np.tanh(a, out=a)
            sig = a[:3]
            sig *= 0.5
            sig += 0.5
            i, f, o, g = a
            h_new, c_new = out[t, :, :hidden], out[t, :, hidden:]
            np.multiply(f, c, out=c_new)
            np.multiply(i, g, out=i_g)
            c_new += i_g
            np.tanh(c_new, out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h_new)
            h, c = h_new, c_new
        self.acts, self.tanh_c = acts, tanh_c
        return out

    def backward(self, grad, out):
        return _replay(self, grad, lstm_steps)

    def vjp(self, grad, out):
        xproj, w_hh, h0, c0 = self.inputs
        g_out, hc, w = grad, out.data, w_hh.data
        acts, tanh_c = self.acts, self.tanh_c
        steps, _, batch, hidden = acts.shape
        four_h = 4 * hidden
        i, f, g, o = _lstm_gates(acts)
        c_prev = np.concatenate([c0.data[None], hc[:-1, :, hidden:]])
        # NOTE: every factor that does not depend on the incoming gradient is computed for
        # all steps at once, leaving ~7 small ops per step (measured 1.5x faster):
        # d pre_(i,f,g) = dc_t * coef_t, d pre_o = dh_t * coef_o_t, dc_t += dh_t * through_t.
        coef = np.empty((steps, batch, 3, hidden), dtype=acts.dtype)
        np.multiply(g, i * (1 - i), out=coef[:, :, 0])
        np.multiply(c_prev, f * (1 - f), out=coef[:, :, 1])
        np.multiply(i, 1 - g * g, out=coef[:, :, 2])
        coef_o = tanh_c * o * (1 - o)
        through = o * (1 - tanh_c * tanh_c)
        d_pre4 = np.empty((steps, batch, 4, hidden), dtype=acts.dtype)  # PyTorch's gate order
        # d h_{t-1} = d pre_t W_hh as the sum of four (B, H) @ (H, H) products, for the reason
        # the forward gives (OpenBLAS's small-matrix kernel).
        w_blocks = w.reshape(4, hidden, hidden)
        parts = np.empty((4, batch, hidden), dtype=acts.dtype)
        dh = np.zeros((batch, hidden), dtype=acts.dtype)
        dc = np.zeros((batch, hidden), dtype=acts.dtype)
        c_grads = g_out[:, :, hidden:].any()  # usually only h is used downstream
        for t in range(steps - 1, -1, -1):
            dh_t = g_out[t, :, :hidden] + dh
            dc_t = dh_t * through[t]
            dc_t += dc
            if c_grads:
                dc_t += g_out[t, :, hidden:]
            d = d_pre4[t]
            np.multiply(dc_t[:, None], coef[t], out=d[:, :3])
            np.multiply(dh_t, coef_o[t], out=d[:, 3])
            dc = dc_t * f[t]
            np.matmul(d.transpose(1, 0, 2), w_blocks, out=parts)
            dh = np.add.reduce(parts, axis=0)
        d_pre = d_pre4.reshape(steps, batch, four_h)
        return (d_pre if self.needs[0] else None,
                _w_hh_grad(d_pre, hc[:, :, :hidden], h0.data) if self.needs[1] else None,
                dh if self.needs[2] else None,
                dc if self.needs[3] else None)

    def jvp(self, tangents, out):
        # d gates = d xproj_t + d h_{t-1} W_hh^T + h_{t-1} d W_hh^T; through each gate's
        # activation, then d c_t = df c_{t-1} + f dc_{t-1} + di g + i dg and
        # d h_t = do tanh(c_t) + o (1 - tanh^2 c_t) dc_t.
        tx, tw, th, tc = _zeros_for(tangents, self.inputs)
        hc, acts, tanh_c = out.data, self.acts, self.tanh_c
        steps, _, batch, hidden = acts.shape
        w_t, tw_t = _rows_times(self.inputs[1].data), _rows_times(tw)
        gi, gf, gg, go = _lstm_gates(acts)
        # sigmoid' for i, f, o and tanh' for g, in PyTorch's gate order (T, B, 4, H)
        slope = np.stack([gi * (1 - gi), gf * (1 - gf), 1 - gg * gg, go * (1 - go)], axis=2)
        dh, dc = th, tc
        h_prev, c_prev = self.inputs[2].data, self.inputs[3].data
        douts = np.empty_like(hc)
        for t in range(steps):
            dg = tx[t] + dh @ w_t + h_prev @ tw_t
            dg = dg.reshape(batch, 4, hidden) * slope[t]
            i, f, g, o = gi[t], gf[t], gg[t], go[t]
            dc = dg[:, 1] * c_prev + f * dc + dg[:, 0] * g + i * dg[:, 2]
            dh = dg[:, 3] * tanh_c[t] + o * (1 - tanh_c[t] * tanh_c[t]) * dc
            douts[t, :, :hidden], douts[t, :, hidden:] = dh, dc
            h_prev, c_prev = hc[t, :, :hidden], hc[t, :, hidden:]
        return douts


# ---- GRU -------------------------------------------------------------------------------

def gru_steps(xproj, w_hh, b_hh, h0):
    """Tensor-op form of GRULayer."""
    hidden = h0.shape[-1]
    h, outs = h0, []
    for t in range(xproj.shape[0]):
        gx, gh = xproj[t], h @ w_hh.T + b_hh
        r = (gx[:, :hidden] + gh[:, :hidden]).sigmoid()
        z = (gx[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden]).sigmoid()
        n = (gx[:, 2 * hidden:] + r * gh[:, 2 * hidden:]).tanh()
        h = (1 - z) * n + z * h
        outs.append(h)
    return _stack(outs)


class GRULayer(_Recurrence):
    """gh = h_{t-1} W_hh^T + b_hh; r, z = sig(xproj_rz + gh_rz), n = tanh(xproj_n + r gh_n),
    h_t = (1 - z) n + z h_{t-1}.  Backward: dn = dh (1-z), dz = dh (h_{t-1} - n),
    d pre_n = dn (1-n^2), dr = d pre_n gh_n; d gh = (dr r(1-r), dz z(1-z), d pre_n r)"""

    name = "gru_layer"

    def forward(self, xproj, w_hh, b_hh, h0):
        steps, batch, three_h = xproj.shape
        hidden = three_h // 3
        out = np.empty((steps, batch, hidden), dtype=xproj.dtype)
        acts = np.empty_like(xproj)                    # r, z, n
        gh_n = np.empty((steps, batch, hidden), dtype=xproj.dtype)
        # Per gate, as LSTMLayer does: three (B, H) @ (H, H) products in OpenBLAS's
        # small-matrix kernel rather than one (B, H) @ (H, 3H).
        w_gates = np.empty((3, hidden, hidden), dtype=xproj.dtype)
        for k in range(3):
            w_gates[k] = w_hh[k * hidden:(k + 1) * hidden].T
        b_gates = b_hh.reshape(3, 1, hidden)
        gh = np.empty((3, batch, hidden), dtype=xproj.dtype)
        h = h0
        for t in range(steps):
            np.matmul(h, w_gates, out=gh)
            gh += b_gates
            a = acts[t]
            rz = a[:, :2 * hidden].reshape(batch, 2, hidden).transpose(1, 0, 2)
            np.add(xproj[t, :, :2 * hidden].reshape(batch, 2, hidden).transpose(1, 0, 2),
                   gh[:2], out=rz)
            _sigmoid_(rz)
            r, z, n = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 2 * hidden:]
            gh_n[t] = gh[2]
            np.multiply(r, gh_n[t], out=n)
            n += xproj[t, :, 2 * hidden:]
            np.tanh(n, out=n)
            h_new = out[t]
            np.subtract(h, n, out=h_new)   # h_t = n + z (h_{t-1} - n)
            h_new *= z
            h_new += n
            h = h_new
        self.acts, self.gh_n = acts, gh_n
        return out

    def backward(self, grad, out):
        return _replay(self, grad, gru_steps)

    def vjp(self, grad, out):
        xproj, w_hh, b_hh, h0 = self.inputs
        g_out, hs, w = grad, out.data, w_hh.data
        acts, gh_n = self.acts, self.gh_n
        steps, batch, three_h = acts.shape
        hidden = three_h // 3
        a3 = acts.reshape(steps, batch, 3, hidden)
        r, z, n = a3[:, :, 0], a3[:, :, 1], a3[:, :, 2]
        h_prev = np.concatenate([h0.data[None], hs[:-1]])
        # NOTE: the gradient-independent factors for all steps at once, as in LSTMLayer:
        # d pre_n = dh coef_n, d pre_r = d pre_n coef_r, d pre_z = dh coef_z.
        coef_n = (1 - z) * (1 - n * n)
        coef_r = gh_n * r * (1 - r)
        coef_z = (h_prev - n) * z * (1 - z)
        d_x = np.empty((steps, batch, 3, hidden), dtype=acts.dtype)
        d_h = np.empty((steps, batch, 3, hidden), dtype=acts.dtype)
        w_blocks = w.reshape(3, hidden, hidden)
        parts = np.empty((3, batch, hidden), dtype=acts.dtype)
        dh = np.zeros((batch, hidden), dtype=acts.dtype)
        for t in range(steps - 1, -1, -1):
            dh_t = g_out[t] + dh
            dx, dgh = d_x[t], d_h[t]
            np.multiply(dh_t, coef_n[t], out=dx[:, 2])
            np.multiply(dx[:, 2], coef_r[t], out=dx[:, 0])
            np.multiply(dh_t, coef_z[t], out=dx[:, 1])
            dgh[:, :2] = dx[:, :2]
            np.multiply(dx[:, 2], r[t], out=dgh[:, 2])
            np.matmul(dgh.transpose(1, 0, 2), w_blocks, out=parts)  # per gate, as in LSTMLayer
            dh = np.add.reduce(parts, axis=0)
            dh += dh_t * z[t]
        d_x = d_x.reshape(steps, batch, three_h)
        d_h = d_h.reshape(steps, batch, three_h)
        return (d_x if self.needs[0] else None,
                _w_hh_grad(d_h, hs, h0.data) if self.needs[1] else None,
                d_h.sum(axis=(0, 1)) if self.needs[2] else None,
                dh if self.needs[3] else None)

    def jvp(self, tangents, out):
        # d gh = d h_{t-1} W_hh^T + h_{t-1} d W_hh^T + d b_hh; dr, dz through the sigmoids;
        # dn = (dx_n + dr gh_n + r d gh_n)(1 - n^2); dh = dz (h_{t-1} - n) + (1 - z) dn + z dh_{t-1}
        tx, tw, tb, th = _zeros_for(tangents, self.inputs)
        hs, acts, gh_n = out.data, self.acts, self.gh_n
        steps, batch, three_h = acts.shape
        hidden = three_h // 3
        w_t, tw_t = _rows_times(self.inputs[1].data), _rows_times(tw)
        dh, h_prev = th, self.inputs[3].data
        douts = np.empty_like(hs)
        for t in range(steps):
            r, z, n = acts[t, :, :hidden], acts[t, :, hidden:2 * hidden], acts[t, :, 2 * hidden:]
            dgh = dh @ w_t + h_prev @ tw_t + tb
            dr = (tx[t, :, :hidden] + dgh[:, :hidden]) * r * (1 - r)
            dz = (tx[t, :, hidden:2 * hidden] + dgh[:, hidden:2 * hidden]) * z * (1 - z)
            dn = (tx[t, :, 2 * hidden:] + dr * gh_n[t] + r * dgh[:, 2 * hidden:]) * (1 - n * n)
            dh = dz * (h_prev - n) + (1 - z) * dn + z * dh
            douts[t] = dh
            h_prev = hs[t]
        return douts
