"""Attention: the masked-softmax and SDPA primitives (gradchecks, composites), the ops beside
them (masked_fill, tril, triu, RMSNorm), F.scaled_dot_product_attention and
nn.MultiheadAttention against PyTorch in float64, and their errors."""
import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import Tensor, gradcheck
from autograd.ops import MaskedSoftmax, ScaledDotProductAttention

from helpers import assert_parity


def _rng(seed):
    return np.random.default_rng(seed)


def gradcheck_cases(which):
    """(label, fn, float64 input arrays) for test_gradcheck_primitives' CASES table."""
    rng = _rng(11)
    if which == "masked_softmax":
        for shape in [(4,), (3, 4), (2, 3, 4)]:
            x = rng.normal(size=shape)
            yield f"masked_softmax {shape}", (lambda x: MaskedSoftmax.apply(x)), [x]
            keep = rng.random(shape[-1:]) > 0.4
            keep[0] = True
            yield (f"masked_softmax {shape} keep{keep.shape}",
                   (lambda x, m=keep: MaskedSoftmax.apply(x, keep=m)), [x])
        x = rng.normal(size=(3, 4))
        keep = np.tri(3, 4, dtype=bool)
        keep[1] = False  # a fully masked row: zeros and zero gradient
        yield "masked_softmax (3, 4) a row fully masked", (lambda x: MaskedSoftmax.apply(x, keep=keep)), [x]
        return
    for qs, ks, vs in [((3, 4), (5, 4), (5, 2)), ((2, 3, 4), (2, 5, 4), (2, 5, 3)),
                       ((2, 2, 3, 4), (1, 2, 5, 4), (2, 1, 5, 2))]:
        q, k, v = rng.normal(size=qs), rng.normal(size=ks), rng.normal(size=vs)
        yield (f"sdpa q{qs} k{ks} v{vs}",
               (lambda q, k, v: ScaledDotProductAttention.apply(q, k, v, scale=0.7)), [q, k, v])
        keep = rng.random((qs[-2], ks[-2])) > 0.3
        keep[:, 0] = True
        bias = rng.normal(size=(qs[-2], ks[-2]))
        yield (f"sdpa q{qs} k{ks} v{vs} keep and bias",
               (lambda q, k, v, b, m=keep: ScaledDotProductAttention.apply(q, k, v, b, keep=m,
                                                                           scale=0.5)),
               [q, k, v, bias])
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    keep = np.tri(3, 3, dtype=bool)
    keep[2] = False
    yield ("sdpa causal, a row fully masked",
           (lambda q, k, v: ScaledDotProductAttention.apply(q, k, v, keep=keep)), [q, k, v])


# ---- primitives against their composites ----------------------------------------------------

def test_masked_softmax_matches_the_composite():
    x = Tensor(_rng(0).normal(size=(2, 3, 5)), requires_grad=True)
    keep = _rng(1).random((3, 5)) > 0.3
    keep[:, 0] = True
    fused = MaskedSoftmax.apply(x, keep=keep)
    composite = x.masked_fill(Tensor(~keep), -np.inf).softmax(-1)
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-12, atol=1e-15)
    w = Tensor(_rng(2).normal(size=x.shape))
    g1, = autograd.grad([fused], [x], [w])
    g2, = autograd.grad([composite], [x], [w])
    np.testing.assert_allclose(g1.data, g2.data, rtol=1e-10, atol=1e-14)


def test_sdpa_primitive_matches_the_composite():
    rng = _rng(3)
    q, k, v = (Tensor(rng.normal(size=s), requires_grad=True)
               for s in [(2, 4, 3), (2, 6, 3), (2, 6, 5)])
    bias = Tensor(rng.normal(size=(4, 6)), requires_grad=True)
    keep = rng.random((4, 6)) > 0.3
    keep[:, 0] = True
    fused = ScaledDotProductAttention.apply(q, k, v, bias, keep=keep, scale=0.3)
    scores = (q * 0.3) @ k.swapaxes(-1, -2) + bias
    composite = scores.masked_fill(Tensor(~keep), -np.inf).softmax(-1) @ v
    np.testing.assert_allclose(fused.data, composite.data, rtol=1e-12)
    w = Tensor(rng.normal(size=fused.shape))
    got = autograd.grad([fused], [q, k, v, bias], [w])
    want = autograd.grad([composite], [q, k, v, bias], [w])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-13)


