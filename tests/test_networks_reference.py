"""The batched simulator (sparsebounds.networks) against the plain one-member reference (reference_networks.py),
in the style of optax's equivalence_test.py: the optimised loss, gradients and predictions must equal the
plain ones for every member of a batch, on every code path, and the comparison must be able to fail."""
import numpy as np
import pytest
import reference_networks as ref

from sparsebounds import networks as nw

P = 50                       # data points; blocks of 16 in the per-member layout leave a ragged last block
D = {"shallow": 5, "tree": 8}   # tree: 8 inputs, 3 levels, 7 nodes
# The shallow gradient has two code paths, chosen by the padded width of the batch (`if N >= 128` in
# _shallow_loss_and_grad); a batch [3, 130] runs its width-3 member through the wide path, padded and masked.
WIDTHS = {"narrow": [3], "wide": [130], "mixed": [3, 130]}
WIDE_PATH = {"narrow": False, "wide": True, "mixed": True}


def make(kind, widths, dtype, activation, layout):
    """A batch of two seeds per width and its data: X (P, d) shared, or one X (P, d) and y per member
    (given as (B, P, d) and (B, P), processed in blocks of 16 points). Returns net, X, y, block and the
    per-member lists Xs, ys the reference reads."""
    net = (nw.shallow if kind == "shallow" else nw.tree)([0, 1], D[kind], WIDTHS[widths], activation, dtype)
    rng = np.random.default_rng(11)
    B = net.batch
    if layout == "shared":
        X, y = rng.uniform(-1, 1, (P, net.d)).astype(dtype), rng.standard_normal(P).astype(dtype)
        return net, X, y, None, [X] * B, [y] * B
    X, y = rng.uniform(-1, 1, (B, P, net.d)).astype(dtype), rng.standard_normal((B, P)).astype(dtype)
    return net, X, y, 16, list(X), list(y)


def units(net, i):
    """Index of member i's own (unpadded) units in its parameter arrays W*, b*, a* (without the batch axis)."""
    n = int(net.widths[i])
    return (slice(None, n),) if net.kind == "shallow" else (slice(None), slice(None, n))


def member_params(net, params, i):
    return {k: v[i] if k[0] == "c" else v[i][units(net, i)] for k, v in params.items()}


def tolerance(net):
    """Relative tolerance of a loss, and normwise one (relative to the largest entry of the array) of a
    gradient or of the P predictions. Every value the simulator returns is a composition of sums; the longest
    chain of them has L = P (data points) + per level (m inputs + 1 bias + n units) terms, m = d for the
    shallow net and 2 for a tree node, n the padded width. A sum of L terms in precision eps is off by at most
    about L·eps relative to the sum of the terms' magnitudes (Higham's γ_L); the reference, in float64, adds
    its own such error. Normwise, not entrywise: a gradient entry whose sum over data points cancels is
    small, but its rounding error stays at the scale of the terms, which at initialisation (r = f − y not
    fitted) is the scale of the array's largest entries. Observed errors are at most about 12 eps, under a
    tenth of the tolerance (at least 59 eps here): the tolerance comes from the bound, not from fitting the
    observed errors."""
    m = net.d if net.kind == "shallow" else 2
    L = P + net.depth * (m + 1 + net.mask.shape[1])
    return L * (np.finfo(net.dtype).eps + np.finfo(np.float64).eps)


def references(net, Xs, ys, weight_decay, params=None):
    """(loss, grads) of the reference for every member, on its own unpadded parameters."""
    params = net.params if params is None else params
    return [ref.loss_and_grad(net.kind, member_params(net, params, i), Xs[i], ys[i], net.activation, weight_decay)
            for i in range(net.batch)]


def assert_equivalent(net, lib, refs):
    """The library's (loss (B,), grads) equal the references member by member; padded entries exactly 0."""
    loss, grads = lib
    tol = tolerance(net)
    for i, (rloss, rgrads) in enumerate(refs):
        who = f"member {i} (width {net.widths[i]}, seed {net.seeds[i]})"
        np.testing.assert_allclose(loss[i], rloss, rtol=tol, atol=0, err_msg=f"loss of {who}")
        for k, r in rgrads.items():
            g = grads[k][i]
            own = g if k[0] == "c" else g[units(net, i)]
            np.testing.assert_allclose(own, r, rtol=0, atol=tol * np.abs(r).max(), err_msg=f"grad {k} of {who}")
            if k[0] != "c":
                padded = g.copy()
                padded[units(net, i)] = 0
                assert not padded.any(), f"grad {k} of {who} is not zero on its padded units"


