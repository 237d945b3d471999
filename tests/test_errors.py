"""The catalogue of misuse (docs/errors.md): one test per row.

Each row calls something wrong and checks the exception type and that the message names
the operation, what it got and what it expected (three regular expressions). A last test
checks that every row is documented in docs/errors.md, so the table and the tests agree.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

import nn  # noqa: E402  (our own package: never skipped)
from nn import optim  # noqa: E402
from nn.data import DataLoader, TensorDataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "errors.md"


def t(*shape, dtype=np.float32, requires_grad=False):
    return Tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


def ints(*values):
    return Tensor(np.array(values, dtype=np.int64))


def _backward_twice():
    x = t(2, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _hook_returning(shape, dtype):
    x = t(2, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: Tensor(np.ones(shape, dtype=dtype)))
    y.sum().backward()


def _int_leaf_by_hand():
    x = ints(1, 2)
    x.requires_grad = True  # refused at the assignment, as requires_grad_() is


def _unused_input():
    x, z = t(2, requires_grad=True), t(2, requires_grad=True)
    ag.grad((x * 2).sum(), [x, z])


def _saved_then_modified():
    w = t(3, requires_grad=True)
    loss = (w * w).sum()
    with ag.no_grad():
        w.add_(1.0)
    loss.backward()


def _load_state(bad):
    ag.manual_seed(0)
    model = nn.Linear(3, 2)
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    state = {k: v.data.copy() + 1 for k, v in model.state_dict().items()}
    bad(state)
    try:
        model.load_state_dict(state)
    finally:  # "nothing was changed", checked on the way out of the failing call
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v.data, before[k])


def _file(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _valid_npz_bytes(tmp):
    path = os.path.join(tmp, "ok.npz")
    nn.save(nn.Linear(2, 2).state_dict(), path)
    with open(path, "rb") as f:
        return f.read()


def _object_npz(tmp):
    path = os.path.join(tmp, "objects.npz")
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    return path


def _rnn(cls, *shape, **kwargs):
    return cls(4, 8, **kwargs)(ag.randn(*shape))


# Each row: id, call(tmp_dir), exception type, and regexes for (operation, got, expected).
ROWS = [
    # ---- shapes in engine ops ----------------------------------------------------------------
    ("matmul-shapes", lambda d: t(2, 3) @ t(4, 2), ValueError,
     r"^matmul:", r"\(2, 3\) and \(4, 2\)", r"must equal"),
    ("matmul-batch", lambda d: t(2, 2, 3) @ t(3, 3, 4), ValueError,
     r"^matmul:", r"batch shapes \(2,\) and \(3,\)", r"do not broadcast"),
    ("matmul-scalar", lambda d: t() @ t(3), ValueError,
     r"^matmul:", r"shapes \(\) and \(3,\)", r"at least 1-D"),
    ("add-broadcast", lambda d: t(2, 3) + t(4), ValueError,
     r"^add:", r"\(2, 3\) and \(4,\)", r"equal or 1"),
    ("sub-broadcast", lambda d: t(2, 3) - t(2), ValueError,
     r"^sub:", r"\(2, 3\) and \(2,\)", r"equal or 1"),
    ("mul-broadcast", lambda d: t(5) * t(3, 4), ValueError,
     r"^mul:", r"\(5,\) and \(3, 4\)", r"equal or 1"),
    ("div-broadcast", lambda d: t(2, 3) / t(3, 2), ValueError,
     r"^div:", r"\(2, 3\) and \(3, 2\)", r"equal or 1"),
    ("where-broadcast", lambda d: ag.where(np.ones(4, bool), t(2, 3), 0.0), ValueError,
     r"^where:", r"\(4,\) and \(2, 3\)", r"equal or 1"),
    ("reshape-size", lambda d: t(2, 3).reshape(4, 2), ValueError,
     r"^reshape:", r"size 6 into shape \(4,2\).*input shape \(2, 3\)", r"shape"),
    ("expand-shape", lambda d: t(2, 3).expand(3, 3), ValueError,
     r"^expand:", r"input shape \(2, 3\)", r"requested shape \(3,3\)"),
    ("permute-count", lambda d: t(2, 3).permute(0, 1, 2), ValueError,
     r"^permute:", r"got 3: \(0, 1, 2\)", r"expected 2 axes"),
    ("axis-range", lambda d: t(2, 3).unsqueeze(5), IndexError,
     r"^unsqueeze:", r"axis 5", r"-3 <= axis < 3"),
    ("reduce-axis", lambda d: t(2, 3).sum(axis=2), ValueError,
     r"^sum:", r"axis 2.*input shape \(2, 3\)", r"out of bounds for array of dimension 2"),
    ("softmax-axis", lambda d: t(2, 3).softmax(axis=2), IndexError,
     r"^softmax:", r"axis 2", r"-2 <= axis < 2"),
    ("mean-axis", lambda d: t(2, 3).mean(axis=-3), IndexError,
     r"^mean:", r"axis -3", r"-2 <= axis < 2"),
    ("transpose-axes", lambda d: t(2, 3, 4).transpose(0, 1, 5), IndexError,
     r"^transpose:", r"axis 5", r"-3 <= axis < 3"),
    ("flatten-axis", lambda d: t(2, 3).flatten(3), IndexError,
     r"^flatten:", r"axis 3", r"-2 <= axis < 2"),
    ("expand-fewer", lambda d: t(2, 3).expand(4), ValueError,
     r"^expand:", r"shape \(2, 3\) to \(4,\)", r"added in front"),
    ("reshape-two-unknown", lambda d: t(2, 3).reshape(-1, -1), ValueError,
     r"^reshape:", r"shape=\(-1, -1\)", r"one unknown dimension"),
    ("concat-axis", lambda d: ag.cat([t(2), t(2)], axis=1), IndexError,
     r"^concatenate:", r"axis 1", r"-1 <= axis < 1"),
    ("concat-0d", lambda d: ag.cat([t(), t()]), ValueError,
     r"^concatenate:", r"0-d tensors", r"use stack"),
    ("concat-shapes", lambda d: ag.cat([t(2, 3), t(2, 4)], axis=0), ValueError,
     r"^concatenate:", r"\[\(2, 3\), \(2, 4\)\]", r"differ outside axis 0"),
    ("stack-shapes", lambda d: ag.stack([t(2), t(3)]), ValueError,
     r"^stack:", r"\[\(2,\), \(3,\)\]", r"same shape"),
    ("split-sections", lambda d: ag.split(t(5), 2), ValueError,
     r"^split:", r"length 5", r"2 equal sections"),
    ("copy-shape", lambda d: t(3).copy_(t(2)), ValueError,
     r"^copy_:", r"shape \(2,\)", r"into shape \(3,\)"),
    # ---- indexing -------------------------------------------------------------------------------
    ("index-range", lambda d: t(2, 3)[5], IndexError,
     r"^getitem:", r"index 5.*input shape \(2, 3\)", r"size 2"),
    ("index-range-axis1", lambda d: t(2, 3)[0, 7], IndexError,
     r"^getitem:", r"index 7.*index=\(0, 7\)", r"axis 1 with size 3"),
    ("index-float", lambda d: t(2, 3)[1.5], IndexError,
     r"^getitem:", r"index=1.5", r"only integers, slices"),
    ("index-mask-shape", lambda d: t(2, 3)[np.array([True, False, True])], IndexError,
     r"^getitem:", r"boolean axis is 3", r"size of axis is 2"),
    ("index-too-many", lambda d: t(2, 3)[0, 0, 0], IndexError,
     r"^getitem:", r"3 were indexed", r"2-dimensional"),
    ("index-float-tensor", lambda d: t(2, 3)[Tensor([0.0])], IndexError,
     r"^getitem:", r"got float32", r"integer or bool"),
    ("index-string", lambda d: t(2, 3)["a"], IndexError,
     r"^getitem:", r"index='a'", r"only integers, slices"),
    # ---- tensor API breadth --------------------------------------------------------------------
    ("einsum-sizes", lambda d: ag.einsum("ij,jk", t(3, 2), t(3, 4)), ValueError,
     r"^einsum:", r"operand shapes \[\(3, 2\), \(3, 4\)\]", r"letter 'j' has size 2 in one"),
    ("gather-range", lambda d: t(2, 4).gather(1, np.array([[0, 4]])), IndexError,
     r"^gather:", r"index 4", r"axis 1 of size 4 \(valid: -4 \.\. 3\)"),
    ("topk-k", lambda d: t(2, 4).topk(5), ValueError,
     r"^topk:", r"k=5 .*shape \(2, 4\)", r"0 <= k <= 4"),
    ("bitwise-float", lambda d: t(3) & t(3), TypeError,
     r"^&:", r"got dtype float32", r"logical_\* functions"),
    ("pad-reflect", lambda d: t(3).pad((3, 0), "reflect"), ValueError,
     r"^pad:", r"\(3, 0\).*shape \(3,\)", r"smaller than axis 0 of size 3"),
    ("norm-matrix-ord", lambda d: t(2, 3).norm(2, (0, 1)), NotImplementedError,
     r"^norm:", r"matrix ord=2", r"'fro', 1, -1, inf, -inf"),
    ("var-correction", lambda d: t(3).var(ddof=1, correction=2), ValueError,
     r"^var:", r"ddof=1 and correction=2", r"give one"),
    ("conv-transpose-output-padding",
     lambda d: nn.ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), ValueError,
     r"^ConvTranspose2d:", r"output_padding \(2, 2\)", r"smaller than either the stride"),
    ("interpolate-rank", lambda d: nn.functional.interpolate(t(1, 1, 3), scale_factor=2,
                                                             mode="bilinear"), ValueError,
     r"^interpolate:", r"got shape \(1, 1, 3\)", r"needs a 4-D \(N, C, H, W\) input"),
    ("multinomial-too-many", lambda d: ag.multinomial(Tensor([1.0, 0.0, 1.0]), 3), ValueError,
     r"^multinomial:", r"3 samples without replacement from 2", r"replacement=True"),
    # ---- data, dtypes ---------------------------------------------------------------------------
    ("tensor-string", lambda d: Tensor("abc"), TypeError,
     r"^Tensor:", r"dtype <U3 \(from str\)", r"numbers, nested lists of numbers"),
    ("tensor-object", lambda d: Tensor([object()]), TypeError,
     r"^Tensor:", r"dtype object \(from list\)", r"numbers, nested lists of numbers"),
    ("tensor-none", lambda d: Tensor(None), TypeError,
     r"^Tensor:", r"from NoneType", r"numbers, nested lists of numbers"),
    ("tensor-complex", lambda d: Tensor(np.ones(2, complex)), TypeError,
     r"^Tensor:", r"complex128", r"numeric NumPy arrays"),
    ("tensor-ragged", lambda d: Tensor([[1.0, 2.0], [3.0]]), ValueError,
     r"^Tensor:", r"inhomogeneous shape", r"rectangular"),
    ("tensor-int-range", lambda d: Tensor([300], dtype="int8"), ValueError,
     r"^Tensor:", r"300 out of bounds for int8", r"within the dtype's range"),
    ("tensor-numeric-string", lambda d: Tensor(["1.5"], dtype="float32"), TypeError,
     r"^Tensor:", r"dtype <U3", r"numbers, nested lists of numbers"),
    ("grad-int", lambda d: Tensor([1, 2], requires_grad=True), TypeError,
     r"^requires_grad:", r"got dtype int64", r"only floating-point tensors"),
    ("grad-bool", lambda d: Tensor([True], requires_grad=True), TypeError,
     r"^requires_grad:", r"got dtype bool", r"only floating-point tensors"),
    ("grad-int-by-hand", lambda d: _int_leaf_by_hand(), TypeError,
     r"^requires_grad:", r"got dtype int64", r"\.float\(\)"),
    ("item-size", lambda d: t(2, 2).item(), ValueError,
     r"^item\(\):", r"shape \(2, 2\)", r"one-element tensor"),
    ("bool-size", lambda d: bool(t(2)), ValueError,
     r"truth value", r"shape \(2,\)", r"\.any\(\) or \.all\(\)"),
    # ---- reductions of empty tensors -----------------------------------------------------------
    ("mean-empty", lambda d: t(0).mean(), ValueError,
     r"^mean:", r"shape \(0,\)", r"zero elements"),
    ("max-empty", lambda d: t(0, 3).max(), ValueError,
     r"^max:", r"shape \(0, 3\)", r"empty axis.*undefined"),
    ("min-empty", lambda d: t(0).min(), ValueError,
     r"^min:", r"shape \(0,\)", r"empty axis.*undefined"),
    ("var-ddof", lambda d: t(1).var(ddof=1), ValueError,
     r"^var:", r"1 element\(s\) over axis None", r"more than ddof=1 elements"),
    # ---- backward -------------------------------------------------------------------------------
    ("backward-nonscalar", lambda d: (t(2, 3, requires_grad=True) * 2).backward(), RuntimeError,
     r"^backward:", r"shape \(2, 3\)", r"single-element output.*gradient="),
    ("backward-twice", lambda d: _backward_twice(), RuntimeError,
     r"^backward:", r"op 'sum' was already freed", r"retain_graph=True"),
    ("backward-no-graph", lambda d: t(2).sum().backward(), RuntimeError,
     r"^backward:", r"shape \(\) does not require grad", r"requires_grad=True"),
    ("gradient-shape", lambda d: (t(2, requires_grad=True) * 2).backward(t(3)), ValueError,
     r"^backward\(gradient=\.\.\.\):", r"gradient of shape \(3,\)", r"tensor of shape \(2,\)"),
    ("gradient-dtype",
     lambda d: (t(2, requires_grad=True) * 2).backward(t(2, dtype=np.float64)), TypeError,
     r"^backward\(gradient=\.\.\.\):", r"dtype float64", r"dtype float32"),
    ("grad-outputs-shape",
     lambda d: ag.grad(t(3, requires_grad=True) * 2, [t(3, requires_grad=True)],
                       grad_outputs=[t(4)]), ValueError,
     r"^backward\(gradient=\.\.\.\):", r"gradient of shape \(4,\)", r"tensor of shape \(3,\)"),
    ("hook-shape", lambda d: _hook_returning((3,), np.float32), ValueError,
     r"^hook:", r"gradient of shape \(3,\)", r"tensor of shape \(2,\)"),
    ("hook-dtype", lambda d: _hook_returning((2,), np.float64), TypeError,
     r"^hook:", r"dtype float64", r"dtype float32"),
    ("grad-unused", lambda d: _unused_input(), RuntimeError,
     r"^grad:", r"was not used", r"allow_unused=True"),
    ("inplace-leaf", lambda d: t(2, requires_grad=True).zero_(), RuntimeError,
     r"^zero_:", r"leaf tensor that requires grad", r"no_grad"),
    ("inplace-nonleaf", lambda d: (t(2, requires_grad=True) * 2).zero_(), RuntimeError,
     r"^zero_:", r"computed by op 'mul'", r"out-of-place op"),
    ("inplace-saved", lambda d: _saved_then_modified(), RuntimeError,
     r"^backward: op 'mul'", r"version 0 -> 1", r"call backward\(\) before the change"),
    # ---- layers ---------------------------------------------------------------------------------
    ("linear-features", lambda d: nn.Linear(3, 2)(t(4, 5)), ValueError,
     r"^linear:", r"shape \(4, 5\)", r"in_features=3"),
    ("linear-negative", lambda d: nn.Linear(-1, 2), ValueError,
     r"^Linear:", r"got -1", r"int >= 0"),
    ("conv-channels", lambda d: nn.Conv2d(3, 4, 3)(t(2, 5, 8, 8)), ValueError,
     r"^Conv2d\(3, 4", r"\(2, 5, 8, 8\) with 5 channels", r"expected input with 3 channels"),
    ("conv-ndim", lambda d: nn.Conv2d(3, 4, 3)(t(8, 8)), ValueError,
     r"^Conv2d\(3, 4", r"got shape \(8, 8\)", r"4-D input \(N, C, H, W\)"),
    ("conv-too-small", lambda d: nn.Conv2d(1, 1, 5)(t(1, 1, 3, 3)), ValueError,
     r"^Conv2d\(1, 1", r"spatial size \(3, 3\)", r"smaller than the dilated kernel"),
    ("conv-groups", lambda d: nn.Conv2d(4, 6, 3, groups=4), ValueError,
     r"^Conv2d:", r"groups=4", r"must divide in_channels=4 and out_channels=6"),
    ("pool-too-small", lambda d: nn.MaxPool2d(3)(t(1, 1, 2, 2)), ValueError,
     r"^max_pool2d:", r"\(1, 1, 2, 2\)", r"too small for kernel"),
    ("unpool-index",
     lambda d: nn.MaxUnpool2d(2)(t(1, 1, 2, 2), ints(0, 1, 2, 16).reshape(1, 1, 2, 2)),
     IndexError, r"^max_unpool2d:", r"index 16", r"4 x 4 = 16 elements \(valid: 0 \.\. 15\)"),
    ("unpool-output-size",
     lambda d: nn.MaxUnpool2d(2)(t(1, 1, 2, 2), ints(0, 3, 8, 11).reshape(1, 1, 2, 2), (6, 4)),
     ValueError, r"^max_unpool2d:", r"output_size \(6, 4\)", r"more than 2 and less than 6"),
    ("rnn-input-size", lambda d: _rnn(nn.LSTM, 5, 2, 3), ValueError,
     r"^LSTM\(4, 8\)", r"shape \(5, 2, 3\)", r"input_size=4"),
    ("rnn-ndim", lambda d: _rnn(nn.GRU, 5), ValueError,
     r"^GRU\(4, 8\)", r"got shape \(5,\)", r"3-D input"),
    ("rnn-hidden",
     lambda d: nn.LSTM(4, 8)(ag.randn(5, 2, 4), (ag.randn(1, 3, 8), ag.randn(1, 3, 8))),
     ValueError, r"^LSTM\(4, 8\)", r"got \(1, 3, 8\)", r"h_0 of shape \(1, 2, 8\)"),
    ("rnncell-input", lambda d: nn.RNNCell(4, 8)(t(2, 3)), ValueError,
     r"^RNNCell\(4, 8\)", r"got \(2, 3\)", r"\(batch, 4\)"),
    ("embedding-range", lambda d: nn.Embedding(5, 3)(ints(0, 7)), IndexError,
     r"^embedding:", r"index 7", r"0 \.\. 4"),
    ("embedding-float", lambda d: nn.Embedding(5, 3)(Tensor([0.0, 1.0])), TypeError,
     r"^embedding:", r"dtype float32", r"must be integers"),
    ("batchnorm-channels", lambda d: nn.BatchNorm1d(4)(t(3, 5)), ValueError,
     r"^BatchNorm1d:", r"5 channels", r"num_features=4"),
    ("batchnorm-one-sample", lambda d: nn.BatchNorm1d(3)(t(1, 3)), ValueError,
     r"^batch_norm:", r"shape \(1, 3\)", r"more than 1 value per channel"),
    ("embedding-padding", lambda d: nn.Embedding(5, 3, padding_idx=7), ValueError,
     r"^Embedding:", r"padding_idx 7", r"within \[-5, 5\)"),
    ("embedding-max-norm", lambda d: nn.Embedding(5, 3, max_norm=-1.0), ValueError,
     r"^Embedding:", r"got -1\.0", r"max_norm must be a number >= 0"),
    ("layernorm-shape", lambda d: nn.LayerNorm(4)(t(3, 5)), ValueError,
     r"^layer_norm:", r"shape \(3, 5\)", r"normalized_shape \(4,\)"),
    ("dropout-p", lambda d: nn.Dropout(1.5), ValueError,
     r"^Dropout:", r"got 1.5", r"between 0 and 1"),
    ("sequential-nonmodule", lambda d: nn.Sequential(nn.Linear(2, 2), lambda x: x), TypeError,
     r"^add_module:", r"function is not a Module", r"registering '1' in Sequential"),
    ("module-typo", lambda d: nn.Linear(2, 2).wieght, AttributeError,
     r"'Linear' object", r"no attribute 'wieght'", r"did you mean 'weight'\?"),
    ("module-assign", lambda d: setattr(nn.Linear(2, 2), "weight", t(2, 2)), TypeError,
     r"parameter 'weight' of Linear", r"cannot assign Tensor", r"nn\.Parameter or None expected"),
    # ---- losses ---------------------------------------------------------------------------------
    ("ce-target-shape", lambda d: nn.CrossEntropyLoss()(t(4, 3), ints(0, 1, 2)), ValueError,
     r"^cross_entropy:", r"target shape \(3,\)", r"class indices of shape \(4,\)"),
    ("ce-class-range", lambda d: nn.CrossEntropyLoss()(t(4, 3), ints(0, 1, 2, 3)), IndexError,
     r"^cross_entropy:", r"target class 3", r"valid: 0 \.\. 2"),
    ("ce-class-negative", lambda d: nn.CrossEntropyLoss()(t(2, 3), ints(0, -1)), IndexError,
     r"^cross_entropy:", r"target class -1", r"valid: 0 \.\. 2"),
    ("ce-float-target", lambda d: nn.CrossEntropyLoss()(t(4, 3), Tensor([0.0, 1.0, 2.0, 1.0])),
     ValueError, r"^cross_entropy:", r"got \(4,\)", r"integer target of shape \(4,\)"),
    ("nll-float-target", lambda d: nn.NLLLoss()(t(4, 3), Tensor([0.0, 1.0, 2.0, 1.0])), TypeError,
     r"^nll_loss:", r"dtype float32", r"must be integers"),
    ("ce-int-logits", lambda d: nn.CrossEntropyLoss()(ints(1, 2).reshape(1, 2), ints(0)),
     TypeError, r"^cross_entropy:", r"got dtype int64", r"floating-point logits"),
    ("ce-weight-shape", lambda d: nn.CrossEntropyLoss(weight=t(4))(t(2, 3), ints(0, 1)),
     ValueError, r"^cross_entropy:", r"got \(4,\)", r"weight must have shape \(3,\)"),
    ("nll-spatial-target", lambda d: nn.NLLLoss()(t(2, 3, 4), Tensor(np.zeros((2, 5), np.int64))),
     ValueError, r"^nll_loss:", r"target shape \(2, 5\)", r"class indices of shape \(2, 4\)"),
    ("bce-probabilities", lambda d: nn.BCELoss()(Tensor([1.5, 0.5]), Tensor([1.0, 0.0])),
     ValueError, r"^binary_cross_entropy:", r"got range \[0.5, 1.5\]",
     r"probabilities in \[0, 1\].*binary_cross_entropy_with_logits"),
    ("mse-shape", lambda d: nn.MSELoss()(t(4, 3), t(4, 1)), ValueError,
     r"^mse_loss:", r"target shape \(4, 1\)", r"input shape \(4, 3\); they must be equal"),
    ("bce-shape", lambda d: nn.BCEWithLogitsLoss()(t(4, 3), t(4)), ValueError,
     r"^binary_cross_entropy_with_logits:", r"target shape \(4,\)", r"must be equal"),
    ("loss-empty", lambda d: nn.CrossEntropyLoss()(t(0, 3), ints()), ValueError,
     r"^cross_entropy:", r"empty input of shape \(0, 3\)", r"reduction='sum'"),
    ("mse-empty", lambda d: nn.MSELoss()(t(0, 3), t(0, 3)), ValueError,
     r"^mse_loss:", r"empty input of shape \(0, 3\)", r"skip empty batches"),
    ("loss-reduction", lambda d: nn.CrossEntropyLoss(reduction="avg")(t(2, 3), ints(0, 1)),
     ValueError, r"^CrossEntropyLoss:", r"got 'avg'", r"\('mean', 'sum', 'none'\)"),
    # ---- state dicts and optimizers -------------------------------------------------------------
    ("state-missing", lambda d: _load_state(lambda s: s.pop("bias")), RuntimeError,
     r"^load_state_dict into Linear:", r"missing keys \['bias'\]", r"Nothing was changed"),
    ("state-unexpected", lambda d: _load_state(lambda s: s.update(extra=np.zeros(1))),
     RuntimeError, r"^load_state_dict into Linear:", r"unexpected keys \['extra'\]",
     r"Nothing was changed"),
    ("state-shape", lambda d: _load_state(lambda s: s.update(weight=np.zeros((3, 3)))),
     RuntimeError, r"^load_state_dict into Linear:", r"checkpoint shape \(3, 3\)",
     r"model shape \(2, 3\)"),
    ("state-dtype",
     lambda d: _load_state(lambda s: s.update(bias=np.array(["a", "b"]))), RuntimeError,
     r"^load_state_dict into Linear:", r"'bias': dtype <U1", r"is not numeric"),
    ("optim-option", lambda d: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentun=0.9),
     TypeError, r"^SGD:", r"unknown option\(s\) 'momentun'", r"valid options are lr, momentum"),
    ("optim-lr", lambda d: optim.Adam(nn.Linear(2, 2).parameters(), lr=-1.0), ValueError,
     r"^Adam:", r"lr -1", r">= 0"),
    ("optim-betas", lambda d: optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.5, 0.9)),
     ValueError, r"^Adam:", r"got \(1.5, 0.9\)", r"in \[0, 1\)"),
    ("optim-not-tensor", lambda d: optim.SGD([1.0, 2.0], lr=0.1), TypeError,
     r"^SGD:", r"params\[0\] is a float", r"can only optimize Tensors"),
    ("optim-frozen", lambda d: optim.SGD([t(2)], lr=0.1), ValueError,
     r"^SGD:", r"params\[0\] \(shape \(2,\)\) does not require grad", r"only trainable tensors"),
    ("optim-state-dict", lambda d: optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
     .load_state_dict({"foo": 1}), ValueError,
     r"^SGD\.load_state_dict:", r"got \['foo'\]", r"keys 'state' and 'param_groups'"),
    ("optim-empty", lambda d: optim.SGD([], lr=0.1), ValueError,
     r"^SGD", r"empty parameter list", r"model that has parameters"),
    # ---- data -----------------------------------------------------------------------------------
    ("loader-empty", lambda d: DataLoader(TensorDataset(np.zeros((0, 2))), batch_size=2),
     ValueError, r"^DataLoader:", r"\(TensorDataset\) is empty", r"kept nothing"),
    ("loader-batch-size", lambda d: DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=0),
     ValueError, r"^DataLoader:", r"got 0", r"positive int"),
    ("loader-drop-last",
     lambda d: DataLoader(TensorDataset(np.zeros((3, 2))), batch_size=4, drop_last=True),
     ValueError, r"^DataLoader:", r"batch_size=4 and 3 samples", r"drop_last=False"),
    ("loader-not-dataset", lambda d: DataLoader(5), TypeError,
     r"^DataLoader:", r"got a int", r"needs __len__ and __getitem__"),
    ("dataset-lengths", lambda d: TensorDataset(np.zeros((3, 2)), np.zeros(4)), ValueError,
     r"^TensorDataset:", r"\[\(3, 2\), \(4,\)\]", r"same first dimension"),
    # ---- files ----------------------------------------------------------------------------------
    ("load-missing", lambda d: nn.load(os.path.join(d, "nope.npz")), FileNotFoundError,
     r"No such file", r"nope\.npz", r"No such file or directory"),
    ("load-unknown-format", lambda d: nn.load(_file(d, "x.bin", b"hello, not a checkpoint")),
     ValueError, r"^nn\.load:", r"starts with b'hello, n'", r"expected an \.npz \(zip\)"),
    ("load-empty", lambda d: nn.load(_file(d, "e.npz", b"")), ValueError,
     r"^nn\.load:", r"e\.npz", r"the file is empty"),
    ("load-truncated",
     lambda d: nn.load(_file(d, "t.npz", _valid_npz_bytes(d)[:200])), ValueError,
     r"^nn\.load:", r"t\.npz", r"corrupt or truncated"),
    ("load-object-array", lambda d: nn.load(_object_npz(d)), ValueError,
     r"^nn\.load:", r"member 'a' holds an object array", r"never loaded"),
    ("save-object", lambda d: nn.save({"a": object()}, os.path.join(d, "o.npz")), TypeError,
     r"^nn\.save:", r"cannot save object at key path 'a'", r"supported: arrays"),
]

IDS = [row[0] for row in ROWS]

# situation and fix for each row, as docs/errors.md shows them
DOC = {
    'matmul-shapes': ("`a @ b` with a's last axis ≠ b's second-to-last",
                      'transpose or reshape one operand; check which axis holds the features'),
    'matmul-batch': ('batched `@` whose batch axes do not broadcast',
                     'make the leading (batch) axes equal or 1'),
    'matmul-scalar': ('`@` with a 0-d operand',
                      'use `*` for scalars'),
    'add-broadcast': ('`a + b` with shapes that do not broadcast',
                      'reshape/unsqueeze one operand, e.g. `b.unsqueeze(0)`'),
    'sub-broadcast': ('`a - b`, shapes do not broadcast',
                      'as above'),
    'mul-broadcast': ('`a * b`, shapes do not broadcast',
                      'as above'),
    'div-broadcast': ('`a / b`, shapes do not broadcast',
                      'as above'),
    'where-broadcast': ('`where(cond, a, b)` with a condition of another shape',
                        'build the condition from the same tensor (`x.data > 0`)'),
    'reshape-size': ('`reshape` to a shape with another number of elements',
                     'keep the product of the shape; use `-1` for one inferred axis'),
    'expand-shape': ('`expand` to a shape the tensor cannot broadcast to',
                     'only axes of length 1 can be expanded'),
    'permute-count': ('`permute` with the wrong number of axes',
                      'give one axis per dimension'),
    'axis-range': ('an axis out of range in `squeeze`/`unsqueeze`/`permute`/`swapaxes`',
                   'count the axes; negative axes count from the end'),
    'reduce-axis': ('`sum`/`max`/... over an axis that does not exist',
                    'as above'),
    'softmax-axis': ('`softmax`/`log_softmax`/`logsumexp` over an axis that does not exist',
                     'count the axes'),
    'mean-axis': ('`mean`/`var` over an axis that does not exist',
                  'count the axes'),
    'transpose-axes': ('`transpose` with an axis out of range',
                       'count the axes'),
    'flatten-axis': ('`flatten` with an axis out of range',
                     'count the axes'),
    'expand-fewer': ('`expand` to fewer axes than the tensor has',
                     'new axes go in front; use `reshape` to drop axes'),
    'reshape-two-unknown': ('`reshape` with two `-1`',
                            'give all but one size'),
    'concat-axis': ('`cat` along an axis the tensors do not have',
                    '`stack` adds a new axis'),
    'concat-0d': ('`cat` of 0-d tensors',
                  '`stack` them'),
    'concat-shapes': ('`cat` of tensors that differ outside the joined axis',
                      'make the other axes equal'),
    'stack-shapes': ('`stack` of tensors of different shapes',
                     '`stack` needs equal shapes; `cat` joins along an existing axis'),
    'split-sections': ('`split(x, n)` when the axis length is not divisible by n',
                       'pass split points instead of a count'),
    'copy-shape': ('`copy_` from a source that does not broadcast to the destination',
                   'reshape the source'),
    'index-range': ('integer index past the end',
                    'valid indices are `-n .. n-1`'),
    'index-range-axis1': ('index past the end of a later axis',
                          'as above'),
    'index-float': ('a float used as an index',
                    'convert with `int(...)`'),
    'index-mask-shape': ('boolean mask of the wrong shape',
                         "the mask must have the indexed axes' shape"),
    'index-too-many': ('more indices than axes',
                       'check `x.ndim`'),
    'index-float-tensor': ('a float Tensor used as an index',
                           '`idx.long()`'),
    'index-string': ('a string used as an index',
                     'tensors have no named axes'),
    'tensor-string': ('`Tensor("abc")`',
                      'numbers or arrays only'),
    'tensor-object': ('`Tensor([object()])`',
                      'numbers or arrays only'),
    'tensor-none': ('`Tensor(None)`',
                    'numbers or arrays only'),
    'tensor-complex': ('complex data',
                       'complex numbers are not supported; split real and imaginary parts'),
    'tensor-ragged': ('nested lists of unequal lengths',
                      'pad the rows to one length'),
    'tensor-int-range': ("an integer outside the requested dtype's range",
                         'a wider dtype'),
    'tensor-numeric-string': ('strings of digits with a numeric dtype (never parsed)',
                              'convert with `float(s)` first'),
    'grad-int': ('`requires_grad=True` on an integer tensor',
                 "`Tensor(x, dtype='float32', requires_grad=True)`"),
    'grad-bool': ('`requires_grad=True` on a boolean tensor',
                  'as above'),
    'grad-int-by-hand': ('`requires_grad = True` assigned directly to an integer tensor '
                         '(refused at the assignment, not when a float gradient reaches it)',
                         'convert with `.float()` first'),
    'item-size': ('`.item()` / `float()` / `int()` of a tensor with several elements',
                  'reduce first (`.sum()`, `.mean()`) or index one element'),
    'bool-size': ('`if tensor:` with several elements',
                  '`.any()` or `.all()`'),
    'mean-empty': ('`mean()` of an empty tensor',
                   'skip empty inputs; `sum()` of empty is 0'),
    'max-empty': ('`max()` over an empty axis',
                  'skip empty inputs'),
    'min-empty': ('`min()` over an empty axis',
                  'skip empty inputs'),
    'var-ddof': ('`var(ddof=1)` over a single element',
                 'use ddof=0 or more elements'),
    'backward-nonscalar': ('`y.backward()` on a non-scalar `y`',
                           '`y.sum().backward()` or `y.backward(gradient)`'),
    'backward-twice': ('a second `backward()` through a freed graph',
                       '`backward(retain_graph=True)` the first time, or recompute the '
                       'forward pass'),
    'backward-no-graph': ('`backward()` on a tensor with no graph',
                          'create leaves with `requires_grad=True`, outside `no_grad()`'),
    'gradient-shape': ('`backward(gradient=g)` with g of another shape',
                       "g must have the output's shape"),
    'gradient-dtype': ('`backward(gradient=g)` with g of another dtype',
                       'cast g'),
    'grad-outputs-shape': ('`autograd.grad(..., grad_outputs=g)` with g of another shape',
                           "g must have the output's shape"),
    'hook-shape': ('a hook returns a gradient of another shape',
                   "return a gradient of the tensor's shape (or None)"),
    'hook-dtype': ('a hook returns a gradient of another dtype',
                   'cast it'),
    'grad-unused': ('`autograd.grad` for an input the output does not depend on',
                    '`allow_unused=True`'),
    'inplace-leaf': ('in-place change of a parameter while grad mode is on',
                     'wrap in `with autograd.no_grad():`'),
    'inplace-nonleaf': ('in-place method on a tensor in the graph while grad mode is on (it '
                        'would not be recorded)',
                        'an out-of-place op, or `no_grad()` if the graph must not see it'),
    'inplace-saved': ('a tensor saved for backward changed in place before `backward()` (`+=` '
                      'under no_grad, `zero_`, `add_`, `copy_`, an optimizer step, a change of '
                      '`w` when `w.T` was saved)',
                      'call `backward()` before the change, or recompute the forward pass '
                      'after it (see below)'),
    'linear-features': ('`Linear(in, out)` given another number of features',
                        'fix `in_features` or the input'),
    'linear-negative': ('`Linear` with a negative or non-integer size',
                        'sizes are ints >= 0'),
    'conv-channels': ('`Conv2d` given another number of channels',
                      'fix `in_channels`; images are (N, C, H, W)'),
    'conv-ndim': ('`Conv2d` given a tensor of the wrong rank',
                  'add the batch/channel axes (`x.unsqueeze(0)`)'),
    'conv-too-small': ('input smaller than the (dilated) kernel',
                       'pad the input or use a smaller kernel'),
    'conv-groups': ('`groups` that does not divide the channels',
                    'choose groups dividing both'),
    'pool-too-small': ('pooling window larger than the input',
                       'as above'),
    'unpool-index': ('`MaxUnpool2d` given indices past its output plane',
                     "the pool's kernel_size, stride and padding, or `output_size`"),
    'unpool-output-size': ('`MaxUnpool2d` with an `output_size` the pool cannot have made',
                           "the pooled input's size (`output_size=x.shape`)"),
    'rnn-input-size': ('`LSTM(input_size, ...)` given another feature size',
                       'features go on the last axis'),
    'rnn-ndim': ('RNN input of the wrong rank',
                 '(seq, batch, features), or `batch_first=True`'),
    'rnn-hidden': ('initial state of the wrong shape',
                   '(num_layers * num_directions, batch, hidden_size)'),
    'rnncell-input': ('`RNNCell` given another feature size',
                      'as above'),
    'embedding-range': ('`Embedding` index ≥ num_embeddings',
                        'grow the table or fix the vocabulary'),
    'embedding-float': ('`Embedding` given float indices',
                        '`x.long()`'),
    'batchnorm-channels': ('`BatchNorm1d(C)` given another number of channels',
                           'fix `num_features`'),
    'batchnorm-one-sample': ('`BatchNorm` in training mode on one sample per channel',
                             'larger batches, or `model.eval()`'),
    'embedding-padding': ('`padding_idx` outside the table',
                          'an index in range'),
    'embedding-max-norm': ('`Embedding(max_norm=...)` negative',
                           'a norm ≥ 0, or None for no renormalisation'),
    'layernorm-shape': ('`LayerNorm(shape)` given an input not ending in that shape',
                        'fix `normalized_shape`'),
    'dropout-p': ('`Dropout(p)` with p outside [0, 1]',
                  'p is a drop probability'),
    'sequential-nonmodule': ('a plain function inside `Sequential`',
                             'wrap it in a Module (or use `nn.Identity`-style layers)'),
    'module-typo': ('misspelt attribute of a module',
                    'use the suggested name'),
    'module-assign': ('assigning a plain Tensor over a parameter',
                      '`nn.Parameter(t)`, or `p.data[...] = ...` / `copy_` under no_grad'),
    'ce-target-shape': ('`CrossEntropyLoss` target of the wrong shape',
                        'class indices of shape (N,)'),
    'ce-class-range': ('class index ≥ number of classes',
                       'check the labels or the output size'),
    'ce-class-negative': ('negative class index (other than ignore_index)',
                          'as above'),
    'ce-float-target': ('float class indices for `CrossEntropyLoss`',
                        '`target.long()` (float targets mean probabilities, shape (N, C))'),
    'nll-float-target': ('float targets for `NLLLoss`',
                         '`target.long()`'),
    'ce-int-logits': ('integer logits',
                      'logits are float: `.float()`'),
    'ce-weight-shape': ('class weights of the wrong length',
                        'one weight per class'),
    'nll-spatial-target': ('per-pixel targets of the wrong shape',
                           '(N, d1, ...) for input (N, C, d1, ...)'),
    'bce-probabilities': ('`BCELoss` given values outside [0, 1] (logits?)',
                          '`BCEWithLogitsLoss` for logits'),
    'mse-shape': ('`MSELoss` with target shape ≠ input shape (would broadcast silently)',
                  'reshape one of them'),
    'bce-shape': ('`BCEWithLogitsLoss` with mismatched shapes',
                  'as above'),
    'loss-empty': ("a loss with `reduction='mean'` over an empty batch",
                   "skip empty batches or use `reduction='sum'`"),
    'mse-empty': ('same, for a regression loss',
                  'as above'),
    'loss-reduction': ('unknown `reduction`',
                       "'mean', 'sum' or 'none'"),
    'state-missing': ('`load_state_dict` without some keys',
                      '`strict=False`, or load the right checkpoint; nothing was changed'),
    'state-unexpected': ('`load_state_dict` with extra keys',
                         'as above'),
    'state-shape': ('`load_state_dict` with a mis-shaped array',
                    'the model and checkpoint differ; nothing was changed'),
    'state-dtype': ('`load_state_dict` with a non-numeric array',
                    'nothing was changed; re-export the checkpoint'),
    'optim-option': ('unknown (misspelt) optimizer option',
                     'use a listed option'),
    'optim-lr': ('negative learning rate',
                 'lr ≥ 0'),
    'optim-betas': ('Adam betas outside [0, 1)',
                    'e.g. (0.9, 0.999)'),
    'optim-not-tensor': ('optimizer over Python numbers',
                         'pass Parameters'),
    'optim-frozen': ('optimizer over a tensor that does not require grad',
                     'filter `requires_grad`'),
    'optim-state-dict': ('`optimizer.load_state_dict` of something else',
                         'pass `optimizer.state_dict()` output'),
    'optim-empty': ('optimizer over no parameters',
                    'pass `model.parameters()` of a built model'),
    'loader-empty': ('`DataLoader` over an empty dataset',
                     'check the filter/split that built it'),
    'loader-batch-size': ('`batch_size` ≤ 0',
                          'a positive int'),
    'loader-drop-last': ('`drop_last=True` with fewer samples than one batch (an epoch of nothing)',
                         'lower batch_size or drop_last=False'),
    'loader-not-dataset': ('`DataLoader` over something without `__len__`/`__getitem__`',
                           'wrap arrays in `TensorDataset`'),
    'dataset-lengths': ('`TensorDataset` of tensors with different lengths',
                        'align inputs and targets'),
    'load-missing': ('`nn.load` of a path that does not exist',
                     'check the path'),
    'load-unknown-format': ('`nn.load` of a file that is neither .npz nor .safetensors',
                            'save with `nn.save`'),
    'load-empty': ('`nn.load` of an empty file',
                   'the save never finished (saves are atomic, so this file was not '
                   'written by nn.save)'),
    'load-truncated': ('`nn.load` of a truncated or corrupt file',
                       're-save; nn.save is atomic'),
    'load-object-array': ('an .npz holding object (pickled) arrays',
                          'never loaded: it could run code; re-save numeric arrays'),
    'save-object': ('`nn.save` of something other than arrays, numbers, strings, containers',
                    'save a state dict'),
    'einsum-sizes': ('`einsum` whose operands give one letter two sizes',
                     'check the subscripts against the shapes; `...` broadcasts, letters do not'),
    'gather-range': ('`gather`/`take_along_axis`/`index_select` with an index past the axis',
                     'indices must lie in -n .. n-1 of the indexed axis'),
    'topk-k': ('`topk` with k larger than the axis', 'use k <= the axis length, or `sort`'),
    'bitwise-float': ('`& | ^ ~` on float tensors',
                      'compare first (`x > 0`), or use `logical_and/or/xor/not`'),
    'pad-reflect': ("`pad(..., 'reflect')` as wide as the axis",
                    "use 'replicate' or 'circular', or less padding"),
    'norm-matrix-ord': ('`norm(2, (0, 1))` or `norm("nuc", ...)` (they need an SVD)',
                        "use 'fro', 1, -1, inf or -inf over a pair of axes"),
    'var-correction': ('`var`/`std` with both `ddof` and `correction`, different',
                       'they name the same number: give one'),
    'conv-transpose-output-padding': ('`ConvTranspose` with output_padding >= stride and dilation',
                                      'output_padding only picks among the stride\'s possible sizes: keep it below the stride'),
    'interpolate-rank': ("`interpolate(mode='bilinear')` of a 3-D tensor",
                         "'linear' for (N, C, L), 'bilinear' for (N, C, H, W)"),
    'multinomial-too-many': ('`multinomial` drawing more samples than nonzero weights, without replacement',
                             'pass replacement=True or draw fewer'),
}


def test_row_ids_are_unique():
    assert len(IDS) == len(set(IDS))


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_catalogue(row, tmp_path):
    _, call, exc, op, got, expected = row
    with np.errstate(all="ignore"), pytest.raises(exc) as info:
        call(str(tmp_path))
    msg = str(info.value)
    for what, pattern in (("operation", op), ("what it got", got), ("what it expected", expected)):
        assert re.search(pattern, msg), f"message does not name {what} ({pattern!r}): {msg}"


def _message(row, tmp):
    """(exception type name, message) of a row, with the temporary directory shown as <dir>."""
    _, call, exc, *_ = row
    try:
        with np.errstate(all="ignore"):
            call(tmp)
    except exc as e:
        name = {"_LoadError": "ValueError", "StateDictError": "RuntimeError",
                "AxisError": "IndexError/ValueError (AxisError)"}.get(type(e).__name__,
                                                                      type(e).__name__)
        return name, str(e).replace(tmp, "<dir>")
    raise AssertionError(f"row {row[0]} raised nothing")


def _cell(message, limit=240):
    """A message as a markdown table cell: no pipes, no backticks, long ones cut with '...'."""
    message = message.replace("|", "\\|").replace("`", "'")
    return message if len(message) <= limit else message[:limit - 3] + "..."


def render_table(tmp):
    lines = []
    for row in ROWS:
        name, message = _message(row, tmp)
        situation, fix = DOC[row[0]]
        lines.append(f"| `{row[0]}` | {situation} | {name}: `{_cell(message)}` | {fix} |")
    return "\n".join(lines) + "\n"


TABLE_HEAD = "| id | situation | message | fix |\n|---|---|---|---|\n"


def update_docs():
    """Rewrite docs/errors.md's catalogue from ROWS and DOC: `python tests/test_errors.py`."""
    import tempfile

    text = DOCS.read_text(encoding="utf-8")
    start = text.index(TABLE_HEAD) + len(TABLE_HEAD)
    end = text.index("\n## Edge cases")
    with tempfile.TemporaryDirectory() as tmp:
        text = text[:start] + render_table(tmp) + text[end:]
    text = re.sub(r"written with NumPy [0-9.]+", f"written with NumPy {np.__version__}", text)
    DOCS.write_text(text, encoding="utf-8")


