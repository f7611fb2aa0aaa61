"""The worker side of multi-process loading: the loop each worker process runs, what a worker can
learn about itself (`get_worker_info`), and how its exceptions travel to the main process.

Protocol. The main process sends each worker `(epoch, task, index)` tuples, `Resume(epoch)` to
restart iteration (persistent workers), or `None` to exit. A worker answers every task with one
pickled `(epoch, task, payload)`: the batch, an `ExceptionWrapper`, or `IterationEnd` once its
iterable dataset is exhausted. Results are pickled by the worker itself, so an unpicklable batch
becomes an error in the main process instead of a result silently lost in a queue thread.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np
import vt.core as _core
from vt.torch.utils.data._fetch import make_fetcher

# How often an idle worker checks whether the main process is still alive.
POLL_INTERVAL_S = 1.0


class WorkerInfo:
    """id, num_workers, seed and dataset (this process's copy) of the current worker."""

    def __init__(self, **fields) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value) -> None:
        if getattr(self, "_frozen", False):
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in ("id", "num_workers", "seed", "dataset"))
        return f"{type(self).__name__}({fields})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's WorkerInfo inside a DataLoader worker process; None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """An exception's type and formatted traceback, picklable, re-raised in another process."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        exc_type, exc, tb = exc_info or sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc, tb))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            raise KeyError(_Verbatim(message))
        try:
            error = self.exc_type(message)
        except Exception:  # exception types whose constructor needs other arguments
            raise RuntimeError(message) from None
        raise error


class _Verbatim(str):
    """KeyError prints repr() of its argument; this keeps a traceback readable inside one."""

    def __repr__(self) -> str:
        return str(self)


class Resume:
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch


class IterationEnd:
    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


def _seed_everything(base_seed: int, worker_id: int) -> int:
    # Each worker gets its own streams; forked workers would otherwise all repeat the parent's.
    seed = base_seed + worker_id
    random.seed(seed)
    _core.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _encode(epoch: int, task: int, payload, worker_id: int) -> bytes:
    try:
        return pickle.dumps((epoch, task, payload), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        where = f"in DataLoader worker process {worker_id} while sending a batch to the main process"
        wrapped = ExceptionWrapper(where=where)
        try:
            return pickle.dumps((epoch, task, wrapped), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # the exception type itself cannot be pickled
            wrapped.exc_type = RuntimeError
            return pickle.dumps((epoch, task, wrapped), protocol=pickle.HIGHEST_PROTOCOL)


def worker_loop(is_iterable: bool, dataset, index_queue, result_queue, done_event, auto_collation: bool,
                collate_fn, drop_last: bool, base_seed: int, init_fn, worker_id: int, num_workers: int,
                parent_pid: int) -> None:
    global _worker_info
    try:
        _core.set_num_threads(1)  # num_workers processes share the cores; one thread each
        seed = _seed_everything(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=where)
        ended = False
        while True:
            try:
                message = index_queue.get(timeout=POLL_INTERVAL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    return  # the main process died without shutting us down
                continue
            if message is None:
                return
            if isinstance(message, Resume):
                ended = False
                if init_error is None:
                    fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
                continue
            if done_event.is_set() or ended:
                continue  # shutting down, or nothing left to give until a Resume
            epoch, task, index = message
            if init_error is not None:
                payload = init_error
            else:
                try:
                    payload = fetcher.fetch(index)
                except Exception as error:
                    if is_iterable and isinstance(error, StopIteration):
                        ended = True
                        payload = IterationEnd(worker_id)
                    else:
                        payload = ExceptionWrapper(where=where)
            result_queue.put(_encode(epoch, task, payload, worker_id))
            del payload  # free the batch now, not when the next one replaces it
    except KeyboardInterrupt:
        pass  # the main process sees the interrupt too and shuts the workers down
    finally:
        # Exit without waiting for unread results to drain into the pipe; the main process may be gone.
        result_queue.cancel_join_thread()
