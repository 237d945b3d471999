"""Conv and pooling layers: PyTorch parity (float64: outputs, input and parameter grads),
known answers, initialisation, and error messages."""
import math

import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)


def _parity(ours, theirs, x, atol=1e-10):
    """Run both modules on x (float64) with a random output gradient; compare everything."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    g = RNG.standard_normal(tuple(yt.shape))
    yt.backward(torch.tensor(g))
    xo = Tensor(x.copy(), requires_grad=True)
    yo = ours(xo)
    assert yo.shape == tuple(yt.shape)
    yo.backward(Tensor(g))
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), atol=atol, rtol=1e-9)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), atol=atol, rtol=1e-9)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), atol=atol,
                                   rtol=1e-9, err_msg=name)


CONV2D_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(1, 2), padding=(2, 0),
         dilation=(2, 1), groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=3, padding=1, groups=4, bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=(3, 2), padding="same", dilation=2),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=2, padding_mode="reflect"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="replicate"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=(1, 2), padding_mode="circular"),
]


@pytest.mark.parametrize("kwargs", CONV2D_CASES)
def test_conv2d_matches_pytorch(kwargs):
    theirs = torch.nn.Conv2d(**kwargs).double()
    ours = nn.Conv2d(**kwargs).double()
    x = RNG.standard_normal((2, kwargs["in_channels"], 7, 6))
    _parity(ours, theirs, x)


CONV1D_CASES = [
    dict(in_channels=3, out_channels=2, kernel_size=3),
    dict(in_channels=4, out_channels=6, kernel_size=4, stride=3, padding=2, dilation=2, groups=2),
    dict(in_channels=2, out_channels=2, kernel_size=5, padding="same", bias=False),
    dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"),  # odd total: extra right
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=2, padding_mode="circular"),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on even kernels
@pytest.mark.parametrize("kwargs", CONV1D_CASES)
def test_conv1d_matches_pytorch(kwargs):
    theirs = torch.nn.Conv1d(**kwargs).double()
    ours = nn.Conv1d(**kwargs).double()
    _parity(ours, theirs, RNG.standard_normal((3, kwargs["in_channels"], 11)))


def test_unbatched_conv_input_matches_pytorch():
    theirs = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    ours = nn.Conv2d(2, 3, 3, padding=1).double()
    _parity(ours, theirs, RNG.standard_normal((2, 5, 4)))


POOL_CASES = [
    ("MaxPool2d", dict(kernel_size=2)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("MaxPool2d", dict(kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2), ceil_mode=True)),
    ("MaxPool2d", dict(kernel_size=3, stride=2, ceil_mode=True, padding=1)),
    ("MaxPool1d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("MaxPool1d", dict(kernel_size=2, dilation=3)),
    ("AvgPool2d", dict(kernel_size=2)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("AvgPool2d", dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True,
                       count_include_pad=False)),
    ("AvgPool2d", dict(kernel_size=2, divisor_override=3)),
    ("AvgPool1d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("AvgPool1d", dict(kernel_size=4, stride=1, padding=2, count_include_pad=False)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 2))),  # divisible
    ("AdaptiveAvgPool2d", dict(output_size=(4, 5))),  # overlapping, uneven windows
    ("AdaptiveAvgPool2d", dict(output_size=1)),
    ("AdaptiveAvgPool2d", dict(output_size=(None, 3))),
    ("AdaptiveAvgPool1d", dict(output_size=4)),
]


@pytest.mark.parametrize("name,kwargs", POOL_CASES)
def test_pooling_matches_pytorch(name, kwargs):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    shape = (2, 3, 11) if name.endswith("1d") else (2, 3, 6, 9)
    # Distinct values: max pooling's gradient is then unambiguous.
    x = RNG.permutation(int(np.prod(shape))).reshape(shape) / 7.0
    _parity(ours, theirs, x)


def test_max_pool_ties_and_nan_follow_pytorch():
    x = np.array([[[[1.0, 1.0, 2.0, 2.0], [1.0, 0.0, np.nan, 2.0]]]])
    xo = Tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = F.max_pool2d(xo, 2), torch.nn.functional.max_pool2d(xt, 2)
    np.testing.assert_array_equal(yo.data, yt.detach().numpy())
    yo.sum().backward()
    yt.sum().backward()
    np.testing.assert_array_equal(xo.grad.data, xt.grad.numpy())


@pytest.mark.parametrize("kwargs,shape", [
    (dict(kernel_size=2), (3, 4, 6, 8)),                       # windows tile the input
    (dict(kernel_size=2), (3, 4, 7, 9)),                       # a row and a column left over
    (dict(kernel_size=3, stride=2, padding=1), (3, 4, 7, 6)),  # overlapping, padded
])
def test_max_pool_on_channel_major_memory_and_non_finite_grad(kwargs, shape):
    # A convolution hands the pool an (N, C, H, W) view of (C, N, H, W) memory, and the
    # pool keeps that layout; values and gradients must not depend on it. The output
    # gradient holds inf and NaN: only the winners may receive them.
    n, c, h, w = shape
    x = (RNG.permutation(n * c * h * w).reshape(c, n, h, w) / 7.0).transpose(1, 0, 2, 3)
    xo, xt = Tensor(x, requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    yo, yt = F.max_pool2d(xo, **kwargs), torch.nn.functional.max_pool2d(xt, **kwargs)
    np.testing.assert_array_equal(yo.data, yt.detach().numpy())
    g = RNG.standard_normal(yo.shape)
    g[0, 1, 0, 0], g[1, 0, 1, 1] = np.inf, np.nan
    yo.backward(Tensor(g))
    yt.backward(torch.tensor(g))
    # (overlapping windows add in another order than PyTorch: equal up to rounding)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-12, atol=0)
    g = RNG.standard_normal(yo.shape)
    xo.grad = None
    F.max_pool2d(xo, **kwargs).backward(Tensor(g))
    xt.grad = None
    torch.nn.functional.max_pool2d(xt, **kwargs).backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-12, atol=0)


# ---- known answers ---------------------------------------------------------------------

def test_same_padding_3x3_keeps_7x7():
    conv = nn.Conv2d(1, 1, 3, stride=1, padding=1)
    assert conv(ag.zeros(1, 1, 7, 7)).shape == (1, 1, 7, 7)


def test_alexnet_first_layer_shape_and_parameter_count():
    conv = nn.Conv2d(3, 96, kernel_size=11, stride=4)
    assert sum(p.size for p in conv.parameters()) == 34_944
    assert conv(ag.zeros(1, 3, 227, 227)).shape == (1, 96, 55, 55)


def test_max_pool_known_answer():
    x = Tensor([[[[1.0, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]]])
    assert nn.MaxPool2d(2, stride=2)(x).tolist() == [[[[6.0, 8.0], [3.0, 4.0]]]]


def test_conv_known_answer_by_hand():
    # A 3x3 box filter on a 4x4 ramp, valid: each output is 9 x its window's centre value.
    x = Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    y = F.conv2d(x, Tensor(np.ones((1, 1, 3, 3))))
    np.testing.assert_allclose(y.data.ravel(), [9 * 5, 9 * 6, 9 * 9, 9 * 10])


# ---- initialisation -------------------------------------------------------------------

def test_conv_init_bounds_like_pytorch():
    ag.manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, groups=2)
    fan_in = 2 * 3 * 3
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), ...)
    assert conv.weight.shape == (8, 2, 3, 3) and conv.bias.shape == (8,)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    # Uniform over the whole interval: the spread is not a degenerate constant.
    assert conv.weight.data.std() > bound / 3
    assert nn.Conv1d(3, 5, 2, bias=False).bias is None
    assert set(dict(nn.Conv1d(3, 5, 2).named_parameters())) == {"weight", "bias"}


# ---- errors ---------------------------------------------------------------------------

def test_conv_wrong_channels_names_layer_and_shapes():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*expected input with 3 channels.*"
                                         r"\(2, 4, 9, 9\)"):
        conv(ag.zeros(2, 4, 9, 9))


def test_conv_wrong_ndim_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Conv1d.*expected a 3-D input.*got shape \(2, 3, 4, 5\)"):
        nn.Conv1d(3, 8, 3)(ag.zeros(2, 3, 4, 5))


def test_conv_input_smaller_than_kernel_is_explained():
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        nn.Conv2d(1, 1, 5)(ag.zeros(1, 1, 3, 3))


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(4, 6, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding should be at most half"):
        nn.MaxPool2d(2, padding=2)(ag.zeros(1, 1, 4, 4))
