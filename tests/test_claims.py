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


def _reg(**kw):
    args = dict(statement="s", bound="1/k", symbols={"k": "steps"}, kind="rate", check=checks.within(0, -1, 1),
                evidence_class="identity", display=False)
    args.update(kw)
    return claims.register("x", **args)


def test_register_refuses_unknown_kinds_and_unparseable_bounds():
    with pytest.raises(ValueError):
        _reg(kind="probably")
    with pytest.raises(sp.SympifyError):
        _reg(bound="1/(k")
    rec = _reg(bound=sp.Symbol("k") ** -2, check=checks.within(3, -1, 1))
    assert rec["verdict"] == "violated" and rec["bound"] == "k**(-2)"
    with pytest.raises(ValueError, match="do not survive sympify"):  # 'I' would come back as sqrt(-1)
        _reg(bound=2 * sp.Symbol("I"), symbols={"I": "input factor"})


def test_register_demands_an_honest_evidence_class():
    wrong = checks.within(5, -1, 1)
    with pytest.raises(ValueError, match="evidence_class"):
        _reg(evidence_class="evidence")
    with pytest.raises(ValueError, match="names the wrong alternatives"):
        _reg(evidence_class="test")                              # a test must name what it rejects
    with pytest.raises(ValueError, match="says why"):
        _reg(evidence_class="untestable")
    with pytest.raises(ValueError, match="expected_reason"):
        _reg(expected="violated")
    rec = _reg(evidence_class="test", rejects={"exponent -2": wrong})
    assert rec["rejects"] == [{"alternative": "exponent -2", "rejected": True, "evidence": wrong.evidence}]
    assert claims.surprises(rec) == []
    blunt = _reg(evidence_class="test", rejects={"exponent -2": checks.within(0, -1, 1)})
    assert claims.surprises(blunt) == ["x: the wrong alternative 'exponent -2' is no longer rejected by the data, "
                                       "so the claim is not a test"]
    assert _reg(evidence_class="untestable", reason="B K = 382 > rank 64: the bound cannot bite")["verdict"] == "untestable"
    late = _reg(expected="violated", expected_reason="a finding written up in the notebook")
    assert claims.surprises(late) == ["x: expected violated, got holds"]


def test_summary_counts_by_evidence_class():
    recs = [_reg(evidence_class="test", rejects={"w": checks.within(5, -1, 1)}), _reg(),
            _reg(evidence_class="untestable", reason="the theory says nothing at this width")]
    for r in recs:
        r["notebook"] = "01_x"
    assert claims.summary(recs) == "1 test: 1 hold · 1 identity: 1 hold · 1 untestable here"


def test_committed_report_is_what_the_committed_notebooks_register(committed):
    assert committed == claims.collect(NBS), "figures/claims.json is stale: run `make figures`"
    md = (FIGURES / "claims.md").read_text()
    assert claims.markdown_table(committed) in md
    assert claims.markdown_table(committed) in README.read_text(), "README claims table is stale"
    assert claims.summary(committed) in README.read_text()


def test_every_notebook_registers_claims_and_every_claim_is_complete(committed):
    assert {c["notebook"] for c in committed} == {p.stem for p in NBS}
    for c in committed:
        assert set(c) >= {"id", "notebook", "statement", "bound", "symbols", "kind", "evidence_class", "verdict",
                          "expected_verdict", "evidence"}
        assert c["kind"] in claims.KINDS and c["evidence_class"] in claims.EVIDENCE_CLASSES
        expr = sp.sympify(c["bound"])
        free = {str(s) for s in (expr.free_symbols if isinstance(expr, sp.Basic) else set())}
        assert free <= set(c["symbols"]), f"{c['id']}: symbols {free - set(c['symbols'])} are not explained"


def test_every_test_rejects_its_wrong_alternatives_and_nothing_surprises(committed):
    for c in committed:
        if c["evidence_class"] == "test":
            assert c.get("rejects"), f"{c['id']} is a test without the wrong alternatives it rejects"
    assert claims.counts(committed)["surprises"] == []


def test_expected_violations_and_untestable_claims_say_why(committed):
    for c in committed:
        if c["expected_verdict"] == "violated":
            assert len(c.get("expected_reason", "")) > 40, f"{c['id']} is expected violated without a reason"
        if c["evidence_class"] == "untestable":
            assert len(c.get("reason", "")) > 40, f"{c['id']} is untestable without the numbers saying why"


def test_readme_explains_every_expected_violation(committed):
    status = README.read_text().split("## Status of the claims", 1)[1].split("\n## ", 1)[0]
    expected = {c["id"] for c in committed if c["expected_verdict"] == "violated"}
    named = {c["id"] for c in committed if f"`{c['id']}`" in status}
    assert expected <= named, f"README's status section does not explain {expected - named}"
