"""nn.onnx.export: the written file passes onnx.checker and ONNX Runtime reproduces chainrule."""
import io

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from chainrule.models import CNN, MLP, CharGPT, CharLSTM

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import nn.onnx  # noqa: E402  (after the skips: it needs onnx at export time only)


def export_and_run(model, args, feeds_list=None, **kwargs):
    """Export `model` on `args`; run the file in ONNX Runtime on `args` (and each extra feed)
    and return (proto, [ONNX outputs per feed], [chainrule outputs per feed])."""
    f = io.BytesIO()
    proto = nn.onnx.export(model, args, f, **kwargs)
    onnx.checker.check_model(onnx.load_from_string(f.getvalue()), full_check=True)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    got, want = [], []
    model.eval()
    for feed in [args] + list(feeds_list or []):
        feed = feed if isinstance(feed, tuple) else (feed,)
        got.append(sess.run(None, {i.name: a for i, a in zip(sess.get_inputs(), feed)}))
        out = model(*[autograd.Tensor(a) for a in feed])
        want.append([t.data for t in nn.onnx._flatten(out)])
    return proto, got, want


def assert_close(got, want, tol=1e-5):
    for g_feed, w_feed in zip(got, want):
        assert len(g_feed) == len(w_feed)
        for g, w in zip(g_feed, w_feed):
            assert g.shape == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


def test_mlp_exports_as_gemms_with_state_dict_names():
    rng = np.random.default_rng(0)
    model = MLP(12, (16, 8), 3)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    proto, got, want = export_and_run(model, x)
    assert_close(got, want)
    assert op_types(proto).count("Gemm") == 3
    names = {i.name for i in proto.graph.initializer}
    assert set(model.state_dict()) <= names
    for init in proto.graph.initializer:
        if init.name in model.state_dict():
            np.testing.assert_array_equal(onnx.numpy_helper.to_array(init),
                                          np.asarray(getattr(model.state_dict()[init.name],
                                                             "data", model.state_dict()[init.name])))


def test_cli_cnn_with_a_dynamic_batch():
    rng = np.random.default_rng(1)
    model = CNN(1, 28, 10)
    model.train()   # export runs in eval mode (Dropout off)
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    more = [rng.standard_normal((n, 1, 28, 28)).astype(np.float32) for n in (1, 7)]
    proto, got, want = export_and_run(model, x, more, input_names=["image"],
                                      output_names=["logits"],
                                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    assert_close(got, want)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    # each convolution's recorded im2col + matmul chain is written as one Conv
    assert op_types(proto) == ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape",
                               "Gemm", "Relu", "Gemm"]
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][0]
    assert list(conv.input[1:]) == ["features.0.weight", "features.0.bias"]


def test_export_restores_the_training_mode():
    model = CNN(1, 8, 3).train()
    nn.onnx.export(model, np.zeros((1, 1, 8, 8), np.float32), io.BytesIO())
    assert all(m.training for m in model.modules())


def test_fixed_batch_export_rejects_another_batch_size():
    model = MLP(4, (5,), 2)
    f = io.BytesIO()
    nn.onnx.export(model, np.ones((3, 4), np.float32), f)
    sess = ort.InferenceSession(f.getvalue(), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception):
        sess.run(None, {"input": np.ones((6, 4), np.float32)})


class Tagger(nn.Module):
    """Embedding + (bidirectional, 2-layer) LSTM + Linear: a tag per token."""

    def __init__(self, vocab, tags, mode="LSTM"):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 6, padding_idx=0)
        kind = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}[mode]
        self.rnn = kind(6, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(10, tags)

    def forward(self, ids):
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out).log_softmax(axis=-1)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_embedding_recurrent_tagger_with_free_batch_and_length(mode):
    autograd.manual_seed(0)
    rng = np.random.default_rng(2)
    model = Tagger(11, 4, mode)
    ids = rng.integers(0, 11, (3, 7))
    ids[0, :2] = 0  # the padding row takes part
    more = [rng.integers(0, 11, (1, 4)), rng.integers(0, 11, (5, 12))]
    proto, got, want = export_and_run(model, ids, more,
                                      dynamic_axes={"input": {0: "batch", 1: "time"}})
    assert_close(got, want)
    assert op_types(proto).count(mode) == 4  # ONNX's own op: 2 layers x 2 directions


