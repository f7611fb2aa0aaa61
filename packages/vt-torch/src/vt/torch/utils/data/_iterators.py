"""The iterators DataLoader hands out: one that loads in the calling process, and one that farms
batches out to worker processes and yields them back in sampler order."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import time
import warnings

import vt.core as _core
from vt.torch.utils.data import _worker
from vt.torch.utils.data._fetch import make_fetcher

# How long to wait for a worker to exit on its own before terminating it.
JOIN_TIMEOUT_S = 5.0


class BaseIter:
    def __init__(self, loader) -> None:
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._persistent_workers = loader.persistent_workers
        self._sampler_iter = iter(self._index_sampler)
        # Drawn even without workers, so num_workers does not change a seeded generator's order.
        self._base_seed = int(_core.empty((), dtype=_core.int64).random_(generator=loader.generator).item())
        self._num_yielded = 0
        self._len_reported = loader._iterable_len_reported

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._iterable_len_reported

    def _next_index(self):
        return next(self._sampler_iter)

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if self._is_iterable and self._len_reported is not None and self._num_yielded > self._len_reported:
            message = (f"Length of IterableDataset {self._dataset} was reported to be {self._len_reported}"
                       f"(when accessing len(dataloader)), but {self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not properly configuring "
                            "the IterableDataset replica at each worker (see get_worker_info()).")
            warnings.warn(message, stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


class SingleProcessIter(BaseIter):
    def __init__(self, loader) -> None:
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._fetcher = make_fetcher(self._is_iterable, self._dataset, self._auto_collation,
                                     self._collate_fn, self._drop_last)

    def _next_data(self):
        return self._fetcher.fetch(self._next_index())


class MultiProcessIter(BaseIter):
    """Keeps prefetch_factor tasks per worker in flight, hands tasks out round-robin, and returns
    results in task order, holding early arrivals until their turn."""

    def __init__(self, loader) -> None:
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues = []
        self._workers = []
        self._shut_down = False
        self._epoch = 0
        try:
            for worker_id in range(self._num_workers):
                index_queue = context.Queue()
                index_queue.cancel_join_thread()  # never block interpreter exit on undelivered tasks
                worker = context.Process(
                    target=_worker.worker_loop, daemon=True,
                    args=(self._is_iterable, self._dataset, index_queue, self._result_queue, self._done_event,
                          self._auto_collation, self._collate_fn, self._drop_last, self._base_seed,
                          loader.worker_init_fn, worker_id, self._num_workers, os.getpid()))
                worker.start()
                self._index_queues.append(index_queue)
                self._workers.append(worker)
            self._reset(loader, first_iter=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def _reset(self, loader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        # Results still in flight from an abandoned epoch carry its number and are dropped.
        self._epoch += 1
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker = {}
        self._early_results = {}
        self._worker_active = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            for index_queue in self._index_queues:
                index_queue.put(_worker.Resume(self._epoch))
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._worker_active[worker_id]:
                break
        else:
            return  # every worker's iterable dataset is exhausted
        self._index_queues[worker_id].put((self._epoch, self._send_idx, index))
        self._task_worker[self._send_idx] = worker_id
        self._send_idx += 1

    def _next_data(self):
        while True:
            # A task sent to a worker that has since run dry will never be answered.
            while (self._rcvd_idx < self._send_idx and self._rcvd_idx not in self._early_results
                   and not self._worker_active[self._task_worker[self._rcvd_idx]]):
                del self._task_worker[self._rcvd_idx]
                self._rcvd_idx += 1
            if self._rcvd_idx >= self._send_idx:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if self._rcvd_idx in self._early_results:
                payload = self._early_results.pop(self._rcvd_idx)
                del self._task_worker[self._rcvd_idx]
                self._rcvd_idx += 1
                self._try_put_index()
                return self._unwrap(payload)
            epoch, task, payload = self._get_result()
            if epoch != self._epoch:
                continue
            if isinstance(payload, _worker.IterationEnd):
                self._worker_active[payload.worker_id] = False
            else:
                self._early_results[task] = payload

    @staticmethod
    def _unwrap(payload):
        # As in torch, the iterator stays usable after a worker's error (a loop may skip bad samples);
        # the workers end when it is exhausted or deleted.
        if isinstance(payload, _worker.ExceptionWrapper):
            payload.reraise()
        return payload

    def _get_result(self):
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _worker.POLL_INTERVAL_S if deadline is None else min(_worker.POLL_INTERVAL_S,
                                                                         max(deadline - time.monotonic(), 0))
            try:
                blob = self._result_queue.get(timeout=wait)
                break
            except queue.Empty:
                pass
            dead = [str(w.pid) for w in self._workers if not w.is_alive()]
            if dead:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader worker (pid(s) {', '.join(dead)}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown_workers()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        try:
            return pickle.loads(blob)
        except Exception as error:
            self._shutdown_workers()
            raise RuntimeError(f"DataLoader could not unpickle a worker's result: {error!r}") from error

    def _shutdown_workers(self, join_timeout: float = JOIN_TIMEOUT_S) -> None:
        if self._shut_down:
            return
        self._shut_down = True
        self._done_event.set()
        for index_queue in self._index_queues:
            index_queue.put(None)
        for worker in self._workers:
            worker.join(timeout=join_timeout)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=join_timeout)
        for q in (*self._index_queues, self._result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        if not getattr(self, "_shut_down", True):
            self._shutdown_workers()
