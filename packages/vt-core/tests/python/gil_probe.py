"""Whether an op lets go of the GIL: Python work on the main thread finishes while it runs."""

import threading
import time


def python_work_during(op) -> tuple[float, float]:
    """(when a burst of Python work on the main thread ended, when op ended on a worker)."""
    entered, times = threading.Event(), {}

    def work():
        entered.set()
        op()
        times["op_end"] = time.perf_counter()

    worker = threading.Thread(target=work)
    worker.start()
    entered.wait()
    time.sleep(0.05)  # lets the worker into the op
    sum(range(20000))  # runs now only if the op let go of the GIL, else after it
    python_end = time.perf_counter()
    worker.join()
    return python_end, times["op_end"]
