"""vt.torch.utils.data against torch.utils.data: datasets, samplers, collation and DataLoader,
in this process and with worker processes."""

from __future__ import annotations

import collections
import gc
import os
import re
import time
import warnings

import numpy as np
import pytest
import torch as real_torch
import torch.utils.data as real_data
from reference import assert_same, from_torch
from vt import torch
from vt.torch.utils import data

Point = collections.namedtuple("Point", ["x", "y"])


def assert_tree(got, expected) -> None:
    """A collated vt batch has the structure, container types, dtypes and values of torch's."""
    if isinstance(expected, real_torch.Tensor):
        assert_same(got, expected, rtol=0, atol=0)
    elif isinstance(expected, (dict, list, tuple)):
        assert type(got).__name__ == type(expected).__name__, f"{type(got)} != torch's {type(expected)}"
        assert len(got) == len(expected)
        if isinstance(expected, dict):
            assert list(got) == list(expected)
            for key in expected:
                assert_tree(got[key], expected[key])
        else:
            for g, e in zip(got, expected):
                assert_tree(g, e)
    else:
        assert got == expected and type(got) is type(expected)


def both_tensor_datasets(n: int = 10):
    gen = real_torch.Generator().manual_seed(0)
    x, y = real_torch.randn(n, 3, generator=gen), real_torch.arange(n) % 3
    return real_data.TensorDataset(x, y), data.TensorDataset(from_torch(x), from_torch(y))


def as_lists(loader) -> list:
    return [[t.tolist() for t in batch] for batch in loader]


# ---- collation --------------------------------------------------------------------------------

COLLATE_BATCHES = {
    "floats": [1.5, 2.0, -3.25],
    "ints": [1, 2, 3],
    "bools": [True, False, True],
    "ints_and_bools": [1, True, 0],
    "strings": ["a", "bb", "c"],
    "numpy_arrays": [np.arange(4, dtype=np.float32).reshape(2, 2) + i for i in range(3)],
    "numpy_int_scalars": [np.int32(i) for i in range(3)],
    "numpy_float_scalars": [np.float64(i) / 3 for i in range(3)],
    "numpy_bool_scalars": [np.bool_(i % 2) for i in range(3)],
    "dicts": [{"x": float(i), "label": i, "name": f"s{i}"} for i in range(3)],
    "tuples": [(float(i), i, f"s{i}") for i in range(3)],
    "lists": [[i, 2 * i] for i in range(3)],
    "namedtuples": [Point(float(i), i) for i in range(3)],
    "nested": [{"pair": (i, [float(i), 2.0]), "point": Point(i, "p")} for i in range(2)],
}


@pytest.mark.parametrize("name", COLLATE_BATCHES)
def test_default_collate_matches_torch(name):
    batch = COLLATE_BATCHES[name]
    assert_tree(data.default_collate(batch), real_data.default_collate(batch))


def test_default_collate_stacks_tensors_of_every_dtype():
    for dtype in (real_torch.float32, real_torch.float64, real_torch.bfloat16, real_torch.int64, real_torch.bool):
        samples = [real_torch.arange(4).reshape(2, 2).to(dtype) + 0 for _ in range(3)]
        assert_same(data.default_collate([from_torch(s) for s in samples]), real_data.default_collate(samples),
                    rtol=0, atol=0)


def test_default_convert_matches_torch():
    sample = {"a": np.arange(3), "b": (np.float32(2.5), 7), "c": [np.ones(2)], "d": "text"}
    assert_tree(data.default_convert(sample), real_data.default_convert(sample))


def test_collate_errors_match_torch():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        data.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors.*found <class 'object'>"):
        data.default_collate([object(), object()])
    with pytest.raises(TypeError, match="found <U1"):
        data.default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        data.default_collate([torch.zeros(2), torch.zeros(3)])


# ---- datasets -----------------------------------------------------------------------------------

