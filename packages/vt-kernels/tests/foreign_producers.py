"""A foreign CUDA array for tests: torch memory behind an object that speaks only DLPack and
allocates through an array namespace, as a CuPy-like producer would."""

import torch


class DLPackOnly:
    def __init__(self, tensor):
        self.t = tensor

    def __dlpack__(self, *args, **kwargs):
        return self.t.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.t.__dlpack_device__()

    def __array_namespace__(self):
        return DLPackOnlyNamespace()


class DLPackOnlyNamespace:
    float32, float16, bfloat16 = torch.float32, torch.float16, torch.bfloat16
    int32, int64, uint16 = torch.int32, torch.int64, torch.uint16

    def empty(self, shape, dtype):
        return DLPackOnly(torch.empty(shape, dtype=dtype, device="cuda"))

    def reshape(self, x, shape):
        return DLPackOnly(x.t.reshape(shape))

    def from_dlpack(self, x):
        return DLPackOnly(torch.from_dlpack(x))
