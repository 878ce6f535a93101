"""Norm-based bounds for tree and shallow networks: unit tests, and the mutation test of notebook 04's
network claim on its own data.

The mutation test runs the notebook's experiment (``generalization.experiment``) with its default parameters
(``parameters.notebook_defaults("04")``) and checks the notebook's test claim
``04-sparse-bound-tracks-gap``: the per-node (sparse) bound ranks the measured gaps (Spearman, permutation
test) and better than the full-matrix (dense) bound, and the wrong alternative "the dense bound tracks at
least as well" is rejected by the same check. The identity ``04-sparse-dense-ratio-shared`` (a closed form) is
checked with a wrong exponent rejected.
"""
import numpy as np
import pytest

from sparsebounds import generalization as gen
from sparsebounds import networks as nw
from sparsebounds.harness import checks, parameters

P = parameters.notebook_defaults("04")


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


# ------------------------------------------------------------------ the target
def test_cosine_tree_function_is_the_fixed_composition():
    X = np.random.default_rng(2).uniform(-1, 1, (200, 8))
    h = lambda a, b: 0.5 * np.cos(a + b) + 0.25 * a * b                      # noqa: E731
    x = X.T
    want = h(h(h(x[0], x[1]), h(x[2], x[3])), h(h(x[4], x[5]), h(x[6], x[7])))
    assert np.array_equal(gen.cosine_tree_function(X), want)
    assert not np.allclose(gen.cosine_tree_function(X[:, [2, 1, 0, 3, 4, 5, 6, 7]]), want)   # a tree, not a sum
    assert np.abs(want).max() <= 1
    Xs, y = gen.make_data(2, 50, 8, 0.1, np.random.default_rng(3))
    rng = np.random.default_rng(3)                                           # inputs, then label noise
    X2 = rng.uniform(-1, 1, (2, 50, 8))
    assert np.array_equal(Xs, X2)
    assert np.array_equal(y, gen.cosine_tree_function(X2) + 0.1 * rng.standard_normal((2, 50)))


# ------------------------------------------------------------------ the augmented (bias-free) network
@pytest.fixture(scope="module")
def small_tree():
    return nw.tree([0, 1], 8, [3, 5])


def test_augmented_matrices_compute_the_network(small_tree):
    X, _ = gen.make_data(1, 20, 8, 0.1, np.random.default_rng(0))
    P_ = nw.predict(small_tree, X[0])
    dense = gen.tree_dense_layer_sqnorms(small_tree)
    for i in range(small_tree.batch):
        mats = gen.tree_augmented_matrices(small_tree, i)
        h = np.concatenate([X[0], np.ones((20, 1))], 1).T
        for T in mats[:-1]:
            h = np.maximum(T @ h, 0)
        assert np.allclose((mats[-1] @ h)[0], P_[i], atol=1e-12)
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


def _closed_form(L, I_x, exponent=lambda L: L * (L - 1) / 4):
    logs = (1 + np.sqrt(2 * L * np.log(2))) / (1 + np.sqrt(2 * (2 * L - 1) * np.log(2)))
    return 2 ** exponent(L) * I_x * 2 ** (-(L - 1) / 2) * logs


def test_shared_bias_free_ratio_formula_and_wrong_exponent():
    """dense/sparse = 2^(L(L-1)/4) I 2^(-(L-1)/2) (1+sqrt(2L log 2))/(1+sqrt(2(2L-1) log 2)) exactly."""
    for d in (4, 16, 64):
        L = int(np.log2(d))
        net = gen.strip_biases(gen.share_weights(nw.tree([3, 4], d, [4])))
        X, _ = gen.make_data(2, 50, d, 0.1, np.random.default_rng(d))
        ratio = gen.rademacher_dense_tree(net, X, False)["bound"] / gen.rademacher_sparse_tree(net, X, False)["bound"]
        I_x = gen.input_factor(X)
        assert checks.close(ratio, _closed_form(L, I_x), rtol=1e-9).holds
        assert not checks.close(ratio, _closed_form(L, I_x, lambda L: L * (L - 1) / 2), rtol=1e-3).holds  # doubled
        assert not checks.close(ratio, _closed_form(L, I_x, lambda L: L * L / 4), rtol=1e-3).holds       # L^2


def test_gap_bound_expression():
    rho, C, m, dl = 3.0, 10.0, 100, 0.01
    assert np.isclose(gen.gap_bound(rho, C, m, dl), 4 * 4 * 10 / 100 + 3 * np.sqrt(np.log(2 * 25 / dl) / 200))
    assert np.isclose(gen.held_out_margin(4000, 0.01), np.sqrt(np.log(100) / 8000))


def test_matched_shallow_width():
    for d, n in ((4, 4), (8, 16), (16, 4)):
        w = gen.matched_shallow_width(d, n)
        assert abs(nw.shallow_params_count(d, w) - nw.tree_params_count(d, n)) <= (d + 2) / 2


