"""SGD with weight decay and the rank of weight matrices (notebook 09).

Convention (Galanti, Siegel, Gupte & Poggio, arXiv 2206.05794): the regularised loss is
L(W) + λ Σ_l ‖W_l‖_F², so one SGD step is W_{t+1} = (1 − 2μλ) W_t − μ G_t with G_t the mini-batch
gradient of the data loss alone. For a bias-free dense layer, G_t = Σ_{i ≤ B} δ_i x_iᵀ has rank ≤ B.

The network is x ↦ W2 relu(W1 x) (no biases), trained on a teacher of the same form with a narrow hidden
layer, square loss ½‖ŷ − y‖² averaged over the batch. Every configuration (batch size, step, decay, seed)
is one slice of a leading batch axis G; configurations that share a batch size run in the
same matmuls (one loop per distinct batch size, no padded rows). Runs that share a seed share the data, the
initialisation and, for equal batch size, the sequence of mini-batches (common random numbers: differences
across μ and λ are paired).
Random streams (:mod:`sparsebounds.seeds`, one per thing drawn, independent): for the grid "inputs",
"teacher", "init" and ("batches", B); for the wide layer "wide teacher", "wide samples", "wide init" and
("wide batches", B).
A batch size equal to the number of training points is full-batch gradient descent, the control in which the
rank-B mechanism is vacuous.

The second experiment (:func:`train_wide`, :func:`batch_size_experiment`) is a wide first layer, width = input
dimension = r, on inputs whose energy is concentrated in a few directions, with 2μλ large enough that the
theory's rank bound B·K(ε) is at most r/2: the regime where the batch size can matter for the theory.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import seeds as seeding
from .tasks import map_tasks


def teacher_data(seed: int, n: int, d_in: int = 64, d_out: int = 10, teacher_width: int = 8):
    """x ~ N(0, I/d_in) (so ‖x‖ ≈ 1) and y = A relu(V x) with a random narrow teacher (width ``teacher_width``);
    streams (seed, "inputs") and (seed, "teacher")."""
    X = seeding.rng(seed, "inputs").standard_normal((n, d_in)) / np.sqrt(d_in)
    rng = seeding.rng(seed, "teacher")
    V = rng.standard_normal((teacher_width, d_in))
    A = rng.standard_normal((d_out, teacher_width)) / np.sqrt(teacher_width)
    return X, np.maximum(X @ V.T, 0) @ A.T


def init_weights(seed: int, d_in: int = 64, width: int = 128, d_out: int = 10):
    """He-scaled Gaussian W1 (width × d_in) and W2 (d_out × width); stream (seed, "init")."""
    rng = seeding.rng(seed, "init")
    return (rng.standard_normal((width, d_in)) * np.sqrt(2 / d_in),
            rng.standard_normal((d_out, width)) / np.sqrt(width))


def batch_indices(seed: int, B: int, n: int, steps: int) -> np.ndarray:
    """The mini-batches of one run: (steps, B) indices, a function of (seed, B) only (stream (seed, "batches", B))."""
    return seeding.rng(seed, "batches", B).integers(0, n, size=(steps, B))


def numerical_rank(sv: np.ndarray, rtol: float) -> np.ndarray:
    """Number of singular values above rtol·σ_max (sv sorted descending on the last axis)."""
    return (sv > rtol * sv[..., :1]).sum(-1)


def effective_rank(sv: np.ndarray) -> np.ndarray:
    """Entropy effective rank exp(H(p)), p = σ/Σσ (Roy & Vetterli 2007): 1..min(shape), continuous."""
    p = sv / np.maximum(sv.sum(-1, keepdims=True), np.finfo(float).tiny)
    return np.exp(-(p * np.log(np.where(p > 0, p, 1.0))).sum(-1))


def train_grid(Bs, mus, lams, seeds, *, steps: int, n_train: int = 512, d_in: int = 64, width: int = 128,
               d_out: int = 10, teacher_width: int = 8, log_every: int = 50, snapshot_lags=(10, 100, 1000),
               spectrum_steps=()):
    """Train one network per (B, μ, λ, seed) of the full grid by SGD with weight decay, all at once.

    A batch size equal to ``n_train`` means full-batch gradient descent (every step uses all training points
    once, no sampling): the control in which the rank-B mechanism is vacuous.

    Returns a dict with the grid axes flattened into G configurations (arrays ``B``, ``mu``, ``lam``,
    ``seed`` of shape (G,)) and
      grad_sv     (n_logs, G, min(width, d_in)) singular values of the logged first-layer data gradients,
      W_T         (G, width, d_in) the first layer after ``steps`` steps,
      W_lag       {K: (G, width, d_in)} the first layer at step steps − K (for each K in snapshot_lags),
      spectra     {t: (G, min(width, d_in))} singular values of W1 at the steps in ``spectrum_steps``,
      loss        (G,) final training loss (data part), loss0 (G,) initial.
    """
    grid = np.array([(B, mu, lam, s) for s in seeds for B in Bs for mu in mus for lam in lams], float)
    Bg, mug, lamg, sg = grid.T
    if any(K > steps for K in snapshot_lags):
        raise ValueError("every snapshot lag must be <= steps")
    data = {s: teacher_data(int(s), n_train, d_in, d_out, teacher_width) for s in seeds}
    inits = {s: init_weights(int(s), d_in, width, d_out) for s in seeds}
    out = {"B": Bg.astype(int), "mu": mug, "lam": lamg, "seed": sg.astype(int), "steps": steps}
    # one batched run per (batch size, seed), each an independent task of one map: every operation of the
    # loop acts on each configuration separately (stacked products, elementwise updates), so how the
    # configurations are batched does not change a bit of any result
    sizes = sorted(set(int(b) for b in Bs))
    sels = [np.flatnonzero((Bg == B) & (sg == s)) for B in sizes for s in seeds]
    sels = [sel for sel in sels if sel.size]
    tasks = [(int(Bg[sel[0]]), mug[sel], lamg[sel], sg[sel].astype(int), {int(sg[sel[0]]): data[sg[sel[0]]]},
              {int(sg[sel[0]]): inits[sg[sel[0]]]}, steps, log_every, snapshot_lags, spectrum_steps,
              int(Bg[sel[0]]) == n_train) for sel in sels]
    parts = list(zip(sels, map_tasks(_train_same_B_task, tasks)))
    G = len(grid)
    for key in ("grad_sv", "W_T", "loss", "loss0"):
        first = parts[0][1][key]
        axis = 1 if key == "grad_sv" else 0
        shape = list(first.shape)
        shape[axis] = G
        arr = np.empty(shape)
        for sel, res in parts:
            arr[(slice(None),) * axis + (sel,)] = res[key]
        out[key] = arr
    for key in ("W_lag", "spectra"):
        out[key] = {}
        for k in parts[0][1][key]:
            arr = np.empty((G,) + parts[0][1][key][k].shape[1:])
            for sel, res in parts:
                arr[sel] = res[key][k]
            out[key][k] = arr
    return out


def _train_same_B_task(B, mu, lam, seeds, data, inits, steps, log_every, snapshot_lags, spectrum_steps, full_batch):
    """A task of :func:`train_grid`'s map: every (μ, λ, seed) run at batch size B (seeded by the seeds)."""
    return _train_same_B(B, mu, lam, seeds, data, inits, steps, log_every, snapshot_lags, spectrum_steps,
                         full_batch=full_batch)


