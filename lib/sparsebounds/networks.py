"""A batched numpy simulator for small networks: dense shallow nets and binary-tree deep nets.

Every array carries a leading batch axis ``B``: one array program trains many networks at once (several
seeds, several widths). Networks narrower than the batch's widest are zero-padded and masked, so a
network's output and gradient do not depend on what else is in the batch.

Stable API (notebooks 02-04 use it; signatures and parameter names will not change):

``shallow(seeds, d, widths, activation="relu", dtype=np.float64, *, seed=0)`` -> :class:`Net`
    one hidden layer, f(x) = Σ_j a_j σ(w_j·x + b_j) + c. The batch is every (width, s) pair, s in ``seeds``
    (an int or a tuple of ints: the integer keys of the initialisation's stream ``"shallow-init"`` of ``seed``),
    width-major: member ``i`` has ``net.widths[i]``, ``net.seeds[i]``.
    params: ``W`` (B, N, d), ``b`` (B, N), ``a`` (B, N), ``c`` (B,); ``mask`` (B, N).
``tree(seeds, d, widths, activation="relu", dtype=np.float64, *, seed=0)`` -> :class:`Net` (stream ``"tree-init"``)
    d = 2**depth inputs; d − 1 nodes on a binary tree, each a one-hidden-layer net on 2 inputs with
    ``width`` units: node k of level l reads outputs 2k, 2k+1 of level l − 1 (level 0 reads x_{2k}, x_{2k+1}).
    params per level l = 0..depth−1 (K_l = d / 2**(l+1) nodes): ``W{l}`` (B, K_l, n, 2), ``b{l}``
    (B, K_l, n), ``a{l}`` (B, K_l, n), ``c{l}`` (B, K_l); ``mask`` (B, n).
``predict(net, X)`` -> (B, P)   for X of shape (P, d) (shared) or (B, P, d)
``mse(net, X, y)`` -> (B,)      mean squared error, y of shape (P,) or (B, P)
``loss_and_grad(net, X, y, weight_decay=0.0, block=None)`` -> (loss (B,), grads dict like ``net.params``)
    loss = mean_p (f(x_p) − y_p)² + (weight_decay / 2)·Σ (weights²), weights = the W* and a* arrays;
    data points are summed in cache-sized blocks (so float rounding, not values, can depend on the batch).
``train_adam(net, X, y, steps, lr=1e-2, ...)`` -> (trained Net, history (n_records, B) of the training objective);
    y may be (P,) or (B, P) (one target per member), lr a scalar or (B,) (one step size per member)
``train_lbfgs(net, X, y, maxiter)`` -> (trained Net, final training mse (B,))
``n_params(net)`` -> (B,) number of trainable parameters of each member (masked units excluded)
``shallow_params_count(d, N)``, ``tree_params_count(d, n)``: the same counts as formulas
``relu_interpolant_1d(knots, values)`` -> a width-(k−1) shallow ReLU Net equal to the piecewise-linear
    interpolant through k knots (the 1-D constructive approximant is exactly a ReLU network).

Activations: ``"relu"`` and ``"tanh"`` (smooth, not a polynomial). Everything is deterministic from the
named streams of :mod:`sparsebounds.seeds`. Why it is built this way, what it was measured against, and how it
is checked: the README's design note on the network simulator.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import prod

import numpy as np

from .seeds import rng as named_rng

ACTIVATIONS = ("relu", "tanh")
KINDS = ("shallow", "tree")


# ------------------------------------------------------------------ activations
def _act_(z, kind):
    """σ(z) in place: the one activation of predict and training (``kind`` checked when the Net was made)."""
    if kind == "relu":
        return np.maximum(z, 0.0, out=z)
    return np.tanh(z, out=z)


def _dact_(h, kind):
    """σ'(z) in place, from h = σ(z)."""
    if kind == "relu":
        return np.greater(h, 0.0, out=h)   # 1 where h > 0, else 0 (np.sign is ~20x slower on float32)
    np.multiply(h, h, out=h)
    return np.subtract(1.0, h, out=h)


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
    seeds: np.ndarray = field(default_factory=lambda: np.zeros(0, int))    # (B,) or (B, k): init keys

    def __post_init__(self):
        """The one check of the names: everything after (predict, training) trusts ``kind`` and ``activation``."""
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} not in {KINDS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} not in {ACTIVATIONS}")

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


