"""Op table rows: indexing by content (masks, gather/scatter, index_*, advanced indexing,
nonzero, sort, topk, unique, one_hot). Scatters that assign use distinct indices along each
line, since torch leaves the winner of repeated indices unspecified."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import vt.core as vt
from op_table import ALL_DTYPES, NUMERIC_DTYPES, OpInfo, Sample, make
from reference import from_torch

SORTABLE = ALL_DTYPES
TOPK_DTYPES = NUMERIC_DTYPES


def fn(module, name, which=None, **fixed):
    """module.name looked up at call time; `which` picks one output of a multi-output op."""
    def call(*args, **kwargs):
        out = getattr(module, name)(*args, **fixed, **kwargs)
        return out if which is None else out[which]
    return call


def method(name, which=None, **fixed):
    def call(x, *args, **kwargs):
        out = getattr(x, name)(*args, **fixed, **kwargs)
        return out if which is None else out[which]
    return call


def _number(dtype: str):
    if dtype == "bool":
        return True
    return 2.5 if getattr(torch, dtype).is_floating_point else 3


def _mask(shape, seed):
    return make(shape, "bool", seed=seed)


def _perm_index(n_out: int, n_in: int, lines: int, seed: int) -> torch.Tensor:
    """[n_out, lines] int64: column j holds distinct indices into [0, n_in)."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(n_in, generator=g)[:n_out] for _ in range(lines)], 1)


def _index(shape, high, seed, dtype=torch.int64):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, shape, generator=g).to(dtype)


def masked_fill_samples(dtype: str):
    v = _number(dtype)
    yield Sample((make((4, 5), dtype, seed=1), _mask((4, 5), 2), v), desc="same shape")
    yield Sample((make((5, 4), dtype, seed=1, transpose=True), _mask((5,), 3), v), desc="transposed, row mask")
    yield Sample((make((5,), dtype, seed=1), _mask((3, 5), 4), v), desc="mask broadcasts self")
    yield Sample((make((4, 10), dtype, seed=1)[:, ::2], _mask((4, 1), 5), v), desc="strided")
    yield Sample((make((0, 3), dtype), _mask((3,), 6), v), desc="empty")
    yield Sample((make((), dtype, seed=2), _mask((), 7), v), desc="0-dim")
    yield Sample((make((3, 4), dtype, seed=2), _mask((3, 4), 8), torch.tensor(v)), desc="0-dim tensor value")
    yield Sample((make((300, 400), dtype, seed=3), _mask((300, 400), 9), v), desc="parallel")


def masked_select_samples(dtype: str):
    yield Sample((make((4, 5), dtype, seed=1), _mask((4, 5), 2)), desc="same shape")
    yield Sample((make((5, 4), dtype, seed=1, transpose=True), _mask((5,), 3)), desc="transposed")
    yield Sample((make((5,), dtype, seed=1), _mask((3, 5), 4)), desc="mask broadcasts self")
    yield Sample((make((0, 3), dtype), _mask((3,), 6)), desc="empty")
    yield Sample((make((), dtype, seed=2), _mask((), 7)), desc="0-dim")
    yield Sample((make((500, 400), dtype, seed=3), _mask((500, 400), 9)), desc="parallel")


def nonzero_samples(dtype: str):
    yield Sample((make((4, 5), dtype, seed=1, low=-1, high=1),), desc="2-D")
    yield Sample((make((6, 5), dtype, seed=2, transpose=True, low=-1, high=1),), desc="transposed")
    yield Sample((make((2, 3, 4), dtype, seed=3, low=-1, high=1)[:, ::2],), desc="strided 3-D")
    yield Sample((make((0, 3), dtype),), desc="empty")
    yield Sample((torch.ones((), dtype=getattr(torch, dtype)),), desc="0-dim true")
    yield Sample((torch.zeros((), dtype=getattr(torch, dtype)),), desc="0-dim false")
    yield Sample((make((400, 500), dtype, seed=4, low=-1, high=1),), desc="parallel")


def index_select_samples(dtype: str):
    x = make((5, 6, 7), dtype, seed=1)
    for dim in (0, 1, -1):
        n = x.shape[dim]
        yield Sample((x, dim, _index((9,), n, seed=2)), desc=f"dim={dim}")
    yield Sample((x, 1, _index((4,), 6, seed=3, dtype=torch.int32)), desc="int32 index")
    yield Sample((x, 2, _index((8,), 7, seed=4)[::2]), desc="strided index")
    yield Sample((x, 0, torch.tensor(3)), desc="0-dim index")
    yield Sample((x, 0, torch.zeros(0, dtype=torch.long)), desc="empty index")
    yield Sample((make((7, 5), dtype, seed=5, transpose=True), 1, _index((3,), 7, seed=6)), desc="transposed self")
    yield Sample((make((), dtype, seed=7), 0, torch.tensor([0])), desc="0-dim self")
    yield Sample((make((1000, 64), dtype, seed=8), 0, _index((2000,), 1000, seed=9)), desc="parallel rows")


