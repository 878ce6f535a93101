"""Verdicts that can fail.

Every function returns a :class:`Check`: ``holds`` (bool) and ``evidence`` (plain numbers, JSON-ready)
holding the computed value beside the theoretical one. Checks are pure functions of arrays, so the tests
can feed them the same data with a deliberately wrong bound and assert that they reject it.

Numbers in the evidence carry 6 significant digits, and values below :data:`ROUNDOFF` (what double
precision can resolve on an O(1) scale) are recorded as the string ``"below 1e-12"``: round-off differs
from machine to machine and is not a result.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ROUNDOFF = 1e-12


@dataclass(frozen=True)
class Check:
    holds: bool
    evidence: dict = field(default_factory=dict)

    def __and__(self, other: "Check") -> "Check":
        return all_of(self, other)


def num(x, *, floor: float | None = None):
    """A JSON-friendly float rounded to 6 significant digits; with ``floor``, magnitudes below it become
    the string ``"below <floor>"`` (use it for quantities that are round-off when the claim holds)."""
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    if floor is not None and abs(x) < floor:
        return f"below {floor:g}"
    return float(f"{x:.6g}")


def roundoff(x: float, floor: float = ROUNDOFF, fmt: str = ".2g") -> str:
    """Format a quantity that is round-off when the claim holds: 'below 1e-12' rather than '2.7e-16' (the
    digits of round-off differ from machine to machine and mean nothing)."""
    x = float(x)
    return f"below {floor:g}" if abs(x) < floor else format(x, fmt)


def _worst(values, pick, floor: float | None):
    """(value, index) of the worst point, the index dropped when the value is at round-off (arbitrary)."""
    i = int(pick(values))
    v = values.flat[i]
    if floor is not None and np.isfinite(v) and abs(v) < floor:
        return num(v, floor=floor), {}
    return num(v), {"at_index": i}


def _one_sided(observed, bound, rtol: float, label: str, upper: bool) -> Check:
    """``below`` (``upper``) or ``above``: the comparison at every point, the worst ratio as evidence."""
    obs, bnd = np.broadcast_arrays(np.asarray(observed, float), np.asarray(bound, float))
    if obs.size == 0:
        raise ValueError(f"{'below' if upper else 'above'}(): no points to check")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = obs / bnd
    if upper:
        ok = obs <= bnd * (1 + rtol) + np.finfo(float).tiny
        (worst, where), key, relation = _worst(ratio, np.nanargmax, ROUNDOFF), "max_ratio_observed_over_bound", "<="
    else:
        ok = obs >= bnd * (1 - rtol)
        (worst, where), key, relation = _worst(ratio, np.nanargmin, None), "min_ratio_observed_over_bound", ">="
    return Check(bool(ok.all()), {
        "test": f"observed {relation} bound" + (f" ({label})" if label else ""),
        "points": int(obs.size), "violations": int((~ok).sum()), key: worst, **where, "rtol": rtol})


def below(observed, bound, *, rtol: float = 1e-9, label: str = "") -> Check:
    """Upper-bound claim: ``observed <= bound * (1 + rtol)`` at every point (rtol only absorbs rounding)."""
    return _one_sided(observed, bound, rtol, label, upper=True)


def above(observed, bound, *, rtol: float = 1e-9, label: str = "") -> Check:
    """Lower-bound claim: ``observed >= bound * (1 - rtol)`` at every point."""
    return _one_sided(observed, bound, rtol, label, upper=False)


def close(observed, expected, *, rtol: float, label: str = "") -> Check:
    """Tight / exact claim: ``|observed - expected| <= rtol * |expected|`` at every point.

    A largest relative error below ``ROUNDOFF`` is recorded as ``"below 1e-12"``."""
    obs, exp = np.broadcast_arrays(np.asarray(observed, float), np.asarray(expected, float))
    if obs.size == 0:
        raise ValueError("close(): no points to check")
    rel = np.abs(obs - exp) / np.maximum(np.abs(exp), np.finfo(float).tiny)
    worst, where = _worst(rel, np.nanargmax, ROUNDOFF)
    return Check(bool((rel <= rtol).all()), {
        "test": "observed == expected" + (f" ({label})" if label else ""),
        "points": int(obs.size), "max_relative_error": worst, **where, "rtol": rtol})


def within(value: float, low: float, high: float, *, label: str = "") -> Check:
    """A scalar inside a stated interval (say in the notebook why that interval)."""
    v = float(value)
    return Check(bool(low <= v <= high), {
        "test": f"{low:g} <= value <= {high:g}" + (f" ({label})" if label else ""),
        "value": num(v), "low": num(low), "high": num(high)})


def equal(observed, expected, *, label: str = "") -> Check:
    """Exact claim (counts, integer coefficients, exact arithmetic): ``observed == expected`` at every point."""
    obs, exp = np.broadcast_arrays(np.asarray(observed, float), np.asarray(expected, float))
    if obs.size == 0:
        raise ValueError("equal(): no points to check")
    bad = np.flatnonzero(obs.ravel() != exp.ravel())
    where = {"first_mismatch": {"at_index": int(bad[0]), "observed": num(obs.flat[bad[0]]),
                                "expected": num(exp.flat[bad[0]])}} if bad.size else {}
    return Check(bool(bad.size == 0), {
        "test": "observed == expected exactly" + (f" ({label})" if label else ""),
        "points": int(obs.size), "mismatches": int(bad.size), **where})


def zero(observed, *, atol: float = ROUNDOFF, label: str = "") -> Check:
    """A quantity that vanishes when the claim holds: ``|observed| <= atol`` at every point (``atol``: what
    the arithmetic resolves; say why another value)."""
    obs = np.abs(np.asarray(observed, float))
    if obs.size == 0:
        raise ValueError("zero(): no points to check")
    worst, where = _worst(obs, np.nanargmax, atol)
    return Check(bool((obs <= atol).all()), {
        "test": f"|observed| <= {atol:g}" + (f" ({label})" if label else ""),
        "points": int(obs.size), "max_abs": worst, **where})


def positive(observed, *, label: str = "") -> Check:
    """A strict sign claim: ``observed > 0`` at every point."""
    obs = np.asarray(observed, float)
    if obs.size == 0:
        raise ValueError("positive(): no points to check")
    worst, where = _worst(obs, np.nanargmin, None)
    return Check(bool((obs > 0).all()), {
        "test": "observed > 0" + (f" ({label})" if label else ""),
        "points": int(obs.size), "violations": int((~(obs > 0)).sum()), "min": worst, **where})


def negative(observed, *, label: str = "") -> Check:
    """A strict sign claim: ``observed < 0`` at every point."""
    obs = np.asarray(observed, float)
    if obs.size == 0:
        raise ValueError("negative(): no points to check")
    worst, where = _worst(obs, np.nanargmax, None)
    return Check(bool((obs < 0).all()), {
        "test": "observed < 0" + (f" ({label})" if label else ""),
        "points": int(obs.size), "violations": int((~(obs < 0)).sum()), "max": worst, **where})


def loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def local_slopes(x, y) -> np.ndarray:
    """Slopes of log y against log x between successive levels: (..., J) -> (..., J - 1)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return np.diff(ly, axis=-1) / np.diff(lx)