def test_cli_char_lstm_returns_logits_and_state():
    autograd.manual_seed(0)
    rng = np.random.default_rng(3)
    model = CharLSTM(13, 8, 16)
    ids = rng.integers(0, 13, (2, 5))
    proto, got, want = export_and_run(model, ids, [rng.integers(0, 13, (4, 9))],
                                      output_names=["logits", "h", "c"],
                                      dynamic_axes={"input": {0: "batch", 1: "time"}})
    assert_close(got, want)
    assert [o.name for o in proto.graph.output] == ["logits", "h", "c"]


class Composites(nn.Module):
    """A custom forward of composites and layers that have no ONNX op of their own."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
        self.bn = nn.BatchNorm1d(6)
        self.conv2 = nn.Conv2d(1, 4, (3, 2), padding=(1, 0), bias=False)
        self.pool = nn.AvgPool2d(2, padding=1, count_include_pad=False)
        self.norm = nn.LayerNorm(8)
        self.drop = nn.Dropout(0.5)
        self.scale = nn.Parameter(np.array([1.5], np.float32))

    def forward(self, x, image):
        h = self.bn(self.conv1(x))                       # (N, 6, L)
        h = F.leaky_relu(h, 0.2) + F.elu(h) * 0.5 - F.softplus(h, beta=2.0) / 3
        h = F.gelu(h).clip(-1.0, 2.0) + F.silu(h) + F.gelu(h, approximate="tanh")
        h = h.max(axis=2) - h.mean(axis=2) + h.sum(axis=2, keepdims=True)[:, :, 0] * self.scale
        g = self.pool(self.conv2(image))                 # (N, 4, H', W')
        g = F.adaptive_avg_pool2d(g, (2, 1)).reshape(g.shape[0], -1)   # (N, 8)
        g = self.norm(self.drop(g)).tanh() + g.sigmoid() * g.abs().sqrt()
        both = autograd.concatenate([h, g[:, ::2], g[:, -2:]], axis=1)   # (N, 12)
        return F.softmax(both, axis=1), both.exp().logsumexp(axis=1), both[:, None, 3] ** 2


def test_custom_module_with_composites():
    autograd.manual_seed(0)
    rng = np.random.default_rng(4)
    model = Composites()
    model.bn.running_mean.data[...] = rng.standard_normal(6)
    model.bn.running_var.data[...] = rng.uniform(0.5, 2.0, 6)
    x = rng.standard_normal((3, 4, 9)).astype(np.float32)
    image = rng.standard_normal((3, 1, 6, 5)).astype(np.float32)
    more = [(rng.standard_normal((5, 4, 9)).astype(np.float32),
             rng.standard_normal((5, 1, 6, 5)).astype(np.float32))]
    proto, got, want = export_and_run(model, (x, image), more,
                                      input_names=["x", "image"],
                                      dynamic_axes={"x": {0: "n"}, "image": {0: "n"}})
    assert_close(got, want, tol=2e-5)
    ops = set(op_types(proto))
    assert {"Softmax", "LeakyRelu", "Elu", "Softplus", "Clip", "ReduceLogSumExp", "Erf"} <= ops
    names = {i.name for i in proto.graph.initializer}
    # (running_var + eps) ** -0.5 involves no input: it is folded into one constant
    assert {"bn.running_mean", "scale", "conv1.weight", "conv2.weight", "norm.bias"} <= names


def test_convolutions_with_padding_modes_same_padding_and_unbatched_input():
    autograd.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="reflect"),
                          nn.Conv2d(3, 6, 2, padding="same", groups=3),
                          nn.Conv2d(6, 2, (1, 3), padding=(0, 2), padding_mode="circular"))
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 7, 6)).astype(np.float32)
    proto, got, want = export_and_run(model, x, [rng.standard_normal((4, 2, 7, 6)).astype(np.float32)],
                                      dynamic_axes={"input": [0]})
    assert_close(got, want)
    assert op_types(proto).count("Conv") == 3 and "Gather" in op_types(proto)  # the pad modes
    conv1d = nn.Conv1d(3, 2, 3, dilation=2)
    proto, got, want = export_and_run(conv1d, rng.standard_normal((3, 9)).astype(np.float32))  # (C, L)
    assert_close(got, want)


def test_unfold_read_on_its_own_is_written_as_im2col():
    from autograd.ops import Unfold

    class Windows(nn.Module):
        def forward(self, x):
            cols = Unfold.apply(x, kernel_size=(2, 2), stride=(1, 2), padding=((1, 0), (0, 1)),
                                dilation=(1, 1), layout="ckon")
            return cols * 2, F.unfold(x, 2)

    x = np.random.default_rng(9).standard_normal((3, 2, 4, 5)).astype(np.float32)
    proto, got, want = export_and_run(Windows(), x, dynamic_axes={"input": {0: "n"}})
    assert_close(got, want)


def test_float64_model_exports_in_float64():
    model = MLP(3, (4,), 2).double()
    x = np.random.default_rng(5).standard_normal((2, 3))
    proto, got, want = export_and_run(model, x)
    assert got[0][0].dtype == np.float64
    assert_close(got, want, tol=1e-12)


def test_max_pool_with_stride_padding_dilation_and_ceil_mode():
    model = nn.Sequential(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                          nn.MaxPool2d(2, dilation=2))
    x = np.random.default_rng(6).standard_normal((2, 3, 9, 8)).astype(np.float32)
    proto, got, want = export_and_run(model, x)
    assert_close(got, want)


# ---- attention ------------------------------------------------------------------------

class Attend(nn.Module):
    """F.scaled_dot_product_attention with fixed keyword arguments."""

    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **self.kwargs)


def _masks():
    rng = np.random.default_rng(20)
    boolean = rng.random((4, 6)) > 0.4
    boolean[1] = False                      # a query that sees no key: zeros, never NaN
    additive = rng.standard_normal((2, 1, 4, 6)).astype(np.float32)
    additive[0, 0, 2, :3] = -np.inf
    return {"none": {}, "causal": dict(is_causal=True), "boolean": dict(attn_mask=boolean),
            "additive": dict(attn_mask=additive, scale=0.3)}


@pytest.mark.parametrize("mask", ["none", "causal", "boolean", "additive"])
def test_scaled_dot_product_attention_with_masks(mask):
    rng = np.random.default_rng(21)
    q, k, v = (rng.standard_normal(shape).astype(np.float32)
               for shape in ((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)))
    proto, got, want = export_and_run(Attend(**_masks()[mask]), (q, k, v))
    assert_close(got, want)
    assert not np.isnan(got[0][0]).any()
    assert op_types(proto).count("MatMul") == 2 and "Softmax" in op_types(proto)
    if mask == "boolean":
        np.testing.assert_array_equal(got[0][0][:, :, 1], 0)


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_cross_attention_with_masks(need_weights):
    autograd.manual_seed(22)
    mha = nn.MultiheadAttention(8, 2, kdim=6, vdim=5)   # sequence first, separate projections
    padding = np.zeros((2, 7), bool)
    padding[1, 4:] = True

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x, memory):
            n = x.shape[1]
            return self.mha(x, memory, memory[..., :5], need_weights=need_weights,
                            key_padding_mask=np.resize(padding, (n, 7)),
                            attn_mask=np.triu(np.ones((5, 7), bool), 3))

    rng = np.random.default_rng(23)
    x, mem = rng.standard_normal((5, 2, 8)).astype(np.float32), rng.standard_normal((7, 2, 6)).astype(np.float32)
    more = [(rng.standard_normal((5, 3, 8)).astype(np.float32),
             rng.standard_normal((7, 3, 6)).astype(np.float32))]
    names = ["out", "weights"] if need_weights else ["out"]
    proto, got, want = export_and_run(Cross(), (x, mem), input_names=["x", "memory"],
                                      output_names=names)
    assert_close(got, want)
    # the key padding mask depends on the batch size here: a mask that changes with the
    # input is refused rather than frozen, when the batch is free
    with pytest.raises(nn.onnx.ExportError, match="attention mask that changes"):
        export_and_run(Cross(), (x, mem), more, input_names=["x", "memory"],
                       output_names=names,
                       dynamic_axes={"x": {1: "batch"}, "memory": {1: "batch"}})


def test_multihead_attention_self_attention_with_a_free_batch():
    autograd.manual_seed(24)
    mha = nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=True, add_zero_attn=True)

    class Self(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, attn_mask=np.triu(np.ones((5, 5), bool), 1))

    rng = np.random.default_rng(25)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    more = [rng.standard_normal((n, 5, 8)).astype(np.float32) for n in (1, 4)]
    proto, got, want = export_and_run(Self(), x, more, output_names=["out", "weights"],
                                      dynamic_axes={"input": {0: "batch"}, "out": {0: "batch"},
                                                    "weights": {0: "batch"}})
    assert_close(got, want)
    assert proto.graph.output[1].type.tensor_type.shape.dim[0].dim_param == "batch"


def test_a_mask_given_as_an_input_is_refused():
    class Masked(nn.Module):
        def forward(self, x, mask):
            return F.scaled_dot_product_attention(x, x, x, attn_mask=mask.data)

    x = np.random.default_rng(26).standard_normal((2, 4, 8)).astype(np.float32)
    mask = np.tri(4, dtype=bool)
    mask[3, 0] = False
    with pytest.raises(nn.onnx.ExportError, match="'scaled_dot_product_attention'.*mask"):
        nn.onnx.export(Masked(), (x, mask), io.BytesIO())


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_transformer_encoder_with_free_batch_and_length(norm_first):
    autograd.manual_seed(27)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, activation="gelu",
                                       batch_first=True, norm_first=norm_first)
    encoder = nn.TransformerEncoder(layer, 2, nn.LayerNorm(8))

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, x):
            mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            return self.encoder(x, mask=mask, is_causal=True)

    rng = np.random.default_rng(28)
    x = rng.standard_normal((2, 5, 8)).astype(np.float32)
    more = [rng.standard_normal(shape).astype(np.float32) for shape in ((1, 5, 8), (3, 9, 8))]
    proto, got, want = export_and_run(Causal(), x, more, input_names=["x"],
                                      output_names=["y"],
                                      dynamic_axes={"x": {0: "batch", 1: "time"},
                                                    "y": {0: "batch", 1: "time"}})
    assert_close(got, want)
    assert op_types(proto).count("Softmax") == 2 and "LessOrEqual" in op_types(proto)


def test_transformer_decoder_layer_with_a_free_batch():
    autograd.manual_seed(29)
    layer = nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
    rng = np.random.default_rng(30)
    tgt, memory = (rng.standard_normal((2, n, 8)).astype(np.float32) for n in (4, 6))
    more = [tuple(rng.standard_normal((3, n, 8)).astype(np.float32) for n in (4, 6))]
    proto, got, want = export_and_run(layer, (tgt, memory), more, input_names=["tgt", "memory"],
                                      dynamic_axes={"tgt": {0: "batch"}, "memory": {0: "batch"}})
    assert_close(got, want)
    assert {"self_attn.in_proj_weight", "multihead_attn.out_proj.weight"} <= {
        i.name for i in proto.graph.initializer}


class GPTLogits(CharGPT):
    """CharGPT's logits alone: its second output (the ids it keeps as context) is NumPy."""

    def forward(self, ids):
        return super().forward(ids)[0]


