"""Wrong claims built from the registered bound, never retyped.

A mutation test reads the bound a notebook registered (its SymPy expression, written with ``sp.sstr`` into
the claim record of ``figures/claims.json``), makes it wrong in one of the plausible ways (a constant scaled,
an exponent shifted, a factor dropped), and checks that the notebook's own check rejects it on the notebook's
own data. If the notebook's derivation changes, the mutations follow it.

    bound = registered_bound("01-ista-rate")                 # L*R**2/(2*k)
    wrong = shift_exponent(bound, "k", 0.5)                  # L*R**2/(2*k**1.5)
    checks.below(gaps, evaluate(wrong, L=L, R=R, k=k))       # must not hold
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import sympy as sp

CLAIMS = Path(__file__).resolve().parents[1] / "figures" / "claims.json"


@cache
def _records() -> dict:
    return {c["id"]: c for c in json.loads(CLAIMS.read_text())["claims"]}


def record(claim_id: str) -> dict:
    """The committed claim record (what the notebook registered on its default run)."""
    try:
        return _records()[claim_id]
    except KeyError:
        raise KeyError(f"{claim_id!r} is not in {CLAIMS.name}: run `make figures`") from None


def registered_bound(claim_id: str) -> sp.Expr:
    """The claim's bound as a SymPy expression (free symbols named as in the record's ``symbols``)."""
    rec = record(claim_id)
    expr = sp.sympify(rec["bound"], locals={name: sp.Symbol(name) for name in rec["symbols"]})
    if isinstance(expr, sp.core.relational.Relational):
        raise TypeError(f"{claim_id}: the bound is a relation ({rec['bound']}); mutate one side of it")
    return expr


def _symbol(expr: sp.Expr, name: str) -> sp.Symbol:
    found = [s for s in expr.free_symbols if s.name == name]
    if not found:
        raise ValueError(f"{name!r} is not a symbol of {expr}")
    return found[0]


def scale(expr: sp.Expr, factor) -> sp.Expr:
    """The constant scaled: ``factor * bound`` (e.g. 1/2 for "a constant half as large")."""
    return sp.nsimplify(factor) * expr


def shift_exponent(expr: sp.Expr, name: str, by) -> sp.Expr:
    """The decay in ``name`` made faster by ``by``: ``bound / name**by`` (``by`` < 0 makes it slower)."""
    return expr / _symbol(expr, name) ** sp.nsimplify(by)


def drop_factor(expr: sp.Expr, factor: str | sp.Expr) -> sp.Expr:
    """The bound without one of its factors: ``bound / factor`` (e.g. a dropped log, a dropped sqrt(s))."""
    f = sp.sympify(factor, locals={s.name: s for s in expr.free_symbols})
    quotient = sp.simplify(expr / f)
    if sp.simplify(quotient - expr) == 0:
        raise ValueError(f"dropping {factor} leaves {expr} unchanged")
    return quotient


def evaluate(expr: sp.Expr, **values) -> np.ndarray:
    """The expression at numpy ``values`` (one keyword per free symbol, broadcast together)."""
    missing = {s.name for s in expr.free_symbols} - set(values)
    if missing:
        raise ValueError(f"give a value for {sorted(missing)} to evaluate {expr}")
    names = sorted(values)
    f = sp.lambdify([sp.Symbol(n) for n in names], expr.subs({s: sp.Symbol(s.name) for s in expr.free_symbols}),
                    "numpy")
    return np.asarray(f(*[np.asarray(values[n], float) for n in names]), float)
