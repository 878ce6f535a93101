"""Boolean circuits compiled into deep, sparse ReLU networks (and the shallow constructions they beat).

A :class:`Circuit` is a DAG of fan-in ≤ 2 gates over {AND, OR, XOR, NOT}. Wires 0..n_inputs−1 are the
inputs; wire n_inputs + k is the output of gate k (gates are listed in topological order).

Gate emulators (exact on {0, 1}; proven in notebook 08 with SymPy):
    AND(a, b) = relu(a + b − 1)                   1 unit
    OR(a, b)  = 1 − relu(1 − a − b)               1 unit
    XOR(a, b) = relu(a − b) + relu(b − a)         2 units
    NOT(a)    = 1 − a                             0 units (affine: folded into the next layer's weights)

The compiled network has one ReLU layer per circuit level. Every gate output is an affine function of the
*state* s = [1, x, h_1, ..., h_L] (all units so far), so a layer reads any earlier layer (skip connections,
the circuit's own graph): no relay units are needed, units = Σ_gates cost(gate), and the number of ReLU
layers equals the circuit depth, counted with NOT free (it is affine).

Shallow (one-hidden-layer) adders: :func:`adder_shallow_network` (6n units, one linear form per output bit,
fan-in up to 2n), :func:`adder_sum_network` (one linear form for every bit: 2^(n+1) − 1 units) and the
lookup table (4^n units). :func:`mobius_coefficient` gives what any one-hidden-layer network must read:
a set S of inputs with a nonzero Möbius coefficient of an output must lie inside one unit's fan-in.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# gate -> (unit pre-activations as (input weights, bias), readout weights over those units, readout bias)
EMULATORS = {
    "AND": ([((1, 1), -1)], (1,), 0),
    "OR": ([((-1, -1), 1)], (-1,), 1),
    "XOR": ([((1, -1), 0), ((-1, 1), 0)], (1, 1), 0),
    "NOT": ([], (), None),  # handled as the affine map 1 − a
}
UNIT_COST = {g: len(units) for g, (units, _, _) in EMULATORS.items()}
ARITY = {"AND": 2, "OR": 2, "XOR": 2, "NOT": 1}
BOOLEAN = {"AND": np.logical_and, "OR": np.logical_or, "XOR": np.logical_xor}


@dataclass(frozen=True)
class Circuit:
    n_inputs: int
    gates: tuple  # ((op, (wire, ...)), ...) in topological order
    outputs: tuple  # wire ids

    def __post_init__(self):
        for k, (op, ins) in enumerate(self.gates):
            if op not in ARITY or len(ins) != ARITY[op]:
                raise ValueError(f"gate {k}: bad op/arity {op} {ins}")
            if any(not 0 <= w < self.n_inputs + k for w in ins):
                raise ValueError(f"gate {k} reads a wire that is not yet defined: {ins}")

    @property
    def size(self) -> int:
        return len(self.gates)


def evaluate(c: Circuit, X: np.ndarray) -> np.ndarray:
    """Boolean evaluation: X of shape (N, n_inputs) in {0,1} -> outputs (N, n_outputs) in {0,1}."""
    wires = [np.asarray(X[:, i], bool) for i in range(c.n_inputs)]
    for op, ins in c.gates:
        wires.append(~wires[ins[0]] if op == "NOT" else BOOLEAN[op](wires[ins[0]], wires[ins[1]]))
    return np.stack([wires[w] for w in c.outputs], axis=1).astype(np.int8)


def wire_depths(c: Circuit) -> np.ndarray:
    """Depth of every wire: inputs 0, a gate 1 + max over its inputs (NOT adds 0: it is affine)."""
    d = [0] * c.n_inputs
    for op, ins in c.gates:
        d.append(max(d[w] for w in ins) + (UNIT_COST[op] > 0))
    return np.array(d)


def circuit_depth(c: Circuit) -> int:
    return int(wire_depths(c)[list(c.outputs)].max())


def unit_count(c: Circuit) -> int:
    """Units the compiler will use: Σ over gates of the emulator's unit count."""
    return sum(UNIT_COST[op] for op, _ in c.gates)