def test_every_row_is_documented_with_its_current_message(tmp_path):
    text = DOCS.read_text(encoding="utf-8")
    documented = dict(re.findall(r"^\| `([a-z0-9-]+)` \|[^\n]*?: `([^`]*)` \|", text, flags=re.M))
    edge = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.M)) - set(documented)
    assert set(documented) == set(IDS) and edge == set(EDGE_IDS) and set(DOC) == set(IDS), (
        "docs/errors.md and tests/test_errors.py disagree; run `python tests/test_errors.py` "
        f"to rewrite the table (missing: {sorted(set(IDS) - set(documented))}, "
        f"extra: {sorted(set(documented) - set(IDS))})")
    written_with = re.search(r"written with NumPy ([0-9.]+)", text).group(1)
    if written_with != np.__version__:
        return  # NumPy's own wording varies between versions: the regexes above still apply
    stale = [rid for rid, row in zip(IDS, ROWS)
             if documented[rid] != _cell(_message(row, str(tmp_path))[1])]
    assert not stale, (f"messages changed for {stale}; run `python tests/test_errors.py` to "
                       "rewrite the table in docs/errors.md")


# ---- edge cases that are *not* errors (second table in docs/errors.md) --------------------------

def test_sum_of_empty_is_zero():
    x = t(0, 3, requires_grad=True)
    s = x.sum()
    assert s.item() == 0.0 and s.dtype == np.float32
    s.backward()
    assert x.grad.shape == (0, 3)
    assert x.sum(axis=0).shape == (3,) and np.all(x.sum(axis=0).data == 0)


