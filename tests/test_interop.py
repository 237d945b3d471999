"""nn.interop: models to PyTorch and back; outputs, gradients and state dicts agree."""
import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from chainrule.models import CNN, MLP, CharLSTM

torch = pytest.importorskip("torch")

from nn.interop import from_torch, to_torch  # noqa: E402


def _models():
    autograd.manual_seed(0)
    return {
        "mlp": (MLP(12, (16, 8), 3), lambda rng: rng.standard_normal((5, 3, 4)).astype(np.float32)),
        "cnn": (CNN(1, 8, 10), lambda rng: rng.standard_normal((4, 1, 8, 8)).astype(np.float32)),
        "lstm": (CharLSTM(11, 6, 9), lambda rng: rng.integers(0, 11, (3, 7))),
    }


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _loss_and_grads_ours(model, x, weights):
    model.zero_grad()
    out = _first(model(Tensor(x)))
    loss = (out * Tensor(weights)).sum()
    loss.backward()
    return out.data, {k: np.array(getattr(p.grad, "data", p.grad)) for k, p in model.named_parameters()}


def _loss_and_grads_torch(model, x, weights):
    model.zero_grad()
    out = _first(model(torch.from_numpy(x)))
    loss = (out * torch.from_numpy(weights)).sum()
    loss.backward()
    return out.detach().numpy(), {k: p.grad.numpy().copy() for k, p in model.named_parameters()}


