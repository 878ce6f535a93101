"""Unit and mutation tests for sparsebounds.lasso_error (notebook 05).

The mutation tests run the notebook's experiment (``lasso_error.experiment``) with its default parameters
(``parameters.notebook_defaults``), read each claim's bound from its record (``tests/mutations.py``), and feed the
notebook's checks the wrong claims built from it: each must be rejected, the claim must hold.
"""
import numpy as np
import pytest
import sympy as sp
from mutations import drop_factor, evaluate, registered_bound, shift_exponent

from sparsebounds import lasso_error as le
from sparsebounds import proximal, seeds
from sparsebounds.harness import checks, parameters


def lam_registered(sigma, n, p, eta):
    """The notebook's derived lambda, read from the registered error bound 3 sqrt(s) lambda / kappa (at s = kappa
    = 1 it is 3 lambda)."""
    return float(evaluate(registered_bound("05-lasso-l2-error-bound"), s=1, kappa=1, sigma=sigma, n=n, p=p,
                          eta=eta)) / 3


def exponent(bound: sp.Expr, name: str) -> float:
    """d log(bound) / d log(name): the power of ``name`` in a power law."""
    x = sp.Symbol(name, positive=True)
    b = bound.subs({s: sp.Symbol(s.name, positive=True) for s in bound.free_symbols})
    return float(sp.simplify(x * sp.diff(sp.log(b), x)))                 # 0 if name is not in the bound


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


def test_solve_refuses_a_path_that_ended_above_the_lambda_asked_for(monkeypatch):
    X, y, _, _ = le.instance((3, 0, 2), 20, 60, 3, amplitude=3.0)
    path = le.lasso_path
    monkeypatch.setattr(le, "lasso_path", lambda X, y, lam_stop: path(X, y, lam_stop=lam_stop, max_steps=3))
    with pytest.raises(RuntimeError, match="above the"):
        le.solve(X, y, 1e-3)


def test_best_error_is_the_minimum_over_lambda():
    X, y, th, _ = le.instance((5, 0, 1), 120, 200, 4, amplitude=10.0)
    err, lam_best, kkt = le.best_error(X, y, th)
    assert kkt < 1e-10
    grid = lam_best * np.geomspace(0.5, 2.0, 41)
    on_grid = np.array([np.linalg.norm(le.solve(X, y, l) - th) for l in grid])
    assert err <= on_grid.min() + 1e-12
    assert err == pytest.approx(np.linalg.norm(le.solve(X, y, lam_best) - th), rel=1e-9)
    assert on_grid.min() <= err * 1.01                               # the grid brackets the minimum


def test_a_variable_on_the_boundary_enters_only_when_its_correlation_moves_outward():
    """The step to the next breakpoint is decided by the sign of the rate. A variable that has just left sits on
    the boundary with a gap of +-1e-16; moving inward (rate < 0) it never re-enters, on either side of round-off.
    The former rule (gap / rate, kept when above 1e-14) let it back in at a gap of -1e-15 and a rate of -0.06."""
    gap = np.array([-1e-15, 1e-15, 0.0, 0.3, 0.3, -1e-15])
    rate = np.array([-0.06, -0.06, -1.0, 0.5, -0.5, 0.2])
    assert np.array_equal(le._first_hit(gap, rate), [np.inf, np.inf, np.inf, 0.6, np.inf, 0.0])


@pytest.mark.parametrize("replicate", [0, 24, 34, 57])
def test_the_path_stays_the_lasso_s_where_a_variable_left_and_round_off_could_bring_it_back(replicate):
    """Full-profile data sets of notebook 05 at (n, p, s) = (400, 1024, 32) on which the former entry rule lost the
    path (KKT violations of 0.007 to 2 lambda), on this machine's CPU or on a simulated Sandybridge without AVX-512:
    at the best lambda the solution satisfies the optimality conditions, and the early stop finds the minimum of
    the whole path."""
    key = (0, le.BEST_LAMBDA, replicate)
    X = le.design(key, 400, 1024, 32)
    th = le.truth(key, 1024, 32, 10.0)
    y = X @ th + le.noise(key, 400, 1.0)
    err, lam, kkt = le.best_error(X, y, th)
    assert kkt < 1e-9
    whole = le.lasso_path(X, y, theta_star=th)
    assert whole["best_kkt"] < 1e-9
    assert err == pytest.approx(whole["best_error"], rel=1e-12) and lam == pytest.approx(whole["best_lam"], rel=1e-12)


def test_shrinkage_decomposition_is_exact_when_signs_are_recovered():
    X, y, th, w = le.instance((2, 0, 0), 300, 100, 4, amplitude=10.0)
    lam = lam_registered(1.0, 300, 100, 0.05)
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


# ---------------------------------------------------------------- the notebook's experiment, default profile
@pytest.fixture(scope="module")
def nb():
    d = parameters.notebook_defaults("05")
    return dict(d=d, res=le.experiment(lam_of=lam_registered, **d))


