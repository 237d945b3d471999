"""The Module API: registration, traversal, modes, grads, state dicts, repr, errors."""
import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(np.ones(4, np.float32))

    def forward(self, x):
        return self.norm(self.fc(x)).relu() * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.layers = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
        self.register_buffer("steps", Tensor(np.array(0)))

    def forward(self, x):
        return self.layers(self.block(x))


def test_named_parameters_are_dotted_and_in_registration_order():
    names = [n for n, _ in Net().named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.norm.weight",
                     "block.norm.bias", "layers.0.weight", "layers.0.bias", "layers.2.weight",
                     "layers.2.bias"]
    assert len(list(Net().parameters())) == 9
    assert [n for n, _ in Net().block.named_parameters(recurse=False)] == ["scale"]


def test_state_dict_keys_match_pytorch_order_and_include_buffers():
    torch = pytest.importorskip("torch")

    class TBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(3, 4)
            self.norm = torch.nn.BatchNorm1d(4)
            self.scale = torch.nn.Parameter(torch.ones(4))

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = TBlock()
            self.layers = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh(),
                                              torch.nn.Linear(4, 2))
            self.register_buffer("steps", torch.tensor(0))

    ours, theirs = Net(), TNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        assert ours.state_dict()[k].shape == tuple(v.shape), k
    # and PyTorch's state dict loads and runs
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.layers[2].weight.data,
                                  theirs.layers[2].weight.detach().numpy())


def test_children_and_modules():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.norm",
                                                  "layers", "layers.0", "layers.1", "layers.2"]
    assert len(list(net.modules())) == 8


def test_train_and_eval_reach_every_submodule():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_clears_every_parameter():
    net = Net()
    net(autograd.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_shares_memory_and_round_trips():
    autograd.manual_seed(0)
    a, b = Net(), Net()
    a(autograd.randn(5, 3))  # moves BatchNorm's running statistics
    sd = a.state_dict()
    # as PyTorch's: detached Tensors on the parameters' memory (copy to keep a snapshot)
    assert np.shares_memory(sd["layers.0.weight"].data, a.layers[0].weight.data)
    b.load_state_dict(a.state_dict())
    assert not np.shares_memory(b.layers[0].weight.data, a.layers[0].weight.data)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va.data, vb.data, err_msg=k)
    assert int(b.block.norm.num_batches_tracked.data) == 1
    x = autograd.randn(4, 3)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_keeps_the_parameter_objects_and_dtype():
    net = Net()
    w = net.layers[0].weight
    sd = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
          for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    assert net.layers[0].weight is w and w.dtype == np.float32


@pytest.mark.parametrize("edit,message", [
    (lambda sd: sd.pop("block.fc.bias"), r"missing keys \['block.fc.bias'\]"),
    (lambda sd: sd.update(extra=np.zeros(1)), r"unexpected keys \['extra'\]"),
    (lambda sd: sd.update({"layers.2.weight": np.zeros((3, 4))}),
     r"'layers.2.weight': checkpoint shape \(3, 4\), model shape \(2, 4\)"),
    (lambda sd: sd.update({"block.scale": np.array(["a"] * 4)}), "not numeric"),
])
def test_failed_load_state_dict_changes_nothing(edit, message):
    net = Net()
    before = net.state_dict()
    sd = {k: v + 1 if v.dtype.kind == "f" else v for k, v in before.items()}
    edit(sd)
    with pytest.raises(RuntimeError, match=message) as info:
        net.load_state_dict(sd)
    assert "Nothing was changed" in str(info.value)
    assert isinstance(info.value, KeyError)  # the old exception type still catches it
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


def test_non_strict_load_reports_missing_and_unexpected():
    net = Net()
    sd = net.state_dict()
    del sd["block.scale"]
    sd["bogus"] = np.zeros(2)
    sd["layers.0.bias"] = np.full(4, 3.0)
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["block.scale"] and unexpected == ["bogus"]
    assert (net.layers[0].bias.data == 3).all()
    with pytest.raises(RuntimeError, match="shape"):  # shapes are checked even when not strict
        net.load_state_dict({"layers.0.bias": np.zeros(5)}, strict=False)


def test_repr_matches_pytorch_layout():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(),
                         nn.Sequential(nn.Linear(3, 3, bias=False), nn.Sigmoid()),
                         nn.LayerNorm(3), nn.Dropout(0.1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                 torch.nn.Sequential(torch.nn.Linear(3, 3, bias=False),
                                                     torch.nn.Sigmoid()),
                                 torch.nn.LayerNorm(3), torch.nn.Dropout(0.1))
    assert repr(ours) == repr(theirs)


