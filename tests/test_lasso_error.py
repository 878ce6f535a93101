"""Unit and mutation tests for sparsebounds.lasso_error (notebook 05).

The mutation tests rebuild the notebook's default-profile sweeps (8 designs per point, seed 0, σ = 1,
amplitude 10, η = 0.05, the same grids and solver iterations) and feed the same checks wrong claims.
"""
import numpy as np
import pytest

from sparsebounds import checks, lasso_error, proximal

SIGMA, AMP, ETA, SEEDS, N_ITER = 1.0, 10.0, 0.05, range(0, 8), 300
N_GRID, S_GRID, P_GRID = [100, 200, 400, 800, 1600], [2, 4, 8, 16], [50, 200, 800]


def lam_theory(n, p):
    """The notebook's derived lambda = 2 sigma (sqrt(2 log p / n) + sqrt(2 log(2/eta) / n))."""
    return 2 * SIGMA * (np.sqrt(2 * np.log(p) / n) + np.sqrt(2 * np.log(2 / ETA) / n))


def test_instances_shapes_and_normalisation():
    X, y, th, w = lasso_error.instances([1, 2], 50, 30, 3, sigma=0.5, amplitude=2.0)
    assert X.shape == (2, 50, 30) and y.shape == (2, 50) and th.shape == (2, 30)
    assert np.allclose(np.linalg.norm(X, axis=1), np.sqrt(50))
    assert ((th != 0).sum(1) == 3).all() and np.allclose(np.abs(th[th != 0]), 2.0)
    assert np.allclose(y, np.einsum("snp,sp->sn", X, th) + w)


def test_solve_matches_lasso_minimum_with_lambda_times_n():
    """(1/2n)||y - X t||^2 + lam ||t||_1 has the minimiser of 1/2||X t - y||^2 + (n lam)||t||_1."""
    X, y, th, _ = lasso_error.instances([3], 60, 40, 3, amplitude=3.0)
    lam = 0.2
    est = lasso_error.solve(X, y, lam, 2000)
    ref, _ = proximal.lasso_minimum(X, y, 60 * lam)
    assert np.abs(est - ref).max() < 1e-8
    assert lasso_error.kkt_violation(X, y, est, lam).max() < 1e-8
    # a wrong scaling (lam not multiplied by n) gives a different point that violates the KKT conditions
    wrong, _ = proximal.lasso_minimum(X, y, lam)
    assert lasso_error.kkt_violation(X, y, wrong, lam).max() > 1e-2


def test_cone_ratio_and_re_on_error():
    th = np.array([[1.0, 0.0, 0.0, -2.0]])
    d = np.array([[0.5, 0.3, -0.2, 0.5]])
    assert lasso_error.cone_ratio(d, th)[0] == pytest.approx(0.5)
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 4)))[0] * np.sqrt(10)
    assert lasso_error.re_on_error(Q[None], d)[0] == pytest.approx(1.0)


def test_cone_projection_and_search_upper_estimate():
    D = np.random.default_rng(1).standard_normal((2, 5, 30))
    P = lasso_error._project_cone(D, 3)
    mag = np.abs(P)
    top = -np.sort(-mag, axis=-1)
    assert (top[..., 3:].sum(-1) <= 3 * top[..., :3].sum(-1) + 1e-12).all()
    X, _, _, _ = lasso_error.instances([4], 40, 60, 2)
    k = lasso_error.re_upper_estimate(X, 2, 0, n_dirs=16, n_steps=30)
    lam_min = np.linalg.eigvalsh(X[0].T @ X[0] / 40)[0]
    assert lam_min - 1e-12 <= k[0] <= np.linalg.eigvalsh(X[0].T @ X[0] / 40)[-1]


@pytest.fixture(scope="module")
def sweep():
    points = sorted({(n, 4, 200) for n in N_GRID} | {(400, s, 200) for s in S_GRID} | {(400, 4, p) for p in P_GRID})
    out = {}
    for (n, s, p) in points:
        X, y, th, w = lasso_error.instances(SEEDS, n, p, s, sigma=SIGMA, amplitude=AMP)
        lam = lam_theory(n, p)
        D = lasso_error.solve(X, y, lam, N_ITER) - th
        out[(n, s, p)] = dict(err=np.linalg.norm(D, axis=1), lam=lam, kap=lasso_error.re_on_error(X, D),
                              event=lam >= 2 * lasso_error.noise_level(X, w))
    return out


def test_bound_and_shrunk_constant(sweep):
    err = np.concatenate([r["err"] for r in sweep.values()])
    ev = np.concatenate([r["event"] for r in sweep.values()])
    bnd = np.concatenate([3 * np.sqrt(k[1]) * r["lam"] / r["kap"] for k, r in sweep.items()])
    assert ev.all()
    assert checks.below(err[ev], bnd[ev]).holds
    assert not checks.below(err[ev], bnd[ev] / 3).holds          # constant 3 shrunk to 1


def test_rate_in_n_and_mutation(sweep):
    e = np.array([sweep[(n, 4, 200)]["err"] for n in N_GRID]).T
    assert checks.slope_ci(N_GRID, e, -0.5, seed=0).holds
    assert not checks.slope_ci(N_GRID, e, -1.0, seed=0).holds   # a rate in 1/n


def test_rate_in_s_and_mutation(sweep):
    e = np.array([sweep[(400, s, 200)]["err"] for s in S_GRID]).T
    assert checks.slope_ci(S_GRID, e, 0.5, seed=0).holds
    assert not checks.slope_ci(S_GRID, e, 0.0, seed=0).holds    # the sqrt(s) factor dropped


def _spread(sweep, rate):
    norm = np.array([np.exp(np.log(r["err"] / rate(*k)).mean()) for k, r in sweep.items()])
    return norm.max() / norm.min()


def test_collapse_and_mutations(sweep):
    assert checks.below(_spread(sweep, lambda n, s, p: SIGMA * np.sqrt(s * np.log(p) / n)), 1.5).holds
    assert not checks.below(_spread(sweep, lambda n, s, p: SIGMA * np.sqrt(np.log(p) / n)), 1.5).holds
    assert not checks.below(_spread(sweep, lambda n, s, p: SIGMA * s * np.log(p) / n), 1.5).holds


def test_noise_tail_and_dropped_union_factor():
    Xt, _, _, _ = lasso_error.instances([999], 400, 200, 4, sigma=SIGMA)
    W = SIGMA * np.random.default_rng(1).standard_normal((5000, 400))
    zmax = np.abs(W @ Xt[0]).max(axis=1) / 400
    t = np.linspace(0.15, 0.27, 13)
    emp = (zmax[:, None] >= t).mean(axis=0)
    assert checks.below(emp, np.minimum(1, 2 * 200 * np.exp(-400 * t**2 / (2 * SIGMA**2)))).holds
    assert not checks.below(emp, np.minimum(1, 2 * np.exp(-400 * t**2 / (2 * SIGMA**2)))).holds
