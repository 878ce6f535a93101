"""Targets of known smoothness, compositional (binary-tree) targets, their constructive approximants, and
the experiments of notebooks 02 and 03.

Smoothness is exact by construction: the profile φ_m(t) = t^(m−1)·|t| has a bounded m-th derivative that
jumps at t = 0, so φ_m ∘ (smooth) lies in W_m^∞ and in no W_{m+1}^∞.

* :class:`SphereTarget` — f(x) = φ_m((‖x − c‖² − r²)/ρ) on [−1, 1]^d, smoothness exactly m, its kink
  (m = 1) or curvature jump (m = 2) on a sphere crossing the cube; a random (c, r) per target.
* :func:`p1_interpolate` — the continuous piecewise-linear (P1) interpolant on the Kuhn (Freudenthal)
  triangulation of a uniform grid with M intervals per axis: the constructive approximant. In 1-D it is
  exactly a ReLU network with M units (:func:`sparsebounds.networks.relu_interpolant_1d`); in d ≥ 2 it is
  a continuous piecewise-linear function (representable by a ReLU network of depth ⌈log2(d + 1)⌉ + 1,
  not by one hidden layer). P1 accuracy saturates at order 2: error ~ M^(−min(m, 2)).
* :func:`p1_peak_sup_errors` — its sup error measured where it peaks, with a fixed number of points per
  cell (a bias that does not grow with refinement); :func:`p1_rate_data` — notebook 02's experiment.
* :class:`TreeTarget` — f(x_1..x_d) on a binary tree, every node its own bivariate constituent
  h(a, b) = A·sin(ω(a + b) + φ) + B·ψ(a − b), ψ(t) = t|t|/2, which is in W_2^∞ exactly (ψ'' jumps), maps
  [−1, 1]² into [−0.85, 0.85], and has partial Lipschitz constants L_a = L_b = A·ω + 2|B| ≈ 0.87 (range
  [0.705, 1.045]), so a node amplifies input errors by up to L_a + L_b ≈ 1.75.
* :func:`tree_constructive` — the proof's approximant: every node replaced by its P1 interpolant on an
  (M+1)×(M+1) grid of [−1, 1]², composed; returns per-node sup errors (on a per-cell lattice) and the
  end-to-end sup and rms errors; :func:`tree_rate_data` — notebook 03's constructive experiment.
* :func:`propagation_bound` — err(v) ≤ ε_v + L_a(v)·err(left) + L_b(v)·err(right), by recursion;
  :func:`linear_hard_instance` — the worst case of that recursion (bound attained).
* :class:`RidgeTarget` — a sum of a few ridge functions of dense random directions: a function of all d
  inputs that is not a binary-tree composition (natural for shallow nets), for contrast.
* :func:`trained_shallow_errors` (notebook 02), :func:`deep_vs_shallow` / :func:`training_experiment`
  (notebook 03: deep against shallow at equal parameters and equal step-size search, batched over targets,
  seeds and step sizes) and the paired tests :func:`sign_test_greater`, :func:`rank_test_greater`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .seeds import rng as named_rng


def phi(t, m: int):
    """φ_m(t) = t^(m−1)·|t|: m-th derivative bounded with a jump at 0 (m ≥ 1)."""
    t = np.asarray(t, float)
    return t ** (m - 1) * np.abs(t)


# ------------------------------------------------------------------ targets of known smoothness
@dataclass
class SphereTarget:
    """f_s(x) = scale·φ_m((‖x − c_s‖² − r_s²)/ρ_d), one target per key (batch axis S)."""
    d: int
    m: int
    c: np.ndarray      # (S, d)
    r: np.ndarray      # (S,)

    @classmethod
    def random(cls, targets, d: int, m: int, *, seed: int = 0) -> "SphereTarget":
        """Target j of ``targets`` (integer keys) from the stream ``"sphere-targets"`` of ``seed``, keys (d, m, j)."""
        cs, rs = [], []
        for s in targets:
            rng = named_rng(seed, "sphere-targets", d, m, int(s))
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
        target's interpolation error peaks (directions from the stream ``"kink-points"`` of ``seed``, key d)."""
        rng = named_rng(seed, "kink-points", self.d)
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
    """Barycentric weights (P, d+1) and grid indices (P, d+1) of the Kuhn simplex of each point of X (P, d) in
    [−1, 1]^d. For d = 2 (every tree node) the order of the two local coordinates is one comparison, not a
    per-row argsort and cumsum (bit-identical: ties keep coordinate 0 first, as the stable sort did)."""
    P, d = X.shape
    g = (X + 1.0) * (M / 2.0)                      # >= 0 (X is clipped to [-1, 1]): truncation is floor
    i0 = g.astype(np.int64)
    np.minimum(i0, M - 1, out=i0)                  # the last cell is closed
    t = g - i0
    strides = (M + 1) ** np.arange(d - 1, -1, -1)
    base = i0[:, 0] * strides[0]
    for k in range(1, d):
        base += i0[:, k] * strides[k]
    if d == 2:
        t0, t1 = t[:, 0], t[:, 1]
        hi, lo = np.maximum(t0, t1), np.minimum(t0, t1)
        w = np.empty((P, 3))
        np.subtract(1.0, hi, out=w[:, 0])
        np.subtract(hi, lo, out=w[:, 1])
        w[:, 2] = lo
        idx = np.empty((P, 3), np.int64)
        idx[:, 0] = base
        np.add(base, np.where(t1 > t0, strides[1], strides[0]), out=idx[:, 1])
        np.add(base, strides[0] + strides[1], out=idx[:, 2])
        return w, idx
    order = np.argsort(-t, axis=1, kind="stable")
    ts = np.take_along_axis(t, order, axis=1)
    w = np.concatenate([1.0 - ts[:, :1], ts[:, :-1] - ts[:, 1:], ts[:, -1:]], axis=1)
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