def test_sdpa_second_order_through_the_tensor_rule():
    rng = _rng(4)
    q, k, v = (rng.normal(size=s) for s in [(3, 2), (4, 2), (4, 2)])
    keep = np.tri(3, 4, dtype=bool)

    def first(q, k, v):
        out = ScaledDotProductAttention.apply(q, k, v, keep=keep, scale=0.8)
        g = autograd.grad([(out * out).sum()], [q], create_graph=True)[0]
        return g

    assert gradcheck(first, [q, k, v])


def test_fully_masked_rows_give_zeros_and_finite_gradients_under_detect_anomaly():
    x = Tensor(_rng(5).normal(size=(1, 3, 4)), requires_grad=True)
    mask = np.ones((3, 3), bool)
    mask[1] = False
    with autograd.detect_anomaly():
        out = F.scaled_dot_product_attention(x, x, x, attn_mask=mask)
        out.sum().backward()
    assert np.all(out.data[0, 1] == 0)
    assert np.isfinite(x.grad.data).all()


def test_an_additive_causal_mask_raises_no_false_alarm_under_detect_anomaly():
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    x = Tensor(_rng(6).normal(size=(2, 5, 4)).astype(np.float32), requires_grad=True)
    causal = nn.Transformer.generate_square_subsequent_mask(5)
    with autograd.detect_anomaly():
        for need in (True, False):
            out, _ = mha(x, x, x, attn_mask=causal, need_weights=need)
            out.sum().backward()
    assert np.isfinite(x.grad.data).all()


# ---- the small ops beside attention -----------------------------------------------------------

@pytest.mark.parametrize("diagonal", [-1, 0, 2])
@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (2, 4, 3)])
def test_tril_triu_match_pytorch(shape, diagonal):
    x = _rng(6).normal(size=shape)
    assert_parity(lambda a: a.tril(diagonal), lambda a: a.tril(diagonal), x)
    assert_parity(lambda a: a.triu(diagonal), lambda a: a.triu(diagonal), x)


@pytest.mark.parametrize("mask_shape", [(3, 4), (4,), (1, 4), ()])
def test_masked_fill_matches_pytorch(mask_shape):
    torch = pytest.importorskip("torch")
    x = _rng(7).normal(size=(3, 4))
    mask = _rng(8).random(mask_shape) > 0.5
    assert_parity(lambda a: a.masked_fill(Tensor(mask), -2.5),
                  lambda a: a.masked_fill(torch.from_numpy(np.asarray(mask)), -2.5), x)


def test_masked_fill_and_tril_errors_name_the_op():
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="masked_fill: mask must be boolean"):
        x.masked_fill(Tensor(np.zeros((3, 4))), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(2,\)"):
        x.masked_fill(np.zeros(2, bool), 1.0)
    with pytest.raises(ValueError, match="tril: needs a tensor of at least 2"):
        Tensor(np.zeros(3)).tril()


def test_tril_triu_masked_fill_gradcheck():
    keep = np.array([[True, False, True], [False, False, True]])
    assert gradcheck(lambda a: a.tril(1) * 2 + a.triu(-1), [_rng(9).normal(size=(2, 3))])
    assert gradcheck(lambda a: a.masked_fill(Tensor(keep), 0.5), [_rng(9).normal(size=(2, 3))])


@pytest.mark.parametrize("eps", [None, 1e-5])
@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 5)])
def test_rms_norm_matches_pytorch(shape, eps):
    torch = pytest.importorskip("torch")
    x, w = _rng(10).normal(size=shape), _rng(11).normal(size=(5,))
    assert_parity(lambda a, b: F.rms_norm(a, (5,), b, eps),
                  lambda a, b: torch.nn.functional.rms_norm(a, (5,), b, eps), x, w)
    assert gradcheck(lambda a, b: F.rms_norm(a, (5,), b, eps), [x, w])


