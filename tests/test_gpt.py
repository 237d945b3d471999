"""The CLI's character GPT (chainrule.models.CharGPT): causal, incremental decoding equals the
full pass, its window is bounded, and a few steps of training lower the loss."""
import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor
from chainrule.models import CharGPT


def _model(seed=0, block_size=8):
    autograd.manual_seed(seed)
    return CharGPT(11, block_size=block_size, d_model=16, n_layers=2, n_heads=2, d_ff=32).eval()


def test_a_later_character_never_changes_an_earlier_prediction():
    model = _model()
    ids = np.random.default_rng(0).integers(0, 11, (2, 8))
    changed = ids.copy()
    changed[:, 5:] = (changed[:, 5:] + 3) % 11
    a, _ = model(Tensor(ids))
    b, _ = model(Tensor(changed))
    np.testing.assert_allclose(a.data[:, :5], b.data[:, :5], rtol=1e-6, atol=1e-6)
    assert not np.allclose(a.data[:, 5:], b.data[:, 5:])


def test_feeding_one_character_at_a_time_gives_the_full_pass():
    model = _model(1)
    ids = np.random.default_rng(1).integers(0, 11, (1, 8))
    full, _ = model(Tensor(ids))
    state, steps = None, []
    for t in range(8):
        logits, state = model(Tensor(ids[:, t:t + 1]), state)
        steps.append(logits.data[:, -1])
    np.testing.assert_allclose(np.stack(steps, 1), full.data, rtol=1e-5, atol=1e-5)
    assert state.shape == (1, 8)
    _, state = model(Tensor(ids[:, :1]), state)  # the window slides: at most block_size kept
    assert state.shape == (1, 8) and state[0, -1] == ids[0, 0]


def test_more_characters_than_the_window_is_a_clear_error():
    with pytest.raises(ValueError, match="CharGPT: 9 characters at once, more than its "
                                         "block_size 8"):
        _model()(Tensor(np.zeros((1, 9), np.int64)))


def test_a_few_adam_steps_lower_the_loss():
    model = _model(2).train()
    opt = nn.optim.Adam(model.parameters(), lr=3e-3)
    ids = np.tile(np.arange(9) % 11, (4, 1))  # a repeating sequence: easy to learn
    x, y = Tensor(ids[:, :-1]), Tensor(ids[:, 1:].reshape(-1))
    losses = []
    for _ in range(30):
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 11), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
