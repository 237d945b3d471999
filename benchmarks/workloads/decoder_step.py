"""decoder_step: the layers of tensor-API breadth in one image decoder: ConvTranspose2d
16->8 4x4 stride 2 pad 1 (7x7 -> 14x14), ReLU, Upsample x2 bilinear (-> 28x28), Conv2d 8->4
3x3 pad 1, PixelShuffle 2 (-> 1x56x56); an einsum Gram-matrix loss of the features plus the
MSE to a target; batch 32; forward, backward, SGD step."""
import numpy as np
import torch

from autograd import Tensor
from harness import Bench

from .common import Cycle, chainrule_nn, chainrule_sgd, load_weights, sgd_step, state_arrays

BATCH, LR = 32, 0.01


def _layers(lib):
    return [lib.ConvTranspose2d(16, 8, 4, stride=2, padding=1), lib.ReLU(),
            lib.Upsample(scale_factor=2, mode="bilinear"), lib.Conv2d(8, 4, 3, padding=1),
            lib.PixelShuffle(2)]


def build(quick):
    nn = chainrule_nn("ConvTranspose2d", "Upsample", "PixelShuffle", "Conv2d", "ReLU", "Sequential")
    import autograd as ag

    rng = np.random.default_rng(0)
    batches = [(rng.standard_normal((BATCH, 16, 7, 7)).astype(np.float32),
                rng.standard_normal((BATCH, 1, 56, 56)).astype(np.float32)) for _ in range(4)]
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(*_layers(torch.nn))
    weights = state_arrays(tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
    tnext = Cycle([(torch.from_numpy(z), torch.from_numpy(y)) for z, y in batches])

    def torch_loss(out, y):
        f = out.reshape(BATCH, 56, 56)
        gram = torch.einsum("bij,bkj->bik", f, f)
        return torch.nn.functional.mse_loss(out, y) + gram.mean() * 1e-3

    torch_step = sgd_step(tmodel, torch_loss, topt, tnext)

    model = load_weights(nn.Sequential(*_layers(nn)), weights)
    opt = chainrule_sgd(model.parameters(), LR)
    cnext = Cycle([(Tensor(z), Tensor(y)) for z, y in batches])

    def chainrule_loss(out, y):
        f = out.reshape(BATCH, 56, 56)
        gram = ag.einsum("bij,bkj->bik", f, f)
        return ((out - y) ** 2).mean() + gram.mean() * 1e-3

    chainrule_step = sgd_step(model, chainrule_loss, opt, cnext)

    contenders = {"chainrule": chainrule_step, "pytorch": torch_step}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}
    return Bench("decoder_step", contenders, losses, unit="ms/step", scale=1e3, rtol=1e-4)
