"""Targets of known smoothness, compositional (binary-tree) targets, and their constructive approximants.

Smoothness is exact by construction: the profile φ_m(t) = t^(m−1)·|t| has a bounded m-th derivative that
jumps at t = 0, so φ_m ∘ (smooth) lies in W_m^∞ and in no W_{m+1}^∞.

* :class:`SphereTarget` — f(x) = s·φ_m((‖x − c‖² − r²)/ρ) on [−1, 1]^d, smoothness exactly m, its kink
  (m = 1) or curvature jump (m = 2) on a sphere crossing the cube; a random (c, r) per seed.
* :func:`p1_interpolate` — the continuous piecewise-linear (P1) interpolant on the Kuhn (Freudenthal)
  triangulation of a uniform grid with M intervals per axis: the constructive approximant. In 1-D it is
  exactly a ReLU network with M units (:func:`sparsebounds.networks.relu_interpolant_1d`); in d ≥ 2 it is
  a continuous piecewise-linear function (representable by a ReLU network of depth ⌈log2(d + 1)⌉ + 1,
  not by one hidden layer). P1 accuracy saturates at order 2: error ~ M^(−min(m, 2)).
* :class:`TreeTarget` — f(x_1..x_d) on a binary tree, every node its own bivariate constituent
  h(a, b) = A·sin(ω(a + b) + φ) + B·ψ(a − b), ψ(t) = t|t|/2, which is in W_2^∞ exactly (ψ'' jumps), maps
  [−1, 1]² into [−0.95, 0.95], and has partial Lipschitz constants L_a = L_b = A·ω + 2|B| (≈ 1.3, so a node
  amplifies errors by up to L_a + L_b ≈ 2.7).
* :func:`tree_constructive` — the proof's approximant: every node replaced by its P1 interpolant on an
  (M+1)×(M+1) grid of [−1, 1]², composed; returns per-node sup errors and the end-to-end error.
* :func:`propagation_bound` — err(v) ≤ ε_v + L_a(v)·err(left) + L_b(v)·err(right), by recursion.
* :class:`RidgeTarget` — a sum of a few ridge functions of dense random directions: a function of all d
  inputs that is not a binary-tree composition (natural for shallow nets), for contrast.
* :func:`trained_shallow_errors`, :func:`deep_vs_shallow` — the training experiments of notebooks 02, 03
  (batched over widths and seeds, :mod:`sparsebounds.networks`).
* :func:`asymptotic_slope_ci` — a rate check that fits the next-order term; :func:`linear_hard_instance`
  — the worst case of the error recursion (bound attained).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def phi(t, m: int):
    """φ_m(t) = t^(m−1)·|t|: m-th derivative bounded with a jump at 0 (m ≥ 1)."""
    t = np.asarray(t, float)
    return t ** (m - 1) * np.abs(t)


# ------------------------------------------------------------------ targets of known smoothness
@dataclass
class SphereTarget:
    """f_s(x) = scale·φ_m((‖x − c_s‖² − r_s²)/ρ_d), one target per seed (batch axis S)."""
    d: int
    m: int
    c: np.ndarray      # (S, d)
    r: np.ndarray      # (S,)

    @classmethod
    def random(cls, seeds, d: int, m: int) -> "SphereTarget":
        cs, rs = [], []
        for s in seeds:
            rng = np.random.default_rng([int(s), 3, d, m])
            cs.append(rng.uniform(-0.3, 0.3, d))
            rs.append(rng.uniform(0.5, 0.8) * np.sqrt(d / 3.0) + 0.2)
        return cls(d, m, np.array(cs), np.array(rs))

    @property
    def rho(self) -> float:
        return float(self.d)   # keeps the argument O(1) on [−1, 1]^d

    def __call__(self, X) -> np.ndarray:
        """(S, P) values at X of shape (P, d) (shared) or (S, P, d) (one point set per target)."""
        X = np.asarray(X, float)
        off = (self.c ** 2).sum(1) - self.r ** 2                                  # (S,)
        if X.ndim == 2:    # ‖x − c‖² = ‖x‖² − 2c·x + ‖c‖², without an (S, P, d) temporary
            q = (X ** 2).sum(1)[None, :] - 2.0 * (self.c @ X.T) + off[:, None]
        else:
            q = (X ** 2).sum(2) - 2.0 * np.einsum("sd,spd->sp", self.c, X) + off[:, None]
        q /= self.rho
        return phi(q, self.m)

    def kink_points(self, n: int, seed: int = 0) -> np.ndarray:
        """(S, ≤n, d) points on each target's singular sphere inside the cube (NaN-padded), where a W_1
        target's interpolation error peaks."""
        rng = np.random.default_rng([seed, 4])
        u = rng.standard_normal((n, self.d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        pts = self.c[:, None, :] + self.r[:, None, None] * u[None]
        inside = np.all(np.abs(pts) <= 1, axis=-1)
        return np.where(inside[..., None], pts, np.nan)


# ------------------------------------------------------------------ P1 interpolation on a uniform grid
def grid_points(d: int, M: int) -> np.ndarray:
    """The (M+1)^d nodes of the uniform grid on [−1, 1]^d, C order, shape ((M+1)^d, d)."""
    ax = np.linspace(-1.0, 1.0, M + 1)
    return np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)


def p1_interpolate(values: np.ndarray, M: int, X) -> np.ndarray:
    """Evaluate the P1 (Kuhn-triangulation) interpolant of grid ``values`` (S, (M+1)^d) at X (P, d).

    Inside the cell with corner i and local coordinates t ∈ [0, 1]^d, sort t decreasingly
    (t_(1) ≥ .. ≥ t_(d)); the simplex has vertices v_0 = i, v_k = v_{k−1} + e_(k) and barycentric weights
    1 − t_(1), t_(1) − t_(2), .., t_(d). Continuous, piecewise linear, exact on affine functions.
    Points outside [−1, 1]^d are clamped to it. X may also be (S, P, d): one point set per row of values.
    """
    X = np.clip(np.asarray(X, float), -1.0, 1.0)
    values = np.atleast_2d(values)
    if X.ndim == 3:
        return _p1_batched(values, M, X)
    w, idx = _p1_weights(X, M)                                                 # (P, d+1) each
    return np.einsum("spk,pk->sp", values[:, idx], w, optimize=True)


def _p1_batched(values, M, X):
    S, P, d = X.shape
    G = values.shape[1]
    w, idx = _p1_weights(X.reshape(S * P, d), M)
    idx = idx.reshape(S, P, d + 1) + (np.arange(S) * G)[:, None, None]
    return (values.reshape(-1)[idx] * w.reshape(S, P, d + 1)).sum(-1)


def _p1_weights(X, M):
    P, d = X.shape
    g = (X + 1.0) * (M / 2.0)
    i0 = np.clip(np.floor(g), 0, M - 1).astype(np.int64)
    t = g - i0
    order = np.argsort(-t, axis=1, kind="stable")
    ts = np.take_along_axis(t, order, axis=1)
    w = np.concatenate([1.0 - ts[:, :1], ts[:, :-1] - ts[:, 1:], ts[:, -1:]], axis=1)
    strides = (M + 1) ** np.arange(d - 1, -1, -1)
    base = i0 @ strides
    steps = np.cumsum(strides[order], axis=1)
    return w, np.concatenate([base[:, None], base[:, None] + steps], axis=1)


def p1_sup_errors(target, Ms, X_test) -> np.ndarray:
    """max_x |f − I_M f| over X_test for every target (rows) and every grid M (columns): (S, len(Ms)).

    X_test (P, d) is shared by the targets; (S, P, d) gives each target its own points (then the
    sampling error of the sup estimate differs between targets and a bootstrap over targets sees it)."""
    f_test = target(X_test)
    out = np.empty((f_test.shape[0], len(Ms)))
    for j, M in enumerate(Ms):                       # a handful of grid sizes, each fully vectorised
        vals = target(grid_points(target.d, M))
        out[:, j] = np.nanmax(np.abs(p1_interpolate(vals, M, X_test) - f_test), axis=1)
    return out


def test_points_per_target(target: SphereTarget, n: int, seed: int, n_kink: int = 0, n_corner: int = 0,
                           corner_spacing: float = 0.0):
    """(S, P, d): an independent :func:`test_points` set for every target (same sizes; kink points padded
    by repeating the uniform ones so that the rows stack)."""
    rows = []
    for s in range(target.c.shape[0]):
        one = SphereTarget(target.d, target.m, target.c[s:s + 1], target.r[s:s + 1])
        rows.append(test_points(target.d, n, seed * 1000 + s, one, n_kink, n_corner,
                                corner_spacing=corner_spacing))
    P = max(r.shape[0] for r in rows)
    return np.stack([np.concatenate([r, r[:P - r.shape[0]]]) for r in rows])


def test_points(d: int, n: int, seed: int, target: SphereTarget | None = None, n_kink: int = 0,
                n_corner: int = 0, corner_size: float = 0.25, corner_spacing: float = 0.0):
    """Points where a sup norm on [−1, 1]^d has to be looked for: n uniform points, up to n_kink points on
    every target's singular sphere (a W_1 target's error peaks there), and n_corner points in each of the
    2^d corner boxes of side ``corner_size`` (curvature of the sphere targets, hence a W_2 target's P1
    error, is largest far from the centre, i.e. in the corners, which uniform points reach rarely).
    ``corner_spacing`` > 0 adds a regular lattice of that spacing in every corner box: a sup estimate
    whose points-per-cell does not fall as the grid is refined (choose it a fraction of the finest cell).
    """
    rng = np.random.default_rng([seed, 5, d])
    parts = [rng.uniform(-1, 1, (n, d))]
    signs = np.array(np.meshgrid(*([[-1.0, 1.0]] * d), indexing="ij")).reshape(d, -1).T   # (2^d, d)
    if n_corner:
        u = rng.uniform(0, corner_size, (signs.shape[0], n_corner, d))
        parts.append((signs[:, None, :] * (1 - u)).reshape(-1, d))
    if corner_spacing > 0:
        ax = np.arange(0.0, corner_size + 1e-12, corner_spacing) + 0.5 * corner_spacing * (seed % 2)
        u = np.stack(np.meshgrid(*([ax[ax <= corner_size]] * d), indexing="ij"), -1).reshape(-1, d)
        parts.append((signs[:, None, :] * (1 - u[None])).reshape(-1, d))
    if target is not None and n_kink:
        K = target.kink_points(n_kink, seed).reshape(-1, d)
        parts.append(K[~np.isnan(K).any(1)])
    return np.concatenate(parts)


# ------------------------------------------------------------------ compositional tree targets
@dataclass
class TreeTarget:
    """f = binary tree of bivariate constituents h_v; node params (S, d − 1) stored level by level
    (level 0 = the d/2 leaves' nodes first, the root last)."""
    d: int
    A: np.ndarray
    omega: np.ndarray
    phase: np.ndarray
    B: np.ndarray

    @classmethod
    def random(cls, seeds, d: int) -> "TreeTarget":
        depth = int(round(np.log2(d)))
        if 2 ** depth != d or d < 2:
            raise ValueError("d must be a power of 2")
        rows = []
        for s in seeds:
            rng = np.random.default_rng([int(s), 6, d])
            rows.append(np.stack([rng.uniform(0.55, 0.65, d - 1), rng.uniform(1.1, 1.3, d - 1),
                                  rng.uniform(-0.5, 0.5, d - 1),
                                  rng.choice([-1.0, 1.0], d - 1) * rng.uniform(0.05, 0.1, d - 1)]))
        A, om, ph, B = np.array(rows).transpose(1, 0, 2)
        return cls(d, A, om, ph, B)

    @property
    def depth(self) -> int:
        return int(round(np.log2(self.d)))

    @property
    def n_seeds(self) -> int:
        return self.A.shape[0]

    def level_slice(self, lvl: int) -> slice:
        """Columns of the node arrays that belong to level ``lvl`` (0 = leaves' nodes)."""
        start = sum(self.d >> (k + 1) for k in range(lvl))
        return slice(start, start + (self.d >> (lvl + 1)))

    def lipschitz(self):
        """(L_a, L_b), each (S, d − 1): sup |∂h/∂a|, sup |∂h/∂b| over [−1, 1]² are ≤ A·ω + 2|B|."""
        L = self.A * self.omega + 2 * np.abs(self.B)
        return L, L.copy()

    def node(self, a, b, sl: slice):
        """Constituents of the nodes in ``sl`` at inputs a, b of shape (S, K, P)."""
        A, om, ph, B = (z[:, sl, None] for z in (self.A, self.omega, self.phase, self.B))
        t = a - b
        return A * np.sin(om * (a + b) + ph) + B * t * np.abs(t) / 2

    def __call__(self, X, approx=None) -> np.ndarray:
        """(S, P) values at X (P, d). ``approx(lvl, a, b)`` replaces the constituents (approximant)."""
        X = np.asarray(X, float)
        U = np.broadcast_to(X.T[None], (self.n_seeds, self.d, X.shape[0]))
        for lvl in range(self.depth):
            a, b = U[:, 0::2], U[:, 1::2]
            U = approx(lvl, a, b) if approx else self.node(a, b, self.level_slice(lvl))
        return U[:, 0]


def node_p1_tables(target: TreeTarget, M: int) -> np.ndarray:
    """Every node's values on the (M+1)² grid of [−1, 1]²: (S, d − 1, (M+1)²)."""
    G = grid_points(2, M)
    a = np.broadcast_to(G[:, 0], (target.n_seeds, target.d - 1, G.shape[0]))
    b = np.broadcast_to(G[:, 1], a.shape)
    return target.node(a, b, slice(0, target.d - 1))


def _p1_nodes(tables, M, a, b):
    """P1 interpolation of per-(seed, node) tables at per-(seed, node) points: a, b (S, K, P)."""
    S, K, P = a.shape
    X = np.stack([a, b], -1).reshape(S * K, P, 2)
    return p1_interpolate(tables.reshape(S * K, -1), M, X).reshape(S, K, P)


def tree_constructive(target: TreeTarget, M: int, X_test, n_node_check: int = 201):
    """The constructive deep approximant with (M+1)² knots per node.

    Returns dict: ``end_to_end`` (S,) sup error over X_test; ``node_err`` (S, d − 1) each node's sup error
    over an n_node_check² grid of [−1, 1]² (which contains every input a node receives, checked:
    ``max_abs_internal`` < 1); ``knots_per_node`` (M+1)².
    """
    tables = node_p1_tables(target, M)
    internal = []

    def approx(lvl, a, b):
        sl = target.level_slice(lvl)
        out = _p1_nodes(tables[:, sl], M, a, b)
        internal.append(np.abs(out).max())
        return out

    f_hat = target(X_test, approx)
    f = target(X_test)
    # node errors on a fine grid, offset so that its points fall inside the P1 cells, not only on knots
    ax = np.linspace(-1, 1, n_node_check)
    A, Bg = np.meshgrid(ax, ax, indexing="ij")
    Q = np.stack([A.ravel(), Bg.ravel()], 1)
    a = np.broadcast_to(Q[:, 0], (target.n_seeds, target.d - 1, Q.shape[0]))
    b = np.broadcast_to(Q[:, 1], a.shape)
    exact = target.node(a, b, slice(0, target.d - 1))
    node_err = np.abs(_p1_nodes(tables, M, a, b) - exact).max(-1)
    return {"end_to_end": np.abs(f_hat - f).max(-1), "node_err": node_err,
            "knots_per_node": (M + 1) ** 2, "max_abs_internal": float(max(internal))}


def propagation_bound(node_err, La, Lb, d: int) -> np.ndarray:
    """err(root) bound by the recursion e_v = ε_v + L_a(v) e_left + L_b(v) e_right, leaves' inputs exact.

    node_err, La, Lb: (..., d − 1) in level order (as :class:`TreeTarget`). Returns (...,).
    """
    node_err, La, Lb = (np.asarray(z, float) for z in (node_err, La, Lb))
    e = np.zeros(node_err.shape[:-1] + (d,))
    start = 0
    while e.shape[-1] > 1:
        K = e.shape[-1] // 2
        sl = slice(start, start + K)
        e = node_err[..., sl] + La[..., sl] * e[..., 0::2] + Lb[..., sl] * e[..., 1::2]
        start += K
    return e[..., 0]


# ------------------------------------------------------------------ trained networks on these targets
def trained_shallow_errors(target, row: int, widths, seeds, n_train: int, steps: int, X_test, *,
                           activation: str = "relu", lr: float = 0.01, data_seed: int = 0):
    """Train shallow nets (every width × seed in one batch, float32 Adam) on target row ``row`` from
    n_train uniform points; returns (sup error, rms error) over X_test, each (len(seeds), len(widths))."""
    from . import networks as nw

    rng = np.random.default_rng([data_seed, 9, target.d])
    Xtr = rng.uniform(-1, 1, (n_train, target.d))
    ytr = target(Xtr)[row]
    net = nw.shallow(seeds, target.d, widths, activation, dtype=np.float32)
    net, _ = nw.train_adam(net, Xtr, ytr, steps, lr=lr)
    err = np.abs(nw.predict(net, X_test).astype(float) - target(X_test)[row])
    shape = (len(widths), len(seeds))
    return (err.max(1).reshape(shape).T, np.sqrt((err ** 2).mean(1)).reshape(shape).T)


# ------------------------------------------------------------------ asymptotic exponent with a correction
def asymptotic_slope_ci(N, err, predicted: float, d: int, *, n_boot: int = 2000, level: float = 0.95,
                        seed: int = 0, label: str = ""):
    """Rate check for an *asymptotic* exponent: fit log E = a + s·log N + b·N^(−1/d) (the next-order term of
    a grid approximant is one power of the mesh size h ∝ N^(−1/d) higher), bootstrap over the rows of
    ``err`` (targets), and ask whether ``predicted`` lies in the interval of s. A plain log-log fit over a
    finite range is biased by that term at the precision of many targets (reported beside it).
    """
    from .checks import Check, loglog_slope, num

    N = np.asarray(N, float)
    err = np.asarray(err, float)
    rng = np.random.default_rng(seed)
    X = np.stack([np.ones_like(N), np.log(N), N ** (-1.0 / d)], 1)
    pinv = np.linalg.pinv(X)                                                  # (3, n_points)
    rows = rng.integers(0, err.shape[0], size=(n_boot, err.shape[0]))
    ly = np.log(err)[rows].mean(axis=1)                                       # (n_boot, n_points)
    slopes = ly @ pinv[1]
    fitted = float(np.log(err).mean(0) @ pinv[1])
    lo, hi = np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2])
    return Check(bool(lo <= predicted <= hi), {
        "test": f"predicted exponent in {int(level * 100)}% bootstrap interval of s in "
                f"log E = a + s log N + b N^(-1/d)" + (f" ({label})" if label else ""),
        "fitted_slope": num(fitted), "ci_low": num(lo), "ci_high": num(hi),
        "predicted_slope": num(predicted),
        "plain_loglog_slope": num(loglog_slope(N, np.exp(np.log(err).mean(0)))), "n_boot": n_boot})


