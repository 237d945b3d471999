"""Forward-mode AD: every primitive's jvp rule against finite differences and against its
vjp (<u, J v> = <J^T u, v>), over the gradcheck shape menu; the dual-level API; parity with
torch.autograd.forward_ad on composites, an MLP loss and a CNN loss."""
import numpy as np
import pytest

import autograd as ag
import nn
import nn.functional as F
from autograd import Function, Tensor, forward_ad as fwAD
from autograd.ops import PRIMITIVES

from test_gradcheck_primitives import CASES, _all_cases


def _prepare(inputs, seed):
    """float64 Tensors that require grad (float inputs), random tangents for them."""
    rng = np.random.default_rng(seed)
    tensors, tangents = [], []
    for x in inputs:
        data = np.asarray(x)
        if data.dtype.kind == "f":
            tensors.append(Tensor(np.array(data, dtype=np.float64), requires_grad=True))
            tangents.append(rng.standard_normal(data.shape))
        else:
            tensors.append(Tensor(data))
            tangents.append(None)
    return tensors, tangents


def _forward_jvp(fn, tensors, tangents):
    with fwAD.dual_level():
        duals = [t if v is None else fwAD.make_dual(t, Tensor(v)) for t, v in zip(tensors, tangents)]
        out = fn(*duals)
        primal, tangent = fwAD.unpack_dual(out)
    value = np.asarray(primal.data)
    return value, (np.zeros(value.shape) if tangent is None else np.asarray(tangent.data))


def _shifted(fn, tensors, tangents, eps):
    def at(sign):
        xs = [t if v is None else Tensor(t.data + sign * eps * v) for t, v in zip(tensors, tangents)]
        with ag.no_grad():
            return np.asarray(fn(*xs).data, dtype=np.float64)
    return (at(1) - at(-1)) / (2 * eps)


@pytest.mark.parametrize("fn, inputs, options", list(_all_cases()))
def test_primitive_jvp(fn, inputs, options):
    tensors, tangents = _prepare(inputs, seed=3)
    value, jv = _forward_jvp(fn, tensors, tangents)
    assert jv.shape == value.shape
    # against finite differences along the tangent
    eps = options.get("eps", 1e-6)
    numeric = _shifted(fn, tensors, tangents, eps)
    atol, rtol = options.get("atol", 1e-5), options.get("rtol", 1e-3)
    np.testing.assert_allclose(jv, numeric, atol=atol, rtol=rtol)
    # against the vjp: <u, J v> = <J^T u, v>
    u = np.random.default_rng(5).standard_normal(value.shape)
    out = fn(*tensors)
    wanted = [t for t, v in zip(tensors, tangents) if v is not None]
    grads = ag.grad([out], wanted, grad_outputs=[Tensor(u)], allow_unused=True)
    vs = [v for v in tangents if v is not None]
    reverse = sum(float((g.data * v).sum()) for g, v in zip(grads, vs) if g is not None)
    forward = float((u * jv).sum())
    loose = "atol" in options  # the cases that pass through float32
    assert forward == pytest.approx(reverse, rel=1e-6 if loose else 1e-9, abs=1e-9)


def _function_subclasses():
    seen, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen


def test_every_primitive_has_a_jvp_rule_and_cases():
    ops = [c for c in _function_subclasses() if c.__module__.startswith("autograd.ops")
           and not c.__name__.startswith("_")]
    unregistered = [c.__name__ for c in ops if c not in PRIMITIVES]
    assert not unregistered, f"Function subclasses in autograd.ops missing from PRIMITIVES: {unregistered}"
    ours = [c for c in _function_subclasses() if c.__module__.startswith("autograd")
            and not c.__name__.startswith("_")]  # PRIMITIVES and Checkpoint
    missing = [c.__name__ for c in ours if getattr(c, "jvp", None) is None]
    assert not missing, f"ops without a jvp rule: {missing}"
    uncovered = [c.__name__ for c in PRIMITIVES if c not in CASES]
    assert not uncovered, f"primitives without jvp test cases: {uncovered}"


