"""Unit and mutation tests for sparsebounds.overparam (notebook 10).

The mutation tests run notebook 10's experiment with the notebook's default parameters
(``parameters.notebook_defaults("10")``) and feed the notebook's checks the wrong claims it lists: each must fail on
the same data, and the claim itself must hold.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp
from mutations import evaluate, registered_bound, scale

from sparsebounds import overparam as op
from sparsebounds.harness import checks, parameters


# ---------------------------------------------------------------- unit tests
def test_sphere_points_are_unit_norm_and_seeded():
    X = op.sphere_points(3, 40, 8)
    assert X.shape == (40, 8)
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-14)
    assert np.array_equal(X, op.sphere_points(3, 40, 8))
    assert not np.array_equal(X, op.sphere_points(4, 40, 8))


def test_gram_infinity_special_values():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    H = op.gram_infinity(X)
    assert H[0, 0] == pytest.approx(0.5)        # theta = 0: t (pi - 0) / (2 pi) with t = 1
    assert H[0, 1] == pytest.approx(0.0)        # orthogonal: t = 0
    assert H[0, 2] == pytest.approx(0.0)        # antipodal: the two half-spaces share no open set
    assert np.allclose(H, H.T)


@pytest.mark.parametrize("kernel", [op.gram_infinity, op.relu_output_kernel])
def test_kernel_diagonal_is_exact_whatever_the_round_off_of_the_norms(kernel):
    """arccos has an infinite slope at 1, so a point's computed cosine with itself (1 - 1e-16) must not reach it:
    the diagonal is exactly 1/2, and moving each norm by one ulp changes the kernel by round-off only (before the
    fix: by 3e-9 on the diagonal, a different amount on each CPU)."""
    X = op.sphere_points(0, 100, 16, 5)
    K = kernel(X)
    assert np.array_equal(np.diag(K), np.full(100, 0.5))
    ulp = np.finfo(float).eps * np.where(np.arange(100) % 2, 1.0, -1.0)
    assert np.abs(kernel(X * (1 + ulp)[:, None]) - K).max() < 1e-14


@pytest.mark.parametrize("kernel, draw", [(op.gram_infinity, "gram"), (op.relu_output_kernel, "outputs")])
def test_kernels_match_monte_carlo(kernel, draw):
    """Each entry is the mean of m i.i.d. terms bounded by 1 (standard deviation <= 1/2 for the Gram, <= 1 for
    the output products): 6 standard deviations is a tolerance no correct closed form fails."""
    X = op.sphere_points(0, 6, 5)
    m = 400_000
    W = np.random.default_rng(11).standard_normal((m, 5))
    Z = W @ X.T
    if draw == "gram":
        S = (Z >= 0).astype(float)
        est = (X @ X.T) * (S.T @ S) / m
        tol = 6 * 0.5 / np.sqrt(m)
    else:
        Rl = np.maximum(Z, 0)
        est = Rl.T @ Rl / m
        tol = 6 * 1.0 / np.sqrt(m)
    assert np.abs(est - kernel(X)).max() < tol


def test_gram_empirical_is_mean_of_unit_grams():
    X = op.sphere_points(1, 7, 4)
    W, _ = op.init_network(2, 30, 4)
    H = op.gram_empirical(W, X)
    ref = np.zeros((7, 7))
    for w in W:
        s = (X @ w >= 0).astype(float)
        ref += np.outer(s, s) * (X @ X.T)
    assert np.allclose(H, ref / 30, atol=1e-14)


def _reference_gd(W0, a, X, y, eta, steps):
    """Plain float64 loop: w_r -= eta * (1/sqrt m) a_r sum_i (u_i - y_i) 1{w_r.x_i > 0} x_i."""
    W = W0.copy()
    m = W.shape[0]
    out = []
    for k in range(steps + 1):
        Z = W @ X.T
        u = a @ np.maximum(Z, 0) / np.sqrt(m)
        r = y - u
        out.append(r)
        if k == steps:
            break
        W = W + eta * (a[:, None] / np.sqrt(m)) * (((Z > 0) * r[None, :]) @ X)
    return np.array(out), W


@pytest.mark.parametrize("chunk_bytes", [None, 1300], ids=["whole", "units-in-chunks"])
def test_train_gd_matches_a_plain_loop(chunk_bytes, monkeypatch):
    """Units in chunks (a 64-unit network over 12 points in 5 uneven chunks in float64, 3 in float32) give the
    same training as the whole batch at once."""
    if chunk_bytes is not None:
        monkeypatch.setattr(op, "CHUNK_BYTES", chunk_bytes)
    n, d, m = 12, 4, 64
    X = op.sphere_points(5, n, d)
    W0, a = op.init_network(5, m, d)
    Y = np.stack([np.sin(3 * X[:, 0]), X[:, 1] * X[:, 2]])                 # two label sets, shared start
    ref = [_reference_gd(W0, a, X, y, 0.3, 25) for y in Y]
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        run = op.train_gd(W0[None], a[None], X[None], Y[None], np.array([0.3]), 25, dtype=dtype)
        for l in range(2):
            assert np.allclose(run["residual"][:, 0, l], ref[l][0], atol=tol)
            moved = np.linalg.norm(ref[l][1] - W0, axis=1).max()
            assert run["move_max"][-1, 0, l] == pytest.approx(moved, rel=10 * tol)
        if dtype is np.float64:
            assert np.allclose(run["gram_end"][0, 0], op.gram_empirical(ref[0][1], X), atol=1e-12)
    assert run["move_max"][0].max() == 0.0


def test_one_step_is_the_kernel_step_when_no_pattern_flips():
    """With a tiny step no pattern flips, and the network is linear in W on the data: r(1) = (I - eta H(W(0))) r(0)."""
    n, d, m = 10, 6, 50
    X = op.sphere_points(7, n, d)
    W0, a = op.init_network(7, m, d)
    y = np.cos(2 * X[:, 0])
    eta = 1e-6
    run = op.train_gd(W0[None], a[None], X[None], y[None, None], np.array([eta]), 1, dtype=np.float64)
    assert run["flipped"][0, 0] == 0.0
    r0, r1 = run["residual"][0, 0, 0], run["residual"][1, 0, 0]
    assert np.allclose(r1, r0 - eta * op.gram_empirical(W0, X) @ r0, rtol=0, atol=1e-13)


def test_kernel_prediction_is_the_matrix_power():
    X = op.sphere_points(2, 9, 5)
    H = op.gram_infinity(X)
    r0 = np.linspace(-1, 1, 9)
    eta = 0.7 / np.linalg.eigvalsh(H)[-1]
    pred = op.kernel_prediction(H, r0, eta, [0, 1, 5, 40])
    for k, p in zip([0, 1, 5, 40], pred):
        assert p == pytest.approx(np.linalg.norm(np.linalg.matrix_power(np.eye(9) - eta * H, k) @ r0), rel=1e-12)
    assert op.kernel_prediction(H, r0, eta, [3], power=1)[0] == pytest.approx(
        np.sqrt(((1 - eta * np.linalg.eigvalsh(H)) ** 3 * (np.linalg.eigh(H)[1].T @ r0) ** 2).sum()), rel=1e-12)


def test_labels_are_centred_unit_rms_and_the_slowest_start_on_v_min():
    X = op.sphere_points(0, 30, 8)
    labs = op.label_sets(0, X)
    assert set(labs) == {"tree", "dense", "random"}
    for y in labs.values():
        assert abs(y.mean()) < 1e-12 and np.mean(y ** 2) == pytest.approx(1.0)
    H = op.gram_infinity(X)
    u0 = np.linspace(-0.5, 0.5, 30)
    r0 = op.slowest_direction_labels(u0, H) - u0
    lam, V = np.linalg.eigh(H)
    assert np.allclose(H @ r0, lam[0] * r0, atol=1e-10) and np.sum(r0 ** 2) == pytest.approx(30)


def test_steps_to_fraction_and_loss_ratio():
    res = np.ones((1, 4, 1, 2, 3))
    res[0, :, 0, 0] *= np.array([1.0, 0.5, 0.05, 0.01])[:, None]        # squared ratio 1, .25, .0025, 1e-4
    out = SimpleNamespace(residual=res)                                  # only what the two read
    assert np.allclose(op.loss_ratio(out)[0, :, 0, 0], [1, 0.25, 0.0025, 1e-4])
    k1 = op.steps_to_fraction(out, 1e-2)
    assert k1[0, 0, 0] == 2 and k1[0, 0, 1] == 4                          # never: steps + 1


# ---------------------------------------------------------------- the notebook's data
@pytest.fixture(scope="module")
def nb():
    p = parameters.notebook_defaults("10")
    out = op.experiment(**parameters.arguments_of(op.experiment, p))
    widths = np.array(p["widths"])
    return p, out, widths >= p["m_test"]


def _exponent(sizes, errors, predicted):
    others = [q for q in (0.0, -0.5, -1.0) if q != predicted]
    return checks.asymptotic_rate(sizes, errors, predicted, alternatives=others)


def _per_replicate(err, tested):
    return np.exp(np.log(err).mean(-1)).T[:, tested]


def _rate(out, tested, bound, lambda_0):
    """The loss ratios at the tested widths against ``bound`` (in eta, lambda_0, k) per replicate."""
    ratio = op.loss_ratio(out)[tested][:, 1:]
    k = np.arange(1, ratio.shape[1] + 1)
    bnd = evaluate(bound, eta=out.eta[None, :], lambda_0=np.asarray(lambda_0)[None, :], k=k[:, None])   # (K, S)
    bnd = np.broadcast_to(bnd[None, :, :, None], ratio.shape)
    keep = ratio >= op.FLOOR
    return checks.below(ratio[keep], bnd[keep])


def test_rate_bound_holds_and_faster_rates_are_rejected(nb):
    """The registered (1 - eta lambda_0/2)^k holds; the same bound with a larger lambda_0 is rejected: 4 lambda_0
    (the rate (1 - 2 eta lambda_0)^k of the first-order expansion) and the mean eigenvalue tr H/n."""
    p, out, tested = nb
    lam = out.eigvals
    bound = registered_bound("10-rate-bound")
    assert _rate(out, tested, bound, lam[:, 0]).holds
    assert not _rate(out, tested, bound, 4 * lam[:, 0]).holds
    assert not _rate(out, tested, bound, lam.mean(1)).holds


def test_movement_exponent(nb):
    # the registered bound is the exponent -1/2 itself (a number): the wrong claims are the other exponents
    p, out, tested = nb
    W = np.array(p["widths"])[tested]
    E = _per_replicate(out.move_rms[:, -1], tested)
    assert _exponent(W, E, -0.5).holds
    assert not _exponent(W, E, 0.0).holds
    assert not _exponent(W, E, -1.0).holds


def test_trajectory_prediction_and_wrong_predictions(nb):
    # the registered bound is a sum over the eigenpairs of H-infinity (undefined functions lam(i), c(i)), not an
    # expression tests/mutations.py can evaluate: the wrong predictions are op.trajectory_error's options
    p, out, tested = nb
    W = np.array(p["widths"])[tested]
    assert _exponent(W, _per_replicate(op.trajectory_error(out), tested), -0.5).holds
    t = np.clip(out.X @ out.X.transpose(0, 2, 1), -1, 1)
    for wrong in (op.trajectory_error(out, start="labels"), op.trajectory_error(out, power=1),
                  op.trajectory_error(out, kernel=t / 4)):
        assert not _exponent(W, _per_replicate(wrong, tested), -0.5).holds


def test_gram_closed_form_and_wrong_kernels(nb):
    p, out, tested = nb
    W = np.array(p["widths"])
    t = op.cosines(out.X)

    bound = registered_bound("10-gram-closed-form")                     # t (pi - acos t) / (2 pi)
    t_s = [s for s in bound.free_symbols if s.name == "t"][0]

    def err(K):
        return np.linalg.norm(out.gram0 - K[None], axis=(2, 3)).T

    assert np.allclose(evaluate(bound, t=t), op.gram_infinity(out.X), rtol=1e-12, atol=1e-15)
    assert _exponent(W, err(evaluate(bound, t=t)), -0.5).holds
    first_order = sp.series(bound, t_s, 0, 2).removeO()                 # t/4: independent half-spaces
    for K in (evaluate(first_order, t=t), evaluate(scale(bound, 2), t=t)):
        assert not _exponent(W, err(K), -0.5).holds
    # another kernel altogether (the covariance of u(0)), not a mutation of the registered one
    assert not _exponent(W, err(op.relu_output_kernel(out.X)), -0.5).holds


def test_structured_labels_train_faster_than_random(nb):
    # the registered bound is a relation (yHy_structured < yHy_random), not an expression to mutate
    p, out, tested = nb
    kinds = list(out.kinds)
    k1 = op.steps_to_fraction(out, 1e-2)[tested]
    cplx = op.label_complexity(out)
    ra = k1[..., kinds.index("random")]
    for kd in ("tree", "dense"):
        st = k1[..., kinds.index(kd)]
        assert (cplx[kd] < cplx["random"]).all()
        assert checks.below(st + 1, ra).holds
        assert not checks.close(st, ra, rtol=0.25).holds
        assert not checks.below(ra + 1, st).holds