def p1_peak_sup_errors(target: SphereTarget, Ms, *, sub: int = 16, corner_cells: int = 2, corner_sub: int = 4,
                       n_shift: int = 8) -> np.ndarray:
    """sup_x |f − I_M f| for every target (rows) and grid M (columns), measured where the error peaks, with a
    relative bias that does not grow as the grid is refined (a fixed number of points per cell):

    * d = 1: every cell on a lattice of ``sub`` + 1 points, plus the singular points c ± r. For m = 1 the
      error of the kink's cell is J·h·λ(1 − λ) with λ the kink's position in its cell, which jumps from grid
      to grid; the sup is taken over ``n_shift`` translates of the target by j·h/n_shift (the worst kink
      position of the class of translates, to within (1/n_shift)²).
    * d ≥ 2, m = 2: the error constant grows with |x − c|, so the error peaks in the corner cells: a lattice
      of spacing h/``corner_sub`` on the ``corner_cells``^d cells at each of the 2^d corners.
    * d ≥ 2, m = 1: on every edge of the Kuhn triangulation that the singular sphere crosses, the exact
      error at the crossing point p (there f(p) = 0, and I_M f is linear along the edge). To leading order
      in h the P1 error of a kink is largest at such points (on each simplex f − I_M f is, to first order,
      convex with its minimum on the kink plane, attained at a vertex of that polygon, i.e. on an edge).
    """
    Ms = [int(M) for M in Ms]
    out = np.empty((target.c.shape[0], len(Ms)))
    for j, M in enumerate(Ms):
        if target.d == 1:
            out[:, j] = _sup_1d(target, M, sub, n_shift if target.m == 1 else 1)
        elif target.m == 2:
            out[:, j] = _sup_corners(target, M, corner_cells, corner_sub)
        elif target.m == 1:
            out[:, j] = _sup_kink_edges(target, M)
        else:
            raise ValueError("peak sup errors are implemented for m = 1, 2 (P1 saturates at order 2)")
    return out


P1_M0 = {1: 16, 2: 8, 3: 4, 4: 4}   # coarsest grid of notebook 02, per d


def p1_grids(d: int, levels: int, max_pieces: int) -> list[int]:
    """Notebook 02's grids: M = M0(d)·2^j for j < levels (the mesh halves per level), while M^d <= max_pieces."""
    return [P1_M0[d] * 2 ** j for j in range(levels) if (P1_M0[d] * 2 ** j) ** d <= max_pieces]


def p1_rate_data(d: int, m: int, *, n_targets: int, levels: int, max_pieces: int, sub: int = 16,
                 corner_sub: int = 4, n_shift: int = 8):
    """Notebook 02's experiment for one (d, m): (pieces N = M^d (J,), peak sup errors (n_targets, J), targets)."""
    Ms = p1_grids(d, levels, max_pieces)
    target = SphereTarget.random(range(n_targets), d, m)
    err = p1_peak_sup_errors(target, Ms, sub=sub, corner_sub=corner_sub, n_shift=n_shift)
    return np.array(Ms, float) ** d, err, target


