"""Performance numbers for the approximation pillar (printed, never asserted): ``make bench``.

1. wall time of every notebook in the default profile, one at a time (papermill into a scratch folder, figures
   redirected with SPARSEBOUNDS_FIGURES, so no committed file is touched);
2. training throughput of the batched simulator (sparsebounds.networks) in GFLOP/s, next to this machine's
   numpy matmul rate measured in the same run;
3. speed-up of batched training over training the same networks one by one in a Python loop.

Run with OPENBLAS_NUM_THREADS=1 (set below unless already set) so that numbers are per core.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sparsebounds import networks as nw  # noqa: E402
from sparsebounds.runner import KERNEL_ENV  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def notebook_times():
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **KERNEL_ENV, "SPARSEBOUNDS_FIGURES": str(Path(tmp) / "figures")}
        for nb in NOTEBOOKS:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "papermill", "-k", "python3", "--no-progress-bar",
                            str(ROOT / "notebooks" / nb), str(Path(tmp) / nb)],
                           cwd=ROOT / "notebooks", env=env, check=True, capture_output=True)
            out[nb] = time.perf_counter() - t
    return out


def matmul_rate(dtype, n=1024, reps=5):
    """Best-of-``reps`` GFLOP/s of one n x n matmul."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    a @ b
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def shallow_step_flops(P, N, d):
    """Multiply-adds of one full-batch step, counted as 2 flops: X Wᵀ and dZᵀ X (2·P·N·d each), the output
    and its gradient (2·P·N each), and about 8·P·N elementwise operations (activation, masks, products)."""
    return 4 * P * N * d + 4 * P * N + 8 * P * N


def train_time(make, X, y, steps, repeats=3, **kw):
    """Best of ``repeats`` wall times (the machine is shared: the minimum is the least disturbed run)."""
    best = np.inf
    for _ in range(repeats):
        net = make()
        t = time.perf_counter()
        nw.train_adam(net, X, y, steps, **kw)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    rng = np.random.default_rng(0)
    print("== matmul (numpy, 1024x1024, one thread) ==")
    mm = {np.float64: matmul_rate(np.float64), np.float32: matmul_rate(np.float32)}
    print(f"float64 {mm[np.float64]:.1f} GFLOP/s, float32 {mm[np.float32]:.1f} GFLOP/s")

    print("\n== batched training throughput: shallow nets, d = 16, P = 2000, 8 seeds of one width, "
          "float32 Adam ==")
    d, P, steps = 16, 2000, 30
    X = rng.uniform(-1, 1, (P, d))
    y = np.sin(X.sum(1))
    print(" width | GFLOP/s | % of float32 matmul | batched s | loop s | speed-up")
    for N in (16, 64, 256, 1024):
        seeds = list(range(8))
        tb = train_time(lambda: nw.shallow(seeds, d, [N], "tanh", dtype=np.float32), X, y, steps)
        tl = sum(train_time(lambda s=s: nw.shallow([s], d, [N], "tanh", dtype=np.float32), X, y, steps)
                 for s in seeds)
        rate = shallow_step_flops(P, N, d) * len(seeds) * steps / tb / 1e9
        print(f" {N:5d} | {rate:7.2f} | {100 * rate / mm[np.float32]:6.1f} %            | {tb:8.2f}  | "
              f"{tl:6.2f} | {tl / tb:5.2f}x")

    print("\n== batched vs loop: the tree networks of notebook 03 (d = 16, widths 2, 4, 8 x 2 seeds, P = 1000) ==")
    d, P, steps = 16, 1000, 30
    X = rng.uniform(-1, 1, (P, d))
    y = np.sin(X.sum(1))
    tb = train_time(lambda: nw.tree([0, 1], d, [2, 4, 8], "tanh", dtype=np.float32), X, y, steps)
    tl = sum(train_time(lambda w=w, s=s: nw.tree([s], d, [w], "tanh", dtype=np.float32), X, y, steps)
             for w in (2, 4, 8) for s in (0, 1))
    print(f"batched {tb:.2f} s, loop {tl:.2f} s, speed-up {tl / tb:.2f}x")

    print("\nNotes: one-hidden-layer nets on d = 16 inputs do about 4d + 12 flops per hidden activation per")
    print("step against about ten passes over memory, so they are memory-bound, not matmul-bound; batching")
    print("pays where Python overhead dominates (small widths, tree nets of 2-8 units per node).")
    print("\n== notebooks, default profile (papermill, wall time) ==")
    times = notebook_times()
    for nb, t in times.items():
        print(f"{nb}: {t:.1f} s")
    print(f"total: {sum(times.values()):.1f} s; notebooks 02 + 03: "
          f"{sum(t for nb, t in times.items() if nb[:2] in ('02', '03')):.1f} s (target: under 90 s)")


if __name__ == "__main__":
    main()