def _train_same_B(B, mu, lam, seeds, data, inits, steps, log_every, snapshot_lags, spectrum_steps,
                  full_batch=False):
    """The SGD loop for configurations that share the batch size B (batched over the leading axis);
    ``full_batch``: gradient descent on all training points (B = n_train, no sampling)."""
    G = len(mu)
    X = np.stack([data[s][0] for s in seeds])
    Y = np.stack([data[s][1] for s in seeds])
    W1 = np.stack([inits[s][0] for s in seeds])  # fresh arrays: updated in place below
    W2 = np.stack([inits[s][1] for s in seeds])
    n_train = X.shape[1]
    if not full_batch:
        idx = np.stack([batch_indices(int(s), B, n_train, steps) for s in seeds], axis=1)  # (steps, G, B)
    decay = (1 - 2 * mu * lam)[:, None, None]
    step = mu[:, None, None]
    rows = np.arange(G)[:, None]

    def data_loss(W1, W2):
        out = np.maximum(X @ W1.transpose(0, 2, 1), 0) @ W2.transpose(0, 2, 1)
        return 0.5 * ((out - Y) ** 2).sum(-1).mean(-1)

    loss0 = data_loss(W1, W2)
    grad_sv, W_lag, spectra = [], {}, {}
    lag_at = {steps - K: K for K in snapshot_lags}
    for t in range(steps + 1):
        if t in lag_at:
            W_lag[lag_at[t]] = W1.copy()
        if t in spectrum_steps:
            spectra[t] = np.linalg.svd(W1, compute_uv=False)
        if t == steps:
            break
        xb, yb = (X, Y) if full_batch else (X[rows, idx[t]], Y[rows, idx[t]])  # (G, B, d_in), (G, B, d_out)
        pre = xb @ W1.transpose(0, 2, 1)                      # (G, B, width)
        h = np.maximum(pre, 0)
        r = (h @ W2.transpose(0, 2, 1) - yb) * (1.0 / B)     # d(mean of ½‖ŷ − y‖²)/dŷ
        G2 = r.transpose(0, 2, 1) @ h
        G1 = ((r @ W2) * (pre > 0)).transpose(0, 2, 1) @ xb  # Σ_i δ_i x_iᵀ: rank ≤ B
        if t % log_every == 0:
            grad_sv.append(np.linalg.svd(G1, compute_uv=False))
        W1 *= decay                                           # in place: (1 − 2μλ)W − μG
        W1 -= np.multiply(G1, step, out=G1)
        W2 *= decay
        W2 -= np.multiply(G2, step, out=G2)
    return {"grad_sv": np.array(grad_sv), "W_T": W1, "W_lag": W_lag, "spectra": spectra,
            "loss": data_loss(W1, W2), "loss0": loss0}


