"""Independent torch composites the rotary tests compare against (HF-style full-width tables)."""

import torch


def tables(max_seq, half, device, dtype=torch.float32):
    inv_freq = 1.0 / (10000 ** (torch.arange(half, dtype=torch.float64) / half))
    angles = torch.arange(max_seq, dtype=torch.float64)[:, None] * inv_freq
    return angles.cos().to(device, dtype), angles.sin().to(device, dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat((-x2, x1), -1)


def rotate_every_two(x):
    return torch.stack((-x[..., 1::2], x[..., 0::2]), -1).flatten(-2)


def composite(x, cos, sin, offset, interleaved, layout):
    """x * cos + rotate(x) * sin on full-width tables (HF style), in float32 (float64 for float64
    inputs, for gradcheck)."""
    seq = x.shape[2] if layout == "bhsd" else x.shape[1]
    rot = 2 * cos.shape[1]
    if isinstance(offset, int):
        idx = torch.arange(offset, offset + seq, device=x.device)[None]
    else:
        idx = offset.long()[:, None] + torch.arange(seq, device=x.device)
    work = torch.promote_types(x.dtype, torch.float32)
    c, s = cos.to(work)[idx], sin.to(work)[idx]
    if interleaved:
        c, s, rotate = c.repeat_interleave(2, -1), s.repeat_interleave(2, -1), rotate_every_two
    else:
        c, s, rotate = torch.cat((c, c), -1), torch.cat((s, s), -1), rotate_half
    c, s = (c[:, None], s[:, None]) if layout == "bhsd" else (c[:, :, None], s[:, :, None])
    xf = x.to(work)
    xr = xf[..., :rot]
    return torch.cat((xr * c + rotate(xr) * s, xf[..., rot:]), -1)
