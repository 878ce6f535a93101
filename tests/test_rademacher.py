"""Rademacher complexity of linear classes: unit tests, and mutation tests on notebook 04's data.

The mutation tests rebuild exactly the notebook's default grid (same seeds, same sizes: 2 s) and check that
the same verdict functions reject deliberately wrong bounds: the rate 1/m in place of 1/sqrt(m), the
sqrt(2 log 2d) factor dropped or halved inside the root, a shrunk constant, and the slope -1 in place of -1/2.
"""
import numpy as np
import pytest

from sparsebounds import checks, rademacher as rad

# notebook 04's default parameters (first code cell)
DS, MS, N_SETS, N_MC = [10, 100, 1000, 10000], [32, 64, 128, 256, 512], 16, 25


@pytest.fixture(scope="module")
def grid():
    g = rad.rademacher_grid(DS, MS, N_SETS, N_MC, seed=0)
    D, M = np.meshgrid(g["ds"], g["ms"], indexing="ij")
    g["D"], g["M"] = D[..., None].astype(float), M[..., None].astype(float)
    return g


# ------------------------------------------------------------------ unit tests
def test_single_point_is_exact():
    """With m = 1 every sign gives the same dual norm, so the estimate is exact and its se is 0."""
    X = rad.rademacher_data(3, 1, 7, seed=1) * np.array([1, 2, 3, 1, 1, 1, 0.5], np.float32)
    est, se = rad.mc_rademacher(X, "l1", 2.0, 10, seed=2)
    assert np.allclose(est, 2.0 * np.abs(X[:, 0]).max(1)) and np.all(se == 0)
    est, se = rad.mc_rademacher(X, "l2", 2.0, 10, seed=2)
    assert np.allclose(est, 2.0 * np.linalg.norm(X[:, 0], axis=1)) and np.all(se == 0)


def test_bounds_closed_form_on_the_cube():
    X = rad.rademacher_data(2, 50, 20, seed=3)
    assert np.allclose(rad.massart_bound(X, 1.5), 1.5 * np.sqrt(2 * np.log(40) / 50))
    assert np.allclose(rad.l2_bound(X, 1.5), 1.5 * np.sqrt(20 / 50))


def test_mc_matches_bruteforce_expectation():
    """Small m: the exact E over all 2^m sign vectors, against a large Monte Carlo average."""
    X = rad.rademacher_data(1, 6, 5, seed=4).astype(float)
    signs = np.array(np.meshgrid(*[[-1, 1]] * 6)).reshape(6, -1).T
    exact = np.abs(signs @ X[0]).max(1).mean() / 6
    est, se = rad.mc_rademacher(X, "l1", 1.0, 20000, seed=5)
    assert abs(est[0] - exact) < 4 * se[0]


def test_binomial_and_gaussian_limits():
    assert np.isclose(rad.binomial_max_ratio(7, 1), 1 / np.sqrt(2 * np.log(14)))
    assert np.isclose(rad.gaussian_max_ratio(1), np.sqrt(2 / np.pi) / np.sqrt(2 * np.log(2)), rtol=1e-7)
    for d in (10, 1000):
        b = [rad.binomial_max_ratio(d, m) for m in (32, 256, 4096)]
        g = rad.gaussian_max_ratio(d)
        assert b[0] < b[1] < b[2] < g * 1.001 and abs(b[2] - g) < 0.005


def test_binomial_expectation_matches_monte_carlo():
    X = rad.rademacher_data(400, 32, 100, seed=6)
    est, _ = rad.mc_rademacher(X, "l1", 1.0, 25, seed=7)
    r = est / rad.massart_bound(X, 1.0)
    assert abs(r.mean() - rad.binomial_max_ratio(100, 32)) < 4 * r.std(ddof=1) / np.sqrt(r.size)


# ------------------------------------------------------------------ the notebook's claims and their mutations
def _z(g):
    """The notebook's rejection threshold: family-wise 5 % false alarms over all cells (Bonferroni)."""
    from scipy import stats
    return stats.norm.ppf(1 - 0.05 / g["est_l1"].size)


def _massart(g, rate=0.5, logfac=2.0, const=1.0):
    return const * np.sqrt(logfac * np.log(2 * g["D"])) / g["M"] ** rate


def test_true_l1_and_l2_bounds_hold(grid):
    assert np.allclose(_massart(grid), grid["bound_l1"])
    assert checks.below(grid["est_l1"] - _z(grid) * grid["se_l1"], _massart(grid)).holds
    assert checks.below(grid["est_l2"] - _z(grid) * grid["se_l2"], np.sqrt(grid["D"] / grid["M"])).holds


@pytest.mark.parametrize("mutation", [
    dict(rate=1.0),        # 1/m in place of 1/sqrt(m)
    dict(logfac=1.0),      # sqrt(log 2d): the 2 dropped inside the root
    dict(const=0.8),       # constant shrunk by 20 %
])
def test_l1_mutations_rejected(grid, mutation):
    assert not checks.below(grid["est_l1"] - _z(grid) * grid["se_l1"], _massart(grid, **mutation)).holds


def test_l1_dropped_log_factor_rejected(grid):
    """sqrt(2 log 2d) dropped: W max||x||_inf / sqrt(m)."""
    wrong = np.ones_like(grid["D"]) / np.sqrt(grid["M"])
    assert not checks.below(grid["est_l1"] - _z(grid) * grid["se_l1"], wrong).holds


def test_l2_mutations_rejected(grid):
    est = grid["est_l2"] - _z(grid) * grid["se_l2"]
    assert not checks.below(est, 0.9 * np.sqrt(grid["D"] / grid["M"])).holds          # shrunk by 10 %
    assert not checks.below(est, np.sqrt(grid["D"]) / grid["M"]).holds                 # 1/m rate
    assert not checks.below(est, np.sqrt(2 * np.log(2 * grid["D"]) / grid["M"])).holds  # l1's sqrt(log d) for l2


def test_rate_mutation_rejected(grid):
    level = 1 - 0.05 / len(DS)
    for a in range(len(DS)):
        assert checks.slope_ci(grid["ms"], grid["est_l2"][a].T, -0.5, level=level, seed=a).holds
        assert not checks.slope_ci(grid["ms"], grid["est_l2"][a].T, -1.0, level=level, seed=a).holds
        assert not checks.slope_ci(grid["ms"], grid["est_l1"][a].T, -1.0, level=level, seed=a).holds


def test_l1_finite_m_rate_and_the_asymptotic_rate(grid):
    """The finite-m slope prediction holds at every d; -1/2 itself is rejected at d = 10,000 (as the
    notebook reports): the data resolve the lighter-than-Gaussian tails of sums of signs."""
    level = 1 - 0.05 / len(DS)
    for a, d in enumerate(DS):
        pred = checks.loglog_slope(MS, np.array([rad.binomial_max_ratio(d, m) for m in MS]) / np.sqrt(MS))
        assert checks.slope_ci(grid["ms"], grid["est_l1"][a].T, pred, level=level, seed=a).holds
    assert not checks.slope_ci(grid["ms"], grid["est_l1"][-1].T, -0.5, level=level, seed=len(DS) - 1).holds