def test_char_gpt_logits_with_a_dynamic_batch():
    autograd.manual_seed(31)
    model = GPTLogits(11, block_size=8, d_model=16, n_layers=2, n_heads=2, d_ff=32)
    rng = np.random.default_rng(32)
    ids = rng.integers(0, 11, (2, 8))
    more = [rng.integers(0, 11, (n, 8)) for n in (1, 5)]
    proto, got, want = export_and_run(model, ids, more, input_names=["ids"],
                                      output_names=["logits"],
                                      dynamic_axes={"ids": {0: "batch"}, "logits": {0: "batch"}})
    assert_close(got, want, tol=1e-4)
    # the ids reach the token embedding's Gather from the graph input (CharGPT copies them)
    gathers = [n for n in proto.graph.node if n.op_type == "Gather" and n.input[0] == "token.weight"]
    assert len(gathers) == 1
    with pytest.raises(nn.onnx.ExportError, match="NumPy array .* wrapper"):
        nn.onnx.export(CharGPT(11, block_size=8, d_model=16, n_layers=1, n_heads=2, d_ff=32),
                       ids, io.BytesIO())


def test_an_index_computed_from_the_input_values_is_refused():
    class Sorted(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 3)

        def forward(self, ids):
            return self.emb(autograd.Tensor(np.sort(ids.data, axis=1)))

    ids = np.array([[3, 1, 2], [0, 5, 4]])
    with pytest.raises(nn.onnx.ExportError, match="index array .* changes"):
        nn.onnx.export(Sorted(), ids, io.BytesIO(), dynamic_axes={"input": {0: "batch"}})