def test_repr_with_extra_repr_and_children():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self):
            return "size=1"

    assert repr(Holder()) == ("Holder(\n  size=1\n  (fc): Linear(in_features=1, "
                              "out_features=1, bias=True)\n)")


def test_unknown_attribute_raises_attribute_error():
    net = Net()
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'blok'"):
        net.blok
    assert not hasattr(net, "weight")
    assert hasattr(net, "steps") and hasattr(net, "block")


def test_assigning_a_plain_tensor_to_a_parameter_name_is_an_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'.*nn.Parameter"):
        layer.weight = Tensor(np.zeros((2, 2), np.float32))
    layer.bias = None  # allowed: an absent optional parameter
    assert "bias" not in dict(layer.named_parameters())
    layer.weight = nn.Parameter(np.zeros((2, 2), np.float32))
    assert not layer.weight.data.any()


def test_reassigning_a_buffer_keeps_it_registered():
    bn = nn.BatchNorm1d(2)
    bn.running_mean = Tensor(np.full(2, 5.0, np.float32))
    assert (bn.state_dict()["running_mean"] == 5).all()


def test_non_persistent_buffer_stays_out_of_state_dict():
    m = nn.Module()
    m.register_buffer("cache", Tensor(np.zeros(3)), persistent=False)
    m.register_buffer("kept", Tensor(np.zeros(3)))
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["cache", "kept"]
    m.load_state_dict({"kept": np.ones(3)})


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(2, 2)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(net.parameters())) == 2
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_setattr_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"call super\(\)\.__init__\(\) first in Broken"):
        Broken()


def test_to_double_casts_in_place_and_keeps_objects():
    net = Net()
    params = list(net.parameters())
    net.double()
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in params)
    assert net.block.norm.running_var.dtype == np.float64
    assert net.block.norm.num_batches_tracked.dtype == np.int64
    assert net(Tensor(np.zeros((2, 3)))).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError, match="floating-point"):
        net.to("int32")
    assert net.to("cpu") is net and net.to(device="cpu") is net
    with pytest.raises(ValueError, match="only the 'cpu' device"):
        net.to(device="cuda")


def test_requires_grad_and_apply():
    net = Net()
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and len(seen) == 8


def test_containers_register_parameters():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and len(seq[1:]) == 2


def test_package_exports():
    import nn.functional as F

    for name in ["Linear", "ReLU", "CrossEntropyLoss", "Parameter", "Sequential", "Module",
                 "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "Dropout", "Flatten",
                 "MSELoss", "NLLLoss", "BCEWithLogitsLoss", "HuberLoss", "MultiMarginLoss",
                 "HingeEmbeddingLoss", "L1Loss", "BCELoss", "Softmax", "LogSoftmax", "GELU",
                 "ELU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "Identity", "Unflatten"]:
        assert isinstance(getattr(nn, name), type), name
    assert F is nn.functional and callable(nn.init.kaiming_uniform_)


def test_registration_names_are_checked():
    m = nn.Module()
    with pytest.raises(KeyError, match="without '.'"):
        m.add_module("a.b", nn.Linear(1, 1))
    with pytest.raises(KeyError, match="non-empty"):
        m.register_buffer("", Tensor(np.zeros(1)))
    with pytest.raises(TypeError, match="int is not a Module"):
        m.add_module("x", 3)


def test_deepcopy_gives_an_independent_model():
    import copy

    net = Net()
    twin = copy.deepcopy(net)
    twin.layers[0].weight.data[...] = 0
    assert net.layers[0].weight.data.any()
    assert isinstance(twin.layers[0].weight, nn.Parameter)
    assert list(twin.state_dict()) == list(net.state_dict())
    twin(autograd.randn(4, 3)).sum().backward()
    assert twin.layers[0].weight.grad is not None and net.layers[0].weight.grad is None


def test_eval_switches_dropout_and_batchnorm_inside_containers():
    autograd.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = autograd.randn(8, 4)
    net.eval()
    a, b = net(x).data, net(x).data
    np.testing.assert_array_equal(a, b)  # deterministic: no dropout, running statistics
    net.train()
    assert not np.array_equal(net(x).data, net(x).data)