def test_tensor_concat_and_subset_datasets_index_like_torch():
    real_ds, vt_ds = both_tensor_datasets(6)
    real_cat = real_data.ConcatDataset([real_ds, real_data.Subset(real_ds, [5, 0])])
    vt_cat = data.ConcatDataset([vt_ds, data.Subset(vt_ds, [5, 0])])
    assert len(vt_cat) == len(real_cat) == 8 and vt_cat.cumulative_sizes == real_cat.cumulative_sizes
    for i in (0, 5, 6, 7, -1, -8):
        assert_tree(vt_cat[i], real_cat[i])
    assert_tree(list(vt_ds + vt_ds)[7], list(real_ds + real_ds)[7])
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        vt_cat[-9]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        data.TensorDataset(torch.zeros(2), torch.zeros(3))


def test_stack_and_chain_datasets():
    stacked = data.StackDataset(a=[1, 2], b=["x", "y"])
    assert stacked[1] == {"a": 2, "b": "y"} and len(stacked) == 2
    assert data.StackDataset([1, 2], [3, 4])[0] == (1, 3)

    class Count(data.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    assert list(Count(2) + Count(3)) == [0, 1, 0, 1, 2]


@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.7]), (11, [0.5, 0.5]), (7, [0.2, 0.3, 0.5]),
                                        (5, [5, 0]), (2, [0.9, 0.1, 0.0])])
