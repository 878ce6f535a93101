"""Over-parameterised two-layer ReLU networks trained by full-batch gradient descent, and their Gram matrix H∞
(notebook 10).

The model of Du, Zhai, Póczos & Singh (ICLR 2019) and Arora, Du, Hu, Li & Wang (ICML 2019):

    f(x) = (1/√m) Σ_r a_r relu(w_r·x),   a_r = ±1 fixed,   w_r(0) ~ N(0, κ² I) (κ = 1 in Du et al.),

first layer trained by full-batch gradient descent on ½‖u − y‖², u_i = f(x_i), unit-norm inputs x_i. Its Gram
matrix H(W)_ij = x_i·x_j (1/m) Σ_r 1{w_r·x_i ≥ 0, w_r·x_j ≥ 0} governs the step u(k+1) − u(k) = −η H(W(k)) (u(k) − y)
(exactly, while no activation pattern flips), and H∞ = E_w H is its infinite-width limit.

* :func:`sphere_points` — n points uniform on the unit sphere of R^d (the data of one replicate).
* :func:`cosines` — x_i·x_j of unit-norm points, the diagonal exactly 1 (what the kernels are functions of);
  :func:`gram_infinity` — H∞ in closed form (derived in notebook 10 from the Gaussian orthant probability);
  :func:`gram_empirical` — H(W) of a finite network; :func:`relu_output_kernel` — E_w[relu(w·x_i) relu(w·x_j)]
  (the covariance of the initial outputs; a kernel that is *not* H∞).
* :func:`init_network` — (W(0), a) of one width and seed; :func:`outputs` — u = f(X), batched.
* :func:`label_sets` — a binary-tree (compositionally sparse) target, a dense smooth target and random signs,
  each centred and scaled to unit RMS; :func:`slowest_direction_labels` — labels whose initial residual is the
  eigenvector of H∞'s smallest eigenvalue (the worst case of the infinite-width dynamics).
* :func:`train_gd` — batched full-batch GD; records the residual y − u(k) and the weight movement every step.
* :func:`kernel_prediction` — ‖(I − ηH)^k r(0)‖ = sqrt(Σ_i (1 − ηλ_i)^{2k} (v_i·r(0))²) from the spectrum of H.
* :func:`loss_ratio`, :func:`trajectory_error`, :func:`steps_to_fraction`, :func:`label_complexity` — the
  quantities notebook 10's verdicts read (and its mutation tests feed the same checks with wrong claims).
* :func:`experiment` — notebook 10's grid: replicates (own data, labels, initialisation) × label sets ×
  widths, all trained with η = eta_scale / λ_max(H∞) of the replicate.

Random streams (:mod:`sparsebounds.seeds`), all keyed by the replicate r: ``(seed, "points", r, n, d)`` the data
points, ``(seed, "init", r, m, d)`` the initial weights of width m, ``(seed, "labels", r, n)`` the random
labels, and ``(seed, "targets", r)`` the integer seed handed to :mod:`sparsebounds.compositional`'s tree and
ridge targets (which draw from their own, mutually independent streams of that integer).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from . import compositional, seeds
from .harness.blas import one_blas_thread
from .tasks import map_tasks

LABEL_KINDS = ("tree", "dense", "random", "slowest")


# ------------------------------------------------------------------ data and kernels
def sphere_points(seed: int, n: int, d: int, replicate: int = 0) -> np.ndarray:
    """(n, d) points uniform on the unit sphere S^(d−1) (stream (seed, "points", replicate, n, d))."""
    z = seeds.rng(seed, "points", replicate, n, d).standard_normal((n, d))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def cosines(X) -> np.ndarray:
    """x_i·x_j for the unit-norm rows of X (..., n, d), with x_i·x_i set to exactly 1. arccos has an infinite
    slope at 1: the computed 1 − 1e-16 of a point with itself gave θ_ii = √(2e-16) ≈ 1.5e-8 and moved H∞'s
    diagonal by 3e-9, by a different amount on each CPU (and with it η, the slowest-direction labels by 1e-7, and
    at m = 32 the trained loss by 1.6 %)."""
    X = np.asarray(X, float)
    t = np.clip(X @ np.swapaxes(X, -1, -2), -1.0, 1.0)
    i = np.arange(t.shape[-1])
    t[..., i, i] = 1.0
    return t


def gram_infinity(X) -> np.ndarray:
    """H∞_ij = x_i·x_j (π − arccos(x_i·x_j)) / (2π) for unit-norm rows of X (..., n, d) -> (..., n, n)."""
    t = cosines(X)
    return t * (np.pi - np.arccos(t)) / (2 * np.pi)


def relu_output_kernel(X) -> np.ndarray:
    """E_w[relu(w·x_i) relu(w·x_j)] = (sin θ + (π − θ) cos θ) / (2π), θ = arccos(x_i·x_j): the covariance of the
    initial outputs u(0) (arc-cosine kernel of degree 1), a different kernel from H∞."""
    t = cosines(X)
    th = np.arccos(t)
    return (np.sin(th) + (np.pi - th) * t) / (2 * np.pi)


def gram_empirical(W, X) -> np.ndarray:
    """H(W)_ij = x_i·x_j (1/m) Σ_r 1{w_r·x_i ≥ 0, w_r·x_j ≥ 0}; W (..., m, d), X (..., n, d) -> (..., n, n)."""
    W, X = np.asarray(W, float), np.asarray(X, float)
    S = (W @ np.swapaxes(X, -1, -2) >= 0).astype(float)                 # (..., m, n)
    return (X @ np.swapaxes(X, -1, -2)) * (np.swapaxes(S, -1, -2) @ S) / W.shape[-2]


# ------------------------------------------------------------------ the network
def init_network(seed: int, m: int, d: int, kappa: float = 1.0, replicate: int = 0):
    """W(0) (m, d) with N(0, κ²) entries and a (m,) uniform on {−1, +1}, from stream
    (seed, "init", replicate, m, d)."""
    rng = seeds.rng(seed, "init", replicate, m, d)
    W = kappa * rng.standard_normal((m, d))
    a = rng.choice([-1.0, 1.0], m)
    return W, a


def outputs(W, a, X) -> np.ndarray:
    """u_i = (1/√m) Σ_r a_r relu(w_r·x_i); W (..., m, d), a (..., m), X (..., n, d) -> (..., n)."""
    W, a, X = np.asarray(W, float), np.asarray(a, float), np.asarray(X, float)
    Z = np.maximum(W @ np.swapaxes(X, -1, -2), 0.0)
    return (a[..., None, :] @ Z)[..., 0, :] / np.sqrt(W.shape[-2])


# ------------------------------------------------------------------ labels
def _standardise(y):
    y = np.asarray(y, float) - np.mean(y)
    return y / np.sqrt(np.mean(y ** 2))


def label_sets(seed: int, X, replicate: int = 0) -> dict:
    """Centred, unit-RMS labels on the points X (n, d), d a power of 2:

    ``tree``: :class:`compositional.TreeTarget` (a binary tree of bivariate constituents) at z = (√d/2)·x,
    which spreads the coordinates of sphere points (standard deviation ≈ 1/√d) over the tree's domain [−1, 1];
    ``dense``: :class:`compositional.RidgeTarget` (4 ridge functions of dense random directions) at the same z;
    ``random``: independent random signs (stream (seed, "labels", replicate, n)).
    The two targets are drawn by :mod:`sparsebounds.compositional` from an integer seed taken from the stream
    (seed, "targets", replicate) (compositional keeps its own streams of that integer).
    """
    X = np.asarray(X, float)
    n, d = X.shape
    z = X * (np.sqrt(d) / 2)
    target_seed = int(seeds.rng(seed, "targets", replicate).integers(2 ** 62))
    tree = compositional.TreeTarget.random([target_seed], d)(z)[0]
    dense = compositional.RidgeTarget.random([target_seed], d)(z)[0]
    rand = seeds.rng(seed, "labels", replicate, n).choice([-1.0, 1.0], n)
    return {"tree": _standardise(tree), "dense": _standardise(dense), "random": _standardise(rand)}


def slowest_direction_labels(u0, H) -> np.ndarray:
    """y = u(0) + √n v_min(H): the initial residual y − u(0) is the eigenvector of H's smallest eigenvalue
    (scaled like unit-RMS labels), the slowest direction of the kernel dynamics. u0 (n,), H (n, n)."""
    v = np.linalg.eigh(H)[1][:, 0]
    v = v * np.sign(v.sum() or 1.0)
    return np.asarray(u0, float) + np.sqrt(len(v)) * v


# ------------------------------------------------------------------ gradient descent
CACHE_BYTES = 8 << 20   # hidden activations of a training batch above this: one (replicate, label set) at a time
CHUNK_BYTES = 2 << 20   # one network's hidden activations above this: its units in chunks of about this size


def train_gd(W0, a, X, Y, eta, steps: int, *, dtype=np.float64) -> dict:
    """Full-batch GD on ½‖u − y‖² over the first layer, for S initialisations × L label sets of one width at once
    (the L networks of an initialisation start from the same weights: paired comparisons between label sets).

    W0 (S, m, d), a (S, m), X (S, n, d), Y (S, L, n), eta (S,). Returns ``residual`` (steps + 1, S, L, n): y − u(k);
    ``move_max`` / ``move_rms`` (steps + 1, S, L): max_r ‖w_r(k) − w_r(0)‖ and sqrt(mean_r ‖w_r(k) − w_r(0)‖²);
    ``flipped`` (S, L): the fraction of (unit, point) activation patterns that differ at the end from the start;
    ``gram_end`` (S, L, n, n): H(W(steps)), the Gram matrix after training. The layout puts the L·m units of
    an initialisation side by side. Above CACHE_BYTES of hidden activations each step runs one (replicate, label
    set) at a time, so that its (m, n) activations stay in cache across the forward, output and gradient passes
    (1.1–1.3x faster at m ≥ 512; the same products, bit for bit). Above CHUNK_BYTES for one network, its units go
    in chunks that stay in the core's cache: a first pass sums the output and keeps the activation pattern (one
    byte per unit and point), a second makes the gradient from the pattern (1.4–1.6x faster at m = 16384, n = 100,
    about even at m = 8192; the output is summed chunk by chunk, so it moves by round-off, 2e-14). Hidden
    activations are laid out units × points: the (m, d) × (d, n) product runs 1.1–1.2x faster than (n, d) × (d, m)
    at m ≥ 1024 (equal up to round-off, 5e-15). Float64 by default: in float32 (about 1.3x faster here) training
    amplifies round-off until runs on different CPUs disagree by more than 0.1 %; returned arrays are float64.
    """
    W0, a, X, Y = (np.asarray(v, float) for v in (W0, a, X, Y))
    S, m, d = W0.shape
    L, n = Y.shape[1], Y.shape[2]
    Wt = np.ascontiguousarray(np.tile(np.swapaxes(W0, 1, 2), (1, 1, L)), dtype=dtype)   # (S, d, L·m)
    W0t = Wt.copy()
    Xd = np.asarray(X, dtype)
    XT = np.ascontiguousarray(np.swapaxes(Xd, 1, 2))                                   # (S, d, n)
    Yd = np.asarray(Y, dtype)
    arow = np.asarray(a / np.sqrt(m), dtype)[:, None, None, :]                          # (S, 1, 1, m)
    coef = np.asarray(a[:, None, :] * (np.asarray(eta, float) / np.sqrt(m))[:, None, None], dtype)  # (S, 1, m)
    res = np.empty((steps + 1, S, L, n))
    mmax = np.empty((steps + 1, S, L))
    mrms = np.empty((steps + 1, S, L))
    # work arrays reused every step (fresh (S, d, L·m) temporaries cost page faults; the arithmetic is the same)
    Wt4 = Wt.reshape(S, d, L, m)                                                        # view of Wt
    Dt = np.empty((S, d, L, m), dtype)
    S0 = np.matmul(Xd, Wt) > 0
    n_chunks = -(-m * n * Wt.itemsize // CHUNK_BYTES)
    if n_chunks == 1 and S * n * L * m * Wt.itemsize <= CACHE_BYTES:
        blocks = [(slice(None), slice(None))]
    else:   # one (replicate, label set) at a time: its (m, n) activations stay in cache between the passes
        blocks = [(slice(s, s + 1), slice(j, j + 1)) for s in range(S) for j in range(L)]
    units = [slice(lo, hi) for lo, hi in itertools.pairwise(np.linspace(0, m, n_chunks + 1).astype(int))]
    sb, lb = (S, L) if len(blocks) == 1 else (1, 1)
    mc = max(c.stop - c.start for c in units)
    z_buf = np.empty(sb * lb * mc * n, dtype)   # units by points: (m, d) x (d, n) is faster than (n, d) x (d, m)
    g_buf = np.empty(sb * lb * d * mc, dtype)
    pattern = np.empty((sb, lb, m, n), bool) if len(units) > 1 else None
    r = np.empty((S, L, n), dtype)
    for k in range(steps + 1):
        np.subtract(Wt4, W0t.reshape(S, d, L, m), out=Dt)
        mv = np.sqrt(np.einsum("sdlm,sdlm->slm", Dt, Dt, dtype=float))
        mmax[k] = mv.max(-1)
        mrms[k] = np.sqrt((mv ** 2).mean(-1))
        for bs, bl in blocks:
            u = None
            for c in units:
                Zc = z_buf[:sb * lb * (c.stop - c.start) * n].reshape(sb, lb, -1, n)
                np.matmul(Wt4[bs, :, bl, c].transpose(0, 2, 3, 1), XT[bs, None], out=Zc)  # w_r·x_i, (s, l, m, n)
                np.maximum(Zc, 0.0, out=Zc)
                part = np.matmul(arow[bs, ..., c], Zc)[..., 0, :]                         # u, (s, l, n)
                u = part if u is None else u + part
                if pattern is not None:
                    np.greater(Zc, 0.0, out=pattern[..., c, :])                           # activation pattern
            r[bs, bl] = Yd[bs, bl] - u                                                    # y − u
            if k == steps:
                continue
            xr = XT[bs, None] * r[bs, bl, None, :]
            for c in units:
                if pattern is None:
                    np.greater(Zc, 0.0, out=Zc)                       # one chunk: its activations are still here
                else:
                    Zc = z_buf[:sb * lb * (c.stop - c.start) * n].reshape(sb, lb, -1, n)
                    np.copyto(Zc, pattern[..., c, :])
                Gc = g_buf[:sb * lb * d * (c.stop - c.start)].reshape(sb, lb, d, -1)
                np.matmul(xr, Zc.swapaxes(-1, -2), out=Gc)                                # Σ_i (y_i − u_i) S_ri x_i
                Gc *= coef[bs, :, None, c]                                                # (s, l, d, m)
                Wt4[bs, :, bl, c] += Gc.transpose(0, 2, 1, 3)                             # W −= η ∂L/∂W
        res[k] = r
    S_end = np.matmul(Xd, Wt) > 0
    flipped = (S_end != S0).reshape(S, n, L, m).mean(axis=(1, 3))
    P = S_end.reshape(S, n, L, m).transpose(0, 2, 1, 3).astype(dtype)                   # (S, L, n, m)
    gram_end = (X @ np.swapaxes(X, 1, 2))[:, None] * np.matmul(P, np.swapaxes(P, 2, 3)).astype(float) / m
    return {"residual": res, "move_max": mmax, "move_rms": mrms, "flipped": flipped, "gram_end": gram_end}


def kernel_prediction(H, r0, eta, ks, *, power: int = 2, eig=None) -> np.ndarray:
    """‖(I − ηH)^k r0‖ = sqrt(Σ_i (1 − ηλ_i)^{2k} (v_i·r0)²) for k in ks: H (..., n, n), r0 (..., n), eta (...,)
    -> (len(ks), ...). ``power`` is the 2 of (1 − ηλ_i)^{2k} (a mutation test sets it to 1); ``eig`` the
    precomputed ``np.linalg.eigh(H)``."""
    lam, V = np.linalg.eigh(H) if eig is None else eig
    c2 = np.einsum("...ij,...i->...j", V, r0) ** 2                          # (v_i·r0)²
    fac = 1.0 - np.asarray(eta, float)[..., None] * lam                     # (..., n)
    k = np.asarray(ks, float).reshape((-1,) + (1,) * fac.ndim)
    return np.sqrt((fac ** (power * k) * c2).sum(-1))


# ------------------------------------------------------------------ notebook 10's grid
@dataclass(frozen=True)
class OverparamResult:
    """Notebook 10's runs: S replicates, L = len(kinds) label sets, W widths (the width index j first)."""
    X: np.ndarray            # (S, n, d) the inputs
    H: np.ndarray            # (S, n, n) H∞
    eigvals: np.ndarray      # (S, n) eigenvalues of H∞, ascending
    eta: np.ndarray          # (S,) the step, eta_scale / λ_max
    labels: dict             # {kind: (S, n)}; ``slowest`` per width: (W, S, n)
    kinds: tuple             # the label sets, LABEL_KINDS
    widths: np.ndarray       # (W,)
    replicates: np.ndarray   # (S,) the replicate keys 0 .. S − 1
    steps: int
    residual: np.ndarray     # (W, steps + 1, S, L, n) y − u(k)
    move_max: np.ndarray     # (W, steps + 1, S, L) max_r ‖w_r(k) − w_r(0)‖
    move_rms: np.ndarray     # (W, steps + 1, S, L) rms over r of the same
    flipped: np.ndarray      # (W, S, L) fraction of activation patterns flipped by the end
    gram0: np.ndarray        # (W, S, n, n) H(W(0))
    gram_end: np.ndarray     # (W, S, L, n, n) H(W(steps))