def _sup_1d(target, M, sub, n_shift):
    h = 2.0 / M
    knots = np.linspace(-1.0, 1.0, M + 1)
    lattice = (knots[:-1, None] + h * np.arange(sub + 1)[None] / sub).ravel()
    out = np.zeros(target.c.shape[0])
    for j in range(n_shift):
        t = SphereTarget(1, target.m, target.c + j * h / n_shift, target.r)
        kinks = np.clip(np.concatenate([t.c - t.r[:, None], t.c + t.r[:, None]], axis=1), -1.0, 1.0)
        X = np.concatenate([np.broadcast_to(lattice, (t.c.shape[0], lattice.size)), kinks], axis=1)[..., None]
        err = np.abs(p1_interpolate(t(knots[:, None]), M, X) - t(X))
        out = np.maximum(out, err.max(1))
    return out


def _sup_corners(target, M, cells, sub):
    d, h = target.d, 2.0 / M
    u = np.arange(cells * sub + 1) * h / sub
    U = np.stack(np.meshgrid(*([u] * d), indexing="ij"), -1).reshape(-1, d)
    signs = np.array(np.meshgrid(*([[-1.0, 1.0]] * d), indexing="ij")).reshape(d, -1).T      # (2^d, d)
    X = (signs[:, None, :] * (1.0 - U[None])).reshape(-1, d)
    return np.abs(p1_interpolate(target(grid_points(d, M)), M, X) - target(X)).max(1)


def _sup_kink_edges(target, M):
    d, h = target.d, 2.0 / M
    ax = np.linspace(-1.0, 1.0, M + 1)
    subsets = [S for S in np.ndindex(*([2] * d)) if any(S)]        # Kuhn edges: v -> v + h·1_S
    out = np.zeros(target.c.shape[0])
    for s in range(target.c.shape[0]):
        off = [np.expand_dims(ax - target.c[s, k], tuple(i for i in range(d) if i != k)) for k in range(d)]
        Q = (sum(o ** 2 for o in off) - target.r[s] ** 2) / target.rho          # q at every grid vertex
        best = 0.0
        for S in subsets:
            lo = tuple(slice(0, M) if sk else slice(None) for sk in S)
            hi = tuple(slice(1, None) if sk else slice(None) for sk in S)
            q0, q1 = Q[lo], Q[hi]
            cut = (q0 < 0) != (q1 < 0)
            if not cut.any():
                continue
            # along the edge q(λ) = q0 + β λ + α λ², β = 2h Σ_{k∈S} (v_k − c_k)/ρ, α = h²|S|/ρ: one root in [0, 1]
            beta = np.broadcast_to(sum(off[k][lo] for k in range(d) if S[k]), q0.shape)[cut] * 2 * h / target.rho
            alpha = h * h * sum(S) / target.rho
            a0, a1 = q0[cut], q1[cut]
            root = np.sqrt(np.maximum(beta ** 2 - 4 * alpha * a0, 0.0))
            lam = np.where(a0 < 0, (-beta + root) / (2 * alpha), (-beta - root) / (2 * alpha))
            lam = np.clip(lam, 0.0, 1.0)
            err = np.abs((1 - lam) * phi(a0, target.m) + lam * phi(a1, target.m))   # |I f(p) − f(p)|, f(p) = 0
            best = max(best, float(err.max()))
        out[s] = best
    return out


