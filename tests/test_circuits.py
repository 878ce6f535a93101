"""Unit and mutation tests for sparsebounds.circuits (notebook 08).

The mutation tests use the notebook's default-profile data (adders n = 1..8, every input; lookup networks
n = 1..5) and feed the same checks a deliberately wrong claim: a compiler that drops one gate, unit and
depth formulas off by a constant factor or by one.
"""
import numpy as np
import pytest

from sparsebounds import checks, circuits

NS = np.arange(1, 9)


@pytest.fixture(scope="module")
def fam():
    return circuits.adder_family(NS)


def units_f(n):
    return 7 * n - 4


def depth_f(n):
    return 2 * n - 1


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


@pytest.mark.parametrize("wrong", [lambda n: 2 * (7 * n - 4), lambda n: (7 * n - 4) / 2, lambda n: 7 * n - 3,
                                   lambda n: 6 * n - 3])
def test_mutation_wrong_unit_formula_rejected(fam, wrong):
    assert not checks.close(fam["units"], wrong(NS), rtol=0).holds


@pytest.mark.parametrize("wrong", [lambda n: 2 * (2 * n - 1), lambda n: 2 * n, lambda n: n])
def test_mutation_wrong_depth_formula_rejected(fam, wrong):
    assert not checks.close(fam["depth"], wrong(NS), rtol=0).holds


def test_mutation_wrong_lookup_count_rejected():
    units = np.array([circuits.lookup_network(circuits.adder_truth(n)).units for n in range(1, 6)])
    ns = np.arange(1, 6)
    assert checks.close(units, 4.0 ** ns, rtol=0).holds
    assert not checks.close(units, 4.0 ** ns / 2, rtol=0).holds
    assert not checks.close(units, 2.0 ** ns, rtol=0).holds


def test_mutation_wrong_emulator_rejected():
    # OR written as relu(a + b) is right on three of four points only
    grid = circuits.all_inputs(2)
    wrong_or = np.maximum(grid[:, 0] + grid[:, 1], 0)
    assert not checks.close(wrong_or, grid[:, 0] | grid[:, 1], rtol=0).holds