def gather_samples(dtype: str):
    x = make((5, 6, 7), dtype, seed=1)
    for dim in (0, 1, -1):
        shape = [4, 5, 6]
        shape[dim] = 8
        yield Sample((x, dim, _index(tuple(shape), x.shape[dim], seed=2)), desc=f"dim={dim}")
    yield Sample((x, 1, _index((6, 3, 5), 6, seed=3).transpose(0, 2)), desc="transposed index")
    yield Sample((make((7, 5), dtype, seed=4, transpose=True), 0, _index((3, 7), 5, seed=5)), desc="transposed self")
    yield Sample((x, 0, torch.zeros((0, 6, 7), dtype=torch.long)), desc="empty index")
    yield Sample((make((), dtype, seed=6), 0, torch.tensor(0)), desc="0-dim")
    yield Sample((make((), dtype, seed=6), 0, torch.tensor([0, 0])), desc="0-dim self, 1-D index")
    yield Sample((make((400, 300), dtype, seed=7), 1, _index((400, 200), 300, seed=8)), desc="parallel")


def scatter_samples(dtype: str, value: bool = False):
    def src(shape, seed):
        return _number(dtype) if value else make(shape, dtype, seed=seed)
    x = make((6, 5), dtype, seed=1)
    yield Sample((x, 0, _perm_index(3, 6, 5, seed=2), src((4, 5), 3)), desc="dim=0, larger src")
    yield Sample((x, 1, _perm_index(4, 5, 6, seed=4).t().contiguous()[:, :3], src((6, 3), 5)), desc="dim=1")
    yield Sample((make((5, 6), dtype, seed=6, transpose=True), 0, _perm_index(2, 6, 3, seed=7), src((2, 3), 8)),
                 desc="transposed self")
    yield Sample((x, 0, torch.zeros((0, 5), dtype=torch.long), src((0, 5), 9)), desc="empty index")
    yield Sample((make((), dtype, seed=10), 0, torch.tensor(0), src((), 11)), desc="0-dim")
    yield Sample((make((300, 400), dtype, seed=12), 0, _perm_index(200, 300, 400, seed=13),
                  src((200, 400), 14)), desc="parallel")


def scatter_reduce_samples(dtype: str):
    low, high = (0.5, 1.5) if dtype not in ("bool", "uint8") else (0, 2)
    x = make((6, 5), dtype, seed=1, low=low, high=high)
    yield Sample((x, 0, _index((9, 5), 6, seed=2), make((9, 5), dtype, seed=3, low=low, high=high)),
                 desc="dim=0, repeated")
    yield Sample((x, 1, _index((6, 8), 5, seed=4), make((6, 8), dtype, seed=5, low=low, high=high)),
                 desc="dim=1, repeated")
    yield Sample((make((5, 6), dtype, seed=6, transpose=True, low=low, high=high), 1, _index((6, 3), 5, seed=7).t(),
                  make((4, 6), dtype, seed=8, low=low, high=high)), desc="transposed")
    yield Sample((make((), dtype, seed=10, low=low, high=high), 0, torch.tensor(0),
                  make((), dtype, seed=11, low=low, high=high)), desc="0-dim")
    yield Sample((make((300, 64), dtype, seed=12, low=low, high=high), 0, _index((3000, 64), 300, seed=13),
                  make((3000, 64), dtype, seed=14, low=low, high=high)), desc="parallel")