def _rate_statistics(lx, ly, predicted: float, next_order: float | None):
    """For curves ly(lx) (mean log error per level, shape (..., J): one curve or a stack of bootstrap curves):
    local slopes, the extrapolated limit of the slope, and the held-out prediction of the last level with the
    exponent fixed at ``predicted``. Each is linear in the curve, so a stack costs one product."""
    ly = np.asarray(ly, float)
    s = np.diff(ly, axis=-1) / np.diff(lx)
    if next_order is None:
        xc = lx - lx.mean()
        limit = ly @ xc / (xc @ xc)                   # the least-squares slope (np.polyfit's) over the whole range
        r = 1.0                                       # the power law is taken to hold over the whole range
    else:
        r = float(np.exp(-next_order * (lx[-1] - lx[-2])))   # deviations shrink by r per level
        limit = s[..., -1] + (s[..., -1] - s[..., -2]) * r / (1 - r)   # Richardson: s_j = s_inf + c r^j
    # out of sample: fit log E = a + p log N (+ b N^-q) on all but the last level, predict the last one
    cols = [np.ones_like(lx[:-1])] + ([np.exp(-next_order * lx[:-1])] if next_order is not None else [])
    fit = np.linalg.pinv(np.stack(cols, 1))           # least squares: coef = fit @ (ly[:-1] - p lx[:-1])
    last = np.array([1.0] + ([np.exp(-next_order * lx[-1])] if next_order is not None else []))
    pred_last = predicted * lx[-1] + (ly[..., :-1] - predicted * lx[:-1]) @ (fit.T @ last)
    return s, limit, r, pred_last


