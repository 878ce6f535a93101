"""Where a notebook's figures go, and how they are saved so that a re-run is byte-identical.

The runner points ``SPARSEBOUNDS_FIGURES`` at a staging folder and moves the files into place only when
the whole notebook succeeded; opened by hand in Jupyter, figures go straight to the repository's figures/.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

REPO_ROOT = Path(__file__).resolve().parents[2]
FIGURES_ENV = "SPARSEBOUNDS_FIGURES"


def figure_dir() -> Path:
    d = Path(os.environ.get(FIGURES_ENV) or REPO_ROOT / "figures")
    d.mkdir(parents=True, exist_ok=True)
    return d


def style() -> None:
    """One look for every figure; fixed salts so vector formats are reproducible too."""
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 4.2), "figure.dpi": 100, "savefig.dpi": 110,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "legend.fontsize": 8, "legend.frameon": False,
        "svg.hashsalt": "sparsebounds", "image.cmap": "viridis"})


def roundoff(x: float, floor: float = 1e-12, fmt: str = ".2g") -> str:
    """Format a quantity that is round-off when the claim holds: 'below 1e-12' rather than '2.7e-16' (the
    digits of round-off differ from machine to machine and mean nothing)."""
    x = float(x)
    return f"below {floor:g}" if abs(x) < floor else format(x, fmt)


def save_figure(fig, name: str):
    """Save ``fig`` as ``<figure_dir>/<name>.png`` deterministically, close it, return it for display.

    ``name`` starts with the notebook's two-digit number (``01_gap_vs_k``): the runner owns figures by
    that prefix and removes the ones a notebook no longer makes.
    """
    from IPython.display import Image
    import matplotlib.pyplot as plt

    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name {name!r}: give a bare name like '01_gap_vs_k'")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    data = buf.getvalue()
    path = figure_dir() / f"{name}.png"
    tmp = path.with_suffix(".png.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return Image(data=data, format="png")