# ------------------------------------------------------------------ the worst case of the recursion
def linear_hard_instance(d: int, L: float, eps: float, n_points: int = 64, seed: int = 0):
    """Where the propagation bound is attained: every node h(a, b) = (L/2)(a + b), every approximant
    ĥ = h + ε (sup error ε), inputs in a box small enough that all values stay in [−1, 1]. Then the error
    propagates with no cancellation and err(root) = ε(L^depth − 1)/(L − 1) exactly.
    Returns (measured root errors (n_points,), node errors (d − 1,), L_a, L_b (d − 1,) each)."""
    depth = int(round(np.log2(d)))
    delta = 0.5 / max(L, 1.0) ** depth
    X = np.random.default_rng([seed, 10, d]).uniform(-delta, delta, (n_points, d))
    exact, approx = X.T, X.T
    for _ in range(depth):
        exact = 0.5 * L * (exact[0::2] + exact[1::2])
        approx = 0.5 * L * (approx[0::2] + approx[1::2]) + eps
    ones = np.ones(d - 1)
    return np.abs(approx[0] - exact[0]), eps * ones, 0.5 * L * ones, 0.5 * L * ones


def deep_vs_shallow(target: TreeTarget, row: int, node_widths, seeds, n_train: int, steps: int,
                    X_test, *, activation: str = "tanh", lr: float = 0.02, data_seed: int = 0):
    """Train tree nets (node widths n) and shallow nets with the same parameter count on target row
    ``row``; returns dict of test mse / target variance, each (len(seeds), len(node_widths)), and the
    parameter counts."""
    from . import networks as nw

    d = target.d
    rng = np.random.default_rng([data_seed, 11, d])
    Xtr = rng.uniform(-1, 1, (n_train, d))
    ytr = target(Xtr)[row]
    yte = target(X_test)[row]
    var = yte.var()
    shallow_N = [max(1, int(round((int(nw.tree_params_count(d, n)) - 1) / (d + 2)))) for n in node_widths]
    out = {"node_widths": list(node_widths), "shallow_widths": shallow_N,
           "deep_params": [int(nw.tree_params_count(d, n)) for n in node_widths],
           "shallow_params": [int(nw.shallow_params_count(d, N)) for N in shallow_N]}
    for name, net in (("deep", nw.tree(seeds, d, node_widths, activation, dtype=np.float32)),
                      ("shallow", nw.shallow(seeds, d, shallow_N, activation, dtype=np.float32))):
        net, _ = nw.train_adam(net, Xtr, ytr, steps, lr=lr)
        rel = (nw.mse(net, X_test, yte).astype(float) / var).reshape(len(node_widths), len(seeds)).T
        out[name] = rel
    return out