def evaluation_points(d: int, n: int, seed: int, target: SphereTarget | None = None, n_kink: int = 0,
                      n_corner: int = 0, corner_size: float = 0.25, corner_spacing: float = 0.0):
    """Points where a sup norm on [−1, 1]^d has to be looked for: n uniform points, up to n_kink points on
    every target's singular sphere (a W_1 target's error peaks there), and n_corner points in each of the
    2^d corner boxes of side ``corner_size`` (curvature of the sphere targets, hence a W_2 target's P1
    error, is largest far from the centre, i.e. in the corners, which uniform points reach rarely).
    ``corner_spacing`` > 0 adds a regular lattice of that spacing in every corner box: a sup estimate
    whose points-per-cell does not fall as the grid is refined (choose it a fraction of the finest cell).
    Random points from the stream ``"test-points"`` of ``seed``, key d.
    """
    rng = named_rng(seed, "test-points", d)
    parts = [rng.uniform(-1, 1, (n, d))]
    signs = np.array(np.meshgrid(*([[-1.0, 1.0]] * d), indexing="ij")).reshape(d, -1).T   # (2^d, d)
    if n_corner:
        u = rng.uniform(0, corner_size, (signs.shape[0], n_corner, d))
        parts.append((signs[:, None, :] * (1 - u)).reshape(-1, d))
    if corner_spacing > 0:
        ax = np.arange(0.0, corner_size + 1e-12, corner_spacing)
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
    def random(cls, targets, d: int, *, seed: int = 0, stream: str = "tree-targets") -> "TreeTarget":
        """Target j of ``targets`` (integer keys) from the named stream ``stream`` of ``seed``, keys (d, j)."""
        depth = int(round(np.log2(d)))
        if 2 ** depth != d or d < 2:
            raise ValueError("d must be a power of 2")
        rows = []
        for s in targets:
            rng = named_rng(seed, stream, d, int(s))
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


def tree_constructive(target: TreeTarget, M: int, X_test, node_sub: int = 4):
    """The constructive deep approximant with (M+1)² knots per node.

    Returns dict: ``end_to_end`` (S,) sup error and ``rms`` (S,) root-mean-square error over X_test;
    ``node_err`` (S, d − 1) each node's sup error over [−1, 1]² measured on a lattice of ``node_sub`` + 1
    points per cell edge (spacing h/node_sub, so its relative bias does not grow as the grid is refined;
    the square contains every input a node receives, checked: ``max_abs_internal`` < 1); ``knots_per_node``.
    """
    tables = node_p1_tables(target, M)
    internal = []

    def approx(lvl, a, b):
        sl = target.level_slice(lvl)
        out = _p1_nodes(tables[:, sl], M, a, b)
        internal.append(np.abs(out).max())
        return out

    err = target(X_test, approx) - target(X_test)
    node_err = _node_lattice_errors(target, tables, M, node_sub)
    return {"end_to_end": np.abs(err).max(-1), "rms": np.sqrt((err ** 2).mean(-1)), "node_err": node_err,
            "knots_per_node": (M + 1) ** 2, "max_abs_internal": float(max(internal))}


def tree_rate_data(d: int, *, n_targets: int, n_test: int, levels: int, node_sub: int = 4) -> dict:
    """Notebook 03's constructive experiment for one d: grids M = 4·2^j (j < levels), n_targets random tree
    targets, n_test uniform test points (stream "constructive-test-points", key d). Returns dict with ``Ms``,
    ``end_to_end``, ``rms``
    (n_targets, J), ``node_err`` (n_targets, J, d − 1), ``La``, ``Lb`` (n_targets, d − 1), ``max_internal``."""
    Ms = [4 * 2 ** j for j in range(levels)]
    target = TreeTarget.random(range(n_targets), d)
    X_test = named_rng(0, "constructive-test-points", d).uniform(-1, 1, (n_test, d))
    runs = [tree_constructive(target, M, X_test, node_sub=node_sub) for M in Ms]
    out = {key: np.stack([r[key] for r in runs], 1) for key in ("end_to_end", "rms", "node_err")}
    La, Lb = target.lipschitz()
    out.update(Ms=Ms, La=La, Lb=Lb, max_internal=max(r["max_abs_internal"] for r in runs))
    return out


