"""The dtype rules of docs/dtypes.md: construction, promotion, operations, gradients."""
import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def T(dtype, value=1):
    return Tensor(np.full(2, value, dtype=dtype))


# ---- construction ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, dtype", [
    (1.5, "float32"), ([1.0, 2], "float32"), ([[1, 2], [3, 4.5]], "float32"),
    (3, "int64"), ([1, 2], "int64"), (True, "bool"), ([True, False], "bool"),
    (np.float64(2.0), "float64"), (np.ones(2, np.float16), "float16"),
    (np.arange(3, dtype=np.int32), "int32"), (np.uint8(7), "uint8"),
])
def test_construction_dtypes(data, dtype):
    assert Tensor(data).dtype == np.dtype(dtype)


def test_numpy_arrays_keep_their_dtype_copied_or_shared():
    a = np.ones(3)
    assert Tensor(a).dtype == np.float64 and Tensor(a).data is not a  # copied, as torch.tensor
    assert ag.from_numpy(a).data is a  # shared, as torch.from_numpy


def test_factories():
    assert ag.zeros(2).dtype == np.float32 and ag.randn(2).dtype == np.float32
    assert ag.arange(3).dtype == np.int64 and ag.arange(3.0).dtype == np.float32


# ---- two tensors: the table in docs/dtypes.md --------------------------------------------------

ORDER = ["bool", "int32", "int64", "float16", "float32", "float64"]
TABLE = {  # row a, columns b in ORDER
    "bool": ["bool", "int32", "int64", "float16", "float32", "float64"],
    "int32": ["int32", "int32", "int64", "float64", "float64", "float64"],
    "int64": ["int64", "int64", "int64", "float64", "float64", "float64"],
    "float16": ["float16", "float64", "float64", "float16", "float32", "float64"],
    "float32": ["float32", "float64", "float64", "float32", "float32", "float64"],
    "float64": ["float64", "float64", "float64", "float64", "float64", "float64"],
}


@pytest.mark.parametrize("a", ORDER)
@pytest.mark.parametrize("b", ORDER)
def test_tensor_tensor_promotion_table(a, b):
    expected = np.dtype(TABLE[a][ORDER.index(b)])
    assert (T(a) + T(b)).dtype == expected
    assert (T(a) * T(b)).dtype == expected
    assert T(a).maximum(T(b)).dtype == expected
    if not (a == b == "bool"):  # NumPy has no bool - bool
        assert (T(a) - T(b)).dtype == expected


@pytest.mark.parametrize("a, b, expected", [
    ("uint8", "int8", "int16"), ("int8", "float32", "float32"), ("uint8", "float32", "float32"),
    ("int16", "float32", "float32"), ("float16", "int64", "float64")])
def test_small_integers(a, b, expected):
    assert (T(a) + T(b)).dtype == np.dtype(expected)


def test_numpy_array_operands_are_strong():
    assert (T("float32") + np.ones(2)).dtype == np.float64


# ---- tensor and Python number ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_python_numbers_never_widen_a_float_tensor(dtype):
    x = T(dtype)
    for y in (x + 2, 2 + x, x + 2.5, 2.5 - x, x * True, x / 3, x ** 2, x + np.float64(1.0),
              ag.where(np.array([True, False]), x, 0.0)):
        assert y.dtype == np.dtype(dtype)


def test_a_number_lifted_into_ops_keeps_its_value_dtype_and_sign():
    # numbers are made NumPy scalars once per (number, dtype) and reused (tensor._lift)
    x32, x64 = T("float32", -2.0), T("float64", -2.0)
    for _ in range(2):  # made, then reused
        assert (x32 * 0.1).data.tolist() == (np.full(2, -2, np.float32) * np.float32(0.1)).tolist()
        assert (x64 * 0.1).data.tolist() == [-2 * 0.1] * 2  # not the float32 rounding of 0.1
        assert (x32 * 0.1).dtype == np.float32 and (x64 * 0.1).dtype == np.float64
        assert np.signbit((x32 * 0.0).data).all()  # -2 * 0.0 = -0.0
        assert not np.signbit((x32 * -0.0).data).any()  # -2 * -0.0 = +0.0
    y = Tensor(np.ones(2, np.float32), requires_grad=True)
    (y * 3.0).sum().backward()
    assert y.grad.data.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8"])
