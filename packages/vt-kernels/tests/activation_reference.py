"""Independent torch composites the activation tests compare against."""

import torch


def silu_composite(g):
    return g * torch.sigmoid(g)


def gelu_composite(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))