def _pairs(keys, widths):
    """(width, key) of every member, width-major; a key is an int or a tuple of ints (one row of ``keys``)."""
    keys = np.atleast_1d(np.asarray(keys, int))
    keys = keys[:, None] if keys.ndim == 1 else np.atleast_2d(keys)
    widths = np.atleast_1d(np.asarray(widths, int))
    if np.any(widths < 1):
        raise ValueError("widths must be >= 1")
    k_of = np.tile(keys, (widths.size, 1))
    return np.repeat(widths, keys.shape[0]), (k_of[:, 0] if k_of.shape[1] == 1 else k_of)


def _init_units(rng, n, d_in, lo=-1.0, hi=1.0):
    """He-scaled weights; biases put each unit's kink through a uniform random point of [lo, hi]^d_in."""
    W = rng.standard_normal((n, d_in)) * np.sqrt(2.0 / d_in)
    x0 = rng.uniform(lo, hi, (n, d_in))
    b = -(W * x0).sum(1)
    a = rng.standard_normal(n) / np.sqrt(n)
    return W, b, a


def shallow(seeds, d: int, widths, activation: str = "relu", dtype=np.float64, *, seed: int = 0) -> Net:
    """Dense one-hidden-layer networks for every (width, s) pair, s in ``seeds`` (width-major order); each s is
    an int or a tuple of ints naming one initialisation (integer keys of a stream, not seeds).

    The initial weights of member (width n, s) are drawn in float64 from the named stream
    ``seeds.rng(seed, "shallow-init", d, n, *s)`` and then cast to ``dtype`` (float32 runs about 3x faster;
    gradients are exact in either)."""
    w_of, s_of = _pairs(seeds, widths)
    B, Nmax = w_of.size, int(w_of.max())
    W = np.zeros((B, Nmax, d))
    b = np.zeros((B, Nmax))
    a = np.zeros((B, Nmax))
    mask = np.zeros((B, Nmax))
    for i, (n, s) in enumerate(zip(w_of, s_of)):
        rng = named_rng(seed, "shallow-init", int(d), int(n), *np.atleast_1d(s))
        W[i, :n], b[i, :n], a[i, :n] = _init_units(rng, n, d)
        mask[i, :n] = 1.0
    params = {"W": W, "b": b, "a": a, "c": np.zeros(B)}
    return Net("shallow", d, activation, _cast(params, dtype), mask.astype(dtype), w_of, s_of)


def tree(seeds, d: int, widths, activation: str = "relu", dtype=np.float64, *, seed: int = 0) -> Net:
    """Binary-tree networks (d = 2**depth inputs, d − 1 nodes of ``width`` units each); ``seeds`` and dtype as
    in :func:`shallow`, initial weights from the named stream ``seeds.rng(seed, "tree-init", d, n, *s)``."""
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
        rng = named_rng(seed, "tree-init", int(d), int(n), *np.atleast_1d(s))
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
# One forward pass for predict and training: hidden activations laid out (B, units, points), inputs carrying a
# row of ones (the bias rides in the matmul), points in blocks of about BLOCK_ELEMENTS hidden activations
# (never a B·units·P array: 1.6 GB for 40 trees of 31 nodes on 20,000 points), the activations in reused work
# buffers. predict copies each block's outputs out; training keeps the block's activations for the backward pass.
def _tree_inputs(X, d):
    """(P, d) -> (K0, P, 2) or (B, P, d) -> (B, K0, P, 2)."""
    K0 = d // 2
    if X.ndim == 2:
        return X.reshape(X.shape[0], K0, 2).transpose(1, 0, 2)
    return X.reshape(X.shape[0], X.shape[1], K0, 2).transpose(0, 2, 1, 3)


def _inputs(net, X) -> np.ndarray:
    X = np.asarray(X, net.dtype)
    if X.shape[-1] != net.d:
        raise ValueError(f"X has {X.shape[-1]} columns, the net has d = {net.d}")
    return X