def index_add_samples(dtype: str, unique: bool = False):
    low, high = (0.5, 1.5) if dtype != "bool" else (0, 1)

    def idx(n, high_, seed):
        return torch.randperm(high_, generator=torch.Generator().manual_seed(seed))[:n] if unique else _index((n,), high_, seed)
    x = make((6, 5, 4), dtype, seed=1, low=low, high=high)
    yield Sample((x, 0, idx(4, 6, 2), make((4, 5, 4), dtype, seed=3, low=low, high=high)), desc="dim=0")
    yield Sample((x, 1, idx(3, 5, 4), make((6, 3, 4), dtype, seed=5, low=low, high=high)), desc="dim=1")
    yield Sample((x, -1, idx(4, 4, 6).to(torch.int32) if not unique else idx(4, 4, 6),
                  make((6, 5, 4), dtype, seed=7, low=low, high=high)), desc="dim=-1")
    yield Sample((make((5, 6), dtype, seed=8, transpose=True, low=low, high=high), 0, idx(2, 6, 9),
                  make((2, 5), dtype, seed=10, low=low, high=high).t().contiguous().t()), desc="transposed")
    yield Sample((make((), dtype, seed=11, low=low, high=high), 0, torch.tensor(0),
                  make((), dtype, seed=12, low=low, high=high)), desc="0-dim")
    yield Sample((make((1000, 64), dtype, seed=13, low=low, high=high), 0, idx(500, 1000, 14),
                  make((500, 64), dtype, seed=15, low=low, high=high)), desc="parallel")