def test_a_primitive_without_a_jvp_rule_names_itself():
    class Cube(Function):
        name = "cube"

        def forward(self, x):
            return x ** 3

    with fwAD.dual_level():
        x = fwAD.make_dual(Tensor([1.0, 2.0]), Tensor([1.0, 1.0]))
        with pytest.raises(NotImplementedError, match="'cube'.*no jvp rule"):
            Cube.apply(x)
        assert Cube.apply(Tensor([1.0])).shape == (1,)  # no tangent reaches it: no error


def test_dual_level_api():
    x = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="no dual level"):
        fwAD.make_dual(x, Tensor([1.0, 1.0, 1.0]))
    with fwAD.dual_level():
        with pytest.raises(ValueError, match="shape"):
            fwAD.make_dual(x, Tensor([1.0]))
        with pytest.raises(RuntimeError, match="nested"):
            with fwAD.dual_level():
                pass
        dual = fwAD.make_dual(x, Tensor([1.0, 0.0, 2.0]))
        y = dual.exp()
        primal, tangent = fwAD.unpack_dual(y)
        np.testing.assert_allclose(tangent.data, np.exp(x.data) * [1.0, 0.0, 2.0], rtol=1e-6)
        assert fwAD.unpack_dual(primal).tangent is None  # the primal comes without its tangent
        assert fwAD.unpack_dual(x).tangent is None  # the original is not a dual
        with ag.no_grad():  # forward mode does not depend on grad mode
            assert fwAD.unpack_dual(dual * 2).tangent is not None
    assert fwAD.unpack_dual(dual).tangent is None  # tangents die with the level
    assert fwAD.unpack_dual(y).tangent is None


def test_reverse_mode_still_flows_through_a_dual():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, Tensor([1.0, 1.0]))
        (dual * dual).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_forward_over_reverse_gives_a_hessian_vector_product():
    # a create_graph backward inside a dual level carries tangents: H v in one pass
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    v = np.array([1.0, 2.0])
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, Tensor(v))
        f = ((Tensor(a) @ dual) * dual).sum() + (dual ** 3).sum()
        (g,) = ag.grad([f], [dual], create_graph=True)
        hv = fwAD.unpack_dual(g).tangent.data
    np.testing.assert_allclose(hv, (a + a.T) @ v + 6 * x.data * v, rtol=1e-12)


def test_no_tangent_is_kept_outside_a_level():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    assert getattr(y, "_tangent", None) is None


# ---- parity with torch.autograd.forward_ad ---------------------------------------------

def _torch_jvp(torch_fn, primals, tangents):
    import torch
    import torch.autograd.forward_ad as tfw

    with tfw.dual_level():
        duals = [tfw.make_dual(torch.tensor(p), torch.tensor(t)) for p, t in zip(primals, tangents)]
        out = torch_fn(*duals)
        return tfw.unpack_dual(out).tangent.detach().numpy()


def _ours_jvp(fn, primals, tangents):
    tensors = [Tensor(p) for p in primals]
    return _forward_jvp(fn, tensors, tangents)[1]


COMPOSITES = [
    ("softmax", lambda x: ag.softmax(x, axis=-1), lambda x: x.softmax(-1)),
    ("log_softmax", lambda x: ag.log_softmax(x, axis=0), lambda x: x.log_softmax(0)),
    ("logsumexp", lambda x: ag.logsumexp(x, axis=1), lambda x: x.logsumexp(1)),
    ("gelu", lambda x: ag.gelu(x), lambda x: __import__("torch").nn.functional.gelu(x)),
    ("softplus", lambda x: ag.softplus(x), lambda x: __import__("torch").nn.functional.softplus(x)),
    ("mean_var", lambda x: x.var(axis=0) + x.mean(), lambda x: x.var(0, unbiased=False) + x.mean()),
    ("norm", lambda x: x.norm(), lambda x: x.norm()),
    ("layer_norm", lambda x: F.layer_norm(x, (4,)),
     lambda x: __import__("torch").nn.functional.layer_norm(x, (4,))),
]


