"""The book (`make book`): Markdown that renders, generated pages, an offline site checked in a real browser.

- Static tests of the notebooks' Markdown (always run): no `\\|` in a table row, no `THEORY.md`, display
  maths `$$...$$` in a paragraph of its own.
- The claims and figures page generators, on both claims record formats (always run).
- The site itself (when the book's requirements and a `chromium` are installed; under CI=true they must be,
  and a missing one fails): it builds with 0 warnings, names no CDN, and the browser check
  (tools/book_check.py) finds no problem on it, but does on each deliberately broken copy of it.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
sys.path.insert(0, str(ROOT / "tools"))
import pages  # noqa: E402

NOTEBOOKS = pages.notebooks(ROOT)
BOOK_MODULES = ("sphinx", "myst_nb", "sphinx_book_theme", "sphinx_external_toc", "playwright")
SCREENSHOTS = ROOT / "build" / "book"
# hosts that serve scripts, styles or fonts to other sites
CDN_HOST = re.compile(r"(^|\.)(cdn[\w-]*|[\w-]*cdn)\.[a-z.]+$|"
                      r"^(unpkg\.com|cdnjs\.cloudflare\.com|fonts\.googleapis\.com|"
                      r"fonts\.gstatic\.com|ajax\.googleapis\.com|(use|kit|ka-f)\.fontawesome\.com|use\.typekit\.net|"
                      r"p\.typekit\.net|fonts\.bunny\.net|code\.jquery\.com|polyfill\.io|esm\.sh|skypack\.dev|"
                      r"cdn\.skypack\.dev|ga\.jspm\.io|rawcdn\.githack\.com|raw\.githack\.com)$")
URL = re.compile(r"(?:https?:)?//([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


# ------------------------------------------------------------------------------- Markdown of the notebooks
def _markdown_cells(nb_path: Path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            yield i, "".join(cell["source"])


def _without_code(text: str) -> str:
    """Markdown with fenced code blocks and inline code blanked out (same line structure)."""
    text = re.sub(r"(?ms)^(\s*)(```|~~~).*?^\s*\2[^\n]*$", lambda m: "\n" * m.group(0).count("\n"), text)
    return re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), text)


def display_maths_problems(text: str) -> list[str]:
    """Each `$$...$$` must be a paragraph of its own: blank line (or cell edge) before and after."""
    text = _without_code(text)
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(pos):
        return max(i for i, s in enumerate(starts) if s <= pos)

    marks = [m.start() for m in re.finditer(r"\$\$", text)]
    out = []
    if len(marks) % 2:
        out.append(f"unpaired $$ (line {line_of(marks[-1]) + 1})")
    for open_, close in zip(marks[::2], marks[1::2]):
        a, b = line_of(open_), line_of(close)
        before = text[starts[a]:open_]
        after = text[close + 2:starts[b + 1] - 1]
        ok = (not before.strip() and (a == 0 or not lines[a - 1].strip())
              and re.fullmatch(r"\s*(\([\w:-]+\))?\s*", after) and (b == len(lines) - 1 or not lines[b + 1].strip()))
        if not ok:
            out.append(f"line {a + 1}: display maths inside a paragraph: {text[open_:close + 2][:60]!r}")
    return out


def table_row_problems(text: str) -> list[str]:
    return [f"line {k + 1}: {line.strip()[:70]!r}" for k, line in enumerate(_without_code(text).split("\n"))
            if line.lstrip().startswith("|") and "\\|" in line]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[nb.stem[:2] for nb in NOTEBOOKS])
def test_notebook_markdown_renders_in_a_book(nb):
    """What only a MyST renderer shows: `\\|` in a table row renders as |w| (write \\Vert), `$$` inside a
    paragraph swallows the paragraph, and THEORY.md is not in the repository (cite the source itself)."""
    problems = []
    for i, text in _markdown_cells(nb):
        problems += [f"cell {i}, {p}: '\\|' in a table row (write \\Vert)" for p in table_row_problems(text)]
        problems += [f"cell {i}, {p}" for p in display_maths_problems(text)]
    if "theory.md" in nb.read_text(encoding="utf-8").lower():
        problems.append("cites THEORY.md, which is not in the repository: name the source itself")
    assert not problems, f"{nb.name}:\n" + "\n".join(problems)


def test_markdown_checks_catch_the_known_problems():
    assert table_row_problems("| a | $\\|w\\|_1$ |\n|---|---|") and not table_row_problems("| a | $\\Vert w\\Vert$ |")
    assert not table_row_problems("text with $\\|w\\|$ outside a table")
    assert display_maths_problems("We have $$x = 1$$ here.")
    assert display_maths_problems("We have\n$$x = 1$$\nhere.")
    assert display_maths_problems("$$x")
    assert not display_maths_problems("We have\n\n$$x = 1$$\n\nhere.")
    assert not display_maths_problems("$$\n a \\\\\n b\n$$ (eq-label)\n\nnext")
    assert not display_maths_problems("```\necho $$PID\n```")


# ------------------------------------------------------------------------------------- generated pages
OLD_RECORD = {"id": "old-claim", "notebook": "01_x", "kind": "upper bound", "verdict": "violated",
              "statement": "S <= T", "bound": "T", "evidence": {"max_ratio": 1.2, "holds": False}}
NEW_RECORDS = [
    {"id": "new-untestable", "notebook": "02_y", "kind": "monotone", "evidence_class": "untestable",
     "verdict": "untestable", "expected_verdict": "untestable", "reason": "B K = 382 > rank 64",
     "statement": "rank falls with $\\lambda$", "bound": "r", "symbols": {"r": "rank"}, "evidence": {}},
    {"id": "new-expected", "notebook": "02_y", "kind": "rate", "evidence_class": "test", "verdict": "violated",
     "expected_verdict": "violated", "expected_reason": "finite-m correction", "statement": "rate -1/2",
     "bound": "-1/2", "evidence": {"parts": [{"test": "slope", "value": -0.48, "holds": False}]},
     "rejects": [{"alternative": "slope -1", "rejected": True, "evidence": {"value": -0.48}}], "note": "see 04"},
    {"id": "new-surprise", "notebook": "02_y", "kind": "exact", "evidence_class": "identity",
     "verdict": "violated", "expected_verdict": "holds", "statement": "a = b", "bound": "a", "evidence": {}},
]


def test_claims_page_reads_both_record_formats(tmp_path):
    nbs = [tmp_path / "01_x.ipynb", tmp_path / "02_y.ipynb"]
    page = pages.claims_page([OLD_RECORD] + NEW_RECORDS, nbs)
    rows = re.findall(r'<tbody class="sb-claim" id="claim-([^"]+)">(.*?)</tbody>', page, re.S)
    assert [r[0] for r in rows] == ["old-claim", "new-untestable", "new-expected", "new-surprise"]
    cells = {i: re.findall(r'<td class="sb-(?:nb|kind|class|verdict)[^"]*">(.*?)</td>', body) for i, body in rows}
    assert cells["old-claim"][2:] == ["—", "VIOLATED"]
    assert cells["new-untestable"][2:] == ["untestable", "untestable here"]
    assert cells["new-expected"][2:] == ["test", "VIOLATED (expected)"]
    assert cells["new-surprise"][2:] == ["identity", "VIOLATED (unexpected)"]
    assert 'href="notebooks/02_y.html"' in page
    assert "B K = 382 &gt; rank 64" in page and "finite-m correction" in page and "slope -1" in page
    assert '<span class="math notranslate nohighlight">\\(\\lambda\\)</span>' in page  # $...$ becomes maths
    assert ("4 claims in 2 notebooks: 1 test: 0 hold, 1 violated as expected · 1 identity: 0 hold, 1 violated "
            "unexpectedly · 1 untestable here · 1 without an evidence class.") in page   # identities apart


def test_figures_are_owned_by_their_notebook_prefix(tmp_path):
    nbs = [tmp_path / "01_a.ipynb", tmp_path / "10_b.ipynb"]
    assert pages.figure_owner(tmp_path / "10_curve.png", nbs) == nbs[1]
    with pytest.raises(ValueError, match="owner"):
        pages.figure_owner(tmp_path / "11_orphan.png", nbs)


def test_linked_repository_files_are_shipped(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "checks.py").write_text("x = 1\n")
    (tmp_path / "CONTRIBUTING.md").write_text("# c\n")
    md = ("[a](lib/checks.py) [b](lib/checks.py#L3) [c](CONTRIBUTING.md) [d](https://example.org/x.py) "
          "[e](#anchor) [f](missing.txt) [g](../outside.txt)")
    assert pages.linked_files(md, tmp_path) == ["lib/checks.py"]


def test_book_stages_the_executed_notebooks_not_their_markdown_twins(tmp_path):
    """The pages are the .ipynb files (committed outputs, no kernel); their paired .md files (jupytext.toml)
    have no outputs and must not become pages of the same name."""
    import build as book_build
    book_build.stage(ROOT, tmp_path / "src")
    staged = sorted(p.name for p in (tmp_path / "src" / "notebooks").iterdir())
    assert staged == [nb.name for nb in NOTEBOOKS]
    assert all(nb.with_suffix(".md").is_file() for nb in NOTEBOOKS), "every notebook has its .md"
    for md in (tmp_path / "src").rglob("*.md"):
        assert "jupytext:" not in md.read_text(encoding="utf-8").split("\n---\n", 1)[0], f"{md}: a text notebook"


def test_home_page_points_at_the_claims_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    home = pages.home_page(readme, pages.load_claims(ROOT))
    assert pages.CLAIMS_START not in home and "](claims.md)" in home and "](figures/claims.md)" not in home


def test_cdn_pattern_knows_the_usual_hosts():
    hosts = ["cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com", "fonts.gstatic.com",
             "use.fontawesome.com", "use.typekit.net", "polyfill.io", "ajax.googleapis.com",
             "stackpath.bootstrapcdn.com"]
    assert all(CDN_HOST.search(h) for h in hosts)
    assert not any(CDN_HOST.search(h) for h in ["www.w3.org", "fontawesome.com", "www.mathjax.org", "github.com"])
    assert URL.findall('src="https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"') == ["cdn.jsdelivr.net"]


# ----------------------------------------------------------------------------------- the site, in a browser
def _missing_book_requirements() -> list[str]:
    missing = [m for m in BOOK_MODULES if importlib.util.find_spec(m) is None]
    import book_check
    if not book_check.chromium_path():
        missing.append("chromium (Debian package)")
    return missing


class _Builds:
    """The real site and the 'dollar maths off' site, built side by side in threads (two cores)."""

    def __init__(self, out: Path):
        import build as book_build
        self.sites, self.errors, self.seconds, self.threads = {}, {}, {}, {}
        no_dollars = "myst_enable_extensions = [e for e in myst_enable_extensions if e != 'dollarmath']"
        jobs = {"site": ("", True), "no-dollarmath": (no_dollars, False)}
        for name, (overrides, strict) in jobs.items():
            def run(name=name, overrides=overrides, strict=strict):
                t0 = time.perf_counter()
                try:
                    self.sites[name] = book_build.build(out / name, conf_overrides=overrides,
                                                        warnings_are_errors=strict)
                except Exception as exc:  # noqa: BLE001 - reported by the test that needs this site
                    self.errors[name] = exc
                self.seconds[name] = time.perf_counter() - t0
            self.threads[name] = threading.Thread(target=run)
            self.threads[name].start()

    def get(self, name: str) -> Path:
        self.threads[name].join()
        if name in self.errors:
            pytest.fail(f"building the book ({name}) failed: {self.errors[name]}")
        return self.sites[name]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    missing = _missing_book_requirements()
    if missing:
        msg = (f"the book's requirements are missing: {', '.join(missing)} "
               "(pip install -r requirements-book.txt; apt-get install chromium)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("under CI " + msg)
        pytest.skip(msg)
    return _Builds(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def site(builds):
    return builds.get("site")


@pytest.fixture(scope="module")
def browser(builds):
    import book_check
    with book_check.Browser() as b:
        yield b


def test_book_builds_without_warnings(builds, site):
    """`-W`: a single Sphinx warning fails the build. Built from the committed notebooks, no kernel."""
    assert (site / "index.html").is_file()
    print(f"book built in {builds.seconds['site']:.1f} s")


def test_every_notebook_has_a_page_and_every_figure_appears(site):
    figures_html = (site / "figures.html").read_text(encoding="utf-8")
    for nb in NOTEBOOKS:
        assert (site / "notebooks" / f"{nb.stem}.html").is_file(), f"no page for {nb.name}"
        assert f'href="notebooks/{nb.stem}.html' in (site / "index.html").read_text(encoding="utf-8")
    for fig in pages.figures(ROOT):
        assert f'src="_images/{fig.name}"' in figures_html, f"{fig.name} not on the figures page"
        assert (site / "_images" / fig.name).read_bytes() == fig.read_bytes()


def test_site_names_no_cdn(site):
    """No URL of a CDN, unpkg or a font service anywhere in the site (HTML, scripts, styles, maps)."""
    found = set()
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".css", ".map", ".json", ".txt", ".svg", ".inv"):
            for host in URL.findall(path.read_text(encoding="utf-8", errors="replace")):
                if CDN_HOST.search(host.lower()):
                    found.add(f"{path.relative_to(site)}: {host}")
    assert not found, "\n".join(sorted(found))
    scripts = set(re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', (site / "index.html").read_text()))
    assert scripts == {"_static/mathjax/tex-chtml.js"}, scripts
    assert (site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_browser_finds_no_problem(site, browser):
    """Every page, with non-local requests blocked: see tools/book_check.py for the list of checks.
    Takes the two screenshots into build/book/ (book-notebook.png, book-claims.png)."""
    import book_check
    t0 = time.perf_counter()
    problems = book_check.check_site(site, ROOT, screenshots=SCREENSHOTS, browser=browser)
    print(f"browser check of {len(book_check.site_pages(site))} pages: {time.perf_counter() - t0:.1f} s")
    assert not problems, "\n".join(problems)
    assert (SCREENSHOTS / "book-claims.png").is_file() and (SCREENSHOTS / "book-notebook.png").is_file()


def _copy(site: Path, dest: Path) -> Path:
    shutil.copytree(site, dest)
    return dest


def _mathjax_removed(site, dest):
    shutil.rmtree(_copy(site, dest) / "_static" / "mathjax")
    return dest


def _mathjax_from_cdn(site, dest):
    """What Sphinx writes when `mathjax_path` keeps its default (a CDN URL)."""
    import sphinx.util.logging  # noqa: F401  (sphinx.ext.mathjax needs it imported first)
    from sphinx.ext.mathjax import MATHJAX_URL
    _copy(site, dest)
    for page in dest.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        page.write_text(re.sub(r'src="[^"]*_static/mathjax/tex-chtml\.js"', f'src="{MATHJAX_URL}"', text),
                        encoding="utf-8")
    return dest


def _notebook_page_deleted(site, dest):
    (_copy(site, dest) / "notebooks" / f"{NOTEBOOKS[-1].stem}.html").unlink()
    return dest


def _figure_deleted(site, dest):
    (_copy(site, dest) / "_images" / pages.figures(ROOT)[0].name).unlink()
    return dest


def _claims_table_too_wide(site, dest):
    """The README's table was ~1,600 px wide: a claims table that wide pushes verdicts off-screen."""
    css = _copy(site, dest) / "_static" / "book.css"
    css.write_text(css.read_text(encoding="utf-8") + "\ntable.sb-claims { width: 1600px; }\n", encoding="utf-8")
    return dest


