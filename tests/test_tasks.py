"""The task map gives the same results on every backend: in-process, local processes, and a real Dask cluster
(a LocalCluster of 2 worker processes on the loopback interface, over TCP), on reduced versions of notebook
07's searches and notebook 03's trainings (their defaults, made smaller), compared with
``sparsebounds.equivalence`` (every number within 0.1 %, counts exactly)."""
import time

import numpy as np
import pytest

from sparsebounds import compositional as comp
from sparsebounds import phase_transition as pt
from sparsebounds import tasks
from sparsebounds.harness import equivalence as eq
from sparsebounds.harness import parameters


def _differences(a, b, where="result") -> list[str]:
    """Where two results (nested dicts, lists, arrays, numbers) differ under the equivalence rule."""
    if isinstance(a, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(a)} != {sorted(b)}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and not np.isscalar(a):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")]
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return [f"{where}: shape {x.shape} != {y.shape}"]
    if x.dtype.kind in "iub" or y.dtype.kind in "iub":
        return [] if np.array_equal(x, y) else [f"{where}: counts differ"]
    bad = [(u, v) for u, v in zip(x.ravel().tolist(), y.ravel().tolist()) if not eq.numbers_close(u, v)]
    return [f"{where}: {len(bad)} of {x.size} numbers moved, e.g. {bad[0]}"] if bad else []


def _reduced_07():
    d = parameters.notebook_defaults("07")
    return dict(seed=d["seed"], d_list=[30, 60], rho_list=d["rho_list"], trials=6, tol=d["tol"],
                grid_d=30, grid_n=5, grid_trials=4)


def _run_07(p):
    lines = pt.transition_lines(p["seed"], p["d_list"], p["rho_list"], p["trials"], p["tol"])
    diagram = pt.phase_diagram(p["seed"], p["grid_d"], p["grid_n"], p["grid_trials"], p["tol"])
    return {"lines": lines, "diagram": diagram}


def _reduced_03():
    d = parameters.notebook_defaults("03")
    return dict(train_targets=1, train_seeds=2, node_widths=d["node_widths"], lrs=d["lrs"], train_steps=60,
                n_train=200, n_val=100, n_test=500)


def _run_03(design):
    return comp.training_experiments([(4, "tree"), (8, "ridge")], **design)


def test_map_keeps_task_order_whatever_the_chunks():
    expected = [2 ** k for k in range(11)]
    for chunk in (1, 3, 11, 50):
        assert tasks.map_tasks(pow, [(2, k) for k in range(11)], chunksize=chunk, processes=1) == expected
    assert tasks.map_tasks(abs, [-1, 2, -3], processes=1) == [1, 2, 3]
    assert tasks.map_tasks(abs, [], processes=1) == []


def test_backend_choice(monkeypatch):
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(tasks.PROCESSES_ENV, raising=False)
    assert tasks.backend() == ("inprocess", None)
    monkeypatch.setenv(tasks.PROCESSES_ENV, "2")
    assert tasks.backend() == ("processes", 2)
    monkeypatch.setenv(tasks.SCHEDULER_ENV, "tcp://127.0.0.1:1")
    assert tasks.backend() == ("dask", "tcp://127.0.0.1:1")        # a scheduler wins
    assert tasks.backend(processes=1, scheduler="") == ("inprocess", None)


def test_warm_search_equals_cold_search():
    """Warm-started HiGHS finds the same critical m as a fresh LP per m, on a reduced 07 design."""
    p = _reduced_07()
    for d in p["d_list"]:
        for r in p["rho_list"]:
            s = max(1, round(r * d))
            for t in pt.search_tasks(p["seed"], d, s, p["trials"], d * float(pt.psi(s / d)), 3, p["tol"]):
                assert pt.critical_m(*t) == pt.critical_m(*t, warm=False), t


def test_local_processes_match_in_process(monkeypatch):
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    p = _reduced_07()
    monkeypatch.setenv(tasks.PROCESSES_ENV, "1")
    local = _run_07(p)
    monkeypatch.setenv(tasks.PROCESSES_ENV, "2")
    try:
        pooled = _run_07(p)
    finally:
        tasks.shutdown()
    assert not _differences(local, pooled)


INTERRUPTED_POOL = """
import multiprocessing, os, signal, time
from sparsebounds import tasks

def interrupt_workers():                   # what Jupyter does to the kernel's process group
    for w in multiprocessing.active_children():
        os.kill(w.pid, signal.SIGINT)
    time.sleep(1.0)

assert tasks.map_tasks(abs, [-1, -2, -3], processes=2) == [1, 2, 3]
assert multiprocessing.active_children(), "the pool has no worker processes"
interrupt_workers()
print("after", tasks.map_tasks(abs, [-4, -5], processes=2))
interrupt_workers()
tasks.shutdown()
time.sleep(1.0)
"""


