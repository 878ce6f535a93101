"""Sphinx configuration of the book (used as `sphinx-build -c book`; `book/build.py` stages the sources).

The site must work with no network at all: MathJax 3 is served from the site itself (the files ship in the
PyPI package `sphinx-mathjax-offline`; only the parts this book needs are copied), it is loaded on every
page (a notebook title with maths appears in every page's sidebar), and the notebooks are rendered from
their committed outputs, never executed.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

project = "sparsebounds"
author = "the sparsebounds authors"
copyright = "the sparsebounds authors"
html_title = "sparsebounds"

extensions = ["myst_nb", "sphinx_external_toc", "sphinx.ext.mathjax"]
external_toc_path = "_toc.yml"  # written by book/build.py, one entry per notebook found
exclude_patterns = ["figures/*.md", "_build", "**.ipynb_checkpoints"]

# Markdown and notebooks
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"               # render the committed outputs; no kernel is started
nb_render_markdown_format = "myst"      # claim lines (text/markdown outputs) may carry $maths$ too
nb_merge_streams = True
suppress_warnings = ["mystnb.unknown_mime_type"]  # the claim record's own MIME type; its text/markdown twin is shown

# MathJax, offline: Sphinx 9's default `mathjax_path` is a CDN URL (MathJax 4)
mathjax_path = "mathjax/tex-chtml.js"   # relative to _static/
MATHJAX_PACKAGE_DIR = "sphinx-mathjax-offline/static/mathjax"  # inside site-packages (not an importable name)
# What the site needs from MathJax 3.2.2: the combined TeX -> CommonHTML component, its woff-v2 fonts and
# the TeX extensions it autoloads (about 2 MB). CDN addresses inside the bundled speech-rule-engine (used
# only by speech/IE fallbacks that this site does not ship) are blanked, so the site names no CDN at all.
MATHJAX_PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions"]
CDN_PREFIX = re.compile(r"https?://cdn\.jsdelivr\.net/npm/")

# Theme
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}  # the theme logs a console error on a first visit without it


def _mathjax_source() -> Path:
    import site
    import sys

    for base in [*site.getsitepackages(), site.getusersitepackages(), *sys.path]:
        candidate = Path(base) / MATHJAX_PACKAGE_DIR
        if (candidate / "tex-chtml.js").is_file():
            return candidate
    raise RuntimeError("MathJax 3 not found: install the book's requirements (pip install -r requirements-book.txt)")


def copy_mathjax(app, exc):
    """Copy the needed MathJax files into the site's _static/mathjax (after a successful build)."""
    if exc is not None or app.builder.format != "html" or not app.config.mathjax_path.startswith("mathjax/"):
        return
    src, dest = _mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    shutil.rmtree(dest, ignore_errors=True)
    for part in MATHJAX_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            text = (src / part).read_text(encoding="utf-8")
            (dest / part).write_text(CDN_PREFIX.sub("", text), encoding="utf-8")


def setup(app):
    app.set_html_assets_policy("always")  # MathJax on every page, also those without maths in their body
    app.connect("build-finished", copy_mathjax)