MUTANTS = {  # name: (how to break the site, what the browser check must then report)
    "mathjax-removed": (_mathjax_removed, r"MathJax"),
    "mathjax-from-cdn": (_mathjax_from_cdn, r"non-local request blocked: https://cdn"),
    "notebook-page-deleted": (_notebook_page_deleted,
                              r"link to a missing page or file: .*/notebooks/" + NOTEBOOKS[-1].stem),
    "figure-deleted": (_figure_deleted, r"image does not load|does not appear"),
    "dollar-maths-off": (None, r"raw TeX in visible prose"),
    "claims-table-too-wide": (_claims_table_too_wide, r"verdict of claim-\S+ not visible at 1280 px"),
}


@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_browser_check_fails_on_a_broken_site(mutant, builds, site, browser, tmp_path):
    import book_check
    make, expected = MUTANTS[mutant]
    broken = builds.get("no-dollarmath") if make is None else make(site, tmp_path / "site")
    t0 = time.perf_counter()
    problems = book_check.check_site(broken, ROOT, fail_fast=True, browser=browser)
    print(f"{mutant}: {len(problems)} problems in {time.perf_counter() - t0:.1f} s, first: {problems[:1]}")
    assert problems, f"the browser check passed a broken site ({mutant})"
    assert any(re.search(expected, p) for p in problems), problems
