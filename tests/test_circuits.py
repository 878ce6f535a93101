"""Unit and mutation tests for sparsebounds.circuits (notebook 08).

The mutation tests use the notebook's default-profile data (``circuits.experiment`` with the notebook's
defaults: adders n = 1..8 on every input, lookup networks n = 1..5, parity of 12 bits) and feed the same
checks a deliberately wrong claim: a compiler that drops one gate, wrong shallow constructions (no wrap-around
step, a step one unit late, one linear form for every bit, a_0 removed from the top bit), a wrong top Möbius
coefficient (sign, exponent, zero), wrong fan-in bounds, parity coefficients ±1, unit and depth formulas off
by a constant factor or by one.
"""
import numpy as np
import pytest
import sympy as sp
from mutations import evaluate, registered_bound, scale

from sparsebounds import circuits
from sparsebounds.harness import checks, parameters

P = parameters.notebook_defaults("08")
NS = np.arange(1, P["n_max"] + 1)


@pytest.fixture(scope="module")
def data():
    return circuits.experiment(**P)


@pytest.fixture(scope="module")
def fam(data):
    return data.deep


def exact(wrong, total):
    """The notebook's exactness check: correct (input, bit) pairs == all pairs, rtol = 0."""
    return checks.close(total - np.asarray(wrong), total, rtol=0)


PAIRS = 4.0 ** NS * (NS + 1)


UNITS = registered_bound("08-adder-units")          # 7n - 4
DEPTH = registered_bound("08-adder-depth")          # 2n - 1
N_SYM = [s for s in UNITS.free_symbols if s.name == "n"][0]


def units_f(n):
    return evaluate(UNITS, n=n)


def depth_f(n):
    return evaluate(DEPTH, n=n)


# ---------------------------------------------------------------- unit tests
def test_all_inputs_enumerates_the_cube():
    X = circuits.all_inputs(3)
    assert X.shape == (8, 3)
    assert len({tuple(r) for r in X}) == 8
    assert list(X[5]) == [1, 0, 1]  # LSB first


def test_adder_truth_is_binary_sum():
    T = circuits.adder_truth(3)
    X = circuits.all_inputs(6)
    a = X[:, :3] @ (2 ** np.arange(3))
    b = X[:, 3:] @ (2 ** np.arange(3))
    assert np.array_equal(T @ (2 ** np.arange(4)), a + b)


def test_adder_gate_list_matches_stages():
    for n in (1, 2, 5):
        ops = [op for op, _ in circuits.adder(n).gates]
        assert ops == list(circuits.HALF_ADDER) + list(circuits.FULL_ADDER) * (n - 1)


def test_circuit_rejects_forward_references():
    with pytest.raises(ValueError):
        circuits.Circuit(2, (("AND", (0, 2)),), (2,))
    with pytest.raises(ValueError):
        circuits.Circuit(2, (("NOT", (0, 1)),), (2,))


def test_not_gate_is_folded_and_exact():
    # c = NOT(AND(x0, x1)) OR x2 ; NAND then OR: NOT costs no unit and no layer
    c = circuits.Circuit(3, (("AND", (0, 1)), ("NOT", (3,)), ("OR", (4, 2))), (5,))
    net = circuits.compile_circuit(c)
    X = circuits.all_inputs(3)
    assert np.array_equal(net(X), circuits.evaluate(c, X))
    assert net.units == 2 and net.depth == 2 == circuits.circuit_depth(c)


def test_random_circuits_compile_exactly():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m, gates = 5, []
        for k in range(25):
            op = rng.choice(["AND", "OR", "XOR", "NOT"])
            w = m + k
            ins = (int(rng.integers(w)),) if op == "NOT" else tuple(int(v) for v in rng.integers(w, size=2))
            gates.append((str(op), ins))
        c = circuits.Circuit(m, tuple(gates), tuple(range(m, m + 25)))
        net = circuits.compile_circuit(c)
        X = circuits.all_inputs(m)
        assert np.array_equal(net(X), circuits.evaluate(c, X))
        assert net.units == circuits.unit_count(c) <= 2 * c.size
        assert net.depth == max(circuits.wire_depths(c))


def test_family_counts(fam):
    assert np.array_equal(fam["units"], units_f(NS))
    assert np.array_equal(fam["gates"], 5 * NS - 3)
    assert np.array_equal(fam["depth"], depth_f(NS))
    assert np.array_equal(fam["depth"], fam["circuit_depth"])
    assert fam["mismatches"].sum() == 0 and fam["max_abs_error"].max() == 0
    assert fam["max_fan_in"].max() <= 4


