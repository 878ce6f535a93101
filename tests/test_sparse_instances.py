"""sparsebounds.sparse_instances: the Gaussian designs and s-sparse signals of notebooks 01, 06 and 07.

The expected arrays are written out by hand from the generator calls each notebook's instances were first drawn
with, so a change of a call, of its order or of its stream fails here (and would move the notebooks' numbers).
"""
import numpy as np
import pytest

from sparsebounds import phase_transition as pt
from sparsebounds import proximal, seeds
from sparsebounds import sparse_instances as si


def test_single_signal_is_the_hand_written_draw():
    """Values first, then the support: ``x[rng.choice(d, s, replace=False)] = values`` evaluates its right side first
    (Python evaluates an assignment's value before its target)."""
    for kind, values in (("gauss", lambda r: r.standard_normal(5)), ("sign", lambda r: r.choice([-1.0, 1.0], 5))):
        rng = np.random.default_rng(7)
        want = np.zeros(30)
        want[rng.choice(30, 5, replace=False)] = values(rng)
        got = si.sparse_signal(np.random.default_rng(7), 30, 5, kind=kind)
        assert np.array_equal(got, want)
        assert np.count_nonzero(got) == 5
    rng = np.random.default_rng(7)
    values = rng.choice([-1.0, 1.0], 4) * 10.0 ** (-0.5 * np.arange(4))
    want = np.zeros(12)
    want[rng.choice(12, 4, replace=False)] = values
    assert np.array_equal(si.sparse_signal(np.random.default_rng(7), 12, 4, kind="decay"), want)


def test_batched_signals_are_the_hand_written_draw():
    rng = np.random.default_rng(3)
    supp = np.argsort(rng.random((2, 3, 20)), axis=-1)[..., :4]
    want = np.zeros((2, 3, 20))
    np.put_along_axis(want, supp, rng.standard_normal((2, 3, 4)), axis=-1)
    got = si.sparse_signals(np.random.default_rng(3), 2, 3, 20, 4)
    assert np.array_equal(got, want)
    assert np.all(np.count_nonzero(si.sparse_signals(5, 4, 6, 20, 7, kind="sign"), axis=-1) == 7)
    decay = si.sparse_signals(5, 1, 50, 20, 3, kind="decay")
    mags = np.sort(np.abs(decay[decay != 0]).reshape(50, 3), axis=1)
    assert np.allclose(mags, [0.1, 10 ** -0.5, 1.0])


def test_call_sites_draw_what_they_drew_before():
    """Notebook 07's instance and notebook 01's Lasso instance, against their original inline draws."""
    rng = seeds.rng(5, pt.DIAGRAM, 40, 7, 2)
    A_want = rng.standard_normal((40, 40))
    x_want = np.zeros(40)
    x_want[rng.choice(40, 7, replace=False)] = rng.standard_normal(7)
    A, x = pt.instance(5, 40, 7, 2, pt.DIAGRAM)
    assert np.array_equal(A, A_want) and np.array_equal(x, x_want)

    design, signal, noise = seeds.streams(2, "design", "signal", "noise", keys=(1,))
    a = design.standard_normal((30, 50)) / np.sqrt(30)
    t = np.zeros(50)
    t[signal.choice(50, 5, replace=False)] = signal.choice([-1.0, 1.0], 5)
    A, b, X = proximal.lasso_instances([1], 30, 50, 5, seed=2)
    assert np.array_equal(A[0], a) and np.array_equal(X[0], t)
    assert np.array_equal(b[0], a @ t + 0.01 * noise.standard_normal(30))


def test_design_scaling():
    A = si.gaussian_designs([1, 2, 3, 4], 400, 300)
    assert A.shape == (4, 400, 300)
    assert np.mean(A ** 2) * 400 == pytest.approx(1.0, abs=0.01)            # entries N(0, 1/n): 480,000 of them
    assert np.mean((A ** 2).sum(axis=1)) == pytest.approx(1.0, abs=0.01)    # columns of mean squared norm 1
    raw = si.gaussian_design(1, 400, 300, variance="1")
    assert np.array_equal(raw / np.sqrt(400), A[0])
    assert np.var(raw) == pytest.approx(1.0, abs=0.02)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="kind"):
        si.sparse_signal(0, 10, 3, kind="uniform")
    with pytest.raises(ValueError, match="kind"):
        si.sparse_signals(0, 1, 1, 10, 3, kind="gaussian")
    with pytest.raises(ValueError):
        si.sparse_signal(0, 5, 6)
    with pytest.raises(ValueError):
        si.sparse_signals(0, 1, 1, 5, 0)
    with pytest.raises(ValueError, match="variance"):
        si.gaussian_design(0, 4, 4, variance="1/d")