# ---- transposed convolutions, col2im, the hard activations --------------------------------

@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 5, 5)),
    (lambda: nn.ConvTranspose2d(3, 6, (3, 2), stride=(1, 3), padding=(2, 1), dilation=2,
                                groups=3, output_padding=(1, 0)), (2, 3, 5, 4)),
    (lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, padding=1, output_padding=2), (2, 3, 6)),
    (lambda: nn.Fold((6, 7), 2, stride=2, padding=1), (2, 12, 16)),
])
def test_transposed_convolution_and_fold_export_as_col2im(layer, shape):
    autograd.manual_seed(33)
    rng = np.random.default_rng(34)
    x = rng.standard_normal(shape).astype(np.float32)
    more = [rng.standard_normal((5,) + shape[1:]).astype(np.float32)]
    proto, got, want = export_and_run(layer(), x, more, dynamic_axes={"input": {0: "batch"}})
    assert_close(got, want)
    assert op_types(proto).count("Col2Im") == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_activations_and_celu(dtype):
    model = nn.Sequential(nn.Hardswish(), nn.Linear(6, 6), nn.Hardsigmoid(), nn.Linear(6, 6),
                          nn.ReLU6(), nn.Hardtanh(-0.5, 2.0), nn.CELU(0.7)).to(dtype)
    x = (np.random.default_rng(35).standard_normal((4, 6)) * 4).astype(dtype)
    proto, got, want = export_and_run(model, x)
    assert_close(got, want)
    types = op_types(proto)
    assert ("HardSwish" in types) == (dtype == np.float32)
    assert types.count("Clip") >= 2


