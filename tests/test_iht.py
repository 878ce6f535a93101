"""Unit and mutation tests for sparsebounds.iht (notebook 06).

The mutation tests rebuild the notebook's default-profile data for its two largest measurement counts
(m = 320, 640: j = 4, 5 in m_grid, seed 0, same seeds and search sizes) and feed the same check a wrong claim.
"""
from itertools import combinations
from math import comb

import numpy as np
import pytest

from sparsebounds import checks, iht

PHI = (1 + np.sqrt(5)) / 2
D, S, N_MATS, SEED = 20, 2, 6, 0


def test_supports_count_and_order():
    T = iht.supports(6, 3)
    assert T.shape == (comb(6, 3), 3)
    assert [tuple(t) for t in T] == list(combinations(range(6), 3))


def test_rip_constant_matches_brute_force():
    A = iht.gaussian_matrices([3, 4], 9, 7)
    got, T = iht.rip_constant(A, 3, chunk=5, return_support=True)
    for b in range(2):
        best = 0.0
        for t in combinations(range(7), 3):
            ev = np.linalg.eigvalsh(A[b][:, t].T @ A[b][:, t])
            best = max(best, ev[-1] - 1, 1 - ev[0])
        assert got[b] == pytest.approx(best, rel=1e-12)
        ev = np.linalg.eigvalsh(A[b][:, T[b]].T @ A[b][:, T[b]])
        assert max(ev[-1] - 1, 1 - ev[0]) == pytest.approx(best, rel=1e-12)


def test_rip_constant_extremes():
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((8, 5)))[0]
    assert iht.rip_constant(Q, 3)[0] == pytest.approx(0.0, abs=1e-12)
    Q2 = Q.copy()
    Q2[:, 1] = Q2[:, 0]                      # two equal unit columns: Gram eigenvalues 0 and 2
    assert iht.rip_constant(Q2, 2)[0] == pytest.approx(1.0, abs=1e-12)


def test_hard_threshold_keeps_largest():
    v = np.array([[0.1, -3.0, 2.0, -0.5], [1.0, 1.0, -1.0, 0.0]])
    out = iht.hard_threshold(v, 2)
    assert np.array_equal(out[0], [0.0, -3.0, 2.0, 0.0])
    assert (out[1] != 0).sum() == 2


def test_iht_recovers_when_condition_holds():
    A = iht.gaussian_matrices([11], 640, D)
    x = iht.sparse_signals(2, 1, 20, D, S)
    xs = iht.iht(A, np.matmul(x, A.transpose(0, 2, 1)), S, 40)
    assert np.abs(xs[-1] - x).max() < 1e-10
    assert np.array_equal(xs[0], np.zeros_like(x))


def test_step_ratio_matches_iht_step():
    A = iht.gaussian_matrices([5], 50, D)
    x = iht.sparse_signals(3, 1, 8, D, S)
    xs = iht.iht(A, np.matmul(x, A.transpose(0, 2, 1)), S, 2)
    z = xs[1]
    r = iht.step_ratio(A, z, x, S)
    direct = np.linalg.norm(xs[2] - x, axis=-1) / np.linalg.norm(xs[1] - x, axis=-1)
    assert np.allclose(r, direct)


@pytest.fixture(scope="module")
def notebook_subset():
    """Notebook 06's data for m = 320 and 640 (default profile): exact RICs and hard-pair step ratios."""
    out = []
    for j, m in [(4, 320), (5, 640)]:
        A = iht.gaussian_matrices(range(SEED + 1000 * j, SEED + 1000 * j + N_MATS), m, D)
        d3, T3 = iht.rip_constant(A, 3 * S, return_support=True)
        d2 = iht.rip_constant(A, 2 * S)
        _, _, adv = iht.adversarial_pairs(A, T3, S, SEED + 5 * j, 4096, rounds=8)
        rng = np.random.default_rng(SEED + 99 * j)
        x = iht.sparse_signals(SEED + 7 * j, N_MATS, 100, D, S, kind="gauss")
        y = np.matmul(x, A.transpose(0, 2, 1))
        e = 1e-3 * rng.standard_normal(y.shape) / np.sqrt(m)
        err = np.linalg.norm(iht.iht(A, y + e, S, 40) - x, axis=-1)
        out.append(dict(d3=d3, d2=d2, adv=adv, err=err, nu=np.linalg.norm(e, axis=-1),
                        xn=np.linalg.norm(x, axis=-1)))
    return out


def _floor_bound(d3, d2, e0, nu, n, K=PHI):
    rho = PHI * d3
    return rho ** n * e0 + K * np.sqrt(1 + d2) * nu * (1 - rho ** n) / (1 - rho)


def test_claimed_contraction_holds(notebook_subset):
    d3 = np.concatenate([r["d3"] for r in notebook_subset])
    adv = np.concatenate([r["adv"] for r in notebook_subset])
    assert (d3 < 1 / PHI).all()
    assert checks.below(adv, PHI * d3).holds
    assert checks.below(adv, np.sqrt(3) * d3).holds


def test_mutation_dropped_factor_rejected(notebook_subset):
    """rho = delta_3s (the factor phi, or sqrt3, dropped): the hard pairs exceed it."""
    d3 = np.concatenate([r["d3"] for r in notebook_subset])
    adv = np.concatenate([r["adv"] for r in notebook_subset])
    assert not checks.below(adv, d3).holds


def test_mutation_shifted_exponent_rejected(notebook_subset):
    """A contraction rho^2 = (phi delta_3s)^2 per step (exponent shifted from 1 to 2) is rejected."""
    d3 = np.concatenate([r["d3"] for r in notebook_subset])
    adv = np.concatenate([r["adv"] for r in notebook_subset])
    assert not checks.below(adv, (PHI * d3) ** 2).holds


def test_noise_floor_and_mutation(notebook_subset):
    """The solved recursion bounds every noisy run; dropping its noise term (nu -> 0) is rejected."""
    n = np.arange(1, 41, dtype=float)[:, None]
    good, bad = [], []
    for r in notebook_subset:
        for i in range(N_MATS):
            obs = r["err"][1:, i, :]
            good.append(checks.below(obs, _floor_bound(r["d3"][i], r["d2"][i], r["xn"][i], r["nu"][i], n)))
            bad.append(checks.below(obs, _floor_bound(r["d3"][i], r["d2"][i], r["xn"][i], 0 * r["nu"][i], n)))
    assert checks.all_of(*good).holds
    assert not checks.all_of(*bad).holds
