import numpy as np
import pytest

from sparsebounds import checks


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


def test_slope_ci_accepts_the_true_exponent_and_rejects_a_shifted_one():
    rng = np.random.default_rng(0)
    x = np.geomspace(10, 1000, 12)
    y = x ** -1.0 * np.exp(0.1 * rng.standard_normal((20, x.size)))  # 20 seeds of a noisy power law
    assert checks.slope_ci(x, y, -1.0).holds
    assert not checks.slope_ci(x, y, -1.5).holds
    assert not checks.slope_ci(x, y, -0.5).holds
    c = checks.slope_ci(x, y[0], -1.0)  # 1-D: bootstrap over points
    assert c.evidence["ci_low"] < c.evidence["fitted_slope"] < c.evidence["ci_high"]


def test_checks_refuse_empty_data_and_bad_logs():
    with pytest.raises(ValueError):
        checks.below([], [])
    with pytest.raises(ValueError):
        checks.slope_ci([1, 2, 3], [1, -1, 2], -1)
