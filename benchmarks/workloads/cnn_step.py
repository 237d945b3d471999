"""cnn_step: conv 1->8 3x3 pad 1, ReLU, maxpool 2, conv 8->16 3x3 pad 1, ReLU, maxpool 2,
linear 784->10; batch 64 of 28x28 Fashion-MNIST; forward, backward, SGD step."""
import torch

from autograd import Tensor
from harness import Bench

from .common import (Cycle, chainrule_nn, chainrule_sgd, cross_entropy, fashion_batches,
                     load_weights, sgd_step, state_arrays)

BATCH, LR = 64, 0.05


def _layers(lib):
    return [lib.Conv2d(1, 8, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
            lib.Conv2d(8, 16, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
            lib.Flatten(), lib.Linear(784, 10)]


def build(quick):
    nn = chainrule_nn("Conv2d", "MaxPool2d", "ReLU", "Flatten", "Linear", "Sequential")
    ce = cross_entropy()
    batches = fashion_batches(BATCH, 8)
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(*_layers(torch.nn))
    weights = state_arrays(tmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR)
    tnext = Cycle([(torch.from_numpy(x[:, None]), torch.from_numpy(y)) for x, y in batches])
    torch_step = sgd_step(tmodel, torch.nn.functional.cross_entropy, topt, tnext)
    model = load_weights(nn.Sequential(*_layers(nn)), weights)
    opt = chainrule_sgd(model.parameters(), LR)
    cnext = Cycle([(Tensor(x[:, None]), Tensor(y)) for x, y in batches])
    chainrule_step = sgd_step(model, ce, opt, cnext)
    contenders = {"chainrule": chainrule_step, "pytorch": torch_step}
    losses = {name: [fn(), fn()] for name, fn in contenders.items()}
    return Bench("cnn_step", contenders, losses, unit="ms/step", scale=1e3, rtol=1e-4)
