"""One map for the independent, seeded work units of the notebooks, with three backends.

``map_tasks(fn, tasks)`` returns ``[fn(*task) for task in tasks]``, in task order, whatever runs them:

- **in-process** (the default): a plain loop in the calling process;
- **local processes**: a pool of worker processes on this machine, when ``SPARSEBOUNDS_PROCESSES`` > 1. The
  runner sets it for its kernels from ``--jobs`` (cores // notebooks at once, so with 2 notebooks on 2 cores
  it is 1: the cores are never oversubscribed). Under the runner an in-process map that has run for
  BORROW_AFTER seconds also borrows the cores that finished notebooks freed (``SPARSEBOUNDS_CORES``: one lock
  file per core; each running notebook holds one) and runs its remaining tasks on that many more processes;
- **Dask distributed**, when ``SPARSEBOUNDS_SCHEDULER`` names a scheduler (``tcp://host:8786``; the runner
  sets it from ``--scheduler``). ``fn`` travels by reference, so the workers need this package installed.

Results cannot depend on the backend: every task is seeded by its own identity (the arguments it carries,
never a shared generator or a counter), every task runs with one BLAS thread (as the runner's kernels do),
and the results are gathered in task order. ``chunksize`` groups consecutive tasks into one remote call
(fewer round trips for many short tasks); it changes nothing in the results.
"""
from __future__ import annotations

import atexit
import os
import time
from typing import Callable, Iterable, Sequence

from .harness.blas import single_blas_thread

SCHEDULER_ENV = "SPARSEBOUNDS_SCHEDULER"
PROCESSES_ENV = "SPARSEBOUNDS_PROCESSES"
CORES_ENV = "SPARSEBOUNDS_CORES"   # a folder of one lock file per core of the run (set by the runner)
BORROW_AFTER = 5.0                 # seconds an in-process map runs before it looks for free cores
BACKENDS = ("inprocess", "processes", "dask")

_clients: dict = {}      # scheduler address -> dask.distributed.Client (one per kernel)
_pools: dict = {}        # number of processes -> ProcessPoolExecutor (one per kernel)


def backend(scheduler: str | None = None, processes: int | None = None) -> tuple[str, object]:
    """(name, its parameter) of the backend a map would use: the arguments first, then the environment."""
    scheduler = scheduler if scheduler is not None else os.environ.get(SCHEDULER_ENV, "").strip()
    if scheduler:
        return "dask", scheduler
    if processes is None:
        try:
            processes = int(os.environ.get(PROCESSES_ENV, "1") or 1)
        except ValueError:
            raise ValueError(f"{PROCESSES_ENV} must be a whole number, got {os.environ[PROCESSES_ENV]!r}") from None
    if processes > 1:
        return "processes", int(processes)
    return "inprocess", None


def _as_args(task) -> tuple:
    return task if isinstance(task, tuple) else (task,)


_one_thread_pid = None   # the worker process whose BLAS is limited to one thread (set once: ~3 ms a call)


def _one_blas_thread_here() -> None:
    """In a pool or Dask worker process: BLAS limited to one thread for the rest of its life."""
    global _one_thread_pid
    if _one_thread_pid != os.getpid():
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1, user_api="blas")
        _one_thread_pid = os.getpid()


def _timed_chunk(fn: Callable, chunk: Sequence[tuple], remote: bool = True) -> tuple[list, float]:
    """Run consecutive tasks (with one BLAS thread), and the seconds they took."""
    if remote:
        _one_blas_thread_here()
    t = time.perf_counter()
    out = [fn(*args) for args in chunk]
    return out, time.perf_counter() - t


def _chunks(tasks: list, chunksize: int) -> list[list]:
    return [tasks[i:i + chunksize] for i in range(0, len(tasks), chunksize)]


def map_tasks(fn: Callable, tasks: Iterable, *, chunksize: int = 1, scheduler: str | None = None,
              processes: int | None = None, timings: list | None = None) -> list:
    """``[fn(*task) for task in tasks]`` (a task that is not a tuple is one argument), in task order, on the
    backend chosen by ``scheduler`` / ``processes`` or else by the environment (see the module docstring).

    ``fn`` must be a module-level function of its arguments alone (seeded by them). An exception in a task is
    raised here. ``timings``, if given, receives the compute seconds of each chunk as measured where it ran
    (for the overhead figures of ``make bench``).
    """
    tasks = [_as_args(t) for t in tasks]
    if not tasks:
        return []
    chunks = _chunks(tasks, max(1, int(chunksize)))
    name, param = backend(scheduler, processes)
    if name == "inprocess":
        parts = _in_process(fn, chunks, os.environ.get(CORES_ENV, "") if processes is None else "")
    elif name == "processes":
        parts = _pool_map(param, fn, chunks)
    else:
        client = dask_client(param)
        futures = client.map(_timed_chunk, [fn] * len(chunks), chunks, pure=False)
        parts = client.gather(futures)
    if timings is not None:
        timings.extend(t for _, t in parts)
    return [r for out, _ in parts for r in out]