def test_an_op_without_mapping_is_named():
    class Unpool(nn.Module):
        def forward(self, x):
            out, idx = F.max_pool2d(x, 2, return_indices=True)
            return out

    with pytest.raises(nn.onnx.ExportError, match="op 'window_gather'.*no ONNX mapping"):
        nn.onnx.export(Unpool(), np.ones((1, 1, 4, 4), np.float32), io.BytesIO())


def test_a_constant_computed_from_the_input_values_is_refused():
    class Masked(nn.Module):
        def forward(self, x):
            return autograd.where(x.data > 0, x, x * 3)   # the mask is frozen outside the graph

    with pytest.raises(nn.onnx.ExportError, match="op 'where'.*from the input's values"):
        nn.onnx.export(Masked(), np.array([[1.0, -2.0]], np.float32), io.BytesIO())


def test_an_output_computed_outside_the_graph_is_refused():
    class Predict(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)

        def forward(self, x):
            return self.fc(x).argmax(axis=1)

    x = np.random.default_rng(10).standard_normal((5, 3)).astype(np.float32)
    model = Predict()
    # weights that make the argmax follow the input (random ones, drawn from the global
    # generator that earlier tests move, may send every row to one class in both traces)
    model.fc.weight.data[...] = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]])
    model.fc.bias.data[...] = 0
    assert len(set(model(autograd.Tensor(x)).data.tolist())) > 1
    with pytest.raises(nn.onnx.ExportError, match="output 0 .* outside the engine's graph"):
        nn.onnx.export(model, x, io.BytesIO())


@pytest.mark.parametrize("cell", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_recurrent_cells_with_a_given_state(cell):
    autograd.manual_seed(2)
    layer = cell(3, 4)
    rng = np.random.default_rng(11)
    x, h = (rng.standard_normal((2, n)).astype(np.float32) for n in (3, 4))

    class Step(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = layer

        def forward(self, x, h):
            return self.cell(x, (h, h * 0.5) if cell is nn.LSTMCell else h)

    more = [tuple(rng.standard_normal((5, n)).astype(np.float32) for n in (3, 4))]
    proto, got, want = export_and_run(Step(), (x, h), more, input_names=["x", "h"],
                                      dynamic_axes={"x": {0: "batch"}, "h": {0: "batch"}})
    assert_close(got, want)
    with pytest.raises(nn.onnx.ExportError, match="need the same name in dynamic_axes"):
        nn.onnx.export(Step(), (x, h), io.BytesIO(), input_names=["x", "h"],
                       dynamic_axes={"x": [0], "h": [0]})   # two names: two sizes


def test_bad_arguments():
    model = MLP(2, (3,), 2)
    x = np.ones((1, 2), np.float32)
    with pytest.raises(ValueError, match="neither an input"):
        nn.onnx.export(model, x, io.BytesIO(), dynamic_axes={"nope": [0]})
    with pytest.raises(ValueError, match="opset_version"):
        nn.onnx.export(model, x, io.BytesIO(), opset_version=7)
    with pytest.raises(ValueError, match="2 input_names for 1 inputs"):
        nn.onnx.export(model, x, io.BytesIO(), input_names=["a", "b"])


def test_writes_a_file_by_path(tmp_path):
    model = MLP(2, (3,), 2)
    path = tmp_path / "m.onnx"
    nn.onnx.export(model, np.ones((1, 2), np.float32), path, opset_version=20)
    loaded = onnx.load(str(path))
    assert loaded.opset_import[0].version == 20
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.ones((1, 2), np.float32)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], model(x).data, rtol=1e-6)


def test_docstring_example_runs():
    import doctest

    assert doctest.testmod(nn.onnx).failed == 0
