"""Per-dtype tolerances against a float32 torch reference computed from the same inputs."""

import torch

# Outputs are rounded once to the input dtype; float32 differs only by summation order.
TOLERANCES = {
    torch.float32: dict(atol=1e-5, rtol=1e-5),
    torch.float16: dict(atol=1e-3, rtol=1e-3),
    torch.bfloat16: dict(atol=1e-2, rtol=1e-2),
}
# Gradients that sum over rows (dweight, dbias) accumulate more rounding.
REDUCED_TOLERANCES = {
    torch.float32: dict(atol=1e-4, rtol=1e-4),
    torch.float16: dict(atol=1e-2, rtol=1e-2),
    torch.bfloat16: dict(atol=5e-2, rtol=5e-2),
}
DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def assert_close(actual, expected, dtype=None, reduced=False, **override):
    table = REDUCED_TOLERANCES if reduced else TOLERANCES
    tol = dict(table[dtype or expected.dtype])
    tol.update(override)
    torch.testing.assert_close(actual.float(), expected.float(), **tol)
