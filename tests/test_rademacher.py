"""Rademacher complexity of linear classes: unit tests, and mutation tests on notebook 04's data.

The mutation tests run the notebook's experiment (``generalization.experiment``) with its default parameters
(``parameters.notebook_defaults("04")``) and read its linear grid and check that the verdicts the
notebook registers as tests hold, and that the same verdict functions reject the wrong alternatives the
notebook names: for Massart's bound the rate 1/m, the 2 dropped inside the root, the whole sqrt(2 log 2d)
dropped and a constant shrunk by 20 %; for its tightness the ratios 1, 1/sqrt(2) and the Gaussian large-m
value; for the l2 bound a 10 % shrink, the rate 1/m and the l1 ball's log factor; for the l1 rate the
exponents -1 and -1/4.
"""
import numpy as np
import pytest
from mutations import drop_factor, evaluate, registered_bound, scale, shift_exponent
from scipy import stats

from sparsebounds import generalization as gen
from sparsebounds import rademacher as rad
from sparsebounds import seeds
from sparsebounds.harness import checks, parameters

P = parameters.notebook_defaults("04")
ALT_RATE = [-1.0, -0.25]   # the notebook's wrong exponents (the registered rate is a number, not an expression)


@pytest.fixture(scope="module")
def grid():
    g = dict(gen.experiment(**parameters.arguments_of(gen.experiment, P)).linear)  # the notebook's linear classes
    D, M = np.meshgrid(g["ds"], g["ms"], indexing="ij")
    g["D"], g["M"] = D.astype(float), M.astype(float)
    g["D3"], g["M3"] = g["D"][..., None], g["M"][..., None]
    return g


# ------------------------------------------------------------------ unit tests
def test_single_point_is_exact():
    """With m = 1 every sign gives the same dual norm, so the estimate is exact and its se is 0."""
    X = rad.rademacher_data(3, 1, 7, np.random.default_rng(1)) * np.array([1, 2, 3, 1, 1, 1, 0.5], np.float32)
    est, se = rad.mc_rademacher(X, "l1", 2.0, 10, np.random.default_rng(2))
    assert np.allclose(est, 2.0 * np.abs(X[:, 0]).max(1)) and np.all(se == 0)
    est, se = rad.mc_rademacher(X, "l2", 2.0, 10, np.random.default_rng(2))
    assert np.allclose(est, 2.0 * np.linalg.norm(X[:, 0], axis=1)) and np.all(se == 0)


def test_bounds_closed_form_on_the_cube():
    X = rad.rademacher_data(2, 50, 20, np.random.default_rng(3))
    assert np.allclose(rad.massart_bound(X, 1.5), 1.5 * np.sqrt(2 * np.log(40) / 50))
    assert np.allclose(rad.l2_bound(X, 1.5), 1.5 * np.sqrt(20 / 50))


def test_mc_matches_bruteforce_expectation():
    """Small m: the exact E over all 2^m sign vectors, against a large Monte Carlo average."""
    X = rad.rademacher_data(1, 6, 5, np.random.default_rng(4)).astype(float)
    signs = np.array(np.meshgrid(*[[-1, 1]] * 6)).reshape(6, -1).T
    exact = np.abs(signs @ X[0]).max(1).mean() / 6
    est, se = rad.mc_rademacher(X, "l1", 1.0, 20000, np.random.default_rng(5))
    assert abs(est[0] - exact) < 4 * se[0]


def test_binomial_and_gaussian_limits():
    assert np.isclose(rad.binomial_max_ratio(7, 1), 1 / np.sqrt(2 * np.log(14)))
    assert np.isclose(rad.gaussian_max_ratio(1), np.sqrt(2 / np.pi) / np.sqrt(2 * np.log(2)), rtol=1e-7)
    for d in (10, 1000):
        b = [rad.binomial_max_ratio(d, m) for m in (32, 256, 4096)]
        g = rad.gaussian_max_ratio(d)
        assert b[0] < b[1] < b[2] < g * 1.001 and abs(b[2] - g) < 0.005


def test_binomial_law_has_a_next_term_of_order_one_over_m():
    """(s_j + 1/2) m_j, s_j the local log-log slopes of the exact law, settles to a constant: the next term
    is b/m (2a of the notebook); a next term of order m^(-1/2) would make it grow like sqrt(m)."""
    ms = 2.0 ** np.arange(5, 14)
    for d in (10, 1000):
        e = np.array([rad.binomial_max_ratio(d, int(m)) for m in ms]) / np.sqrt(ms)
        c = (checks.local_slopes(ms, e) + 0.5) * np.sqrt(ms[1:] * ms[:-1])
        assert np.all(c > 0) and abs(c[-1] / c[-2] - 1) < 0.01


def test_binomial_expectation_matches_monte_carlo():
    X = rad.rademacher_data(400, 32, 100, np.random.default_rng(6))
    est, _ = rad.mc_rademacher(X, "l1", 1.0, 25, np.random.default_rng(7))
    r = est / rad.massart_bound(X, 1.0)
    assert abs(r.mean() - rad.binomial_max_ratio(100, 32)) < 4 * r.std(ddof=1) / np.sqrt(r.size)


