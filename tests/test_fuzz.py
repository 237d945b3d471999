"""Fuzzing the entry points that take arbitrary input: the Tensor constructor, indexing, and
loading files (nn.load, the CLI's checkpoints).

Each may raise only its documented exception types (docs/errors.md), never crash, hang or
raise anything else:
  * Tensor(data, dtype=...):  TypeError, ValueError
  * tensor[index]:            IndexError, TypeError, ValueError
  * nn.load(path):            ValueError (one subclass, naming the file)
  * chainrule's checkpoint.load(path): CheckpointError
Every example runs under a 10-second alarm, so a hang fails the test instead of the suite.
Cases per run: see MAX_EXAMPLES (printed with -s).
"""
import contextlib
import io
import os
import signal
import sys
import tempfile
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from autograd import Tensor  # noqa: E402

import nn  # noqa: E402  (our own package: never skipped)

MAX_EXAMPLES = {"constructor": 400, "constructor_arrays": 200, "indexing": 400,
                "load_random": 200, "load_mutated": 400, "checkpoint_mutated": 200}
COUNTS = dict.fromkeys(MAX_EXAMPLES, 0)
ACCEPTED = dict.fromkeys(MAX_EXAMPLES, 0)  # cases that succeeded (so both paths are exercised)
TMP = tempfile.mkdtemp(prefix="chainrule-fuzz-")