def asymptotic_rate(sizes, errors, predicted: float, *, alternatives, next_order: float | None = None,
                    n_boot: int = 1000, seed: int = 0, label: str = "") -> Check:
    """Rate claim ``E ~ C N^p`` as N grows, tested the way an asymptotic statement can be tested on a finite
    sequence of levels ``sizes`` (increasing; geometric when ``next_order`` is given).

    ``errors``: (J,) or (R, J) — R replicates (targets, seeds, data sets); the curve is the mean of log E.
    ``alternatives``: the plausible wrong exponents. The tolerance is fixed by the theory alone:
    tau = 1/4 of the distance from ``predicted`` to the nearest alternative, widened only by twice the
    bootstrap standard error (over replicates) of the estimate. ``next_order`` q: the predicted order of
    the next term, E = C N^p (1 + b N^-q + ...), so that local slopes approach p with deviations shrinking
    by r = (N_{j+1}/N_j)^-q per level (None: the law is taken to hold over the range, no extrapolation).

    Holds when all three hold:
    1. limit: the extrapolated slope (Richardson on the last two local slopes; the least-squares slope when
       ``next_order`` is None) is within tau + 2 se of p;
    2. convergence: each local slope's deviation from p is at most 2r times the previous one (r = 1 when
       ``next_order`` is None), up to noise (2 se, plus tau/4: slopes already that close count as arrived);
    3. out of sample: with p fixed, a fit on all levels but the last predicts the last level's log error
       closer to the observation than half the distance to the prediction made with the nearest alternative.
    """
    N = np.asarray(sizes, float)
    E = np.asarray(errors, float)
    if E.ndim == 1:
        E = E[None, :]
    if N.ndim != 1 or E.shape[1] != N.size or N.size < 3:
        raise ValueError("asymptotic_rate(): need sizes (J,) and errors (J,) or (R, J) with J >= 3 levels")
    if np.any(N <= 0) or np.any(E <= 0) or np.any(np.diff(N) <= 0):
        raise ValueError("asymptotic_rate(): sizes must be positive and increasing, errors positive")
    if next_order is not None and not np.allclose(np.diff(np.log(N)), np.log(N[1] / N[0]), rtol=1e-6):
        raise ValueError("asymptotic_rate(): levels must be geometric when next_order is given")
    alts = [float(a) for a in alternatives]
    if not alts or any(np.isclose(a, predicted) for a in alts):
        raise ValueError("asymptotic_rate(): give the wrong alternatives, none equal to the prediction")
    nearest = min(alts, key=lambda a: abs(a - predicted))
    tau = abs(nearest - predicted) / 4

    lx, LY = np.log(N), np.log(E)
    s, limit, r, pred = _rate_statistics(lx, LY.mean(0), predicted, next_order)
    limit, pred = float(limit), float(pred)
    pred_alt = float(_rate_statistics(lx, LY.mean(0), nearest, next_order)[3])
    # bootstrap over replicates: standard errors of the limit and of the local slopes
    if E.shape[0] > 1:
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, E.shape[0], size=(n_boot, E.shape[0]))
        b_s, b_limit, _, b_pred = _rate_statistics(lx, LY[rows].mean(1), predicted, next_order)  # all at once
        se_limit = float(np.std(b_limit, ddof=1))
        se_s = np.std(b_s, axis=0, ddof=1)
        se_pred = float(np.std(b_pred, ddof=1))
    else:
        se_limit, se_s, se_pred = 0.0, np.zeros_like(s), 0.0

    limit_ok = abs(limit - predicted) <= tau + 2 * se_limit
    dev = s - predicted
    shrink = 2 * r
    noise = 2 * np.hypot(se_s[1:], se_s[:-1]) + tau / 4
    conv_ok = bool(np.all(np.abs(dev[1:]) <= shrink * np.abs(dev[:-1]) + noise))
    obs_last = float(LY[:, -1].mean())
    band = abs(pred - pred_alt) / 2
    pred_ok = abs(obs_last - pred) <= band + 2 * se_pred
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = dev[1:] / dev[:-1]
    return Check(bool(limit_ok and conv_ok and pred_ok), {
        "test": "asymptotic exponent: extrapolated limit, shrinking local-slope deviations, held-out level"
                + (f" ({label})" if label else ""),
        "predicted_slope": num(predicted), "nearest_alternative": num(nearest), "tolerance": num(tau),
        "local_slopes": [num(v) for v in s],
        "deviation_ratios": [num(v) for v in ratios],
        "predicted_ratio": num(r) if next_order is not None else "none (law taken to hold over the range)",
        "limit": num(limit), "limit_se": num(se_limit),
        "limit_ok": bool(limit_ok), "convergence_ok": conv_ok,
        "held_out_log_error": num(obs_last - pred), "held_out_band": num(band + 2 * se_pred),
        "held_out_ok": bool(pred_ok), "replicates": int(E.shape[0])})


def all_of(*checks: Check) -> Check:
    """Holds when every part holds; evidence keeps each part's."""
    parts = []
    for c in checks:
        if set(c.evidence) == {"parts"}:
            parts.extend(c.evidence["parts"])
        else:
            parts.append({**c.evidence, "holds": c.holds})
    return Check(all(c.holds for c in checks), {"parts": parts})
