"""Transposed convolutions, interpolation, pixel shuffles and the Fold/Unfold layers: PyTorch
parity (outputs, input and parameter gradients; float64 and float32), gradchecks of the
functional forms, initialisation, and error messages."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Tensor, gradcheck
from helpers import assert_parity, covers

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(15)


def _parity(ours, theirs, x, atol=1e-10, rtol=1e-9, dtype=torch.float64):
    """Run both modules on x with a random output gradient; compare output and every gradient."""
    theirs = theirs.to(dtype)
    ours = ours.double() if dtype == torch.float64 else ours
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = x.astype(np.float64 if dtype == torch.float64 else np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = theirs(xt)
    g = RNG.standard_normal(tuple(yt.shape)).astype(x.dtype)
    yt.backward(torch.tensor(g))
    xo = Tensor(x.copy(), requires_grad=True)
    yo = ours(xo)
    assert yo.shape == tuple(yt.shape) and yo.dtype == x.dtype
    yo.backward(Tensor(g))
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), atol=atol, rtol=rtol)
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), atol=atol, rtol=rtol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad.dtype == p.dtype
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=name)


# ---- transposed convolution -----------------------------------------------------------------

CT2D = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0),
         dilation=(1, 2), groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=4, stride=2, padding=1, groups=4, bias=False),
    dict(in_channels=2, out_channels=3, kernel_size=3, stride=3, padding=2, output_padding=2, dilation=2),
]
CT1D = [
    dict(in_channels=3, out_channels=2, kernel_size=3),
    dict(in_channels=4, out_channels=2, kernel_size=4, stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, output_padding=1,
         groups=2, dilation=1),
    dict(in_channels=2, out_channels=2, kernel_size=2, stride=1, dilation=3, bias=False),
]


@covers(parity="nn.ConvTranspose2d")
@pytest.mark.parametrize("kwargs", CT2D)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_conv_transpose2d_matches_pytorch(kwargs, dtype):
    tol = dict(atol=1e-10, rtol=1e-9) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
    _parity(nn.ConvTranspose2d(**kwargs), torch.nn.ConvTranspose2d(**kwargs),
            RNG.standard_normal((2, kwargs["in_channels"], 5, 4)), dtype=dtype, **tol)


@covers(parity="nn.ConvTranspose1d")
@pytest.mark.parametrize("kwargs", CT1D)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_conv_transpose1d_matches_pytorch(kwargs, dtype):
    tol = dict(atol=1e-10, rtol=1e-9) if dtype == torch.float64 else dict(atol=1e-5, rtol=1e-4)
    _parity(nn.ConvTranspose1d(**kwargs), torch.nn.ConvTranspose1d(**kwargs),
            RNG.standard_normal((2, kwargs["in_channels"], 6)), dtype=dtype, **tol)


@covers(parity=["F.conv_transpose1d", "F.conv_transpose2d"])
def test_conv_transpose_unbatched_and_functional_match_pytorch():
    w, b = RNG.standard_normal((3, 2, 3, 3)), RNG.standard_normal(2)
    assert_parity(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1),
                  lambda x, w, b: TF.conv_transpose2d(x, w, b, stride=2, padding=1),
                  RNG.standard_normal((3, 4, 4)), w, b)
    assert_parity(lambda x, w: F.conv_transpose1d(x, w, stride=2, output_padding=1),
                  lambda x, w: TF.conv_transpose1d(x, w, stride=2, output_padding=1),
                  RNG.standard_normal((2, 3, 5)), RNG.standard_normal((3, 1, 2)))


def test_conv_transpose_is_the_gradient_of_conv_with_respect_to_its_input():
    # conv_transpose2d(g, w) = d/dx <conv2d(x, w), g>: the definition, on our engine alone.
    x = Tensor(RNG.standard_normal((1, 2, 7, 6)), requires_grad=True)
    w = Tensor(RNG.standard_normal((3, 2, 3, 3)))
    y = F.conv2d(x, w, stride=2, padding=1)
    g = RNG.standard_normal(y.shape)
    (y * Tensor(g)).sum().backward()
    back = F.conv_transpose2d(Tensor(g), w, stride=2, padding=1, output_padding=(0, 1))
    np.testing.assert_allclose(back.data, x.grad.data, rtol=1e-12, atol=1e-12)


@covers(gradcheck=["F.conv_transpose1d", "F.conv_transpose2d"])
@pytest.mark.parametrize("nd", [1, 2])
def test_conv_transpose_gradcheck(nd):
    if nd == 1:
        fn = lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)
        inputs = [RNG.standard_normal((2, 4, 3)), RNG.standard_normal((4, 1, 3)), RNG.standard_normal(2)]
    else:
        fn = lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), dilation=(1, 2))
        inputs = [RNG.standard_normal((1, 2, 3, 2)), RNG.standard_normal((2, 2, 2, 2)), RNG.standard_normal(2)]
    assert gradcheck(fn, inputs)


def test_conv_transpose_init_matches_pytorch_bounds_and_shapes():
    ours, theirs = nn.ConvTranspose2d(6, 4, 3, groups=2), torch.nn.ConvTranspose2d(6, 4, 3, groups=2)
    assert ours.weight.shape == tuple(theirs.weight.shape) == (6, 2, 3, 3)
    bound = 1 / np.sqrt(2 * 9)  # fan_in = weight.shape[1] * prod(kernel), as PyTorch
    assert np.abs(ours.weight.data).max() <= bound and np.abs(ours.bias.data).max() <= bound
    assert repr(ours) == repr(theirs)


def test_conv_transpose_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"output_padding \(2, 2\) must be smaller than either the stride"):
        nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3.*expected input with 2 channels"):
        nn.ConvTranspose2d(2, 3, 3)(ag.zeros(1, 4, 5, 5))
    with pytest.raises(ValueError, match="conv_transpose1d: groups=2 must divide"):
        F.conv_transpose1d(ag.zeros(1, 3, 5), ag.zeros(3, 1, 2), groups=2)


# ---- interpolation ------------------------------------------------------------------------

INTERP = [
    ((2, 3, 5, 4), dict(scale_factor=2)),
    ((2, 3, 5, 4), dict(size=(7, 3))),
    ((1, 2, 5, 4), dict(scale_factor=(1.5, 2.5))),
    ((2, 3, 5, 4), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 2, 5, 4), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ((1, 2, 5, 4), dict(size=(3, 2), mode="bilinear")),
    ((1, 2, 5, 4), dict(scale_factor=1.7, mode="bilinear")),
    ((1, 2, 5, 4), dict(size=(1, 6), mode="bilinear", align_corners=True)),
    ((2, 3, 6), dict(scale_factor=3)),
    ((2, 3, 6), dict(size=4, mode="linear")),
    ((2, 3, 6), dict(scale_factor=2, mode="linear", align_corners=True)),
]


@covers(parity="F.interpolate")
@pytest.mark.parametrize("shape, kwargs", INTERP, ids=[f"{s}{k}" for s, k in INTERP])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_interpolate_matches_pytorch(shape, kwargs, dtype):
    tol = dict() if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    assert_parity(lambda x: F.interpolate(x, **kwargs), lambda x: TF.interpolate(x, **kwargs),
                  RNG.standard_normal(shape), dtype=dtype, **tol)


@covers(parity="nn.Upsample")
@pytest.mark.parametrize("kwargs", [dict(scale_factor=2), dict(size=(3, 7), mode="bilinear"),
                                    dict(scale_factor=2, mode="bilinear", align_corners=True)])
def test_upsample_layer_matches_pytorch(kwargs):
    assert_parity(nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs), RNG.standard_normal((1, 2, 4, 5)))


@covers(gradcheck="F.interpolate")
def test_interpolate_gradcheck():
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 3), mode="bilinear"), [RNG.standard_normal((1, 2, 3, 4))])
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=2), [RNG.standard_normal((1, 1, 2, 3))])


def test_interpolate_errors_say_what_to_pass():
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(ag.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"mode 'bilinear' needs a 4-D \(N, C, H, W\) input"):
        F.interpolate(ag.zeros(1, 1, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="mode must be 'nearest', 'linear' or 'bilinear'"):
        F.interpolate(ag.zeros(1, 1, 3, 3), scale_factor=2, mode="bicubic")


# ---- pixel shuffles, fold, unfold ------------------------------------------------------------------

@covers(parity=["nn.PixelShuffle", "nn.PixelUnshuffle", "F.pixel_shuffle", "F.pixel_unshuffle"],
        gradcheck="F.pixel_shuffle")
@pytest.mark.parametrize("r, shape", [(2, (2, 8, 3, 4)), (3, (9, 2, 2)), (1, (1, 3, 2, 2))])
def test_pixel_shuffle_and_unshuffle_match_pytorch(r, shape):
    x = RNG.standard_normal(shape)
    assert_parity(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), x)
    assert_parity(lambda t: F.pixel_unshuffle(F.pixel_shuffle(t, r), r), lambda t: t * 1, x)
    y = TF.pixel_shuffle(torch.tensor(x), r).numpy()
    assert_parity(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), y)
    assert gradcheck(lambda t: F.pixel_shuffle(t, r), [x])


def test_pixel_shuffle_error_names_the_channels():
    with pytest.raises(ValueError, match=r"pixel_shuffle: input of shape \(1, 6, 2, 2\).*divisible by 4"):
        nn.PixelShuffle(2)(ag.zeros(1, 6, 2, 2))


@covers(parity=["nn.Unfold", "nn.Fold"])
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2, padding=1),
                                    dict(kernel_size=2, dilation=2, stride=(1, 2))])
def test_unfold_and_fold_layers_match_pytorch(kwargs):
    x = RNG.standard_normal((2, 3, 6, 5))
    assert_parity(nn.Unfold(**kwargs), torch.nn.Unfold(**kwargs), x)
    cols = torch.nn.Unfold(**kwargs)(torch.tensor(x)).numpy()
    assert_parity(nn.Fold((6, 5), **kwargs), torch.nn.Fold((6, 5), **kwargs), cols)
    assert repr(nn.Fold((6, 5), **kwargs)) == repr(torch.nn.Fold((6, 5), **kwargs))