def test_rms_norm_layer_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.RMSNorm((3, 4)).double(), torch.nn.RMSNorm((3, 4)).double()
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = _rng(12).normal(size=(2, 3, 4))
    assert_parity(lambda a: ours(a), lambda a: theirs(a), x)
    assert repr(ours) == "RMSNorm((3, 4), eps=None, elementwise_affine=True)"
    with pytest.raises(ValueError, match="rms_norm: input of shape"):
        ours(Tensor(np.zeros((2, 4))))


def test_silu_gelu_tanh_one_hot_match_pytorch():
    torch = pytest.importorskip("torch")
    x = _rng(13).normal(size=(3, 4)) * 3
    assert_parity(F.silu, torch.nn.functional.silu, x)
    assert_parity(lambda a: nn.SiLU()(a), lambda a: torch.nn.SiLU()(a), x)
    assert_parity(lambda a: F.gelu(a, approximate="tanh"),
                  lambda a: torch.nn.functional.gelu(a, approximate="tanh"), x)
    assert gradcheck(lambda a: F.gelu(a, approximate="tanh") + F.silu(a), [x])
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(F.one_hot(idx, 5).data,
                                  torch.nn.functional.one_hot(torch.from_numpy(idx), 5).numpy())


# ---- F.scaled_dot_product_attention ------------------------------------------------------------

def _qkv(seed, batch=(2, 3), L=4, S=5, E=6, Ev=3):
    rng = _rng(seed)
    return (rng.normal(size=batch + (L, E)), rng.normal(size=batch + (S, E)),
            rng.normal(size=batch + (S, Ev)))


def test_sdpa_matches_pytorch_without_a_mask():
    torch = pytest.importorskip("torch")
    assert_parity(F.scaled_dot_product_attention,
                  torch.nn.functional.scaled_dot_product_attention, *_qkv(0))


def test_sdpa_matches_pytorch_causal_and_with_a_scale():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for L, S in [(4, 4), (4, 6), (6, 4)]:
        q, k, v = _qkv(1, L=L, S=S)
        assert_parity(lambda *a: F.scaled_dot_product_attention(*a, is_causal=True, scale=0.4),
                      lambda *a: tf.scaled_dot_product_attention(*a, is_causal=True, scale=0.4),
                      q, k, v)


@pytest.mark.parametrize("mask_shape", [(4, 5), (3, 4, 5), (2, 1, 4, 5), (1, 5)])
def test_sdpa_matches_pytorch_with_a_boolean_mask(mask_shape):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    mask = _rng(2).random(mask_shape) > 0.4
    q, k, v = _qkv(2)
    assert_parity(lambda *a: F.scaled_dot_product_attention(*a, attn_mask=mask),
                  lambda *a: tf.scaled_dot_product_attention(*a, attn_mask=torch.from_numpy(mask)),
                  q, k, v)


def test_sdpa_matches_pytorch_with_a_float_mask_and_its_gradient():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    q, k, v = _qkv(3)
    bias = _rng(4).normal(size=(3, 4, 5))
    bias[0, 1] = -np.inf  # a fully masked row, as PyTorch's additive masks write it
    bias[1, :, 2] = -np.inf
    assert_parity(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                  lambda a, b, c, m: tf.scaled_dot_product_attention(a, b, c, attn_mask=m),
                  q, k, v, bias)


def test_sdpa_fully_masked_row_is_zero_as_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    q, k, v = _qkv(5)
    mask = np.ones((4, 5), bool)
    mask[2] = False
    assert_parity(lambda *a: F.scaled_dot_product_attention(*a, attn_mask=mask),
                  lambda *a: tf.scaled_dot_product_attention(*a, attn_mask=torch.from_numpy(mask)),
                  q, k, v)


def test_sdpa_float32_matches_pytorch():
    torch = pytest.importorskip("torch")
    assert_parity(lambda *a: F.scaled_dot_product_attention(*a, is_causal=True),
                  lambda *a: torch.nn.functional.scaled_dot_product_attention(*a, is_causal=True),
                  *_qkv(6), dtype=np.float32, rtol=1e-5, atol=1e-6)