def sv_inequality(W_T: np.ndarray, W_lag: np.ndarray, B, mu, lam, K: int, *, decay_factor: float = 2.0):
    """Both sides of σ_{KB+1}(W_T) ≤ (1 − c·μλ)^K ‖W_{T−K}‖₂ (c = decay_factor; the theorem has c = 2).

    Batched over configurations: returns (observed, bound, informative) of shape (G,); ``informative`` is
    False where KB + 1 exceeds min(W.shape), there σ_{KB+1} does not exist and the inequality is vacuous
    (observed is then reported as 0).
    """
    B = np.broadcast_to(np.asarray(B, int), W_T.shape[:1])
    sv = np.linalg.svd(W_T, compute_uv=False)
    idx = K * B  # 0-based index of σ_{KB+1}
    informative = idx < sv.shape[-1]
    observed = np.where(informative, sv[np.arange(sv.shape[0]), np.minimum(idx, sv.shape[-1] - 1)], 0.0)
    bound = (1 - decay_factor * np.asarray(mu) * np.asarray(lam)) ** K * np.linalg.norm(W_lag, 2, axis=(-2, -1))
    return observed, bound, informative


def apply_updates(W0: np.ndarray, grads, mu: float, lam: float) -> np.ndarray:
    """The bare SGD-with-weight-decay recursion W ← (1 − 2μλ)W − μG over a sequence of gradients."""
    W = np.array(W0, float)
    tmp = np.empty_like(W)
    for Gt in grads:
        W *= 1 - 2 * mu * lam
        W -= np.multiply(Gt, mu, out=tmp)
    return W


