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
    with pytest.raises(TypeError, match=r"submodule '0' \(Transformer\)"):
        from_torch(torch.nn.Sequential(torch.nn.Transformer(8, 2, 1, 1, 16)))
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
    np.testing.assert_allclose(model(Tensor(x)).data, ported(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-6)


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
