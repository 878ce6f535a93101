"""Runs last: the figures nbval just regenerated (into a scratch folder, on a simulated foreign CPU where
possible) are the committed ones under the equivalence rule — the same plotted data, not the same bytes."""
from pathlib import Path

import pytest

import conftest
from sparsebounds.harness import equivalence as eq
from sparsebounds.harness.runner import FIGURES, NOTEBOOKS


def test_regenerated_figures_are_equivalent_to_committed():
    made = sorted(Path(conftest.SCRATCH).glob("*.png"))
    if not made:
        pytest.skip("no notebook was executed in this session (run `make test` to include them)")
    moved = []
    for png in made:
        name = png.stem
        assert (FIGURES / png.name).exists(), f"{png.name} is made by a notebook but not committed"
        old = eq.read_figure_data(FIGURES / "data" / f"{name}.json")
        new = eq.read_figure_data(Path(conftest.SCRATCH) / "data" / f"{name}.json")
        assert old is not None, f"figures/data/{name}.json (the committed figure's data) is missing"
        assert new is not None, f"{name}: the notebook saved it without figures.save_figure"
        moved += eq.figure_differences(old, new, name)
    assert not moved, "regenerated figures differ from the committed ones:\n" + "\n".join(moved)


def test_every_committed_figure_has_an_owner_notebook_and_its_data():
    prefixes = {p.name[:3] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    for png in FIGURES.glob("*.png"):
        assert png.name[:3] in prefixes, f"{png.name} has no notebook that regenerates it"
        assert (FIGURES / "data" / f"{png.stem}.json").exists(), f"{png.name} is committed without its data"
    for data in (FIGURES / "data").glob("*.json"):
        assert (FIGURES / f"{data.stem}.png").exists(), f"figures/data/{data.name} belongs to no figure"