def attained_instance(K: int, B: int, *, mu: float = 0.05, lam: float = 0.01, c: float = 1.0,
                      extra: int = 4, push: float = 1.0):
    """A worst case where σ_{KB+1}(W_T) = (1 − 2μλ)^K ‖W_{T−K}‖₂ exactly.

    W_{T−K} = c·I_d (flat spectrum), d = KB + extra; the gradient of step j is −push·Σ e_i e_iᵀ over its own
    block of B coordinates (rank B), so it only enlarges KB singular values and vanishes on the remaining
    ``extra`` directions, which decay by (1 − 2μλ) per step and stay exactly at the bound.
    Returns (W_T, W_{T−K}) as arrays of shape (1, d, d).
    """
    d = K * B + extra
    W0 = c * np.eye(d)

    def grads():
        Gt = np.zeros((d, d))  # one buffer, its block set before and cleared after each step
        for j in range(K):
            blk = np.arange(j * B, (j + 1) * B)
            Gt[blk, blk] = -push
            yield Gt
            Gt[blk, blk] = 0.0

    return apply_updates(W0, grads(), mu, lam)[None], W0[None]


# ---------------------------------------------------------------- where the bound bites: a wide layer
def look_back(mu, lam, eps):
    """K(ε) = ⌈log ε / log(1 − 2μλ)⌉: the steps after which the decay has shrunk W_{T−K} to ε of itself."""
    return int(np.ceil(np.log(eps) / np.log(1 - 2 * mu * lam)))


def wide_task(seed: int, *, d_in: int, latent_dim: int, noise: float, n_train: int, n_test: int, d_out: int = 10,
              teacher_width: int = 8):
    """High-dimensional inputs with a low-dimensional signal: x = U z + noise·ξ/√d_in, z ~ N(0, I/latent_dim),
    ξ ~ N(0, I), U a random d_in × latent_dim orthonormal frame; y = A relu(V z) (teacher of width
    ``teacher_width``). Every input direction carries some energy (the noise), so the data have full rank
    d_in while most of the energy, and all of the target, lies in span U.
    Returns (X, Y, X_test, Y_test, U); streams (seed, "wide teacher") (teacher, frame) and (seed, "wide samples")."""
    rng = seeding.rng(seed, "wide teacher")
    U = np.linalg.qr(rng.standard_normal((d_in, latent_dim)))[0]
    V = rng.standard_normal((teacher_width, latent_dim))
    A = rng.standard_normal((d_out, teacher_width)) / np.sqrt(teacher_width)
    rs = seeding.rng(seed, "wide samples")
    z = rs.standard_normal((n_train + n_test, latent_dim)) / np.sqrt(latent_dim)
    X = z @ U.T + noise * rs.standard_normal((n_train + n_test, d_in)) / np.sqrt(d_in)
    Y = np.maximum(z @ V.T, 0) @ A.T
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:], U


def wide_init(seed: int, width: int, d_in: int, d_out: int = 10):
    """The wide network's He-scaled W1 (width × d_in) and W2 (d_out × width); stream (seed, "wide init")."""
    rng = seeding.rng(seed, "wide init")
    return (rng.standard_normal((width, d_in)) * np.sqrt(2 / d_in),
            rng.standard_normal((d_out, width)) / np.sqrt(width))


def wide_batches(seed: int, B: int, n: int, steps: int) -> np.ndarray:
    """The wide run's mini-batches (steps, B); stream (seed, "wide batches", B)."""
    return seeding.rng(seed, "wide batches", B).integers(0, n, size=(steps, B))


WIDE_BLOCK_ROWS = 256   # train_wide's steps run in blocks of 256 // B (the block size hardly matters: 64-512 alike)


