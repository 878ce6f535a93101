"""Norm-based bounds for tree and shallow networks: unit tests, and mutation tests on notebook 04's data.

Data used by the mutation tests are a documented subset of the notebook's default run, reproduced
exactly (the data, test set and training of each m or d are seeded independently of the others):
the gap experiment at m = 32, 64, 128 (of 32..512) and the width sweep at d = 4, 8, 16 (of 4..32).

What the network data can and cannot reject (the notebook says the same): every bound is vacuous and
every measured gap minus its test margin is at most ~1e-3, so NO structural mutation of the gap bound
(1/m in place of 1/sqrt(m), the norm product dropped, the constant divided by 1000) can be rejected;
the tests below assert exactly that, so they fail if the data ever become sharp enough. The sparse/dense
ratio, on the other hand, is an exact formula for shared bias-free weights, and a wrong exponent in its
2^(L(L-1)/4) growth is rejected.
"""
import numpy as np
import pytest

from sparsebounds import checks, generalization as gen, networks as nw

# notebook 04's default parameters (first code cell)
D_NET, TREE_W, STEPS, WD, NOISE, N_TEST, DELTA, NET_SEEDS = 8, 8, 1000, 1e-3, 0.1, 4000, 0.01, 3
M_WIDTH, STEPS_WIDTH = 128, 1000


# ------------------------------------------------------------------ Toeplitz
def test_toeplitz_matches_correlate():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal(3), rng.standard_normal(10)
    T = gen.toeplitz_1d(w, 10, 1)[0]
    assert np.allclose(T @ x, np.correlate(x, w, mode="valid"))
    T2 = gen.toeplitz_1d(w, 10, 2)[0]
    assert np.allclose(T2 @ x, np.correlate(x, w, mode="valid")[::2])


def test_toeplitz_identity_and_its_mutations():
    rng = np.random.default_rng(1)
    for k, n_in, s in ((3, 32, 1), (3, 33, 2), (5, 40, 3)):
        fro, rhs = gen.toeplitz_norms(rng.standard_normal((8, k)), n_in, s)
        n_out = (n_in - k) // s + 1
        assert checks.close(fro, rhs, rtol=1e-12).holds
        assert not checks.close(fro, rhs / n_out, rtol=1e-3).holds          # n_out dropped (filter norm)
        assert not checks.close(fro, rhs * n_in / n_out, rtol=1e-3).holds   # n_in in place of n_out


# ------------------------------------------------------------------ the augmented (bias-free) network
@pytest.fixture(scope="module")
def small_tree():
    return nw.tree([0, 1], 8, [3, 5])


def test_augmented_matrices_compute_the_network(small_tree):
    X, _ = gen.make_data(1, 20, 8, 0.1, 0)
    P = nw.predict(small_tree, X[0])
    dense = gen.tree_dense_layer_sqnorms(small_tree)
    for i in range(small_tree.batch):
        mats = gen.tree_augmented_matrices(small_tree, i)
        h = np.concatenate([X[0], np.ones((20, 1))], 1).T
        for T in mats[:-1]:
            h = np.maximum(T @ h, 0)
        assert np.allclose((mats[-1] @ h)[0], P[i], atol=1e-12)
        assert np.allclose([(T ** 2).sum() for T in mats[:-1]], [s[i] for s in dense])


def test_per_node_norms(small_tree):
    """Each node's norm is at most its level's full-matrix norm; one-node levels agree up to the
    constant-unit bookkeeping (per node: the bias split over two constants, ½ for the node's own)."""
    sq, out = gen.tree_node_sqnorms(small_tree)
    dense = gen.tree_dense_layer_sqnorms(small_tree)
    for s, dn in zip(sq, dense):
        assert np.all(s.max(1) <= dn + 1e-12)
    assert np.allclose(sq[0].sum(1) - sq[0].shape[1], dense[0] - 1)  # level 0: same entries, per-node +1
    assert np.all(out > 0)


def test_bias_free_needs_no_biases(small_tree):
    with pytest.raises(ValueError):
        gen.tree_node_sqnorms(small_tree, augment=False)
    gen.tree_node_sqnorms(gen.strip_biases(small_tree), augment=False)


