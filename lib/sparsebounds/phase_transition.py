"""The ℓ1 phase transition: statistical dimension of the ℓ1 descent cone, basis pursuit, success grids, and the
spread of the intrinsic volumes that sets the width of the transition.

ψ(ρ) = inf_{τ≥0} ρ(1+τ²) + (1−ρ)·2[(1+τ²)Q(τ) − τφ(τ)]  (Amelunxen, Lotz, McCoy & Tropp 2014): basis pursuit
recovers an s-sparse x ∈ R^d from m Gaussian measurements w.h.p. when m > d·ψ(s/d), fails when below.
The squared distance of a Gaussian vector to the polar of the ℓ1 descent cone, min_τ Σ_S (g_i − τ sgn_i)² +
Σ_{S^c} (|g_i| − τ)₊², has mean δ (the statistical dimension) and variance Var(V) + 2δ, V the intrinsic-volume
random variable of the cone (McCoy & Tropp 2014); :func:`descent_cone_sqdist` computes it exactly per sample.
Basis pursuit min ‖z‖₁ s.t. Az = y is solved as an LP (z = u − v, u, v ≥ 0) with HiGHS. The search for an
instance's critical m keeps one HiGHS model (``highspy``) and adds rows or switches them on and off as m
moves, re-solving from the previous basis (:class:`WarmBasisPursuit`: under a third of the time of a fresh
``scipy.optimize.linprog`` per LP, with the same critical m on every instance of the default and full profiles).
Every search is an independent task seeded by its identity (seed, stream name, d, s, trial;
:mod:`sparsebounds.seeds`), run through :func:`sparsebounds.tasks.map_tasks`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, linprog
from scipy.special import erfc

from . import seeds, sparse_instances
from .tasks import default_chunksize, map_tasks

SQRT2 = np.sqrt(2.0)


# ---------------------------------------------------------------- statistical dimension (reference numerics)
def psi_objective(tau, rho):
    """ρ(1+τ²) + (1−ρ)·[(1+τ²)·erfc(τ/√2) − τ√(2/π)e^{−τ²/2}] (the Gaussian integral in closed form)."""
    tau = np.asarray(tau, float)
    return rho * (1 + tau**2) + (1 - rho) * ((1 + tau**2) * erfc(tau / SQRT2)
                                             - tau * np.sqrt(2 / np.pi) * np.exp(-tau**2 / 2))


def psi_stationarity(tau, rho):
    """Half the τ-derivative of :func:`psi_objective`: ρτ − (1−ρ)[√(2/π)e^{−τ²/2} − τ·erfc(τ/√2)]."""
    return rho * tau - (1 - rho) * (np.sqrt(2 / np.pi) * np.exp(-tau**2 / 2) - tau * erfc(tau / SQRT2))


def minimise_over_tau(objective, stationarity, rho, tau_max: float = 12.0):
    """ψ(ρ) = objective(τ*, ρ) with τ* the root of ``stationarity`` in (0, tau_max) (brentq); the objective is
    convex in τ, so the stationary point is the minimiser. Returns (ψ, τ*)."""
    if not 0 < rho < 1:
        raise ValueError(f"need 0 < rho < 1, got {rho}")
    t = brentq(lambda u: float(stationarity(u, rho)), 0.0, tau_max, xtol=1e-14, rtol=1e-14)
    return float(objective(t, rho)), t


def psi(rho, objective=psi_objective, stationarity=psi_stationarity) -> np.ndarray:
    """ψ at each ρ in (0, 1) (vectorised over ρ by a loop of 1-D root finds)."""
    r = np.atleast_1d(np.asarray(rho, float))
    return np.array([minimise_over_tau(objective, stationarity, x)[0] for x in r]).reshape(np.shape(rho))


def inverse_curve(delta, psi_fn=psi) -> np.ndarray:
    """The sparsity fraction ρ_s = s/d at which d·ψ(ρ_s) = m, for each undersampling δ = m/d in (0, 1):
    the predicted transition curve; s/m = ρ_s/δ is the Donoho–Tanner ordinate."""
    out = []
    for dl in np.atleast_1d(np.asarray(delta, float)):
        out.append(brentq(lambda r: float(psi_fn(r)) - dl, 1e-12, 1 - 1e-12, xtol=1e-14, rtol=1e-14))
    return np.array(out).reshape(np.shape(delta))


def dmm_curve(delta, z_max: float = 20.0, n_grid: int = 4001) -> np.ndarray:
    """Second route: Donoho, Maleki & Montanari (PNAS 2009), the minimax-MSE threshold of soft thresholding:
    ρ(δ) = max_z [1 − (2/δ)((1+z²)Φ(−z) − zφ(z))] / [1 + z² − 2((1+z²)Φ(−z) − zφ(z))], ρ = s/m.
    The max over z is found on a grid, then refined by a golden-section search."""
    def g(z, dl):
        tail = (1 + z**2) * 0.5 * erfc(z / SQRT2) - z * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
        with np.errstate(divide="ignore", invalid="ignore"):      # z = 0: denominator 0, ratio -> -inf
            return np.where(z > 0, (1 - 2 / dl * tail) / (1 + z**2 - 2 * tail), -np.inf)

    zs = np.linspace(0, z_max, n_grid)
    out = []
    for dl in np.atleast_1d(np.asarray(delta, float)):
        i = int(np.argmax(g(zs, dl)))
        lo, hi = zs[max(i - 1, 0)], zs[min(i + 1, n_grid - 1)]
        gr = (np.sqrt(5) - 1) / 2
        for _ in range(100):
            a, b = hi - gr * (hi - lo), lo + gr * (hi - lo)
            if g(a, dl) > g(b, dl):
                hi = b
            else:
                lo = a
        out.append(g((lo + hi) / 2, dl))
    return np.array(out).reshape(np.shape(delta))


# ---------------------------------------------------------------- basis pursuit
def basis_pursuit(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min ‖z‖₁ s.t. Az = y as the LP min 1ᵀ(u+v) s.t. A(u−v) = y, u, v ≥ 0 (HiGHS). NaNs if it fails."""
    m, d = A.shape
    res = linprog(np.ones(2 * d), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        return np.full(d, np.nan)
    return res.x[:d] - res.x[d:]


class WarmBasisPursuit:
    """Basis pursuit from the first m rows of a fixed design, for a changing m: one HiGHS model whose rows are
    added as m first grows past them, then switched off (made free, −∞ ≤ A_i z ≤ ∞) when m falls below them and
    back on (A_i z = y_i) when it rises again. Each re-solve starts from the previous basis (dual simplex after
    switching rows on, primal after switching them off) instead of from scratch. Switching off keeps the basis
    whole: deleting the rows instead left HiGHS a basis to repair, 1.3–1.5× slower per search at d = 400.

    ``solve(m)`` returns min ‖z‖₁ s.t. A[:m] z = y[:m], or NaNs if HiGHS does not report an optimum."""

    def __init__(self, A: np.ndarray, y: np.ndarray):
        import highspy

        self.A, self.y = np.asarray(A, float), np.asarray(y, float)
        self.d = self.A.shape[1]
        self.m = 0                                       # rows [0, m) are on
        self.rows = 0                                    # rows in the model; [m, rows) are off
        self._inf = highspy.kHighsInf
        self._status_ok = highspy.HighsModelStatus.kOptimal
        h = self.h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")   # nothing to remove in a dense LP: 14 % faster, the same 1,680 critical m
        n = 2 * self.d
        h.addCols(n, np.ones(n), np.zeros(n), np.full(n, highspy.kHighsInf), 0, np.zeros(0, np.int32),
                  np.zeros(0, np.int32), np.zeros(0))
        self._cols = np.arange(n, dtype=np.int32)

    def _switch(self, lo: int, hi: int, on: bool):
        """Rows [lo, hi) on (A_i z = y_i) or off (free)."""
        if hi > lo:
            idx = np.arange(lo, hi, dtype=np.int32)
            if on:
                lower = upper = self.y[lo:hi]
            else:
                upper = np.full(hi - lo, self._inf)
                lower = -upper
            self.h.changeRowsBounds(idx.size, idx, lower, upper)

    def solve(self, m: int) -> np.ndarray:
        d, h = self.d, self.h
        if m > self.m:
            self._switch(self.m, min(m, self.rows), on=True)
            if m > self.rows:                            # rows [A_i, −A_i] (z = u − v), A_i(u − v) = y_i
                k = m - self.rows
                rows = self.A[self.rows:m]
                vals = np.concatenate([rows, -rows], axis=1).ravel()
                y = self.y[self.rows:m]
                h.addRows(k, y, y, vals.size, (np.arange(k) * 2 * d).astype(np.int32), np.tile(self._cols, k), vals)
                self.rows = m
        else:
            self._switch(m, self.m, on=False)
        self.m = m
        h.run()
        if h.getModelStatus() != self._status_ok:
            return np.full(d, np.nan)
        v = np.asarray(h.getSolution().col_value)
        return v[:d] - v[d:]


# Named random streams (sparsebounds.seeds), independent of each other: the instances of the transition lines
# and those of the phase diagram, each keyed by (d, s, trial).
LINES, DIAGRAM = "line instance", "diagram instance"


def instance(seed: int, d: int, s: int, trial: int, stream: str = LINES):
    """One instance from its own named stream ``seeds.rng(seed, stream, d, s, trial)`` (``stream`` LINES or
    DIAGRAM), drawn in this order by :mod:`sparsebounds.sparse_instances`: a (d, d) N(0, 1) matrix whose first
    m rows are the m-measurement design (row scaling does not change basis pursuit), then x s-sparse with N(0, 1)
    values on a uniform support. Nested designs make success monotone in m (more rows, smaller feasible set)."""
    rng = seeds.rng(seed, stream, d, s, trial)
    A = sparse_instances.gaussian_design(rng, d, d, variance="1")
    return A, sparse_instances.sparse_signal(rng, d, s, kind="gauss")


def recovered(A: np.ndarray, x: np.ndarray, m: int, tol: float = 1e-5) -> bool:
    """Basis pursuit from the first m rows of A recovers x: ‖x̂ − x‖₂ ≤ tol·‖x‖₂."""
    xh = basis_pursuit(A[:m], A[:m] @ x)
    return bool(np.linalg.norm(xh - x) <= tol * np.linalg.norm(x))


def successes(seed: int, d: int, m: int, s: int, trials: int, tol: float = 1e-5, stream: str = LINES) -> np.ndarray:
    """Booleans (trials,): basis pursuit with m measurements recovered x, one LP per trial."""
    out = np.zeros(trials, bool)
    for t in range(trials):
        A, x = instance(seed, d, s, t, stream)
        out[t] = recovered(A, x, m, tol)
    return out


def critical_m(seed: int, d: int, s: int, trial: int, guess: float, step: int, tol: float = 1e-5,
               stream: str = LINES, warm: bool = True) -> int:
    """The smallest m at which basis pursuit recovers the instance (success is monotone in m; at m = d the
    square Gaussian design is invertible, so it is at most d). Galloping search from ``guess`` by ``step``,
    doubling, then bisection: about 2 + log2(step) + a few LPs, warm-started from one another
    (:class:`WarmBasisPursuit`); ``warm=False`` solves each LP from scratch (:func:`recovered`)."""
    A, x = instance(seed, d, s, trial, stream)
    ok = {}
    if warm:
        bp, bound = WarmBasisPursuit(A, A @ x), tol * np.linalg.norm(x)

        def success(m):
            return bool(np.linalg.norm(bp.solve(m) - x) <= bound)
    else:
        def success(m):
            return recovered(A, x, m, tol)

    def test(m):
        m = int(min(max(m, 1), d))
        if m not in ok:
            ok[m] = success(m)
        return ok[m]

    c = int(min(max(round(guess), 1), d))
    h = max(int(step), 1)
    if test(c):                        # walk down until a failure (or m = 1)
        b, a = c, c - h
        while a >= 1 and test(a):
            b, h = a, 2 * h
            a = b - h
        a = max(a, 0)                  # m = 0 "fails"
    else:                              # walk up until a success (m = d always succeeds)
        a, b = c, min(c + h, d)
        while not test(b):
            a, h = b, 2 * h
            b = min(a + h, d)
    while b - a > 1:                   # invariant: fails at a, succeeds at b
        mid = (a + b) // 2
        if test(mid):
            b = mid
        else:
            a = mid
    return b


def search_tasks(seed: int, d: int, s: int, trials: int, guess: float, step: int, tol: float = 1e-5,
                 stream: str = LINES) -> list[tuple]:
    """The arguments of :func:`critical_m` for ``trials`` independent instances: each task carries its own
    identity (seed, d, s, trial, stream), from which the instance is drawn."""
    return [(int(seed), int(d), int(s), t, float(guess), int(step), float(tol), str(stream)) for t in range(trials)]


def critical_ms(seed: int, d: int, s: int, trials: int, guess: float, step: int, tol: float = 1e-5,
                stream: str = LINES) -> np.ndarray:
    """Critical measurement counts (trials,) of independent instances; P(success at m) = mean(m_crit <= m)."""
    tasks = search_tasks(seed, d, s, trials, guess, step, tol, stream)
    return np.array(map_tasks(critical_m, tasks, chunksize=default_chunksize(len(tasks))), int)


def _run_searches(groups: list[list[tuple]]) -> list[np.ndarray]:
    """Every search of every group as one map (so that a cluster sees them all at once); per group (T,)."""
    flat = [t for g in groups for t in g]
    found = map_tasks(critical_m, flat, chunksize=default_chunksize(len(flat)))
    out, i = [], 0
    for g in groups:
        out.append(np.array(found[i:i + len(g)], int))
        i += len(g)
    return out


def transition_lines(seed: int, d_list, rho_list, trials: int, tol: float = 1e-5, psi_fn=psi) -> list[dict]:
    """Notebook 07's lines: for each d and s = round(ρd), the critical m of ``trials`` instances (stream LINES),
    searched from d·ψ(s/d) in steps of ⌈√d/2⌉; with the 50 % point (median) and the width (std)."""
    lines = []
    for d in d_list:
        for r in rho_list:
            s = max(1, int(round(r * d)))
            lines.append((d, s, d * float(psi_fn(s / d))))
    found = _run_searches([search_tasks(seed, d, s, trials, m_star, int(np.ceil(np.sqrt(d) / 2)), tol)
                           for d, s, m_star in lines])
    out = []
    for (d, s, m_star), mc in zip(lines, found):
        m50, width = transition_summary(mc)
        out.append(dict(d=d, s=s, m_star=m_star, mc=mc, m50=float(m50), width=float(width)))
    return out


def phase_diagram(seed: int, d: int, n_levels: int, trials: int, tol: float = 1e-5, psi_fn=psi):
    """(sparsities (n_s,), critical m (n_s, trials)) at ``n_levels`` sparsities from 1 to 0.9 d (stream DIAGRAM)."""
    s_levels = np.unique(np.round(np.linspace(1, 0.9 * d, n_levels)).astype(int))
    found = _run_searches([search_tasks(seed, d, s, trials, d * float(psi_fn(s / d)), int(np.ceil(np.sqrt(d) / 2)),
                                        tol, DIAGRAM) for s in s_levels])
    return s_levels, np.array(found)


@dataclass(frozen=True)
class TransitionResult:
    """Notebook 07's data. Per line (L = len(d_list) * len(rho_list), d-major): ``d``, ``s``, ``m_star`` = d·ψ(s/d)
    (the search's start), ``mc`` (L, trials) the critical m of each instance, ``m50`` its median, ``width`` its
    standard deviation, and the finite-d Monte Carlo moments of the descent cone ``delta_mc``, ``var_v_mc``.
    The phase diagram at ``grid_d``: sparsity levels ``grid_s`` (n_s,) and critical m ``grid_mc`` (n_s, grid_trials)."""
    d: np.ndarray
    s: np.ndarray
    m_star: np.ndarray
    mc: np.ndarray
    m50: np.ndarray
    width: np.ndarray
    delta_mc: np.ndarray
    var_v_mc: np.ndarray
    grid_d: int
    grid_s: np.ndarray
    grid_mc: np.ndarray

    def lines(self) -> list[dict]:
        """One new dict per line with the keys above (what :func:`width_statistics` reads: 'd', 'mc')."""
        keys = ("d", "s", "m_star", "mc", "m50", "width", "delta_mc", "var_v_mc")
        return [{k: (getattr(self, k)[i].item() if getattr(self, k).ndim == 1 else getattr(self, k)[i])
                 for k in keys} for i in range(self.d.size)]

    def success_fraction(self) -> np.ndarray:
        """(n_s, grid_d): the fraction of the diagram's instances recovered at m = 1 .. grid_d."""
        return (self.grid_mc[:, :, None] <= np.arange(1, self.grid_d + 1)).mean(axis=1)


def experiment(*, d_list, rho_list, trials: int, grid_d: int, grid_n: int, grid_trials: int, n_mc: int,
               tol: float = 1e-5, seed: int, psi_fn=psi) -> TransitionResult:
    """Notebook 07's simulation: :func:`transition_lines`, the Monte Carlo moments of each line's descent cone
    (:func:`intrinsic_volume_moments`, ``n_mc`` vectors) and :func:`phase_diagram`. ``psi_fn`` gives the
    searches' starting points (any root-finder of the same ψ)."""
    found = transition_lines(seed, d_list, rho_list, trials, tol, psi_fn=psi_fn)
    moments = np.array([intrinsic_volume_moments(L["d"], L["s"], n_mc, seed) for L in found])
    grid_s, grid_mc = phase_diagram(seed, grid_d, grid_n, grid_trials, tol, psi_fn=psi_fn)
    col = lambda key, dtype=float: np.array([L[key] for L in found], dtype)   # noqa: E731
    return TransitionResult(d=col("d", int), s=col("s", int), m_star=col("m_star"), mc=col("mc", int),
                            m50=col("m50"), width=col("width"), delta_mc=moments[:, 0], var_v_mc=moments[:, 1],
                            grid_d=int(grid_d), grid_s=np.asarray(grid_s), grid_mc=np.asarray(grid_mc))


# ---------------------------------------------------------------- summarising the transition
def transition_summary(mcrit: np.ndarray):
    """(m50, width) along the last axis: the median critical m (the 50 % point of the success curve) and its
    standard deviation (the transition width; a Gaussian-shaped transition has 10 %–90 % width 2.56×)."""
    mcrit = np.asarray(mcrit, float)
    return np.median(mcrit, axis=-1), mcrit.std(axis=-1, ddof=1)


# ---------------------------------------------------------------- the spread of the intrinsic volumes
def descent_cone_sqdist(G: np.ndarray, s: int) -> np.ndarray:
    """dist²(g, D°) for each row g of G (N, d), D the ℓ1 descent cone at an s-sparse x supported on the first s
    coordinates with positive signs (any support and signs give the same law): the exact minimum over τ ≥ 0 of
    Σ_{i<s} (g_i − τ)² + Σ_{i≥s} (|g_i| − τ)₊². For k off-support coordinates above τ the minimiser is
    τ_k = (Σ_{i<s} g_i + top-k sum of |g_i|)/(s + k); the right k is the one whose τ_k falls in its interval."""
    G = np.asarray(G, float)
    on = G[:, :s]
    off = -np.sort(-np.abs(G[:, s:]), axis=1)                            # descending
    N, m = off.shape
    top = np.concatenate([np.zeros((N, 1)), np.cumsum(off, axis=1)], axis=1)
    tau = np.maximum((on.sum(1)[:, None] + top) / (s + np.arange(m + 1)), 0.0)
    upper = np.concatenate([np.full((N, 1), np.inf), off], axis=1)
    lower = np.concatenate([off, np.zeros((N, 1))], axis=1)
    k = np.argmax((tau <= upper + 1e-12) & (tau >= lower - 1e-12), axis=1)
    t = tau[np.arange(N), k]
    return ((on - t[:, None]) ** 2).sum(1) + (np.maximum(off - t[:, None], 0.0) ** 2).sum(1)


def intrinsic_volume_moments(d: int, s: int, n_samples: int, seed: int):
    """(δ, Var V) of the ℓ1 descent cone by Monte Carlo over ``n_samples`` Gaussian vectors (stream
    ``seeds.rng(seed, "gaussian vectors", d, s)``): δ = E dist², Var V = Var dist² − 2δ (McCoy & Tropp's identity)."""
    G = seeds.rng(seed, "gaussian vectors", d, s).standard_normal((n_samples, d))
    v = descent_cone_sqdist(G, s)
    return float(v.mean()), float(v.var(ddof=1) - 2 * v.mean())


def width_statistics(lines, predicted_std):
    """The width verdict's two statistics with their standard errors, from the critical m of each line.

    ``lines``: dicts with 'd' and 'mc' (critical m of T instances); ``predicted_std(line)``: the predicted std.
    Level: L = mean over lines of log(std(m_c) / predicted). Trend: least-squares slope in log d of the per-d mean
    of those logs (0 when the width scales as predicted; ±1/2 for a width constant in m or proportional to d).
    Standard errors from the sampling law of a standard deviation, se(log std) = √((κ − 1)/(4T)), κ the
    sample kurtosis of the line. Returns dict(level, level_se, slope, slope_se, log_ratio per line)."""
    r, var = [], []
    for L in lines:
        mc = np.asarray(L["mc"], float)
        T = mc.size
        z = (mc - mc.mean()) / mc.std(ddof=1)
        kurt = float(np.mean(z ** 4))
        r.append(float(np.log(mc.std(ddof=1) / predicted_std(L))))
        var.append(max(kurt - 1.0, 0.5) / (4 * T))
    r, var = np.array(r), np.array(var)
    ds = np.array([L["d"] for L in lines], float)
    level, level_se = float(r.mean()), float(np.sqrt(var.sum()) / r.size)
    ud = np.unique(ds)
    rd = np.array([r[ds == x].mean() for x in ud])
    vd = np.array([var[ds == x].sum() / (ds == x).sum() ** 2 for x in ud])
    lx = np.log(ud) - np.log(ud).mean()
    wts = lx / (lx ** 2).sum()
    return dict(level=level, level_se=level_se, slope=float(wts @ rd), slope_se=float(np.sqrt((wts ** 2) @ vd)),
                log_ratio=r)
