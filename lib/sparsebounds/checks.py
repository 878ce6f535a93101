"""Verdicts that can fail.

Every function returns a :class:`Check`: ``holds`` (bool) and ``evidence`` (plain numbers, JSON-ready)
holding the computed value beside the theoretical one. Checks are pure functions of arrays, so the tests
can feed them the same data with a deliberately wrong bound and assert that they reject it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Check:
    holds: bool
    evidence: dict = field(default_factory=dict)

    def __and__(self, other: "Check") -> "Check":
        return all_of(self, other)


def num(x):
    """A JSON-friendly float (rounded to 6 significant digits so committed outputs stay stable)."""
    x = float(x)
    if not np.isfinite(x):
        return str(x)
    return float(f"{x:.6g}")


def below(observed, bound, *, rtol: float = 1e-9, label: str = "") -> Check:
    """Upper-bound claim: ``observed <= bound * (1 + rtol)`` at every point (rtol only absorbs rounding)."""
    obs, bnd = np.broadcast_arrays(np.asarray(observed, float), np.asarray(bound, float))
    if obs.size == 0:
        raise ValueError("below(): no points to check")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = obs / bnd
    ok = obs <= bnd * (1 + rtol) + np.finfo(float).tiny
    worst = int(np.nanargmax(ratio))
    return Check(bool(ok.all()), {
        "test": "observed <= bound" + (f" ({label})" if label else ""),
        "points": int(obs.size), "violations": int((~ok).sum()),
        "max_ratio_observed_over_bound": num(ratio.flat[worst]),
        "at_index": int(worst), "rtol": rtol})


def above(observed, bound, *, rtol: float = 1e-9, label: str = "") -> Check:
    """Lower-bound claim: ``observed >= bound * (1 - rtol)`` at every point."""
    obs, bnd = np.broadcast_arrays(np.asarray(observed, float), np.asarray(bound, float))
    if obs.size == 0:
        raise ValueError("above(): no points to check")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = obs / bnd
    ok = obs >= bnd * (1 - rtol)
    worst = int(np.nanargmin(ratio))
    return Check(bool(ok.all()), {
        "test": "observed >= bound" + (f" ({label})" if label else ""),
        "points": int(obs.size), "violations": int((~ok).sum()),
        "min_ratio_observed_over_bound": num(ratio.flat[worst]),
        "at_index": int(worst), "rtol": rtol})


def close(observed, expected, *, rtol: float, label: str = "") -> Check:
    """Tight / exact claim: ``|observed - expected| <= rtol * |expected|`` at every point."""
    obs, exp = np.broadcast_arrays(np.asarray(observed, float), np.asarray(expected, float))
    if obs.size == 0:
        raise ValueError("close(): no points to check")
    rel = np.abs(obs - exp) / np.maximum(np.abs(exp), np.finfo(float).tiny)
    worst = int(np.nanargmax(rel))
    return Check(bool((rel <= rtol).all()), {
        "test": "observed == expected" + (f" ({label})" if label else ""),
        "points": int(obs.size), "max_relative_error": num(rel.flat[worst]),
        "at_index": int(worst), "rtol": rtol})


def within(value: float, low: float, high: float, *, label: str = "") -> Check:
    """A scalar inside a stated interval (say in the notebook why that interval)."""
    v = float(value)
    return Check(bool(low <= v <= high), {
        "test": f"{low:g} <= value <= {high:g}" + (f" ({label})" if label else ""),
        "value": num(v), "low": num(low), "high": num(high)})


def loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def slope_ci(x, y, predicted: float, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
             label: str = "") -> Check:
    """Rate claim: the predicted log-log exponent lies in a bootstrap interval of the fitted one.

    ``y`` of shape (n_points,) is resampled over points (pairs); ``y`` of shape (n_seeds, n_points) is
    resampled over seeds (rows), the slope fitted to the mean of log y over the drawn rows.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("slope_ci(): x and y must be positive for a log-log fit")
    rng = np.random.default_rng(seed)
    lx, ly = np.log(x), np.log(y)
    if ly.ndim == 1:
        fitted = np.polyfit(lx, ly, 1)[0]
        idx = rng.integers(0, lx.size, size=(n_boot, lx.size))
        bx, by = lx[idx], ly[idx]
    else:
        fitted = np.polyfit(lx, ly.mean(axis=0), 1)[0]
        rows = rng.integers(0, ly.shape[0], size=(n_boot, ly.shape[0]))
        by = ly[rows].mean(axis=1)
        bx = np.broadcast_to(lx, by.shape)
    bxm = bx - bx.mean(axis=1, keepdims=True)
    denom = (bxm ** 2).sum(axis=1)
    good = denom > 0
    slopes = (bxm * (by - by.mean(axis=1, keepdims=True))).sum(axis=1)[good] / denom[good]
    lo, hi = np.quantile(slopes, [(1 - level) / 2, (1 + level) / 2])
    return Check(bool(lo <= predicted <= hi), {
        "test": f"predicted slope in {int(level * 100)}% bootstrap interval" + (f" ({label})" if label else ""),
        "fitted_slope": num(fitted), "ci_low": num(lo), "ci_high": num(hi),
        "predicted_slope": num(predicted), "n_boot": n_boot})


def all_of(*checks: Check) -> Check:
    """Holds when every part holds; evidence keeps each part's."""
    parts = []
    for c in checks:
        if set(c.evidence) == {"parts"}:
            parts.extend(c.evidence["parts"])
        else:
            parts.append({**c.evidence, "holds": c.holds})
    return Check(all(c.holds for c in checks), {"parts": parts})
