"""Unit and mutation tests for sparsebounds.lowrank (notebook 09).

Every experiment here is the notebook's own (``lowrank.experiment``), called with its default parameters
(``parameters.notebook_defaults``); a run depends only on its own (B, mu, lambda, seed)
(``test_grid_composition_does_not_change_a_run``). The worst cases are the notebook's attained instances
(mu = 0.05, lambda = 0.01). The claims tested here are relations (a trend decided by a sign test), a count
(full rank 64 without decay) or identities of the simulator: none is a SymPy expression that
``tests/mutations.py`` could mutate, so the wrong claims are the opposite trends and the notebook's named
alternatives.
"""
import numpy as np
import pytest

from sparsebounds import lowrank
from sparsebounds.harness import checks, parameters

P = parameters.notebook_defaults("09")
ALPHA = lowrank.ALPHA                   # the notebook's fixed decision level
MU_HI, LAM_HI = max(P["learning_rates"]), max(P["weight_decays"])


@pytest.fixture(scope="module")
def nb():
    """The notebook's experiment with its default parameters."""
    return lowrank.experiment(**parameters.arguments_of(lowrank.experiment, P))


@pytest.fixture(scope="module")
def run(nb):
    """The notebook's SGD runs: every B, mu, lambda and seed."""
    return nb.sgd


@pytest.fixture(scope="module")
def gd(nb):
    """The notebook's gradient-descent control."""
    return nb.gd


@pytest.fixture(scope="module")
def wide(nb):
    """The notebook's wide-layer runs: every seed, both batch sizes and both budgets."""
    return nb.wide


@pytest.fixture(scope="module")
def attained():
    return {K: (B, *lowrank.attained_instance(K, B, mu=0.05, lam=0.01)) for K, B in ((10, 4), (30, 2), (100, 1))}


def erank(r):
    return lowrank.effective_rank(np.linalg.svd(r["W_T"], compute_uv=False))


# ---------------------------------------------------------------- unit tests
def test_data_and_init_depend_on_seed_only():
    X1, Y1 = lowrank.teacher_data(3, 50)
    X2, Y2 = lowrank.teacher_data(3, 50)
    assert np.array_equal(X1, X2) and np.array_equal(Y1, Y2)
    assert not np.array_equal(X1, lowrank.teacher_data(4, 50)[0])
    assert np.array_equal(lowrank.batch_indices(0, 4, 100, 10), lowrank.batch_indices(0, 4, 100, 10))
    a = lowrank.wide_task(2, d_in=30, latent_dim=3, noise=0.5, n_train=20, n_test=5)
    b = lowrank.wide_task(2, d_in=30, latent_dim=3, noise=0.5, n_train=20, n_test=5)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert np.allclose(a[4].T @ a[4], np.eye(3))


