"""The one definition of "the same result": it accepts round-off noise and rejects real changes."""
import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sparsebounds.harness import equivalence as eq  # noqa: E402


# ------------------------------------------------------------------ printed text
@pytest.mark.parametrize("old, new", [
    ("ratio 0.283 at k=12", "ratio 0.284 at k=12"),          # one unit of the last printed digit
    ("evidence 1.89125", "evidence 1.89126"),                 # 6-digit rounding of nearly equal values
    ("largest gap 2.7e-16 (round-off)", "largest gap 2.6e-16 (round-off)"),
    ("slope -0.4999", "slope -0.5"),                          # %g drops trailing zeros
    ("a -0.000 b", "a 0.000 b"),
])
def test_text_accepts_ulp_noise(old, new):
    assert eq.text_differences(old, new) == []


@pytest.mark.parametrize("old, new", [
    ("ratio 0.51", "ratio 0.55"),                             # a number moved at the printed precision
    ("max ratio 0.512000", "max ratio 0.513000"),             # 0.2 % > RTOL, beyond the last digit
    ("13 filters", "12 filters"),                             # counts are exact
    ("01-fista-rate holds", "01-fista-rate violated"),              # words are exact
    ("slope -1.962", "slope -1.962 (2 points)"),
])
def test_text_rejects_real_changes(old, new):
    assert eq.text_differences(old, new)


# ------------------------------------------------------------------ claim records
CLAIM = {"id": "01-fista-rate", "kind": "upper bound", "evidence_class": "test", "verdict": "holds",
         "expected_verdict": "holds", "bound": "2*L*R**2/(k + 1)**2",
         "evidence": {"parts": [{"points": 2000, "violations": 0, "max_ratio_observed_over_bound": 0.511678,
                                 "max_relative_error": "below 1e-12"}]}}


def _claim(**changes):
    c = json.loads(json.dumps(CLAIM))
    part = c["evidence"]["parts"][0]
    for k, v in changes.items():
        (part if k in part else c)[k] = v
    return c


def test_claims_accept_noise_and_reject_moved_numbers_and_verdicts():
    assert eq.claims_differences([CLAIM], [_claim(max_ratio_observed_over_bound=0.511679)]) == []
    moved = eq.claims_differences([CLAIM], [_claim(max_ratio_observed_over_bound=0.55)])
    assert moved == ["claim 01-fista-rate: evidence.parts[0].max_ratio_observed_over_bound: 0.511678 -> 0.55"]
    assert eq.claims_differences([CLAIM], [_claim(verdict="violated")])
    assert eq.claims_differences([CLAIM], [_claim(evidence_class="identity")])
    assert eq.claims_differences([CLAIM], [_claim(violations=1)])
    assert eq.claims_differences([CLAIM], [_claim(max_relative_error=3e-3)])
    assert eq.claims_differences([CLAIM], []) == ["claim 01-fista-rate: removed"]


# ------------------------------------------------------------------ figures
def _figure(y_scale=1.0, drop_marker=False, color="C0", noise=0.0):
    k = np.arange(1, 201, dtype=float)
    gap = k ** -2.0 * (1 + noise * np.sin(k))
    fig, (a, b) = plt.subplots(1, 2)
    a.loglog(k, gap * y_scale, color=color, label="FISTA")
    a.loglog(k, 2 / (k + 1) ** 2, "--", label="bound")
    a.set_ylim(1e-16, 1)                                      # 16 decades: 1 % is a fraction of a pixel
    xs = np.array([1.0, 2.0, 3.0]) if not drop_marker else np.array([1.0, 2.0])
    b.scatter(xs, xs ** 2 * (1 + noise), label="runs")
    b.fill_between(k[:10], gap[:10] * 0.5, gap[:10] * 2, alpha=0.3)
    a.legend()
    data = eq.figure_data(fig)
    plt.close(fig)
    return data


def test_figures_accept_ulp_noise():
    assert eq.figure_differences(_figure(), _figure(noise=1e-13)) == []


@pytest.mark.parametrize("change", [dict(y_scale=1.01), dict(drop_marker=True), dict(color="C3"),
                                    dict(noise=0.01)])