@one_blas_thread
def experiment(*, n: int, d: int, widths, n_seeds: int, steps: int, eta_scale: float = 1.0, seed: int,
               kappa: float = 1.0, max_elements: int = 1 << 22) -> OverparamResult:
    """Train every (width, replicate, label set) network; the ``n_seeds`` replicates r = 0, 1, ... each draw
    their own data, labels and initialisation from the streams of ``seed`` keyed by r.

    The batch is cut into chunks of at most ``max_elements`` hidden activations (members × m × n). One BLAS
    thread (the products are many and small; a thread pool only spins on a shared machine).
    """
    widths, reps = [int(m) for m in widths], list(range(int(n_seeds)))
    S, L, J = len(reps), len(LABEL_KINDS), len(widths)
    X = np.stack([sphere_points(seed, n, d, r) for r in reps])
    H = gram_infinity(X)
    lam = np.linalg.eigvalsh(H)
    eta = eta_scale / lam[:, -1]
    labs = [label_sets(seed, X[r], r) for r in reps]
    base = {k: np.stack([lb[k] for lb in labs]) for k in LABEL_KINDS[:-1]}
    out = {"X": X, "H": H, "eigvals": lam, "eta": eta, "kinds": tuple(LABEL_KINDS), "widths": np.array(widths),
           "replicates": np.array(reps), "labels": dict(base), "steps": int(steps),
           "residual": np.empty((J, steps + 1, S, L, n)), "move_max": np.empty((J, steps + 1, S, L)),
           "move_rms": np.empty((J, steps + 1, S, L)), "flipped": np.empty((J, S, L)),
           "gram0": np.empty((J, S, n, n)), "gram_end": np.empty((J, S, L, n, n))}
    slow = np.empty((J, S, n))
    # one task per width and chunk of replicates (the chunks of at most max_elements hidden activations that bound
    # the memory): each network is drawn from its stream, and every product is per replicate, so the split changes
    # no bit of any result
    tasks, where = [], []
    for j, m in enumerate(widths):
        chunk = max(1, max_elements // (L * m * n))
        for c in range(0, S, chunk):
            si = slice(c, min(c + chunk, S))
            tasks.append((m, seed, reps[si], d, kappa, X[si], H[si], {k: v[si] for k, v in base.items()}, eta[si],
                          steps))
            where.append((j, si))
    for (j, si), res in zip(where, map_tasks(_seed_chunk_runs, tasks)):
        for key in ("residual", "move_max", "move_rms"):
            out[key][j][:, si] = res[key]
        for key in ("flipped", "gram_end", "gram0"):
            out[key][j][si] = res[key]
        slow[j, si] = res["slowest"]
    out["labels"]["slowest"] = slow
    return OverparamResult(**out)


def _seed_chunk_runs(m: int, seed: int, reps, d: int, kappa: float, X, H, base: dict, eta, steps: int) -> dict:
    """A task of :func:`experiment`'s map: the (replicate, label set) networks of width m for a chunk of
    replicates, trained by gradient descent in one batch."""
    nets = [init_network(seed, m, d, kappa, r) for r in reps]
    W0 = np.stack([w for w, _ in nets])
    A = np.stack([a for _, a in nets])
    u0 = outputs(W0, A, X)
    slowest = np.stack([slowest_direction_labels(u0[i], H[i]) for i in range(len(reps))])
    Y = np.stack([base["tree"], base["dense"], base["random"], slowest], axis=1)   # (S, L, n)
    run = train_gd(W0, A, X, Y, eta, steps)
    return {"residual": run["residual"], "move_max": run["move_max"], "move_rms": run["move_rms"],
            "flipped": run["flipped"], "gram_end": run["gram_end"], "gram0": gram_empirical(W0, X),
            "slowest": slowest}


# ------------------------------------------------------------------ what the verdicts of notebook 10 read
FLOOR = 1e-10   # smallest loss ratio ‖r(k)‖²/‖r(0)‖² used (float32 resolves ‖r‖ there to ~1 %; float64 far better)


def loss_ratio(out: OverparamResult) -> np.ndarray:
    """‖y − u(k)‖² / ‖y − u(0)‖², shape (widths, steps + 1, seeds, label sets)."""
    L2 = (out.residual ** 2).sum(-1)
    return L2 / L2[:, :1]


def trajectory_error(out: OverparamResult, *, kernel=None, start: str = "residual", power: int = 2) -> np.ndarray:
    """max_k |‖y − u(k)‖ − ‖(I − ηH)^k r‖| / ‖y − u(0)‖ per (width, seed, label set): how far the measured
    trajectory is from the kernel prediction. Defaults: H = H∞ and r = y − u(0). The wrong predictions of the
    mutation tests: ``kernel`` another (seeds, n, n) matrix, ``start="labels"`` (r = y, the κ → 0 form),
    ``power=1``. Only steps where the measured loss ratio is above :data:`FLOOR` count."""
    H = out.H if kernel is None else kernel
    res = out.residual
    ks = np.arange(res.shape[1])
    meas = np.sqrt((res ** 2).sum(-1))                                        # (J, K + 1, S, L)
    ok = meas ** 2 >= FLOOR * meas[:, :1] ** 2
    err = np.empty(meas.shape[:1] + meas.shape[2:])
    lam, V = np.linalg.eigh(H)
    eig = (lam[:, None], V[:, None])
    for j in range(res.shape[0]):
        if start == "residual":
            r0 = res[j, 0]
        else:
            r0 = np.stack([np.stack([out.labels[k][i] if k != "slowest" else out.labels[k][j, i]
                                     for k in out.kinds]) for i in range(len(out.replicates))])
        pred = kernel_prediction(None, r0, out.eta[:, None], ks, power=power, eig=eig)
        err[j] = np.where(ok[j], np.abs(meas[j] - pred), 0.0).max(0) / meas[j, 0]
    return err


def steps_to_fraction(out: OverparamResult, fraction: float = 1e-2) -> np.ndarray:
    """The first k with ‖y − u(k)‖² ≤ fraction·‖y − u(0)‖² per (width, seed, label set); steps + 1 if never."""
    below = loss_ratio(out) <= fraction
    return np.where(below.any(1), below.argmax(1), below.shape[1])


def label_complexity(out: OverparamResult) -> dict:
    """yᵀ(H∞)⁻¹y per seed for the label sets that do not depend on the width (tree, dense, random)."""
    H = out.H
    return {k: np.einsum("si,si->s", out.labels[k], np.linalg.solve(H, out.labels[k][..., None])[..., 0])
            for k in out.kinds if k != "slowest"}
