"""Empirical Rademacher complexity of linear classes, by Monte Carlo over the signs, against its bounds.

For F = {x ↦ ⟨w, x⟩ : ‖w‖ ≤ W} the supremum over the ball is the dual norm, so
R̂_S(F) = (W/m)·E_σ ‖Σ_i σ_i x_i‖_*  — ‖·‖_∞ for the ℓ1 ball, ‖·‖_2 for the ℓ2 ball — and a Monte Carlo
average over sign vectors σ is unbiased, with an honest standard error; nothing is optimised.

Arrays carry a leading batch axis of independent data sets: X has shape (S, m, d).
"""
from __future__ import annotations

import numpy as np
from scipy import integrate, special

NORMS = ("l1", "l2")


def rademacher_data(n_sets: int, m: int, d: int, seed: int) -> np.ndarray:
    """S independent samples of m points uniform on {−1, +1}^d (so max‖x‖_∞ = 1, ‖x‖_2 = √d), float32.

    The float32 sums of ±1 are exact integers (|Σ| ≤ m < 2^24).
    """
    rng = np.random.default_rng(seed)
    return (2 * rng.integers(0, 2, size=(n_sets, m, d), dtype=np.int8) - 1).astype(np.float32)


def mc_rademacher(X: np.ndarray, norm: str, radius: float, n_mc: int, seed: int):
    """Monte Carlo R̂_S of the ``norm`` ball of ``radius``: returns (mean, standard error), each shape (S,).

    One batched matmul: signs σ (S, n_mc, m) @ X (S, m, d) → (S, n_mc, d), then the dual norm.
    ``norm='both'`` returns {'l1': (mean, se), 'l2': (mean, se)} from the same sign draws.
    """
    if norm not in NORMS + ("both",):
        raise ValueError(f"norm must be one of {NORMS} or 'both'")
    X = np.asarray(X)
    S, m, _ = X.shape
    rng = np.random.default_rng(seed)
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
    X = np.asarray(X, np.float64)
    _, m, d = X.shape
    col = np.sqrt(np.einsum("smd,smd->sd", X, X, optimize=True)).max(axis=1)
    return radius * col * np.sqrt(2 * np.log(2 * d)) / m


def l2_bound(X: np.ndarray, radius: float) -> np.ndarray:
    """ℓ2 ball: (W/m)·√(Σ_i ‖x_i‖²)  (Cauchy–Schwarz and Jensen), shape (S,)."""
    X = np.asarray(X, np.float64)
    m = X.shape[1]
    return radius * np.sqrt(np.einsum("smd,smd->s", X, X, optimize=True)) / m


def gaussian_max_ratio(d: int) -> float:
    """E max_{j≤d} |g_j| / √(2 log 2d) for i.i.d. standard normal g: the large-m limit of the ℓ1 ratio.

    E max = ∫_0^∞ 1 − (2Φ(t) − 1)^d dt (exact; evaluated by quadrature). It tends to 1 as d → ∞, slowly
    (a log log d / log d correction), which is how tight Massart's constant is at finite d.
    """
    f = lambda t: -np.expm1(d * np.log1p(-special.erfc(t / np.sqrt(2))))
    val, _ = integrate.quad(f, 0, 40, limit=200, points=[np.sqrt(2 * np.log(2 * d))])
    return float(val / np.sqrt(2 * np.log(2 * d)))


def rademacher_grid(ds, ms, n_sets: int, n_mc: int, seed: int, radius: float = 1.0) -> dict:
    """Estimates and bounds over a grid of dimensions d and sample sizes m, for both balls.

    Data for the largest m are drawn once per d; smaller m use the first m points (nested samples).
    Returns arrays of shape (len(ds), len(ms), n_sets) under keys ``est_l1, se_l1, bound_l1`` (and l2).
    """
    ds, ms = list(ds), list(ms)
    out = {f"{k}_{n}": np.empty((len(ds), len(ms), n_sets)) for k in ("est", "se", "bound") for n in NORMS}
    for a, d in enumerate(ds):  # grid axes, not seeds: each step is one batched matmul over the data sets
        Xall = rademacher_data(n_sets, max(ms), d, seed + 1000 * a)
        for b, m in enumerate(ms):
            X = Xall[:, :m]
            both = mc_rademacher(X, "both", radius, n_mc, seed + 7 + 1000 * a + b)
            for n, bnd in (("l1", massart_bound), ("l2", l2_bound)):
                out[f"est_{n}"][a, b], out[f"se_{n}"][a, b] = both[n]
                out[f"bound_{n}"][a, b] = bnd(X, radius)
    out["ds"], out["ms"] = np.array(ds), np.array(ms)
    return out