@dataclass
class ReLUNet:
    """h_l = relu(s_{l-1} @ W_l.T) with s_0 = [1, x] and s_l = [s_{l-1}, h_l]; output = s_L @ R.T."""
    n_inputs: int
    layers: list  # W_l of shape (units_l, 1 + n_inputs + units before layer l)
    readout: np.ndarray  # (n_outputs, 1 + n_inputs + total units)

    @property
    def units(self) -> int:
        return sum(W.shape[0] for W in self.layers)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def nonzero_weights(self) -> int:
        return int(sum(np.count_nonzero(W) for W in self.layers) + np.count_nonzero(self.readout))

    @property
    def edges(self) -> int:
        """Nonzero connection weights, biases excluded: hidden units' incoming weights plus the readout's."""
        return int(sum(np.count_nonzero(W[:, 1:]) for W in self.layers) + np.count_nonzero(self.readout[:, 1:]))

    @property
    def max_fan_in(self) -> int:
        """Largest number of nonzero incoming weights of a unit, bias excluded."""
        return max((int(np.count_nonzero(W[:, 1:], axis=1).max()) for W in self.layers if W.size), default=0)

    def __call__(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Evaluate on a batch X (N, n_inputs), in chunks of inputs (matmul over the batch axis)."""
        X = np.asarray(X, float)
        out = []
        for i in range(0, X.shape[0], chunk):
            s = np.concatenate([np.ones((min(chunk, X.shape[0] - i), 1)), X[i:i + chunk]], axis=1)
            for W in self.layers:
                s = np.concatenate([s, np.maximum(s @ W.T, 0.0)], axis=1)
            out.append(s @ self.readout.T)
        return np.concatenate(out, axis=0)


def compile_circuit(c: Circuit, drop: int | None = None) -> ReLUNet:
    """Compile ``c`` gate by gate into a :class:`ReLUNet` (one layer per level, skip connections).

    ``drop=k`` is a deliberately broken compiler for the mutation tests: gate k is replaced by the
    constant 0 (its units are left out).
    """
    depth = wire_depths(c)
    n_layers = int(depth.max()) if c.gates else 0
    # each layer's units as (coefficient vector over the state) before we know the column layout:
    # we first assign every unit a (layer, index) and keep gate outputs as dicts {column key: coef}
    # with keys 'one', ('x', i) and ('h', layer, j).
    layer_units = [[] for _ in range(n_layers + 1)]
    expr = [{("x", i): 1.0} for i in range(c.n_inputs)]
    for k, (op, ins) in enumerate(c.gates):
        if k == drop:
            expr.append({})
            continue
        if op == "NOT":
            e = {key: -v for key, v in expr[ins[0]].items()}
            e["one"] = e.get("one", 0.0) + 1.0
            expr.append(e)
            continue
        units, readout, bias = EMULATORS[op]
        layer = int(depth[c.n_inputs + k])
        e = {"one": float(bias)}
        for (w_in, b), r in zip(units, readout):
            pre = {"one": float(b)}
            for w, wire in zip(w_in, ins):
                for key, v in expr[wire].items():
                    pre[key] = pre.get(key, 0.0) + w * v
            j = len(layer_units[layer])
            layer_units[layer].append(pre)
            e[("h", layer, j)] = float(r)
        expr.append(e)
    # column layout of the state
    col = {"one": 0}
    col.update({("x", i): 1 + i for i in range(c.n_inputs)})
    layers = []
    for layer in range(1, n_layers + 1):
        W = np.zeros((len(layer_units[layer]), len(col)))
        for j, pre in enumerate(layer_units[layer]):
            for key, v in pre.items():
                W[j, col[key]] += v
        layers.append(W)
        for j in range(len(layer_units[layer])):
            col[("h", layer, j)] = len(col)
    R = np.zeros((len(c.outputs), len(col)))
    for o, wire in enumerate(c.outputs):
        for key, v in expr[wire].items():
            R[o, col[key]] += v
    return ReLUNet(c.n_inputs, layers, R)


# ---------------------------------------------------------------- the n-bit ripple-carry adder
HALF_ADDER = ("XOR", "AND")                     # bit 0: s = a⊕b, c = a∧b
FULL_ADDER = ("XOR", "XOR", "AND", "AND", "OR")  # bits ≥ 1: p = a⊕b, s = p⊕c, g = a∧b, t = p∧c, c' = g∨t

def adder(n: int) -> Circuit:
    """n-bit ripple-carry adder. Inputs [a_0..a_{n−1}, b_0..b_{n−1}] (LSB first); outputs [s_0..s_{n−1}, c_n].

    Bit 0 is a half adder (XOR, AND); bits 1..n−1 are full adders p = a⊕b, s = p⊕c, g = a∧b, t = p∧c,
    c' = g∨t: 2 + 5(n − 1) gates.
    """
    if n < 1:
        raise ValueError("n >= 1")
    gates, outs = [], []

    def gate(op, *ins):
        gates.append((op, ins))
        return 2 * n + len(gates) - 1

    outs.append(gate("XOR", 0, n))
    carry = gate("AND", 0, n)
    for i in range(1, n):
        a, b = i, n + i
        p = gate("XOR", a, b)
        outs.append(gate("XOR", p, carry))
        g = gate("AND", a, b)
        t = gate("AND", p, carry)
        carry = gate("OR", g, t)
    outs.append(carry)
    return Circuit(2 * n, tuple(gates), tuple(outs))


def all_inputs(m: int) -> np.ndarray:
    """Every point of {0,1}^m as rows (N = 2^m, m), row u holding the bits of u (LSB first)."""
    u = np.arange(2 ** m)
    return ((u[:, None] >> np.arange(m)) & 1).astype(np.int8)


def adder_truth(n: int) -> np.ndarray:
    """Bits of a + b for every input of :func:`all_inputs` (2n): shape (4^n, n + 1)."""
    u = np.arange(4 ** n)
    total = (u & (2 ** n - 1)) + (u >> n)
    return ((total[:, None] >> np.arange(n + 1)) & 1).astype(np.int8)


# ---------------------------------------------------------------- shallow (one hidden layer) constructions
def lookup_network(table: np.ndarray) -> ReLUNet:
    """One hidden layer, one unit per input pattern p ∈ {0,1}^m: relu(Σ_i (2p_i − 1)x_i − |p| + 1) is 1
    at x = p and 0 at every other Boolean x; the readout is the truth table. 2^m units."""
    N, n_out = table.shape
    m = int(np.log2(N))
    P = all_inputs(m).astype(float)
    W = np.concatenate([1 - P.sum(1, keepdims=True), 2 * P - 1], axis=1)
    R = np.concatenate([np.zeros((n_out, 1 + m)), table.T.astype(float)], axis=1)
    return ReLUNet(m, [W], R)


def adder_sum_network(n: int) -> ReLUNet:
    """One hidden layer that uses the adder's structure: the integer v = Σ 2^i (a_i + b_i) is linear in x,
    units h_c = relu(v − c) for c = 0..2^{n+1} − 2, the step [v ≥ c] = h_{c−1} − h_c on integers, and
    bit k of v = Σ_{j ≥ 1} (−1)^{j+1} [v ≥ j·2^k]. 2^{n+1} − 1 units: exponential in n, but far below 4^n."""
    vmax = 2 ** (n + 1) - 2
    c = np.arange(vmax + 1)
    pw = 2.0 ** np.arange(n)
    W = np.concatenate([-c[:, None].astype(float), np.tile(pw, (c.size, 2))], axis=1)
    R = np.zeros((n + 1, 1 + 2 * n + c.size))
    for k in range(n + 1):
        for j in range(1, vmax // 2 ** k + 1):
            t = j * 2 ** k  # [v >= t] = h_{t-1} - h_t
            sign = 1.0 if j % 2 else -1.0
            R[k, 1 + 2 * n + t - 1] += sign
            if t <= vmax:
                R[k, 1 + 2 * n + t] -= sign
    return ReLUNet(2 * n, [W], R)


def adder_family(ns) -> dict:
    """Compile the adder for each n and measure it on every one of the 4^n inputs (the notebook's table).

    Returns arrays over n: gates, circuit depth, units, network depth, nonzero weights, max fan-in, and
    mismatches (number of (input, output bit) pairs where the network differs from a + b).
    """
    rows = {k: [] for k in ("n", "gates", "circuit_depth", "units", "depth", "weights", "edges", "max_fan_in",
                            "mismatches", "max_abs_error")}
    for n in ns:
        c = adder(n)
        net = compile_circuit(c)
        X = all_inputs(2 * n)
        y = net(X)
        truth = adder_truth(n)
        assert np.array_equal(evaluate(c, X), truth)  # the circuit itself is right
        for k, v in (("n", n), ("gates", c.size), ("circuit_depth", circuit_depth(c)), ("units", net.units),
                     ("depth", net.depth), ("weights", net.nonzero_weights), ("edges", net.edges),
                     ("max_fan_in", net.max_fan_in),
                     ("mismatches", int((y != truth).sum())), ("max_abs_error", float(np.abs(y - truth).max()))):
            rows[k].append(v)
    return {k: np.array(v) for k, v in rows.items()}


def parity_network(d: int, scale: float = 2.0) -> ReLUNet:
    """A *shallow* counterexample to "parity needs exponentially many shallow units": with s = Σ x_i,
    parity(x) = relu(s) + Σ_{j=1}^{d−1} 2(−1)^j relu(s − j) on {0,1}^d, one hidden layer of d units.
    ``scale`` replaces the 2 (a wrong value builds the mutation of the tests)."""
    j = np.arange(d)
    W = np.concatenate([-j[:, None].astype(float), np.ones((d, d))], axis=1)
    coef = np.where(j == 0, 1.0, scale * (-1.0) ** j)
    R = np.concatenate([np.zeros(1 + d), coef])[None, :]
    return ReLUNet(d, [W], R)


# ---------------------------------------------------------------- the 6n-unit one-hidden-layer adder
SHALLOW_VARIANTS = ("exact", "no-wrap-step", "step-off-by-one", "one-linear-form", "top-bit-without-a0")


def adder_shallow_network(n: int, variant: str = "exact") -> ReLUNet:
    """One hidden layer of 6n ReLU units that computes the n-bit adder exactly on {0,1}^(2n).

    Bit k of a + b is bit k of v_k = Σ_{i≤k} 2^i (a_i + b_i) (higher bits cannot reach it). With
    q = floor(v_k / 2^k) ∈ {0, 1, 2, 3} (v_k ≤ 2^(k+2) − 2), s_k = [q ≥ 1] − [q ≥ 2] + [q ≥ 3], i.e.
    s_k = [v_k ≥ 2^k] − [v_k ≥ 2^(k+1)] + [v_k ≥ 3·2^k], and the carry c_n = [v_{n−1} ≥ 2^n] is the middle
    step of s_{n−1} (shared). An integer step is two units: [v ≥ c] = relu(v − c + 1) − relu(v − c).
    The units of bit k read the 2(k+1) inputs a_0..a_k, b_0..b_k (largest fan-in 2n).

    ``variant`` builds a plausible wrong construction for the mutation tests: 'no-wrap-step' drops the
    step at 3·2^k, 'step-off-by-one' writes the step as relu(v − c) − relu(v − c − 1) (= [v ≥ c + 1]),
    'one-linear-form' lets every bit read the full sum v_{n−1}, 'top-bit-without-a0' removes a_0 from the
    units of bit n − 1 and the carry (fan-in 2n − 1).
    """
    if n < 1:
        raise ValueError("n >= 1")
    if variant not in SHALLOW_VARIANTS:
        raise ValueError(f"variant {variant!r} not in {SHALLOW_VARIANTS}")
    steps = (1, 2) if variant == "no-wrap-step" else (1, 2, 3)
    shift = 0.0 if variant == "step-off-by-one" else 1.0
    rows, R = [], np.zeros((n + 1, 1 + 2 * n + 2 * len(steps) * n))
    for k in range(n):
        top = n - 1 if variant == "one-linear-form" else k
        w = np.zeros(2 * n)
        w[:top + 1] = w[n:n + top + 1] = 2.0 ** np.arange(top + 1)   # v_top = Σ_{i≤top} 2^i (a_i + b_i)
        if variant == "top-bit-without-a0" and k == n - 1:
            w[0] = 0.0
        for j in steps:
            c = j * 2 ** k
            col = 1 + 2 * n + len(rows)
            rows += [np.concatenate([[shift - c], w]), np.concatenate([[shift - c - 1], w])]
            sign = 1.0 if j % 2 else -1.0
            R[k, col] += sign
            R[k, col + 1] -= sign
            if k == n - 1 and j == 2:  # carry c_n = [v_{n-1} >= 2^n]
                R[n, col] += 1.0
                R[n, col + 1] -= 1.0
    return ReLUNet(2 * n, [np.array(rows)], R)


def shallow_adder_family(ns, variant: str = "exact") -> dict:
    """:func:`adder_shallow_network` for each n, measured on all 4^n inputs: units, depth, max fan-in,
    nonzero connection weights (edges), wrong (input, bit) pairs and the largest |network − truth|."""
    rows = {k: [] for k in ("n", "units", "depth", "max_fan_in", "edges", "mismatches", "max_abs_error")}
    for n in ns:
        net = adder_shallow_network(int(n), variant)
        y = net(all_inputs(2 * int(n)))
        truth = adder_truth(int(n))
        for k, v in (("n", int(n)), ("units", net.units), ("depth", net.depth), ("max_fan_in", net.max_fan_in),
                     ("edges", net.edges), ("mismatches", int((np.abs(y - truth) > 1e-9).sum())),
                     ("max_abs_error", float(np.abs(y - truth).max()))):
            rows[k].append(v)
    return {k: np.array(v) for k, v in rows.items()}


# ---------------------------------------------------------------- what a one-hidden-layer unit must read
def mobius_coefficient(values: np.ndarray, subset: list) -> int:
    """Möbius coefficient μ_f(S) = Σ_{T ⊆ S} (−1)^{|S|−|T|} f(1_T) of f given on every point of
    :func:`all_inputs` (m) (``values`` of length 2^m, integer-valued): the coefficient of Π_{i∈S} x_i in the
    unique multilinear polynomial that equals f on {0,1}^m."""
    values = np.asarray(values)
    u = np.arange(values.size)
    mask = int(sum(1 << int(i) for i in subset))
    inside = (u & ~mask) == 0
    pop = np.array([bin(int(x)).count("1") for x in u[inside]])
    return int(np.sum(((-1) ** (len(subset) - pop)) * values[inside].astype(np.int64)))


def adder_top_coefficients(n: int) -> dict:
    """Top Möbius coefficients of the adder's outputs from its truth table: for the sum bit s_k over its
    2(k+1) inputs {a_0..a_k, b_0..b_k}, and for the carry c_n over all 2n inputs."""
    T = adder_truth(n)
    out = {"sum": [mobius_coefficient(T[:, k], list(range(k + 1)) + list(range(n, n + k + 1))) for k in range(n)]}
    out["carry"] = mobius_coefficient(T[:, n], list(range(2 * n)))
    return out


@dataclass(frozen=True)
class CircuitsResult:
    """Everything notebook 08 measures. Per adder width n in ``ns`` (1..n_max): ``deep`` and ``shallow`` are the
    families of :func:`adder_family` and :func:`shallow_adder_family` (dicts of per-n arrays); wrong (input, bit)
    pairs per n of the wrong shallow constructions (``shallow_wrong``, by variant) and of the n_drop-bit adder
    compiled without gate k (``dropped_gate_mismatches``, per k); the one-linear-form sum networks and, for n in
    ``ns_lookup``, the lookup tables (units, largest error, wrong pairs); the top Möbius coefficients of the carry
    (``top_carry``) and of each sum bit (``top_sum``, per n: k = 0..n-1); the parity network of parity_d bits."""
    ns: np.ndarray
    ns_lookup: np.ndarray
    deep: dict
    shallow: dict
    shallow_wrong: dict
    n_drop: int
    dropped_gate_mismatches: np.ndarray
    sumnet_units: np.ndarray
    sumnet_max_error: np.ndarray
    sumnet_mismatches: np.ndarray
    lookup_units: np.ndarray
    lookup_max_error: np.ndarray
    lookup_mismatches: np.ndarray
    top_carry: np.ndarray
    top_sum: list
    parity_units: int
    parity_depth: int
    parity_max_error: float
    parity_mismatches: int
    parity_scale1_mismatches: int


def experiment(*, n_max: int, n_lookup_max: int, parity_d: int) -> CircuitsResult:
    """Everything notebook 08 measures, for adders n = 1..n_max (every input): the compiled deep nets, the
    6n-unit shallow nets, the single-linear-form shallow nets, the lookup tables (n ≤ n_lookup_max), the
    top Möbius coefficients of the outputs, and the d-unit parity network. No randomness."""
    ns = np.arange(1, n_max + 1)
    ns_lookup = np.arange(1, min(n_lookup_max, n_max) + 1)
    out = {"ns": ns, "ns_lookup": ns_lookup, "deep": adder_family(ns), "shallow": shallow_adder_family(ns)}
    # plausible wrong shallow constructions, on the same inputs (wrong (input, bit) pairs per n)
    out["shallow_wrong"] = {v: shallow_adder_family(ns, v)["mismatches"] for v in SHALLOW_VARIANTS[1:]}
    # a compiler that drops one gate: wrong (input, bit) pairs of the n-bit adder for each dropped gate
    n_drop = min(4, n_max)
    out["n_drop"] = n_drop
    out["dropped_gate_mismatches"] = np.array([
        int((compile_circuit(adder(n_drop), drop=k)(all_inputs(2 * n_drop)) != adder_truth(n_drop)).sum())
        for k in range(adder(n_drop).size)])
    sumnet = [adder_sum_network(int(m)) for m in ns]
    out["sumnet_units"] = np.array([net.units for net in sumnet])
    err = [np.abs(net(all_inputs(2 * int(m))) - adder_truth(int(m))) for m, net in zip(ns, sumnet)]
    out["sumnet_max_error"] = np.array([e.max() for e in err])
    out["sumnet_mismatches"] = np.array([int((e > 1e-9).sum()) for e in err])
    lookups = [lookup_network(adder_truth(int(m))) for m in ns_lookup]
    out["lookup_units"] = np.array([net.units for net in lookups])
    err = [np.abs(net(all_inputs(2 * int(m))) - adder_truth(int(m))) for m, net in zip(ns_lookup, lookups)]
    out["lookup_max_error"] = np.array([e.max() for e in err])
    out["lookup_mismatches"] = np.array([int((e > 1e-9).sum()) for e in err])
    tops = [adder_top_coefficients(int(m)) for m in ns]
    out["top_carry"] = np.array([t["carry"] for t in tops])
    out["top_sum"] = [np.array(t["sum"]) for t in tops]       # per n: k = 0..n-1
    X = all_inputs(parity_d)
    par = parity_network(parity_d)
    out["parity_units"], out["parity_depth"] = par.units, par.depth
    err = np.abs(par(X)[:, 0] - X.sum(1) % 2)
    out["parity_max_error"], out["parity_mismatches"] = float(err.max()), int((err > 1e-9).sum())
    out["parity_scale1_mismatches"] = int((np.abs(parity_network(parity_d, 1.0)(X)[:, 0] - X.sum(1) % 2) > 1e-9).sum())
    return CircuitsResult(**out)