def test_mean_over_a_non_empty_axis_of_an_empty_tensor_is_empty():
    x = t(0, 3)
    assert x.mean(axis=1).shape == (0,)


def test_loss_sum_of_an_empty_batch_is_zero():
    x = t(0, 3, requires_grad=True)
    loss = nn.CrossEntropyLoss(reduction="sum")(x, ints())
    assert loss.item() == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_finite_loss_and_gradients(dtype):
    logits = Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype), requires_grad=True)
    loss = nn.CrossEntropyLoss()(logits, ints(1, 1))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1e4, rel=1e-6)
    assert np.all(np.isfinite(logits.grad.data))
    # d loss / d logits = (softmax - onehot) / N
    np.testing.assert_allclose(logits.grad.data, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_in_binary_losses(dtype):
    x = Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype), requires_grad=True)
    target = Tensor(np.array([1.0, 0.0, 0.0, 1.0], dtype))
    loss = nn.BCEWithLogitsLoss()(x, target)
    loss.backward()
    assert loss.item() == pytest.approx(2 * 1e4 / 4, rel=1e-6)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 0.25, -0.25], atol=1e-7)
    # BCELoss on sigmoid(x): the probabilities are exactly 0 and 1; logs clamp at -100 (as
    # PyTorch) and the gradient stays finite (no 0 * inf from the clamped log).
    x.grad = None
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = nn.BCELoss()(x.sigmoid(), target)
        loss.backward()
    assert loss.item() == pytest.approx(2 * 100 / 4, rel=1e-3)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 0.0, 0.0], atol=1e-7)


