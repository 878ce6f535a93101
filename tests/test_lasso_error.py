"""Unit and mutation tests for sparsebounds.lasso_error (notebook 05).

The mutation tests run the notebook's experiments with its default parameters (``parameters.notebook_defaults``)
and feed the same checks the wrong claims the notebook names: each must be rejected, the claim must hold.
"""
import numpy as np
import pytest

from sparsebounds import lasso_error as le
from sparsebounds import proximal
from sparsebounds.harness import checks, parameters


def lam_theory(sigma, n, p, eta):
    """The notebook's derived lambda = 2 sqrt(2) sigma (sqrt(log(2/eta)) + sqrt(log p)) / sqrt(n)."""
    return 2 * np.sqrt(2) * sigma * (np.sqrt(np.log(2 / eta)) + np.sqrt(np.log(p))) / np.sqrt(n)


# ---------------------------------------------------------------- units
def test_design_is_nested_normalised_and_correlated():
    key = (7, le.BEST_LAMBDA, 0)
    big = le.raw_design(key, 130, 90, 3)
    small = le.raw_design(key, 70, 40, 3)
    assert np.array_equal(big[:70, :40], small)                       # nested in n and in p
    X = le.design(key, 70, 40, 3)
    assert np.allclose(np.linalg.norm(X, axis=0), np.sqrt(70))
    assert np.array_equal(le.noise(key, 130, 1.0)[:70], le.noise(key, 70, 1.0))
    Xc = le.design((7, le.THEORY_RUNS, 0), 4000, 10, 4, support_correlation=0.8)
    G = Xc.T @ Xc / 4000
    assert abs(G[0, 1] - 0.8) < 0.05 and abs(G[0, 5]) < 0.05
    th = le.truth(key, 10, 4, 2.0, balanced=True)
    assert np.array_equal(th[:4], [2.0, -2.0, 2.0, -2.0]) and not th[4:].any()
    assert np.array_equal(np.abs(le.truth(key, 10, 3, 2.0)[:3]), [2.0, 2.0, 2.0])


def test_path_solution_is_the_lasso_minimiser():
    """The path at lambda satisfies the optimality conditions of (1/2n)||y - X t||^2 + lam ||t||_1, and equals
    the minimiser FISTA finds for the equivalent 1/2||X t - y||^2 + (n lam)||t||_1."""
    X, y, th, _ = le.instance((3, 0, 0), 60, 40, 3, amplitude=3.0)
    est = le.solve(X, y, 0.2)
    ref, _ = proximal.lasso_minimum(X[None], y[None], 60 * 0.2)
    assert np.abs(est - ref[0]).max() < 1e-8
    for (n, p, s, lam) in [(100, 300, 5, 0.3), (50, 120, 4, 0.05), (40, 80, 6, 0.01)]:
        X, y, th, _ = le.instance((3, 0, 1), n, p, s, amplitude=3.0)
        est = le.solve(X, y, lam)
        assert le.kkt_violation(X, y, est, lam) < 1e-10
        assert le.kkt_violation(X, y, le.solve(X, y, 1.5 * lam), lam) > 1e-2   # another lambda's solution fails


def test_best_error_is_the_minimum_over_lambda():
    X, y, th, _ = le.instance((5, 0, 1), 120, 200, 4, amplitude=10.0)
    err, lam_best = le.best_error(X, y, th)
    grid = lam_best * np.geomspace(0.5, 2.0, 41)
    on_grid = np.array([np.linalg.norm(le.solve(X, y, l) - th) for l in grid])
    assert err <= on_grid.min() + 1e-12
    assert err == pytest.approx(np.linalg.norm(le.solve(X, y, lam_best) - th), rel=1e-9)
    assert on_grid.min() <= err * 1.01                               # the grid brackets the minimum


def test_shrinkage_decomposition_is_exact_when_signs_are_recovered():
    X, y, th, w = le.instance((2, 0, 0), 300, 100, 4, amplitude=10.0)
    lam = lam_theory(1.0, 300, 100, 0.05)
    est = le.solve(X, y, lam)
    assert np.array_equal(np.sign(est), np.sign(th))
    bias, nz = le.shrinkage_decomposition(X, w, th, lam)
    assert np.allclose(est - th, bias + nz, rtol=0, atol=1e-12)
    assert np.linalg.norm(bias) > 5 * np.linalg.norm(nz)             # the bias dominates at this lambda


def test_cone_search_is_an_upper_estimate_between_known_values():
    """kappa(S) lies between lambda_min(X^T X/n) (n > p) and lambda_min of the support block; the search
    returns a value in that interval, and every point it evaluates is in the cone."""
    X = le.design((4, 0, 0), 200, 30, 3, support_correlation=0.5)
    S = np.arange(3)
    G = X.T @ X / 200
    k = le.re_constant_upper(X, S, (4, 0, 0), n_dirs=16, n_steps=60)
    assert np.linalg.eigvalsh(G)[0] - 1e-12 <= k <= np.linalg.eigvalsh(G[:3, :3])[0] + 1e-12
    D = le._project_cone(np.random.default_rng(0).standard_normal((5, 30)), np.arange(30) < 3, 3.0)
    assert (np.abs(D[:, 3:]).sum(1) <= 3 * np.abs(D[:, :3]).sum(1) + 1e-12).all()


