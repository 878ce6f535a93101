"""A batched numpy simulator for small networks: dense shallow nets and binary-tree deep nets.

Every array carries a leading batch axis ``B``: one array program trains many networks at once (several
seeds, several widths). Networks narrower than the batch's widest are zero-padded and masked, so a
network's output and gradient do not depend on what else is in the batch.

Stable API (notebooks 02-04 use it; signatures and parameter names will not change):

``shallow(seeds, d, widths, activation="relu", dtype=np.float64)`` -> :class:`Net`
    one hidden layer, f(x) = Σ_j a_j σ(w_j·x + b_j) + c. The batch is every (width, seed) pair,
    width-major: member ``i`` has ``net.widths[i]``, ``net.seeds[i]``.
    params: ``W`` (B, N, d), ``b`` (B, N), ``a`` (B, N), ``c`` (B,); ``mask`` (B, N).
``tree(seeds, d, widths, activation="relu", dtype=np.float64)`` -> :class:`Net`
    d = 2**depth inputs; d − 1 nodes on a binary tree, each a one-hidden-layer net on 2 inputs with
    ``width`` units: node k of level l reads outputs 2k, 2k+1 of level l − 1 (level 0 reads x_{2k}, x_{2k+1}).
    params per level l = 0..depth−1 (K_l = d / 2**(l+1) nodes): ``W{l}`` (B, K_l, n, 2), ``b{l}``
    (B, K_l, n), ``a{l}`` (B, K_l, n), ``c{l}`` (B, K_l); ``mask`` (B, n).
``predict(net, X)`` -> (B, P)   for X of shape (P, d) (shared) or (B, P, d)
``mse(net, X, y)`` -> (B,)      mean squared error, y of shape (P,) or (B, P)
``loss_and_grad(net, X, y, weight_decay=0.0, block=None)`` -> (loss (B,), grads dict like ``net.params``)
    loss = mean_p (f(x_p) − y_p)² + (weight_decay / 2)·Σ (weights²), weights = the W* and a* arrays;
    data points are summed in cache-sized blocks (so float rounding, not values, can depend on the batch).
``train_adam(net, X, y, steps, lr=1e-2, ...)`` -> (trained Net, history (n_records, B) of training mse)
``train_lbfgs(net, X, y, maxiter)`` -> (trained Net, final training mse (B,))
``n_params(net)`` -> (B,) number of trainable parameters of each member (masked units excluded)
``shallow_params_count(d, N)``, ``tree_params_count(d, n)``: the same counts as formulas
``relu_interpolant_1d(knots, values)`` -> a width-(k−1) shallow ReLU Net equal to the piecewise-linear
    interpolant through k knots (the 1-D constructive approximant is exactly a ReLU network).

Activations: ``"relu"`` and ``"tanh"`` (smooth, not a polynomial). Everything is deterministic from the seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

ACTIVATIONS = ("relu", "tanh")


# ------------------------------------------------------------------ activations
def _act(z, kind):
    if kind == "relu":
        return np.maximum(z, 0.0)
    if kind == "tanh":
        return np.tanh(z)
    raise ValueError(f"activation {kind!r} not in {ACTIVATIONS}")


def _times_dact(dh, z, h, kind):
    """dh·σ'(z) in place (h = σ(z))."""
    if kind == "relu":
        dh *= (h > 0)
    else:
        t = h * h
        np.subtract(1.0, t, out=t)
        dh *= t
    return dh


# ------------------------------------------------------------------ the network record
@dataclass
class Net:
    """A batch of B networks of one architecture. ``params`` arrays all have leading axis B."""
    kind: str                       # "shallow" or "tree"
    d: int                          # input dimension
    activation: str
    params: dict                    # name -> array (B, ...)
    mask: np.ndarray                # (B, N) active hidden units (per node for trees)
    widths: np.ndarray = field(default_factory=lambda: np.zeros(0, int))   # (B,)
    seeds: np.ndarray = field(default_factory=lambda: np.zeros(0, int))    # (B,)

    @property
    def batch(self) -> int:
        return self.mask.shape[0]

    @property
    def depth(self) -> int:
        """Number of hidden layers (1 for shallow, log2 d for a tree)."""
        return 1 if self.kind == "shallow" else int(round(np.log2(self.d)))

    @property
    def dtype(self):
        return self.mask.dtype

    def copy(self) -> "Net":
        return replace(self, params={k: v.copy() for k, v in self.params.items()})


def _pairs(seeds, widths):
    seeds = np.atleast_1d(np.asarray(seeds, int))
    widths = np.atleast_1d(np.asarray(widths, int))
    if np.any(widths < 1):
        raise ValueError("widths must be >= 1")
    return np.repeat(widths, seeds.size), np.tile(seeds, widths.size)


def _init_units(rng, n, d_in, lo=-1.0, hi=1.0):
    """He-scaled weights; biases put each unit's kink through a uniform random point of [lo, hi]^d_in."""
    W = rng.standard_normal((n, d_in)) * np.sqrt(2.0 / d_in)
    x0 = rng.uniform(lo, hi, (n, d_in))
    b = -(W * x0).sum(1)
    a = rng.standard_normal(n) / np.sqrt(n)
    return W, b, a


def shallow(seeds, d: int, widths, activation: str = "relu", dtype=np.float64) -> Net:
    """Dense one-hidden-layer networks for every (width, seed) pair (width-major order).

    The initial weights are drawn in float64 from the seed and then cast to ``dtype`` (float32 runs
    about 3x faster; gradients are exact in either)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} not in {ACTIVATIONS}")
    w_of, s_of = _pairs(seeds, widths)
    B, Nmax = w_of.size, int(w_of.max())
    W = np.zeros((B, Nmax, d))
    b = np.zeros((B, Nmax))
    a = np.zeros((B, Nmax))
    mask = np.zeros((B, Nmax))
    for i, (n, s) in enumerate(zip(w_of, s_of)):
        rng = np.random.default_rng([int(s), 1, int(d), int(n)])
        W[i, :n], b[i, :n], a[i, :n] = _init_units(rng, n, d)
        mask[i, :n] = 1.0
    params = {"W": W, "b": b, "a": a, "c": np.zeros(B)}
    return Net("shallow", d, activation, _cast(params, dtype), mask.astype(dtype), w_of, s_of)


def tree(seeds, d: int, widths, activation: str = "relu", dtype=np.float64) -> Net:
    """Binary-tree networks (d = 2**depth inputs, d − 1 nodes of ``width`` units each); dtype as in
    :func:`shallow`."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} not in {ACTIVATIONS}")
    depth = int(round(np.log2(d)))
    if d < 2 or 2 ** depth != d:
        raise ValueError(f"tree networks need d a power of 2 >= 2, got {d}")
    w_of, s_of = _pairs(seeds, widths)
    B, nmax = w_of.size, int(w_of.max())
    params = {}
    for lvl in range(depth):
        K = d >> (lvl + 1)
        params[f"W{lvl}"] = np.zeros((B, K, nmax, 2))
        params[f"b{lvl}"] = np.zeros((B, K, nmax))
        params[f"a{lvl}"] = np.zeros((B, K, nmax))
        params[f"c{lvl}"] = np.zeros((B, K))
    mask = np.zeros((B, nmax))
    for i, (n, s) in enumerate(zip(w_of, s_of)):
        rng = np.random.default_rng([int(s), 2, int(d), int(n)])
        for lvl in range(depth):
            for k in range(d >> (lvl + 1)):
                W, b, a = _init_units(rng, n, 2)
                params[f"W{lvl}"][i, k, :n], params[f"b{lvl}"][i, k, :n] = W, b
                params[f"a{lvl}"][i, k, :n] = a
        mask[i, :n] = 1.0
    return Net("tree", d, activation, _cast(params, dtype), mask.astype(dtype), w_of, s_of)


def _cast(params, dtype):
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}


# ------------------------------------------------------------------ counts
def shallow_params_count(d: int, N):
    """Trainable parameters of a one-hidden-layer net with N units on d inputs: N(d + 2) + 1."""
    return np.asarray(N) * (d + 2) + 1


def tree_params_count(d: int, n):
    """Trainable parameters of a binary-tree net, d − 1 nodes of n units on 2 inputs: (d − 1)(4n + 1)."""
    return (d - 1) * (4 * np.asarray(n) + 1)


def n_params(net: Net) -> np.ndarray:
    if net.kind == "shallow":
        return shallow_params_count(net.d, net.widths)
    return tree_params_count(net.d, net.widths)


# ------------------------------------------------------------------ forward / backward
def _forward_shallow(net, X, keep=False):
    p = net.params
    aeff = p["a"] * net.mask
    Z = np.matmul(X, np.swapaxes(p["W"], 1, 2))                              # (B, P, N)
    Z += p["b"][:, None, :]
    H = _act(Z, net.activation)
    out = np.matmul(H, aeff[:, :, None])[..., 0] + p["c"][:, None]      # (B, P)
    return (out, (Z, H, aeff)) if keep else out


def _tree_inputs(X, d):
    """(P, d) -> (K0, P, 2) or (B, P, d) -> (B, K0, P, 2)."""
    K0 = d // 2
    if X.ndim == 2:
        return X.reshape(X.shape[0], K0, 2).transpose(1, 0, 2)
    return X.reshape(X.shape[0], X.shape[1], K0, 2).transpose(0, 2, 1, 3)


