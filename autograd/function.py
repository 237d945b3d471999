"""`Function`: the base of every primitive op (forward on arrays, vjp and jvp rules beside it)."""
import traceback
import weakref
import zlib

import numpy as np

from .grad_mode import state
from .namespaces import TENSORS
from .summary import SMALL, TensorSummary, small_input_grads, summarise

Tensor = None  # set by autograd.tensor once the Tensor class exists (avoids an import cycle)


class Function:
    """A primitive op: a node of the graph.

    A subclass defines
      * ``forward(self, *arrays, **params) -> ndarray`` on NumPy arrays; it may keep on
        ``self`` whatever its backward needs (axes, shapes, masks);
      * ``backward(self, grad, out) -> tuple`` of one gradient (a Tensor, or ``None``) per
        input, written with Tensor ops so that ``create_graph=True`` can differentiate it
        again. ``self.inputs`` are the input Tensors, ``self.needs[i]`` says whether input
        ``i`` wants a gradient, ``out`` is the output Tensor.

    The engine undoes broadcasting and casts dtypes, so a rule may return a gradient of
    the broadcast shape. Call an op with ``MyOp.apply(*tensors, **params)``.

    One rule, two namespaces: instead of ``backward``, an op may state its rule once as
    ``vjp(self, grad, out, on=ARRAYS) -> tuple``, written against ``on`` (see
    autograd.namespaces): backward() without ``create_graph`` calls it on NumPy arrays
    (``grad`` an array, no Tensor or Function per product: the fast path), and with
    ``create_graph`` the inherited ``backward`` runs the same rule with ``on=TENSORS``, on
    Tensor ops that record their graph. The built-in primitives are written this way (the
    fused recurrences excepted: their ``backward`` replays the forward in Tensor ops);
    tests/test_vjp.py checks that both namespaces give the same gradients.

    Forward mode: ``jvp(self, tangents, out) -> array or None`` is the Jacobian-vector
    rule, the tangent of the output given the tangents of the inputs. ``tangents`` holds one
    entry per input, a NumPy array of that input's shape or ``None`` for an input without a
    tangent (a zero tangent: skip its term); at least one entry is not ``None``. The rule
    reads the inputs through ``self.inputs[i].data``, the output through ``out.data`` and
    anything ``forward`` kept on ``self``, and returns an array that broadcasts to the
    output's shape (Function.apply broadcasts it and casts it to the output's dtype), or
    ``None`` when the output's tangent is zero. It is linear in the tangents, written on
    arrays: tangents are constants, so forward-over-reverse works (a ``create_graph``
    backward run inside a dual level carries tangents) but reverse-over-forward does not.
    Apply calls it only inside ``forward_ad.dual_level()``; an op without one raises
    ``NotImplementedError`` naming the op when a tangent reaches it. Every primitive in
    ``autograd.ops.PRIMITIVES`` has one (tests/test_forward_ad.py checks each against
    finite differences and against its vjp, ``<u, J v> = <J^T u, v>``).

    Example (a custom op)::

        class Cube(Function):
            name = "cube"
            def forward(self, x):
                return x ** 3
            def backward(self, grad, out):
                (x,) = self.inputs
                return (grad * 3 * x * x,)
            def jvp(self, tangents, out):
                x = self.inputs[0].data
                return tangents[0] * 3 * x * x

        y = Cube.apply(Tensor([2.0], requires_grad=True))
    """

    name = "function"
    saves_inputs = True  # False for rules that never read their inputs' values
    saves_output = False  # True for rules that read `out` (exp, sqrt, tanh, sigmoid, pow)
    # True for ops whose every input broadcasts to the output's shape (add, tanh, where...):
    # no input is larger than the output, so backward() releases such an op with a small
    # output without looking at its inputs (engine._walk). Set in autograd.ops.ELEMENTWISE.
    elementwise = False

    inputs = None
    needs = ()
    versions = None
    bases = None  # (tensor, version) of tensors whose memory a saved input views (e.g. w for w.T)
    fingerprints = None  # checksums of saved arrays, taken under detect_anomaly()
    scope = ()
    where = None  # the user's source line, recorded under detect_anomaly()
    vjp = None  # the rule written once against a namespace (see the class docstring)
    jvp = None  # the forward-mode rule (see the class docstring)
    _kept = ()  # the parents a released op keeps for pictures (see release)
    in_grads = None  # what a released op's rule gave its small computed inputs (see release)
    _out = None  # the output's (shape, dtype, name) once a consumer dropped it (see summary)
    out_grad = None  # dL/d the output, kept for small outputs by backward (for pictures)
    failed = None  # what raised, when a backward() that released this op failed part-way
    _guards = None  # the in-place guards of the leaves this op saved (see _guard)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # NOTE: CPython (3.11+) sizes an instance's inline attribute storage by the names its
        # class has seen when the instance is made; the first graph's ops would each
        # allocate a dict (~270 bytes) when release() adds _kept and out_grad. One probe
        # instance that sets the usual names, in apply's order, keeps them inline from the
        # first graph on (benchmarks/README.md, "Memory after backward").
        probe = object.__new__(cls)
        for name in _LAYOUT:
            try:
                object.__setattr__(probe, name, None)
            except AttributeError:  # a subclass that made one of them a property or slot
                pass

    def forward(self, *arrays, **params):
        raise NotImplementedError(f"{type(self).__name__}.forward is not defined")

    def backward(self, grad, out):
        # An op that states its rule once, as vjp(grad, out, on), runs it on Tensor ops here.
        if type(self).vjp is None:
            raise NotImplementedError(f"op '{self.name}' has no backward rule")
        return self.vjp(grad, out, TENSORS)

    @classmethod
    def apply(cls, *inputs, **params):
        # NOTE: the hot path of the whole engine (every op, forward and backward). One- and
        # two-input ops are spelled out because a list comprehension costs a call frame, and
        # the small tuples recorded for the rules are shared constants where possible so the
        # graph holds fewer objects for the cyclic garbage collector to scan.
        fn = cls()
        n = len(inputs)
        try:
            if n == 2:
                x, y = inputs[0].data, inputs[1].data
                if type(x) is _ndarray and not x.shape:
                    x = x[()]  # 0-d: see value()
                if type(y) is _ndarray and not y.shape:
                    y = y[()]
                data = fn.forward(x, y, **params) if params else fn.forward(x, y)
            elif n == 1:
                x = inputs[0].data
                data = fn.forward(x, **params) if params else fn.forward(x)
            else:
                data = fn.forward(*[t.data for t in inputs], **params)
        except (ValueError, IndexError, TypeError) as err:
            explained = _explain(cls.name, inputs, params, err)
            if explained is err:
                raise
            raise explained from err
        kind = type(data)
        if kind is not _ndarray and kind not in _SCALARS and not isinstance(data, _generic):
            data = np.asarray(data)
        # NOTE: a 0-d result stays the NumPy scalar NumPy returned (np.float32, ...): it reads
        # like a 0-d array (shape, dtype, arithmetic), and the next op on it costs ~60 ns
        # instead of ~550 ns for a 0-d array (neuron-level graphs are all 0-d ops). Tensor()
        # and .grad always hold arrays; in-place methods turn a scalar into an array first.
        out = _new(Tensor)
        out.data = data
        out.grad = None
        out._hooks = None
        out._version = 0
        out.name = None
        out._retains_grad = False
        out._ctx = None
        out._requires_grad = False
        out._guard = None
        if _dual_levels:  # forward mode: the one check it costs the hot path (a global read)
            _push_tangent(fn, inputs, out)
        st = state.flags
        if not st.enabled:
            return out
        if n == 2:
            a, b = inputs
            ra, rb = a._requires_grad, b._requires_grad
            if not (ra or rb):
                return out
            fn.needs = _NEEDS2[ra][rb]
            if cls.saves_inputs:
                va, vb = a._version, b._version
                if va or vb:
                    # NOTE: a trained parameter's version is the step count, so a step's
                    # w * x ops all record the same pair: one shared tuple instead of one
                    # each, which would live as long as the graph and be scanned by every
                    # collection (scalar_mlp: 227k -> 197k tracked objects a step).
                    versions = (va, vb)
                    shared = _VERSIONS.get(versions)
                    if shared is None:
                        if len(_VERSIONS) >= 4096:
                            _VERSIONS.clear()
                        shared = _VERSIONS[versions] = versions
                    fn.versions = shared
                else:
                    fn.versions = _ZEROS2
                ca, cb = a._ctx, b._ctx
                # a leaf is guarded whether or not it requires grad: w * x needs x's
                # values for w's gradient as much as w's for x's
                if ca is None and a._guard is None:
                    _guard(fn, a)
                if cb is None and b._guard is None:
                    _guard(fn, b)
                if ((ca is not None and a.data.base is not None)
                        or (cb is not None and b.data.base is not None)):
                    fn.bases = _view_bases(inputs)  # so w.T notices an in-place step on w
        elif n == 1:
            a = inputs[0]
            if not a._requires_grad:
                return out
            fn.needs = _NEEDS1
            if cls.saves_inputs:
                va = a._version
                fn.versions = (va,) if va else _ZEROS1
                if a._ctx is None:
                    if a._guard is None:
                        _guard(fn, a)
                elif a.data.base is not None:
                    fn.bases = _view_bases(inputs)
        else:
            needs = tuple([t._requires_grad for t in inputs])
            if True not in needs:
                return out
            fn.needs = needs
            if cls.saves_inputs:
                fn.versions = tuple([t._version for t in inputs])
                for t in inputs:
                    if t._ctx is None:
                        if t._guard is None:
                            _guard(fn, t)
                    elif fn.bases is None and t.data.base is not None:
                        fn.bases = _view_bases(inputs)
        fn.inputs = inputs
        out._requires_grad = True
        out._ctx = fn
        scope = st.scope
        if scope:
            fn.scope = scope
        if st.anomaly:
            fn.where = _user_frame()
            _check_finite(fn, data, "forward")
            if cls.saves_inputs or cls.saves_output:
                # NOTE: raw writes to .data bypass the version counter; checksums catch them.
                fn.fingerprints = _fingerprints(inputs if cls.saves_inputs else (), data)
        return out

    def release(self, memo, out_grad=None, input_grads=None):
        """Free what only the rule needed; keep the skeleton that pictures of the graph read.

        Everything the op saved for its rule goes (input tensors, masks, im2col buffers, the
        activations of a recurrence), so the arrays die as after any release; what stays is
        the op's name, module scope and source line, its parents as summaries (see
        autograd.summary), `out_grad` for a small output and `in_grads`, the gradients
        `input_grads` (the rule's result) gave its small computed inputs: with the state
        gone, the rule cannot give them again when a picture asks (autograd.kept_grads).
        An op of small tensors only (output and inputs of at most 6 elements) holds nothing
        large, so it keeps its state. `inputs` becomes None, which is how a second
        backward() knows the graph was released.
        """
        guards = self._guards
        if guards is not None:
            self._guards = None
            for guard in guards:
                _unlock(guard)
        inputs = self.inputs
        # NOTE: an op whose output and inputs are all small (a neuron-level graph: every op)
        # keeps its state as it is: no dict materialised and cleared, nothing allocated, two
        # attributes set (benchmarks/README.md, "Memory after backward").
        if out_grad is not None:
            if type(out_grad) is _ndarray and not out_grad.shape:
                # NOTE: a 0-d gradient kept as its NumPy scalar (32 bytes, not ~116 with its
                # buffer): it reads like a 0-d array (shape, dtype, size) for the pictures.
                out_grad = out_grad[()]
            if self.bases is None:
                for t in inputs:
                    if t.data.size > SMALL:
                        break
                else:
                    self._kept = inputs
                    self.inputs = None
                    self.out_grad = out_grad
                    return
        kept, small = summarise(inputs, memo)
        given = (None if small is None or input_grads is None
                 else small_input_grads(inputs, input_grads, small))
        scope, where, made = self.scope, self.where, self._out
        state = self.__dict__
        state.clear()
        self._kept = kept
        if given is not None:
            self.in_grads = given
        if scope:
            self.scope = scope
        if where is not None:
            self.where = where
        if made is not None:
            self._out = made
        if out_grad is not None:
            self.out_grad = out_grad

    @property
    def parents(self):
        """The op's inputs as pictures read them: the input Tensors while the graph is alive,
        and after backward() released it, TensorSummary records (and the small tensors and
        leaves that learn, themselves)."""
        inputs = self.inputs
        if inputs is not None:
            return inputs
        return tuple([p.summary() if isinstance(p, Function) else p for p in self._kept])

    def summary(self):
        """The TensorSummary of the tensor this op computed, once a released consumer dropped
        it (made when first asked, from the shape, dtype and name summarise noted; then kept,
        so a picture sees one node per tensor)."""
        made = self._out
        if type(made) is tuple:
            made = self._out = TensorSummary.of_op(self, *made)
        return made

    @property
    def released(self):
        return self.inputs is None

    def __repr__(self):
        return f"<{self.name}>"