def test_numerical_and_effective_rank():
    sv = np.array([[3.0, 2.0, 1e-12, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert list(lowrank.numerical_rank(sv, 1e-9)) == [2, 4]
    er = lowrank.effective_rank(sv)
    assert er[1] == pytest.approx(4.0) and 1.0 < er[0] < 2.0
    assert lowrank.effective_rank(np.array([5.0, 0.0, 0.0])) == pytest.approx(1.0)


def test_look_back_and_sign_test():
    assert lowrank.look_back(0.2, 0.0625, 0.01) == 182          # (1 - 0.025)^182 < 0.01 < 0.975^181
    assert 0.975 ** 182 < 0.01 < 0.975 ** 181
    pos, neg, ties, p = lowrank.sign_test([1, 1, 1, 1, 1, 2], [2, 2, 2, 2, 2, 2])
    assert (pos, neg, ties) == (5, 0, 1) and p == pytest.approx(1 / 32)
    assert lowrank.sign_test([2, 2], [1, 1])[3] == 1.0
    assert lowrank.sign_test([1], [1]) == (0, 0, 1, 1.0)


def test_apply_updates_matches_unrolled_formula():
    rng = np.random.default_rng(0)
    W0 = rng.standard_normal((6, 5))
    grads = rng.standard_normal((7, 6, 5))
    mu, lam = 0.1, 0.2
    a = 1 - 2 * mu * lam
    unrolled = a ** 7 * W0 - mu * sum(a ** (j - 1) * grads[7 - j] for j in range(1, 8))
    assert np.allclose(lowrank.apply_updates(W0, grads, mu, lam), unrolled, rtol=1e-13, atol=1e-13)


def test_sv_inequality_on_random_low_rank_updates():
    rng = np.random.default_rng(1)
    W0 = rng.standard_normal((3, 20, 30))
    K, B, mu, lam = 4, 2, 0.1, 0.5
    grads = [rng.standard_normal((3, 20, B)) @ rng.standard_normal((3, B, 30)) for _ in range(K)]
    WT = lowrank.apply_updates(W0, grads, mu, lam)
    o, b, inf = lowrank.sv_inequality(WT, W0, B, mu, lam, K)
    assert inf.all() and np.all(o <= b * (1 + 1e-12))
    o, b, inf = lowrank.sv_inequality(WT, W0, B, mu, lam, 20)  # 20*2 + 1 > 20: vacuous
    assert not inf.any() and np.all(o == 0)


def test_full_batch_is_gradient_descent():
    """B = n_train: every step is the exact full-batch gradient step (written out here for two steps)."""
    n, mu, lam = 40, 0.1, 0.02
    X, Y = lowrank.teacher_data(5, n)
    W1, W2 = lowrank.init_weights(5)
    for _ in range(2):
        pre = X @ W1.T
        r = (np.maximum(pre, 0) @ W2.T - Y) / n
        g1 = ((r @ W2) * (pre > 0)).T @ X
        g2 = r.T @ np.maximum(pre, 0)
        W1, W2 = (1 - 2 * mu * lam) * W1 - mu * g1, (1 - 2 * mu * lam) * W2 - mu * g2
    got = lowrank.train_grid([n], [mu], [lam], [5], steps=2, n_train=n, log_every=10, snapshot_lags=())
    assert np.allclose(got["W_T"][0], W1, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("block_rows", [lowrank.WIDE_BLOCK_ROWS, 7, 2])
def test_train_wide_blocked_steps_match_plain_numpy(monkeypatch, block_rows):
    """train_wide's blocked steps (one product with W1 per block, corrections per step, one update per block) are
    the recursion W1 <- (1 - 2 mu lambda) W1 - mu G1 step by step, checked against plain numpy: blocks that end at
    the look-back step (the default), several blocks between two such steps (7 rows: 3 steps), one step a block."""
    monkeypatch.setattr(lowrank, "WIDE_BLOCK_ROWS", block_rows)
    seed, B, mu, lam, d, steps = 3, 2, 0.2, 0.1, 24, 30
    X, Y, Xt, Yt, U = lowrank.wide_task(seed, d_in=d, latent_dim=2, noise=0.5, n_train=50, n_test=10)
    W1, W2 = lowrank.wide_init(seed, d, d)
    idx = lowrank.wide_batches(seed, B, 50, steps)
    for t in range(steps):
        xb, yb = X[idx[t]], Y[idx[t]]
        pre = xb @ W1.T
        r = (np.maximum(pre, 0) @ W2.T - yb) / B
        g1, g2 = ((r @ W2) * (pre > 0)).T @ xb, r.T @ np.maximum(pre, 0)
        W1, W2 = (1 - 2 * mu * lam) * W1 - mu * g1, (1 - 2 * mu * lam) * W2 - mu * g2
    K = lowrank.look_back(mu, lam, 0.5)
    got = lowrank.train_wide(B, mu, lam, seed, checkpoints=(steps,), eps=0.5, width=d, d_in=d, latent_dim=2,
                             noise=0.5, n_train=50, n_test=10)
    sv = np.linalg.svd(W1, compute_uv=False)
    assert np.allclose(got["at"][steps]["sv"], sv, rtol=1e-9, atol=1e-12)
    assert got["K"] == K and got["bound"] == B * K


def test_train_wide_says_when_it_diverges():
    """A step far above the stable range: a clear error naming the step, not a LAPACK error about NaNs."""
    with pytest.raises(FloatingPointError, match="smaller step"):
        lowrank.train_wide(1, 50.0, 0.001, 3, checkpoints=(60,), eps=0.5, width=24, d_in=24, latent_dim=2,
                           noise=0.5, n_train=50, n_test=10)


def test_train_grid_shapes_and_decrease(run):
    G = len(P["batch_sizes"]) * len(P["learning_rates"]) * len(P["weight_decays"]) * P["n_seeds"]
    assert run["W_T"].shape == (G, lowrank.WIDTH, lowrank.D_IN)
    assert run["grad_sv"].shape == (P["steps"] // P["log_every"], G, 64)
    assert np.all(run["loss"] < run["loss0"])  # training does something in every run


def test_subset_matches_notebook_values(run, gd):
    """Printed in notebook 09 (seed 0, mu = 0.2, lambda = 0.03): SGD B = 1 -> 4.6, B = 4 -> 4.8; the
    gradient-descent control 58.1 at lambda = 0 and 8.8 at lambda = 0.03."""
    er = erank(run)
    pick = lambda B, lam, s: er[(run["B"] == B) & (run["mu"] == MU_HI) & (run["lam"] == lam) & (run["seed"] == s)][0]
    assert pick(1, 0.03, 0) == pytest.approx(4.6, abs=0.05)
    assert pick(4, 0.03, 0) == pytest.approx(4.8, abs=0.05)
    assert erank(gd)[gd["lam"] == 0][0] == pytest.approx(58.1, abs=0.05)
    assert erank(gd)[gd["lam"] == 0.03][0] == pytest.approx(8.8, abs=0.05)


def test_grid_composition_does_not_change_a_run(run):
    alone = lowrank.train_grid([4], [MU_HI], [LAM_HI], [1], steps=P["steps"], n_train=P["n_train"],
                               log_every=P["log_every"], d_in=lowrank.D_IN, width=lowrank.WIDTH)
    sel = (run["B"] == 4) & (run["mu"] == MU_HI) & (run["lam"] == LAM_HI) & (run["seed"] == 1)
    assert np.allclose(alone["W_T"][0], run["W_T"][sel][0], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- identities (checks of the simulator)
def test_gradient_rank_identity_with_a_gap(run):
    g_rank = lowrank.numerical_rank(run["grad_sv"], P["rank_rtol"])
    Bb = np.broadcast_to(run["B"], g_rank.shape)
    assert checks.below(g_rank, Bb, rtol=0).holds
    assert np.mean(g_rank == Bb) > 0.9
    sv = run["grad_sv"]
    nz = sv[..., 0] > 0
    rel = sv / np.where(nz[..., None], sv[..., :1], 1.0)
    nxt = np.take_along_axis(rel, Bb[..., None], -1)[..., 0]
    assert nxt[nz].max() < 1e-14  # sigma_{B+1} is round-off: the tolerance is not doing the work


def test_sv_inequality_identity(run, attained):
    for K in run["W_lag"]:
        o, b, inf = lowrank.sv_inequality(run["W_T"], run["W_lag"][K], run["B"], run["mu"], run["lam"], K)
        if inf.any():
            assert checks.below(o[inf], b[inf]).holds
    for K, (B, WT, Wl) in attained.items():
        o, b, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K)
        assert checks.close(o, b, rtol=1e-9).holds


@pytest.mark.parametrize("K", [10, 30, 100])
def test_worst_case_separates_the_decay_factor(attained, K):
    """Where the inequality is attained, (1 - 4 mu lambda)^K and 0.99 (1 - 2 mu lambda)^K are both exceeded."""
    B, WT, Wl = attained[K]
    o, b4, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K, decay_factor=4.0)
    assert not checks.below(o, b4).holds
    o, b, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K)
    assert not checks.below(o, 0.99 * b).holds


def test_eps_rank_identity(wide):
    for v in wide.values():
        for o in v["at"].values():
            assert o["eps_rank"] <= v["bound"]
            assert o["eps_rank"] == int((o["sv"] > P["rank_eps"] * o["lag_norm"]).sum())


# ---------------------------------------------------------------- the tests hold and reject their mutations
def test_rank_falls_with_decay_and_rejects_the_opposite(nb, run):
    lo, hi = nb.decay_pairs(erank(run))
    assert lowrank.sign_test(lo, hi)[3] <= ALPHA
    assert lowrank.sign_test(hi, lo)[3] > ALPHA        # "the rank rises with lambda" is rejected


def test_rank_falls_with_step_and_rejects_the_opposite(nb, run):
    lo, hi, _ = nb.step_pairs(erank(run))
    assert len(lo) > 0
    assert lowrank.sign_test(lo, hi)[3] <= ALPHA
    assert lowrank.sign_test(hi, lo)[3] > ALPHA        # "the rank rises with mu" is rejected


def test_gradient_descent_control_collapses_and_rejects_needing_noise(gd):
    er = erank(gd)
    ratio = er[gd["lam"] == LAM_HI] / er[gd["lam"] == 0]
    assert checks.within(ratio.max(), 0.0, 1.0 - 1e-12).holds
    # "the collapse needs mini-batch noise: GD keeps at least 90 % of its lambda = 0 rank" is rejected
    assert not checks.above(ratio, 0.9, rtol=0).holds


def test_no_collapse_without_decay_and_the_check_sees_a_collapse(run, gd):
    sv = np.linalg.svd(run["W_T"], compute_uv=False)
    gsv = np.linalg.svd(gd["W_T"], compute_uv=False)
    r0 = np.concatenate([lowrank.numerical_rank(sv[run["lam"] == 0], 1e-3),
                         lowrank.numerical_rank(gsv[gd["lam"] == 0], 1e-3)])
    assert checks.above(r0, 64, rtol=0).holds
    strong = lowrank.numerical_rank(sv[(run["lam"] == LAM_HI) & (run["mu"] == MU_HI)], 1e-3)
    assert not checks.above(strong, 64, rtol=0).holds


def test_wide_experiment_is_in_the_regime_of_the_bound():
    """The design the theory needs: B*K(eps) <= rank/2 for every tested B, T >= 10/(2 mu lambda), >= 5 seeds."""
    K = lowrank.look_back(P["wide_lr"], P["wide_decay"], P["rank_eps"])
    assert all(b * K <= P["wide_width"] / 2 for b in P["wide_batch_sizes"])
    assert P["wide_steps"] * 2 * P["wide_lr"] * P["wide_decay"] >= 10 - 1e-9
    assert P["wide_seeds"] >= 5


def test_wide_layer_learns(wide):
    """Unlike the linear layer of earlier versions (relative distance to its teacher 0.93-0.99), the wide network
    explains at least a third of the target's variance on test data in every run."""
    for v in wide.values():
        for o in v["at"].values():
            assert o["test_error"] < 2 / 3


def test_wide_rejects_rank_of_the_order_of_the_bound(wide):
    """The alternative "the mechanism sets the rank: eps-rank >= B*K(eps)/2" is rejected on the notebook's runs."""
    rank = np.array([o["eps_rank"] for v in wide.values() for o in v["at"].values()])
    bound = np.array([v["bound"] for v in wide.values() for o in v["at"].values()])
    assert checks.below(rank, bound, rtol=0).holds
    assert not checks.above(rank, bound / 2, rtol=0).holds
