"""Gaussian designs and s-sparse signals, drawn from named streams.

The one home of the "Gaussian design + s-sparse signal" instances of notebooks 01 (:mod:`proximal`), 06
(:mod:`iht`) and 07 (:mod:`phase_transition`). Every function takes the generator it draws from (a
:func:`sparsebounds.seeds.rng` stream, or anything ``np.random.default_rng`` takes) and makes exactly the calls
documented, in that order, so that an instance is a function of its stream.

Signal values by ``kind``: ``"gauss"`` N(0, 1), ``"sign"`` ±1 (equally likely), ``"decay"`` random signs
times magnitudes 1, 10^-1/2, 10^-1, ... (hard for support detection).

Not here: notebook 05's design (:func:`sparsebounds.lasso_error.design`) is drawn in 64 × 64 blocks, each from
its own stream, so that it is nested in n and in p along a sweep, with optionally equicorrelated support
columns normalised to norm √n, and a support fixed to the first s columns: a different instance, kept beside
the sweeps that need its nesting.
"""
from __future__ import annotations

import numpy as np

KINDS = ("gauss", "sign", "decay")
VARIANCES = ("1/n", "1")


def gaussian_design(rng, n: int, d: int, *, variance: str = "1/n") -> np.ndarray:
    """(n, d) i.i.d. Gaussian entries, N(0, 1/n) (``variance="1/n"``: columns of expected squared norm 1) or
    N(0, 1) (``variance="1"``). One call ``rng.standard_normal((n, d))``."""
    if variance not in VARIANCES:
        raise ValueError(f"variance {variance!r} not in {VARIANCES}")
    A = np.random.default_rng(rng).standard_normal((n, d))
    return A / np.sqrt(n) if variance == "1/n" else A


def gaussian_designs(rngs, n: int, d: int, *, variance: str = "1/n") -> np.ndarray:
    """A batch (len(rngs), n, d) of :func:`gaussian_design`, one generator per matrix."""
    return np.array([gaussian_design(rng, n, d, variance=variance) for rng in rngs])


def _check(d: int, s: int, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}, not in {KINDS}")
    if not 1 <= s <= d:
        raise ValueError(f"need 1 <= s <= d, got s={s}, d={d}")


def _values(rng, kind: str, shape: tuple) -> np.ndarray:
    """The nonzero values of signals of ``kind`` (:data:`KINDS`), the last axis of ``shape`` the s of one signal."""
    if kind == "gauss":
        return rng.standard_normal(shape)
    signs = rng.choice([-1.0, 1.0], shape)
    return signs if kind == "sign" else signs * 10.0 ** (-0.5 * np.arange(shape[-1]))


def sparse_signal(rng, d: int, s: int, *, kind: str = "gauss") -> np.ndarray:
    """One s-sparse x (d,) on a uniform random support. Draws the s values first (by ``kind``), then the support
    ``rng.choice(d, s, replace=False)`` (the order of ``x[rng.choice(d, s, replace=False)] = values(s)``, whose
    right-hand side Python evaluates first)."""
    _check(d, s, kind)
    rng = np.random.default_rng(rng)
    vals = _values(rng, kind, (s,))
    x = np.zeros(d)
    x[rng.choice(d, s, replace=False)] = vals
    return x


def sparse_signals(rng, B: int, R: int, d: int, s: int, *, kind: str = "gauss") -> np.ndarray:
    """(B, R) s-sparse signals (B, R, d) on uniform random supports: the supports first (the s smallest of
    ``rng.random((B, R, d))`` per signal, by argsort), then the values, ``(B, R, s)`` at once, by ``kind``."""
    _check(d, s, kind)
    rng = np.random.default_rng(rng)
    x = np.zeros((B, R, d))
    supp = np.argsort(rng.random((B, R, d)), axis=-1)[..., :s]
    np.put_along_axis(x, supp, _values(rng, kind, (B, R, s)), axis=-1)
    return x