def _node_lattice_errors(target: TreeTarget, tables, M: int, sub: int) -> np.ndarray:
    """max |h_v − I_M h_v| over the lattice of spacing h/sub on [−1, 1]², every (seed, node): (S, d − 1).

    Every lattice point sits at the same offset (p/sub, q/sub) in its cell, so its Kuhn simplex and
    barycentric weights are those of the offset: the interpolant is a weighted sum of shifted tables."""
    S, K = tables.shape[:2]
    T = tables.reshape(S, K, M + 1, M + 1)
    h = 2.0 / M
    corner = np.linspace(-1, 1, M + 1)[:-1]
    worst = np.zeros((S, K))
    for p in range(sub + 1):
        for q in range(sub + 1):
            t1, t2 = p / sub, q / sub
            v00, v11 = T[:, :, :-1, :-1], T[:, :, 1:, 1:]
            if t1 >= t2:   # simplex (i, j), (i + 1, j), (i + 1, j + 1)
                interp = (1 - t1) * v00 + (t1 - t2) * T[:, :, 1:, :-1] + t2 * v11
            else:          # simplex (i, j), (i, j + 1), (i + 1, j + 1)
                interp = (1 - t2) * v00 + (t2 - t1) * T[:, :, :-1, 1:] + t1 * v11
            a = np.broadcast_to((corner + t1 * h)[:, None], (M, M)).ravel()
            b = np.broadcast_to((corner + t2 * h)[None, :], (M, M)).ravel()
            exact = target.node(np.broadcast_to(a, (S, K, a.size)), np.broadcast_to(b, (S, K, b.size)),
                                slice(0, K))
            worst = np.maximum(worst, np.abs(interp.reshape(S, K, -1) - exact).max(-1))
    return worst


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

    Xtr = named_rng(data_seed, "training-points", target.d).uniform(-1, 1, (n_train, target.d))
    ytr = target(Xtr)[row]
    net = nw.shallow(seeds, target.d, widths, activation, dtype=np.float32)
    net, _ = nw.train_adam(net, Xtr, ytr, steps, lr=lr)
    err = np.abs(nw.predict(net, X_test).astype(float) - target(X_test)[row])
    shape = (len(widths), len(seeds))
    return (err.max(1).reshape(shape).T, np.sqrt((err ** 2).mean(1)).reshape(shape).T)