@pytest.mark.parametrize("name, ours, theirs", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composite_jvp_matches_torch(name, ours, theirs):
    pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(_ours_jvp(ours, [x], [v]), _torch_jvp(theirs, [x], [v]),
                               rtol=1e-9, atol=1e-12)


def _mlp_params(rng):
    return [rng.standard_normal((8, 5)) * 0.5, rng.standard_normal(8) * 0.1,
            rng.standard_normal((3, 8)) * 0.5, rng.standard_normal(3) * 0.1]


def test_mlp_loss_jvp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    x, target = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    params = _mlp_params(rng)
    tangents = [rng.standard_normal(p.shape) for p in [x] + params]

    def ours(x, w1, b1, w2, b2):
        return F.cross_entropy(F.linear(F.gelu(F.linear(x, w1, b1)).tanh(), w2, b2), Tensor(target))

    def theirs(x, w1, b1, w2, b2):
        tf = torch.nn.functional
        return tf.cross_entropy(tf.linear(tf.gelu(tf.linear(x, w1, b1)).tanh(), w2, b2),
                                torch.tensor(target))

    np.testing.assert_allclose(_ours_jvp(ours, [x] + params, tangents),
                               _torch_jvp(theirs, [x] + params, tangents), rtol=1e-9)


def test_cnn_loss_jvp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    x, target = rng.standard_normal((2, 2, 6, 6)), np.array([1, 0])
    w, b = rng.standard_normal((3, 2, 3, 3)) * 0.3, rng.standard_normal(3) * 0.1
    wl = rng.standard_normal((2, 12)) * 0.3
    primals = [x, w, b, wl]
    tangents = [rng.standard_normal(p.shape) for p in primals]

    def ours(x, w, b, wl):
        h = F.relu(nn.functional_conv.conv2d(x, w, b, padding=1))
        h = nn.functional_conv.max_pool2d(h, 3)
        return F.mse_loss(F.linear(h.reshape(2, 12), wl), Tensor(np.eye(2)[target]))

    def theirs(x, w, b, wl):
        tf = torch.nn.functional
        h = tf.max_pool2d(tf.relu(tf.conv2d(x, w, b, padding=1)), 3)
        return tf.mse_loss(tf.linear(h.reshape(2, 12), wl), torch.tensor(np.eye(2)[target]))

    np.testing.assert_allclose(_ours_jvp(ours, primals, tangents),
                               _torch_jvp(theirs, primals, tangents), rtol=1e-9)


_TORCH_LAYERS = [
    ("TransformerEncoderLayer", lambda m: m.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True), True),
    ("TransformerDecoderLayer", lambda m: m.TransformerDecoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True), False),
    ("MultiheadAttention", lambda m: m.MultiheadAttention(8, 2, batch_first=True), False),
    ("ConvTranspose2d", lambda m: m.ConvTranspose2d(3, 2, 3, stride=2, padding=1), False),
    ("RMSNorm", lambda m: m.RMSNorm(8, eps=1e-6), False),
]


@pytest.mark.parametrize("name, make, causal", _TORCH_LAYERS, ids=[c[0] for c in _TORCH_LAYERS])
def test_layer_jvp_matches_torch(name, make, causal):
    # the same weights in both libraries, one forward-mode pass each
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(32)
    x = rng.standard_normal((2, 3, 6, 6) if name == "ConvTranspose2d" else (2, 4, 8))
    v = rng.standard_normal(x.shape)
    mask = np.triu(np.ones((4, 4), dtype=bool), 1)

    def run(layer, x, mask_of):
        if name == "TransformerEncoderLayer":
            return layer(x, src_mask=mask_of(mask))
        if name == "TransformerDecoderLayer":
            return layer(x, x[:, :3] * 2 + 1)
        if name == "MultiheadAttention":
            return layer(x, x * 0.5, x, need_weights=False)[0]
        return layer(x)

    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(SDPBackend.MATH):  # the fused CPU kernels have no forward-mode rule
        expected = _torch_jvp(lambda t: run(theirs, t, torch.from_numpy), [x], [v])
    np.testing.assert_allclose(_ours_jvp(lambda t: run(ours, t, Tensor), [x], [v]), expected,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_jvp_matches_reverse_mode(kind):
    # tangents through the fused recurrences of nn's layers: <u, J v> = <J^T u, v>
    ag.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, batch_first=True)
    rng = np.random.default_rng(14)
    x = Tensor(rng.standard_normal((2, 5, 3)).astype(np.float32), requires_grad=True)
    v = rng.standard_normal(x.shape).astype(np.float32)
    with fwAD.dual_level():
        out = layer(fwAD.make_dual(x, Tensor(v)))[0]
        jv = fwAD.unpack_dual(out).tangent.data
    u = rng.standard_normal(jv.shape).astype(np.float32)
    (g,) = ag.grad([layer(x)[0]], [x], grad_outputs=[Tensor(u)])
    assert float((u * jv).sum()) == pytest.approx(float((g.data * v).sum()), rel=1e-4)


