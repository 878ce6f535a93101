"""Where a notebook's figures go, and how they are saved so that a re-run is byte-identical.

The runner points ``SPARSEBOUNDS_FIGURES`` at a staging folder and moves the files into place only when
the whole notebook succeeded; opened by hand in Jupyter, figures go straight to the repository's figures/.
"""
from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import matplotlib

REPO_ROOT = Path(__file__).resolve().parents[3]
FIGURES_ENV = "SPARSEBOUNDS_FIGURES"


def figure_dir() -> Path:
    d = Path(os.environ.get(FIGURES_ENV) or REPO_ROOT / "figures")
    d.mkdir(parents=True, exist_ok=True)
    return d


def style() -> None:
    """One look for every figure; fixed salts so vector formats are reproducible too. Starts from
    matplotlib's own defaults, so a user's matplotlibrc (or a style set earlier) cannot change a figure."""
    matplotlib.rcdefaults()
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 4.2), "figure.dpi": 100, "savefig.dpi": 110,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "legend.fontsize": 8, "legend.frameon": False,
        "svg.hashsalt": "sparsebounds", "image.cmap": "viridis"})


class SavedFigure:
    """What :func:`save_figure` returns: displays as the PNG, tagged with the figure's name so that the runner
    can tell an embedded figure from its file (see ``equivalence.output_differences``)."""

    def __init__(self, name: str, png: bytes):
        self.name, self.png = name, png

    def _repr_mimebundle_(self, include=None, exclude=None):
        from .equivalence import FIGURE_KEY
        return ({"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": f"<figure {self.name}>"},
                {FIGURE_KEY: self.name})

    def __repr__(self):
        return f"<figure {self.name}>"


def save_figure(fig, name: str):
    """Save ``fig`` as ``<figure_dir>/<name>.png``, with its plotted data in ``<figure_dir>/data/<name>.json``
    (what "the same figure" is compared on), close it, and return it for display.

    ``name`` starts with the notebook's two-digit number (``01_gap_vs_k``): the runner owns figures by
    that prefix and removes the ones a notebook no longer makes.
    """
    import matplotlib.pyplot as plt

    from .equivalence import figure_data, write_figure_data

    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name {name!r}: give a bare name like '01_gap_vs_k'")
    data = figure_data(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    png = buf.getvalue()
    folder = figure_dir()
    write_figure_data(data, folder / "data" / f"{name}.json")
    path = folder / f"{name}.png"
    tmp = path.with_suffix(".png.tmp")
    tmp.write_bytes(png)
    os.replace(tmp, path)
    return SavedFigure(name, png)
