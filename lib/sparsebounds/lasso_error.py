"""Statistical error of the Lasso: nested Gaussian designs, the exact Lasso path, the noise event for λ, the
restricted-eigenvalue constant of the theorem, and the error at the best λ.

Statistical convention (Wainwright 2019, ch. 7): θ̂(λ) minimises (1/2n)‖y − Xθ‖² + λ‖θ‖₁, y = Xθ* + w,
w ~ N(0, σ² I), columns of X normalised to ‖X_j‖₂ = √n. The Lasso is solved exactly by its piecewise-linear
path (LARS with the Lasso modification, Efron, Hastie, Johnstone & Tibshirani, Ann. Statist. 2004), so a
solution carries no iteration count: only round-off.

Named streams (:mod:`sparsebounds.seeds`). A replicate is named by a key (seed, experiment, replicate): the
experiment's seed (one int), the experiment's name (one of THEORY_RUNS, THEORY_RUNS_CORRELATED, BEST_LAMBDA,
NOISE_TAIL) and the replicate's index. Every draw comes from ``seeds.rng(seed, "<experiment>:<what>",
replicate, ...)``, one name per kind of randomness: "design" (the Gaussian entries of X), "factor" (the factor
shared by correlated support columns), "noise" (w), "signs" (the signs of θ*), "cone-starts" (the random starts
of the cone search), "noise-draws" (the noise tail's draws). X and w are drawn in 64 × 64 blocks, each from its
own stream (keys replicate, i, j), so that the design with n rows and p columns is the top-left corner
of every larger one of the same replicate (nested in n and in p: common random numbers along a sweep). The
support is the first s columns (the columns are exchangeable).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.linalg import LinAlgError
from scipy.linalg.lapack import dtrtrs

from . import seeds
from .harness.blas import single_blas_thread

THEORY_RUNS, THEORY_RUNS_CORRELATED = "theory-runs", "theory-runs-correlated"   # experiments (stream names)
BEST_LAMBDA, NOISE_TAIL = "best-lambda", "noise-tail"
BLOCK = 64


def _blocks(key, what: str, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) standard normals, block (i, j) of size BLOCK² from the stream ``what`` of replicate ``key``,
    keys (i, j)."""
    seed, experiment, replicate = key
    nb_r, nb_c = -(-rows // BLOCK), -(-cols // BLOCK)
    out = np.empty((nb_r * BLOCK, nb_c * BLOCK))
    for i in range(nb_r):
        for j in range(nb_c):
            out[i * BLOCK:(i + 1) * BLOCK, j * BLOCK:(j + 1) * BLOCK] = \
                seeds.rng(seed, f"{experiment}:{what}", replicate, i, j).standard_normal((BLOCK, BLOCK))
    return out[:rows, :cols]


def raw_design(key, n: int, p: int, s: int, *, support_correlation: float = 0.0) -> np.ndarray:
    """X (n, p) before the column normalisation. Population covariance: identity, except that the first s
    columns (the support) are equicorrelated with correlation c = ``support_correlation``
    (x_j = √(1−c) z_j + √c g, g shared)."""
    if not (1 <= s <= p) or n < 2 or not 0 <= support_correlation < 1:
        raise ValueError(f"need 1 <= s <= p, n >= 2, 0 <= c < 1; got n={n}, p={p}, s={s}, c={support_correlation}")
    X = _blocks(key, "design", n, p)
    if support_correlation > 0:
        g = _blocks(key, "factor", n, 1)
        X[:, :s] = np.sqrt(1 - support_correlation) * X[:, :s] + np.sqrt(support_correlation) * g
    return X


def normalise(X: np.ndarray) -> np.ndarray:
    """Columns scaled to norm √n."""
    return X * (np.sqrt(X.shape[0]) / np.linalg.norm(X, axis=0))


def design(key, n: int, p: int, s: int, *, support_correlation: float = 0.0) -> np.ndarray:
    """X (n, p) with columns normalised to √n (see :func:`raw_design`); the top-left corner of every larger
    design of the same replicate, before normalisation."""
    return normalise(raw_design(key, n, p, s, support_correlation=support_correlation))


def truth(key, p: int, s: int, amplitude: float, *, balanced: bool = False) -> np.ndarray:
    """θ* (p,): ±amplitude on the first s coordinates. Random signs (stream "signs", nested in s), or, with
    ``balanced``, alternating signs + − + − … (summing to 0 for even s: the direction in which equicorrelated
    support columns are worst conditioned)."""
    t = np.zeros(p)
    if balanced:
        sg = np.where(np.arange(s) % 2 == 0, 1.0, -1.0)
    else:
        seed, experiment, replicate = key
        sg = seeds.rng(seed, f"{experiment}:signs", replicate).choice([-1.0, 1.0], size=max(s, BLOCK))[:s]
    t[:s] = amplitude * sg
    return t


def noise(key, n: int, sigma: float) -> np.ndarray:
    """w (n,) ~ N(0, σ²), nested in n."""
    return sigma * _blocks(key, "noise", n, 1)[:, 0]


def instance(key, n: int, p: int, s: int, *, sigma: float = 1.0, amplitude: float = 1.0,
             support_correlation: float = 0.0, balanced: bool = False):
    """(X, y, θ*, w) of one replicate ``key`` = (seed, experiment, replicate)."""
    X = design(key, n, p, s, support_correlation=support_correlation)
    th = truth(key, p, s, amplitude, balanced=balanced)
    w = noise(key, n, sigma)
    return X, X @ th + w, th, w


# ---------------------------------------------------------------- the exact Lasso path
def lasso_path(X: np.ndarray, y: np.ndarray, *, lam_stop: float = 0.0, theta_star: np.ndarray | None = None,
               stop_error_ratio: float = np.inf, stop_lam_ratio: float = 0.0, max_steps: int | None = None):
    """The Lasso path θ̂(λ) for λ from max|Xᵀy/n| down to ``lam_stop`` (LARS with the Lasso modification:
    a variable leaves the active set when its coefficient crosses zero). Between breakpoints θ̂ is linear in λ;
    the active Gram matrix is kept as a Cholesky factor, updated when a variable enters.

    Returns a dict: ``theta`` = θ̂(lam_stop) (or at the last breakpoint reached), ``lam`` = that λ, ``steps``.
    With ``theta_star``: also ``best_error`` = min over the λ visited of ‖θ̂(λ) − θ*‖₂ (exact: the error is
    quadratic in λ on each segment), ``best_lam`` and ``best_kkt``, the :func:`kkt_violation` of θ̂ there (recomputed
    from the residual: round-off when the path is the Lasso's); the path stops early once the error exceeds
    ``stop_error_ratio`` × the running minimum *and* λ is below ``stop_lam_ratio`` × the λ of that minimum."""
    n, p = X.shape
    c = X.T @ y / n                                        # correlations with the residual, times 1/n
    lam = float(np.abs(c).max())
    theta = np.zeros(p)
    active: list[int] = [int(np.argmax(np.abs(c)))]
    j0 = active[0]
    L = np.array([[np.sqrt(X[:, j0] @ X[:, j0] / n)]])  # Cholesky factor of X_AᵀX_A/n
    XA_buf = np.empty((min(n, p), n))                     # rows: the active columns, in order
    XA_buf[0] = X[:, j0]
    max_steps = max_steps if max_steps is not None else 8 * min(n, p) + 8
    best = {"best_error": np.inf, "best_lam": lam, "best_theta": theta}

    def track(theta0, d_full, lam0, gamma_max):
        """Minimum of ‖θ0 + γ d − θ*‖ over γ in [0, gamma_max] (λ = lam0 − γ)."""
        if theta_star is None:
            return
        e0 = theta0 - theta_star
        dd = float(d_full @ d_full)
        g = 0.0 if dd == 0 else min(max(-float(e0 @ d_full) / dd, 0.0), gamma_max)
        err = float(np.linalg.norm(e0 + g * d_full))
        if err < best["best_error"]:
            best["best_error"], best["best_lam"], best["best_theta"] = err, lam0 - g, theta0 + g * d_full

    track(theta, np.zeros(p), lam, 0.0)
    steps = 0
    while lam > lam_stop and steps < max_steps:
        steps += 1
        A = np.array(active)
        sgn = np.sign(c[A])
        XA = XA_buf[:len(active)]                          # (k, n) view
        d = _lower_solve(L, _lower_solve(L, sgn), transpose=True)   # dθ_A / d(−λ) = (X_AᵀX_A/n)⁻¹ sgn
        a = X.T @ (d @ XA) / n                             # dc / d(−λ); a_A = sgn
        # next breakpoint: an inactive correlation reaches ±(λ − γ), or an active coefficient hits 0
        g_in = np.minimum(_first_hit(lam - c, 1 - a), _first_hit(lam + c, 1 + a))
        g_in[A] = np.inf
        j_in = int(np.argmin(g_in))
        g_out = _first_hit(theta[A] * sgn, -d * sgn)        # |θ_j| shrinks when d_j has the sign opposite to θ_j's
        k_out = int(np.argmin(g_out))
        gamma = min(g_in[j_in], g_out[k_out], lam - lam_stop)
        d_full = np.zeros(p)
        d_full[A] = d
        track(theta, d_full, lam, gamma)
        theta = theta + gamma * d_full
        c = c - gamma * a
        lam = lam - gamma
        if lam <= lam_stop * (1 + 1e-12) or lam <= 0:
            break
        if theta_star is not None \
                and float(np.linalg.norm(theta - theta_star)) > stop_error_ratio * best["best_error"] \
                and lam < stop_lam_ratio * best["best_lam"]:
            break
        if g_out[k_out] <= g_in[j_in]:                     # a coefficient crossed zero: it leaves
            theta[A[k_out]] = 0.0
            active.pop(k_out)
            XA_buf[:len(active)] = X[:, active].T
            XA = XA_buf[:len(active)]
            L = np.linalg.cholesky(XA @ XA.T / n)
        else:                                              # a new variable enters: extend the factor
            if len(active) >= min(n, p):
                break
            xj = X[:, j_in]
            l12 = _lower_solve(L, XA @ xj / n)
            l22 = np.sqrt(max(xj @ xj / n - l12 @ l12, 1e-300))
            k = L.shape[0]
            L2 = np.zeros((k + 1, k + 1))
            L2[:k, :k], L2[k, :k], L2[k, k] = L, l12, l22
            L = L2
            XA_buf[len(active)] = xj
            active.append(j_in)
    out = {"theta": theta, "lam": max(lam, lam_stop), "steps": steps}
    if theta_star is not None:
        out.update(best_error=best["best_error"], best_lam=best["best_lam"],
                   best_kkt=kkt_violation(X, y, best["best_theta"], best["best_lam"]))
    return out


def _lower_solve(L: np.ndarray, b: np.ndarray, *, transpose: bool = False) -> np.ndarray:
    """x with L x = b (Lᵀ x = b with ``transpose``), L lower triangular: LAPACK's trtrs called exactly as
    ``scipy.linalg.solve_triangular`` calls it (the same bits), without its checks and batching, which cost
    ~40 µs a call, two calls a breakpoint: a third of the path's time at notebook 05's sizes."""
    if L.flags.f_contiguous:
        x, info = dtrtrs(L, b, lower=1, trans=int(transpose))
    else:                                                   # trtrs reads Fortran order: solve with Lᵀ
        x, info = dtrtrs(L.T, b, lower=0, trans=int(not transpose))
    if info != 0:
        raise LinAlgError(f"trtrs failed (info {info}): the active Gram matrix is singular")
    return x


def _first_hit(gap: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """The step γ ≥ 0 at which a gap closing at ``rate`` per unit of γ reaches 0: gap/rate where the gap closes
    (rate > 0), ∞ where it does not. The decision is made on the sign of the rate, never on the sign of a
    gap that is zero up to round-off: a variable that has just left the active set sits on the boundary
    (gap ±1e-16) and must not re-enter when its correlation moves inward, whichever side round-off put it on
    (a threshold on γ, such as γ > 1e-14, lets it back in when the rate is small, and the path is lost)."""
    closing = rate > 0
    return np.where(closing, np.maximum(gap, 0.0) / np.where(closing, rate, 1.0), np.inf)


def solve(X: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """θ̂(λ): the Lasso path followed down to λ. Raises if the path ended above λ (its step limit, or an active
    set as large as min(n, p)): the last breakpoint is not θ̂(λ)."""
    with single_blas_thread():
        r = lasso_path(X, y, lam_stop=lam)
    if r["lam"] > lam * (1 + 1e-12):
        raise RuntimeError(f"the Lasso path ended at lambda = {r['lam']:.6g} after {r['steps']} steps, above the "
                           f"lambda = {lam:.6g} asked for")
    return r["theta"]


def best_error(X: np.ndarray, y: np.ndarray, theta_star: np.ndarray):
    """(min over λ of ‖θ̂(λ) − θ*‖₂, the λ attaining it, the KKT violation of θ̂ there): the error of the Lasso at
    its best λ (an oracle choice, made with θ*, so that no hand-set λ enters the error). The path is followed
    until the error is 10 % above its running minimum with λ 10 % below that minimum's λ: the risk of soft
    thresholding is convex in the threshold (notebook 07's J); it returned the minimum of the whole path on pilot
    designs (other seeds) and on all 1,500 data sets of notebook 05's full profile (worst excess 2e-15)."""
    with single_blas_thread():
        r = lasso_path(X, y, theta_star=theta_star, stop_error_ratio=1.1, stop_lam_ratio=0.9)
    return r["best_error"], r["best_lam"], r["best_kkt"]


# ---------------------------------------------------------------- checks of a solution
def kkt_violation(X: np.ndarray, y: np.ndarray, theta: np.ndarray, lam: float) -> float:
    """max_j of the optimality-condition violation, relative to λ: for θ_j ≠ 0, |X_jᵀ(y − Xθ)/n − λ sign θ_j|;
    for θ_j = 0, (|X_jᵀ(y − Xθ)/n| − λ)₊. Zero at the exact minimiser (round-off for the path solution)."""
    g = X.T @ (y - X @ theta) / X.shape[0]
    viol = np.where(theta != 0, np.abs(g - lam * np.sign(theta)), np.maximum(np.abs(g) - lam, 0.0))
    return float(viol.max() / lam)


def noise_level(X: np.ndarray, w: np.ndarray) -> float:
    """‖Xᵀw/n‖_∞: the event of the theorem is λ ≥ 2·this."""
    return float(np.abs(X.T @ w).max() / X.shape[0])


def cone_ratio(delta: np.ndarray, support: np.ndarray) -> float:
    """‖Δ_{S^c}‖₁ / ‖Δ_S‖₁ (the cone condition of the theorem says ≤ 3)."""
    on = np.zeros(delta.shape[-1], bool)
    on[support] = True
    return float(np.abs(delta[~on]).sum() / np.abs(delta[on]).sum())


def shrinkage_decomposition(X: np.ndarray, w: np.ndarray, theta_star: np.ndarray, lam: float):
    """(bias, noise) parts of the Lasso error when θ̂ has the support and signs of θ*: then the optimality
    conditions on S give exactly θ̂_S − θ*_S = G⁻¹(X_Sᵀw/n) − λ G⁻¹ sgn θ*_S, G = X_SᵀX_S/n.
    Returns the two vectors (p,) (zero off S)."""
    n = X.shape[0]
    S = np.flatnonzero(theta_star)
    G = X[:, S].T @ X[:, S] / n
    bias, noise_part = np.zeros_like(theta_star), np.zeros_like(theta_star)
    bias[S] = -lam * np.linalg.solve(G, np.sign(theta_star[S]))
    noise_part[S] = np.linalg.solve(G, X[:, S].T @ w / n)
    return bias, noise_part


# ---------------------------------------------------------------- the restricted-eigenvalue constant
def re_constant_upper(X: np.ndarray, support: np.ndarray, key, *, starts=(), n_dirs: int = 32,
                      n_steps: int = 60, c: float = 3.0) -> float:
    """An upper estimate of the theorem's restricted-eigenvalue constant
    κ(S) = min { ‖XΔ‖²/(n‖Δ‖²) : ‖Δ_{S^c}‖₁ ≤ c‖Δ_S‖₁ } for the true support S: the smallest Rayleigh quotient
    found by projected gradient from ``n_dirs`` random directions (stream "cone-starts"), the lowest eigenvector of
    X_SᵀX_S/n, and ``starts`` (e.g. the Lasso's own error). Every point evaluated lies in the cone, so the value
    is ≥ κ(S): a bound 3√sλ/κ computed with it is *smaller* than the theorem's (a conservative check)."""
    n, p = X.shape
    G = X.T @ X / n
    on = np.zeros(p, bool)
    on[support] = True
    seed, experiment, replicate = key
    rng = seeds.rng(seed, f"{experiment}:cone-starts", replicate)
    ev = np.zeros(p)
    ev[on] = np.linalg.eigh(G[np.ix_(on, on)])[1][:, 0]
    D = np.vstack([rng.standard_normal((n_dirs, p)), ev[None], *[np.atleast_2d(x) for x in starts]])
    D = _project_cone(D, on, c)
    step = 0.5 / np.linalg.norm(G, 2)
    best = _rayleigh(D, G).min()
    with single_blas_thread():
        for _ in range(n_steps):
            q = _rayleigh(D, G)
            D = _project_cone(D - step * (D @ G - q[:, None] * D), on, c)
            D /= np.linalg.norm(D, axis=1, keepdims=True)
            best = min(best, _rayleigh(D, G).min())
    return float(best)


def _rayleigh(D: np.ndarray, G: np.ndarray) -> np.ndarray:
    return ((D @ G) * D).sum(1) / (D ** 2).sum(1)


def _project_cone(D: np.ndarray, on: np.ndarray, c: float) -> np.ndarray:
    """Shrink the off-support part so that ‖D_{S^c}‖₁ ≤ c‖D_S‖₁ holds (a map into the cone)."""
    a = np.abs(D[:, on]).sum(1, keepdims=True)
    b = np.abs(D[:, ~on]).sum(1, keepdims=True)
    scale = np.minimum(1.0, c * a / np.maximum(b, 1e-300))
    return np.where(on, D, D * scale)


# ---------------------------------------------------------------- the notebook's experiments
def theory_lambda_runs(seed: int, n_seeds: int, n: int, p: int, s: int, lam: float, *, sigma: float,
                       amplitude: float, support_correlation: float = 0.0, balanced: bool = False,
                       cone_dirs: int = 16, cone_steps: int = 60) -> dict:
    """At the theorem's λ, per replicate (seed, THEORY_RUNS, k), k < n_seeds: error ‖θ̂ − θ*‖, the event
    λ ≥ 2‖Xᵀw/n‖_∞, the cone ratio, κ̂ at the error, the upper estimate of the theorem's κ(S), the KKT
    violation, sign recovery, Δ on S beside the shrinkage decomposition (noise part + bias) on S, and the bias
    fraction ‖bias‖/‖Δ‖ (the correlated designs are the replicates of their own experiment,
    THEORY_RUNS_CORRELATED)."""
    keys = ("err", "event", "cone", "kappa_hat", "kappa", "kkt", "signs_ok", "delta_S", "decomp_S", "bias_frac")
    out = {k: [] for k in keys}
    experiment = THEORY_RUNS_CORRELATED if support_correlation > 0 else THEORY_RUNS
    for k in range(n_seeds):
        key = (seed, experiment, k)
        X, y, th, w = instance(key, n, p, s, sigma=sigma, amplitude=amplitude,
                               support_correlation=support_correlation, balanced=balanced)
        est = solve(X, y, lam)
        D = est - th
        e = float(np.linalg.norm(D))
        S = np.flatnonzero(th)
        bias, nz = shrinkage_decomposition(X, w, th, lam)
        out["err"].append(e)
        out["event"].append(lam >= 2 * noise_level(X, w))
        out["cone"].append(cone_ratio(D, S))
        out["kappa_hat"].append(float(np.sum((X @ D) ** 2) / (n * e * e)))
        out["kappa"].append(re_constant_upper(X, S, key, starts=[D], n_dirs=cone_dirs, n_steps=cone_steps))
        out["kkt"].append(kkt_violation(X, y, est, lam))
        out["signs_ok"].append(bool(np.array_equal(np.sign(est), np.sign(th))))
        out["delta_S"].append(D[S])
        out["decomp_S"].append((bias + nz)[S])
        out["bias_frac"].append(float(np.linalg.norm(bias) / e))
    return {k: np.array(v) for k, v in out.items()}


THEORY_POINT = (400, 200, 4)   # (n, p, s) of the runs at the theorem's λ


def sweep_points(n_grid, p_grid, s_grid, *, p_of_n: int = 200, s_of_n: int = 4, n_of_p: int = 200, s_of_p: int = 4,
                 n_of_s: int = 400, p_per_s: int = 32) -> dict:
    """The three sweeps of notebook 05 as lists of (n, p, s): n at fixed (p, s); p at fixed (n, s); s at fixed n
    with p = p_per_s·s (fixed s/p)."""
    return {"n": [(n, p_of_n, s_of_n) for n in n_grid], "p": [(n_of_p, p, s_of_p) for p in p_grid],
            "s": [(n_of_s, p_per_s * s, s) for s in s_grid]}


def best_error_sweeps(seed: int, n_seeds: int, sweeps: dict, *, sigma: float, amplitude: float):
    """(errors, kkt): the Lasso's error at its best λ, (n_seeds,) per (n, p, s) point, replicates
    (seed, BEST_LAMBDA, k), and the largest KKT violation (relative to λ) of those solutions. Along a sweep one
    replicate's designs are nested (each is the top-left corner of the largest, as :func:`instance` would draw
    it): the largest is drawn once and cut."""
    out, kkt = {}, 0.0
    for pts in sweeps.values():
        n_max, p_max, s_max = (max(q[i] for q in pts) for i in range(3))
        errs = {q: [] for q in pts}
        for k in range(n_seeds):
            key = (seed, BEST_LAMBDA, k)
            R = raw_design(key, n_max, p_max, s_max)
            W = noise(key, n_max, sigma)
            for (n, p, s) in pts:
                X = normalise(R[:n, :p])
                th = truth(key, p, s, amplitude)
                err, _, violation = best_error(X, X @ th + W[:n], th)
                errs[(n, p, s)].append(err)
                kkt = max(kkt, violation)
        out.update({q: np.array(v) for q, v in errs.items()})
    return out, kkt


def noise_tail(seed: int, n: int, p: int, sigma: float, n_noise: int, t_grid) -> np.ndarray:
    """Empirical P(‖Xᵀw/n‖_∞ ≥ t) over ``n_noise`` noise draws on one design (replicate (seed, NOISE_TAIL, 0);
    the draws come from its stream "noise-draws")."""
    key = (seed, NOISE_TAIL, 0)
    X = design(key, n, p, 1)
    W = sigma * seeds.rng(seed, f"{NOISE_TAIL}:noise-draws", 0).standard_normal((n_noise, n))
    zmax = np.abs(W @ X).max(axis=1) / n
    return (zmax[:, None] >= np.asarray(t_grid)[None, :]).mean(axis=0)


NOISE_TAIL_GRID = np.linspace(0.15, 0.27, 13)   # thresholds t of the noise tail (around the theorem's λ/2)


@dataclass(frozen=True)
class LassoErrorResult:
    """Notebook 05's simulation: the runs at the theorem's λ, the noise tail and the best-λ sweeps."""
    point: tuple[int, int, int]                       # (n, p, s) of the runs at the theorem's λ
    lam: float                                        # the theorem's λ there
    runs: dict[str, dict[str, np.ndarray]]            # design family -> :func:`theory_lambda_runs`
    t_grid: np.ndarray                                # thresholds of the noise tail
    tail: np.ndarray                                  # empirical P(‖Xᵀw/n‖_∞ ≥ t), one per threshold
    sweeps: dict[str, list[tuple[int, int, int]]]     # "n", "p", "s" -> the (n, p, s) points of the sweep
    best: dict[tuple[int, int, int], np.ndarray]      # (n, p, s) -> error at the best λ, (n_seeds_best,)
    best_kkt: float                                   # largest KKT violation / λ of those best-λ solutions


def experiment(*, lam_of: Callable, n_seeds: int, n_seeds_best: int, sigma: float, amplitude: float, eta: float,
               support_correlation: float, n_grid, p_grid, s_grid, n_noise: int, cone_dirs: int, cone_steps: int,
               seed: int) -> LassoErrorResult:
    """Notebook 05's experiment, keyword arguments named as its parameters. ``lam_of(sigma, n, p, eta)`` is the
    theorem's λ as the notebook derived it (it is evaluated at :data:`THEORY_POINT`). Two families of
    ``n_seeds`` designs at that λ (isotropic; support columns equicorrelated at ``support_correlation`` with
    alternating signs), the noise tail over ``n_noise`` draws, and the three best-λ sweeps of
    :func:`sweep_points` with ``n_seeds_best`` data sets per point."""
    n0, p0, s0 = THEORY_POINT
    lam = float(lam_of(sigma, n0, p0, eta))
    families = {"isotropic": dict(support_correlation=0.0, balanced=False),
                f"support columns correlated {support_correlation:g}": dict(support_correlation=support_correlation,
                                                                              balanced=True)}
    runs = {name: theory_lambda_runs(seed, n_seeds, n0, p0, s0, lam, sigma=sigma, amplitude=amplitude,
                                     cone_dirs=cone_dirs, cone_steps=cone_steps, **kw)
            for name, kw in families.items()}
    t_grid = NOISE_TAIL_GRID.copy()
    tail = noise_tail(seed, n0, p0, sigma, n_noise, t_grid)
    sweeps = sweep_points(n_grid, p_grid, s_grid)
    best, best_kkt = best_error_sweeps(seed, n_seeds_best, sweeps, sigma=sigma, amplitude=amplitude)
    return LassoErrorResult(THEORY_POINT, lam, runs, t_grid, tail, sweeps, best, best_kkt)


def collapse_spread(errors: dict, rate) -> float:
    """max/min over the points of the geometric-mean error divided by ``rate(n, p, s)``."""
    v = np.array([np.exp(np.mean(np.log(e / rate(*k)))) for k, e in errors.items()])
    return float(v.max() / v.min())


def spread_if_exact(points, rate, alternative) -> float:
    """The spread the normalisation ``alternative`` would show if the errors were exactly C·rate."""
    v = np.array([rate(*k) / alternative(*k) for k in points])
    return float(v.max() / v.min())


def collapse_tolerance(points, rate, alternatives: dict) -> float:
    """T = √(min over the wrong alternatives of :func:`spread_if_exact`): the geometric midpoint between a perfect
    collapse (spread 1) and the spread of the nearest wrong normalisation. Fixed by the grid, before any data."""
    return float(np.sqrt(min(spread_if_exact(points, rate, f) for f in alternatives.values())))