def _unique_positions(shape, seed):
    """Index tuples with distinct positions, for index_put without accumulate."""
    g = torch.Generator().manual_seed(seed)
    n = shape[0] * shape[1]
    flat = torch.randperm(n, generator=g)[: n // 2]
    return flat // shape[1], flat % shape[1]


def index_put_samples(dtype: str, accumulate: bool):
    x = make((6, 5), dtype, seed=1)
    if accumulate:
        rows, cols = _index((12,), 6, seed=2), _index((12,), 5, seed=3)
    else:
        rows, cols = _unique_positions((6, 5), seed=2)
    yield Sample((x, (rows, cols), make((len(rows),), dtype, seed=4)), desc="two indices")
    some_rows = rows if accumulate else rows[:3].unique()
    yield Sample((x, (some_rows,), make((len(some_rows), 5), dtype, seed=5)), desc="rows")
    yield Sample((make((5, 6), dtype, seed=6, transpose=True), (rows, cols), make((), dtype, seed=7)),
                 desc="transposed self, 0-dim value")
    yield Sample((x, (_mask((6, 5), 8),), make((), dtype, seed=9)), desc="mask")
    yield Sample((x, (torch.zeros(0, dtype=torch.long),), make((0, 5), dtype, seed=10)), desc="empty")


def index_samples(dtype: str):
    x = make((5, 6, 7), dtype, seed=1)
    yield Sample((x, (_index((4,), 5, seed=2),)), desc="first dim")
    yield Sample((x, (slice(None), _index((2, 3), 6, seed=3))), desc="second dim, 2-D index")
    yield Sample((x, (_index((4,), 5, seed=4), slice(None), _index((4,), 7, seed=5))), desc="separated")
    yield Sample((x, (Ellipsis, _index((3,), 7, seed=6), )), desc="last dim")
    yield Sample((x, (_mask((5, 6), 7),)), desc="2-D mask")
    yield Sample((x, (slice(None), _mask((6, 7), 8))), desc="trailing mask")
    yield Sample((make((7, 5), dtype, seed=9, transpose=True), (_index((3,), 5, seed=10), _index((3,), 7, seed=11))),
                 desc="transposed")
    yield Sample((make((400, 300), dtype, seed=12), (_index((300,), 400, seed=13),)), desc="parallel")


def _vt_index(item):
    if isinstance(item, torch.Tensor):
        return from_torch(item)
    if isinstance(item, tuple):
        return tuple(_vt_index(i) for i in item)
    return item


def sort_samples(dtype: str):
    for x, desc in ((make((5, 40), dtype, seed=1), "rows"), (make((40, 5), dtype, seed=2, transpose=True), "transposed"),
                    (make((6, 8, 10), dtype, seed=3).permute(2, 0, 1), "permuted")):
        for dim in (-1, 0):
            for descending in (False, True):
                yield Sample((x,), {"dim": dim, "descending": descending}, desc=f"{desc} dim={dim} desc={descending}")
    yield Sample((make((3,), dtype, seed=4),), {"dim": 0, "expand_to": (4, 3)}, desc="expanded")
    yield Sample((make((0, 4), dtype),), desc="empty")
    yield Sample((make((), dtype, seed=5),), desc="0-dim")
    yield Sample((make((200, 500), dtype, seed=6, low=-100, high=100),), desc="parallel rows")
    yield Sample((make((200000,), dtype, seed=7, low=-100, high=100),), desc="one long row")


def sort_special_samples(dtype: str):
    nan, inf = float("nan"), float("inf")
    x = torch.tensor([3.0, nan, -inf, 1.0, nan, inf, -0.0, 0.0, 1.0], dtype=getattr(torch, dtype))
    for descending in (False, True):
        yield Sample((x,), {"descending": descending}, desc=f"nan and inf desc={descending}")


def _distinct(shape, dtype, seed, transpose=False):
    """Values without ties along the last dim (so topk's order is unique)."""
    g = torch.Generator().manual_seed(seed)
    n = shape[-1]
    t = torch.stack([torch.randperm(n, generator=g) for _ in range(int(torch.tensor(shape[:-1]).prod()))])
    t = (t.reshape(shape) - n // 2).to(getattr(torch, dtype))
    return t.transpose(-1, -2).contiguous().transpose(-1, -2) if transpose else t


def topk_samples(dtype: str):
    n = 100 if dtype in ("int8", "uint8") else 300
    if dtype == "uint8":
        n = 120
    x = _distinct((6, n), dtype, seed=1)
    if dtype == "uint8":
        x = x - x.min()
    for k in (1, 5, n):
        for largest in (True, False):
            yield Sample((x, k), {"largest": largest}, desc=f"k={k} largest={largest}")
    yield Sample((_distinct((6, 40), dtype, seed=2).t(), 3), {"dim": 0}, desc="dim=0 transposed")
    yield Sample((_distinct((5, 40), dtype, seed=3, transpose=True), 4), desc="strided rows")
    yield Sample((x, 0), desc="k=0")
    yield Sample((make((), dtype, seed=4), 1), desc="0-dim")
    yield Sample((_distinct((500, n), dtype, seed=5), 7), desc="parallel")


def unique_samples(dtype: str):
    yield Sample((make((5, 8), dtype, seed=1),), desc="2-D")
    yield Sample((make((8, 5), dtype, seed=2, transpose=True),), desc="transposed")
    yield Sample((make((0, 3), dtype),), desc="empty")
    yield Sample((make((), dtype, seed=3),), desc="0-dim")
    yield Sample((make((300000,), dtype, seed=4, low=-50, high=50),), desc="parallel")


def unique_dim_samples(dtype: str):
    base = make((3, 4), dtype, seed=1, low=-1, high=1)
    rows = torch.cat([base, base[:2], base[1:]], 0)
    yield Sample((rows,), {"dim": 0}, desc="dim=0")
    yield Sample((rows.t(),), {"dim": 1}, desc="dim=1")
    yield Sample((torch.stack([rows, rows.flip(0)], 2)[:, ::2],), {"dim": 0}, desc="3-D strided")
    yield Sample((make((0, 3), dtype),), {"dim": 0}, desc="empty")


def one_hot_samples(_: str):
    yield Sample((_index((4, 5), 7, seed=1),), desc="inferred classes")
    yield Sample((_index((6,), 3, seed=2), 5), desc="given classes")
    yield Sample((_index((5, 4), 3, seed=3).t(),), desc="transposed")
    yield Sample((torch.tensor(2), 4), desc="0-dim")
    yield Sample((torch.zeros(0, dtype=torch.long), 3), desc="empty")
    yield Sample((_index((200000,), 10, seed=4),), desc="parallel")


def expanding(f):
    """f applied to x.expand(*expand_to): from_torch copies expanded inputs, so expand after."""
    def call(x, *args, expand_to=None, **kwargs):
        return f(x.expand(*expand_to) if expand_to else x, *args, **kwargs)
    return call


def _index_put(module):
    def run(x, indices, values, accumulate=False):
        if module is vt:
            indices = tuple(from_torch(i) for i in indices)
        return x.index_put(indices, values, accumulate)
    return run


ROWS: list[OpInfo] = [
    OpInfo("masked_fill", method("masked_fill"), method("masked_fill"), ALL_DTYPES, masked_fill_samples),
    OpInfo("masked_fill_", lambda x, m, v: x.clone().masked_fill_(m, v), lambda x, m, v: x.clone().masked_fill_(m, v),
           ALL_DTYPES, lambda dt: (s for s in masked_fill_samples(dt) if s.desc != "mask broadcasts self")),
    OpInfo("masked_select", fn(vt, "masked_select"), fn(torch, "masked_select"), ALL_DTYPES, masked_select_samples),
    OpInfo("nonzero", fn(vt, "nonzero"), fn(torch, "nonzero"), ALL_DTYPES, nonzero_samples),
    OpInfo("nonzero_tuple_last", fn(vt, "nonzero", -1, as_tuple=True), fn(torch, "nonzero", -1, as_tuple=True),
           ALL_DTYPES, nonzero_samples),
    OpInfo("index_select", fn(vt, "index_select"), fn(torch, "index_select"), ALL_DTYPES, index_select_samples),
    OpInfo("gather", fn(vt, "gather"), fn(torch, "gather"), ALL_DTYPES, gather_samples),
    OpInfo("scatter", method("scatter"), method("scatter"), ALL_DTYPES, scatter_samples),
    OpInfo("scatter_value", method("scatter"), method("scatter"), ALL_DTYPES,
           lambda dt: scatter_samples(dt, value=True)),
    OpInfo("scatter_add_reduce", method("scatter", reduce="add"), method("scatter", reduce="add"),
           NUMERIC_DTYPES, scatter_reduce_samples),
    OpInfo("scatter_multiply", method("scatter", reduce="multiply"), method("scatter", reduce="multiply"),
           NUMERIC_DTYPES, scatter_reduce_samples),
    OpInfo("scatter_add", method("scatter_add"), method("scatter_add"), ALL_DTYPES, scatter_reduce_samples),
    *[OpInfo(f"scatter_reduce_{r}_{'self' if inc else 'noself'}", method("scatter_reduce", reduce=r, include_self=inc),
             method("scatter_reduce", reduce=r, include_self=inc), NUMERIC_DTYPES if r == "mean" else ALL_DTYPES,
             scatter_reduce_samples)
      for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    OpInfo("index_add", method("index_add"), method("index_add"), ALL_DTYPES, index_add_samples),
    OpInfo("index_add_alpha", method("index_add", alpha=2), method("index_add", alpha=2), NUMERIC_DTYPES,
           index_add_samples),
    OpInfo("index_copy", method("index_copy"), method("index_copy"), ALL_DTYPES,
           lambda dt: (s for s in index_add_samples(dt, unique=True) if s.desc != "dim=-1")),
    OpInfo("index", lambda x, idx: x[_vt_index(idx)], lambda x, idx: x[idx], ALL_DTYPES, index_samples),
    OpInfo("index_put", _index_put(vt), _index_put(torch), ALL_DTYPES,
           lambda dt: index_put_samples(dt, accumulate=False)),
    OpInfo("index_put_accumulate", lambda x, i, v: _index_put(vt)(x, i, v, True),
           lambda x, i, v: _index_put(torch)(x, i, v, True), NUMERIC_DTYPES,
           lambda dt: index_put_samples(dt, accumulate=True)),
    OpInfo("sort_values", expanding(fn(vt, "sort", 0)), expanding(fn(torch, "sort", 0)), SORTABLE, sort_samples),
    OpInfo("sort_indices_stable", expanding(fn(vt, "sort", 1, stable=True)), expanding(fn(torch, "sort", 1, stable=True)), SORTABLE,
           sort_samples),
    OpInfo("sort_nan", fn(vt, "sort", 1, stable=True), fn(torch, "sort", 1, stable=True),
           ("float16", "bfloat16", "float32", "float64"), sort_special_samples),
    OpInfo("argsort_stable", expanding(fn(vt, "argsort", stable=True)), expanding(fn(torch, "argsort", stable=True)), SORTABLE,
           sort_samples),
    OpInfo("topk_values", fn(vt, "topk", 0), fn(torch, "topk", 0), TOPK_DTYPES, topk_samples),
    OpInfo("topk_indices", fn(vt, "topk", 1), fn(torch, "topk", 1), TOPK_DTYPES, topk_samples),
    OpInfo("unique", fn(vt, "unique"), fn(torch, "unique"), ALL_DTYPES, unique_samples),
    OpInfo("unique_inverse", fn(vt, "unique", 1, return_inverse=True), fn(torch, "unique", 1, return_inverse=True),
           ALL_DTYPES, unique_samples),
    OpInfo("unique_counts", fn(vt, "unique", 1, return_counts=True), fn(torch, "unique", 1, return_counts=True),
           ALL_DTYPES, unique_samples),
    OpInfo("unique_dim", fn(vt, "unique"), fn(torch, "unique"), ALL_DTYPES, unique_dim_samples),
    OpInfo("unique_dim_inverse", fn(vt, "unique", 1, return_inverse=True),
           fn(torch, "unique", 1, return_inverse=True), ALL_DTYPES, unique_dim_samples),
    OpInfo("unique_dim_counts", fn(vt, "unique", 2, return_inverse=True, return_counts=True),
           fn(torch, "unique", 2, return_inverse=True, return_counts=True), ALL_DTYPES, unique_dim_samples),
    OpInfo("one_hot", fn(vt, "one_hot"), F.one_hot, ("int64",), one_hot_samples),
]