def _forward_tree(net, X, keep=False):
    p = net.params
    B = net.batch
    U = _tree_inputs(X, net.d)
    if U.ndim == 3:
        U = np.broadcast_to(U, (B,) + U.shape)
    cache = []
    for lvl in range(net.depth):
        W, b = p[f"W{lvl}"], p[f"b{lvl}"]
        aeff = p[f"a{lvl}"] * net.mask[:, None, :]
        Z = np.einsum("bkpi,bkni->bkpn", U, W, optimize=True)               # (B, K, P, n)
        Z += b[:, :, None, :]
        H = _act(Z, net.activation)
        out = np.matmul(H, aeff[..., None])[..., 0] + p[f"c{lvl}"][:, :, None]   # (B, K, P)
        if keep:
            cache.append((U, Z, H, aeff))
        K = out.shape[1]
        if K > 1:
            U = out.reshape(B, K // 2, 2, -1).transpose(0, 1, 3, 2)
    out = out[:, 0, :]
    return (out, cache) if keep else out


def predict(net: Net, X) -> np.ndarray:
    """Outputs (B, P) for inputs X (P, d) shared by the batch, or (B, P, d)."""
    X = np.asarray(X, net.dtype)
    if X.shape[-1] != net.d:
        raise ValueError(f"X has {X.shape[-1]} columns, the net has d = {net.d}")
    return _forward_shallow(net, X) if net.kind == "shallow" else _forward_tree(net, X)


def mse(net: Net, X, y) -> np.ndarray:
    """Mean squared error of each member, (B,)."""
    return ((predict(net, X) - np.asarray(y, net.dtype)) ** 2).mean(-1)


def _weight_names(net):
    return [k for k in net.params if k[0] in "Wa"]


BLOCK_ELEMENTS = 1 << 18   # hidden activations (all members) per block of data points: ~1 MB in float32


def loss_and_grad(net: Net, X, y, weight_decay: float = 0.0, block: int | None = None):
    """Training loss of each member (B,) and its exact gradient (dict shaped like ``net.params``).

    The data points are processed in blocks of ``block`` points and the sums accumulated: the same
    full-batch gradient (up to the order of floating-point summation), with a working set that stays in
    cache. Default: about BLOCK_ELEMENTS hidden activations per block for the whole batch (at least 64
    points); on this machine that made batched training 2-4x faster than one unblocked pass.
    """
    X = np.asarray(X, net.dtype)
    y = np.asarray(y, net.dtype)
    P = X.shape[-2]
    if block is None:
        units = net.mask.shape[1] * (1 if net.kind == "shallow" else net.d // 2)
        block = max(64, BLOCK_ELEMENTS // max(1, net.batch * units))
    if P > block:
        loss, g = 0.0, None
        for i in range(0, P, block):
            Xi, yi = X[..., i:i + block, :], y[..., i:i + block]
            li, gi = _loss_and_grad_block(net, Xi, yi)
            w = Xi.shape[-2] / P
            loss = loss + w * li
            g = {k: w * v for k, v in gi.items()} if g is None else {k: g[k] + w * gi[k] for k in g}
    else:
        loss, g = _loss_and_grad_block(net, X, y)
    if weight_decay:
        for k in _weight_names(net):
            w = net.params[k]
            loss = loss + 0.5 * weight_decay * (w ** 2).reshape(w.shape[0], -1).sum(1)
            g[k] = g[k] + weight_decay * w
    return loss, g


def _loss_and_grad_block(net: Net, X, y):
    P = X.shape[-2]
    g = {}
    if net.kind == "shallow":
        out, (Z, H, aeff) = _forward_shallow(net, X, keep=True)
        r = out - y
        loss = (r ** 2).mean(-1)
        dout = 2.0 * r / P                                                     # (B, P)
        g["c"] = dout.sum(-1)
        g["a"] = np.matmul(dout[:, None, :], H)[:, 0, :] * net.mask
        dZ = _times_dact(np.einsum("bp,bn->bpn", dout, aeff), Z, H, net.activation)
        g["b"] = dZ.sum(1)
        g["W"] = np.matmul(np.swapaxes(dZ, 1, 2), X)                          # (B, N, d)
    else:
        out, cache = _forward_tree(net, X, keep=True)
        r = out - y
        loss = (r ** 2).mean(-1)
        dout = (2.0 * r / P)[:, None, :]                                      # (B, 1, P)
        for lvl in range(net.depth - 1, -1, -1):
            U, Z, H, aeff = cache[lvl]
            g[f"c{lvl}"] = dout.sum(-1)
            g[f"a{lvl}"] = np.matmul(dout[:, :, None, :], H)[:, :, 0, :] * net.mask[:, None, :]
            dZ = _times_dact(np.einsum("bkp,bkn->bkpn", dout, aeff), Z, H, net.activation)
            g[f"b{lvl}"] = dZ.sum(2)
            g[f"W{lvl}"] = np.matmul(np.swapaxes(dZ, 2, 3), U)               # (B, K, n, 2)
            if lvl > 0:
                dU = np.matmul(dZ, net.params[f"W{lvl}"])                     # (B, K, P, 2)
                B, K = dU.shape[:2]
                dout = dU.transpose(0, 1, 3, 2).reshape(B, 2 * K, -1)
    return loss, {k: g[k] for k in net.params}


# ------------------------------------------------------------------ flat views (tests, L-BFGS)
def flatten(params: dict) -> np.ndarray:
    """(B, n_total) concatenation of every parameter array, in ``params`` order."""
    B = next(iter(params.values())).shape[0]
    return np.concatenate([v.reshape(B, -1) for v in params.values()], axis=1)


def unflatten(flat: np.ndarray, like: dict) -> dict:
    out, i = {}, 0
    B = flat.shape[0]
    for k, v in like.items():
        n = v[0].size
        out[k] = flat[:, i:i + n].reshape(v.shape)
        i += n
    return out


# ------------------------------------------------------------------ training
def train_adam(net: Net, X, y, steps: int, lr: float = 1e-2, *, lr_final: float | None = None,
               betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
               record_every: int = 0):
    """Full-batch Adam on every member at once (independent moments per parameter and member).

    The step size decays geometrically from ``lr`` to ``lr_final`` (default lr/100) over ``steps``.
    Returns the trained copy and the training mse every ``record_every`` steps (and at the end), shape
    (n_records, B). Deterministic: no randomness after initialisation.
    """
    net = net.copy()
    lr_final = lr / 100 if lr_final is None else lr_final
    m = {k: np.zeros_like(v) for k, v in net.params.items()}
    v = {k: np.zeros_like(v) for k, v in net.params.items()}
    b1, b2 = betas
    decay = (lr_final / lr) ** (1.0 / max(steps - 1, 1))
    hist = []
    for t in range(1, steps + 1):
        loss, g = loss_and_grad(net, X, y, weight_decay)
        if record_every and (t - 1) % record_every == 0:
            hist.append(loss)
        step = lr * decay ** (t - 1) * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for k, p in net.params.items():
            m[k] *= b1
            m[k] += (1 - b1) * g[k]
            v[k] *= b2
            v[k] += (1 - b2) * g[k] * g[k]
            p -= step * m[k] / (np.sqrt(v[k]) + eps)
    hist.append(loss_and_grad(net, X, y, weight_decay)[0])
    return net, np.array(hist)


def train_lbfgs(net: Net, X, y, maxiter: int = 500, *, weight_decay: float = 0.0):
    """SciPy L-BFGS-B on the sum of the members' losses (they are independent, so the sum's minimisers
    are the members' minimisers). Returns the trained copy and the final training loss (B,)."""
    from scipy.optimize import minimize

    net = net.copy()
    like = net.params
    shape = flatten(like).shape

    def fun(theta):
        net.params = unflatten(theta.reshape(shape), like)
        loss, g = loss_and_grad(net, X, y, weight_decay)
        return float(loss.sum()), flatten(g).ravel()

    res = minimize(fun, flatten(like).ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": int(maxiter), "maxcor": 20})
    net.params = unflatten(res.x.reshape(shape), like)
    return net, loss_and_grad(net, X, y, weight_decay)[0]


# ------------------------------------------------------------------ the 1-D constructive network
def relu_interpolant_1d(knots, values) -> Net:
    """The piecewise-linear interpolant through (knots, values) as a shallow ReLU net with k − 1 units.

    f(x) = v_0 + Σ_{i=0}^{k−2} (s_i − s_{i−1}) relu(x − t_i), s_i the slope on [t_i, t_{i+1}], s_{−1} = 0;
    exact on [t_0, t_{k−1}]. ``values`` may be (k,) or (B, k) for a batch of interpolants on shared knots.
    """
    t = np.asarray(knots, float)
    v = np.atleast_2d(np.asarray(values, float))
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("knots must be increasing, at least 2")
    B, k = v.shape[0], t.size
    s = np.diff(v, axis=1) / np.diff(t)
    a = np.diff(s, axis=1, prepend=0.0)                                      # (B, k−1)
    W = np.ones((B, k - 1, 1))
    b = np.broadcast_to(-t[:-1], (B, k - 1)).copy()
    return Net("shallow", 1, "relu", {"W": W, "b": b, "a": a, "c": v[:, 0].copy()},
               np.ones((B, k - 1)), np.full(B, k - 1), np.zeros(B, int))
