"""Tensor(array) copies (as torch.tensor); from_numpy and as_tensor share (as torch's)."""
import numpy as np
import pytest

import autograd as ag
import nn
from autograd import Tensor


def test_tensor_of_an_array_copies():
    a = np.ones(3)
    t = Tensor(a)
    t.add_(1)
    np.testing.assert_array_equal(a, np.ones(3))
    assert not np.shares_memory(Tensor(a).data, a)
    view = a[1:]
    assert not np.shares_memory(Tensor(view).data, a)
    s = Tensor(t)  # from a Tensor: a copy too, as torch.tensor(t)
    s.add_(1)
    np.testing.assert_array_equal(t.data, [2.0, 2.0, 2.0])


def test_an_optimizer_step_never_changes_the_users_array():
    w0 = np.ones(3, np.float32)
    w = Tensor(w0, requires_grad=True)
    opt = nn.optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w0, np.ones(3, np.float32))
    np.testing.assert_allclose(w.data, [0.0, 0.0, 0.0])
    p = nn.Parameter(w0)
    assert not np.shares_memory(p.data, w0)


def test_from_numpy_shares_both_ways():
    a = np.zeros(2, np.float32)
    t = ag.from_numpy(a)
    assert t.data is a
    t.add_(1)
    np.testing.assert_array_equal(a, [1.0, 1.0])
    a[0] = 5
    assert float(t.data[0]) == 5.0
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        ag.from_numpy([1.0])
    with pytest.raises(TypeError, match="from_numpy: cannot hold data of dtype <U1"):
        ag.from_numpy(np.array(["a"]))


def test_as_tensor_shares_when_it_can_and_converts_otherwise():
    a = np.ones(2, np.float32)
    assert ag.as_tensor(a).data is a
    assert ag.as_tensor(a, dtype="float64").data.dtype == np.float64
    assert ag.as_tensor([1.0, 2.0]).dtype == np.float32


def test_detach_shares_memory_as_pytorch():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.data is x.data and not d.requires_grad


def test_ops_and_loaders_make_no_copy():
    x = Tensor(np.ones((4, 3), np.float32), requires_grad=True)
    y = x * 2.0
    assert y.data.base is None  # the op's own output, handed over as is
    data = nn.data.TensorDataset(Tensor(np.arange(12.0).reshape(4, 3)))
    (row,) = data[1]
    assert np.shares_memory(row.data, data.tensors[0].data)  # a view, as PyTorch's


# ---- state dicts (issue 19) ------------------------------------------------------------------

def test_state_dict_values_are_detached_tensors_sharing_memory():
    layer = nn.Linear(3, 2)
    sd = layer.state_dict()
    assert all(isinstance(v, Tensor) and not v.requires_grad for v in sd.values())
    assert np.shares_memory(sd["weight"].data, layer.weight.data)


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_saved_state_dict_loads_back_into_a_model(tmp_path, fmt):
    ag.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    path = tmp_path / f"m.{fmt}"
    nn.save(a.state_dict(), path)
    loaded = nn.load(path)
    assert all(isinstance(v, Tensor) for v in loaded.values())
    b.load_state_dict(loaded)
    np.testing.assert_array_equal(b.weight.data, a.weight.data)
    np.testing.assert_array_equal(np.load(tmp_path / "m.npz")["weight"] if fmt == "npz"
                                  else b.weight.data, a.weight.data)


def test_load_state_dict_takes_arrays_tensors_and_torch_tensors():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(3, 2)
    theirs = torch.nn.Linear(3, 2)
    ours.load_state_dict(theirs.state_dict())  # no .numpy() needed
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy())
    ours.load_state_dict({"weight": np.zeros((2, 3), np.float32),
                          "bias": Tensor(np.ones(2, np.float32))})
    assert ours.weight.data.sum() == 0 and ours.bias.data.sum() == 2
    ours.load_state_dict({k: v.requires_grad_() for k, v in theirs.state_dict().items()})


def test_a_failed_load_changes_no_parameter():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(3, 2)
    before = {k: v.data.copy() for k, v in ours.state_dict().items()}
    bad = {"weight": torch.zeros(2, 3), "bias": torch.zeros(5)}
    with pytest.raises(Exception, match="'bias': checkpoint shape \\(5,\\)"):
        ours.load_state_dict(bad)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])


def test_load_state_dict_does_not_import_torch():
    import subprocess
    import sys
    code = ("import sys, numpy as np, nn; m = nn.Linear(2, 1); "
            "m.load_state_dict({k: v.data * 2 for k, v in m.state_dict().items()}); "
            "m.load_state_dict(m.state_dict()); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
