"""A plain reference for ``sparsebounds.networks``: one member, no batch axis, no padding, no blocks, float64.

Written from the math in the networks module docstring, for tests/test_networks_reference.py to hold the
optimised simulator against (as optax's equivalence_test.py holds its transforms against plain ones).

A node is a one-hidden-layer net g(u) = Σ_j a_j σ(w_j·u + b_j) + c. The shallow net is one node on all d
inputs; the tree net has d − 1 nodes on 2 inputs, node k of level l reading outputs 2k, 2k+1 of level l − 1
(level 0 reads x_{2k}, x_{2k+1}). Loss = mean_p (f(x_p) − y_p)² + (weight_decay / 2)·Σ (every W and a)².
Gradients by backpropagation, node by node.
"""
import numpy as np


def sigma(z, activation):
    return np.maximum(z, 0.0) if activation == "relu" else np.tanh(z)


def sigma_prime(z, activation):
    return (z > 0).astype(float) if activation == "relu" else 1.0 - np.tanh(z) ** 2


def levels(kind, params):
    """[{"W": (K, n, m), "b": (K, n), "a": (K, n), "c": (K,)} for each level]; the shallow net is one node."""
    if kind == "shallow":
        return [{k: np.asarray(params[k], float)[None] for k in "Wbac"}]
    return [{k: np.asarray(params[f"{k}{l}"], float) for k in "Wbac"} for l in range(len(params) // 4)]


def forward(kind, params, X, activation):
    """Outputs f(x_p) (P,) and, per level, the list of its nodes' inputs (P, m)."""
    X = np.asarray(X, float)
    U = [X] if kind == "shallow" else [X[:, 2 * k:2 * k + 2] for k in range(X.shape[1] // 2)]
    inputs = []
    for L in levels(kind, params):
        inputs.append(U)
        out = [sigma(u @ L["W"][k].T + L["b"][k], activation) @ L["a"][k] + L["c"][k] for k, u in enumerate(U)]
        U = [np.stack(out[2 * k:2 * k + 2], axis=1) for k in range(len(out) // 2)]
    return out[0], inputs


def loss_and_grad(kind, params, X, y, activation, weight_decay=0.0):
    """params: one member's unpadded arrays named as in the library (shallow W (N, d), b, a (N,), c ();
    tree W{l} (K_l, n, 2), b{l}, a{l} (K_l, n), c{l} (K_l,)). Returns (loss, gradients named like params)."""
    y = np.asarray(y, float)
    f, inputs = forward(kind, params, X, activation)
    weights = [np.asarray(v, float) for k, v in params.items() if k[0] in "Wa"]
    loss = np.mean((f - y) ** 2) + weight_decay / 2 * sum((w ** 2).sum() for w in weights)
    douts = [2 * (f - y) / len(y)]                     # d loss / d (output of each node of the top level)
    grads = {}
    for l, (L, U) in reversed(list(enumerate(zip(levels(kind, params), inputs)))):
        g = {k: np.zeros_like(v) for k, v in L.items()}
        dU = []
        for k, (u, dout) in enumerate(zip(U, douts)):
            z = u @ L["W"][k].T + L["b"][k]                                       # (P, n)
            dz = np.outer(dout, L["a"][k]) * sigma_prime(z, activation)           # d loss / d z
            g["W"][k], g["b"][k] = dz.T @ u, dz.sum(0)
            g["a"][k], g["c"][k] = sigma(z, activation).T @ dout, dout.sum()
            dU += list((dz @ L["W"][k]).T)             # d loss / d inputs: the outputs of level l − 1
        douts = dU
        grads.update({k: v[0] for k, v in g.items()} if kind == "shallow" else {f"{k}{l}": v for k, v in g.items()})
    for k in grads:
        if k[0] in "Wa":
            grads[k] = grads[k] + weight_decay * np.asarray(params[k], float)
    return loss, {k: grads[k] for k in params}
