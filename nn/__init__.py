"""chainrule's neural-network library, built on the `autograd` engine."""
from .containers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter
