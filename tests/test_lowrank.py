"""Unit and mutation tests for sparsebounds.lowrank (notebook 09).

The trained-network tests rerun a documented subset of the notebook's default grid: B in {1, 4}, mu = 0.2,
lambda in {0, 0.03}, seeds 0 and 1, 3000 steps, gradient logged every 50 steps (every run of a given
(B, mu, lambda, seed) is the same run as in the notebook: data, initialisation and mini-batches depend on the
seed and B only). The worst cases are the notebook's attained instances (mu = 0.05, lambda = 0.01).
"""
import numpy as np
import pytest
from scipy.stats import spearmanr

from sparsebounds import checks, lowrank

RTOL = 1e-9


@pytest.fixture(scope="module")
def run():
    return lowrank.train_grid([1, 4], [0.2], [0.0, 0.03], [0, 1], steps=3000, log_every=50,
                              snapshot_lags=(1, 3, 10, 30, 100, 1000), spectrum_steps=(0, 3000))


@pytest.fixture(scope="module")
def attained():
    return {K: (B, *lowrank.attained_instance(K, B, mu=0.05, lam=0.01)) for K, B in ((10, 4), (100, 1), (1000, 1))}


# ---------------------------------------------------------------- unit tests
def test_data_and_init_depend_on_seed_only():
    X1, Y1 = lowrank.teacher_data(3, 50)
    X2, Y2 = lowrank.teacher_data(3, 50)
    assert np.array_equal(X1, X2) and np.array_equal(Y1, Y2)
    assert not np.array_equal(X1, lowrank.teacher_data(4, 50)[0])
    assert np.array_equal(lowrank.batch_indices(0, 4, 100, 10), lowrank.batch_indices(0, 4, 100, 10))


def test_numerical_and_effective_rank():
    sv = np.array([[3.0, 2.0, 1e-12, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert list(lowrank.numerical_rank(sv, 1e-9)) == [2, 4]
    er = lowrank.effective_rank(sv)
    assert er[1] == pytest.approx(4.0) and 1.0 < er[0] < 2.0
    assert lowrank.effective_rank(np.array([5.0, 0.0, 0.0])) == pytest.approx(1.0)


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


def test_train_grid_shapes_and_decrease(run):
    G = 2 * 1 * 2 * 2
    assert run["W_T"].shape == (G, 128, 64) and run["grad_sv"].shape == (60, G, 64)
    assert set(run["W_lag"]) == {1, 3, 10, 30, 100, 1000}
    assert np.all(run["loss"] < run["loss0"])  # training does something in every run


def test_subset_matches_notebook_values(run):
    """Effective ranks printed in notebook 09 (seed 0, mu = 0.2, lambda = 0.03): B = 1 -> 13.2, B = 4 -> 10.5."""
    er = lowrank.effective_rank(np.linalg.svd(run["W_T"], compute_uv=False))
    pick = lambda B, lam, s: er[(run["B"] == B) & (run["lam"] == lam) & (run["seed"] == s)][0]
    assert pick(1, 0.03, 0) == pytest.approx(13.2, abs=0.05)
    assert pick(4, 0.03, 0) == pytest.approx(10.5, abs=0.05)


def test_grid_composition_does_not_change_a_run(run):
    alone = lowrank.train_grid([4], [0.2], [0.03], [1], steps=3000, log_every=50)
    sel = (run["B"] == 4) & (run["lam"] == 0.03) & (run["seed"] == 1)
    assert np.allclose(alone["W_T"][0], run["W_T"][sel][0], rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the notebook's checks hold ...
def gradient_ranks(run):
    g_rank = lowrank.numerical_rank(run["grad_sv"], RTOL)
    return g_rank, np.broadcast_to(run["B"], g_rank.shape)


def test_gradient_rank_claim_holds_with_a_gap(run):
    g_rank, Bb = gradient_ranks(run)
    assert checks.below(g_rank, Bb, rtol=0).holds
    assert np.mean(g_rank == Bb) > 0.9
    sv = run["grad_sv"]
    nz = sv[..., 0] > 0
    rel = sv / np.where(nz[..., None], sv[..., :1], 1.0)
    nxt = np.take_along_axis(rel, Bb[..., None], -1)[..., 0]
    assert nxt[nz].max() < 1e-14  # sigma_{B+1} is round-off: the tolerance is not doing the work


def test_sv_inequality_holds(run, attained):
    for K in (1, 3, 10, 30, 100, 1000):
        o, b, inf = lowrank.sv_inequality(run["W_T"], run["W_lag"][K], run["B"], run["mu"], run["lam"], K)
        if inf.any():
            assert checks.below(o[inf], b[inf]).holds
    for K, (B, WT, Wl) in attained.items():
        o, b, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K)
        assert checks.close(o, b, rtol=1e-9).holds


def test_rank_falls_with_decay_and_no_collapse_without(run):
    sv = np.linalg.svd(run["W_T"], compute_uv=False)
    er = lowrank.effective_rank(sv)
    for s in (0, 1):
        for B in (1, 4):
            sel = (run["seed"] == s) & (run["B"] == B)
            assert er[sel & (run["lam"] == 0.03)][0] < er[sel & (run["lam"] == 0.0)][0]
    assert checks.above(lowrank.numerical_rank(sv[run["lam"] == 0], 1e-3), 64, rtol=0).holds


# ---------------------------------------------------------------- ... and reject the mutations
def test_mutation_gradient_rank_below_B_rejected(run):
    g_rank, Bb = gradient_ranks(run)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert not checks.below(g_rank, Bb - 1, rtol=0).holds


@pytest.mark.parametrize("K", [10, 100, 1000])
def test_mutation_four_mu_lambda_rejected_on_worst_case(attained, K):
    B, WT, Wl = attained[K]
    o, b, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K, decay_factor=4.0)
    assert not checks.below(o, b).holds


@pytest.mark.parametrize("K", [10, 100, 1000])
def test_mutation_shrunk_constant_rejected_on_worst_case(attained, K):
    B, WT, Wl = attained[K]
    o, b, _ = lowrank.sv_inequality(WT, Wl, B, 0.05, 0.01, K)
    assert not checks.below(o, 0.99 * b).holds


@pytest.mark.parametrize("K", [10, 100])
def test_mutation_shifted_index_rejected_on_worst_case(attained, K):
    """sigma_{KB}(W_T) in place of sigma_{KB+1}: the KB-th direction received a gradient and exceeds the bound."""
    B, WT, Wl = attained[K]
    sv = np.linalg.svd(WT, compute_uv=False)[0]
    bound = (1 - 2 * 0.05 * 0.01) ** K * np.linalg.norm(Wl[0], 2)
    assert not checks.below(sv[K * B - 1], bound).holds


def test_mutation_wrong_sign_in_decay_rejected(run):
    er = lowrank.effective_rank(np.linalg.svd(run["W_T"], compute_uv=False))
    rho = [spearmanr([0.0, 0.03], [er[(run["seed"] == s) & (run["B"] == B) & (run["lam"] == l)][0]
                                   for l in (0.0, 0.03)])[0] for s in (0, 1) for B in (1, 4)]
    assert checks.within(max(rho), -1.0, -1e-12).holds
    assert not checks.within(min(rho), 1e-12, 1.0).holds  # "rank rises with lambda"


def test_mutation_full_rank_with_decay_rejected(run):
    sv = np.linalg.svd(run["W_T"], compute_uv=False)
    assert not checks.above(lowrank.numerical_rank(sv[run["lam"] == 0.03], 1e-3), 64, rtol=0).holds


# ---------------------------------------------------------------- the linear layer where the bound bites
LIN_BS, LIN_MU, LIN_LAMS, EPS = [1, 2, 4, 8, 16], 0.5, [0.3, 0.5], 0.01


@pytest.fixture(scope="module")
def lin():
    """Notebook 09's linear-layer experiment restricted to lambda in {0.3, 0.5} (seeds 0, 1; 2000 steps)."""
    K = {l: int(np.ceil(np.log(EPS) / np.log(1 - 2 * LIN_MU * l))) for l in LIN_LAMS}
    r = lowrank.train_linear_grid(LIN_BS, LIN_MU, LIN_LAMS, [0, 1], steps=2000, snapshot_lags=tuple(set(K.values())))
    sv = np.linalg.svd(r["W_T"], compute_uv=False)
    Kr = np.array([K[l] for l in r["lam"]])
    ref = np.linalg.norm(np.stack([r["W_lag"][k][g] for g, k in enumerate(Kr)]), 2, axis=(-2, -1))
    return {**r, "rank": (sv > EPS * ref[:, None]).sum(-1), "bound": r["B"] * Kr,
            "erank": lowrank.effective_rank(sv), "K": K}


def test_linear_grid_matches_notebook(lin):
    """Notebook 09 prints, seed 0, lambda = 0.3: eps-ranks 13, 22, 35, 48, 56 for B = 1..16."""
    got = [lin["rank"][(lin["seed"] == 0) & (lin["lam"] == 0.3) & (lin["B"] == b)][0] for b in LIN_BS]
    assert got == [13, 22, 35, 48, 56]
    assert lin["K"] == {0.3: 13, 0.5: 7}


def test_linear_rank_bound_holds_and_rank_rises(lin):
    assert checks.below(lin["rank"], lin["bound"], rtol=0).holds
    for s in (0, 1):
        for l in LIN_LAMS:
            er = [lin["erank"][(lin["seed"] == s) & (lin["lam"] == l) & (lin["B"] == b)][0] for b in LIN_BS]
            assert spearmanr(LIN_BS, er)[0] > 0


def test_mutation_linear_rank_bound_halved_rejected(lin):
    assert not checks.below(lin["rank"], lin["bound"] / 2, rtol=0).holds


def test_mutation_linear_rank_bound_four_mu_lambda_rejected(lin):
    ok = 1 - 4 * LIN_MU * lin["lam"] > 0
    K4 = np.ceil(np.log(EPS) / np.log(1 - 4 * LIN_MU * lin["lam"][ok]))
    assert ok.any() and not checks.below(lin["rank"][ok], lin["B"][ok] * K4, rtol=0).holds