def _assert_same_outputs_and_grads(ours, theirs, x, rng):
    ours.eval()
    theirs.eval()   # the CNN's Dropout: compare the deterministic forward
    out_ours = _first(ours(Tensor(x))).data
    weights = rng.standard_normal(out_ours.shape).astype(out_ours.dtype)
    a, ga = _loss_and_grads_ours(ours, x, weights)
    b, gb = _loss_and_grads_torch(theirs, x, weights)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert set(ga) == set(gb)
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm"])
def test_cli_models_to_torch_agree_in_outputs_and_gradients(name):
    model, make = _models()[name]
    rng = np.random.default_rng(1)
    ported = to_torch(model)
    assert isinstance(ported, torch.nn.Module) and type(ported).__name__ == type(model).__name__
    assert [n for n, _ in ported.named_modules()] == [n for n, _ in model.named_modules()]
    _assert_same_outputs_and_grads(model, ported, make(rng), rng)


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm"])
def test_cli_models_from_torch_agree_after_torch_training(name):
    model, make = _models()[name]
    rng = np.random.default_rng(2)
    ported = to_torch(model)
    # a few steps of PyTorch training, then back: the weights chainrule gets are torch's
    opt = torch.optim.SGD(ported.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        _first(ported(torch.from_numpy(make(rng)))).square().mean().backward()
        opt.step()
    back = from_torch(ported)
    assert type(back) is type(model)
    _assert_same_outputs_and_grads(back, ported, make(rng), rng)


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm"])
def test_round_trip_keeps_the_state_dict_bit_for_bit(name):
    model, _ = _models()[name]
    model.train()
    model.classifier.eval() if name == "cnn" else None  # mixed modes survive too
    back = from_torch(to_torch(model))
    a, b = model.state_dict(), back.state_dict()
    assert list(a) == list(b)
    for k in a:
        x, y = np.asarray(getattr(a[k], "data", a[k])), np.asarray(getattr(b[k], "data", b[k]))
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes(), k
    assert [m.training for m in model.modules()] == [m.training for m in back.modules()]


def test_every_layer_crosses_with_its_arguments_weights_and_mode():
    autograd.manual_seed(3)
    layers = nn.Sequential(
        nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2,
                  padding_mode="reflect"),
        nn.BatchNorm2d(4, eps=1e-3, momentum=0.2),
        nn.LeakyReLU(0.3), nn.MaxPool2d(2, stride=1, padding=1, ceil_mode=True),
        nn.AvgPool2d(2, count_include_pad=False), nn.AdaptiveAvgPool2d((2, 3)),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(24, 6, bias=False), nn.LayerNorm(6, eps=1e-4),
        nn.GELU(approximate="tanh"), nn.Unflatten(1, (2, 3)), nn.Softplus(beta=2.0),
        nn.Flatten(), nn.ELU(0.5), nn.SiLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity(),
        nn.Softmax(axis=1), nn.LogSoftmax(axis=1))
    layers.train()
    layers[7].eval()   # modes are per module
    ported = to_torch(layers)
    assert ported[0].padding_mode == "reflect" and ported[0].groups == 2
    assert ported[1].momentum == 0.2 and ported[8].bias is None
    assert ported.training and not ported[7].training
    x = np.random.default_rng(4).standard_normal((3, 2, 9, 8)).astype(np.float32)
    layers.eval()
    ported.eval()
    np.testing.assert_allclose(layers(Tensor(x)).data, ported(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    back = from_torch(ported)
    assert repr(back) == repr(layers)


def test_recurrent_layers_cells_embedding_and_losses_cross():
    autograd.manual_seed(5)
    mods = nn.ModuleDict({
        "gru": nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1),
        "rnn": nn.RNN(3, 4, nonlinearity="relu", bias=False),
        "cell": nn.LSTMCell(3, 4), "gcell": nn.GRUCell(3, 4), "rcell": nn.RNNCell(3, 4),
        "emb": nn.Embedding(7, 3, padding_idx=1, max_norm=2.0),
        "bilinear": nn.Bilinear(3, 2, 4),
        "losses": nn.ModuleList([nn.CrossEntropyLoss(weight=np.arange(1.0, 5.0, dtype=np.float32),
                                                     label_smoothing=0.1),
                                 nn.HuberLoss(delta=0.5), nn.BCEWithLogitsLoss(
                                     pos_weight=np.full(4, 2.0, np.float32))]),
    })
    ported = to_torch(mods)
    assert isinstance(ported["losses"][0], torch.nn.CrossEntropyLoss)
    assert ported["losses"][0].label_smoothing == 0.1
    assert ported["emb"].padding_idx == 1 and ported["emb"].max_norm == 2.0
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(mods["gru"].eval()(Tensor(x))[0].data,
                               ported["gru"].eval()(torch.from_numpy(x))[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    logits = rng.standard_normal((6, 4)).astype(np.float32)
    target = rng.integers(0, 4, 6)
    ours = mods["losses"][0](Tensor(logits), Tensor(target)).item()
    theirs = ported["losses"][0](torch.from_numpy(logits), torch.from_numpy(target)).item()
    assert ours == pytest.approx(theirs, rel=1e-5)
    back = from_torch(ported)
    assert repr(back) == repr(mods)
    np.testing.assert_array_equal(back["losses"][2].pos_weight.data, np.full(4, 2.0, np.float32))


def test_float64_and_frozen_parameters_keep_their_dtype_and_flag():
    model = nn.Sequential(nn.Embedding.from_pretrained(np.eye(4)), nn.Linear(4, 2)).double()
    ported = to_torch(model)
    assert ported[1].weight.dtype == torch.float64
    assert not ported[0].weight.requires_grad and ported[1].weight.requires_grad
    back = from_torch(ported)
    assert back[1].weight.dtype == np.float64 and not back[0].weight.requires_grad


def test_every_layer_class_of_nn_is_in_the_table():
    import inspect

    classes = {c for c in vars(nn).values() if inspect.isclass(c) and issubclass(c, nn.Module)}
    listed = {c for c, _, _ in nn.interop.LAYERS} | {c for c, _ in nn.interop.CONTAINERS}
    assert classes - listed == {nn.Module}
    for _, name, _ in nn.interop.LAYERS:
        assert hasattr(torch.nn, name), name


def _same_state(a, b):
    a, b = a.state_dict(), b.state_dict()
    assert list(a) == list(b)
    for k in a:
        x, y = np.asarray(getattr(a[k], "data", a[k])), np.asarray(getattr(b[k], "data", b[k]))
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), k


def test_resampling_transposed_convolutions_norms_and_activations_cross():
    autograd.manual_seed(8)
    layers = nn.Sequential(
        nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, groups=1),
        nn.Hardswish(), nn.Upsample(scale_factor=2, mode="bilinear"), nn.PixelUnshuffle(2),
        nn.PixelShuffle(2), nn.Mish(), nn.CELU(0.5), nn.SELU(), nn.Hardsigmoid(), nn.ReLU6(),
        nn.Hardtanh(-0.5, 0.75), nn.Softsign(), nn.LogSigmoid(), nn.RMSNorm(20, eps=1e-5),
        nn.Unfold(2, stride=2), nn.Fold((20, 20), 2, stride=2),
        nn.Flatten(2), nn.ConvTranspose1d(4, 2, 3, stride=2, dilation=2, bias=False))
    layers.train()
    layers[3].eval()
    ported = to_torch(layers)
    assert isinstance(ported[0], torch.nn.ConvTranspose2d) and ported[0].output_padding == (1, 1)
    assert isinstance(ported[2], torch.nn.Upsample) and ported[2].mode == "bilinear"
    assert ported[10].min_val == -0.5 and ported[15].output_size == (20, 20)
    assert ported.training and not ported[3].training
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    _assert_same_outputs_and_grads(layers, ported, x, rng)
    back = from_torch(ported)
    _same_state(layers, back)
    assert [type(m) for m in back.modules()] == [type(m) for m in layers.modules()]


# ---- Transformers ----------------------------------------------------------------------

class TinyGPT(nn.Module):
    """CharGPT's parts (token and position embeddings, a pre-norm causal encoder with GELU,
    LayerNorm, Linear head), written with methods both libraries share: CharGPT itself builds
    its context and mask in NumPy, which a PyTorch forward cannot run."""

    def __init__(self, vocab=11, block=8, d_model=16, layers=2, heads=2, d_ff=24):
        super().__init__()
        self.token = nn.Embedding(vocab, d_model)
        self.position = nn.Embedding(block, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, d_ff, 0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)
        causal = np.triu(np.full((block, block), -np.inf, np.float32), 1)
        self.register_buffer("causal", causal, persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.token(ids) + self.position.weight[:t]
        return self.head(self.norm(self.blocks(x, mask=self.causal[:t, :t], is_causal=True)))


def _encoder():
    autograd.manual_seed(10)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    return nn.TransformerEncoder(layer, 2, nn.LayerNorm(8))


def _input_grad_ours(model, x, weights):
    t = Tensor(x, requires_grad=True)
    (_first(model(t)) * Tensor(weights)).sum().backward()
    return t.grad.data if hasattr(t.grad, "data") else t.grad


def _input_grad_torch(model, x, weights):
    t = torch.from_numpy(x).requires_grad_(True)
    (_first(model(t)) * torch.from_numpy(weights)).sum().backward()
    return t.grad.numpy()


@pytest.mark.parametrize("make", ["encoder", "gpt"])
def test_transformers_agree_both_ways_in_outputs_and_gradients(make):
    rng = np.random.default_rng(11)
    if make == "encoder":
        model = _encoder()
        x = rng.standard_normal((3, 5, 8)).astype(np.float32)
    else:
        autograd.manual_seed(12)
        model = TinyGPT()
        x = rng.integers(0, 11, (3, 6))
    ported = to_torch(model)
    assert type(ported.blocks if make == "gpt" else ported).__name__ == "TransformerEncoder"
    assert [n for n, _ in ported.named_modules()] == [n for n, _ in model.named_modules()]
    _assert_same_outputs_and_grads(model, ported, x, rng)
    if make == "encoder":   # and the gradient with respect to the input
        weights = rng.standard_normal((3, 5, 8)).astype(np.float32)
        np.testing.assert_allclose(_input_grad_ours(model, x, weights),
                                   _input_grad_torch(ported, x, weights), rtol=1e-4, atol=1e-5)
    # a PyTorch training step, then back: the weights chainrule gets are torch's
    ported.train()
    opt = torch.optim.SGD(ported.parameters(), lr=0.1)
    _first(ported(torch.from_numpy(x))).square().mean().backward()
    opt.step()
    back = from_torch(ported)
    assert type(back) is type(model)
    _assert_same_outputs_and_grads(back, ported, x, rng)


@pytest.mark.parametrize("make", ["encoder", "gpt", "transformer", "decoder"])
def test_transformer_round_trip_keeps_state_dict_and_modes(make):
    autograd.manual_seed(13)
    model = {"encoder": _encoder, "gpt": TinyGPT,
             "transformer": lambda: nn.Transformer(8, 2, 1, 2, 16, dropout=0.2,
                                                   activation="gelu", norm_first=True),
             "decoder": lambda: nn.TransformerDecoder(
                 nn.TransformerDecoderLayer(8, 2, 16, bias=False, batch_first=True), 2)}[make]()
    model.train()
    first = next(m for m in model.modules() if isinstance(m, nn.MultiheadAttention))
    first.eval()   # modes are per module
    back = from_torch(to_torch(model))
    _same_state(model, back)
    assert [m.training for m in model.modules()] == [m.training for m in back.modules()]
    assert repr(back) == repr(model)


def test_a_pytorch_transformer_comes_over():
    torch.manual_seed(14)
    theirs = torch.nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True)
    ours = from_torch(theirs)
    assert isinstance(ours, nn.Transformer) and len(ours.encoder.layers) == 2
    rng = np.random.default_rng(15)
    src, tgt = (rng.standard_normal((2, n, 8)).astype(np.float32) for n in (5, 3))
    ours.eval()
    theirs.eval()
    a = ours(Tensor(src), Tensor(tgt)).data
    b = theirs(torch.from_numpy(src), torch.from_numpy(tgt)).detach().numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    mha = torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    back = from_torch(mha)
    assert back.in_proj_bias is None and back.bias_k is not None and back.kdim == 3
    _same_state(back, from_torch(to_torch(back)))


def test_layers_that_cannot_cross_are_named():
    class MyLinear(nn.Linear):   # nn's forward: it would not run on torch tensors
        pass

    with pytest.raises(TypeError, match=r"to_torch: submodule '1' \(MyLinear\) has no counterpart"):
        to_torch(nn.Sequential(nn.ReLU(), MyLinear(2, 2)))
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=lambda x: x.tanh())
    with pytest.raises(TypeError, match=r"to_torch: TransformerEncoderLayer\(activation=.*'relu' or 'gelu'"):
        to_torch(nn.ModuleList([layer]))
    torch_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.nn.Tanh())
    with pytest.raises(TypeError, match=r"from_torch: TransformerEncoderLayer\(activation="):
        from_torch(torch_layer)