_ndarray, _generic, _new = np.ndarray, np.generic, object.__new__
_SCALARS = frozenset([np.float32, np.float64, np.float16, np.int64, np.int32, np.bool_])


def value(array):
    """`array`, or its NumPy scalar when it is 0-d: a binary op on a 0-d array costs ~550 ns
    in NumPy, on scalars ~60 ns (neuron-level graphs multiply 0-d weights by numbers)."""
    if array.shape or type(array) is not _ndarray:
        return array
    return array[()]

# The attributes apply() and release() set on an op, in that order (see __init_subclass__).
_LAYOUT = ("needs", "versions", "inputs", "_kept", "out_grad")

# Shared `needs` / `versions` tuples for the common one- and two-input cases (see apply).
_NEEDS1 = (True,)
_NEEDS2 = (((False, False), (False, True)), ((True, False), (True, True)))
_ZEROS1 = (0,)
_ZEROS2 = (0, 0)
_VERSIONS = {}  # (version, version) -> one shared tuple of them (see apply)


# The number of dual levels open in any thread (forward_ad keeps it): while it is 0, apply
# pays one global read for forward mode; the level itself is thread-local (state.dual).
_dual_levels = 0


def _push_tangent(fn, inputs, out):
    """Inside a dual level: give `out` the tangent fn.jvp computes from its inputs' tangents."""
    level = state.dual
    if level is None:
        return  # another thread's level
    tangents, found = [], False
    for t in inputs:
        pair = getattr(t, "_tangent", None)  # a slot that only duals and their results set
        if pair is not None and pair[0] is level:
            tangents.append(pair[1])
            found = True
        else:
            tangents.append(None)
    if not found or out.data.dtype.kind not in "fc":
        return
    rule = type(fn).jvp
    if rule is None:
        raise NotImplementedError(
            f"forward-mode AD: op '{fn.name}' ({type(fn).__name__}) has no jvp rule, so a "
            "tangent cannot pass through it; define jvp(self, tangents, out) beside its "
            "backward (see autograd.Function), or leave the dual level before calling it")
    fn.inputs = inputs
    tangent = rule(fn, tuple(tangents), out)
    if tangent is None:
        return
    data = out.data
    if type(tangent) is not _ndarray:
        tangent = np.asarray(tangent)
    if tangent.dtype != data.dtype:
        tangent = tangent.astype(data.dtype)
    if tangent.shape != np.shape(data):
        tangent = np.broadcast_to(tangent, np.shape(data))
    out._tangent = (level, tangent)


