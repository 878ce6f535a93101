"""Norm-based generalization bounds for sparse (binary-tree) and dense ReLU networks, and the gap they bound.

The networks are :mod:`sparsebounds.networks`' ``tree`` and ``shallow`` batches (read-only use). Biases are
handled the standard way: append a constant input 1 and carry a constant unit through every layer, which
turns the network into a bias-free, positively homogeneous one whose weight norms include the biases.

Two Rademacher bounds for the same tree network (notebook 04 derives both; L = number of ReLU levels):

* dense (Golowich-Rakhlin-Shamir style peeling on the full, block-sparse layer matrices T_l):
  R̂ ≤ ‖out‖·Π_l ‖T_l‖_F · √(Σ_i ‖x̃_i‖²) · (1 + √(2 L log 2)) / m,  x̃ = (x, 1);
* sparse (the same peeling node by node; each node reads k = 2 children):
  R̂ ≤ ‖out‖·Π_l max_j ‖A_{l,j}‖_F · k^((L−1)/2) · max_p √(Σ_i ‖x̃_i[p]‖²) · (1 + √(2(L log 2 + (L−1) log k))) / m,
  A_{l,j} the augmented weights of node j, x̃[p] = (input patch p, 1).

The gap bound for a loss in [0, 1] that is ``lip``-Lipschitz in the output, uniformly over the norm levels
(union bound over ρ ∈ {1, 2, ...} with δ_j = δ/(j(j+1))):
gap ≤ 2·lip·(ρ + 1)·C/m + 3√(log(2(ρ + 2)²/δ)/(2m)),  where R̂(F_ρ) ≤ ρ·C/m.

The experiment (:func:`run_tracking_experiment`) trains trees over a grid of depths, node widths and sample
sizes, with parameter-matched shallow nets beside them; the verdict (:func:`tracking_check`) asks whether a
bound ranks the measured gaps across that grid (Spearman), and better than another bound — the testable
content of vacuous bounds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import networks as nw
from .seeds import rng as named_rng
from .tasks import map_tasks

LOG2 = np.log(2.0)


# ------------------------------------------------------------------ convolution / Toeplitz
def toeplitz_1d(w: np.ndarray, n_in: int, stride: int = 1) -> np.ndarray:
    """Matrix of the valid 1-D convolution (cross-correlation) with filters w (B, k): shape (B, n_out, n_in)."""
    w = np.atleast_2d(np.asarray(w, float))
    B, k = w.shape
    n_out = (n_in - k) // stride + 1
    if n_out < 1:
        raise ValueError("filter longer than the input")
    T = np.zeros((B, n_out, n_in))
    rows = np.arange(n_out)[:, None]
    cols = rows * stride + np.arange(k)[None, :]
    T[:, rows, cols] = w[:, None, :]
    return T


def toeplitz_norms(w: np.ndarray, n_in: int, stride: int = 1):
    """(‖T(w)‖_F², n_out·‖w‖²), each shape (B,): the identity the notebook derives."""
    T = toeplitz_1d(w, n_in, stride)
    w = np.atleast_2d(np.asarray(w, float))
    return np.einsum("bij,bij->b", T, T, optimize=True), T.shape[1] * np.einsum("bk,bk->b", w, w)


# ------------------------------------------------------------------ the compositional task
def h_node(a, b):
    """The bivariate constituent of :func:`cosine_tree_function`: 0.5 cos(a + b) + 0.25 a b (maps [−1,1]² into
    [−1,1])."""
    return 0.5 * np.cos(a + b) + 0.25 * a * b


def cosine_tree_function(X: np.ndarray) -> np.ndarray:
    """f(x) = h(h(x1, x2), h(x3, x4)) ... on a binary tree over the last axis (d a power of 2), every node the
    same :func:`h_node`: notebook 04's one fixed, smooth (C^∞) target. Not
    :class:`sparsebounds.compositional.TreeTarget` (notebooks 03, 10): a random family of trees whose every node is
    its own A sin(ω(a + b) + φ) + B (a − b)|a − b|/2, of smoothness exactly 2."""
    v = X
    while v.shape[-1] > 1:
        v = h_node(v[..., 0::2], v[..., 1::2])
    return v[..., 0]


def make_data(n_sets: int, m: int, d: int, noise: float, rng: np.random.Generator):
    """n_sets independent samples: x uniform on [−1, 1]^d, y = cosine_tree_function(x) + noise·N(0, 1); (S, m, d),
    (S, m).
    Inputs and label noise are drawn from ``rng``, in that order."""
    X = rng.uniform(-1, 1, (n_sets, m, d))
    return X, cosine_tree_function(X) + noise * rng.standard_normal((n_sets, m))


def clipped_sq_loss(pred, y) -> np.ndarray:
    """min((f − y)², 1): in [0, 1] and 2-Lipschitz in f. Mean over the last axis."""
    return np.minimum((np.asarray(pred) - np.asarray(y)) ** 2, 1.0).mean(-1)


# ------------------------------------------------------------------ norms of the augmented networks
def _unit_mask(net):
    return net.mask.astype(float)


def _level_terms(net: "nw.Net", augment: bool):
    """Per level l, two (B, K_l) arrays: the squared norm of each node's weights on its inputs (level 0:
    ‖W‖²; level l ≥ 1: Σ W[r,c]²·‖a_c‖² over the children's output weights) and of its weights on the
    constants (level 0: ‖b‖²; level l ≥ 1: ‖s‖² with s_r = Σ_c W[r,c]·c_c + b_r)."""
    p, u = net.params, _unit_mask(net)
    if not augment:
        _check_bias_free(net)
    for lvl in range(net.depth):
        W, b = p[f"W{lvl}"] * u[:, None, :, None], p[f"b{lvl}"] * u[:, None, :]
        if lvl == 0:
            yield (W ** 2).sum((2, 3)), (b ** 2).sum(2)
        else:
            B, K = W.shape[:2]
            a2 = ((p[f"a{lvl - 1}"] * u[:, None, :]) ** 2).sum(-1).reshape(B, K, 2)   # ‖a_c‖² per child
            s = np.einsum("bkrc,bkc->bkr", W, p[f"c{lvl - 1}"].reshape(B, K, 2), optimize=True) + b
            yield np.einsum("bkrc,bkc->bk", W ** 2, a2, optimize=True), ((s * u[:, None, :]) ** 2).sum(-1)


def tree_node_sqnorms(net: "nw.Net", augment: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """Squared Frobenius norms of each node's augmented weight matrix, per level: list of (B, K_l); and
    the output weights' norm ‖(a_root, c_root)‖, shape (B,).

    Level 0 node j reads (x_{2j}, x_{2j+1}, 1): A = [[W, b], [0, 0, 1]], ‖A‖² = ‖W‖² + ‖b‖² + 1.
    Level l ≥ 1 node j reads its children's augmented hidden vectors (h_c, 1), c = 2j, 2j+1; unit r has
    weights W[r,c]·a_c on h_c and, on the two constants, any split of s_r = Σ_c W[r,c]·c_c + b_r (the
    smallest split puts s_r/2 on each: s_r²/2); the node's constant unit is ½·1 + ½·1 (norm² ½).
    Masked (inactive) units are dropped: their outgoing weight is zero. ``augment=False`` (bias-free
    nets only, see :func:`strip_biases`) leaves out the constant units.
    """
    e = 1.0 if augment else 0.0
    out = [w2 + s2 + e if lvl == 0 else w2 + s2 / 2 + e / 2
           for lvl, (w2, s2) in enumerate(_level_terms(net, augment))]
    p, u = net.params, _unit_mask(net)
    lvl = net.depth - 1
    a_root = p[f"a{lvl}"][:, 0, :] * u
    outnorm = np.sqrt((a_root ** 2).sum(-1) + p[f"c{lvl}"][:, 0] ** 2)
    return out, outnorm


def tree_dense_layer_sqnorms(net: "nw.Net", augment: bool = True) -> list[np.ndarray]:
    """‖T_l‖_F² of the full layer matrices of the same tree with one constant unit per layer, (B,) each:
    Σ_j (‖V_j‖² + ‖s_j‖²) + 1 (the bias sits on the single constant, unsplit; +1 carries the constant)."""
    e = 1.0 if augment else 0.0
    return [(w2 + s2).sum(1) + e for w2, s2 in _level_terms(net, augment)]


def tree_augmented_matrices(net: "nw.Net", member: int) -> list[np.ndarray]:
    """Explicit dense augmented layer matrices of one tree member (for tests): T_0 acts on (x, 1), the
    last row of each T_l keeps the constant unit; the final entry is the output row (a_root, c_root).
    Unit ordering at level l: node-major (node j's n units), then the constant."""
    p, u = net.params, _unit_mask(net)[member]
    n = u.size
    mats = []
    d = net.d
    for lvl in range(net.depth):
        W, b = p[f"W{lvl}"][member] * u[None, :, None], p[f"b{lvl}"][member] * u[None, :]
        K = W.shape[0]
        if lvl == 0:
            T = np.zeros((K * n + 1, d + 1))
            for j in range(K):
                T[j * n:(j + 1) * n, 2 * j:2 * j + 2] = W[j]
                T[j * n:(j + 1) * n, d] = b[j]
        else:
            a_prev, c_prev = p[f"a{lvl - 1}"][member] * u[None, :], p[f"c{lvl - 1}"][member]
            T = np.zeros((K * n + 1, 2 * K * n + 1))
            for j in range(K):
                for c in range(2):
                    ch = 2 * j + c
                    T[j * n:(j + 1) * n, ch * n:(ch + 1) * n] = np.outer(W[j][:, c], a_prev[ch])
                T[j * n:(j + 1) * n, -1] = W[j] @ c_prev[2 * j:2 * j + 2] + b[j]
        T[-1, -1] = 1.0
        mats.append(T)
    lvl = net.depth - 1
    mats.append(np.concatenate([p[f"a{lvl}"][member, 0] * u, [p[f"c{lvl}"][member, 0]]])[None, :])
    return mats


def strip_biases(net: "nw.Net") -> "nw.Net":
    """The same weights with every bias and node offset set to 0 (a bias-free, homogeneous network)."""
    out = net.copy()
    for k in out.params:
        if k[0] in "bc":
            out.params[k] = np.zeros_like(out.params[k])
    return out


def _check_bias_free(net):
    if any(np.any(v != 0) for k, v in net.params.items() if k[0] in "bc"):
        raise ValueError("augment=False needs a bias-free network (see strip_biases)")


def shallow_norms(net: "nw.Net"):
    """Dense one-hidden-layer net: (‖A‖_F with A = [[W, b], [0, 1]], ‖(a, c)‖), each (B,)."""
    p, u = net.params, _unit_mask(net)
    A2 = ((p["W"] * u[:, :, None]) ** 2).sum((1, 2)) + ((p["b"] * u) ** 2).sum(1) + 1.0
    out = np.sqrt(((p["a"] * u) ** 2).sum(1) + p["c"] ** 2)
    return np.sqrt(A2), out


# ------------------------------------------------------------------ the bounds
def log_count(L: int, k: int) -> float:
    """log of the exponential-moment multiplicity: 2 per ReLU level (contraction), k per split (L − 1)."""
    return L * LOG2 + (L - 1) * np.log(k)


def patch_energy(X: np.ndarray, augment: bool = True) -> np.ndarray:
    """√(Σ_i ‖x̃_i[p]‖²) for every input pair p of the tree, x̃[p] = (x_2p, x_2p+1, 1): shape (S, d/2)."""
    S, m, d = X.shape
    return np.sqrt((X.reshape(S, m, d // 2, 2) ** 2).sum((1, 3)) + m * augment)


def rademacher_sparse_tree(net: "nw.Net", X: np.ndarray, augment: bool = True):
    """Sparse (per-node) bound on R̂_S of the class {nets with the same per-level max node norms}.

    X: (B, m, d) or (m, d). Returns dict with ``rho`` (B,), ``factor`` C with R̂ ≤ rho·C/m, ``bound``.
    """
    X = np.asarray(X, float)
    X = np.broadcast_to(X, (net.batch,) + X.shape[-2:]) if X.ndim == 2 else X
    m, L, k = X.shape[1], net.depth, 2
    sq, outnorm = tree_node_sqnorms(net, augment)
    rho = outnorm * np.prod([np.sqrt(s.max(axis=1)) for s in sq], axis=0)
    Bstar = patch_energy(X, augment).max(axis=1)
    C = k ** ((L - 1) / 2) * Bstar * (1 + np.sqrt(2 * log_count(L, k)))
    return {"rho": rho, "factor": C, "bound": rho * C / m}


def rademacher_dense_tree(net: "nw.Net", X: np.ndarray, augment: bool = True):
    """Dense (full layer matrix) bound on R̂_S for the same tree network: Golowich-style peeling."""
    X = np.asarray(X, float)
    X = np.broadcast_to(X, (net.batch,) + X.shape[-2:]) if X.ndim == 2 else X
    m, L = X.shape[1], net.depth
    _, outnorm = tree_node_sqnorms(net, augment)
    rho = outnorm * np.prod([np.sqrt(s) for s in tree_dense_layer_sqnorms(net, augment)], axis=0)
    Bx = np.sqrt((X ** 2).sum((1, 2)) + m * augment)
    C = Bx * (1 + np.sqrt(2 * log_count(L, 1)))
    return {"rho": rho, "factor": C, "bound": rho * C / m}


def rademacher_shallow(net: "nw.Net", X: np.ndarray):
    """Dense bound for a one-hidden-layer net (L = 1)."""
    X = np.asarray(X, float)
    X = np.broadcast_to(X, (net.batch,) + X.shape[-2:]) if X.ndim == 2 else X
    m = X.shape[1]
    A, out = shallow_norms(net)
    rho = A * out
    C = np.sqrt((X ** 2).sum((1, 2)) + m) * (1 + np.sqrt(2 * log_count(1, 1)))
    return {"rho": rho, "factor": C, "bound": rho * C / m}


def gap_bound(rho, factor, m: int, delta: float, lip: float = 2.0) -> np.ndarray:
    """Uniform (over ρ levels) high-probability bound on test risk − train risk for a [0,1] loss."""
    rho = np.asarray(rho, float)
    return 2 * lip * (rho + 1) * np.asarray(factor) / m + 3 * np.sqrt(np.log(2 * (rho + 2) ** 2 / delta) / (2 * m))


def held_out_margin(n_test: int, delta: float) -> float:
    """Hoeffding: with prob ≥ 1 − δ the true risk is ≥ test risk − √(log(1/δ)/(2 n_test)) (loss in [0, 1])."""
    return float(np.sqrt(np.log(1 / delta) / (2 * n_test)))


# ------------------------------------------------------------------ the experiment
def matched_shallow_width(d: int, tree_width: int) -> int:
    """Units of the one-hidden-layer net with (about) the parameter count of the tree of that node width."""
    return max(1, int(round((nw.tree_params_count(d, tree_width) - 1) / (d + 2))))


def run_tracking_experiment(ds, widths, ms, seeds, steps: int, noise: float, n_test: int, delta: float,
                            weight_decay: float = 0.0, seed: int = 0, lr: float = 1e-2, dtype=np.float64) -> dict:
    """Train tree networks over a grid of input widths d (depth log2 d), node widths and sample sizes m,
    with parameter-matched one-hidden-layer nets beside them, and measure gaps and norm bounds.

    Named streams of ``seed`` (:mod:`sparsebounds.seeds`): the training data of cell (d, m) come from
    ``"training-data"`` with keys (d, m), one data set per network seed, shared by every node width (so widths
    are compared on the same data); the test set of width d from ``"test-data"``, key d; the initial weights
    from ``networks`` (streams ``"tree-init"`` / ``"shallow-init"`` of ``seed``, keys (d, width, network seed)). One
    batched
    training run per (d, m) and architecture: every (node width, seed) pair at once. ``dtype`` is the
    training precision: float64, because in float32 Adam amplifies round-off until runs on different CPUs give
    gaps that differ by 0.5 % (measured); norms and bounds are computed in float64 from the trained weights.

    Returns arrays of shape (len(ds), len(widths), len(ms), len(seeds)):
    trees: ``train``, ``test``, ``gap`` (clipped square loss), ``bound_sparse`` / ``bound_dense`` (gap
    bounds from per-node / full-matrix norms), ``rad_*`` (their Rademacher parts), ``rho_sparse``,
    ``rho_dense``, ``Bstar``, ``Bx``; ``ratio_shared_biasfree`` (dense/sparse Rademacher bound of the same
    net with every node of a level given node 0's weights and no biases) and ``input_factor`` (the
    derivation's I_x for it); shallow nets: ``sh_train``, ``sh_test``, ``sh_gap``, ``sh_bound``, ``sh_rho``;
    and ``shallow_width`` (len(ds), len(widths)), ``margin`` (the test-set Hoeffding margin).
    """
    ds, widths, ms, seeds = list(ds), list(widths), list(ms), list(seeds)
    S, Wn = len(seeds), len(widths)
    keys = ("train", "test", "bound_sparse", "bound_dense", "rad_sparse", "rad_dense", "rho_sparse", "rho_dense",
            "Bstar", "Bx", "ratio_shared_biasfree", "input_factor", "sh_train", "sh_test", "sh_bound", "sh_rho")
    out = {k: np.empty((len(ds), Wn, len(ms), S)) for k in keys}
    out["shallow_width"] = np.array([[matched_shallow_width(d, w) for w in widths] for d in ds])
    # the (d, m) grid: one task per cell, each training every (node width, seed) at once
    cells = [(a, c) for a in range(len(ds)) for c in range(len(ms))]
    tasks = [(ds[a], ms[c], widths, seeds, steps, noise, n_test, delta, weight_decay, seed, lr, np.dtype(dtype).name)
             for a, c in cells]
    for (a, c), cell in zip(cells, map_tasks(tracking_cell, tasks)):
        for k, v in cell.items():
            out[k][a, :, c] = np.asarray(v).reshape(Wn, S)
    out["gap"], out["sh_gap"] = out["test"] - out["train"], out["sh_test"] - out["sh_train"]
    out["ds"], out["widths"], out["ms"] = np.array(ds), np.array(widths), np.array(ms)
    out["margin"] = held_out_margin(n_test, delta)
    return out


def tracking_cell(d: int, m: int, widths, seeds, steps: int, noise: float, n_test: int, delta: float,
                  weight_decay: float, seed: int, lr: float, dtype: str = "float64") -> dict:
    """One (d, m) cell of :func:`run_tracking_experiment` (a task of its map, streams keyed by (d, m)): the
    trained trees and parameter-matched shallow nets of every (node width, seed), with their losses, norms and
    bounds, each array (len(widths) · len(seeds),), width-major."""
    widths, seeds = list(widths), list(seeds)
    S, Wn = len(seeds), len(widths)
    Xte, yte = make_data(1, n_test, d, noise, named_rng(seed, "test-data", d))
    X, y = make_data(S, m, d, noise, named_rng(seed, "training-data", d, m))
    XB, yB = np.tile(X, (Wn, 1, 1)), np.tile(y, (Wn, 1))     # member (width b, seed s) reads data set s
    tree = as_float64(nw.train_adam(nw.tree(seeds, d, widths, dtype=dtype, seed=seed), XB, yB, steps, lr=lr,
                                    weight_decay=weight_decay)[0])
    shal = as_float64(nw.train_adam(nw.shallow(seeds, d, [matched_shallow_width(d, w) for w in widths], dtype=dtype,
                                               seed=seed),
                                    XB, yB, steps, lr=lr, weight_decay=weight_decay)[0])
    cell = {}
    for name, net in (("", tree), ("sh_", shal)):
        cell[name + "train"] = clipped_sq_loss(nw.predict(net, XB), yB)
        cell[name + "test"] = clipped_sq_loss(nw.predict(net, Xte[0]), yte[0])
    for name, r in (("sparse", rademacher_sparse_tree(tree, XB)), ("dense", rademacher_dense_tree(tree, XB))):
        cell[f"rad_{name}"], cell[f"rho_{name}"] = r["bound"], r["rho"]
        cell[f"bound_{name}"] = gap_bound(r["rho"], r["factor"], m, delta)
    r = rademacher_shallow(shal, XB)
    cell["sh_bound"], cell["sh_rho"] = gap_bound(r["rho"], r["factor"], m, delta), r["rho"]
    cell["Bstar"], cell["Bx"] = patch_energy(XB).max(axis=1), np.sqrt((XB ** 2).sum((1, 2)) + m)
    sb = strip_biases(share_weights(tree))
    cell["ratio_shared_biasfree"] = (rademacher_dense_tree(sb, XB, augment=False)["bound"]
                                     / rademacher_sparse_tree(sb, XB, augment=False)["bound"])
    cell["input_factor"] = input_factor(XB)
    return cell


def input_factor(X: np.ndarray) -> np.ndarray:
    """√(Σ_i ‖x_i‖²) / max_p √(Σ_i ‖x_i[p]‖²) over the pairs p of a binary tree (bias-free inputs), (B,)."""
    X = np.asarray(X, float)
    S, m, d = X.shape
    return np.sqrt((X ** 2).sum((1, 2)) / (X.reshape(S, m, d // 2, 2) ** 2).sum((1, 3)).max(axis=1))


# ------------------------------------------------------------------ does a bound track the gap?
def spearman(x, y) -> np.ndarray:
    """Spearman rank correlation of x and y along the last axis (batched over the leading axes)."""
    from scipy import stats
    rx, ry = stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    rx = rx - rx.mean(-1, keepdims=True)
    ry = ry - ry.mean(-1, keepdims=True)
    return (rx * ry).sum(-1) / np.sqrt((rx ** 2).sum(-1) * (ry ** 2).sum(-1))


def _per_configuration(x, idx=None):
    """Seed average per configuration, flattened: x (D, W, M, S) -> (D·W·M,); with idx (n, D, M, S) the
    seeds of each (d, m) cell resampled (the same draw for every node width) -> (n, D·W·M)."""
    x = np.asarray(x, float)
    if idx is None:
        return x.mean(-1).reshape(-1)
    n, (D, W, M, S) = idx.shape[0], x.shape
    full = np.broadcast_to(idx[:, :, None], (n, D, W, M, S))
    return np.take_along_axis(np.broadcast_to(x, (n, D, W, M, S)), full, axis=-1).mean(-1).reshape(n, -1)


def tracking_check(bound, other, gap, *, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0, label: str = ""):
    """Does ``bound`` rank the measured gaps across configurations, and better than ``other``?

    ``bound``, ``other``, ``gap``: (D, W, M, S) — configurations (d, node width, m) by network seeds (the
    seeds of a (d, m) cell share their data sets across node widths). Per configuration the bounds are
    averaged in log (geometric mean) and the gap arithmetically over seeds; ρ is Spearman's rank
    correlation over the configurations. Holds when both hold, at level ``alpha``:

    1. tracks: ρ(bound, gap) > 0, one-sided permutation test (gaps permuted over configurations) p ≤ alpha;
    2. better than ``other``: the one-sided (1 − alpha) bootstrap lower bound of ρ(bound, gap) −
       ρ(other, gap) is > 0, resampling the seeds of each (d, m) cell with replacement (paired: the same
       draw for both bounds and the gap).

    Permutations and resamples come from the named streams ``"tracking-permutations"`` and
    ``"tracking-bootstrap"`` of ``seed`` (the same draws for any bounds checked with the same seed).

    Returns a :class:`checks.Check` whose evidence carries both correlations and the test statistics.
    """
    from .harness.checks import Check, num
    lb, lo, g = np.log(np.asarray(bound, float)), np.log(np.asarray(other, float)), np.asarray(gap, float)
    if not (lb.shape == lo.shape == g.shape and lb.ndim == 4):
        raise ValueError("tracking_check(): bound, other and gap must share one shape (D, W, M, S)")
    D, W, M, S = g.shape
    rho_b = float(spearman(_per_configuration(lb), _per_configuration(g)))
    rho_o = float(spearman(_per_configuration(lo), _per_configuration(g)))
    perm = np.argsort(named_rng(seed, "tracking-permutations").random((n_boot, D * W * M)), axis=1)
    rho_null = spearman(np.broadcast_to(_per_configuration(lb), perm.shape), _per_configuration(g)[perm])
    p_value = float((1 + np.sum(rho_null >= rho_b)) / (1 + n_boot))
    idx = named_rng(seed, "tracking-bootstrap").integers(0, S, size=(n_boot, D, M, S))
    gb = _per_configuration(g, idx)
    diff = spearman(_per_configuration(lb, idx), gb) - spearman(_per_configuration(lo, idx), gb)
    lower = float(np.quantile(diff, alpha))
    tracks, better = p_value <= alpha, lower > 0
    return Check(bool(tracks and better), {
        "test": "Spearman rank correlation of bound and gap over configurations: > 0 (permutation) and above "
                "the other bound's (paired seed bootstrap)" + (f" ({label})" if label else ""),
        "configurations": int(D * W * M), "seeds": int(S),
        "spearman": num(rho_b), "spearman_other": num(rho_o), "permutation_p": num(p_value),
        "tracks": bool(tracks), "difference": num(rho_b - rho_o), "difference_lower": num(lower),
        "better_than_other": bool(better), "alpha": alpha, "n_boot": int(n_boot)})


def as_float64(net: "nw.Net") -> "nw.Net":
    """The same network with float64 parameters and mask (bounds are computed in double precision)."""
    from dataclasses import replace
    return replace(net, params={k: np.asarray(v, np.float64) for k, v in net.params.items()},
                   mask=np.asarray(net.mask, np.float64))


def share_weights(net: "nw.Net") -> "nw.Net":
    """The weight-shared (convolutional) tree: every node of a level gets node 0's parameters."""
    sh = net.copy()
    for k, v in sh.params.items():
        sh.params[k] = np.broadcast_to(v[:, :1], v.shape).copy()
    return sh


# ------------------------------------------------------------------ notebook 04's experiment
@dataclass(frozen=True)
class GeneralizationResult:
    """Notebook 04's simulation: Rademacher complexities of the linear classes, the Toeplitz norms of random
    filters, and the trained tree / shallow networks with their gaps and bounds."""
    linear: dict[str, np.ndarray]        # :func:`rademacher.rademacher_grid` over ds_linear x ms_linear
    toeplitz_frobenius: np.ndarray       # ||T||_F^2 of each random filter (:func:`toeplitz_norms`)
    toeplitz_weights: np.ndarray         # n_out ||w||^2 of the same filters
    networks: dict[str, np.ndarray]      # :func:`run_tracking_experiment` over ds_net x tree_widths x ms_net x seeds


TOEPLITZ_SHAPES = [(3, 32, 1), (3, 33, 2), (2, 64, 2), (5, 40, 3), (7, 7, 1)]   # (filter size, input size, stride)
TOEPLITZ_FILTERS = 16                                                          # random filters per shape


def experiment(*, seed: int, ds_linear, ms_linear, n_sets: int, n_mc: int, ds_net, tree_widths, ms_net,
               net_seeds: int, steps: int, weight_decay: float, noise: float, n_test: int,
               delta: float) -> GeneralizationResult:
    """Notebook 04's experiment, keyword arguments named as its parameters. Everything is drawn from named
    streams of ``seed``: "rademacher-data"/"rademacher-signs",
    "toeplitz-filters", "training-data"/"test-data" and the networks' "tree-init"/"shallow-init"."""
    from . import rademacher

    linear = rademacher.rademacher_grid(ds_linear, ms_linear, n_sets, n_mc, seed=seed)
    rng = named_rng(seed, "toeplitz-filters")
    tf, tw = [], []
    for k, n_in, s in TOEPLITZ_SHAPES:
        f, w = toeplitz_norms(rng.standard_normal((TOEPLITZ_FILTERS, k)), n_in, s)
        tf.append(f), tw.append(w)
    networks = run_tracking_experiment(ds_net, tree_widths, ms_net, range(net_seeds), steps, noise, n_test, delta,
                                       weight_decay=weight_decay, seed=seed)
    return GeneralizationResult(linear, np.concatenate(tf), np.concatenate(tw), networks)