def test_a_pytorch_class_is_named_as_unsupported():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, x):
            return torch.relu(self.fc(x))

    wrapped = torch.nn.Sequential(torch.nn.Linear(2, 2), Net())
    with pytest.raises(TypeError, match=r"from_torch: submodule '1' \(Net\) has no counterpart"):
        from_torch(wrapped)
    with pytest.raises(TypeError, match=r"submodule '0' \(PReLU\)"):
        from_torch(torch.nn.Sequential(torch.nn.PReLU()))
    # the weights of such a class still load into a chainrule model of the same shape
    ours = nn.Sequential(nn.Linear(2, 2))
    state = {k.replace("fc.", "0."): v for k, v in nn.interop.state_dict_from_torch(wrapped[1]).items()}
    ours.load_state_dict(state)
    np.testing.assert_array_equal(ours[0].weight.data, wrapped[1].fc.weight.detach().numpy())


def test_a_module_without_forward_is_refused():
    class Holder(nn.Module):
        pass

    with pytest.raises(TypeError, match=r"to_torch: submodule 'h' \(Holder\)"):
        to_torch(nn.ModuleDict({"h": Holder()}))


def test_functional_forward_of_a_custom_module_runs_in_torch_when_it_uses_shared_methods():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.scale = nn.Parameter(np.array([0.5], np.float32))
            self.depth = 2

        def forward(self, x):
            for _ in range(self.depth):
                x = x + self.fc(x).tanh() * self.scale
            return x.sum(-1)

    model = Residual()
    ported = to_torch(model)
    assert ported.depth == 2 and isinstance(ported.scale, torch.nn.Parameter)
    x = np.random.default_rng(7).standard_normal((4, 3)).astype(np.float32)
    # a float32 sum of three terms: absolute tolerance for results near 0
    np.testing.assert_allclose(model(Tensor(x)).data, ported(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_readme_pytorch_block_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (block,) = re.findall(r"```py\n(.*?)```", readme, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert isinstance(namespace["back"], torch.nn.Sequential)
    assert (tmp_path / "net.html").stat().st_size > 0
