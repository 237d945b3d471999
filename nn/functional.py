"""nn.functional: functional forms of the layers and activations, and the losses."""
from .functional_conv import *  # noqa: F401,F403  convolution and pooling