# ------------------------------------------------------------------ the rank-tracking verdict
def test_spearman_matches_scipy():
    from scipy import stats
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(15), rng.standard_normal(15)
    assert np.isclose(gen.spearman(x, y), stats.spearmanr(x, y)[0])
    assert np.allclose(gen.spearman(np.stack([x, -x]), y), [stats.spearmanr(x, y)[0], -stats.spearmanr(x, y)[0]])


def _synthetic(noise_other, seed=3):
    """gap = f(config) + seed noise; bound = exp(config signal); other = a bound with extra config noise."""
    rng = np.random.default_rng(seed)
    D, W, M, S = 3, 2, 3, 4
    signal = rng.standard_normal((D, W, M, 1))
    gap = signal + 0.05 * rng.standard_normal((D, W, M, S))
    bound = np.exp(signal + 0.01 * rng.standard_normal((D, W, M, S)))
    other = np.exp(signal + noise_other * rng.standard_normal((D, W, M, 1)) + 0.01 * rng.standard_normal((D, W, M, S)))
    return bound, other, gap


def test_tracking_check_accepts_a_better_bound_and_rejects_the_swap():
    bound, other, gap = _synthetic(noise_other=1.0)
    good = gen.tracking_check(bound, other, gap, n_boot=500, seed=0)
    assert good.holds and good.evidence["spearman"] > 0.9 and good.evidence["permutation_p"] < 0.01
    assert not gen.tracking_check(other, bound, gap, n_boot=500, seed=0).holds


def test_tracking_check_rejects_an_unrelated_bound():
    bound, _, gap = _synthetic(noise_other=0.0)
    unrelated = np.exp(np.random.default_rng(9).standard_normal(gap.shape))
    c = gen.tracking_check(unrelated, bound, gap, n_boot=500, seed=0)
    assert not c.holds and not c.evidence["better_than_other"]


def test_tracking_check_needs_one_shape():
    with pytest.raises(ValueError):
        gen.tracking_check(np.ones((2, 2, 2, 3)), np.ones((2, 2, 2, 2)), np.ones((2, 2, 2, 3)))


def test_tracking_experiment_shapes_and_bookkeeping():
    o = gen.run_tracking_experiment([4, 8], [2, 3], [16, 32], [0, 1], 20, 0.5, 200, 0.01, seed=5)
    assert o["gap"].shape == (2, 2, 2, 2) and o["sh_gap"].shape == (2, 2, 2, 2)
    assert np.allclose(o["gap"], o["test"] - o["train"])
    assert np.all(o["bound_sparse"] > 0) and np.all(o["bound_dense"] > 0) and np.all(o["sh_bound"] > 0)
    # the node widths of one (d, m) cell read the same data sets: the input energies agree across widths
    assert np.allclose(o["Bx"][:, 0], o["Bx"][:, 1]) and np.allclose(o["Bstar"][:, 0], o["Bstar"][:, 1])
    # the library's bounds are gap_bound of its Rademacher parts
    C = o["rad_sparse"] * o["ms"][None, None, :, None] / o["rho_sparse"]
    assert np.allclose(o["bound_sparse"], gen.gap_bound(o["rho_sparse"], C, o["ms"][None, None, :, None], 0.01))


# ------------------------------------------------------------------ notebook data: the network claims
@pytest.fixture(scope="module")
def net():
    # the notebook's experiment, its trained networks
    return gen.experiment(**parameters.arguments_of(gen.experiment, P)).networks


# The registered bound of 04-sparse-bound-tracks-gap is a ranking claim: its wrong alternative is another bound (the
# full-matrix one) ranking at least as well, not a mutation of the expression, so it is not built with mutations.py.
def test_sparse_bound_tracks_the_gap_and_the_dense_alternative_is_rejected(net):
    """The notebook's test claim and its wrong alternative, on the notebook's data."""
    kw = dict(n_boot=P["n_boot"], seed=P["seed"])
    claim = gen.tracking_check(net["bound_sparse"], net["bound_dense"], net["gap"], **kw)
    assert claim.holds
    assert not gen.tracking_check(net["bound_dense"], net["bound_sparse"], net["gap"], **kw).holds


def test_every_network_bound_is_vacuous(net):
    """Why the former 'gap below bound' claim could not fail: gaps are at most 1, bounds above 1."""
    assert np.all(net["gap"] < 1) and np.all(net["sh_gap"] < 1)
    for key in ("bound_sparse", "bound_dense", "sh_bound"):
        assert np.all(net[key] > 1.0)


def test_shared_ratio_identity_on_the_notebook_trees(net):
    L = np.log2(net["ds"])[:, None, None, None]
    measured = net["ratio_shared_biasfree"]
    assert checks.close(measured, _closed_form(L, net["input_factor"]), rtol=1e-9).holds
    assert not checks.close(measured, _closed_form(L, net["input_factor"], lambda L: L * L / 4), rtol=1e-3).holds