def test_shared_bias_free_ratio_formula_and_wrong_exponent():
    """dense/sparse = 2^(L(L-1)/4) I 2^(-(L-1)/2) (1+sqrt(2L log 2))/(1+sqrt(2(2L-1) log 2)) exactly."""
    for d in (4, 16, 64):
        L = int(np.log2(d))
        net = gen.strip_biases(gen.share_weights(nw.tree([3, 4], d, [4])))
        X, _ = gen.make_data(2, 50, d, 0.1, d)
        ratio = gen.rademacher_dense_tree(net, X, False)["bound"] / gen.rademacher_sparse_tree(net, X, False)["bound"]
        logs = (1 + np.sqrt(2 * L * np.log(2))) / (1 + np.sqrt(2 * (2 * L - 1) * np.log(2)))
        base = gen.input_factor(X) * 2 ** (-(L - 1) / 2) * logs
        assert checks.close(ratio, 2 ** (L * (L - 1) / 4) * base, rtol=1e-9).holds
        assert not checks.close(ratio, 2 ** (L * (L - 1) / 2) * base, rtol=1e-3).holds   # exponent doubled
        assert not checks.close(ratio, 2 ** (L * L / 4) * base, rtol=1e-3).holds          # L^2 in place of L(L-1)


def test_gap_bound_expression():
    rho, C, m, dl = 3.0, 10.0, 100, 0.01
    assert np.isclose(gen.gap_bound(rho, C, m, dl), 4 * 4 * 10 / 100 + 3 * np.sqrt(np.log(2 * 25 / dl) / 200))
    assert np.isclose(gen.test_margin(4000, 0.01), np.sqrt(np.log(100) / 8000))


# ------------------------------------------------------------------ notebook data: gap vs bounds
@pytest.fixture(scope="module")
def gap_data():
    shallow_w = int(round((nw.tree_params_count(D_NET, TREE_W) - 1) / (D_NET + 2)))
    return gen.run_gap_experiment(D_NET, [32, 64, 128], list(range(NET_SEEDS)), TREE_W, shallow_w, STEPS, NOISE,
                                  N_TEST, DELTA, weight_decay=WD, seed=0, dtype=np.float32)


def test_bounds_hold_and_are_vacuous(gap_data):
    g = gap_data
    for gap, key in (("gap_tree", "bound_sparse"), ("gap_tree", "bound_dense_tree"), ("gap_shallow", "bound_shallow")):
        assert checks.below(g[gap] - g["margin"], g[key]).holds
        assert np.all(g[key] > 1.0)  # vacuous: above the loss range
    assert np.all(g["bound_sparse"] < g["bound_dense_tree"])


def test_network_mutations_cannot_be_rejected(gap_data):
    """Documented non-rejections: the measured gaps are far below even badly wrong bounds."""
    g, ms = gap_data, gap_data["ms"][:, None].astype(float)
    obs = g["gap_tree"] - g["margin"]
    assert checks.below(obs, g["bound_sparse"] / 1000).holds                           # constant / 1000
    assert checks.below(obs, g["bound_sparse"] / np.sqrt(ms)).holds                     # 1/m in place of 1/sqrt(m)
    C = g["rad_sparse"] * ms / g["rho_sparse"]
    assert checks.below(obs, gen.gap_bound(0.0, C, ms, DELTA)).holds                     # norm product dropped
    assert checks.below(g["gap_shallow"] - g["margin"], g["bound_shallow"] / 1000).holds
    # the only "bound" these data reject is one below the measured gap itself: zero gap without margin
    assert not checks.below(g["gap_shallow"], np.full_like(g["gap_shallow"], 1e-9)).holds


# ------------------------------------------------------------------ notebook data: the ratio vs width
def test_ratio_grows_with_width_on_notebook_subset():
    w = gen.ratio_vs_width([4, 8, 16], list(range(NET_SEEDS)), TREE_W, M_WIDTH, STEPS_WIDTH, NOISE,
                           weight_decay=WD, seed=1, dtype=np.float32)
    assert checks.below(w["sparse"], w["dense"]).holds
    assert checks.above(w["ratio"][1:] / w["ratio"][:-1], 1.0).holds
    L = np.log2(w["ds"])[:, None]
    logs = (1 + np.sqrt(2 * L * np.log(2))) / (1 + np.sqrt(2 * (2 * L - 1) * np.log(2)))
    base = w["input_factor"] * 2 ** (-(L - 1) / 2) * logs
    assert checks.close(w["ratio_shared_biasfree"], 2 ** (L * (L - 1) / 4) * base, rtol=1e-9).holds
    assert not checks.close(w["ratio_shared_biasfree"], 2 ** (L * (L - 1) / 2) * base, rtol=1e-3).holds