# ---- the in-place guard ------------------------------------------------------------------------
# A raw write into the array of a leaf that a live graph saved (`w.data[...] = 7` between
# forward and backward) bypasses the version counter and would give a wrong gradient. So the
# first op that saves a leaf (a parameter, or an input such as a batch: w * x needs x for w's
# gradient) makes its array read-only (NumPy then refuses the
# write: "assignment destination is read-only"), until that op is released by backward() or
# garbage-collected. The library's own in-place writes (Tensor.add_ and co., optimizers,
# init, load_state_dict) call unguard() first and bump the version counter instead, which
# backward() checks. set_inplace_guard(False) turns it off.

_guarding = [True]


def set_inplace_guard(enabled):
    """Turn the in-place guard on or off for the whole process (on by default); returns the
    previous setting. Off, a raw write into `.data` of a saved leaf goes unnoticed (unless
    detect_anomaly() is on) and can give wrong gradients.

    >>> previous = set_inplace_guard(False)
    >>> set_inplace_guard(previous)
    False
    """
    previous, _guarding[0] = _guarding[0], bool(enabled)
    return previous


class _Guard(weakref.ref):
    """A leaf's array held read-only for as long as the op it refers to is alive and
    unreleased: `_Guard(node, _unlock)`, then `.tensor` and `.array` set (no Python-level
    constructor: a guard is made for every saved leaf of every step)."""

    __slots__ = ("tensor", "array")


