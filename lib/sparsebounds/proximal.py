"""First-order methods for composite problems F = f + g, batched over problems.

Convention (fixed, tested): the Lasso is F(x) = ½‖Ax − b‖² + λ‖x‖₁, so f has L = λ_max(AᵀA) = ‖A‖₂².
(Beck & Teboulle write ‖Ax − b‖² without the ½, where L = 2λ_max(AᵀA).)

Arrays carry a leading batch axis: x has shape (S, p) for S problems solved at once; ``grad`` and ``prox``
act on the whole batch, and ``L`` is a scalar or an (S,) array.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import seeds, sparse_instances

Grad = Callable[[np.ndarray], np.ndarray]
Prox = Callable[[np.ndarray, np.ndarray], np.ndarray]  # prox(v, step) for the nonsmooth part g


def soft_threshold(v: np.ndarray, t) -> np.ndarray:
    """prox of t‖·‖₁: sign(v)·max(|v| − t, 0)."""
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def _step(L, x):
    step = 1.0 / np.asarray(L, float)
    return step.reshape(step.shape + (1,) * (x.ndim - step.ndim)) if step.ndim else step


def ista(grad: Grad, x0: np.ndarray, L, n_iter: int, prox: Prox | None = None) -> np.ndarray:
    """Proximal gradient with step 1/L (gradient descent when ``prox`` is None).

    Returns all iterates, shape (n_iter + 1, *x0.shape); iterate 0 is x0.
    """
    if n_iter < 0:
        raise ValueError("n_iter must be >= 0")
    step = _step(L, x0)
    xs = np.empty((n_iter + 1,) + x0.shape)
    xs[0] = x = x0
    for k in range(1, n_iter + 1):
        v = x - step * grad(x)
        x = prox(v, step) if prox else v
        xs[k] = x
    return xs


def fista_t(n: int) -> np.ndarray:
    """t_1 .. t_n of Beck & Teboulle: t_1 = 1, t_{k+1} = (1 + √(1 + 4 t_k²)) / 2."""
    t = np.empty(n)
    t[0] = 1.0
    for k in range(1, n):
        t[k] = (1 + np.sqrt(1 + 4 * t[k - 1] ** 2)) / 2
    return t


def fista(grad: Grad, x0: np.ndarray, L, n_iter: int, prox: Prox | None = None,
          restart: bool = False) -> np.ndarray:
    """FISTA (Beck & Teboulle 2009, constant step 1/L). Returns iterates x_0 .. x_n as in :func:`ista`.

    ``restart=True`` resets the momentum whenever it points uphill (O'Donoghue & Candès' gradient
    scheme); it is only used to compute F* to machine precision, never in a rate check.
    """
    if n_iter < 0:
        raise ValueError("n_iter must be >= 0")
    step = _step(L, x0)
    xs = np.empty((n_iter + 1,) + x0.shape)
    xs[0] = x = y = x0
    t = np.ones(x0.shape[:-1] + (1,)) if x0.ndim > 1 else 1.0
    for k in range(1, n_iter + 1):
        v = y - step * grad(y)
        x_new = prox(v, step) if prox else v
        t_new = (1 + np.sqrt(1 + 4 * t ** 2)) / 2
        y = x_new + ((t - 1) / t_new) * (x_new - x)
        if restart:
            uphill = np.sum((y - x_new) * (x_new - x), axis=-1, keepdims=True) > 0
            y = np.where(uphill, x_new, y)
            t_new = np.where(uphill, 1.0, t_new)
        x, t = x_new, t_new
        xs[k] = x
    return xs


# ---------------------------------------------------------------- Lasso instances
def lasso_instances(instances, n: int, p: int, s: int, *, noise: float = 0.01, seed: int = 0):
    """Gaussian designs A ~ N(0, 1/n) (S, n, p), s-sparse ±1 truths (both :mod:`sparsebounds.sparse_instances`),
    b = A x_true + noise·N(0, 1).

    Instance k (an integer of ``instances``) draws its design, truth and noise from the named streams
    ``"design"``, ``"signal"``, ``"noise"`` of ``seed`` with key k: instances are independent."""
    if not (1 <= s <= p) or n < 1:
        raise ValueError(f"need 1 <= s <= p and n >= 1, got n={n}, p={p}, s={s}")
    A, B, X = [], [], []
    for k in instances:
        design, signal, noise_rng = seeds.streams(seed, "design", "signal", "noise", keys=(k,))
        a = sparse_instances.gaussian_design(design, n, p)
        x = sparse_instances.sparse_signal(signal, p, s, kind="sign")
        A.append(a), X.append(x), B.append(a @ x + noise * noise_rng.standard_normal(n))
    return np.array(A), np.array(B), np.array(X)


def lasso_lipschitz(A: np.ndarray) -> np.ndarray:
    """L = λ_max(AᵀA) for each problem in the batch (½ convention)."""
    return np.linalg.norm(A, 2, axis=(-2, -1)) ** 2


def lasso_parts(A: np.ndarray, b: np.ndarray, lam: float):
    """(grad, prox, objective) of the batched Lasso ½‖Ax − b‖² + λ‖x‖₁."""
    def grad(x):
        return np.einsum("snp,sn->sp", A, np.einsum("snp,sp->sn", A, x) - b, optimize=True)

    def prox(v, step):
        return soft_threshold(v, lam * step)

    def objective(x):
        """F at iterates of shape (..., S, p)."""
        r = np.einsum("snp,...sp->...sn", A, x, optimize=True) - b
        return 0.5 * (r ** 2).sum(-1) + lam * np.abs(x).sum(-1)

    return grad, prox, objective


def lasso_minimum(A: np.ndarray, b: np.ndarray, lam: float, *, max_iter: int = 200_000,
                  tol: float = 1e-15):
    """x* and F* to machine precision: restarted FISTA until the objective stops decreasing."""
    grad, prox, objective = lasso_parts(A, b, lam)
    L = lasso_lipschitz(A)
    x = np.zeros(A.shape[::2])
    best = objective(x)
    chunk = 2000
    for _ in range(max_iter // chunk):
        x = fista(grad, x, L, chunk, prox, restart=True)[-1]
        f = objective(x)
        if np.all(best - f <= tol * np.abs(f)):
            break
        best = np.minimum(best, f)
    return x, objective(x)


# ---------------------------------------------------------------- hard instances
def nesterov_worst(p: int, L: float, dim: int | None = None):
    """Nesterov's worst quadratic f_p(x) = (L/4)(½[x₁² + Σ_{i<p}(x_i − x_{i+1})² + x_p²] − x₁) in R^dim.

    Returns (H, c) with f(x) = ½ xᵀHx − cᵀx, H = (L/4)·tridiag(−1, 2, −1) on the first p coordinates.
    """
    dim = p if dim is None else dim
    if not 1 <= p <= dim:
        raise ValueError(f"need 1 <= p <= dim, got p={p}, dim={dim}")
    T = np.zeros((dim, dim))
    i = np.arange(p)
    T[i, i] = 2.0
    T[i[:-1], i[:-1] + 1] = T[i[:-1] + 1, i[:-1]] = -1.0
    c = np.zeros(dim)
    c[0] = L / 4
    return (L / 4) * T, c


def huber_worst(L: float, R: float, N: int):
    """Drori & Teboulle's 1-D worst case for N steps of gradient descent from x0 = R.

    f(x) = (LR/(2N+1))|x| − LR²/(2(2N+1)²) for |x| ≥ R/(2N+1), (L/2)x² otherwise; f* = 0.
    Returns (f, grad) as vectorised functions.
    """
    a = R / (2 * N + 1)

    def f(x):
        x = np.asarray(x, float)
        return np.where(np.abs(x) >= a, L * a * np.abs(x) - L * a ** 2 / 2, L * x ** 2 / 2)

    def grad(x):
        x = np.asarray(x, float)
        return np.where(np.abs(x) >= a, L * a * np.sign(x), L * x)

    return f, grad


# ---------------------------------------------------------------- experiments (what notebook 01 runs)
def lasso_gaps(instances, n: int, p: int, s: int, lam: float, n_iter: int, *, noise: float = 0.01, seed: int = 0):
    """ISTA and FISTA from x0 = 0 on the Lasso instances ``instances`` of :func:`lasso_instances`.

    Returns dict: k (1..n_iter), gap_ista and gap_fista (S, n_iter) = F(x_k) − F*, L (S,), R2 = ‖x0 − x*‖² (S,).
    """
    A, b, _ = lasso_instances(instances, n, p, s, noise=noise, seed=seed)
    grad, prox, objective = lasso_parts(A, b, lam)
    L = lasso_lipschitz(A)
    x_star, F_star = lasso_minimum(A, b, lam)
    x0 = np.zeros_like(x_star)
    out = {"k": np.arange(1, n_iter + 1), "L": L, "R2": (x_star ** 2).sum(-1), "F_star": F_star}
    for name, method in (("ista", ista), ("fista", fista)):
        xs = method(grad, x0, L, n_iter, prox)[1:]
        out["gap_" + name] = (objective(xs) - F_star).T
    return out


def nesterov_family_gaps(k_max: int, L: float = 1.0):
    """Gradient descent and FISTA on Nesterov's f_{2k+1}, one function per k = 1..k_max, from x0 = 0.

    All k_max problems run together in dimension 2·k_max + 1. Returns dict: k, gap_gd and gap_fista
    (f(x_k) − f* on the k-th function after exactly k steps), R2 = ‖x*‖² of each function.
    """
    ks = np.arange(1, k_max + 1)
    dim = 2 * k_max + 1
    H = np.empty((k_max, dim, dim))
    c = np.empty((k_max, dim))
    x_star = np.zeros((k_max, dim))
    for j, k in enumerate(ks):
        p = 2 * k + 1
        H[j], c[j] = nesterov_worst(p, L, dim)
        x_star[j, :p] = 1 - np.arange(1, p + 1) / (p + 1)
    f_star = -(L / 8) * (1 - 1 / (2 * ks + 2))

    def grad(x):
        return np.einsum("kij,kj->ki", H, x) - c

    def f(x):  # x: (..., k_max, dim)
        return 0.5 * np.einsum("...ki,kij,...kj->...k", x, H, x, optimize=True) - (x * c).sum(-1)

    x0 = np.zeros((k_max, dim))
    out = {"k": ks, "R2": (x_star ** 2).sum(-1), "L": L}
    for name, method in (("gd", ista), ("fista", fista)):
        xs = method(grad, x0, L, k_max)
        at_k = xs[ks, np.arange(k_max)]  # iterate k of problem k
        out["gap_" + name] = f(at_k[None])[0] - f_star
    return out


def huber_gaps(steps, L: float = 1.0, R: float = 1.0):
    """f(x_N) − f* after N steps of gradient descent (step 1/L, x0 = R) on the Huber worst case for N."""
    steps = np.asarray(steps, int)
    f, grad = huber_worst(L, R, steps)
    xs = ista(grad, np.full(steps.shape, float(R)), L, int(steps.max()))
    return f(xs[steps, np.arange(steps.size)])


# ---------------------------------------------------------------- notebook 01's experiment
@dataclass(frozen=True)
class ProximalResult:
    """Notebook 01's runs: the random Lasso instances, Nesterov's worst-case family, the Huber worst case."""
    lasso: dict[str, np.ndarray]        # :func:`lasso_gaps`: k, gap_ista, gap_fista (S, n_iter), L, R2, F_star (S,)
    nesterov: dict[str, np.ndarray]     # :func:`nesterov_family_gaps`: k, gap_gd, gap_fista, R2 (k_max,), L
    huber: np.ndarray                   # :func:`huber_gaps` at L = R = 1, one gap per step count
    huber_steps: np.ndarray             # the step counts N


def experiment(*, n_seeds: int, n_iter: int, lasso_n: int, lasso_p: int, lasso_s: int, lam: float, k_max: int,
               huber_steps) -> ProximalResult:
    """Notebook 01's experiment, keyword arguments named as its parameters: ISTA and FISTA on ``n_seeds`` Lasso
    instances (instances 0 .. n_seeds − 1 of :func:`lasso_instances`, seed 0), Nesterov's family up to ``k_max``,
    and gradient descent on the Huber worst case for every N in ``huber_steps``."""
    return ProximalResult(lasso=lasso_gaps(range(n_seeds), lasso_n, lasso_p, lasso_s, lam, n_iter),
                          nesterov=nesterov_family_gaps(k_max),
                          huber=huber_gaps(huber_steps, L=1.0, R=1.0),
                          huber_steps=np.asarray(huber_steps, int))
