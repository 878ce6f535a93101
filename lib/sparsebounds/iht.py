"""Iterative hard thresholding (IHT) and exact restricted isometry constants, batched over matrices.

Convention: A has shape (B, m, d) with entries N(0, 1/m); x is s-sparse in R^d; y = A x + e. IHT with unit
step from x^0 = 0:  x^{n+1} = H_s(x^n + Aᵀ(y − A x^n)), H_s keeping the s largest entries in modulus.
The restricted isometry constant δ_k(A) = max_{|T| = k} ‖A_Tᵀ A_T − I‖₂ is computed EXACTLY by
enumerating all C(d, k) supports (only sensible for small d, e.g. d = 20, k ≤ 6). The Gaussian matrices and the
sparse signals are :mod:`sparsebounds.sparse_instances`' (``gaussian_designs``, ``sparse_signals``).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from . import seeds, sparse_instances
from .harness.blas import one_blas_thread
from .tasks import map_tasks


def supports(d: int, k: int) -> np.ndarray:
    """All C(d, k) supports of size k as an int array (C(d, k), k), in lexicographic order."""
    if not 1 <= k <= d:
        raise ValueError(f"need 1 <= k <= d, got k={k}, d={d}")
    return np.fromiter((i for c in combinations(range(d), k) for i in c), dtype=np.intp,
                       count=comb(d, k) * k).reshape(-1, k)


@one_blas_thread
def rip_constant(A: np.ndarray, k: int, *, chunk: int = 8192, return_support: bool = False):
    """Exact δ_k for each matrix of the batch A (B, m, d): max over |T| = k of max(λ_max − 1, 1 − λ_min)
    of the k×k Gram matrix A_TᵀA_T (δ_k is nondecreasing in k, so supports of size exactly k suffice).

    With ``return_support`` also returns, per matrix, the worst support (B, k); of equal deviations the first
    support in lexicographic order.

    The deviation of a support is ‖A_TᵀA_T − I‖₂, never above the Frobenius norm ‖A_TᵀA_T − I‖_F, which costs
    a sum of squares. Supports are taken in decreasing Frobenius norm, ``chunk`` at a time, and the search
    stops when no remaining Frobenius norm reaches the largest deviation found: the eigenvalues of a few
    percent of the supports decide it (the same maximum and support as the eigenvalues of all of them).
    """
    A = np.asarray(A, float)
    if A.ndim == 2:
        A = A[None]
    G = np.matmul(A.transpose(0, 2, 1), A)  # (B, d, d)
    T = supports(A.shape[-1], k)
    best = np.full(A.shape[0], -np.inf)
    arg = np.zeros(A.shape[0], dtype=np.intp)
    for b, Gb in enumerate(G):
        E = Gb - np.eye(Gb.shape[0])
        frob = np.sqrt(np.square(E[T[:, :, None], T[:, None, :]]).sum(axis=(1, 2)))   # (C,) ‖A_TᵀA_T − I‖_F
        order = np.argsort(-frob, kind="stable")
        for start in range(0, len(order), chunk):
            idx = order[start:start + chunk]
            idx = idx[frob[idx] >= best[b] * (1 - 1e-9)]          # the rest cannot reach the best (margin: round-off)
            if idx.size == 0:
                break
            ev = np.linalg.eigvalsh(Gb[T[idx, :, None], T[idx, None, :]])
            dev = np.maximum(ev[:, -1] - 1.0, 1.0 - ev[:, 0])
            top = dev.max()
            if top > best[b] or (top == best[b] and idx[dev == top].min() < arg[b]):
                best[b], arg[b] = top, idx[dev == top].min()
    return (best, T[arg]) if return_support else best


def hard_threshold(v: np.ndarray, s: int) -> np.ndarray:
    """H_s along the last axis: keep the s entries of largest modulus (ties broken by index), zero the rest.

    For small s the s largest are found by s passes of argmax (each the first maximum, i.e. the lowest index
    on ties, as a stable sort of −|v| orders them): the same selection, without a sort of every row. The
    entries are then read and written through flat indices (1.3x faster than put/take_along_axis)."""
    if s <= 3:
        d = v.shape[-1]
        rows = np.ascontiguousarray(v).reshape(-1, d)
        a = np.abs(rows)
        out = np.zeros_like(rows)
        start = np.arange(0, rows.size, d)                    # flat index of each row's first entry
        for _ in range(s):
            i = a.argmax(axis=-1) + start
            out.ravel()[i] = rows.ravel()[i]
            a.ravel()[i] = -1.0
        return out.reshape(v.shape)
    idx = np.argsort(-np.abs(v), axis=-1, kind="stable")[..., :s]
    out = np.zeros_like(v)
    np.put_along_axis(out, idx, np.take_along_axis(v, idx, axis=-1), axis=-1)
    return out


@one_blas_thread
def iht(A: np.ndarray, y: np.ndarray, s: int, n_iter: int, x0: np.ndarray | None = None) -> np.ndarray:
    """IHT with unit step, batched: A (B, m, d), y (B, R, m) for R signals per matrix.

    Returns all iterates, shape (n_iter + 1, B, R, d); iterate 0 is x0 (zero by default).
    """
    B, m, d = A.shape
    x = np.zeros(y.shape[:-1] + (d,)) if x0 is None else np.array(x0, float)
    xs = np.empty((n_iter + 1,) + x.shape)
    xs[0] = x
    At = A.transpose(0, 2, 1)
    for k in range(1, n_iter + 1):
        r = y - np.matmul(x, At)                 # (B, R, m)
        x = hard_threshold(x + np.matmul(r, A), s)
        xs[k] = x
    return xs


@one_blas_thread
def step_ratio(A: np.ndarray, z: np.ndarray, x: np.ndarray, s: int) -> np.ndarray:
    """One noiseless IHT step from an arbitrary s-sparse iterate z towards the s-sparse truth x:
    ‖H_s(z + AᵀA(x − z)) − x‖ / ‖z − x‖, batched (A (B, m, d), z and x (B, R, d)) -> (B, R)."""
    G = np.matmul(A.transpose(0, 2, 1), A)
    nxt = hard_threshold(z + np.matmul(x - z, G), s)
    return np.linalg.norm(nxt - x, axis=-1) / np.linalg.norm(z - x, axis=-1)


@one_blas_thread
def adversarial_pairs(A: np.ndarray, support: np.ndarray, s: int, rng, R: int, rounds: int = 8,
                      keep: int = 32):
    """Hard instances for the one-step contraction: pairs (z, x) of s-sparse vectors inside each matrix's
    worst 3s-support (from :func:`rip_constant`), found by random search (R pairs per matrix, scales
    spread over 10^±2) followed by ``rounds`` of perturbing the ``keep`` best pairs.

    ``rng``: a generator (a :func:`sparsebounds.seeds.rng` stream) or anything np.random.default_rng takes.
    Returns (z, x, ratio) for the best pair per matrix: (B, d), (B, d), (B,).
    """
    rng = np.random.default_rng(rng)
    B, d = A.shape[0], A.shape[-1]
    k = support.shape[1]
    perm = np.argsort(rng.random((B, R, k)), axis=-1)
    T = np.take_along_axis(np.broadcast_to(support[:, None, :], (B, R, k)), perm, axis=-1)
    x = np.zeros((B, R, d))
    z = np.zeros((B, R, d))
    np.put_along_axis(x, T[..., :s], rng.standard_normal((B, R, s)), axis=-1)
    np.put_along_axis(z, T[..., s:2 * s], rng.standard_normal((B, R, s)) * 10 ** rng.uniform(-2, 2, (B, R, 1)),
                      axis=-1)
    near = rng.random((B, R, 1)) < 0.5            # half of the iterates start near the truth
    z = hard_threshold(np.where(near, z + x * (1 + 0.1 * rng.standard_normal((B, R, 1))), z), s)
    r = step_ratio(A, z, x, s)
    per = max(R // keep, 1)
    for _ in range(rounds):
        top = np.argsort(-r, axis=1)[:, :keep]                                   # (B, keep)
        zt = np.take_along_axis(z, top[..., None], axis=1)
        xt = np.take_along_axis(x, top[..., None], axis=1)
        zc = np.repeat(zt, per, axis=1)
        xc = np.repeat(xt, per, axis=1)
        zc = zc * (1 + 0.2 * rng.standard_normal(zc.shape))                     # same supports
        xc = xc * (1 + 0.2 * rng.standard_normal(xc.shape))
        rc = step_ratio(A, zc, xc, s)
        z = np.concatenate([zt, zc], axis=1)
        x = np.concatenate([xt, xc], axis=1)
        r = np.concatenate([np.take_along_axis(r, top, axis=1), rc], axis=1)
    best = r.argmax(axis=1)
    i = np.arange(B)
    return z[i, best], x[i, best], r[i, best]


def error_ratios(xs: np.ndarray, x_true: np.ndarray, *, floor: float = 1e-12):
    """Errors ‖x^n − x‖ (n_iter + 1, B, R) and per-step ratios e_{n+1}/e_n where e_n > floor·‖x‖ (NaN else)."""
    err = np.linalg.norm(xs - x_true, axis=-1)
    scale = np.linalg.norm(x_true, axis=-1)
    prev = err[:-1]
    ok = prev > floor * scale
    ratio = np.where(ok, err[1:] / np.where(ok, prev, 1.0), np.nan)
    return err, ratio


# ---------------------------------------------------------------- notebook 06's experiment
# Named random streams (sparsebounds.seeds), j the index of the measurement count m in m_grid, so that changing
# one part (say the noise) leaves the others unchanged: seeds.rng(seed, "design", j, matrix) for the Gaussian
# matrices, (seed, "signal", j, signal kind) for the sparse signals, (seed, "noise", j, signal kind) for the
# measurement noise and (seed, "adversarial", j) for the hard-instance search.
SIGNAL_KINDS = ("gauss", "sign", "decay")


@dataclass(frozen=True)
class IHTResult:
    """Notebook 06's data, one row per Gaussian matrix (``len(m_grid) * n_mats`` rows, m-major: the matrices of
    ``m_grid[0]`` first). n_iter + 1 error values per run (n = 0 .. n_iter); K = len(SIGNAL_KINDS)."""
    m_grid: tuple                # the measurement counts
    m: np.ndarray                # (M,) measurement count of each matrix
    d3: np.ndarray               # (M,) exact δ_3s
    d2: np.ndarray               # (M,) exact δ_2s
    step_traj: np.ndarray        # (M,) largest one-step error ratio over the noiseless IHT runs
    step_adv: np.ndarray         # (M,) the best hard pair's one-step ratio
    conv: np.ndarray             # (M,) fraction of noiseless runs reaching relative error 1e-10
    first_hit: np.ndarray        # (M, K * n_signals) first n with relative error <= eps (n_iter + 1 if never)
    curve: np.ndarray            # (M, n_iter + 1, K * n_signals) relative errors of the noiseless runs
    noisy_error: np.ndarray      # (M, n_iter + 1, n_signals) ‖x^n − x‖ of the noisy runs (Gaussian signals)
    noise_norm: np.ndarray       # (M, n_signals) ‖e‖
    signal_norm: np.ndarray      # (M, n_signals) ‖x‖

    @property
    def step(self) -> np.ndarray:
        """(M,) the largest one-step ratio seen on each matrix (IHT runs and hard pairs)."""
        return np.maximum(self.step_traj, self.step_adv)

    def at(self, m: int) -> np.ndarray:
        """The rows (a boolean mask over matrices) of measurement count m."""
        return self.m == m


def experiment(*, d: int, s: int, m_grid, n_mats: int, n_signals: int, n_iter: int, n_adversarial: int,
               adv_rounds: int, noise: float, eps: float, seed: int) -> IHTResult:
    """Notebook 06: for each m in ``m_grid``, ``n_mats`` Gaussian matrices with exact δ_2s, δ_3s (and the worst
    3s-support); noiseless IHT from 0 on ``n_signals`` signals of each kind; noisy IHT (‖e‖ ≈ ``noise``) on the
    Gaussian signals; the hard-pair search for the one-step ratio. One task per m (:func:`experiment_row`)."""
    tasks = [(d, s, j, m, n_mats, n_signals, n_iter, n_adversarial, adv_rounds, noise, eps, seed)
             for j, m in enumerate(m_grid)]
    rows = map_tasks(experiment_row, tasks)
    cat = lambda key: np.concatenate([r[key] for r in rows])              # noqa: E731
    return IHTResult(m_grid=tuple(int(m) for m in m_grid), m=np.repeat([int(m) for m in m_grid], n_mats),
                     d3=cat("d3"), d2=cat("d2"), step_traj=cat("step_traj"), step_adv=cat("step_adv"),
                     conv=cat("conv"), first_hit=cat("first_hit"),
                     curve=np.concatenate([r["curve"].transpose(1, 0, 2) for r in rows]),
                     noisy_error=np.concatenate([r["noisy"][0].transpose(1, 0, 2) for r in rows]),
                     noise_norm=np.concatenate([r["noisy"][1] for r in rows]),
                     signal_norm=np.concatenate([r["noisy"][2] for r in rows]))


def experiment_row(d: int, s: int, j: int, m: int, n_mats: int, n_signals: int, n_iter: int, n_adversarial: int,
                   adv_rounds: int, noise: float, eps: float, seed: int) -> dict:
    """The rows of :func:`experiment` for the j-th measurement count m (a task of its map: every draw comes from
    the named streams (seed, "design" | "signal" | "noise" | "adversarial", j, ...)). A dict: m, d3, d2
    (n_mats,), step_traj, step_adv, conv (n_mats,), first_hit (n_mats, kinds * n_signals), noisy = (errors
    (n_iter + 1, n_mats, n_signals), ‖e‖, ‖x‖), curve (n_iter + 1, n_mats, kinds * n_signals)."""
    A = sparse_instances.gaussian_designs([seeds.rng(seed, "design", j, i) for i in range(n_mats)], m, d)
    d3, T3 = rip_constant(A, 3 * s, return_support=True)
    d2 = rip_constant(A, 2 * s)
    At = A.transpose(0, 2, 1)
    step_max = np.zeros(n_mats)
    conv = np.zeros(n_mats)
    first_hit = np.zeros((n_mats, len(SIGNAL_KINDS) * n_signals))
    curves, noisy = [], None
    for k, kind in enumerate(SIGNAL_KINDS):
        x = sparse_instances.sparse_signals(seeds.rng(seed, "signal", j, k), n_mats, n_signals, d, s, kind=kind)
        y = np.matmul(x, At)
        err, ratio = error_ratios(iht(A, y, s, n_iter), x)
        step_max = np.maximum(step_max, np.nanmax(np.nan_to_num(ratio, nan=0.0), axis=(0, 2)))
        rel = err / err[0]
        conv += (rel[-1] <= 1e-10).mean(axis=1) / len(SIGNAL_KINDS)
        hit = np.where((rel <= eps).any(axis=0), (rel <= eps).argmax(axis=0), n_iter + 1)
        first_hit[:, k * n_signals:(k + 1) * n_signals] = hit
        curves.append(rel)
        if kind == "gauss":   # noisy runs: y = A x + e with ||e|| ~ noise
            rng = seeds.rng(seed, "noise", j, k)
            e = noise * rng.standard_normal(y.shape) / np.sqrt(m)
            err_n = np.linalg.norm(iht(A, y + e, s, n_iter) - x, axis=-1)     # (n_iter+1, B, R)
            noisy = (err_n, np.linalg.norm(e, axis=-1), np.linalg.norm(x, axis=-1))
    _, _, adv = adversarial_pairs(A, T3, s, seeds.rng(seed, "adversarial", j), n_adversarial, rounds=adv_rounds)
    return dict(m=m, d3=d3, d2=d2, step_traj=step_max, step_adv=adv, conv=conv,
                first_hit=first_hit, noisy=noisy, curve=np.concatenate(curves, axis=2))
