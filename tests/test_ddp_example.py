"""examples/ddp.py: the CLI's CNN trains under DistributedDataParallel (2 CPU processes, gloo)
after to_torch, its averaged gradients equal one process's on the whole batch, and the
weights come back with from_torch into the explorer."""
import importlib.util
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ddp.py"

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _load_example():
    spec = importlib.util.spec_from_file_location("ddp_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not torch.distributed.is_available() or
                    "fork" not in multiprocessing.get_all_start_methods(),
                    reason="needs torch.distributed and fork-started processes")
def test_ddp_gradients_equal_one_process_on_the_whole_batch(tmp_path):
    ddp = _load_example()
    html = tmp_path / "ddp.html"
    ddp_grads, one, back = ddp.run(steps=2, world_size=2, html=str(html))
    assert set(ddp_grads) == set(one)
    for k in one:
        np.testing.assert_allclose(ddp_grads[k], one[k], rtol=1e-5, atol=1e-7, err_msg=k)
    # averaging happened: one rank's half batch alone gives other gradients
    x, y = ddp.make_data(2)
    half = ddp.single_process_grads(
        {k: np.asarray(v.data) for k, v in ddp.make_model().state_dict().items()},
        x[:, :ddp.BATCH // 2], y[:, :ddp.BATCH // 2])
    assert max(np.abs(half[k] - one[k]).max() for k in one) > 1e-4
    # the weights came back trained (not the starting ones) and were drawn
    start = ddp.make_model().state_dict()
    assert any(not np.array_equal(back.state_dict()[k].data, start[k].data)
               for k in start)
    assert type(back).__name__ == "CNN" and back.features[0].weight.grad is not None
    page = html.read_text()
    assert "CNN after DDP training" in page and "features.0.weight" in page