def workers(scheduler: str | None = None, processes: int | None = None) -> int:
    """How many tasks the chosen backend runs at once (1 in-process)."""
    name, param = backend(scheduler, processes)
    if name == "inprocess":
        return 1
    if name == "processes":
        return int(param)
    return max(1, sum(dask_client(param).nthreads().values()))


def default_chunksize(n_tasks: int, scheduler: str | None = None, processes: int | None = None,
                      per_worker: int = 16) -> int:
    """Chunks of about ``n_tasks / (per_worker · workers)`` tasks: few round trips, and enough chunks for the
    load to balance. In-process every task is its own chunk (there is nothing to save)."""
    w = workers(scheduler, processes)
    if w == 1:
        return 1
    return max(1, n_tasks // (per_worker * w))


# ------------------------------------------------------------------ backends
def _in_process(fn, chunks, cores_dir: str) -> list:
    """Run the chunks here; after BORROW_AFTER seconds, hand the rest to 1 + k processes if k cores are free."""
    with single_blas_thread():
        return _in_process_loop(fn, chunks, cores_dir)


def _in_process_loop(fn, chunks, cores_dir: str) -> list:
    parts, t0 = [], time.perf_counter()
    for i, chunk in enumerate(chunks):
        left = len(chunks) - i
        if cores_dir and left >= 2 and time.perf_counter() - t0 >= BORROW_AFTER:
            borrowed = [fd for fd in (take_core(cores_dir) for _ in range(left - 1)) if fd is not None]
            if borrowed:
                try:
                    return parts + _borrowed_pool(fn, chunks[i:], 1 + len(borrowed))
                finally:
                    for fd in borrowed:
                        os.close(fd)
        parts.append(_timed_chunk(fn, chunk, remote=False))
    return parts


def take_core(cores_dir: str):
    """Lock one free core file in ``cores_dir`` (an open fd; closing it frees the core), or None."""
    if not cores_dir:
        return None
    import fcntl

    try:
        names = sorted(os.listdir(cores_dir))
    except OSError:
        return None
    for name in names:
        try:
            fd = os.open(os.path.join(cores_dir, name), os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            os.close(fd)
    return None


def _borrowed_pool(fn, chunks, n: int) -> list:
    """The chunks on n spawned processes (children of this one, reaped here, so the runner counts their CPU)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=_no_borrowing) as pool:
        return list(pool.map(_timed_chunk, [fn] * len(chunks), chunks))


def _no_borrowing() -> None:
    """In a borrowed process: its own maps run in-process (the cores are taken)."""
    os.environ.pop(CORES_ENV, None)


def _pool(n: int):
    """A process pool of ``n`` workers, started once per process (forkserver: the workers do not inherit the
    kernel's threads and sockets; the server imports the package once)."""
    if n not in _pools:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["sparsebounds.pool_worker",   # first: the workers' SIGINT handler
                                    "numpy", "scipy.optimize", "sparsebounds.tasks"])
        _pools[n] = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_end_quietly_on_interrupt)
    return _pools[n]


def _end_quietly_on_interrupt() -> None:
    """In a pool worker: SIGINT ends the process at once, without a traceback (``pool_worker``). The
    fork server's preload already gave the worker that handler; this covers a fork server started elsewhere."""
    import signal

    from .pool_worker import end_now

    signal.signal(signal.SIGINT, end_now)


def _pool_map(n: int, fn: Callable, chunks: list) -> list:
    """The chunks on the pool of ``n`` workers; a pool broken by an interrupt (or a crashed worker) is replaced
    once, so the next map after an interrupted one runs."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return list(_pool(n).map(_timed_chunk, [fn] * len(chunks), chunks))
    except BrokenProcessPool:
        _pools.pop(n).shutdown(wait=False, cancel_futures=True)
        return list(_pool(n).map(_timed_chunk, [fn] * len(chunks), chunks))


def dask_client(address: str):
    """A client of the Dask scheduler at ``address``, made once per process."""
    if address not in _clients:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise RuntimeError(f"{SCHEDULER_ENV}={address} needs dask.distributed: pip install 'dask[distributed]'") \
                from exc
        _clients[address] = Client(address, set_as_default=False, timeout=30)
    return _clients[address]


@atexit.register
def shutdown() -> None:
    """Close the process pools and the Dask clients of this process."""
    for pool in _pools.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _pools.clear()
    for client in _clients.values():
        try:
            client.close()
        except Exception:
            pass
    _clients.clear()