@pytest.mark.parametrize("layout", ["shared", "per-member"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("widths", list(WIDTHS))
@pytest.mark.parametrize("kind", ["shallow", "tree"])
def test_loss_gradients_and_predictions_equal_the_reference(kind, widths, dtype, activation, weight_decay, layout,
                                                            monkeypatch):
    net, X, y, block, Xs, ys = make(kind, widths, dtype, activation, layout)
    work = {}
    monkeypatch.setattr(nw, "_WORK", work)     # fresh work buffers: their names show which path ran
    lib = nw.loss_and_grad(net, X, y, weight_decay, block)
    if kind == "shallow":                      # only the wide path allocates "Xr" (dout times the inputs)
        assert any(name == "Xr" for name, _ in work) == WIDE_PATH[widths] == (net.mask.shape[1] >= 128)
    assert_equivalent(net, lib, references(net, Xs, ys, weight_decay))
    f = nw.predict(net, X)
    for i in range(net.batch):
        r = ref.forward(kind, member_params(net, net.params, i), Xs[i], activation)[0]
        np.testing.assert_allclose(f[i], r, rtol=0, atol=tolerance(net) * np.abs(r).max())


@pytest.mark.parametrize("layout", ["shared", "per-member"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["shallow", "tree"])
def test_training_loss_is_the_mse_of_the_predictions(kind, dtype, activation, layout):
    net, X, y, block, _, _ = make(kind, "mixed", dtype, activation, layout)
    loss = nw.loss_and_grad(net, X, y, 0.0, block)[0]
    from_predict = ((nw.predict(net, X) - y) ** 2).mean(-1)
    tol = tolerance(net)
    np.testing.assert_allclose(loss, nw.mse(net, X, y), rtol=tol, atol=0)
    np.testing.assert_allclose(loss, from_predict, rtol=tol, atol=0)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["shallow", "tree"])
def test_adam_history_is_the_training_loss_of_its_parameters(kind, dtype, weight_decay):
    """train_adam records the training loss of the parameters before steps 1, 1 + every, 1 + 2·every, ...
    and of the final parameters. Only the first and the last parameters are returned or reconstructible
    (a shorter run has another step-size schedule), so those two records are checked: against mse(predict)
    and against the reference loss, which with weight decay includes (weight_decay / 2)·Σ(W² + a²) — the
    history is the training objective, the mse only when weight_decay = 0."""
    net, X, y, _, Xs, ys = make(kind, "mixed", dtype, "tanh", "shared")
    trained, hist = nw.train_adam(net, X, y, 12, lr=0.02, weight_decay=weight_decay, record_every=5)
    assert hist.shape == (4, net.batch)                          # before steps 1, 6, 11, and at the end
    tol = tolerance(net)
    for record, params, model in ((hist[0], net.params, net), (hist[-1], trained.params, trained)):
        np.testing.assert_allclose(record, [r[0] for r in references(net, Xs, ys, weight_decay, params)],
                                   rtol=tol, atol=0)
        if weight_decay == 0:
            np.testing.assert_allclose(record, ((nw.predict(model, X) - y) ** 2).mean(-1), rtol=tol, atol=0)
    assert not np.array_equal(hist[0], hist[-1])
    for i in range(net.batch):                                   # padded units stay exactly zero in training
        for k, v in trained.params.items():
            if k[0] != "c":
                rest = v[i].copy()
                rest[units(net, i)] = 0
                assert not rest.any(), (k, i)


# ---- the comparison can fail: each mutation is a bug the equivalence test must catch ----
def _swapped_children(X):
    """Inputs with x_{2k} and x_{2k+1} exchanged: a tree node reading its children in the wrong order."""
    d = X.shape[-1]
    perm = np.arange(d)
    perm[:d // 2 * 2] = perm[:d // 2 * 2].reshape(-1, 2)[:, ::-1].ravel()
    return X[..., perm]


def _mutated(mutation, net, Xs, ys, lib):
    """(lib, refs) with the mutation applied, for the library run with weight_decay 0.01."""
    refs = references(net, [_swapped_children(x) for x in Xs] if mutation == "children swapped" else Xs, ys,
                      0.0 if mutation == "weight decay dropped" else 0.01)
    W = next(k for k in net.params if k[0] == "W")
    b = [k for k in net.params if k[0] == "b"][-1]
    i = net.batch - 1                                              # the widest member
    if mutation == "W gradient misrouted":                       # input axis reversed, as by a transpose slip
        refs[i][1][W] = refs[i][1][W][..., ::-1].copy()
    elif mutation == "one entry off by 3 tolerances":
        g = refs[i][1][b]
        g.flat[np.abs(g).argmax()] += 3 * tolerance(net) * np.abs(g).max()
    elif mutation == "padded unit leaks":                         # a masking slip in the library
        lib[1][f"a{'' if net.kind == 'shallow' else 0}"][0].flat[-1] = np.finfo(net.dtype).tiny
    return lib, refs


@pytest.mark.parametrize("mutation", ["weight decay dropped", "children swapped", "W gradient misrouted",
                                      "one entry off by 3 tolerances", "padded unit leaks"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["shallow", "tree"])
def test_equivalence_test_catches_mutations(kind, dtype, mutation):
    net, X, y, block, Xs, ys = make(kind, "mixed", dtype, "tanh", "shared")
    lib = nw.loss_and_grad(net, X, y, 0.01, block)
    assert_equivalent(net, lib, references(net, Xs, ys, 0.01))   # unmutated, the same comparison passes
    with pytest.raises(AssertionError):
        assert_equivalent(net, *_mutated(mutation, net, Xs, ys, lib))
