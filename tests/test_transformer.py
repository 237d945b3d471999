"""Transformer layers against PyTorch in float64, after loading its state dict: forward, input
gradients and every parameter gradient; norm_first both ways, ReLU, GELU and a callable,
several layers, the decoder with memory, masks; nn.Transformer's mask; errors."""
import numpy as np
import pytest

import nn
import nn.functional as F
from autograd import Tensor

torch = pytest.importorskip("torch")


def _load(ours, theirs):
    ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()


def _check(ours, theirs, arrays, call=None, tcall=None, seed=0):
    """Outputs, gradients of every float input and parameter for sum(g * out)."""
    ti = [torch.tensor(a, requires_grad=True) for a in arrays]
    oi = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = ours(*oi, **(call or {}))
    ref = theirs(*ti, **(tcall or call or {}))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-9, atol=1e-11)
    g = np.random.default_rng(seed).normal(size=out.shape)
    (out * Tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    for a, b in zip(oi, ti):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-8, atol=1e-10)
    tp = dict(theirs.named_parameters())
    op = dict(ours.named_parameters())
    assert set(op) == set(tp)
    for name, p in op.items():
        np.testing.assert_allclose(p.grad.data, tp[name].grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


def _x(seed, *shape):
    return np.random.default_rng(seed).normal(size=shape)


def _nonzero_affine(module):
    """LayerNorm weights and biases away from 1 and 0, so their gradients are tested for real."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.3)
            elif "norm" in name:
                p.uniform_(0.5, 1.5)
    return module


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_pytorch(norm_first, activation, batch_first):
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1, activation=activation,
              batch_first=batch_first, norm_first=norm_first)
    theirs = _nonzero_affine(torch.nn.TransformerEncoderLayer(**kw).double())
    ours = nn.TransformerEncoderLayer(**kw)
    _load(ours, theirs)
    src = _x(1, 3, 5, 8) if batch_first else _x(1, 5, 3, 8)
    mask = nn.Transformer.generate_square_subsequent_mask(5).data.astype(np.float64)
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    _check(ours, theirs, [src])
    ours.zero_grad(), theirs.zero_grad()
    _check(ours, theirs, [src], dict(src_mask=mask, src_key_padding_mask=padding),
           dict(src_mask=torch.from_numpy(mask), src_key_padding_mask=torch.from_numpy(padding)))


def test_encoder_layer_callable_activation_and_no_bias():
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(8, 4, 12, activation=torch.nn.functional.silu,
                                              bias=False, layer_norm_eps=1e-3).double()
    ours = nn.TransformerEncoderLayer(8, 4, 12, activation=F.silu, bias=False,
                                      layer_norm_eps=1e-3)
    _load(ours, theirs)
    assert not any("bias" in k for k in ours.state_dict())
    _check(ours, theirs, [_x(2, 4, 2, 8)])


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_of_several_layers_with_a_final_norm(norm_first):
    torch.manual_seed(2)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, activation="gelu", batch_first=True,
                                             norm_first=norm_first)
    theirs = _nonzero_affine(torch.nn.TransformerEncoder(
        layer, 3, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double())
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, activation="gelu",
                                                            batch_first=True,
                                                            norm_first=norm_first),
                                 3, norm=nn.LayerNorm(8))
    _load(ours, theirs)
    assert len(ours.layers) == 3
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    mask = nn.Transformer.generate_square_subsequent_mask(6).data.astype(np.float64)
    _check(ours, theirs, [_x(3, 2, 6, 8)], dict(mask=mask, is_causal=True),
           dict(mask=torch.from_numpy(mask), is_causal=True))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_with_memory_matches_pytorch(norm_first, batch_first):
    torch.manual_seed(3)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, activation="gelu", batch_first=batch_first,
              norm_first=norm_first)
    theirs = _nonzero_affine(torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(**kw), 2, norm=torch.nn.LayerNorm(8)).double())
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(**kw), 2, norm=nn.LayerNorm(8))
    _load(ours, theirs)
    tgt = _x(4, 3, 4, 8) if batch_first else _x(4, 4, 3, 8)
    memory = _x(5, 3, 6, 8) if batch_first else _x(5, 6, 3, 8)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4).data.astype(np.float64)
    mem_padding = np.zeros((3, 6), bool)
    mem_padding[0, 4:] = True
    _check(ours, theirs, [tgt, memory],
           dict(tgt_mask=tgt_mask, memory_key_padding_mask=mem_padding),
           dict(tgt_mask=torch.from_numpy(tgt_mask),
                memory_key_padding_mask=torch.from_numpy(mem_padding)))


def test_full_transformer_matches_pytorch():
    torch.manual_seed(4)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=12,
              batch_first=True)
    theirs = _nonzero_affine(torch.nn.Transformer(**kw).double())
    ours = nn.Transformer(**kw)
    assert [k for k in ours.state_dict()] == [k for k in theirs.state_dict()]
    _load(ours, theirs)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(3).data.astype(np.float64)
    _check(ours, theirs, [_x(6, 2, 5, 8), _x(7, 2, 3, 8)], dict(tgt_mask=tgt_mask),
           dict(tgt_mask=torch.from_numpy(tgt_mask)))


def test_generate_square_subsequent_mask_matches_pytorch():
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(4).data,
                                  torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3).dtype == np.float32


def test_dropout_is_active_in_training_and_off_in_eval():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = Tensor(_x(8, 4, 2, 8).astype(np.float32))
    layer.train()
    assert not np.allclose(layer(x).data, layer(x).data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="TransformerEncoderLayer: activation should be 'relu', "
                                         "'gelu' or a callable, not 'tanh'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="MultiheadAttention: embed_dim=8 is not divisible by "
                                         "num_heads=3"):
        nn.TransformerDecoderLayer(8, 3)
    with pytest.raises(ValueError, match="num_layers must be an int >= 1"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0)