class _Unshared:
    """The guard of a constant the library made from a Python number (x * 2.0): no one else
    holds its array, so there is nothing to guard (and no per-op cost to pay for it)."""

    __slots__ = ()
    tensor = array = None


UNSHARED = _Unshared()


def _guard(fn, t):
    """Make the array of the leaf `t`, which op `fn` saves, read-only while fn holds it."""
    data = t.data
    if not _guarding[0] or type(data) is not _ndarray or not data.flags.writeable:
        return  # a user's read-only array, or a view of one, is not ours to unlock later
    data.flags.writeable = False
    guard = t._guard = _Guard(fn, _unlock)
    guard.tensor, guard.array = t, data
    guards = fn._guards
    if guards is None:
        fn._guards = [guard]
    else:
        guards.append(guard)


def _unlock(guard):
    """Give the guarded array its writes back (the weakref callback when the op dies)."""
    t, array = guard.tensor, guard.array
    if t is None:
        return
    guard.tensor = guard.array = None
    if t._guard is guard:
        t._guard = None
    try:
        array.flags.writeable = True
    except ValueError:  # a view whose base another guard holds: it comes back with the base
        pass


def unguard(t):
    """Make `t`'s array writable before the library writes into it in place (and bumps its
    version, which is how a graph that saved it notices)."""
    guard = t._guard
    if guard is not None:
        _unlock(guard)


