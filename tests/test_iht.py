"""Unit and mutation tests for sparsebounds.iht (notebook 06).

The mutation tests run the notebook's experiment (``iht.experiment``) with its default parameters
(``parameters.notebook_defaults("06")``) and feed the same check a wrong claim built from the bound the notebook
registered (``tests/mutations.py``): the factor phi dropped, the contraction squared, the noise term of the floor
dropped (nu = 0).
"""
from itertools import combinations
from math import comb

import numpy as np
import pytest
from mutations import drop_factor, evaluate, registered_bound

from sparsebounds import iht, seeds, sparse_instances
from sparsebounds.harness import checks, parameters

PHI = (1 + np.sqrt(5)) / 2
D, S = 20, 2


def test_supports_count_and_order():
    T = iht.supports(6, 3)
    assert T.shape == (comb(6, 3), 3)
    assert [tuple(t) for t in T] == list(combinations(range(6), 3))


def test_rip_constant_matches_brute_force():
    A = sparse_instances.gaussian_designs([3, 4], 9, 7)
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


@pytest.mark.parametrize("s", [1, 2, 3, 5])
def test_hard_threshold_equals_a_stable_sort(s):
    """Every s (the argmax passes for s <= 3, the sort above): the entries a stable sort of -|v| puts first,
    lowest index first on ties, on a batch of any shape (a non-contiguous view too)."""
    rng = np.random.default_rng(9)
    v = np.round(rng.standard_normal((3, 40, 7)), 1)             # rounded: many ties
    v[0, 0] = 0.5
    for w in (v, v.transpose(1, 0, 2)):
        keep = np.argsort(-np.abs(w), axis=-1, kind="stable")[..., :s]
        ref = np.zeros_like(w)
        np.put_along_axis(ref, keep, np.take_along_axis(w, keep, axis=-1), axis=-1)
        assert np.array_equal(iht.hard_threshold(w, s), ref)


def test_iht_recovers_when_condition_holds():
    A = sparse_instances.gaussian_designs([11], 640, D)
    x = sparse_instances.sparse_signals(2, 1, 20, D, S)
    xs = iht.iht(A, np.matmul(x, A.transpose(0, 2, 1)), S, 40)
    assert np.abs(xs[-1] - x).max() < 1e-10
    assert np.array_equal(xs[0], np.zeros_like(x))


def test_step_ratio_matches_iht_step():
    A = sparse_instances.gaussian_designs([5], 50, D)
    x = sparse_instances.sparse_signals(3, 1, 8, D, S)
    xs = iht.iht(A, np.matmul(x, A.transpose(0, 2, 1)), S, 2)
    z = xs[1]
    r = iht.step_ratio(A, z, x, S)
    direct = np.linalg.norm(xs[2] - x, axis=-1) / np.linalg.norm(xs[1] - x, axis=-1)
    assert np.allclose(r, direct)


def test_named_streams_are_separate():
    """Design, signals, noise and the hard-pair search draw from different streams (not all default_rng(0))."""
    A = sparse_instances.gaussian_designs([seeds.rng(0, "design", 0, 0)], 20, D)[0]
    x = sparse_instances.sparse_signals(seeds.rng(0, "signal", 0, 0), 1, 1, D, S)
    first = {seeds.rng(0, name, 0, 0).standard_normal() for name in ("design", "signal", "noise")}
    first.add(seeds.rng(0, "adversarial", 0).standard_normal())
    assert len(first) == 4
    assert A[0, 0] * np.sqrt(20) == seeds.rng(0, "design", 0, 0).standard_normal()
    assert A[0, 0] * np.sqrt(20) != np.random.default_rng(0).standard_normal()
    assert np.count_nonzero(x) == S


@pytest.fixture(scope="module")
def nb():
    """Notebook 06's default-profile data, from the notebook's own experiment and parameters."""
    P = parameters.notebook_defaults("06")
    return dict(P=P, res=iht.experiment(**P))


def _golden(nb):
    """The matrices with rho = phi*delta_3s < 1, where the noise floor and the iteration count are claimed."""
    return nb["res"].d3 < 1 / PHI


def _floor(nb, bound):
    """(observed noisy errors, ``bound`` at every iteration n >= 1), per golden matrix, n and noisy run."""
    res, g = nb["res"], _golden(nb)
    n = np.arange(1, nb["P"]["n_iter"] + 1, dtype=float)[None, :, None]
    values = dict(delta_3s=res.d3[g][:, None, None], delta_2s=res.d2[g][:, None, None],
                  e_0=res.signal_norm[g][:, None, :], nu=res.noise_norm[g][:, None, :], n=n)
    return res.noisy_error[g][:, 1:, :], evaluate(bound, **{k: v for k, v in values.items()
                                                           if k in {s.name for s in bound.free_symbols}})


def test_claimed_contraction_holds(nb):
    res, bound = nb["res"], registered_bound("06-iht-step-contraction-golden")
    assert checks.below(res.step, evaluate(bound, delta_3s=res.d3)).holds
    fr = res.d3 < 1 / np.sqrt(3)
    assert fr.sum() >= 6 and checks.below(res.step[fr], evaluate(registered_bound("06-iht-step-contraction-sqrt3"),
                                                                  delta_3s=res.d3[fr])).holds


def test_mutation_dropped_factor_rejected(nb):
    """rho = delta_3s (the factor phi dropped from the registered bound): the hard pairs exceed it."""
    res = nb["res"]
    wrong = drop_factor(registered_bound("06-iht-step-contraction-golden"), "(1 + sqrt(5))/2")
    assert not checks.below(res.step, evaluate(wrong, delta_3s=res.d3)).holds


def test_mutation_shifted_exponent_rejected(nb):
    """A contraction rho^2 = (phi delta_3s)^2 per step (the registered rho squared) is rejected."""
    res = nb["res"]
    wrong = registered_bound("06-iht-step-contraction-golden") ** 2
    assert not checks.below(res.step, evaluate(wrong, delta_3s=res.d3)).holds


def test_noise_floor_and_mutation(nb):
    """The solved recursion bounds every noisy run; without its noise term (nu -> 0) it is rejected."""
    bound = registered_bound("06-iht-noise-floor")
    assert checks.below(*_floor(nb, bound)).holds
    nu = [s for s in bound.free_symbols if s.name == "nu"][0]
    assert not checks.below(*_floor(nb, bound.subs(nu, 0))).holds


def test_iteration_count_identity_holds(nb):
    """Implied by the contraction on the same runs: every noiseless run reaches eps within n(eps)."""
    res, g = nb["res"], _golden(nb)
    n_eps = evaluate(registered_bound("06-iht-iteration-count"), delta_3s=res.d3[g], epsilon=nb["P"]["eps"])
    assert g.sum() >= 6 and (res.first_hit[g].max(axis=1) <= np.ceil(n_eps)).all()
