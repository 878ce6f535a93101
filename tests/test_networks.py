"""Unit tests of the batched network simulator (sparsebounds.networks)."""
import numpy as np
import pytest

from sparsebounds import networks as nw


def _fd_check(net, X, y, wd):
    loss, g = nw.loss_and_grad(net, X, y, weight_decay=wd)
    theta, gflat = nw.flatten(net.params), nw.flatten(g)
    h = 1e-6
    worst = 0.0
    for j in range(theta.shape[1]):
        e = np.zeros_like(theta)
        e[:, j] = h
        plus = nw.Net(net.kind, net.d, net.activation, nw.unflatten(theta + e, net.params), net.mask)
        minus = nw.Net(net.kind, net.d, net.activation, nw.unflatten(theta - e, net.params), net.mask)
        fd = (nw.loss_and_grad(plus, X, y, wd)[0] - nw.loss_and_grad(minus, X, y, wd)[0]) / (2 * h)
        worst = max(worst, float(np.abs(fd - gflat[:, j]).max()))
    return worst


@pytest.mark.parametrize("kind,d", [("shallow", 3), ("tree", 4), ("tree", 8)])
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_gradient_matches_finite_differences(kind, d, act):
    rng = np.random.default_rng(0)
    make = nw.shallow if kind == "shallow" else nw.tree
    net = make([0, 1], d, [2, 3], act)
    X = rng.uniform(-1, 1, (25, d))
    y = rng.standard_normal(25)
    assert _fd_check(net, X, y, 0.05) < 1e-6


def test_masked_member_independent_of_batch():
    X = np.random.default_rng(1).uniform(-1, 1, (50, 4))
    for make in (nw.shallow, nw.tree):
        alone = make([3], 4, [2], "tanh")
        batch = make([0, 3], 4, [2, 6], "tanh")          # member 1 is (width 2, seed 3)
        assert batch.widths[1] == 2 and batch.seeds[1] == 3
        np.testing.assert_allclose(nw.predict(batch, X)[1], nw.predict(alone, X)[0], rtol=0, atol=1e-12)


def test_parameter_counts():
    sh = nw.shallow([0], 5, [7])
    assert nw.n_params(sh)[0] == 7 * (5 + 2) + 1 == int(sh.mask.sum()) * 7 + 1
    tr = nw.tree([0], 8, [3])
    assert nw.n_params(tr)[0] == 7 * (4 * 3 + 1)


def test_tree_forward_is_the_composition():
    net = nw.tree([0], 4, [3], "tanh")
    p = net.params
    X = np.random.default_rng(2).uniform(-1, 1, (10, 4))

    def node(lvl, k, a, b):
        z = np.outer(a, p[f"W{lvl}"][0, k, :, 0]) + np.outer(b, p[f"W{lvl}"][0, k, :, 1]) + p[f"b{lvl}"][0, k]
        return np.tanh(z) @ p[f"a{lvl}"][0, k] + p[f"c{lvl}"][0, k]

    u0, u1 = node(0, 0, X[:, 0], X[:, 1]), node(0, 1, X[:, 2], X[:, 3])
    np.testing.assert_allclose(nw.predict(net, X)[0], node(1, 0, u0, u1), atol=1e-12)


def test_relu_interpolant_is_exact():
    k = np.sort(np.random.default_rng(3).uniform(-1, 1, 12))
    v = np.sin(4 * k)
    net = nw.relu_interpolant_1d(k, v)
    x = np.linspace(k[0], k[-1], 500)
    assert net.widths[0] == 11
    np.testing.assert_allclose(nw.predict(net, x[:, None])[0], np.interp(x, k, v), atol=1e-12)


def test_adam_decreases_loss_and_is_deterministic():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (200, 4))
    y = np.sin(X[:, 0] + X[:, 1]) * np.cos(X[:, 2] - X[:, 3])
    runs = [nw.train_adam(nw.tree([0, 1], 4, [4], "tanh", dtype=np.float32), X, y, 150, lr=0.02,
                          record_every=50) for _ in range(2)]
    (net, hist), (net2, hist2) = runs
    assert np.all(hist[-1] < 0.5 * hist[0])
    np.testing.assert_array_equal(nw.flatten(net.params), nw.flatten(net2.params))


def test_lbfgs_decreases_loss():
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, (100, 2))
    y = X[:, 0] * X[:, 1]
    net = nw.shallow([0, 1], 2, [6], "tanh")
    before = nw.mse(net, X, y)
    trained, after = nw.train_lbfgs(net, X, y, maxiter=100)
    assert np.all(after < 0.2 * before)


