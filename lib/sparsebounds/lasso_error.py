"""Statistical error of the Lasso: Gaussian designs, the noise event for λ, the cone, the restricted eigenvalue.

Statistical convention (Wainwright 2019, ch. 7): θ̂ minimises (1/2n)‖y − Xθ‖² + λ‖θ‖₁, y = Xθ* + w,
w ~ N(0, σ² I), columns of X normalised to ‖X_j‖₂ = √n. ``sparsebounds.proximal`` uses ½‖Ax − b‖² + λ'‖x‖₁;
multiplying the objective by n gives the same minimiser with λ' = n·λ, which is what :func:`solve` passes.
Arrays carry a leading batch axis over seeds: X (S, n, p), θ (S, p), y and w (S, n).
"""
from __future__ import annotations

import numpy as np

from . import proximal
from .threads import single_blas_thread


def instances(seeds, n: int, p: int, s: int, *, sigma: float = 1.0, amplitude: float = 1.0):
    """Gaussian designs with columns normalised to norm √n, s-sparse truths with entries ±amplitude on a
    uniform support, noise w ~ N(0, σ²). Returns X (S, n, p), y (S, n), theta (S, p), w (S, n)."""
    if not (1 <= s <= p) or n < 1:
        raise ValueError(f"need 1 <= s <= p and n >= 1, got n={n}, p={p}, s={s}")
    X, T, W = [], [], []
    for seed in seeds:
        rng = np.random.default_rng([seed, n, p, s])
        x = rng.standard_normal((n, p))
        X.append(x * (np.sqrt(n) / np.linalg.norm(x, axis=0)))
        t = np.zeros(p)
        t[rng.choice(p, s, replace=False)] = amplitude * rng.choice([-1.0, 1.0], s)
        T.append(t)
        W.append(sigma * rng.standard_normal(n))
    X, T, W = np.array(X), np.array(T), np.array(W)
    return X, np.einsum("snp,sp->sn", X, T, optimize=True) + W, T, W


def solve(X: np.ndarray, y: np.ndarray, lam: float, n_iter: int = 3000, chunk: int = 8) -> np.ndarray:
    """θ̂ of (1/2n)‖y − Xθ‖² + λ‖θ‖₁ for the batch: restarted FISTA on ½‖Xθ − y‖² + (nλ)‖θ‖₁ from 0,
    ``chunk`` problems at a time (``proximal.fista`` keeps every iterate, so this bounds the memory)."""
    n = X.shape[1]
    out = []
    with single_blas_thread():
        for i in range(0, X.shape[0], chunk):
            Xc, yc = X[i:i + chunk], y[i:i + chunk]
            grad, prox, _ = proximal.lasso_parts(Xc, yc, n * lam)
            x0 = np.zeros((Xc.shape[0], Xc.shape[2]))
            out.append(proximal.fista(grad, x0, proximal.lasso_lipschitz(Xc), n_iter, prox, restart=True)[-1])
    return np.concatenate(out)


def kkt_violation(X: np.ndarray, y: np.ndarray, theta: np.ndarray, lam: float) -> np.ndarray:
    """max_j of the optimality-condition violation, relative to λ, per problem (S,): for θ_j ≠ 0,
    |X_jᵀ(y − Xθ)/n − λ sign θ_j|; for θ_j = 0, (|X_jᵀ(y − Xθ)/n| − λ)₊. Zero at the exact minimiser."""
    n = X.shape[1]
    r = y - np.einsum("snp,sp->sn", X, theta, optimize=True)
    g = np.einsum("snp,sn->sp", X, r, optimize=True) / n
    viol = np.where(theta != 0, np.abs(g - lam * np.sign(theta)), np.maximum(np.abs(g) - lam, 0.0))
    return viol.max(axis=1) / lam


def noise_level(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """‖Xᵀw/n‖_∞ per problem (S,): the event of the theorem is λ ≥ 2·this."""
    return np.abs(np.einsum("snp,sn->sp", X, w, optimize=True)).max(axis=1) / X.shape[1]


def cone_ratio(delta: np.ndarray, theta_star: np.ndarray) -> np.ndarray:
    """‖Δ_{S^c}‖₁ / ‖Δ_S‖₁ with S = supp θ* (the cone condition says ≤ 3)."""
    on = theta_star != 0
    return np.where(on, 0.0, np.abs(delta)).sum(1) / np.where(on, np.abs(delta), 0.0).sum(1)


def re_on_error(X: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """κ̂ = ‖XΔ‖²/(n‖Δ‖²) at the error vector itself. When Δ lies in the cone this is ≥ the restricted
    eigenvalue κ (a minimum over the cone), so a bound 3√sλ/κ̂ is *smaller* than the theorem's 3√sλ/κ:
    checking against it is conservative."""
    n = X.shape[1]
    return (np.einsum("snp,sp->sn", X, delta, optimize=True) ** 2).sum(1) / (n * (delta ** 2).sum(1))


def re_upper_estimate(X: np.ndarray, s: int, seed: int, n_dirs: int = 256, n_steps: int = 60) -> np.ndarray:
    """An upper estimate of the uniform restricted eigenvalue (Bickel et al.'s RE(s, 3)): the minimum of
    ‖XΔ‖²/(n‖Δ‖²) over the union of the cones {‖Δ_{S^c}‖₁ ≤ 3‖Δ_S‖₁} with |S| = s, by projected-gradient
    descent on the Rayleigh quotient from ``n_dirs`` random directions per problem (the projection keeps the
    s largest entries as S); the best value found (S,). Any cone vector gives an upper bound on this minimum,
    which is at most κ for the true support; the exact minimum is NP-hard to compute in general."""
    rng = np.random.default_rng(seed)
    S_, n, p = X.shape
    G = np.matmul(X.transpose(0, 2, 1), X) / n                        # (S, p, p)
    D = rng.standard_normal((S_, n_dirs, p))
    with single_blas_thread():
        D = _cone_descent(D, G, s, n_steps)
    q = np.einsum("skp,spq,skq->sk", D, G, D, optimize=True) / (D ** 2).sum(-1)
    return q.min(axis=1)


def _cone_descent(D, G, s, n_steps):
    """Projected gradient steps on the Rayleigh quotient, projected on the cone after each step."""
    for _ in range(n_steps):
        q = np.einsum("skp,spq,skq->sk", D, G, D, optimize=True) / (D ** 2).sum(-1)
        grad = np.matmul(D, G) - q[..., None] * D
        D = D - 0.5 * grad / np.linalg.norm(G, 2, axis=(1, 2))[:, None, None]
        D = _project_cone(D, s)
    return D


def _project_cone(D: np.ndarray, s: int, c: float = 3.0) -> np.ndarray:
    """Shrink the off-support part (support = s largest entries) so that ‖D_{S^c}‖₁ ≤ c‖D_S‖₁ holds."""
    mag = np.abs(D)
    thr = -np.sort(-mag, axis=-1)[..., s - 1:s]
    on = mag >= thr
    a = np.where(on, mag, 0).sum(-1, keepdims=True)
    b = np.where(on, 0, mag).sum(-1, keepdims=True)
    scale = np.minimum(1.0, c * a / np.maximum(b, 1e-300))
    return np.where(on, D, D * scale)