def trained_shallow_task(d: int, n_targets: int, widths, seeds, n_train: int, steps: int, n_test: int, lr: float):
    """A task of :func:`trained_shallow_sweep`: notebook 02's trained shallow nets at input dimension d, on the
    first of ``n_targets`` random W_2 sphere targets, tested on uniform and corner points (stream "test-points")."""
    target = SphereTarget.random(range(n_targets), d, 2)
    X_test = evaluation_points(d, n_test, seed=0, target=target, n_corner=n_test // 2 ** d // 10)
    return trained_shallow_errors(target, 0, widths, list(seeds), n_train, steps, X_test, lr=lr)


def trained_shallow_sweep(ds, n_targets: int, widths, seeds, n_train: int, steps: int, n_test: int,
                          lr: float = 0.03) -> dict:
    """{d: (sup, rms errors)} of :func:`trained_shallow_task` for every d in ``ds``, as one map (one task per d)."""
    from .tasks import map_tasks

    ds = [int(d) for d in ds]
    runs = map_tasks(trained_shallow_task, [(d, n_targets, list(widths), list(seeds), n_train, steps, n_test, lr)
                                            for d in ds])
    return dict(zip(ds, runs))


# ------------------------------------------------------------------ the worst case of the recursion
def linear_hard_instance(d: int, L: float, eps: float, n_points: int = 64, seed: int = 0):
    """Where the propagation bound is attained: every node h(a, b) = (L/2)(a + b), every approximant
    ĥ = h + ε (sup error ε), inputs in a box small enough that all values stay in [−1, 1]. Then the error
    propagates with no cancellation and err(root) = ε(L^depth − 1)/(L − 1) exactly.
    Returns (measured root errors (n_points,), node errors (d − 1,), L_a, L_b (d − 1,) each)."""
    depth = int(round(np.log2(d)))
    delta = 0.5 / max(L, 1.0) ** depth
    X = named_rng(seed, "hard-inputs", d).uniform(-delta, delta, (n_points, d))
    exact, approx = X.T, X.T
    for _ in range(depth):
        exact = 0.5 * L * (exact[0::2] + exact[1::2])
        approx = 0.5 * L * (approx[0::2] + approx[1::2]) + eps
    ones = np.ones(d - 1)
    return np.abs(approx[0] - exact[0]), eps * ones, 0.5 * L * ones, 0.5 * L * ones


def deep_vs_shallow(target, node_widths, seeds, lrs, n_train: int, n_val: int, steps: int, X_test, *,
                    activation: str = "tanh", data_seed: int = 0):
    """Train binary-tree nets (node width n) and dense shallow nets with the same parameter count on every row
    (target) of ``target`` (a :class:`TreeTarget` or :class:`RidgeTarget`), for every seed and every initial
    step size in ``lrs``: an equal tuning budget, len(lrs) Adam runs per architecture, target, seed and width,
    of which the one with the lowest MSE on ``n_val`` fresh validation points is kept. Each architecture is
    one batched program (members: widths × targets × seeds × step sizes). Target r and seed s are initialised
    from the init streams with keys (r, s) (the same for every step size): every (target, seed) pair is
    independent.

    Returns dict: ``deep``, ``shallow`` test MSE / Var f, each (R targets, len(seeds), len(node_widths));
    ``lr_deep``, ``lr_shallow`` the step sizes kept (same shape); widths and parameter counts.
    """
    out = _matched_widths(target.d, node_widths, lrs)
    for name in ("deep", "shallow"):
        out[name], out["lr_" + name] = train_architecture(target, name, node_widths, seeds, lrs, n_train, n_val,
                                                          steps, X_test, activation=activation, data_seed=data_seed)
    return out


def _matched_widths(d: int, node_widths, lrs) -> dict:
    from . import networks as nw

    shallow_N = [max(1, int(round((int(nw.tree_params_count(d, n)) - 1) / (d + 2)))) for n in node_widths]
    return {"node_widths": list(node_widths), "shallow_widths": shallow_N, "lrs": list(lrs),
            "deep_params": [int(nw.tree_params_count(d, n)) for n in node_widths],
            "shallow_params": [int(nw.shallow_params_count(d, N)) for N in shallow_N]}


def train_architecture(target, arch: str, node_widths, seeds, lrs, n_train: int, n_val: int, steps: int, X_test, *,
                       activation: str = "tanh", data_seed: int = 0):
    """One architecture of :func:`deep_vs_shallow` ('deep' or 'shallow'): one batched program over widths ×
    targets × seeds × step sizes. Returns (test MSE / Var f, step size kept), each (R, len(seeds), len(widths))."""
    from . import networks as nw

    d = target.d
    Xtr = named_rng(data_seed, "training-points", d).uniform(-1, 1, (n_train, d))
    Xval = named_rng(data_seed, "validation-points", d).uniform(-1, 1, (n_val, d))
    Ytr, Yval, Yte = target(Xtr), target(Xval), target(X_test)                  # (R, P) each
    R, S, L = Ytr.shape[0], len(seeds), len(lrs)
    combos = [(r, s, l) for r in range(R) for s in range(S) for l in range(L)]
    rows = np.array([r for r, _, _ in combos])
    if arch == "deep":
        make, widths = nw.tree, list(node_widths)
    elif arch == "shallow":
        make, widths = nw.shallow, _matched_widths(d, node_widths, lrs)["shallow_widths"]
    else:
        raise ValueError("arch must be 'deep' or 'shallow'")
    net = make([(r, seeds[s]) for r, s, _ in combos], d, widths, activation, dtype=np.float32)
    W = len(widths)                                                             # members: width-major
    lr = np.tile([lrs[l] for _, _, l in combos], W)
    net, _ = nw.train_adam(net, Xtr, np.tile(Ytr[rows], (W, 1)), steps, lr=lr)
    val = nw.mse(net, Xval, np.tile(Yval[rows], (W, 1))).astype(float).reshape(W, R, S, L)
    test = nw.mse(net, X_test, np.tile(Yte[rows], (W, 1))).astype(float).reshape(W, R, S, L)
    best = val.argmin(-1)[..., None]
    rel = np.take_along_axis(test, best, -1)[..., 0] / Yte.var(1)[None, :, None]
    return rel.transpose(1, 2, 0), np.asarray(lrs)[best[..., 0]].transpose(1, 2, 0)


def _training_target(d: int, kind: str, train_targets: int):
    if kind == "tree":
        return TreeTarget.random(range(train_targets), d, stream="training-tree-targets")
    if kind == "ridge":
        return RidgeTarget.random(range(train_targets), d)
    raise ValueError("kind must be 'tree' or 'ridge'")


def training_task(d: int, kind: str, arch: str, train_targets: int, train_seeds: int, node_widths, lrs,
                  train_steps: int, n_train: int, n_val: int, n_test: int):
    """One task of :func:`training_experiments`: architecture ``arch`` on the targets of (d, kind), everything
    drawn from its own named streams (targets, training, validation and test points, each keyed by d)."""
    target = _training_target(d, kind, train_targets)
    X_test = named_rng(0, "training-test-points", d).uniform(-1, 1, (n_test, d))
    return train_architecture(target, arch, node_widths, list(range(train_seeds)), lrs, n_train, n_val,
                              train_steps, X_test)


def training_experiments(cases, *, train_targets: int, train_seeds: int, node_widths, lrs, train_steps: int,
                         n_train: int, n_val: int, n_test: int) -> list[dict]:
    """:func:`training_experiment` for every (d, kind) in ``cases``, as one map of independent tasks (one per
    case and architecture: 8 for notebook 03), so a cluster runs them all at once."""
    from .tasks import map_tasks

    cases = [(int(d), str(kind)) for d, kind in cases]
    for _, kind in cases:
        if kind not in ("tree", "ridge"):                                       # fails before any task runs
            raise ValueError("kind must be 'tree' or 'ridge'")
    tasks = [(d, kind, arch, train_targets, train_seeds, list(node_widths), list(lrs), train_steps, n_train, n_val,
              n_test) for d, kind in cases for arch in ("deep", "shallow")]
    done = map_tasks(training_task, tasks)
    out = []
    for i, (d, _) in enumerate(cases):
        res = _matched_widths(d, node_widths, lrs)
        for j, name in enumerate(("deep", "shallow")):
            res[name], res["lr_" + name] = done[2 * i + j]
        out.append(res)
    return out


def training_experiment(d: int, kind: str, *, train_targets: int, train_seeds: int, node_widths, lrs,
                        train_steps: int, n_train: int, n_val: int, n_test: int) -> dict:
    """Notebook 03's training experiment: :func:`deep_vs_shallow` on ``train_targets`` random targets of
    ``kind`` 'tree' (stream "training-tree-targets") or 'ridge' (stream "ridge-targets"), keys (d, j); test
    points from the stream "training-test-points", key d."""
    return training_experiments([(d, kind)], train_targets=train_targets, train_seeds=train_seeds,
                                node_widths=node_widths, lrs=lrs, train_steps=train_steps, n_train=n_train,
                                n_val=n_val, n_test=n_test)[0]


def log_advantage(result: dict) -> np.ndarray:
    """Per (target, seed) pair: the mean over widths of log(shallow MSE / deep MSE), flattened (R·S,).
    Positive where the deep net is better."""
    return (np.log(result["shallow"]) - np.log(result["deep"])).mean(-1).ravel()


def sign_test_greater(x) -> float:
    """One-sided exact sign test: p-value of 'the median of x is > 0' (P(Binomial(n, 1/2) >= #positive))."""
    from scipy.stats import binomtest

    x = np.asarray(x, float)
    return float(binomtest(int((x > 0).sum()), x.size, 0.5, alternative="greater").pvalue)


def rank_test_greater(x, y) -> float:
    """One-sided exact Mann-Whitney test: p-value of 'x tends to exceed y' (independent samples)."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(np.asarray(x, float), np.asarray(y, float), alternative="greater",
                              method="exact").pvalue)


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
    def random(cls, targets, d: int, J: int = 4, *, seed: int = 0) -> "RidgeTarget":
        """Target j of ``targets`` (integer keys) from the stream ``"ridge-targets"`` of ``seed``, keys (d, j)."""
        Ws, As, Os, Ps = [], [], [], []
        for s in targets:
            rng = named_rng(seed, "ridge-targets", d, int(s))
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


# ------------------------------------------------------------------ notebook 02's experiment
@dataclass(frozen=True)
class CurseResult:
    """Notebook 02's simulation: P1 rates per (d, m), the uniform-sample check of where the error peaks, the
    bit-exactness data of the 1-D ReLU interpolant, and the trained shallow nets."""
    grids: dict[int, list[int]]                            # d -> grids M
    rates: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]   # (d, m) -> (pieces N (J,), peak sup errors (T, J))
    uniform_sup: dict[tuple[int, int], np.ndarray]         # (d, m) -> sup over n_check uniform points, 2 coarsest grids
    exact_knots: np.ndarray                                # dyadic knots of the 1-D interpolant (M_exact + 1,)
    exact_values: np.ndarray                               # values with 12 fractional bits (T, M_exact + 1)
    exact_points: np.ndarray                               # dyadic test points (4096, 1)
    widths: list[int]                                      # widths of the trained nets
    trained: dict[int, tuple[np.ndarray, np.ndarray]]      # d -> (sup, rms errors), each (train_seeds, widths)
    trained_constructive: np.ndarray                       # 1-D P1 peak sup error with N = width intervals


CURSE_DS, CURSE_MS, CURSE_TRAINED_DS, CURSE_WIDTHS, CURSE_M_EXACT = (1, 2, 3, 4), (1, 2), (1, 2, 4), [4, 8, 16, 32], 128


def curse_experiment(*, n_targets: int, levels: int, max_pieces: int, sub: int, corner_sub: int, n_shift: int,
                     n_check: int, train_seeds: int, train_steps: int, n_train: int, n_test: int) -> CurseResult:
    """Notebook 02's experiment, keyword arguments named as its parameters. Named streams of seed 0:
    "sphere-targets", "test-points" (the check's uniform points
    are the first of the trained nets' test points), "exactness-points", "training-points", "shallow-init"."""
    grids = {d: p1_grids(d, levels, max_pieces) for d in CURSE_DS}
    rates, targets, uniform = {}, {}, {}
    for d in grids:
        for m in CURSE_MS:
            N, err, targets[d, m] = p1_rate_data(d, m, n_targets=n_targets, levels=levels, max_pieces=max_pieces,
                                                 sub=sub, corner_sub=corner_sub, n_shift=n_shift)
            rates[d, m] = (N, err)
    X_check = {d: named_rng(0, "test-points", d).uniform(-1, 1, (n_check, d)) for d in grids}
    for (d, m) in rates:
        uniform[d, m] = p1_sup_errors(targets[d, m], grids[d][:2], X_check[d])
    knots = grid_points(1, CURSE_M_EXACT)[:, 0]                                 # dyadic: spacing 2^-6
    values = np.round(SphereTarget.random(range(n_targets), 1, 2)(knots[:, None]) * 2 ** 12) / 2 ** 12
    X_exact = np.round(named_rng(0, "exactness-points").uniform(-1, 1, (4096, 1)) * 2 ** 20) / 2 ** 20
    trained = trained_shallow_sweep(CURSE_TRAINED_DS, n_targets, CURSE_WIDTHS, range(train_seeds), n_train,
                                    train_steps, n_test, lr=0.03)
    trained_cons = p1_peak_sup_errors(SphereTarget.random(range(n_targets), 1, 2), CURSE_WIDTHS, sub=sub)[0]
    return CurseResult(grids, rates, uniform, knots, values, X_exact, list(CURSE_WIDTHS), trained, trained_cons)


# ------------------------------------------------------------------ notebook 03's experiment
@dataclass(frozen=True)
class TreeResult:
    """Notebook 03's simulation: the constructive deep approximants, the worst case of the error recursion, and
    the trained deep-vs-shallow comparison on tree targets and on the ridge control."""
    constructive: dict[int, dict]             # d -> :func:`tree_rate_data`
    hard: dict[int, tuple]                    # d -> :func:`linear_hard_instance` at L = 1.75, eps = 1e-3
    training: dict[int, dict]                 # d -> :func:`training_experiment` on tree targets
    control: dict                             # :func:`training_experiment` on ridge targets at d = 8


TREE_DS, TREE_HARD = (4, 8, 16), (1.75, 1e-3)


def tree_experiment(*, n_targets: int, n_test: int, levels: int, node_sub: int, train_targets: int, train_seeds: int,
                    node_widths, lrs, train_steps: int, n_train: int, n_val: int) -> TreeResult:
    """Notebook 03's experiment, keyword arguments named as its parameters: the constructive study at d = 4, 8,
    16, the linear worst case, and one
    map of 8 training tasks (d = 4, 8, 16 on tree targets and d = 8 on ridge targets, x 2 architectures)."""
    constructive = {d: tree_rate_data(d, n_targets=n_targets, n_test=n_test, levels=levels, node_sub=node_sub)
                    for d in TREE_DS}
    hard = {d: linear_hard_instance(d, *TREE_HARD) for d in TREE_DS}
    runs = training_experiments([(d, "tree") for d in TREE_DS] + [(8, "ridge")], train_targets=train_targets,
                                train_seeds=train_seeds, node_widths=node_widths, lrs=lrs, train_steps=train_steps,
                                n_train=n_train, n_val=n_val, n_test=n_test)
    return TreeResult(constructive, hard, dict(zip(TREE_DS, runs[:len(TREE_DS)])), runs[len(TREE_DS)])
