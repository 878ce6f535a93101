import numpy as np
import pytest

from sparsebounds.harness import checks


def test_below_and_above_detect_a_single_violation():
    bound = np.linspace(1, 2, 50)
    obs = 0.9 * bound
    assert checks.below(obs, bound).holds
    obs[17] = bound[17] * 1.001
    c = checks.below(obs, bound)
    assert not c.holds and c.evidence["violations"] == 1 and c.evidence["at_index"] == 17
    assert checks.above(1.1 * bound, bound).holds
    assert not checks.above(0.999 * bound, bound).holds


def test_close_is_relative_and_strict():
    assert checks.close([1.0, 2.0], [1.0, 2.0 + 1e-13], rtol=1e-12).holds
    assert not checks.close([1.0, 2.0], [1.0, 2.01], rtol=1e-3).holds


def test_within_and_all_of():
    assert checks.within(-1.96, -2.25, -1.75).holds
    assert not checks.within(-1.5, -2.25, -1.75).holds
    both = checks.all_of(checks.within(0, -1, 1), checks.within(5, -1, 1))
    assert not both.holds and [p["holds"] for p in both.evidence["parts"]] == [True, False]


def test_checks_refuse_empty_data_and_bad_logs():
    with pytest.raises(ValueError):
        checks.below([], [])
    with pytest.raises(ValueError):
        checks.asymptotic_rate([1, 2, 3], [1, -1, 2], -1, alternatives=[-2])


# ------------------------------------------------------------------ the asymptotic-rate verdict
N_LEVELS = 4.0 ** np.arange(1, 7)


@pytest.mark.parametrize("d, m", [(1, 2), (2, 2), (4, 2), (2, 1)])
def test_asymptotic_rate_accepts_a_law_with_a_next_order_term_and_rejects_wrong_exponents(d, m):
    p, q = -m / d, 1 / d
    wrong = [-m / (d + 1), -(m + 1) / d]
    E = N_LEVELS ** p * (1 + 0.8 * N_LEVELS ** -q)          # exact law, pre-asymptotic at the first levels
    assert checks.asymptotic_rate(N_LEVELS, E, p, alternatives=wrong, next_order=q).holds
    for w in wrong:
        assert not checks.asymptotic_rate(N_LEVELS, E, w, alternatives=[p], next_order=q).holds
    # a plain bootstrap-free least-squares fit over the range misses the exponent by more than 1 %
    assert abs(checks.loglog_slope(N_LEVELS, E) - p) > 0.01 * abs(p)


def test_asymptotic_rate_with_noisy_replicates_uses_their_standard_error():
    rng = np.random.default_rng(1)
    E = N_LEVELS ** -1.0 * (1 + 0.5 * N_LEVELS ** -0.5) * np.exp(0.05 * rng.standard_normal((8, N_LEVELS.size)))
    c = checks.asymptotic_rate(N_LEVELS, E, -1.0, alternatives=[-2 / 3, -1.5], next_order=0.5)
    assert c.holds and c.evidence["limit_se"] > 0 and c.evidence["replicates"] == 8
    assert not checks.asymptotic_rate(N_LEVELS, E, -2 / 3, alternatives=[-1.0], next_order=0.5).holds


def test_asymptotic_rate_rejects_a_curve_that_stops_converging():
    E = N_LEVELS ** -1.0
    E[-1] *= 1.5                                             # the last level breaks the law
    c = checks.asymptotic_rate(N_LEVELS, E, -1.0, alternatives=[-0.5, -1.5], next_order=0.5)
    assert not c.holds and not c.evidence["limit_ok"] and not c.evidence["convergence_ok"]


def test_asymptotic_rate_refuses_ill_posed_input():
    with pytest.raises(ValueError):
        checks.asymptotic_rate(N_LEVELS[:2], N_LEVELS[:2] ** -1.0, -1.0, alternatives=[-0.5])
    with pytest.raises(ValueError):
        checks.asymptotic_rate(N_LEVELS, N_LEVELS ** -1.0, -1.0, alternatives=[-1.0])
    with pytest.raises(ValueError):                          # Richardson needs geometric levels
        checks.asymptotic_rate(N_LEVELS + np.arange(6), N_LEVELS ** -1.0, -1.0, alternatives=[-0.5], next_order=1)


def test_roundoff_values_are_recorded_as_below_the_floor_without_an_index():
    c = checks.close([1.0, 2.0], [1.0, 2.0 * (1 + 3e-16)], rtol=1e-12)
    assert c.holds and c.evidence["max_relative_error"] == "below 1e-12" and "at_index" not in c.evidence
    c = checks.close([1.0, 2.0], [1.0, 2.01], rtol=1e-3)
    assert c.evidence["at_index"] == 1