# ---- every nn layer and loss: one forward pass carries J v ------------------------------

def _layer_cases():
    rng = np.random.default_rng(30)
    img = rng.standard_normal((2, 3, 6, 6))
    seq = rng.standard_normal((2, 3, 8))
    flat = rng.standard_normal((4, 5))
    probs = 1 / (1 + np.exp(-rng.standard_normal((4, 5))))
    labels = np.array([0, 3, 1, 4])
    signs = np.where(rng.standard_normal((4, 5)) > 0, 1.0, -1.0)
    bilinear = nn.Bilinear(5, 5, 2).double()
    tokens = rng.standard_normal((2, 4, 8))  # (batch, sequence, features)
    causal = Tensor(np.triu(np.ones((4, 4), dtype=bool), 1))  # True = masked out
    ag.manual_seed(30)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).double()
    encoder = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    encoder_gelu = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                              batch_first=True, norm_first=True).double()
    decoder = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True).double()
    return [
        ("Linear", nn.Linear(5, 3), flat, None),
        ("Bilinear", lambda x: bilinear(x, x * 2), flat, None),
        ("Conv1d", nn.Conv1d(3, 4, 3, padding=1, stride=2), seq, None),
        ("Conv2d", nn.Conv2d(3, 2, 3, padding=1, dilation=2), img, None),
        ("Conv2d groups", nn.Conv2d(3, 3, 2, groups=3), img, None),
        ("MaxPool1d", nn.MaxPool1d(3, stride=2, padding=1), seq, None),
        ("MaxPool2d", nn.MaxPool2d(2), img, None),
        ("AvgPool2d", nn.AvgPool2d(3, stride=2, padding=1), img, None),
        ("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d((2, 3)), img, None),
        ("BatchNorm2d", nn.BatchNorm2d(3), img, None),
        ("BatchNorm1d eval", nn.BatchNorm1d(5).eval(), flat, None),
        ("LayerNorm", nn.LayerNorm(8), seq, None),
        ("Dropout", lambda x: (ag.manual_seed(1), nn.Dropout(0.3)(x))[1], flat, None),
        ("Embedding weight", lambda w: F.embedding(Tensor(np.array([0, 3, 1, 1])), w), flat, None),
        ("activations", lambda x: nn.ELU()(x) + nn.GELU()(x) + nn.LeakyReLU()(x) + nn.SiLU()(x)
         + nn.Softplus()(x) + nn.Sigmoid()(x) + nn.Tanh()(x), flat, None),
        ("Softmax/LogSoftmax", lambda x: nn.Softmax(axis=1)(x) + nn.LogSoftmax(axis=0)(x), flat, None),
        ("MSELoss", lambda x: nn.MSELoss()(x, Tensor(probs)), flat, None),
        ("L1Loss", lambda x: nn.L1Loss()(x, Tensor(probs)), flat, None),
        ("HuberLoss", lambda x: nn.HuberLoss(delta=0.5)(x, Tensor(probs)), flat, None),
        ("SmoothL1Loss", lambda x: nn.SmoothL1Loss()(x, Tensor(probs)), flat, None),
        ("CrossEntropyLoss", lambda x: nn.CrossEntropyLoss(label_smoothing=0.1)(x, Tensor(labels)), flat, None),
        ("NLLLoss", lambda x: nn.NLLLoss()(F.log_softmax(x, axis=1), Tensor(labels)), flat, None),
        ("BCELoss", lambda x: nn.BCELoss()(F.sigmoid(x), Tensor(probs)), flat, None),
        ("BCEWithLogitsLoss", lambda x: nn.BCEWithLogitsLoss()(x, Tensor(probs)), flat, None),
        ("HingeEmbeddingLoss", lambda x: nn.HingeEmbeddingLoss()(x, Tensor(signs)), flat, None),
        ("MultiMarginLoss", lambda x: nn.MultiMarginLoss()(x, Tensor(labels)), flat, None),
        # attention and Transformer layers (dropout 0: a fixed function of x)
        ("MultiheadAttention", lambda x: mha(x, x * 0.5, x)[0], tokens, None),
        ("MultiheadAttention causal", lambda x: mha(x, x, x, attn_mask=causal,
                                                    need_weights=False)[0], tokens, None),
        ("TransformerEncoderLayer", encoder, tokens, None),
        ("TransformerEncoderLayer gelu norm_first",
         lambda x: encoder_gelu(x, src_mask=causal), tokens, None),
        ("TransformerDecoderLayer", lambda x: decoder(x, x[:, :3] * 2 + 1), tokens, None),
        # transposed convolutions, resampling, RMSNorm
        ("ConvTranspose1d", nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, output_padding=1),
         seq, None),
        ("ConvTranspose2d", nn.ConvTranspose2d(3, 2, 3, stride=2, dilation=2), img, None),
        ("ConvTranspose2d groups", nn.ConvTranspose2d(3, 6, 2, groups=3, padding=1), img, None),
        ("Upsample nearest", nn.Upsample(scale_factor=2), img, None),
        ("Upsample bilinear", nn.Upsample(size=(5, 7), mode="bilinear", align_corners=True),
         img, None),
        ("Upsample linear", nn.Upsample(scale_factor=1.5, mode="linear"), seq, None),
        ("PixelShuffle", nn.PixelShuffle(2), rng.standard_normal((2, 8, 3, 3)), None),
        ("PixelUnshuffle", nn.PixelUnshuffle(2), img, None),
        ("RMSNorm", nn.RMSNorm(8), seq, None),
        ("RMSNorm two axes", nn.RMSNorm((3, 8), eps=1e-6), seq, None),
        # the activations not in "activations" above, one case each so a failure names it
        ("SiLU", nn.SiLU(), flat, None),
        ("Mish", nn.Mish(), flat, None),
        ("Hardswish", nn.Hardswish(), flat, None),
        ("Hardsigmoid", nn.Hardsigmoid(), flat, None),
        ("Hardtanh", nn.Hardtanh(-0.5, 0.5), flat, None),
        ("ReLU6", lambda x: nn.ReLU6()(x * 4), flat, None),
        ("GELU tanh", nn.GELU(approximate="tanh"), flat, None),
        ("CELU", nn.CELU(alpha=0.7), flat, None),
        ("SELU", nn.SELU(), flat, None),
        ("Softsign", nn.Softsign(), flat, None),
        ("LogSigmoid", nn.LogSigmoid(), flat, None),
        ("ReLU", nn.ReLU(), flat, None),
    ]


@pytest.mark.parametrize("name, layer, x, _", _layer_cases(), ids=[c[0] for c in _layer_cases()])
def test_every_layer_and_loss_carries_tangents(name, layer, x, _):
    # <u, J v> from one forward-mode pass equals <J^T u, v> from backward
    if hasattr(layer, "double"):
        layer.double()
    rng = np.random.default_rng(31)
    v = rng.standard_normal(x.shape)
    with fwAD.dual_level():
        out = layer(fwAD.make_dual(Tensor(x), Tensor(v)))
        jv = fwAD.unpack_dual(out).tangent
    assert jv is not None, f"{name}: no tangent came out"
    u = rng.standard_normal(jv.shape)
    xt = Tensor(x, requires_grad=True)
    (g,) = ag.grad([layer(xt)], [xt], grad_outputs=[Tensor(u)])
    assert float((u * jv.data).sum()) == pytest.approx(float((g.data * v).sum()), rel=1e-8, abs=1e-10)
    # and J v itself against a central difference along v (float64)
    eps = 1e-6
    with ag.no_grad():
        plus, minus = layer(Tensor(x + eps * v)).data, layer(Tensor(x - eps * v)).data
    np.testing.assert_allclose(jv.data, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-7)
