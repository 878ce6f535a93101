"""The claims report: registered correctly, parseable, in sync with the committed notebooks and README."""
import json

import pytest
import sympy as sp

from sparsebounds.harness import checks, claims
from sparsebounds.harness.runner import FIGURES, NOTEBOOKS, README

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
    return claims.register("99-x", **args)


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
    assert claims.surprises(blunt) == ["99-x: the wrong alternative 'exponent -2' is no longer rejected by the data, "
                                       "so the claim is not a test"]
    untestable = _reg(evidence_class="untestable", reason="B K = 382 > rank 64: the bound cannot bite")
    assert untestable["verdict"] == "untestable"
    late = _reg(expected="violated", expected_reason="a finding written up in the notebook")
    assert claims.surprises(late) == ["99-x: expected violated, got holds"]


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


# Every `test` claim and the test in tests/ that runs the notebook's experiment and rejects its wrong
# alternatives again (the mutation test). A new test claim without an entry here fails the next test.
MUTATION_TESTS = {
    "01-ista-rate": "test_proximal.py::test_upper_bounds_with_exponent_raised_by_half_are_rejected",
    "01-fista-rate": "test_proximal.py::test_shrunk_constants_are_rejected_where_the_hard_instance_attains_them",
    "01-fista-exponent": "test_proximal.py::test_fista_exponent_check_rejects_shifted_exponents",
    "02-p1-interpolation-rate": "test_approximation.py::test_nb02_rate_holds_and_wrong_exponents_are_rejected",
    "03-propagation-bound": "test_approximation.py::test_nb03_bound_holds_and_dropping_lipschitz_factors_breaks_it",
    "03-deep-rate-per-node": "test_approximation.py::test_nb03_rate_per_node_holds_and_wrong_exponents_are_rejected",
    "03-deep-rate-d-independent":
        "test_approximation.py::test_nb03_rate_is_independent_of_d_and_the_curse_alternative_is_rejected",
    "03-deep-beats-shallow-trained": "test_approximation.py::test_nb03_deep_beats_shallow_at_d8_rejects_no_advantage",
    "03-advantage-needs-matching-graph":
        "test_approximation.py::test_nb03_matching_graph_rejects_depth_helps_regardless",
    "04-rademacher-l1-massart": "test_rademacher.py::test_massart_mutations_are_rejected",
    "04-rademacher-l1-tight": "test_rademacher.py::test_l1_tightness_against_the_exact_ratio_and_its_mutations",
    "04-rademacher-l2-bound": "test_rademacher.py::test_l2_bound_holds_and_its_mutations_are_rejected",
    "04-rademacher-l1-rate": "test_rademacher.py::test_l1_rate_accepts_one_half_and_rejects_wrong_exponents_at_every_d",
    "04-sparse-bound-tracks-gap":
        "test_generalization.py::test_sparse_bound_tracks_the_gap_and_the_dense_alternative_is_rejected",
    "05-lasso-noise-tail": "test_lasso_error.py::test_noise_tail_and_its_mutations",
    "05-lasso-l2-error-bound": "test_lasso_error.py::test_error_bound_holds_and_kappa_is_needed",
    "05-lasso-rate-in-n": "test_lasso_error.py::test_rate_in_n_and_mutations",
    "05-lasso-rate-in-s": "test_lasso_error.py::test_rate_in_s_and_mutations",
    "05-lasso-error-collapse": "test_lasso_error.py::test_collapse_and_mutations",
    "06-iht-step-contraction-golden": "test_iht.py::test_mutation_dropped_factor_rejected",
    "06-iht-noise-floor": "test_iht.py::test_noise_floor_and_mutation",
    "07-l1-transition-location": "test_phase_transition.py::test_location_holds_and_mutations_rejected",
    "07-l1-transition-width-constant": "test_phase_transition.py::test_width_constant_holds_and_mutations_rejected",
    "08-adder-exact": "test_circuits.py::test_mutation_compiler_dropping_any_gate_rejected",
    "08-shallow-adder-6n": "test_circuits.py::test_mutation_wrong_shallow_constructions_rejected",
    "08-top-mobius-coefficients": "test_circuits.py::test_mutation_wrong_top_coefficient_rejected",
    "08-shallow-fan-in": "test_circuits.py::test_notebook_fan_in_claim_and_mutations",
    "08-parity-shallow": "test_circuits.py::test_mutation_parity_coefficients_one_rejected",
    "09-rank-falls-with-decay": "test_lowrank.py::test_rank_falls_with_decay_and_rejects_the_opposite",
    "09-gd-rank-falls-with-decay": "test_lowrank.py::test_gradient_descent_control_collapses_and_rejects_needing_noise",
    "09-rank-falls-with-step": "test_lowrank.py::test_rank_falls_with_step_and_rejects_the_opposite",
    "09-no-collapse-without-decay": "test_lowrank.py::test_no_collapse_without_decay_and_the_check_sees_a_collapse",
    "09-rank-rises-with-batch-where-bound-bites": "test_lowrank.py::test_wide_rejects_rank_of_the_order_of_the_bound",
    "10-gram-closed-form": "test_overparam.py::test_gram_closed_form_and_wrong_kernels",
    "10-rate-bound": "test_overparam.py::test_rate_bound_holds_and_faster_rates_are_rejected",
    "10-movement-rate": "test_overparam.py::test_movement_exponent",
    "10-fine-grained-trajectory": "test_overparam.py::test_trajectory_prediction_and_wrong_predictions",
    "10-structured-faster": "test_overparam.py::test_structured_labels_train_faster_than_random",
}


def test_every_test_claim_has_a_mutation_test(committed):
    from pathlib import Path
    tests = Path(__file__).parent
    for c in committed:
        if c["evidence_class"] == "test":
            assert c["id"] in MUTATION_TESTS, f"{c['id']} is a test: name its mutation test in MUTATION_TESTS"
    for cid, where in MUTATION_TESTS.items():
        module, func = where.split("::")
        assert f"def {func}(" in (tests / module).read_text(), f"{cid}: {where} does not exist"