def fuzz_settings(name):
    return settings(max_examples=MAX_EXAMPLES[name], deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@contextlib.contextmanager
def time_limit(seconds=10):
    """Turn a hang into a failure (SIGALRM, main thread on POSIX; a no-op elsewhere)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum, frame):
        raise AssertionError(f"hung for more than {seconds} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# ---- the Tensor constructor ---------------------------------------------------------------------

class Opaque:
    """Some object NumPy knows nothing about."""


leaves = st.one_of(
    st.integers(), st.floats(), st.booleans(), st.complex_numbers(),
    st.text(max_size=4), st.binary(max_size=4), st.none(), st.builds(Opaque),
    st.just(Ellipsis), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=2), st.just(float("nan")), st.just(float("inf")),
    st.sampled_from([np.float32(1.5), np.int8(-3), np.bool_(True), np.float64("nan")]),
)
nested = st.recursive(
    leaves, lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner)),
    max_leaves=16)
numeric = st.one_of(
    st.integers(-2**63, 2**63 - 1), st.floats(width=32), st.booleans(),
    hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_]),
               hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3)).map(
        lambda a: a.tolist()),  # rectangular nested lists of Python numbers
)
dtypes = st.one_of(st.none(), st.sampled_from(["float32", "float64", "int64"]), st.sampled_from([None, "float32", "float64", "float16", "int64", "int32", "int8",
                          "uint8", "bool", "complex64", "object", "U3", "S2", "bogus", "",
                          np.float32, np.int64, int, float, bool, str, object]))


def _check_constructed(t, requires_grad):
    assert isinstance(t, Tensor)
    assert t.dtype.kind in "biuf"
    assert t.requires_grad == requires_grad
    if requires_grad:
        assert t.dtype.kind == "f"


@fuzz_settings("constructor")
@given(data=st.one_of(numeric, nested), dtype=dtypes, requires_grad=st.booleans())
def test_tensor_constructor_raises_only_documented_errors(data, dtype, requires_grad):
    COUNTS["constructor"] += 1
    with time_limit(), quiet():
        try:
            t = Tensor(data, dtype=dtype, requires_grad=requires_grad)
        except (TypeError, ValueError):
            return
    ACCEPTED["constructor"] += 1
    _check_constructed(t, requires_grad)


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
any_arrays = st.one_of(
    hnp.arrays(hnp.scalar_dtypes(), shapes),  # bool, ints, floats, complex, datetimes
    hnp.arrays(hnp.unicode_string_dtypes(max_len=3), shapes),
    hnp.arrays(hnp.byte_string_dtypes(max_len=3), shapes),
    hnp.arrays(np.dtype(object), shapes, elements=st.one_of(st.integers(), st.text(max_size=2),
                                                            st.none(), st.floats())),
)


@fuzz_settings("constructor_arrays")
@given(array=any_arrays, dtype=dtypes, requires_grad=st.booleans())
def test_tensor_from_any_numpy_array(array, dtype, requires_grad):
    COUNTS["constructor_arrays"] += 1
    with time_limit(), quiet():
        try:
            t = Tensor(array, dtype=dtype, requires_grad=requires_grad)
        except (TypeError, ValueError):
            assert (array.dtype.kind not in "biuf" or dtype is not None
                    or (requires_grad and array.dtype.kind != "f")), "a numeric array was refused"
            return
    ACCEPTED["constructor_arrays"] += 1
    _check_constructed(t, requires_grad)
    assert t.shape == array.shape
    if dtype is None:
        assert t.dtype == array.dtype  # arrays keep their dtype


# ---- indexing ----------------------------------------------------------------------------------

def index_parts(shape):
    n = max(shape) if shape else 1
    ints = st.integers(-n - 2, n + 2)
    return st.one_of(
        ints, st.none(), st.just(Ellipsis), st.slices(n + 2),
        st.floats(allow_nan=True), st.text(max_size=2), st.booleans(),
        st.lists(ints, max_size=4),
        hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3),
                   elements=ints),
        # boolean masks, of the right shape or (mostly) not
        hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)),
        hnp.arrays(np.bool_, st.just(shape)) if shape else st.just(np.True_),
        st.builds(lambda a: Tensor(a), hnp.arrays(np.int64, st.just((2,)), elements=ints)),
        st.builds(lambda a: Tensor(a), hnp.arrays(np.float32, st.just((2,)))),
    )


@st.composite
def tensor_and_index(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    parts = index_parts(shape)
    index = draw(st.one_of(parts, st.tuples(), st.lists(parts, max_size=4).map(tuple)))
    return shape, index


def _numpy_index(index):
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index.data if isinstance(index, Tensor) else index


@fuzz_settings("indexing")
@given(case=tensor_and_index())
def test_indexing_matches_numpy_or_raises_a_documented_error(case):
    COUNTS["indexing"] += 1
    shape, index = case
    base = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    x = Tensor(base.copy(), requires_grad=True)
    with time_limit(), quiet():
        try:
            expected = base[_numpy_index(index)]
        except Exception:
            expected = None
        try:
            y = x[index]
        except (IndexError, TypeError, ValueError):
            return  # refusing is allowed (chainrule may be stricter than NumPy)
        assert expected is not None, f"NumPy refused {index!r} on {shape} but chainrule did not"
        np.testing.assert_array_equal(y.data, expected)
        # The gradient of sum(x[index]) counts how often each element was picked.
        y.sum().backward()
    ACCEPTED["indexing"] += 1
    ids = np.arange(base.size).reshape(shape)[_numpy_index(index)]
    counts = np.bincount(np.asarray(ids).ravel(), minlength=base.size).reshape(shape)
    np.testing.assert_array_equal(x.grad.data, counts)


# ---- loading untrusted files ---------------------------------------------------------------------

def _valid_files():
    """Bytes of valid files in every format we read: state dicts and nested structures."""
    rng = np.random.default_rng(0)
    state = {"w": rng.standard_normal((3, 2)).astype(np.float32), "b": np.arange(2),
             "flag": np.array([True, False])}
    nested = {"model": state, "step": 7, "lr": 0.1, "names": ["a", "b"], "none": None,
              "t": Tensor(np.ones(2, np.float32))}
    files = []
    for obj in (state, nested):
        for ext in (".npz", ".safetensors"):
            path = os.path.join(TMP, "valid" + ext)
            nn.save(obj, path)
            with open(path, "rb") as f:
                files.append((ext, f.read()))
    buf = io.BytesIO()
    np.savez_compressed(buf, a=np.arange(5), b=np.ones((2, 2)))
    files.append((".npz", buf.getvalue()))
    return files


VALID = _valid_files()


@st.composite
def mutated(draw, files=VALID):
    ext, data = draw(st.sampled_from(files))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "splice"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[at] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, ord("{"), ord('"')]))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:  # overwrite a run with bytes that look like lengths or sizes
            data[at:at + 8] = draw(st.sampled_from(
                [b"\xff" * 8, b"\x00" * 8, (2**62).to_bytes(8, "little"),
                 (10**9).to_bytes(8, "little")]))
    return ext, bytes(data)


def _write(ext, data, tag="mutated"):
    path = os.path.join(TMP, f"fuzz-{tag}{ext}")
    with open(path, "wb") as f:
        f.write(data)
    return path


def _load_only_value_error(path):
    with time_limit(), quiet():
        try:
            obj = nn.load(path)
        except ValueError as e:
            assert path in str(e)  # names the file
            return
    ACCEPTED["load_random" if "random" in path else "load_mutated"] += 1
    assert isinstance(obj, (dict, list, tuple))  # a surviving mutation still loads as data


@fuzz_settings("load_random")
@given(ext=st.sampled_from([".npz", ".safetensors", ".bin"]),
       data=st.one_of(st.binary(max_size=2048),
                      st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=512).map(lambda b: (len(b)).to_bytes(8, "little") + b)))
def test_nn_load_of_random_bytes(ext, data):
    COUNTS["load_random"] += 1
    _load_only_value_error(_write(ext, data, "random"))


@fuzz_settings("load_mutated")
@given(case=mutated())
def test_nn_load_of_mutated_valid_files(case):
    COUNTS["load_mutated"] += 1
    _load_only_value_error(_write(*case))


def _checkpoint_bytes():
    from chainrule import checkpoint
    path = os.path.join(TMP, "checkpoint.npz")
    checkpoint.save({"model": {"w": np.ones((2, 2), np.float32)}, "epoch": 3,
                     "optimizer": {"state": {0: {"step": 1}}}}, path)
    with open(path, "rb") as f:
        return [(".npz", f.read())]


@fuzz_settings("checkpoint_mutated")
@given(data=st.data())
def test_cli_checkpoint_load_of_mutated_files(data):
    from chainrule import checkpoint
    from chainrule.errors import CheckpointError

    COUNTS["checkpoint_mutated"] += 1
    ext, raw = data.draw(mutated(files=CHECKPOINT_FILES))
    path = _write(ext, raw)
    with time_limit(), quiet():
        try:
            checkpoint.load(path)
            ACCEPTED["checkpoint_mutated"] += 1
        except CheckpointError:
            pass


try:
    CHECKPOINT_FILES = _checkpoint_bytes()
except BaseException:  # pytest's Skipped: the test above skips itself too
    CHECKPOINT_FILES = []


def test_fuzz_case_counts():
    """Runs last in this file: how many cases ran (printed with -s; each test ran fully)."""
    ran = {k: v for k, v in COUNTS.items() if v}
    print(f"\nfuzz cases run: {ran}, total {sum(ran.values())}; accepted (no error): "
          f"{ACCEPTED}", file=sys.stderr)
    for name, n in ran.items():
        assert n >= MAX_EXAMPLES[name] * 0.9, (name, n)
    for name in ("constructor", "constructor_arrays", "indexing", "load_mutated"):
        if ran.get(name):  # both outcomes must be exercised, or the fuzzing proves little
            assert 0 < ACCEPTED[name] < ran[name], (name, ACCEPTED[name], ran[name])