def test_random_split_sizes_match_torch_and_parts_are_disjoint(n, lengths):
    with warnings.catch_warnings(record=True) as got_warnings:
        warnings.simplefilter("always")
        parts = data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings(record=True) as expected_warnings:
        warnings.simplefilter("always")
        expected = real_data.random_split(range(n), lengths, generator=real_torch.Generator().manual_seed(1))
    assert [str(w.message) for w in got_warnings] == [str(w.message) for w in expected_warnings]
    assert [len(p) for p in parts] == [len(p) for p in expected]
    everything = [x for p in parts for x in p]
    assert sorted(everything) == list(range(n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = data.random_split(range(n), lengths, generator=torch.Generator().manual_seed(1))
    assert [list(p) for p in again] == [list(p) for p in parts]


def test_random_split_errors_match_torch():
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        data.random_split(range(10), [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        data.random_split(range(10), [0.5, 1.5, -1.0])


# ---- samplers -------------------------------------------------------------------------------------

def test_random_sampler_permutes_and_is_reproducible():
    order = list(data.RandomSampler(range(50), generator=torch.Generator().manual_seed(3)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert order == list(data.RandomSampler(range(50), generator=torch.Generator().manual_seed(3)))
    assert order != list(data.RandomSampler(range(50), generator=torch.Generator().manual_seed(4)))
    torch.manual_seed(7)
    unseeded = list(data.RandomSampler(range(50)))
    torch.manual_seed(7)
    assert list(data.RandomSampler(range(50))) == unseeded


def test_random_sampler_num_samples_and_replacement():
    longer = list(data.RandomSampler(range(4), num_samples=10, generator=torch.Generator().manual_seed(0)))
    assert len(longer) == 10 and all(longer.count(i) in (2, 3) for i in range(4))
    drawn = list(data.RandomSampler(range(5), replacement=True, num_samples=200))
    assert len(drawn) == 200 and set(drawn) == set(range(5))
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        data.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
        data.RandomSampler(range(3), replacement=1)


def test_subset_and_weighted_samplers():
    picked = list(data.SubsetRandomSampler([10, 20, 30, 40], generator=torch.Generator().manual_seed(0)))
    assert sorted(picked) == [10, 20, 30, 40]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 100))
    assert len(weighted) == 100 and set(weighted) == {1, 3}
    assert sorted(data.WeightedRandomSampler([1, 1, 1], 3, replacement=False)) == [0, 1, 2]


@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(drop_last):
    got = data.BatchSampler(data.SequentialSampler(range(10)), 3, drop_last)
    expected = real_data.BatchSampler(real_data.SequentialSampler(range(10)), 3, drop_last)
    assert list(got) == list(expected) and len(got) == len(expected)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        data.BatchSampler(range(3), 0, False)


# ---- DataLoader in this process --------------------------------------------------------------------

@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (4, False), (4, True), (10, False), (16, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    real_ds, vt_ds = both_tensor_datasets(10)
    got = data.DataLoader(vt_ds, batch_size=batch_size, drop_last=drop_last)
    expected = real_data.DataLoader(real_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(got) == len(expected)
    got_batches, expected_batches = list(got), list(expected)
    assert len(got_batches) == len(expected_batches)
    for g, e in zip(got_batches, expected_batches):
        assert_tree(g, e)


def test_no_auto_batching_matches_torch():
    samples = [{"v": np.float32(i), "k": i} for i in range(3)]
    for g, e in zip(data.DataLoader(samples, batch_size=None), real_data.DataLoader(samples, batch_size=None)):
        assert_tree(g, e)


def test_custom_batch_sampler_and_collate_fn():
    loader = data.DataLoader(list(range(10)), batch_sampler=[[0, 1], [9], [4, 5, 6]],
                             collate_fn=lambda batch: sum(batch))
    assert list(loader) == [1, 9, 15] and len(loader) == 3


def test_shuffle_is_a_reproducible_permutation():
    _, vt_ds = both_tensor_datasets(10)

    def epoch(seed):
        loader = data.DataLoader(vt_ds, batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return [i for batch in loader for i in batch[1].tolist()], [b[0].shape[0] for b in loader]

    labels, sizes = epoch(5)
    assert sorted(labels) == sorted(vt_ds.tensors[1].tolist()) and sizes == [3, 3, 3, 1]
    assert epoch(5)[0] == labels
    orders = {tuple(epoch(seed)[0]) for seed in range(6)}
    assert len(orders) > 1


@pytest.mark.parametrize("kwargs", [
    dict(batch_sampler=[[0]], batch_size=2), dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], drop_last=True), dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_size=None, drop_last=True), dict(sampler=[0], shuffle=True), dict(num_workers=-1),
    dict(timeout=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
    dict(multiprocessing_context="fork"), dict(num_workers=1, multiprocessing_context="nope"),
    dict(batch_size=0), dict(batch_size=2, drop_last=1),
])
def test_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as expected:
        real_data.DataLoader(list(range(5)), **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        data.DataLoader(list(range(5)), **kwargs)


def test_attributes_are_frozen_like_torch():
    loader = data.DataLoader(list(range(5)))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 2


def _make_stream(lib):
    """The same iterable dataset for both libraries: each worker takes every num_workers-th item."""

    class Stream(lib.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            info = lib.get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, self.n, step))

        def __len__(self):
            return self.n

    return Stream


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_matches_torch(num_workers):
    got = data.DataLoader(_make_stream(data)(11), batch_size=3, num_workers=num_workers)
    expected = real_data.DataLoader(_make_stream(real_data)(11), batch_size=3, num_workers=num_workers)
    got_batches, expected_batches = list(got), list(expected)
    assert [b.tolist() for b in got_batches] == [b.tolist() for b in expected_batches]
    assert sorted(i for b in got_batches for i in b.tolist()) == list(range(11))
    assert len(got) == len(expected) == 4


def test_iterable_dataset_argument_errors_match_torch():
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError) as expected:
            real_data.DataLoader(_make_stream(real_data)(3), **kwargs)
        message = re.sub(r"=.*", "=", str(expected.value))
        with pytest.raises(ValueError, match=re.escape(message)):
            data.DataLoader(_make_stream(data)(3), **kwargs)


# ---- DataLoader with worker processes --------------------------------------------------------------

def test_workers_give_the_batches_of_the_main_process():
    _, vt_ds = both_tensor_datasets(23)

    def batches(num_workers):
        return as_lists(data.DataLoader(vt_ds, batch_size=4, shuffle=True, num_workers=num_workers,
                                        generator=torch.Generator().manual_seed(11)))

    assert batches(2) == batches(0)


class _Probe(data.Dataset):
    """Reports which worker served each sample, and the worker's view of itself."""

    def __getitem__(self, i):
        info = data.get_worker_info()
        return {"i": i, "worker": info.id, "num_workers": info.num_workers, "seed": info.seed,
                "sees_itself": info.dataset is self, "init": os.environ.get("VT_TEST_WORKER_INIT", "")}

    def __len__(self):
        return 8


def _mark_worker(worker_id):
    os.environ["VT_TEST_WORKER_INIT"] = f"ran in {worker_id}"


def test_worker_info_and_init_fn():
    assert data.get_worker_info() is None
    rows = [row for batch in data.DataLoader(_Probe(), batch_size=2, num_workers=2, worker_init_fn=_mark_worker)
            for row in zip(*(batch[k] if isinstance(batch[k], list) else batch[k].tolist() for k in
                             ("i", "worker", "num_workers", "seed", "sees_itself", "init")))]
    assert [r[0] for r in rows] == list(range(8))
    assert [r[1] for r in rows] == [0, 0, 1, 1, 0, 0, 1, 1]  # batches go to the workers in turn
    assert all(r[2] == 2 and r[4] and r[5] == f"ran in {r[1]}" for r in rows)
    seeds = {r[1]: r[3] for r in rows}
    assert seeds[1] == seeds[0] + 1


class _FailsAt(data.Dataset):
    def __init__(self, bad):
        self.bad = bad

    def __getitem__(self, i):
        if i == self.bad:
            raise KeyError(f"sample {i} is corrupt")
        return i

    def __len__(self):
        return 6


def test_worker_error_is_reraised_naming_the_worker_and_workers_end():
    loader = data.DataLoader(_FailsAt(bad=3), batch_size=1, num_workers=2)
    it = iter(loader)
    assert [next(it).item() for _ in range(3)] == [0, 1, 2]
    with pytest.raises(KeyError, match=r"Caught KeyError in DataLoader worker process 1\.(.|\n)*sample 3 is corrupt"):
        next(it)
    # Like torch's, the iterator survives a bad sample.
    assert [b.item() for b in it] == [4, 5]
    assert all(not w.is_alive() for w in it._workers)


def test_deleting_an_unfinished_iterator_stops_its_workers():
    it = iter(data.DataLoader(list(range(100)), batch_size=2, num_workers=2))
    next(it)
    workers = list(it._workers)
    assert all(w.is_alive() for w in workers)
    del it
    gc.collect()
    assert all(not w.is_alive() for w in workers)


class _Sleepy(data.Dataset):
    def __getitem__(self, i):
        time.sleep(1.5)
        return i

    def __len__(self):
        return 2


def test_timeout_raises():
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0\.2 seconds"):
        next(iter(data.DataLoader(_Sleepy(), num_workers=1, timeout=0.2)))


class _Dies(data.Dataset):
    def __getitem__(self, i):
        os._exit(3)

    def __len__(self):
        return 2


def test_worker_death_is_reported():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(data.DataLoader(_Dies(), num_workers=1))


def test_unpicklable_batch_becomes_an_error():
    loader = data.DataLoader(list(range(2)), num_workers=1, collate_fn=lambda batch: (lambda: batch))
    with pytest.raises(Exception, match="while sending a batch to the main process"):
        next(iter(loader))


def test_persistent_workers_serve_several_epochs():
    _, vt_ds = both_tensor_datasets(9)
    expected = as_lists(data.DataLoader(vt_ds, batch_size=2))
    loader = data.DataLoader(vt_ds, batch_size=2, num_workers=2, persistent_workers=True)
    first = iter(loader)
    next(first)  # an abandoned epoch: its prefetched batches must not leak into the next one
    assert as_lists(loader) == expected
    assert as_lists(loader) == expected
    assert iter(loader) is first
    first._shutdown_workers()


def test_persistent_workers_restart_an_iterable_dataset():
    loader = data.DataLoader(_make_stream(data)(5), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [[b.tolist() for b in loader] for _ in range(2)]
    assert epochs[0] == epochs[1] and sorted(i for b in epochs[0] for i in b) == list(range(5))
    loader._iterator._shutdown_workers()


def test_spawned_workers_receive_the_dataset_by_pickle():
    real_ds, vt_ds = both_tensor_datasets(7)
    got = data.DataLoader(vt_ds, batch_size=3, num_workers=1, multiprocessing_context="spawn")
    for g, e in zip(list(got), list(real_data.DataLoader(real_ds, batch_size=3))):
        assert_tree(g, e)