def test_shallow_networks_exact():
    for n in (1, 2, 4):
        X, T = circuits.all_inputs(2 * n), circuits.adder_truth(n)
        lk = circuits.lookup_network(T)
        sn = circuits.adder_sum_network(n)
        assert lk.units == 4 ** n and lk.depth == 1 and np.array_equal(lk(X), T)
        assert sn.units == 2 ** (n + 1) - 1 and sn.depth == 1 and np.array_equal(sn(X), T)


def test_parity_network():
    X = circuits.all_inputs(10)
    net = circuits.parity_network(10)
    assert net.units == 10 and net.depth == 1
    assert np.array_equal(net(X)[:, 0], X.sum(1) % 2)


def test_chunked_evaluation_matches():
    net = circuits.compile_circuit(circuits.adder(5))
    X = circuits.all_inputs(10)
    assert np.array_equal(net(X, chunk=97), net(X))


# ---------------------------------------------------------------- the notebook's checks hold ...
def test_notebook_checks_hold(fam):
    assert checks.close(fam["mismatches"], 0 * fam["mismatches"], rtol=0).holds
    assert checks.close(fam["units"], units_f(NS), rtol=0).holds
    assert checks.below(fam["units"], 2 * fam["gates"], rtol=0).holds
    assert checks.close(fam["depth"], depth_f(NS), rtol=0).holds


# ---------------------------------------------------------------- ... and reject the mutations
@pytest.mark.parametrize("k", range(17))
def test_mutation_compiler_dropping_a_gate_is_caught_by_exactness(k):
    n = 4
    broken = circuits.compile_circuit(circuits.adder(n), drop=k)
    wrong = np.abs(broken(circuits.all_inputs(2 * n)) - circuits.adder_truth(n))
    assert not checks.close(wrong, 0.0, rtol=0).holds
    assert not checks.close(broken.units, units_f(n), rtol=0).holds


# wrong formulas built from the registered ones: scaled by 2 and 1/2, shifted by one unit, and (not a mutation of
# 7n - 4) the 6n - 3 of a different construction
@pytest.mark.parametrize("wrong", [scale(UNITS, 2), scale(UNITS, 0.5), UNITS + 1, 6 * N_SYM - 3])
def test_mutation_wrong_unit_formula_rejected(fam, wrong):
    assert not checks.close(fam["units"], evaluate(wrong, n=NS), rtol=0).holds


@pytest.mark.parametrize("wrong", [scale(DEPTH, 2), DEPTH + 1, N_SYM])      # N_SYM: depth n, not a mutation
def test_mutation_wrong_depth_formula_rejected(fam, wrong):
    assert not checks.close(fam["depth"], evaluate(wrong, n=NS), rtol=0).holds


def test_mutation_wrong_lookup_count_rejected(data):
    units = data.lookup_units
    ns = data.ns_lookup
    assert checks.close(units, 4.0 ** ns, rtol=0).holds
    assert not checks.close(units, 4.0 ** ns / 2, rtol=0).holds
    assert not checks.close(units, 2.0 ** ns, rtol=0).holds


def test_mutation_wrong_emulator_rejected():
    # OR written as relu(a + b) is right on three of four points only
    grid = circuits.all_inputs(2)
    wrong_or = np.maximum(grid[:, 0] + grid[:, 1], 0)
    assert not checks.close(wrong_or, grid[:, 0] | grid[:, 1], rtol=0).holds


# ---------------------------------------------------------------- the 6n-unit one-hidden-layer adder
def test_shallow_adder_exact_on_every_input_n1_to_10():
    fam = circuits.shallow_adder_family(range(1, 11))
    n = fam["n"]
    assert fam["mismatches"].sum() == 0 and fam["max_abs_error"].max() == 0
    assert np.array_equal(fam["units"], 6 * n) and np.all(fam["depth"] == 1)
    assert np.array_equal(fam["max_fan_in"], 2 * n)
    assert np.array_equal(fam["edges"], 6 * n ** 2 + 12 * n + 2)
    assert np.all(fam["units"][4:] < 7 * n[4:] - 4) and np.all(fam["units"][:4] >= 7 * n[:4] - 4)


def test_shallow_adder_bad_arguments():
    with pytest.raises(ValueError):
        circuits.adder_shallow_network(0)
    with pytest.raises(ValueError):
        circuits.adder_shallow_network(3, "nonsense")


