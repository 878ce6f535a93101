"""Empirical Rademacher complexity of linear classes, by Monte Carlo over the signs, against its bounds.

For F = {x ↦ ⟨w, x⟩ : ‖w‖ ≤ W} the supremum over the ball is the dual norm, so
R̂_S(F) = (W/m)·E_σ ‖Σ_i σ_i x_i‖_*  — ‖·‖_∞ for the ℓ1 ball, ‖·‖_2 for the ℓ2 ball — and a Monte Carlo
average over sign vectors σ is unbiased, with an honest standard error; nothing is optimised.

Arrays carry a leading batch axis of independent data sets: X has shape (S, m, d).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, special

from . import seeds

NORMS = ("l1", "l2")


def rademacher_data(n_sets: int, m: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """S independent samples of m points uniform on {−1, +1}^d (so max‖x‖_∞ = 1, ‖x‖_2 = √d), float32,
    drawn from ``rng``. The float32 sums of ±1 are exact integers (|Σ| ≤ m < 2^24).
    """
    X = rng.integers(0, 2, size=(n_sets, m, d), dtype=np.int8)
    X *= 2                # in int8, a quarter of the memory traffic of float32
    X -= 1
    return X.astype(np.float32)


def mc_rademacher(X: np.ndarray, norm: str, radius: float, n_mc: int, rng: np.random.Generator):
    """Monte Carlo R̂_S of the ``norm`` ball of ``radius`` (signs drawn from ``rng``): returns (mean, standard
    error), each shape (S,).

    One batched matmul: signs σ (S, n_mc, m) @ X (S, m, d) → (S, n_mc, d), then the dual norm.
    ``norm='both'`` returns {'l1': (mean, se), 'l2': (mean, se)} from the same sign draws.
    """
    if norm not in NORMS + ("both",):
        raise ValueError(f"norm must be one of {NORMS} or 'both'")
    X = np.asarray(X)
    S, m, _ = X.shape
    sig = (2 * rng.integers(0, 2, size=(S, n_mc, m), dtype=np.int8) - 1).astype(X.dtype)
    V = np.matmul(sig, X).astype(np.float64)  # (S, n_mc, d)
    res = {}
    for n in (NORMS if norm == "both" else (norm,)):
        vals = np.abs(V).max(axis=2) if n == "l1" else np.sqrt(np.einsum("snd,snd->sn", V, V, optimize=True))
        vals *= radius / m
        res[n] = (vals.mean(axis=1), vals.std(axis=1, ddof=1) / np.sqrt(n_mc))
    return res if norm == "both" else res[norm]


def massart_bound(X: np.ndarray, radius: float) -> np.ndarray:
    """ℓ1 ball: (W/m)·max_j ‖X[:, j]‖_2·√(2 log 2d)  (Massart's lemma over the 2d vertices ±e_j), shape (S,).

    With max‖x_i‖_∞ ≤ 1 this is at most W·√(2 log(2d)/m), the textbook form (equal for ±1 data).
    """
    X = np.asarray(X)
    _, m, d = X.shape
    col = np.sqrt(np.einsum("smd,smd->sd", X, X, dtype=np.float64)).max(axis=1)
    return radius * col * np.sqrt(2 * np.log(2 * d)) / m


def l2_bound(X: np.ndarray, radius: float) -> np.ndarray:
    """ℓ2 ball: (W/m)·√(Σ_i ‖x_i‖²)  (Cauchy–Schwarz and Jensen), shape (S,)."""
    X = np.asarray(X)
    m = X.shape[1]
    return radius * np.sqrt(np.einsum("smd,smd->s", X, X, dtype=np.float64)) / m


def gaussian_max_ratio(d: int) -> float:
    """E max_{j≤d} |g_j| / √(2 log 2d) for i.i.d. standard normal g: the large-m limit of the ℓ1 ratio.

    E max = ∫_0^∞ 1 − (2Φ(t) − 1)^d dt (exact; evaluated by quadrature). It tends to 1 as d → ∞, slowly
    (a log log d / log d correction), which is how tight Massart's constant is at finite d.
    """
    f = lambda t: -np.expm1(d * np.log1p(-special.erfc(t / np.sqrt(2))))
    val, _ = integrate.quad(f, 0, 40, limit=200, points=[np.sqrt(2 * np.log(2 * d))])
    return float(val / np.sqrt(2 * np.log(2 * d)))


def rademacher_grid(ds, ms, n_sets: int, n_mc: int, seed: int, radius: float = 1.0,
                    max_elems: int = 20_000_000) -> dict:
    """Estimates and bounds over a grid of dimensions d and sample sizes m, for both balls.

    Every (d, m) cell gets its own independent data sets (so the cells' errors are independent). To bound
    memory, data sets are processed in batches of at most ``max_elems`` matrix entries, each batch one
    matmul; batch c of cell (d, m) draws its data from the named stream ``seeds.rng(seed, "rademacher-data",
    d, m, c)`` and its signs from ``"rademacher-signs"`` with the same keys (``seed``: one non-negative int).
    Returns arrays of shape (len(ds), len(ms), n_sets) under keys ``est_l1, se_l1, bound_l1`` (and l2),
    and ``exact_l1``, shape (len(ds), len(ms)): the exact E[estimate / Massart bound] (see
    :func:`binomial_max_ratio`).
    """
    ds, ms = list(ds), list(ms)
    out = {f"{k}_{n}": np.empty((len(ds), len(ms), n_sets)) for k in ("est", "se", "bound") for n in NORMS}
    for a, d in enumerate(ds):  # grid axes and memory batches, not seeds one by one
        for b, m in enumerate(ms):
            per = max(1, min(n_sets, max_elems // (m * d)))
            for c, lo in enumerate(range(0, n_sets, per)):
                hi = min(n_sets, lo + per)
                X = rademacher_data(hi - lo, m, d, seeds.rng(seed, "rademacher-data", d, m, c))
                both = mc_rademacher(X, "both", radius, n_mc, seeds.rng(seed, "rademacher-signs", d, m, c))
                for n, bnd in (("l1", massart_bound), ("l2", l2_bound)):
                    out[f"est_{n}"][a, b, lo:hi], out[f"se_{n}"][a, b, lo:hi] = both[n]
                    out[f"bound_{n}"][a, b, lo:hi] = bnd(X, radius)
    out["exact_l1"] = np.array([[binomial_max_ratio(d, m) for m in ms] for d in ds])
    out["ds"], out["ms"] = np.array(ds), np.array(ms)
    return out


def binomial_max_ratio(d: int, m: int) -> float:
    """Exact E max_{j≤d} |S_j| / (√m·√(2 log 2d)) for independent S_j = sum of m fair signs.

    For data uniform on {−1,1}^d and averaged over the data, the coordinates of Σ_i σ_i x_i are exactly such
    independent sums, so this is E_S[R̂_S(ℓ1 ball)] / Massart bound at finite m (it tends to
    :func:`gaussian_max_ratio` from below: sums of signs have lighter-than-Gaussian tails).
    """
    k = np.arange(m // 2 + 1)
    vals = (m - 2 * k).astype(float)                         # |S| = m − 2k for k ≤ m/2 (descending)
    logpmf = special.gammaln(m + 1) - special.gammaln(k + 1) - special.gammaln(m - k + 1) - m * np.log(2)
    p_abs = np.exp(logpmf) * np.where(vals > 0, 2.0, 1.0)    # P(|S| = m − 2k)
    cdf = np.cumsum(p_abs[::-1])[::-1]                       # P(|S| ≤ vals[k]) is the tail sum from k on
    cdf = np.minimum(cdf, 1.0)
    fmax = cdf ** d                                           # P(max ≤ vals[k])
    p_max = fmax - np.append(fmax[1:], 0.0)
    return float((p_max * vals).sum() / np.sqrt(m) / np.sqrt(2 * np.log(2 * d)))