def test_an_interrupt_ends_pool_workers_quietly_and_the_next_map_runs(tmp_path):
    """Jupyter interrupts the whole process group before every clean kernel shutdown: idle workers used to print
    a KeyboardInterrupt traceback at the end of each notebook. Now they exit quietly, and the broken pool is
    replaced for the next map."""
    import subprocess
    import sys

    out, err = tmp_path / "stdout", tmp_path / "stderr"   # files: the workers write after the parent exits
    with out.open("w") as o, err.open("w") as e:
        rc = subprocess.run([sys.executable, "-c", INTERRUPTED_POOL], stdout=o, stderr=e, timeout=120).returncode
    time.sleep(1.0)
    assert rc == 0, err.read_text()
    assert "after [4, 5]" in out.read_text()
    assert "Traceback" not in err.read_text() and "KeyboardInterrupt" not in err.read_text(), err.read_text()


FIRST_HANDLER = """
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from sparsebounds import tasks
assert tasks.map_tasks(abs, [-1, -2], processes=2) == [1, 2]        # starts the fork server, as a notebook does
with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as bare:   # no initializer
    print("handler", bare.submit(eval, "__import__('signal').getsignal(2).__qualname__").result())
tasks.shutdown()
"""


def _python(script: str):
    """``script`` run by a fresh interpreter (its own fork server), with its output."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_pool_workers_have_the_quiet_handler_before_any_initializer():
    """A worker interrupted while still starting (in its imports or the pool's initializer) printed a traceback,
    once in CI: the fork server now hands every worker the handler from its first instruction."""
    run = _python(FIRST_HANDLER)
    assert run.returncode == 0, run.stderr
    assert "handler end_now" in run.stdout, run.stdout + run.stderr


BUSY_POOL = """
import multiprocessing, os, signal, threading, time
from sparsebounds import tasks

def interrupt_workers():
    for w in multiprocessing.active_children():
        os.kill(w.pid, signal.SIGINT)

assert tasks.map_tasks(abs, [-1, -2], processes=2) == [1, 2]   # the workers are up: the interrupt finds them busy
threading.Timer(0.5, interrupt_workers).start()
try:
    print("after", tasks.map_tasks(time.sleep, [2.0, 2.0], processes=2))
except BaseException as exc:
    print("raised", type(exc).__name__)
tasks.shutdown()
"""


def test_an_interrupted_busy_worker_ends_and_does_not_send_back_an_exit():
    """A busy worker interrupted mid-task used to send its SystemExit back to the kernel as the task's result;
    now it ends, and the map runs again on a new pool."""
    run = _python(BUSY_POOL)
    assert run.returncode == 0, run.stderr
    assert "after [None, None]" in run.stdout, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr


def test_a_long_map_borrows_free_cores_and_gives_them_back(tmp_path, monkeypatch):
    """Under the runner: one core file per core, one held by the notebook's worker; a map that has run for
    BORROW_AFTER seconds takes the free one, runs the rest on 2 processes, with the same results."""
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    monkeypatch.delenv(tasks.PROCESSES_ENV, raising=False)
    for i in range(2):
        (tmp_path / f"core-{i}").touch()
    own = tasks.take_core(str(tmp_path))                                # the worker's core
    p = _reduced_07()
    monkeypatch.delenv(tasks.CORES_ENV, raising=False)
    local = _run_07(p)
    monkeypatch.setenv(tasks.CORES_ENV, str(tmp_path))
    monkeypatch.setattr(tasks, "BORROW_AFTER", 0.0)
    calls = []
    real = tasks._borrowed_pool
    monkeypatch.setattr(tasks, "_borrowed_pool", lambda fn, chunks, n: calls.append(n) or real(fn, chunks, n))
    borrowed = _run_07(p)
    assert calls and set(calls) == {2}                                  # 1 + the one free core
    assert not _differences(local, borrowed)
    other = tasks.take_core(str(tmp_path))                              # given back after each map
    assert other is not None and tasks.take_core(str(tmp_path)) is None
    for fd in (own, other):
        __import__("os").close(fd)


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed cluster: a scheduler and 2 single-threaded worker processes on 127.0.0.1 (TCP)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as c:
        assert c.scheduler_address.startswith("tcp://127.0.0.1:")
        yield c.scheduler_address
        tasks.shutdown()


def _in_process_then_on_dask(run, arg, cluster, monkeypatch):
    """``run(arg)`` in-process, then with the task maps sent to the Dask ``cluster``."""
    monkeypatch.delenv(tasks.PROCESSES_ENV, raising=False)
    monkeypatch.delenv(tasks.SCHEDULER_ENV, raising=False)
    local = run(arg)
    monkeypatch.setenv(tasks.SCHEDULER_ENV, cluster)
    return local, run(arg)


def test_reduced_07_on_a_dask_cluster_equals_in_process(cluster, monkeypatch):
    local, remote = _in_process_then_on_dask(_run_07, _reduced_07(), cluster, monkeypatch)
    assert len(tasks.dask_client(cluster).nthreads()) == 2           # it really ran on the 2 workers
    assert not _differences(local, remote)


def test_reduced_03_on_a_dask_cluster_equals_in_process(cluster, monkeypatch):
    design = _reduced_03()
    local, remote = _in_process_then_on_dask(_run_03, design, cluster, monkeypatch)
    assert not _differences(local, remote)
    # and the map is the notebook's experiment: one case through it equals training_experiment alone
    monkeypatch.delenv(tasks.SCHEDULER_ENV)
    assert not _differences(local[1], comp.training_experiment(8, "ridge", **design))