def test_noise_tail_and_its_mutations(nb):
    d, res = nb["d"], nb["res"]
    n0, p0, _ = res.point
    bound = registered_bound("05-lasso-noise-tail")                  # 2 p exp(-n t^2 / (2 sigma^2))
    at = lambda b: np.minimum(1, evaluate(b, t=res.t_grid, n=n0, p=p0, sigma=d["sigma"]))
    assert checks.below(res.tail, at(bound)).holds
    assert not checks.below(res.tail, at(drop_factor(bound, "p"))).holds       # union factor p dropped
    assert not checks.below(res.tail, at(drop_factor(bound, "exp(n*t**2/(2*sigma**2))"))).holds    # exponent doubled


def _bound(nb, bound):
    """The notebook's check of the error bound on the event, ``bound`` evaluated per family at its kappa(S)."""
    d, res = nb["d"], nb["res"]
    n0, p0, s0 = res.point
    runs = list(res.runs.values())
    err = np.concatenate([r["err"] for r in runs])
    ev = np.concatenate([r["event"] for r in runs])
    at = dict(s=s0, n=n0, p=p0, sigma=d["sigma"], eta=d["eta"])
    if any(s.name == "kappa" for s in bound.free_symbols):
        bnd = np.concatenate([evaluate(bound, kappa=r["kappa"], **at) for r in runs])
    else:
        bnd = np.concatenate([evaluate(bound, **at) * np.ones(r["err"].size) for r in runs])
    return checks.below(err[ev], bnd[ev])


def test_error_bound_holds_and_kappa_is_needed(nb):
    runs = nb["res"].runs.values()
    bound = registered_bound("05-lasso-l2-error-bound")              # 3 sqrt(s) lambda / kappa(S)
    assert all(r["event"].all() and (r["cone"] <= 3).all() for r in runs)
    assert _bound(nb, bound).holds
    assert not _bound(nb, drop_factor(bound, "1/kappa")).holds       # kappa dropped
    assert all((r["kappa"] <= r["kappa_hat"] + 1e-12).all() for r in runs)


def test_shrinkage_identity_on_the_notebook_runs(nb):
    for r in nb["res"].runs.values():
        ok = r["signs_ok"]
        assert checks.close(r["delta_S"][ok], r["decomp_S"][ok], rtol=1e-9).holds
        assert r["bias_frac"].min() > 0.9
        assert r["kkt"].max() < 1e-10
    assert nb["res"].best_kkt < 1e-9                                   # and at every best lambda of the sweeps


def _rate(nb, sweep, grid, bound, wrong):
    res, d = nb["res"], nb["d"]
    E = np.array([res.best[q] for q in res.sweeps[sweep]]).T
    return checks.asymptotic_rate(d[grid], E, exponent(bound, sweep), alternatives=[exponent(w, sweep) for w in wrong],
                                  seed=seeds.rng(d["seed"], "bootstrap"))


def test_rate_in_n_and_mutations(nb):
    bound = registered_bound("05-lasso-rate-in-n")                   # n^(-1/2)
    slow, fast = shift_exponent(bound, "n", -0.25), shift_exponent(bound, "n", 0.5)   # n^(-1/4), n^(-1)
    assert _rate(nb, "n", "n_grid", bound, [slow, fast]).holds
    assert not _rate(nb, "n", "n_grid", slow, [bound, fast]).holds
    assert not _rate(nb, "n", "n_grid", fast, [bound, slow]).holds


def test_rate_in_s_and_mutations(nb):
    bound = registered_bound("05-lasso-rate-in-s")                   # s^(1/2) at fixed s/p
    dropped, l1 = shift_exponent(bound, "s", 0.5), shift_exponent(bound, "s", -0.5)   # s^0, s^1
    assert _rate(nb, "s", "s_grid", bound, [dropped, l1]).holds
    assert not _rate(nb, "s", "s_grid", dropped, [bound, l1]).holds
    assert not _rate(nb, "s", "s_grid", l1, [bound, dropped]).holds


def test_collapse_and_mutations(nb):
    sig, best = nb["d"]["sigma"], nb["res"].best
    bound = registered_bound("05-lasso-error-collapse")              # sigma sqrt(2 s log(p/s) / n)
    as_rate = lambda b: (lambda n, p, s: float(evaluate(b, n=n, p=p, s=s, sigma=sig)))
    wrong = {"log dropped": drop_factor(bound, "sqrt(log(p/s))"), "sqrt(s) dropped": drop_factor(bound, "sqrt(s)"),
             "1/n": shift_exponent(bound, "n", 0.5)}
    T = le.collapse_tolerance(list(best), as_rate(bound), {k: as_rate(w) for k, w in wrong.items()})
    assert checks.below(le.collapse_spread(best, as_rate(bound)), T).holds
    for w in wrong.values():
        assert not checks.below(le.collapse_spread(best, as_rate(w)), T).holds
