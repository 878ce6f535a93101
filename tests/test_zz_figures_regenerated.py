"""Runs last: the figures nbval just regenerated (into a scratch folder) equal the committed ones byte for
byte, so "delete the figures, rebuild them" gives back exactly what is committed."""
from pathlib import Path

import pytest

from sparsebounds.runner import FIGURES

import conftest


def test_regenerated_figures_are_byte_identical_to_committed():
    made = sorted(Path(conftest.SCRATCH).glob("*.png"))
    if not made:
        pytest.skip("no notebook was executed in this session (run `make test` to include them)")
    for png in made:
        committed = FIGURES / png.name
        assert committed.exists(), f"{png.name} is made by a notebook but not committed"
        assert committed.read_bytes() == png.read_bytes(), f"{png.name} differs from the committed figure"


def test_every_committed_figure_has_an_owner_notebook():
    from sparsebounds.runner import NOTEBOOKS
    prefixes = {p.name[:3] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    for png in FIGURES.glob("*.png"):
        assert png.name[:3] in prefixes, f"{png.name} has no notebook that regenerates it"