EXTREMES = {
    "sigmoid": (lambda x: x.sigmoid(), [1.0, 0.0], [0.0, 0.0]),
    "tanh": (lambda x: x.tanh(), [1.0, -1.0], [0.0, 0.0]),
    "softplus": (lambda x: nn.functional.softplus(x), [1000.0, 0.0], [1.0, 0.0]),
    "logsigmoid": (lambda x: nn.functional.logsigmoid(x), [0.0, -1000.0], [0.0, 1.0]),
    "log_softmax": (lambda x: x.log_softmax(), [0.0, -2000.0], [-1.0, 1.0]),
    "softmax": (lambda x: x.softmax(), [1.0, 0.0], [0.0, 0.0]),
    "logsumexp": (lambda x: x.logsumexp(), 1000.0, [1.0, 0.0]),
    "exp-of-minus": (lambda x: (-(x.abs())).exp(), [0.0, 0.0], [0.0, 0.0]),
    "relu": (lambda x: nn.functional.relu(x), [1000.0, 0.0], [1.0, 0.0]),
    "leaky_relu": (lambda x: nn.functional.leaky_relu(x), [1000.0, -10.0], [1.0, 0.01]),
    "elu": (lambda x: nn.functional.elu(x), [1000.0, -1.0], [1.0, 0.0]),
    "gelu": (lambda x: nn.functional.gelu(x), [1000.0, 0.0], [1.0, 0.0]),
    "gelu-tanh": (lambda x: nn.functional.gelu(x, approximate="tanh"), [1000.0, 0.0], [1.0, 0.0]),
    "silu": (lambda x: nn.functional.silu(x), [1000.0, 0.0], [1.0, 0.0]),
}


