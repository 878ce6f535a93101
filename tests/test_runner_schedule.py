"""Longest-first submission: the order from the recorded durations, the wall time it predicts, the record."""
from pathlib import Path

from sparsebounds.harness import runner


def test_longest_first_puts_unknown_notebooks_first_then_longest():
    nbs = [Path(f"{k:02d}_x.ipynb") for k in range(1, 6)]
    durations = {"01_x": 10.0, "02_x": 300.0, "04_x": 50.0, "05_x": 120.0}
    order = [p.stem[:2] for p in runner.longest_first(nbs, durations)]
    assert order == ["03", "02", "05", "04", "01"]
    assert runner.longest_first(nbs, {}) == nbs                      # nothing recorded: the given order


def test_predicted_wall_is_greedy_list_scheduling():
    assert runner.predicted_wall([300, 120, 50, 10], 2) == 300
    assert runner.predicted_wall([100, 100, 100], 2) == 200
    assert runner.predicted_wall([5, 7], 1) == 12
    # longest first beats the natural order on a skewed set
    assert runner.predicted_wall([90, 50, 40, 30], 2) < runner.predicted_wall([30, 40, 50, 90], 2)


def test_durations_are_recorded_and_merged(tmp_path):
    assert runner.read_durations(tmp_path) == {}
    runner._record_duration(tmp_path, "07_l1", 12.345)
    runner._record_duration(tmp_path, "03_c", 4.0)
    runner._record_duration(tmp_path, "07_l1", 10.0)
    assert runner.read_durations(tmp_path) == {"03_c": 4.0, "07_l1": 10.0}
    runner._record_duration(tmp_path, "03_c", 5.0, cpu=4.5)        # the kernel's CPU seconds beside the wall
    assert runner.read_durations(tmp_path) == {"03_c": 5.0, "07_l1": 10.0}
    assert runner.read_durations(tmp_path, cpu=True) == {"03_c": 4.5}
    (tmp_path / runner.DURATIONS).write_text("not json")
    assert runner.read_durations(tmp_path) == {}


def test_worker_env_passes_the_task_backend_down(tmp_path, monkeypatch):
    from sparsebounds import tasks
    monkeypatch.setenv(tasks.SCHEDULER_ENV, "tcp://stale:1")
    env = runner._worker_env(tmp_path, "t", processes=1)
    assert env[tasks.PROCESSES_ENV] == "1" and tasks.SCHEDULER_ENV not in env
    env = runner._worker_env(tmp_path, "t", processes=2, scheduler="tcp://127.0.0.1:8786")
    assert env[tasks.PROCESSES_ENV] == "2" and env[tasks.SCHEDULER_ENV] == "tcp://127.0.0.1:8786"


def test_a_bad_scheduler_address_stops_before_any_kernel(capsys):
    assert runner.run(["01"], scheduler="localhost:8786") == 2
    assert "--scheduler must be a Dask scheduler address" in capsys.readouterr().err


def test_kernels_keep_freed_memory_for_the_next_large_array(tmp_path):
    """The malloc settings of the kernels' environment take effect: a freed 200 MB array stays in the process's
    heap (its pages are reused by the next array instead of faulted in again), where glibc's defaults unmap it."""
    import platform
    import subprocess
    import sys

    import pytest

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("the settings are glibc's")
    probe = ("import numpy as np\n"
             "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * 4096\n"
             "a = np.ones(25_000_000); del a\n"
             "print(rss() // 2**20)")
    env = runner._worker_env(tmp_path, "t")
    assert all(env[k] == v for k, v in runner.MALLOC_ENV.items())
    kept = int(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                              check=True).stdout)
    plain = {k: v for k, v in env.items() if k not in runner.MALLOC_ENV}
    returned = int(subprocess.run([sys.executable, "-c", probe], env=plain, capture_output=True, text=True,
                                  check=True).stdout)
    assert kept - returned > 150, (kept, returned)     # MB still resident after the free