def _input_blocks(net, X, block: int):
    """(start, inputs) per block of ``block`` points, each a new contiguous array with a row of ones: shallow
    (Pb, d + 1) for a shared X or (B, Pb, d + 1); tree the level-0 node inputs (K0, 3, Pb) or (B, K0, 3, Pb)."""
    P, lead = X.shape[-2], X.shape[:-2]
    for i in range(0, P, block):
        Xb = X[..., i:i + block, :]
        Pb = Xb.shape[-2]
        if net.kind == "shallow":
            xb = np.empty(lead + (Pb, net.d + 1), net.dtype)
            xb[..., :net.d] = Xb
            xb[..., net.d] = 1.0
        else:
            xb = np.empty(lead + (net.d // 2, 3, Pb), net.dtype)
            xb[..., :2, :] = _tree_inputs(Xb, net.d).swapaxes(-1, -2)
            xb[..., 2, :] = 1.0
        yield i, xb


def _shallow_layer(net):
    """([W b] (B, N, d + 1), a ⊙ mask (B, N), c (B,)): the parameters as the forward pass reads them."""
    p = net.params
    return np.concatenate([p["W"], p["b"][:, :, None]], axis=-1), p["a"] * net.mask, p["c"]


def _shallow_forward(net, layer, xb):
    """One block: hidden activations Z (B, N, Pb) (a work buffer) and outputs (B, Pb). For a shared X the whole
    batch is one GEMM [W b] X1ᵀ of B·N rows (not B small ones)."""
    Wb, aeff, c = layer
    B, N, d1 = Wb.shape
    Pb = xb.shape[-2]
    Z = _work("Z", (B, N, Pb), net.dtype)
    if xb.ndim == 2:                                                          # shared inputs
        np.matmul(Wb.reshape(B * N, d1), xb.T, out=Z.reshape(B * N, Pb))
    else:
        np.matmul(Wb, xb.transpose(0, 2, 1), out=Z)
    _act_(Z, net.activation)
    out = np.matmul(aeff[:, None, :], Z)[:, 0, :]                             # (B, Pb)
    out += c[:, None]
    return Z, out


def _tree_layers(net):
    """Per level: [W b] (B, K, n, 3), a ⊙ mask as rows (B, K, 1, n), c (B, K, 1, 1)."""
    p = net.params
    return ([np.concatenate([p[f"W{lvl}"], p[f"b{lvl}"][..., None]], axis=-1) for lvl in range(net.depth)],
            [(p[f"a{lvl}"] * net.mask[:, None, :])[:, :, None, :] for lvl in range(net.depth)],
            [p[f"c{lvl}"][:, :, None, None] for lvl in range(net.depth)])


def _tree_forward(net, layers, xb):
    """One block: per level the hidden activations Z (B, K, n, Pb) and the node inputs U1 (.., K, 3, Pb) (work
    buffers), and the root's outputs (B, 1, 1, Pb). A level's outputs are the next level's input rows."""
    Wb, arow, c = layers
    B, n, dt = net.batch, net.mask.shape[1], net.dtype
    Pb = xb.shape[-1]
    U1 = xb                                                                    # (K0, 3, Pb) or (B, K0, 3, Pb)
    Hs, Us = [], []
    for lvl in range(net.depth):
        K = Wb[lvl].shape[1]
        Z = _work(f"Z{lvl}", (B, K, n, Pb), dt)
        np.matmul(Wb[lvl], U1, out=Z)
        _act_(Z, net.activation)
        out = _work(f"o{lvl}", (B, K, 1, Pb), dt)
        np.matmul(arow[lvl], Z, out=out)
        out += c[lvl]
        Hs.append(Z)
        Us.append(U1)
        if K > 1:
            U1 = _work(f"U{lvl + 1}", (B, K // 2, 3, Pb), dt)
            U1[:, :, :2, :] = out.reshape(B, K // 2, 2, Pb)
            U1[:, :, 2, :] = 1.0
    return Hs, Us, out


def predict(net: Net, X) -> np.ndarray:
    """Outputs (B, P) for inputs X (P, d) shared by the batch, or (B, P, d): the forward pass of training
    (:func:`loss_and_grad`), block by block."""
    X = _inputs(net, X)
    out = np.empty((net.batch, X.shape[-2]), net.dtype)
    if net.kind == "shallow":
        layer = _shallow_layer(net)
        for i, xb in _input_blocks(net, X, _default_block(net)):
            out[:, i:i + xb.shape[-2]] = _shallow_forward(net, layer, xb)[1]
    else:
        layers = _tree_layers(net)
        for i, xb in _input_blocks(net, X, _default_block(net)):
            out[:, i:i + xb.shape[-1]] = _tree_forward(net, layers, xb)[2][:, 0, 0, :]
    return out


def mse(net: Net, X, y) -> np.ndarray:
    """Mean squared error of each member, (B,)."""
    return ((predict(net, X) - np.asarray(y, net.dtype)) ** 2).mean(-1)


def _weight_names(net):
    return [k for k in net.params if k[0] in "Wa"]


BLOCK_ELEMENTS = 1 << 20   # hidden activations (all members) per block of data points: ~4 MB in float32

# Work arrays of the forward and backward passes, reused from call to call (name, dtype) -> flat buffer.
# Allocating fresh MB-sized temporaries every step made glibc map and zero new pages each time (it trims the
# heap or uses mmap for large blocks): up to 5x slower elementwise passes, e.g. batched training slower than
# a Python loop over the members. Nothing returned to the caller aliases these buffers.
_WORK: dict = {}


def _work(name, shape, dtype):
    n = prod(shape)          # math.prod: np.prod's call overhead was 5 % of a small tree's training step
    buf = _WORK.get((name, dtype))
    if buf is None or buf.size < n:
        buf = _WORK[(name, dtype)] = np.empty(max(n, 1), dtype)
    return buf[:n].reshape(shape)


def _default_block(net):
    units = net.batch * net.mask.shape[1] * (1 if net.kind == "shallow" else net.d // 2)
    return max(max(16, min(256, (1 << 23) // units)), BLOCK_ELEMENTS // units)


def _prepare(net, X, y, block=None):
    """The inputs cut into blocks of data points (:func:`_input_blocks`) with their targets: (P, [(inputs,
    targets), ...]), contiguous blocks, made once per training run."""
    X = _inputs(net, X)
    y = np.asarray(y, net.dtype)
    block = _default_block(net) if block is None else int(block)
    return X.shape[-2], [(xb, np.ascontiguousarray(y[..., i:i + block])) for i, xb in _input_blocks(net, X, block)]


def loss_and_grad(net: Net, X, y, weight_decay: float = 0.0, block: int | None = None):
    """Training loss of each member (B,) and its exact gradient (dict shaped like ``net.params``).

    The data points are processed in blocks of ``block`` points and the sums accumulated: the same
    full-batch gradient (up to the order of floating-point summation), with a working set that stays in
    cache. Default: about BLOCK_ELEMENTS hidden activations per block for the whole batch, at least 256
    points (fewer only when 256 points would exceed 2**23 activations); measured best on this machine.
    """
    return _loss_and_grad(net, _prepare(net, X, y, block), weight_decay)


def _loss_and_grad(net, data, weight_decay=0.0):
    P, blocks = data
    if net.kind == "shallow":
        loss, g = _shallow_loss_and_grad(net, P, blocks)
    else:
        loss, g = _tree_loss_and_grad(net, P, blocks)
    if weight_decay:
        for k in _weight_names(net):
            w = net.params[k]
            loss = loss + 0.5 * weight_decay * (w ** 2).reshape(w.shape[0], -1).sum(1)
            g[k] += weight_decay * w
    return loss, g


def _shallow_loss_and_grad(net, P, blocks):
    """One hidden layer, hidden activations laid out (B, N, points) (points innermost: the GEMMs run
    about twice as fast as with (points, B·N) for K = d + 1 inner products, and the per-member products
    with dout are contiguous). For a shared X the whole batch is one GEMM [W b] X1ᵀ of B·N rows per block
    (not B small ones). The output weights are folded in after the sum over data points: with
    S = dout·σ'(z) and X1 = [X 1], grad [W b] = a ⊙ (S X1). For wide layers dout is applied to X1 rather
    than to the hidden activations (and for tanh σ' = 1 − h² is split as Σ_p dout X1 − (h²)(dout X1)),
    which saves two passes over the (B, N, points) array."""
    p, dt, kind = net.params, net.dtype, net.activation
    B, N, d = p["W"].shape
    layer = _shallow_layer(net)                                               # [W b] (B, N, d + 1), a, c
    aeff = layer[1]
    loss = np.zeros(B, dt)
    gc = np.zeros(B, dt)
    ga = np.zeros((B, N, 1), dt)
    G = np.zeros((B, N, d + 1), dt)                                           # grad [W b] / a
    scale = 2.0 / P
    for xb, yb in blocks:
        Pb = xb.shape[-2]
        Z, r = _shallow_forward(net, layer, xb)                               # (B, N, Pb), (B, Pb)
        r -= yb
        loss += np.einsum("bp,bp->b", r, r)
        r *= scale                                                            # dloss/dout
        gc += r.sum(-1)
        ga += np.matmul(Z, r[:, :, None])
        if N >= 128:
            # dout multiplies the inputs, not the N times larger hidden activations: Xr[b] = dout[b] ⊙ X1,
            # one GEMM per member (a Python loop of GEMMs measured faster than np.matmul's stacked one)
            Xr = np.multiply(xb, r[:, :, None], out=_work("Xr", (B, Pb, d + 1), dt))
            if kind == "relu":
                _dact_(Z, kind)
                for i in range(B):
                    G[i] += Z[i] @ Xr[i]
            else:                                                             # σ' = 1 − h²: Σ_p Xr − h² Xr
                np.multiply(Z, Z, out=Z)
                G += Xr.sum(1)[:, None, :]
                for i in range(B):
                    G[i] -= Z[i] @ Xr[i]
        else:                                                                 # narrow: S = dout·σ'(z)
            _dact_(Z, kind)
            Z *= r[:, None, :]
            if xb.ndim == 2:
                G += np.matmul(Z.reshape(B * N, Pb), xb).reshape(B, N, d + 1)
            else:
                G += np.matmul(Z, xb)
    G *= aeff[:, :, None]
    g = {"W": G[:, :, :d], "b": G[:, :, d], "a": ga[..., 0] * net.mask, "c": gc}
    return loss / P, {k: g[k] for k in net.params}


def _tree_loss_and_grad(net, P, blocks):
    """Binary tree, the same scheme per level with activations laid out (B, K, n, points): node inputs
    U1 (B, K, 3, points) carry a row of ones (bias in the matmul), a level's outputs are the next level's
    input rows, the output weights a are folded in after the sums (grad [W b] = a ⊙ (S U1ᵀ), input
    gradient (a ⊙ W)ᵀ S, which is already the previous level's dout layout)."""
    p, dt, kind = net.params, net.dtype, net.activation
    B, n, depth = net.batch, net.mask.shape[1], net.depth
    layers = _tree_layers(net)
    Wb, arow, c = layers                                                       # (B, K, n, 3), (B, K, 1, n), c
    aWt = [(p[f"W{lvl}"] * arow[lvl][:, :, 0, :, None]).swapaxes(-1, -2) for lvl in range(depth)]   # (B, K, 2, n)
    loss = np.zeros(B, dt)
    gc = [np.zeros(ci.shape[:2], dt) for ci in c]
    ga = [np.zeros(a.shape[:2] + (n, 1), dt) for a in arow]
    G = [np.zeros(w.shape, dt) for w in Wb]
    scale = 2.0 / P
    for xb, yb in blocks:
        Pb = xb.shape[-1]
        Hs, Us, out = _tree_forward(net, layers, xb)
        r = out[:, :, 0, :]                                                    # (B, 1, Pb)
        r -= yb[:, None, :] if yb.ndim == 2 else yb
        loss += np.einsum("bkp,bkp->b", r, r)
        r *= scale
        for lvl in range(depth - 1, -1, -1):
            Z, U1 = Hs[lvl], Us[lvl]
            gc[lvl] += r.sum(-1)
            ga[lvl] += np.matmul(Z, r[..., None])                              # (B, K, n, 1)
            _dact_(Z, kind)
            Z *= r[:, :, None, :]                                              # S = dout·σ'(z)
            G[lvl] += np.matmul(Z, U1.swapaxes(-1, -2))                        # (B, K, n, 3)
            if lvl > 0:
                K = Z.shape[1]
                dU = np.matmul(aWt[lvl], Z, out=_work(f"dU{lvl}", (B, K, 2, Pb), dt))
                r = dU.reshape(B, 2 * K, Pb)
    g = {}
    for lvl in range(depth):
        a = arow[lvl][:, :, 0, :]
        g[f"W{lvl}"] = G[lvl][..., :2] * a[..., None]
        g[f"b{lvl}"] = G[lvl][..., 2] * a
        g[f"a{lvl}"] = ga[lvl][..., 0] * net.mask[:, None, :]
        g[f"c{lvl}"] = gc[lvl]
    return loss / P, {k: g[k] for k in net.params}


# ------------------------------------------------------------------ flat views (tests, L-BFGS)
def flatten(params: dict) -> np.ndarray:
    """(B, n_total) concatenation of every parameter array, in ``params`` order."""
    B = next(iter(params.values())).shape[0]
    return np.concatenate([v.reshape(B, -1) for v in params.values()], axis=1)


def unflatten(flat: np.ndarray, like: dict) -> dict:
    out, i = {}, 0
    for k, v in like.items():
        n = v[0].size
        out[k] = flat[:, i:i + n].reshape(v.shape)
        i += n
    return out


# ------------------------------------------------------------------ training
def train_adam(net: Net, X, y, steps: int, lr: float = 1e-2, *, lr_final: float | None = None,
               betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
               record_every: int = 0, block: int | None = None):
    """Full-batch Adam on every member at once (independent moments per parameter and member).

    The step size decays geometrically from ``lr`` to ``lr_final`` (default lr/100) over ``steps``.
    ``lr`` may also be an array (B,): one initial step size per member (a learning-rate search in one
    batch); ``lr_final / lr`` must then be the same for every member. Returns the trained copy and the
    training objective (mse, plus the weight-decay term when weight_decay > 0) every ``record_every`` steps
    (and at the end), shape (n_records, B). Deterministic: no randomness after initialisation.

    A batch of several widths (tree node widths, or shallow hidden widths) is trained one width at a time,
    without the padding to the widest (widths 2, 4, 8, 16 cost 30 units instead of 64), when that saves enough
    work (GROUP_MIN_SAVED), in the data blocks of the whole batch (``block``: points per block, default from the
    batch's size): each member's arithmetic is the same up to the order of BLAS sums (2e-16 relative after
    training in float64, measured; float32 training amplifies it, as it does a change of CPU).
    """
    if block is None:
        block = _default_block(net)
    groups = _width_groups(net)
    if len(groups) > 1 and _padding_saved(net, groups, np.shape(X)[-2]) >= GROUP_MIN_SAVED:
        return _train_by_width(net, groups, X, y, steps, lr, block, lr_final=lr_final, betas=betas,
                               eps=eps, weight_decay=weight_decay, record_every=record_every)
    net = net.copy()
    lr_arr = np.asarray(lr, float)
    if lr_arr.ndim == 0:
        lr_final = lr / 100 if lr_final is None else lr_final
        ratio, lr_scale = lr_final / lr, None
    else:
        if lr_arr.shape != (net.batch,):
            raise ValueError(f"lr must be a scalar or one value per member ({net.batch},), got {lr_arr.shape}")
        ratios = np.full(net.batch, 0.01) if lr_final is None else np.asarray(lr_final, float) / lr_arr
        if not np.allclose(ratios, ratios.flat[0]):
            raise ValueError("per-member lr: lr_final / lr must be the same for every member")
        ratio, lr = float(ratios.flat[0]), 1.0
        lr_scale = np.concatenate([np.broadcast_to(lr_arr.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape).ravel()
                                   for w in net.params.values()]).astype(net.dtype)
    # One flat buffer holds every parameter (net.params are views into it), so the Adam update is a few
    # whole-buffer operations instead of several per parameter array.
    names = list(net.params)
    theta = np.concatenate([net.params[k].ravel() for k in names])
    net.params = _views(theta, net.params)
    data = _prepare(net, X, y, block)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    g = np.empty_like(theta)
    tmp = np.empty_like(theta)
    b1, b2 = betas
    decay = ratio ** (1.0 / max(steps - 1, 1))
    hist = []
    for t in range(1, steps + 1):
        loss, gd = _loss_and_grad(net, data, weight_decay)
        np.concatenate([gd[k].ravel() for k in names], out=g)
        if record_every and (t - 1) % record_every == 0:
            hist.append(loss)
        step = lr * decay ** (t - 1) * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m *= b1                                          # m = b1 m + (1 − b1) g
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2                                          # v = b2 v + (1 − b2) g²
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)                              # θ −= step m / (√v + eps)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= step
        if lr_scale is not None:
            tmp *= lr_scale
        theta -= tmp
    hist.append(_loss_and_grad(net, data, weight_decay)[0])
    net.params = {k: w.copy() for k, w in net.params.items()}
    return net, np.array(hist)


# Train a batch one width at a time when that saves at least this many hidden-unit evaluations per step
# (below it the per-call overhead of one more batch costs more than the padding: measured on this machine,
# 2.2x faster for trees of d = 32, widths 2-16, 512 points, and 1.8x for shallow widths 4-32 on 4,000 points;
# 1.7x slower for trees of d = 4, widths 4 and 16, 32 points).
GROUP_MIN_SAVED = 1 << 19


def _padding_saved(net: Net, groups, points: int) -> int:
    nodes = 1 if net.kind == "shallow" else net.d - 1
    used = sum(width * idx.size for width, idx in groups)
    return (net.batch * net.mask.shape[1] - used) * nodes * points


def _width_groups(net: Net) -> list[tuple[int, np.ndarray]]:
    """(width, member indices) per distinct width, in order of first appearance."""
    widths = np.asarray(net.widths, int)
    if widths.size != net.batch:           # a hand-made Net without widths: one group
        return [(net.mask.shape[1], np.arange(net.batch))]
    return [(int(w), np.flatnonzero(widths == w)) for w in dict.fromkeys(widths.tolist())]


def _units(net: Net, width: int) -> tuple:
    """Index of the first ``width`` units after the batch axis: axis 1 of a shallow net's W, b, a; axis 2 (after
    the nodes) of a tree's."""
    return (slice(None),) * (1 if net.kind == "shallow" else 2) + (slice(0, width),)


def _members(net: Net, idx: np.ndarray, width: int) -> Net:
    """Members ``idx`` of a batch, all of width ``width``, without padding."""
    cut = _units(net, width)
    params = {k: np.ascontiguousarray(v[idx] if k[0] == "c" else v[idx][cut]) for k, v in net.params.items()}
    return Net(net.kind, net.d, net.activation, params, np.ascontiguousarray(net.mask[idx][:, :width]),
               np.asarray(net.widths)[idx], np.asarray(net.seeds)[idx])


def _train_by_width(net, groups, X, y, steps, lr, block, *, lr_final, **kw):
    """train_adam on each width group of a batch; the trained members go back into the padded layout (padded
    units stay exactly zero in padded training too: their gradient is zero)."""
    out = net.copy()
    hist = None
    X, y = np.asarray(X), np.asarray(y)
    lr_arr, final_arr = np.asarray(lr, float), None if lr_final is None else np.asarray(lr_final, float)
    for width, idx in groups:
        sub = _members(net, idx, width)
        Xs = X[idx] if X.ndim == 3 else X
        ys = y[idx] if y.ndim == 2 else y
        lr_s = lr_arr[idx] if lr_arr.ndim else lr
        final_s = final_arr[idx] if final_arr is not None and final_arr.ndim else lr_final
        trained, h = train_adam(sub, Xs, ys, steps, lr_s, lr_final=final_s, block=block, **kw)
        at = (idx,) + _units(net, width)[1:]
        for k, v in trained.params.items():
            out.params[k][idx if k[0] == "c" else at] = v
        if hist is None:
            hist = np.empty((h.shape[0], net.batch), h.dtype)
        hist[:, idx] = h
    return out, hist


def _views(flat, like):
    """Arrays shaped like ``like``'s, views into the 1-D buffer ``flat`` (in ``like``'s order)."""
    out, i = {}, 0
    for k, w in like.items():
        out[k] = flat[i:i + w.size].reshape(w.shape)
        i += w.size
    return out


def train_lbfgs(net: Net, X, y, maxiter: int = 500, *, weight_decay: float = 0.0):
    """SciPy L-BFGS-B on the sum of the members' losses (they are independent, so the sum's minimisers
    are the members' minimisers). Returns the trained copy and the final training loss (B,)."""
    from scipy.optimize import minimize

    net = net.copy()
    like = net.params
    shape = flatten(like).shape

    data = _prepare(net, X, y)

    def fun(theta):
        net.params = unflatten(theta.reshape(shape), like)
        loss, g = _loss_and_grad(net, data, weight_decay)
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