def train_wide(B: int, mu: float, lam: float, seed: int, *, checkpoints, eps: float, width: int, d_in: int,
               latent_dim: int, noise: float, n_train: int, n_test: int = 1000, d_out: int = 10,
               teacher_width: int = 8):
    """SGD with weight decay on x ↦ W2 relu(W1 x) (W1: width × d_in) for the task of :func:`wide_task`.

    At each step t in ``checkpoints`` it records, for the first layer: the singular values of W1 (from the
    Gram matrix, accurate far below the ε used here), ‖W1 at t − K(ε)‖₂, the ε-rank
    #{σ_i(W_t) > ε‖W_{t−K}‖₂} that the theory bounds by B·K(ε), the share of ‖W_t‖_F² inside the signal
    subspace span U, and the test error relative to the zero predictor. Every draw is a function of
    (seed, B): :func:`wide_init` and :func:`wide_batches`.

    The layer is large and the batch small, so a step-by-step loop would spend its time reading and writing W1
    (three passes per step). Between two steps where W1 is needed, the steps run in blocks of WIDE_BLOCK_ROWS // B:
    one product of W1 with the block's inputs, a small exact correction per step for the updates made since the
    block began, and one BLAS update W1 ← (1 − 2μλ)^L W1 − Σ_k (1 − 2μλ)^(L−1−k) μG1_k at its end. The same
    arithmetic up to round-off (tests/test_lowrank.py checks it against the plain step-by-step recursion);
    at width 1536, 2.5× (B = 4) to 5.6× (B = 1) faster than the step-by-step loop.
    """
    from scipy.linalg.blas import dgemm
    from scipy.sparse.linalg import svds

    K = look_back(mu, lam, eps)
    checkpoints = sorted(set(int(c) for c in checkpoints))
    if checkpoints[0] < K:
        raise ValueError("every checkpoint must be at least the look-back K(eps)")
    X, Y, Xt, Yt, U = wide_task(seed, d_in=d_in, latent_dim=latent_dim, noise=noise, n_train=n_train,
                                n_test=n_test, d_out=d_out, teacher_width=teacher_width)
    W1, W2 = wide_init(seed, width, d_in, d_out)
    steps = checkpoints[-1]
    idx = wide_batches(seed, B, n_train, steps)
    a = 1 - 2 * mu * lam
    # W1 is needed explicitly only at these steps; between two of them the steps run in blocks (see below)
    events = sorted({0, steps} | set(checkpoints) | {c - K for c in checkpoints})
    block = max(1, WIDE_BLOCK_ROWS // B)
    a_pow = a ** np.arange(block + 1)
    lag_norm, out = {}, {}
    t = 0
    with np.errstate(over="ignore", invalid="ignore"):   # a divergence is reported in one clear error
        while True:
            if (t in lag_norm or t + K in checkpoints) and not np.all(np.isfinite(W1)):
                raise FloatingPointError(f"train_wide diverged by step {t} (B={B}, mu={mu}, lam={lam}, seed={seed}, "
                                         f"width={width}): take a smaller step mu")
            for c in checkpoints:
                if t == c - K:
                    lag_norm[c] = float(svds(W1, k=1, v0=np.ones(min(W1.shape)), tol=0,   # Lanczos, from a
                                             return_singular_vectors=False)[0])          # fixed start vector
            if t in lag_norm:
                gram = W1 @ W1.T if width <= d_in else W1.T @ W1
                sv = np.sqrt(np.clip(np.linalg.eigvalsh(gram)[::-1], 0, None))
                pred = np.maximum(Xt @ W1.T, 0) @ W2.T
                out[t] = {"sv": sv, "lag_norm": lag_norm[t], "eps_rank": int((sv > eps * lag_norm[t]).sum()),
                          "signal_share": float(np.linalg.norm(W1 @ U) ** 2 / np.linalg.norm(W1) ** 2),
                          "test_error": float(((pred - Yt) ** 2).sum() / (Yt ** 2).sum())}
            if t == steps:
                break
            # Steps t .. t + L - 1 in one block. With D_k = delta of step t + k (so mu G1 = D_k^T xb_k),
            #   W1_{t+j} = a^j W1_t - sum_{k<j} a^(j-1-k) D_k^T xb_k,
            # hence pre_j = xb_j W1_{t+j}^T = a^j xb_j W1_t^T - sum_{k<j} a^(j-1-k) (xb_j xb_k^T) D_k: one product
            # with W1_t for the whole block, small corrections per step, and one rank-LB update at its end. The
            # layer is read twice per block instead of three times per step (it is far larger than the batch).
            L = min(block, next(e for e in events if e > t) - t)
            rows = idx[t:t + L].reshape(-1)
            XB, YB = X[rows], Y[rows]
            Q = XB @ W1.T                                          # (L·B, width)
            S = XB @ XB.T                                          # (L·B, L·B)
            D = np.empty_like(Q)
            for j in range(L):
                now = slice(j * B, (j + 1) * B)
                pre = Q[now] * a_pow[j]
                if j:
                    pre -= (S[now, :j * B] * np.repeat(a_pow[j - 1::-1], B)) @ D[:j * B]
                h = np.maximum(pre, 0)
                r = (h @ W2.T - YB[now]) * (mu / B)                  # μ · d(mean ½‖ŷ − y‖²)/dŷ
                G2 = r.T @ h
                D[now] = (r @ W2) * (pre > 0)                       # (B, width): μ G1 = D_jᵀ xb_j, rank ≤ B
                W2 *= a
                W2 -= G2
            D *= np.repeat(a_pow[L - 1::-1], B)[:, None]
            dgemm(alpha=-1.0, a=XB.T, b=D, beta=a_pow[L], c=W1.T, overwrite_c=1)   # in place: W1_{t+L}
            t += L
    return {"K": K, "bound": B * K, "at": out}


def batch_size_experiment(Bs, mu: float, lam: float, seeds, *, steps: int, eps: float, width: int, d_in: int,
                          latent_dim: int, noise: float, n_train: int, n_test: int = 1000):
    """The batch-size comparison where the bound can bite, at equal steps and at equal samples.

    Every B runs ``steps`` steps (equal steps) and, from the same mini-batch stream, on to
    steps·max(Bs)/B steps (equal samples: as many examples as the largest batch sees in ``steps`` steps).
    Returns {(B, seed): train_wide(...) result} with checkpoints at both budgets.
    """
    Bmax = max(Bs)
    if any(Bmax % B for B in Bs):
        raise ValueError("every batch size must divide the largest one (equal-sample budgets are whole steps)")
    keys = [(B, s) for B in Bs for s in seeds]
    runs = map_tasks(_train_wide_task, [(B, mu, lam, s, (steps, steps * Bmax // B), eps, width, d_in, latent_dim,
                                         noise, n_train, n_test) for B, s in keys])
    return dict(zip(keys, runs))


def _train_wide_task(B, mu, lam, seed, checkpoints, eps, width, d_in, latent_dim, noise, n_train, n_test):
    """A task of :func:`batch_size_experiment`'s map: one (B, seed) run of :func:`train_wide`."""
    return train_wide(B, mu, lam, seed, checkpoints=checkpoints, eps=eps, width=width, d_in=d_in,
                      latent_dim=latent_dim, noise=noise, n_train=n_train, n_test=n_test)


def sign_test(smaller, larger):
    """Paired one-sided sign test of H1: ``smaller`` < ``larger`` (pairs elementwise; ties dropped).

    Returns (n_in_direction, n_against, n_ties, p) with p the exact binomial tail P(X ≥ n_in_direction) for
    X ~ Bin(n_in_direction + n_against, 1/2) (p = 1 when every pair is tied)."""
    from scipy.stats import binomtest

    d = np.asarray(larger, float) - np.asarray(smaller, float)
    pos, neg = int((d > 0).sum()), int((d < 0).sum())
    p = binomtest(pos, pos + neg, 0.5, alternative="greater").pvalue if pos + neg else 1.0
    return pos, neg, int((d == 0).sum()), float(p)


# ---------------------------------------------------------------- notebook 09's experiment
D_IN, WIDTH = 64, 128            # the small network 64-128-10; its first layer has rank <= 64
WIDE_LATENT, WIDE_NOISE = 4, 0.5   # wide task: 4-dimensional signal, noise energy 0.25 spread over all inputs
ALPHA = 0.05                     # level of every one-sided paired sign test (fixed before the runs)
TRANSIENT = 0.1                  # a cell with (1 - 2 mu lambda)^T above this has not forgotten its initialisation
LOOK_BACKS = (1, 3, 10, 30, 100, 1000)   # the look-backs K at which W_{T-K} is kept (those <= steps)


@dataclass(frozen=True)
class LowRankResult:
    """Notebook 09's runs. ``sgd``: :func:`train_grid` over every (B, μ, λ, seed) of the small network (keys B,
    mu, lam, seed per run; W_T, W_lag {K: ...}, grad_sv, spectra, loss, ...); ``gd``: the full-batch control
    (B = n_train) at ``gd_learning_rates``, seeds 0 .. gd_seeds − 1; ``wide``: {(B, seed): :func:`train_wide`
    result} of the wide layer, with checkpoints at equal steps (``t_equal[B]``) and equal samples
    (``t_samples[B]``). Runs that share a seed share data and initialisation (paired comparisons)."""
    steps: int
    batch_sizes: tuple
    learning_rates: tuple
    weight_decays: tuple
    gd_learning_rates: tuple
    wide_batch_sizes: tuple
    lags: tuple
    spectrum_steps: tuple
    seeds: tuple
    gd_seeds: tuple
    wide_seeds: tuple
    sgd: dict
    gd: dict
    wide: dict
    t_equal: dict
    t_samples: dict

    def cell(self, arr, s: int, mu: float, B: int, lam: float):
        """The entry of ``arr`` (one value per SGD run, in ``sgd``'s order) for seed s and (μ, B, λ)."""
        g = self.sgd
        return arr[(g["seed"] == s) & (g["mu"] == mu) & (g["B"] == B) & (g["lam"] == lam)][0]

    def gd_cell(self, arr, s: int, mu: float, lam: float):
        """The entry of ``arr`` (one value per gradient-descent run) for seed s and (μ, λ)."""
        g = self.gd
        return arr[(g["seed"] == s) & (g["mu"] == mu) & (g["lam"] == lam)][0]

    def wide_at(self, key: str, B: int, s: int, t: int):
        """Quantity ``key`` (eps_rank, sv, lag_norm, signal_share, test_error) of the wide run (B, seed s) at step t."""
        return self.wide[B, s]["at"][t][key]

    def transient(self, mu: float, lam: float) -> bool:
        """More than TRANSIENT of the initial matrix survives the decay of the T steps."""
        return lam > 0 and (1 - 2 * mu * lam) ** self.steps > TRANSIENT

    # the paired comparisons of the sign tests (arr: one value per run, e.g. the effective rank)
    def decay_pairs(self, arr, *, control: bool = False):
        """(value at the larger λ, value at the smaller) over successive non-transient λ on every line: the SGD
        lines (seed, μ, B), or with ``control`` the gradient-descent lines (seed, μ)."""
        if control:
            lines = [((s, m), m) for s in self.gd_seeds for m in self.gd_learning_rates]
            at = self.gd_cell
        else:
            lines = [((s, m, b), m) for s in self.seeds for m in self.learning_rates for b in self.batch_sizes]
            at = self.cell
        lo, hi = [], []
        for key, m in lines:
            ls = [lam for lam in self.weight_decays if not self.transient(m, lam)]
            for l0, l1 in zip(ls, ls[1:]):
                lo.append(at(arr, *key, l1))
                hi.append(at(arr, *key, l0))
        return np.array(lo), np.array(hi)

    def step_pairs(self, arr):
        """(value at the larger μ, value at the smaller, where = (seed, B, λ, μ0, μ1)) over successive
        non-transient μ at every (seed, B, λ > 0) of the SGD grid."""
        lo, hi, where = [], [], []
        for s in self.seeds:
            for b in self.batch_sizes:
                for lam in self.weight_decays:
                    ms = [m for m in self.learning_rates if lam > 0 and not self.transient(m, lam)]
                    for m0, m1 in zip(ms, ms[1:]):
                        lo.append(self.cell(arr, s, m1, b, lam))
                        hi.append(self.cell(arr, s, m0, b, lam))
                        where.append((s, b, lam, m0, m1))
        return np.array(lo), np.array(hi), where

    def batch_pairs(self, arr):
        """(value at the smaller B, value at the larger) over successive B at every seed, μ and non-transient
        λ > 0 of the SGD grid."""
        lo, hi = [], []
        for s in self.seeds:
            for m in self.learning_rates:
                for lam in self.weight_decays:
                    if lam > 0 and not self.transient(m, lam):
                        for b0, b1 in zip(self.batch_sizes, self.batch_sizes[1:]):
                            lo.append(self.cell(arr, s, m, b0, lam))
                            hi.append(self.cell(arr, s, m, b1, lam))
        return lo, hi

    def wide_batch_pairs(self, key: str = "eps_rank") -> dict:
        """{"equal steps": (lo, hi), "equal samples": (lo, hi)}: ``key`` of the wide runs at the smaller and the
        larger of successive batch sizes, every seed, at each budget."""
        out = {}
        bs = self.wide_batch_sizes
        for name, tb in (("equal steps", self.t_equal), ("equal samples", self.t_samples)):
            out[name] = ([self.wide_at(key, b0, s, tb[b0]) for s in self.wide_seeds for b0, b1 in zip(bs, bs[1:])],
                         [self.wide_at(key, b1, s, tb[b1]) for s in self.wide_seeds for b0, b1 in zip(bs, bs[1:])])
        return out


def experiment(*, batch_sizes, learning_rates, weight_decays, n_seeds: int, steps: int, log_every: int,
               n_train: int, gd_seeds: int, gd_learning_rates, wide_width: int, wide_batch_sizes, wide_lr: float,
               wide_decay: float, wide_steps: int, wide_seeds: int, rank_eps: float) -> LowRankResult:
    """Notebook 09's three experiments: SGD with weight decay on the small network over the full grid, the
    full-batch gradient-descent control, and the wide layer where the bound bites (:func:`batch_size_experiment`)."""
    if not set(gd_learning_rates) <= set(learning_rates):
        raise ValueError("the control runs at steps mu of the SGD grid")
    lags = tuple(k for k in LOOK_BACKS if k <= steps)
    spec_steps = (0, steps // 10, steps // 3, steps)
    seeds = tuple(range(n_seeds))
    sgd = train_grid(batch_sizes, learning_rates, weight_decays, list(seeds), steps=steps, n_train=n_train,
                     d_in=D_IN, width=WIDTH, log_every=log_every, snapshot_lags=lags, spectrum_steps=spec_steps)
    gd = train_grid([n_train], gd_learning_rates, weight_decays, list(range(gd_seeds)), steps=steps,
                    n_train=n_train, d_in=D_IN, width=WIDTH, log_every=steps + 1, snapshot_lags=(),
                    spectrum_steps=(0, steps))
    wide_list = tuple(range(wide_seeds))
    Bmax = max(wide_batch_sizes)
    wide = batch_size_experiment(wide_batch_sizes, wide_lr, wide_decay, list(wide_list), steps=wide_steps,
                                 eps=rank_eps, width=wide_width, d_in=wide_width, latent_dim=WIDE_LATENT,
                                 noise=WIDE_NOISE, n_train=2 * wide_width)
    return LowRankResult(steps=int(steps), batch_sizes=tuple(batch_sizes), learning_rates=tuple(learning_rates),
                         weight_decays=tuple(weight_decays), gd_learning_rates=tuple(gd_learning_rates),
                         wide_batch_sizes=tuple(wide_batch_sizes), lags=lags, spectrum_steps=spec_steps, seeds=seeds,
                         gd_seeds=tuple(range(gd_seeds)), wide_seeds=wide_list, sgd=sgd, gd=gd, wide=wide,
                         t_equal={b: wide_steps for b in wide_batch_sizes},
                         t_samples={b: wide_steps * Bmax // b for b in wide_batch_sizes})
