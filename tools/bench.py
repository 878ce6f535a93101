"""Where we stand, in numbers (printed, never asserted): ``make bench``.

1. the batched simulator (sparsebounds.networks) against a plain-numpy reference loop (textbook forward,
   backward and Adam, one network at a time), on the same networks, data and schedule, with their agreement;
2. warm-started HiGHS (one model per instance, rows added, then switched on and off as the search moves)
   against a fresh ``scipy.optimize.linprog`` per LP, on notebook 07's default searches, with the number of
   critical m that differ;
3. the Dask backend: a LocalCluster of 2 single-threaded worker processes on 127.0.0.1 (TCP) against the
   in-process map, on notebook 07's default searches, with the overhead per task;
4. the full profile (``--profile full`` into build/bench/full, never over committed files): each notebook's
   time, and the wall time the longest-first schedule predicted from the durations of the last run against
   the measured one (skipped with ``--quick``).

One BLAS thread (OPENBLAS_NUM_THREADS=1 unless set), so the numbers are per core. The machine's load average
is printed with each part: timings on a shared machine are only comparable under the same load.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sparsebounds import networks as nw  # noqa: E402
from sparsebounds import phase_transition as pt  # noqa: E402
from sparsebounds import tasks  # noqa: E402
from sparsebounds.harness import parameters, runner  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def best_of(f, repeats=3):
    """Minimum wall time of ``repeats`` calls (the least disturbed on a shared machine) and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


