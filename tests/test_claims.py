"""The claims report: registered correctly, parseable, in sync with the committed notebooks and README."""
import json

import pytest
import sympy as sp

from sparsebounds import checks, claims
from sparsebounds.runner import FIGURES, NOTEBOOKS, README

NBS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def committed():
    path = FIGURES / "claims.json"
    assert path.exists(), "figures/claims.json is missing: run `make figures`"
    return json.loads(path.read_text())["claims"]


def test_register_refuses_unknown_kinds_and_unparseable_bounds():
    ok = checks.within(0, -1, 1)
    with pytest.raises(ValueError):
        claims.register("x", statement="s", bound="1/k", symbols={}, kind="probably", check=ok, display=False)
    with pytest.raises(sp.SympifyError):
        claims.register("x", statement="s", bound="1/(k", symbols={}, kind="rate", check=ok, display=False)
    rec = claims.register("x", statement="s", bound=sp.Symbol("k") ** -2, symbols={"k": "steps"},
                          kind="rate", check=checks.within(3, -1, 1), display=False)
    assert rec["verdict"] == "violated" and rec["bound"] == "k**(-2)"
    with pytest.raises(ValueError, match="do not survive sympify"):  # 'I' would come back as sqrt(-1)
        claims.register("x", statement="s", bound=2 * sp.Symbol("I"), symbols={"I": "input factor"},
                        kind="rate", check=ok, display=False)


def test_committed_report_is_what_the_committed_notebooks_register(committed):
    assert committed == claims.collect(NBS), "figures/claims.json is stale: run `make figures`"
    md = (FIGURES / "claims.md").read_text()
    assert claims.markdown_table(committed) in md
    assert claims.markdown_table(committed) in README.read_text(), "README claims table is stale"


def test_every_notebook_registers_claims_and_every_claim_is_complete(committed):
    assert {c["notebook"] for c in committed} == {p.stem for p in NBS}
    for c in committed:
        assert set(c) >= {"id", "notebook", "statement", "bound", "symbols", "kind", "verdict", "evidence"}
        assert c["kind"] in claims.KINDS and c["verdict"] in ("holds", "violated")
        expr = sp.sympify(c["bound"])
        free = {str(s) for s in (expr.free_symbols if isinstance(expr, sp.Basic) else set())}
        assert free <= set(c["symbols"]), f"{c['id']}: symbols {free - set(c['symbols'])} are not explained"


def test_violated_claims_carry_an_explanation(committed):
    for c in committed:
        if c["verdict"] == "violated":
            assert len(c.get("note", "")) > 40, f"{c['id']} is violated without a note saying why"


def test_readme_explains_exactly_the_violated_claims(committed):
    status = README.read_text().split("## Status of the claims", 1)[1].split("\n## ", 1)[0]
    violated = {c["id"] for c in committed if c["verdict"] == "violated"}
    named = {c["id"] for c in committed if f"`{c['id']}`" in status}
    assert violated <= named, f"README's status section does not explain {violated - named}"
