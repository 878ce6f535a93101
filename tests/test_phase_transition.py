"""Unit and mutation tests for sparsebounds.phase_transition (notebook 07).

The mutation tests rebuild the notebook's default-profile lines (d = 50, 100, 200; s/d = 0.1, 0.25; 24 instances;
seed 0; same search) and feed the same checks deliberately wrong claims.
"""
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erfc

from sparsebounds import checks, phase_transition as pt

D_LIST, RHO_LIST, TRIALS, SEED, N_BOOT = [50, 100, 200], [0.1, 0.25], 24, 0, 2000


def test_psi_matches_reference_values():
    # THEORY.md D2 [checked] values
    got = pt.psi([0.05, 0.1, 0.2, 0.5])
    assert np.allclose(got, [0.203900, 0.328794, 0.511130, 0.831300], atol=1e-6)


def test_closed_form_integral():
    for t in (0.0, 0.4, 1.3, 2.5):
        num = np.sqrt(2 / np.pi) * quad(lambda u: (u - t) ** 2 * np.exp(-u * u / 2), t, np.inf)[0]
        closed = (1 + t * t) * erfc(t / np.sqrt(2)) - t * np.sqrt(2 / np.pi) * np.exp(-t * t / 2)
        assert num == pytest.approx(closed, rel=1e-9)
        assert pt.psi_objective(t, 0.0) == pytest.approx(closed, rel=1e-12)


def test_minimiser_is_a_minimum():
    val, t = pt.minimise_over_tau(pt.psi_objective, pt.psi_stationarity, 0.2)
    grid = np.linspace(0, 5, 5001)
    assert val <= pt.psi_objective(grid, 0.2).min() + 1e-12
    assert abs(t - grid[np.argmin(pt.psi_objective(grid, 0.2))]) < 2e-3


def test_inverse_curve_roundtrip():
    delta = np.array([0.2, 0.5, 0.8])
    r = pt.inverse_curve(delta)
    assert np.allclose(pt.psi(r), delta, atol=1e-10)


def test_two_routes_agree_and_a_dropped_factor_is_rejected():
    delta = np.linspace(0.05, 0.95, 19)
    route1 = pt.inverse_curve(delta) / delta
    assert checks.close(pt.dmm_curve(delta), route1, rtol=1e-8).holds
    # mutation: the factor 2 of 2/delta dropped in the DMM formula
    z = np.linspace(1e-6, 20, 20001)
    tail = (1 + z**2) * 0.5 * erfc(z / np.sqrt(2)) - z * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
    wrong = np.array([((1 - tail / dl) / (1 + z**2 - 2 * tail)).max() for dl in delta])
    assert not checks.close(wrong, route1, rtol=1e-8).holds


def test_basis_pursuit_recovers_and_is_l1_minimal():
    A, x = pt.instance(3, 40, 3, 0)
    assert pt.recovered(A, x, 30)
    A, x = pt.instance(3, 40, 12, 0)
    xh = pt.basis_pursuit(A[:10], A[:10] @ x)            # far below the transition: fails
    assert np.allclose(A[:10] @ xh, A[:10] @ x, atol=1e-7)
    assert np.abs(xh).sum() <= np.abs(x).sum() + 1e-9
    assert not pt.recovered(A, x, 10)


def test_critical_m_matches_a_full_scan():
    d, s = 30, 5
    for trial in range(3):
        A, x = pt.instance(SEED, d, s, trial)
        scan = np.array([pt.recovered(A, x, m) for m in range(1, d + 1)])
        assert np.all(np.diff(scan.astype(int)) >= 0)           # monotone in m
        first = int(np.argmax(scan)) + 1
        assert pt.critical_m(SEED, d, s, trial, guess=d * pt.psi(s / d), step=3) == first
        assert pt.critical_m(SEED, d, s, trial, guess=2, step=1) == first
        assert pt.critical_m(SEED, d, s, trial, guess=d, step=7) == first


@pytest.fixture(scope="module")
def lines():
    """Notebook 07's default-profile lines (same seeds and search)."""
    out = []
    for d in D_LIST:
        for r in RHO_LIST:
            s = max(1, int(round(r * d)))
            m_star = d * float(pt.psi(s / d))
            mc = pt.critical_ms(SEED, d, s, TRIALS, m_star, int(np.ceil(np.sqrt(d) / 2)))
            out.append(dict(d=d, s=s, m_star=m_star, mc=mc, m50=float(np.median(mc))))
    return out


def _location(lines, predicted):
    return checks.below(np.array([abs(L["m50"] - predicted(L)) for L in lines]),
                        np.array([np.sqrt(L["d"]) for L in lines]))


def test_location_holds_and_mutations_rejected(lines):
    assert _location(lines, lambda L: L["m_star"]).holds
    # shrunk constant: 0.8 d psi(s/d)
    assert not _location(lines, lambda L: 0.8 * L["m_star"]).holds
    # the classical 2 s log(d/s) as the location
    assert not _location(lines, lambda L: 2 * L["s"] * np.log(L["d"] / L["s"])).holds


def _width_interval(lines):
    d_arr = np.array(D_LIST, float)
    line_d = np.array([L["d"] for L in lines])
    boot = np.array([pt.transition_summary(pt.bootstrap(L["mc"], N_BOOT, SEED + 17 * k))[1]
                     for k, L in enumerate(lines)])
    pooled_b = np.array([np.exp(np.log(boot[line_d == d]).mean(axis=0)) for d in D_LIST])
    return pt.slope_interval(d_arr, pooled_b / d_arr[:, None])


def test_width_exponent_and_mutations(lines):
    lo, hi = _width_interval(lines)
    assert checks.within(-0.5, lo, hi).holds
    assert not checks.within(0.0, lo, hi).holds      # width not shrinking in m/d (width proportional to d)
    assert not checks.within(-1.0, lo, hi).holds     # constant width in m (O(1) transition)