def test_collapse_tolerance_is_the_midpoint_to_the_nearest_alternative():
    pts = [(100, 16, 4), (100, 256, 4)]
    rate = lambda n, p, s: np.sqrt(s * np.log(p / s) / n)
    T = le.collapse_tolerance(pts, rate, {"drop log": lambda n, p, s: np.sqrt(s / n)})
    assert T == pytest.approx(np.sqrt(np.sqrt(np.log(64) / np.log(4))))


# ---------------------------------------------------------------- the notebook's experiments, default profile
@pytest.fixture(scope="module")
def nb():
    d = parameters.notebook_defaults("05")
    n0, p0, s0 = le.THEORY_POINT
    lam0 = lam_theory(d["sigma"], n0, p0, d["eta"])
    runs = [le.theory_lambda_runs(d["seed"], d["n_seeds"], n0, p0, s0, lam0, sigma=d["sigma"],
                                  amplitude=d["amplitude"], cone_dirs=d["cone_dirs"], cone_steps=d["cone_steps"], **kw)
            for kw in (dict(), dict(support_correlation=d["support_correlation"], balanced=True))]
    sweeps = le.sweep_points(d["n_grid"], d["p_grid"], d["s_grid"])
    best = le.best_error_sweeps(d["seed"], d["n_seeds_best"], sweeps, sigma=d["sigma"], amplitude=d["amplitude"])
    t_grid = np.linspace(0.15, 0.27, 13)
    tail = le.noise_tail(d["seed"], n0, p0, d["sigma"], d["n_noise"], t_grid)
    return dict(d=d, lam0=lam0, runs=runs, sweeps=sweeps, best=best, t_grid=t_grid, tail=tail)


def test_noise_tail_and_its_mutations(nb):
    d, t = nb["d"], nb["t_grid"]
    n0, p0, _ = le.THEORY_POINT
    tail = lambda factor, expo: np.minimum(1, factor * np.exp(-expo * n0 * t**2 / (2 * d["sigma"] ** 2)))
    assert checks.below(nb["tail"], tail(2 * p0, 1)).holds
    assert not checks.below(nb["tail"], tail(2, 1)).holds            # union factor p dropped
    assert not checks.below(nb["tail"], tail(2 * p0, 2)).holds        # exponent doubled


def _bound(nb, kappa_of):
    s0 = le.THEORY_POINT[2]
    err = np.concatenate([r["err"] for r in nb["runs"]])
    ev = np.concatenate([r["event"] for r in nb["runs"]])
    bnd = np.concatenate([3 * np.sqrt(s0) * nb["lam0"] / kappa_of(r) * np.ones(r["err"].size) for r in nb["runs"]])
    return checks.below(err[ev], bnd[ev])


def test_error_bound_holds_and_kappa_is_needed(nb):
    assert all(r["event"].all() and (r["cone"] <= 3).all() for r in nb["runs"])
    assert _bound(nb, lambda r: r["kappa"]).holds
    assert not _bound(nb, lambda r: 1.0).holds                      # kappa dropped
    assert all((r["kappa"] <= r["kappa_hat"] + 1e-12).all() for r in nb["runs"])


def test_shrinkage_identity_on_the_notebook_runs(nb):
    for r in nb["runs"]:
        ok = r["signs_ok"]
        assert checks.close(r["delta_S"][ok], r["decomp_S"][ok], rtol=1e-9).holds
        assert r["bias_frac"].min() > 0.9
        assert r["kkt"].max() < 1e-10


def test_rate_in_n_and_mutations(nb):
    E = np.array([nb["best"][q] for q in nb["sweeps"]["n"]]).T
    ng = nb["d"]["n_grid"]
    assert checks.asymptotic_rate(ng, E, -0.5, alternatives=[-0.25, -1.0]).holds
    assert not checks.asymptotic_rate(ng, E, -0.25, alternatives=[-0.5, -1.0]).holds   # slow rate
    assert not checks.asymptotic_rate(ng, E, -1.0, alternatives=[-0.5, -0.25]).holds


def test_rate_in_s_and_mutations(nb):
    E = np.array([nb["best"][q] for q in nb["sweeps"]["s"]]).T
    sg = nb["d"]["s_grid"]
    assert checks.asymptotic_rate(sg, E, 0.5, alternatives=[0.0, 1.0]).holds
    assert not checks.asymptotic_rate(sg, E, 0.0, alternatives=[0.5, 1.0]).holds       # sqrt(s) dropped
    assert not checks.asymptotic_rate(sg, E, 1.0, alternatives=[0.5, 0.0]).holds


def test_collapse_and_mutations(nb):
    sig = nb["d"]["sigma"]
    rate = lambda n, p, s: sig * np.sqrt(2 * s * np.log(p / s) / n)
    wrong = {"log dropped": lambda n, p, s: sig * np.sqrt(2 * s / n),
             "sqrt(s) dropped": lambda n, p, s: sig * np.sqrt(2 * np.log(p / s) / n),
             "1/n": lambda n, p, s: sig * np.sqrt(2 * s * np.log(p / s)) / n}
    T = le.collapse_tolerance(list(nb["best"]), rate, wrong)
    assert checks.below(le.collapse_spread(nb["best"], rate), T).holds
    for f in wrong.values():
        assert not checks.below(le.collapse_spread(nb["best"], f), T).holds