def test_bad_arguments():
    with pytest.raises(ValueError):
        nw.tree([0], 6, [2])
    with pytest.raises(ValueError, match="activation"):
        nw.shallow([0], 3, [2], "sigmoid")
    net = nw.tree([0], 4, [2])
    with pytest.raises(ValueError, match="activation"):       # checked wherever a Net is made, not only in tree()
        nw.Net(net.kind, net.d, "sigmoid", net.params, net.mask)
    with pytest.raises(ValueError, match="kind"):
        nw.Net("dense", net.d, net.activation, net.params, net.mask)


def test_blocked_gradient_equals_full_batch():
    rng = np.random.default_rng(6)
    X = rng.uniform(-1, 1, (130, 8))
    y = rng.standard_normal(130)
    for net in (nw.shallow([0, 1], 8, [3, 5], "tanh"), nw.tree([0], 8, [3], "relu")):
        l1, g1 = nw.loss_and_grad(net, X, y, 0.1)
        l2, g2 = nw.loss_and_grad(net, X, y, 0.1, block=40)
        np.testing.assert_allclose(l1, l2, rtol=1e-12)
        for k in g1:
            np.testing.assert_allclose(g1[k], g2[k], rtol=1e-10, atol=1e-13)


def test_per_member_step_sizes_and_targets_equal_separate_runs():
    """train_adam with lr (B,) and y (B, P) trains each member as a scalar-lr run on its own target would."""
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (60, 4))
    Y = np.stack([np.sin(X[:, 0] + X[:, 1]), np.cos(X[:, 2] * X[:, 3])])
    for make in (nw.shallow, nw.tree):
        batch = make([0, 0], 4, [3], "tanh")                     # two members, same initialisation
        trained, _ = nw.train_adam(batch, X, Y, 40, lr=np.array([0.01, 0.05]))
        for i, (lr, y) in enumerate(((0.01, Y[0]), (0.05, Y[1]))):
            alone, _ = nw.train_adam(make([0], 4, [3], "tanh"), X, y, 40, lr=lr)
            np.testing.assert_allclose(nw.flatten(trained.params)[i], nw.flatten(alone.params)[0],
                                       rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError):
        nw.train_adam(nw.shallow([0, 1], 4, [3]), X, Y, 5, lr=np.array([0.01, 0.02, 0.03]))
    with pytest.raises(ValueError):
        nw.train_adam(nw.shallow([0, 1], 4, [3]), X, Y, 5, lr=np.array([0.01, 0.02]), lr_final=np.array([1e-3, 1e-3]))


@pytest.mark.parametrize("kind,d", [("shallow", 3), ("tree", 8)])
def test_training_by_width_equals_padded_training(kind, d, monkeypatch):
    """A batch of several widths trained one width at a time (GROUP_MIN_SAVED = 0) gives every member the
    parameters and history of padded training (GROUP_MIN_SAVED out of reach), up to the order of BLAS sums;
    padded units stay exactly zero. Per-member targets and step sizes go to their own members."""
    rng = np.random.default_rng(8)
    X = rng.uniform(-1, 1, (70, d))
    make = nw.shallow if kind == "shallow" else nw.tree
    net = make([0, 1], d, [2, 5, 3], "tanh")                   # widths 2, 2, 5, 5, 3, 3 padded to 5
    Y = np.stack([np.sin(X @ rng.standard_normal(d)) for _ in range(net.batch)])
    lr = np.linspace(0.01, 0.05, net.batch)
    runs = {}
    for name, threshold in (("grouped", 0), ("padded", 1 << 62)):
        monkeypatch.setattr(nw, "GROUP_MIN_SAVED", threshold)
        runs[name] = nw.train_adam(net, X, Y, 30, lr=lr, weight_decay=1e-3, record_every=10)
    (g, hg), (p, hp) = runs["grouped"], runs["padded"]
    np.testing.assert_allclose(hg, hp, rtol=1e-12)
    for k in p.params:
        np.testing.assert_allclose(g.params[k], p.params[k], rtol=1e-11, atol=1e-14)
        if k[0] != "c":                                      # units are axis 1 (shallow) or 2 (tree)
            mask = net.mask if kind == "shallow" else net.mask[:, None, :]
            mask = mask[..., None] if k[0] == "W" else mask
            assert np.all(g.params[k][np.broadcast_to(mask == 0, g.params[k].shape)] == 0.0)