def test_figures_reject_a_curve_moved_by_one_percent_a_missing_marker_or_a_restyle(change):
    assert eq.figure_differences(_figure(), _figure(**change))


def _mesh(n_cells, scale=1.0):
    fig, ax = plt.subplots()
    ax.pcolormesh(np.arange(n_cells + 1.0), [0.0, 1.0], scale * np.arange(n_cells, dtype=float)[None])
    data = eq.figure_data(fig)
    plt.close(fig)
    return data


def test_figures_with_too_many_paths_to_record_compare():
    """A mesh of more than 2000 cells records its path count, not its paths: comparing two of them crashed the
    install of notebook 07's full profile ('could not convert string to float')."""
    assert eq.figure_differences(_mesh(2400), _mesh(2400)) == []
    assert eq.figure_differences(_mesh(2400), _mesh(2400, scale=1.1))          # the cell values moved
    assert eq.figure_differences(_mesh(2400), _mesh(2401))                     # another path count


def test_a_one_percent_move_is_invisible_in_pixels_but_not_in_the_data():
    """Why the rule compares data: on the 16-decade axis a 1 % shift moves the curve by ~0.1 pixel."""
    from matplotlib.testing.compare import calculate_rms

    def pixels(scale):
        k = np.arange(1, 201, dtype=float)
        fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
        ax.loglog(k, k ** -2.0 * scale)
        ax.set_ylim(1e-16, 1)
        fig.canvas.draw()
        img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float)
        plt.close(fig)
        return img
    assert calculate_rms(pixels(1.0), pixels(1.01)) < 1.0
    assert eq.figure_differences(_figure(), _figure(y_scale=1.01))


# ------------------------------------------------------------------ notebooks
def _cell(text, outputs):
    return {"cell_type": "code", "source": [text], "metadata": {}, "execution_count": 1, "outputs": outputs}


def _stream(text):
    return {"output_type": "stream", "name": "stdout", "text": [text]}


def test_merge_keeps_equivalent_outputs_and_takes_moved_ones():
    old = {"cells": [_cell("a", [_stream("x 0.1234\n")]), _cell("b", [_stream("y 0.5\n")])], "metadata": {}}
    new = {"cells": [_cell("a", [_stream("x 0.1235\n")]), _cell("b", [_stream("y 0.7\n")])], "metadata": {}}
    merged, moved = eq.merge_notebook(old, new)
    assert merged["cells"][0]["outputs"] == old["cells"][0]["outputs"]
    assert merged["cells"][1]["outputs"] == new["cells"][1]["outputs"]
    assert moved == ["cell 1: 0.5 -> 0.7"]
    edited = {"cells": [_cell("a2", [_stream("x 0.1234\n")]), _cell("b", [_stream("y 0.5\n")])], "metadata": {}}
    assert eq.merge_notebook(old, edited) == (edited, ["cells changed (sources edited)"])


def test_embedded_figures_follow_their_figure_verdict():
    png = lambda b: {"output_type": "execute_result", "data": {"image/png": b, "text/plain": ["<figure 01_x>"]},  # noqa
                     "metadata": {eq.FIGURE_KEY: "01_x"}, "execution_count": 1}
    assert eq.output_differences([png("AAA")], [png("BBB")], figures={"01_x": True}) == []
    assert eq.output_differences([png("AAA")], [png("BBB")], figures={"01_x": False})


def test_simulated_cpus_only_offer_what_this_cpu_runs():
    for name, env in eq.simulated_cpus().items():
        assert set(env) == {"NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE"}


def test_data_beyond_the_axis_limits_is_compared_as_drawn():
    def fig(tail):
        k = np.arange(1, 11, dtype=float)
        f, ax = plt.subplots()
        y = k ** -2.0
        y[-1] = tail                                          # far below the visible range
        ax.semilogy(k, y)
        ax.set_ylim(1e-5, 2)
        data = eq.figure_data(f)
        plt.close(f)
        return data
    assert eq.figure_differences(fig(1.3e-8), fig(1.31e-8)) == []
    assert eq.figure_differences(fig(1.3e-8), fig(2e-2))
