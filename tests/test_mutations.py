"""The mutation helpers: they read the registered bound and change it in exactly one way."""
import numpy as np
import pytest
import sympy as sp
from mutations import drop_factor, evaluate, registered_bound, scale, shift_exponent


def test_the_registered_bound_is_read_back():
    b = registered_bound("01-ista-rate")
    L, R, k = sp.symbols("L R k")
    assert sp.simplify(b - L * R**2 / (2 * k)) == 0


def test_each_mutation_changes_one_thing():
    b = registered_bound("01-ista-rate")
    L, R, k = sp.symbols("L R k")
    assert sp.simplify(shift_exponent(b, "k", 0.5) - L * R**2 / (2 * k**sp.Rational(3, 2))) == 0
    assert sp.simplify(scale(b, 0.5) - L * R**2 / (4 * k)) == 0
    assert sp.simplify(drop_factor(b, "R**2") - L / (2 * k)) == 0
    assert np.allclose(evaluate(b, L=2.0, R=1.0, k=np.array([1.0, 4.0])), [1.0, 0.25])


def test_mistakes_are_refused():
    b = registered_bound("01-ista-rate")
    with pytest.raises(ValueError):
        shift_exponent(b, "m", 1)                # not a symbol of the bound
    with pytest.raises(ValueError):
        evaluate(b, L=1.0, k=2.0)                # R missing
    with pytest.raises(ValueError):
        drop_factor(b, "1")
    with pytest.raises(KeyError):
        registered_bound("01-no-such-claim")