def test_sdpa_dropout_zeroes_weights_and_keeps_the_mean():
    autograd.manual_seed(0)
    q = Tensor(np.zeros((1, 1, 2000, 2)))
    v = Tensor(np.ones((1, 1, 2000, 2)))
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    # uniform weights 1/S, each kept with probability 0.5 and doubled: the rows average 1
    assert abs(out.data.mean() - 1) < 0.05
    assert out.data.std() > 0


def test_sdpa_errors_name_the_function_and_shapes():
    q, k, v = (Tensor(a) for a in _qkv(7))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape \(3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool))
    with pytest.raises(TypeError, match="attn_mask must be boolean .* got dtype int64"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), np.int64))
    with pytest.raises(ValueError, match="query .* key .* value .* do not fit"):
        F.scaled_dot_product_attention(q, v, v)
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((4, 5), bool), is_causal=True)


# ---- nn.MultiheadAttention ----------------------------------------------------------------

def _mha_pair(seed=0, **kwargs):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(**kwargs).double()
    with torch.no_grad():  # non-zero biases, so their gradients are tested for real
        for name, p in theirs.named_parameters():
            if "bias" in name:
                p.normal_()
    ours = nn.MultiheadAttention(**kwargs).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _mha_compare(ours, theirs, q, k, v, self_attention=False, **call):
    """Forward (output and weights), input gradients and every parameter gradient."""
    torch = pytest.importorskip("torch")
    ti = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    oi = [Tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    if self_attention:
        ti, oi = [ti[0]] * 3, [oi[0]] * 3
    tcall = {key: (torch.from_numpy(val) if isinstance(val, np.ndarray) else val)
             for key, val in call.items()}
    out, weights = ours(*oi, **call)
    ref, ref_w = theirs(*ti, **tcall)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    if ref_w is None:
        assert weights is None
    else:
        assert weights.shape == tuple(ref_w.shape)
        np.testing.assert_allclose(weights.data, ref_w.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = _rng(99).normal(size=out.shape)
    loss = (out * Tensor(g)).sum()
    tloss = (ref * torch.from_numpy(g)).sum()
    if weights is not None:
        gw = _rng(98).normal(size=weights.shape)
        loss = loss + (weights * Tensor(gw)).sum()
        tloss = tloss + (ref_w * torch.from_numpy(gw)).sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(oi[:1] if self_attention else oi, ti[:1] if self_attention else ti):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-11)
    tp = dict(theirs.named_parameters())
    op = dict(ours.named_parameters())
    assert set(op) == set(tp)
    for name, p in op.items():
        np.testing.assert_allclose(p.grad.data, tp[name].grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


def _inputs(seed, N, L, S, E, kdim=None, vdim=None, batch_first=False):
    rng = _rng(seed)
    shape = (lambda n: (N, n, None)) if batch_first else (lambda n: (n, N, None))
    q = rng.normal(size=shape(L)[:2] + (E,))
    k = rng.normal(size=shape(S)[:2] + (kdim or E,))
    v = rng.normal(size=shape(S)[:2] + (vdim or E,))
    return q, k, v


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_mha_matches_pytorch(batch_first, need_weights, average):
    ours, theirs = _mha_pair(embed_dim=8, num_heads=2, batch_first=batch_first)
    q, k, v = _inputs(0, 3, 4, 5, 8, batch_first=batch_first)
    _mha_compare(ours, theirs, q, k, v, need_weights=need_weights, average_attn_weights=average)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_self_attention_with_a_causal_mask(batch_first):
    ours, theirs = _mha_pair(embed_dim=8, num_heads=4, batch_first=batch_first)
    q, _, _ = _inputs(1, 2, 5, 5, 8, batch_first=batch_first)
    mask = np.triu(np.ones((5, 5), bool), 1)  # True = masked out, in this layer
    for need in (True, False):
        _mha_compare(ours, theirs, q, q, q, self_attention=True, attn_mask=mask,
                     need_weights=need)
        ours.zero_grad()
        theirs.zero_grad()
    causal = nn.Transformer.generate_square_subsequent_mask(5).data
    _mha_compare(ours, theirs, q, q, q, self_attention=True, attn_mask=causal, is_causal=True,
                 need_weights=False)


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_key_padding_and_float_masks(batch_first):
    ours, theirs = _mha_pair(embed_dim=6, num_heads=3, batch_first=batch_first)
    q, k, v = _inputs(2, 3, 4, 5, 6, batch_first=batch_first)
    padding = np.zeros((3, 5), bool)
    padding[0, 3:] = True
    padding[2, 0] = True
    float_mask = _rng(3).normal(size=(4, 5))
    per_head = _rng(4).random((9, 4, 5)) > 0.8
    per_head[..., 1] = False
    for call in (dict(key_padding_mask=padding), dict(attn_mask=float_mask),
                 dict(key_padding_mask=padding, attn_mask=float_mask),
                 dict(key_padding_mask=padding, attn_mask=per_head),
                 dict(key_padding_mask=padding * -3.0, attn_mask=per_head, need_weights=False)):
        for need in (True, False):
            _mha_compare(ours, theirs, q, k, v, **{"need_weights": need, **call})
            ours.zero_grad()
            theirs.zero_grad()


def test_mha_kdim_vdim_no_bias_and_bias_kv():
    ours, theirs = _mha_pair(embed_dim=8, num_heads=2, kdim=5, vdim=3)
    assert {"q_proj_weight", "k_proj_weight", "v_proj_weight"} <= set(ours.state_dict())
    assert "in_proj_weight" not in ours.state_dict()
    _mha_compare(ours, theirs, *_inputs(5, 2, 4, 6, 8, kdim=5, vdim=3))
    ours, theirs = _mha_pair(embed_dim=8, num_heads=2, bias=False)
    assert "in_proj_bias" not in ours.state_dict()
    _mha_compare(ours, theirs, *_inputs(6, 2, 4, 6, 8))
    ours, theirs = _mha_pair(embed_dim=8, num_heads=2, add_bias_kv=True, add_zero_attn=True)
    padding = np.zeros((2, 6), bool)
    padding[1, :2] = True
    _mha_compare(ours, theirs, *_inputs(7, 2, 4, 6, 8), key_padding_mask=padding,
                 attn_mask=np.triu(np.ones((4, 6), bool), 1))


def test_mha_unbatched_matches_pytorch():
    ours, theirs = _mha_pair(embed_dim=4, num_heads=2)
    rng = _rng(8)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    padding = np.array([False, False, True, False, False])
    _mha_compare(ours, theirs, q, k, v, key_padding_mask=padding)


def test_mha_defaults_and_init_follow_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.MultiheadAttention(8, 2)
    theirs = torch.nn.MultiheadAttention(8, 2)
    for (name, p), (tname, tp) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert name == tname and p.shape == tuple(tp.shape)
    assert not ours.in_proj_bias.data.any() and not ours.out_proj.bias.data.any()
    bound = np.sqrt(6 / (8 + 24))  # xavier_uniform_ over the stacked (24, 8) weight
    assert np.abs(ours.in_proj_weight.data).max() <= bound
    assert ours.batch_first is False and ours.dropout == 0.0


def test_mha_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim=10 is not divisible by "
                                         "num_heads=4.*num_heads=5"):
        nn.MultiheadAttention(10, 4)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    x = Tensor(np.zeros((2, 3, 8), np.float32))
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask of shape \(2, 4\)"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 4\) should be .*\(3, 3\)"):
        mha(x, x, x, attn_mask=np.zeros((4, 4), bool))
    with pytest.raises(TypeError, match="attn_mask must be boolean .* got dtype int64"):
        mha(x, x, x, attn_mask=np.zeros((3, 3), np.int64))
    with pytest.raises(ValueError, match=r"query of shape \(2, 3, 6\) should end with embed_dim=8"):
        mha(Tensor(np.zeros((2, 3, 6))), x, x)
    with pytest.raises(ValueError, match="is_causal=True is a hint"):
        mha(x, x, x, is_causal=True)