def test_python_numbers_with_integer_tensors(dtype):
    x = T(dtype)
    assert (x + 2).dtype == np.dtype(dtype) and (3 * x).dtype == np.dtype(dtype)
    assert (x + 2.5).dtype == np.float64 and (2.5 * x).dtype == np.float64
    assert (x * True).dtype == np.dtype(dtype)
    assert (x / 2).dtype == np.float64


def test_python_numbers_with_bool_tensors():
    x = T("bool", True)
    assert (x + 2).dtype == np.int64 and (x + 2.5).dtype == np.float64
    assert (x * True).dtype == np.bool_


def test_integer_arithmetic_wraps_as_numpy():
    assert (Tensor(np.uint8([200])) + 100).tolist() == [44]


# ---- operations -------------------------------------------------------------------------------------

def test_operation_dtypes():
    i, f = T("int64"), T("float32")
    assert (i / i).dtype == np.float64 and (T("uint8") / T("uint8")).dtype == np.float64
    assert (i ** 2).dtype == np.int64 and (i ** 0.5).dtype == np.float64
    for op in ("exp", "log", "sqrt", "sin", "tanh", "sigmoid"):
        assert getattr(i, op)().dtype == np.float64, op
        assert getattr(T("uint8"), op)().dtype == np.float16, op
        assert getattr(f, op)().dtype == np.float32, op
    assert i.sum().dtype == np.int64 and T("bool").sum().dtype == np.int64
    assert T("uint8").sum().dtype == np.uint64 and f.sum().dtype == np.float32
    assert i.mean().dtype == np.float64 and T("bool").mean().dtype == np.float64
    assert f.mean().dtype == np.float32 and T("float16").var().dtype == np.float16
    assert i.max().dtype == np.int64 and f.min().dtype == np.float32
    assert (f < 1).dtype == np.bool_ and (i == i).dtype == np.bool_ and f.any().dtype == np.bool_
    assert f.argmax().dtype == np.int64
    assert f.double().dtype == np.float64 and i.float().dtype == np.float32
    assert f.long().dtype == np.int64 and f.astype("float16").dtype == np.float16


def test_sigmoid_of_unsigned_integers_is_right():
    # -|x| would wrap around in uint8: the input is converted to float first.
    np.testing.assert_allclose(Tensor(np.uint8([0, 1, 200])).sigmoid().data,
                               1 / (1 + np.exp(-np.array([0.0, 1.0, 200.0]))), rtol=1e-3)


# ---- gradients -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int8", "int32", "int64", "uint8", "bool"])
def test_integer_and_bool_tensors_cannot_require_grad(dtype):
    with pytest.raises(TypeError, match=f"got dtype {dtype}"):
        Tensor(np.zeros(2, dtype), requires_grad=True)
    t = Tensor(np.zeros(2, dtype))
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad_()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_tensors_can_require_grad(dtype):
    x = Tensor(np.ones(2, dtype), requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.dtype == np.dtype(dtype)


def test_mixed_dtype_gradients_have_their_tensors_dtype():
    w = Tensor(np.ones(3, np.float32), requires_grad=True)
    v = Tensor(np.full(3, 2.0), requires_grad=True)  # float64
    labels = Tensor(np.array([1, 2, 3]))  # int64 data, no grad
    y = (w * v * labels).sum()
    assert y.dtype == np.float64
    y.backward()
    assert w.grad.dtype == np.float32 and v.grad.dtype == np.float64
    np.testing.assert_allclose(w.grad.data, [2, 4, 6])
    np.testing.assert_allclose(v.grad.data, [1, 2, 3])


def test_cast_is_differentiable_between_floats():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.data, [3, 3])