def _user_frame():
    """The innermost stack frame outside the library, as 'file:line in func: code'."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    nn_dir = os.path.join(os.path.dirname(here), "nn")
    for frame in reversed(traceback.extract_stack()[:-2]):
        path = os.path.abspath(frame.filename)
        if not path.startswith(here) and not path.startswith(nn_dir):
            return f'{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}'
    return "<unknown>"


def _check_finite(fn, data, phase, input_index=None):
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        bad = ~np.isfinite(data)
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if data.ndim else ()
        value = data[first] if data.ndim else data[()]
        what = "NaN" if np.isnan(value) else ("-Inf" if value < 0 else "Inf")
        place = (f"the gradient for its input {input_index}" if input_index is not None
                 else "its output")
        msg = (
            f"detect_anomaly: op '{fn.name}' produced {what} in {place} during {phase} "
            f"(shape {data.shape}, {int(bad.sum())} non-finite value(s), first at index "
            f"{first}); the op was created at {fn.where}."
        )
        msg += (
            " If a where() or a mask discards these values, their gradient still flows: "
            "where(x > 0, log(x), 0) at x = 0 gives 0 * inf = NaN in backward. Make the input "
            "safe before the dangerous op: safe = where(x > 0, x, 1.0); "
            "y = where(x > 0, log(safe), 0)."
        )
        raise FloatingPointError(msg)


def _explain(name, inputs, params, err):
    """The error `err` from op `name`'s forward, re-worded to name the op and its inputs."""
    msg = str(err)
    if msg.startswith(name + ":"):
        return err  # the op's own message already says it
    shapes = " and ".join(str(t.shape) for t in inputs)
    if isinstance(err, ValueError) and len(inputs) > 1 and "broadcast" in msg:
        text = (f"{name}: shapes {shapes} do not broadcast; NumPy's rule aligns shapes from "
                "the right and each pair of axes must be equal or 1. Reshape or unsqueeze "
                f"one operand to make them match (NumPy said: {msg.strip()})")
    else:
        got = f"input shape{'s' if len(inputs) != 1 else ''} {shapes}"
        for key, value in params.items():
            shown = repr(value)
            got += f", {key}={shown if len(shown) <= 80 else shown[:77] + '...'}"
        text = f"{name}: {msg.strip()} (got {got})"
    try:
        return type(err)(text)
    except Exception:  # an exception class with an unusual constructor
        return (IndexError if isinstance(err, IndexError) else
                TypeError if isinstance(err, TypeError) else ValueError)(text)


def _view_bases(inputs):
    """(tensor, version) of every tensor whose memory an input views, through the ops between.

    An op that saves `w.T` reads `w`'s memory in backward, so an in-place step on `w`
    must invalidate it although `w.T`'s own version never moves.
    """
    pairs = []
    for t in inputs:
        while t._ctx is not None and t._ctx.inputs is not None and t.data.base is not None:
            base = t.data.base
            for parent in t._ctx.inputs:
                if parent.data is base or parent.data.base is base:
                    break
            else:
                break
            pairs.append((parent, parent._version))
            t = parent
    return tuple(pairs)


def _fingerprint(array):
    # NOTE: CRC-32 detects every change confined to 32 consecutive bits, so any single changed
    # float32 element; it reads contiguous memory without copying.
    return array.shape, array.dtype.str, zlib.crc32(np.ascontiguousarray(array).view(np.uint8))


def _fingerprints(inputs, out):
    """Checksums of the arrays a rule will read in backward (inputs, then the output)."""
    return tuple([_fingerprint(t.data) for t in inputs]), _fingerprint(out)