@dataclass
class RidgeTarget:
    """f_s(x) = Σ_j a_j sin(ω_j w_j·x + φ_j) with J dense random unit directions w_j: a function of all d
    inputs that a shallow net represents naturally but a binary tree (one scalar per node) does not:
    every ridge needs the whole x, so the tree's single channel per node is a bottleneck."""
    d: int
    W: np.ndarray       # (S, J, d)
    a: np.ndarray       # (S, J)
    omega: np.ndarray   # (S, J)
    phase: np.ndarray   # (S, J)

    @classmethod
    def random(cls, seeds, d: int, J: int = 4) -> "RidgeTarget":
        Ws, As, Os, Ps = [], [], [], []
        for s in seeds:
            rng = np.random.default_rng([int(s), 12, d])
            w = rng.standard_normal((J, d))
            Ws.append(w / np.linalg.norm(w, axis=1, keepdims=True))
            As.append(rng.choice([-1.0, 1.0], J) * rng.uniform(0.5, 1.0, J))
            Os.append(rng.uniform(1.5, 2.5, J))
            Ps.append(rng.uniform(-np.pi, np.pi, J))
        return cls(d, np.array(Ws), np.array(As), np.array(Os), np.array(Ps))

    def __call__(self, X) -> np.ndarray:
        X = np.asarray(X, float)
        t = np.einsum("sjd,pd->sjp", self.W, X, optimize=True)
        return np.einsum("sj,sjp->sp", self.a, np.sin(self.omega[..., None] * t + self.phase[..., None]),
                         optimize=True)