@pytest.mark.parametrize("name", EXTREMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_at_plus_minus_1000_are_finite(name, dtype):
    fn, value, grad = EXTREMES[name]
    x = Tensor(np.array([1000.0, -1000.0], dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no NaN
        y = fn(x)
        y.sum().backward()
    np.testing.assert_allclose(y.data, value, atol=1e-6)
    np.testing.assert_allclose(x.grad.data, grad, atol=1e-6)


EDGE_IDS = ["sum-empty", "mean-empty-axis", "loss-sum-empty", "extreme-logits",
            "extreme-binary-logits", "extreme-activations", "no-pickle"]


# ---- untrusted files: nothing in the repository unpickles ---------------------------------------

def test_no_pickle_anywhere_in_the_library():
    # `allow_pickle=True` or any pickle import would let a file run code when loaded.
    offenders = []
    for package in ("autograd", "nn", "chainrule", "benchmarks", "notebooks"):
        for path in list((ROOT / package).rglob("*.py")) + list((ROOT / package).rglob("*.ipynb")):
            text = path.read_text(encoding="utf-8")
            for pattern in (r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve|marshal)\b",
                            r"allow_pickle\s*=\s*True", r"torch\.load"):
                if re.search(pattern, text, flags=re.M):
                    offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert not offenders


def test_loading_files_never_unpickles():
    # In a fresh interpreter with every pickle entry point booby-trapped: nn.load and the CLI's
    # checkpoint.load read their files, and an .npz of object arrays is refused, all without
    # a single call into pickle.
    code = (
        "import os, pickle, sys, tempfile\n"
        "import numpy as np, nn\n"
        "from chainrule import checkpoint\n"
        "d = tempfile.mkdtemp()\n"
        "p = os.path.join(d, 'm.npz'); nn.save(nn.Linear(2, 2).state_dict(), p)\n"
        "c = os.path.join(d, 'c.npz'); checkpoint.save({'epoch': 1, 'w': np.ones(2)}, c)\n"
        "o = os.path.join(d, 'o.npz'); np.savez(o, a=np.array([{'x': 1}], dtype=object))\n"
        "def trap(*args, **kwargs):\n"
        "    raise SystemExit('pickle was called')\n"
        "pickle.load = pickle.loads = pickle.Unpickler = trap\n"
        "print(sorted(nn.load(p)), checkpoint.load(c)['epoch'])\n"
        "try:\n"
        "    nn.load(o)\n"
        "except ValueError as e:\n"
        "    print('refused' if 'object array' in str(e) else e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["['bias',", "'weight']", "1", "refused"]


if __name__ == "__main__":
    update_docs()
    print(f"docs/errors.md: {len(ROWS)} catalogue rows written")