def test_grid_carries_the_exact_ratio_and_named_streams():
    g = rad.rademacher_grid([10], [8, 16], 4, 10, seed=3)
    assert np.allclose(g["exact_l1"], [[rad.binomial_max_ratio(10, 8), rad.binomial_max_ratio(10, 16)]])
    h = rad.rademacher_grid([10], [8, 16], 4, 10, seed=3)
    assert np.array_equal(g["est_l1"], h["est_l1"])
    assert not np.array_equal(g["est_l1"], rad.rademacher_grid([10], [8, 16], 4, 10, seed=4)["est_l1"])


# ------------------------------------------------------------------ the notebook's claims and their mutations
def _z_upper(g):
    """One-sided, family-wise 5 % over all (d, m, data set) cells (Bonferroni), as in the notebook."""
    return stats.norm.ppf(1 - 0.05 / g["est_l1"].size)


def _z_cell(g):
    """Two-sided, family-wise 5 % over the (d, m) cells."""
    return stats.norm.ppf(1 - 0.05 / (2 * g["est_l1"][..., 0].size))


MASSART, L2 = registered_bound("04-rademacher-l1-massart"), registered_bound("04-rademacher-l2-bound")


def _at(g, bound):
    """A bound (SymPy, in W, X_inf, d, m) on the notebook's grid: unit ball, +-1 data (W = X_inf = 1)."""
    return evaluate(bound, W=1.0, X_inf=1.0, d=g["D3"], m=g["M3"])


def _massart(g):
    return _at(g, MASSART)


def _upper(g, norm):
    return g[f"est_{norm}"] - _z_upper(g) * g[f"se_{norm}"]


WRONG_MASSART = {
    "rate 1/m in place of 1/sqrt(m)": lambda g: _at(g, shift_exponent(MASSART, "m", 0.5)),
    "sqrt(log 2d): the 2 dropped": lambda g: _at(g, drop_factor(MASSART, "sqrt(2)")),
    "sqrt(2 log 2d) dropped": lambda g: _at(g, drop_factor(MASSART, "sqrt(2*log(2*d))")) * np.ones_like(g["D3"]),
    "constant shrunk by 20 %": lambda g: _at(g, scale(MASSART, 0.8)),
}


def test_massart_bound_holds(grid):
    assert np.allclose(_massart(grid), grid["bound_l1"])
    assert checks.below(_upper(grid, "l1"), _massart(grid)).holds


@pytest.mark.parametrize("name", list(WRONG_MASSART))
def test_massart_mutations_are_rejected(grid, name):
    assert not checks.below(_upper(grid, "l1"), WRONG_MASSART[name](grid)).holds


# 04-rademacher-l1-tight: the wrong claims are other values of the ratio estimate / Massart bound (1, 1/sqrt(2), the
# Gaussian limit), not mutations of the bound's expression
def _l1_tight(g, pred):
    r = g["est_l1"] / g["bound_l1"]
    se = r.std(-1, ddof=1) / np.sqrt(r.shape[-1])
    return checks.below(np.abs(r.mean(-1) - pred), _z_cell(g) * se)


def test_l1_tightness_against_the_exact_ratio_and_its_mutations(grid):
    assert _l1_tight(grid, grid["exact_l1"]).holds
    gauss = np.array([rad.gaussian_max_ratio(int(d)) for d in grid["ds"]])[:, None]
    for wrong in (np.ones_like(grid["D"]), np.full_like(grid["D"], 2 ** -0.5), gauss * np.ones_like(grid["D"])):
        assert not _l1_tight(grid, wrong).holds      # ratio 1; ratio 1/sqrt(2); Gaussian value at every m


def _l2_check(g, bound):
    ratio = g["est_l2"] / bound
    se = ratio.std(-1, ddof=1) / np.sqrt(ratio.shape[-1])
    jensen = (g["M"] - 1) / (4 * g["M"] * g["D"])
    return checks.all_of(checks.below(_upper(g, "l2"), bound),
                         checks.below(np.abs(ratio.mean(-1) - 1), 2 * jensen + _z_cell(g) * se))


def test_l2_bound_holds_and_its_mutations_are_rejected(grid):
    ones = np.ones_like(grid["est_l2"])
    true = _at(grid, L2) * ones
    assert np.allclose(true, grid["bound_l2"])
    assert _l2_check(grid, true).holds
    assert not _l2_check(grid, _at(grid, scale(L2, 0.9)) * ones).holds                 # shrunk by 10 %
    assert not _l2_check(grid, _at(grid, shift_exponent(L2, "m", 0.5)) * ones).holds   # 1/m rate
    assert not _l2_check(grid, _massart(grid) * ones).holds             # the l1 ball's sqrt(2 log 2d) (its bound)


def _rate(g, norm, a, predicted, alternatives):
    return checks.asymptotic_rate(g["ms"], g[f"est_{norm}"][a].T, predicted, alternatives=alternatives,
                                  next_order=1, n_boot=P["n_boot"],
                                  seed=seeds.rng(P["seed"], "rate-bootstrap", int(g["ds"][a])))


@pytest.mark.parametrize("a", range(len(P["ds_linear"])))
def test_l1_rate_accepts_one_half_and_rejects_wrong_exponents_at_every_d(grid, a):
    p = float(registered_bound("04-rademacher-l1-rate"))                # -1/2
    assert _rate(grid, "l1", a, p, ALT_RATE).holds
    for wrong in ALT_RATE:
        assert not _rate(grid, "l1", a, wrong, [p]).holds


def test_l2_rate_identity_check_holds(grid):
    assert all(_rate(grid, "l2", a, -0.5, ALT_RATE).holds for a in range(len(grid["ds"])))