# ------------------------------------------------------------------ 1. simulator vs a plain-numpy loop
def reference_adam(W, b, a, c, X, y, steps, lr, lr_final, betas=(0.9, 0.999), eps=1e-8):
    """One tanh network f(x) = a·tanh(Wx + b) + c trained by full-batch Adam on the mean squared error, in
    textbook numpy: the loop a reader would write (and the simulator must agree with)."""
    params = [W.copy(), b.copy(), a.copy(), np.array(c, float)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    P = X.shape[0]
    decay = (lr_final / lr) ** (1.0 / max(steps - 1, 1))
    for t in range(1, steps + 1):
        W, b, a, c = params
        H = np.tanh(X @ W.T + b)                      # (P, N)
        r = H @ a + c - y                             # (P,)
        dout = 2.0 * r / P
        ga, gc = H.T @ dout, dout.sum()
        S = np.outer(dout, a) * (1 - H * H)           # (P, N)
        grads = [S.T @ X, S.sum(0), ga, gc]
        step = lr * decay ** (t - 1) * np.sqrt(1 - betas[1] ** t) / (1 - betas[0] ** t)
        for p, g, mm, vv in zip(params, grads, m, v):
            mm *= betas[0]
            mm += (1 - betas[0]) * g
            vv *= betas[1]
            vv += (1 - betas[1]) * g * g
            p -= step * mm / (np.sqrt(vv) + eps)
    return params


def simulator_vs_reference():
    print(f"== 1. simulator vs a plain-numpy reference loop (float64, tanh, full-batch Adam; {load()}) ==")
    print(" d  | points | nets x width | steps | simulator s | reference loop s | speed-up | max |param diff|")
    rng = np.random.default_rng(0)
    for d, P, B, N, steps in ((16, 200, 32, 16, 200), (16, 2000, 8, 64, 100), (8, 1000, 16, 256, 50)):
        X = rng.uniform(-1, 1, (P, d))
        y = np.sin(X.sum(1))
        net = nw.shallow(list(range(B)), d, [N], "tanh", dtype=np.float64)
        ts, (trained, _) = best_of(lambda: nw.train_adam(net, X, y, steps, lr=1e-2))
        p = net.params

        def loop():
            return [reference_adam(p["W"][i], p["b"][i], p["a"][i], p["c"][i], X, y, steps, 1e-2, 1e-4)
                    for i in range(B)]
        tr, ref = best_of(loop)
        diff = max(float(np.abs(trained.params[k][i] - ref[i][j]).max())
                   for i in range(B) for j, k in enumerate(("W", "b", "a", "c")))
        print(f" {d:2d} | {P:6d} | {B:4d} x {N:5d} | {steps:5d} | {ts:11.3f} | {tr:16.3f} | {tr / ts:7.2f}x "
              f"| {diff:.1e}")
    print()


# ------------------------------------------------------------------ 2. warm vs cold HiGHS
def searches_07():
    """Notebook 07's default searches (lines and phase diagram) as tasks of pt.critical_m."""
    p = parameters.notebook_defaults("07")
    out = []
    for d in p["d_list"]:
        for r in p["rho_list"]:
            s = max(1, int(round(r * d)))
            out += pt.search_tasks(p["seed"], d, s, p["trials"], d * float(pt.psi(s / d)),
                                   int(np.ceil(np.sqrt(d) / 2)), p["tol"])
    g = p["grid_d"]
    for s in np.unique(np.round(np.linspace(1, 0.9 * g, p["grid_n"])).astype(int)):
        out += pt.search_tasks(p["seed"], g, int(s), p["grid_trials"], g * float(pt.psi(s / g)),
                               int(np.ceil(np.sqrt(g) / 2)), p["tol"], pt.DIAGRAM)
    return out


def warm_vs_cold():
    jobs = searches_07()
    print(f"== 2. basis pursuit: warm-started HiGHS vs a fresh linprog per LP ({len(jobs)} critical-m searches of "
          f"notebook 07's default profile; {load()}) ==")
    tw, warm = best_of(lambda: [pt.critical_m(*j) for j in jobs], 2)
    tc, cold = best_of(lambda: [pt.critical_m(*j, warm=False) for j in jobs], 2)
    differ = sum(a != b for a, b in zip(warm, cold))
    print(f"warm {tw:.2f} s, cold {tc:.2f} s: warm takes {tw / tc:.2f}x the time; critical m that differ: "
          f"{differ} of {len(jobs)}\n")


# ------------------------------------------------------------------ 3. Dask vs in-process
def dask_vs_inprocess(workers=2):
    from distributed import LocalCluster

    jobs = searches_07()
    print(f"== 3. Dask LocalCluster ({workers} worker processes x 1 thread, TCP on 127.0.0.1) vs in-process: "
          f"notebook 07's default searches, {len(jobs)} tasks ==")
    t1_times: list = []
    t = time.perf_counter()
    local = tasks.map_tasks(pt.critical_m, jobs, processes=1, scheduler="", timings=t1_times)
    t1 = time.perf_counter() - t
    print(f"in-process: {t1:.2f} s wall ({load()})")
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        tasks.map_tasks(abs, [1] * workers, scheduler=address)                 # connect, warm the workers up
        tasks.map_tasks(pt.critical_m, jobs[:workers], scheduler=address)     # imports on the workers
        chunk = tasks.default_chunksize(len(jobs), scheduler=address)
        for label, cs in (("1 task per call", 1), (f"{chunk} tasks per call (the default chunks)", chunk)):
            times: list = []
            t = time.perf_counter()
            remote = tasks.map_tasks(pt.critical_m, jobs, chunksize=cs, scheduler=address, timings=times)
            wall = time.perf_counter() - t
            compute = sum(times)
            overhead = workers * wall - compute        # worker-seconds not spent computing: transfer, scheduling, idle
            print(f"Dask, {label}: {wall:.2f} s wall, {compute:.2f} s of compute on the workers "
                  f"(in-process {sum(t1_times):.2f} s), speed-up {t1 / wall:.2f}x over in-process; overhead "
                  f"{overhead / len(jobs) * 1e3:.1f} ms per task = {100 * overhead / compute:.1f} % of task time "
                  f"(idle at the end included); results equal: {remote == local} ({load()})")
        tasks.shutdown()
    mean_task = sum(t1_times) / len(jobs)
    print(f"mean task (one critical-m search, d <= 200): {mean_task * 1e3:.1f} ms in-process\n")


# ------------------------------------------------------------------ 4. the full profile
def full_profile():
    out = ROOT / "build" / "bench" / "full"
    out.mkdir(parents=True, exist_ok=True)
    state = runner.BUILD / ".state" / __import__("hashlib").sha1(str(out.resolve()).encode()).hexdigest()[:12]
    recorded = runner.read_durations(state) or runner.read_durations(runner.BUILD / ".state" / "full")
    notebooks = runner.resolve([])
    jobs = min(os.cpu_count() or 1, len(notebooks))
    order = runner.longest_first(notebooks, recorded)
    predicted = (runner.predicted_wall([recorded[p.stem] for p in order], jobs)
                 if all(p.stem in recorded for p in notebooks) else None)
    print(f"== 4. full profile, {jobs} notebooks at once, into {out.relative_to(ROOT)}/ ({load()} at the start) ==")
    if not (state / runner.DURATIONS).exists():
        (state).mkdir(parents=True, exist_ok=True)
        if recorded:
            (state / runner.DURATIONS).write_text(__import__("json").dumps(recorded))
    sys.stdout.flush()
    t = time.perf_counter()
    rc = runner.run([], profile="full", jobs=jobs, out=out)
    wall = time.perf_counter() - t
    measured = runner.read_durations(state)
    cpu = runner.read_durations(state, cpu=True)
    print(f"\nexit status {rc}; {load()} at the end")
    print("notebook                                  | last run s | this run s | kernel CPU s")
    for p in notebooks:
        print(f"{p.stem:<41} | {recorded.get(p.stem, float('nan')):10.1f} | {measured.get(p.stem, float('nan')):10.1f}"
              f" | {cpu.get(p.stem, float('nan')):12.1f}")
    total = sum(measured.get(p.stem, 0.0) for p in notebooks)
    print(f"sum of notebook times {total:.0f} s, of kernel CPU {sum(cpu.values()):.0f} s; wall {wall:.0f} s measured, "
          + (f"{predicted:.0f} s predicted by the longest-first schedule from the last run's durations"
             if predicted else "no prediction (no complete record of a last run)"))
    if len(cpu) == len(notebooks):
        cpu_order = runner.longest_first(notebooks, cpu)
        print(f"on an idle machine (each notebook's time = its kernel's CPU time), longest first: "
              f"{runner.predicted_wall([cpu[p.stem] for p in cpu_order], jobs):.0f} s wall")


def main(argv):
    if os.getloadavg()[0] > 0.5:
        print(f"warning: the machine is busy ({load()}): under load, memory-bound numpy and OpenBLAS's small "
              f"GEMMs slow down by different factors, so a comparison can come out the wrong way round, not just "
              f"noisy (a numpy update once looked 3x faster than dgemm under load and was 2-6x slower on a quiet "
              f"machine)\n")
    simulator_vs_reference()
    warm_vs_cold()
    dask_vs_inprocess()
    if "--quick" not in argv:
        full_profile()


if __name__ == "__main__":
    main(sys.argv[1:])