def test_notebook_shallow_claim_holds(data):
    sh = data.shallow
    assert exact(sh["mismatches"], PAIRS).holds
    assert checks.close(sh["units"], evaluate(registered_bound("08-shallow-adder-6n"), n=NS), rtol=0).holds


@pytest.mark.parametrize("variant", ["no-wrap-step", "step-off-by-one", "one-linear-form", "top-bit-without-a0"])
def test_mutation_wrong_shallow_constructions_rejected(data, variant):
    assert not exact(data.shallow_wrong[variant], PAIRS).holds


def test_mutation_compiler_dropping_any_gate_rejected(data):
    assert np.all(data.dropped_gate_mismatches > 0)


# ---------------------------------------------------------------- Möbius coefficients and fan-in
def test_mobius_coefficient_of_gates():
    X = circuits.all_inputs(2)
    a, b = X[:, 0], X[:, 1]
    assert circuits.mobius_coefficient(a & b, [0, 1]) == 1
    assert circuits.mobius_coefficient(a ^ b, [0, 1]) == -2
    assert circuits.mobius_coefficient(a | b, [0, 1]) == -1
    assert circuits.mobius_coefficient(a | b, [0]) == 1


def test_lemma_units_of_small_fan_in_leave_top_coefficient_zero():
    """A one-hidden-layer net whose units read at most m - 1 of m inputs has top Möbius coefficient 0
    (any activation; here ReLU and tanh with random weights), while one full-fan-in unit makes it nonzero."""
    rng = np.random.default_rng([8, 1])
    m = 6
    X = circuits.all_inputs(m).astype(float)
    for act in (lambda z: np.maximum(z, 0), np.tanh):
        y = X @ rng.standard_normal(m)
        for _ in range(20):
            w = rng.standard_normal(m)
            w[rng.integers(m)] = 0.0
            y = y + rng.standard_normal() * act(X @ w + rng.standard_normal())
        top = sum((-1) ** (m - int(r.sum())) * v for r, v in zip(X, y))
        assert abs(top) < 1e-9
        full = y + act(X.sum(1) - m + 1.0)           # a full-fan-in unit (AND of all inputs for ReLU)
        assert abs(sum((-1) ** (m - int(r.sum())) * v for r, v in zip(X, full))) > 1e-3


TOP = registered_bound("08-top-mobius-coefficients")   # (carry: -(-2)**n/2, sum bit k: (-2)**(k + 1))


def test_notebook_top_coefficients_hold(data):
    assert checks.close(data.top_carry, evaluate(TOP[0], n=NS), rtol=0).holds
    for n, tops in zip(NS, data.top_sum):
        assert checks.close(tops, evaluate(TOP[1], k=np.arange(n)), rtol=0).holds


# the carry's coefficient without its sign (|.|) and scaled by -2 (the exponent n - 1 read as n)
@pytest.mark.parametrize("wrong", [sp.Abs(TOP[0]), scale(TOP[0], -2)])
def test_mutation_wrong_top_coefficient_rejected(data, wrong):
    assert not checks.close(data.top_carry, evaluate(wrong, n=NS), rtol=0).holds


def test_mutation_zero_top_coefficient_rejected(data):
    """'fan-in below 2n suffices' would need the coefficient to be 0."""
    assert not checks.below(np.abs(data.top_carry), 0.5, rtol=0).holds


def test_notebook_fan_in_claim_and_mutations(data, fam):
    sh = data.shallow
    fan_in = registered_bound("08-shallow-fan-in")                          # 2n
    assert checks.close(sh["max_fan_in"], evaluate(fan_in, n=NS), rtol=0).holds
    assert checks.below(fam["max_fan_in"], 3, rtol=0).holds
    assert not checks.above(sh["max_fan_in"], evaluate(fan_in + 1, n=NS), rtol=0).holds   # "needs 2n + 1" rejected
    assert not checks.above(fam["max_fan_in"], NS, rtol=0).holds              # "deep fan-in grows like n"
    capped = data.shallow_wrong["top-bit-without-a0"]                     # "2n - 1 suffices" rejected
    assert not exact(capped, PAIRS).holds


# ---------------------------------------------------------------- parity
def test_mutation_parity_coefficients_one_rejected(data):
    # the registered bound is the unit count d; the wrong claim is a construction (every coefficient 1), not a
    # mutation of that count
    total = 2.0 ** P["parity_d"]
    assert exact(data.parity_mismatches, total).holds
    assert not exact(data.parity_scale1_mismatches, total).holds
