"""Build the book: `python book/build.py [--out build/book] [-D setting=value ...]` (what `make book` runs).

1. Stage the sources in <out>/src: README.md as the home page (its wide claims table replaced by a pointer
   to the claims page), CONTRIBUTING.md, every notebooks/NN_*.ipynb, figures/ (PNGs and the claims
   report), and the generated pages: _toc.yml, claims.md, figures.md (book/pages.py). Not the notebooks'
   paired notebooks/NN_*.md (jupytext.toml): they hold the same cells without outputs, and rendering them
   would need a kernel; staged, they would also be second documents of the same name.
2. Run Sphinx with book/conf.py, warnings as errors, into <out>/html. The notebooks are rendered from
   their committed outputs (no kernel starts); MathJax is copied into the site (no network needed).

Open <out>/html/index.html in a browser, or serve it: `python -m http.server -d build/book/html`.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import pages  # noqa: E402

# sphinx-build, in a process that skips importing `rfc3987_syntax`: jsonschema (imported by nbformat) loads it
# only to check the "iri" string format, which the book never uses, and it compiles ~40 grammars on import
# (2-7 s on this machine, about a third of the whole build).
SPHINX = ("import sys; sys.modules['rfc3987_syntax'] = None; "
          "from sphinx.cmd.build import main; sys.exit(main(sys.argv[1:]))")


class BookBuildError(RuntimeError):
    """Sphinx failed; the message holds its warnings and errors."""


def stage(root: Path, src: Path) -> None:
    """Write the book's sources into ``src`` (emptied first)."""
    shutil.rmtree(src, ignore_errors=True)
    (src / "notebooks").mkdir(parents=True)
    (src / "figures").mkdir()
    nbs, figs, claims = pages.notebooks(root), pages.figures(root), pages.load_claims(root)
    for nb in nbs:
        shutil.copy2(nb, src / "notebooks" / nb.name)
    for f in sorted((root / "figures").iterdir()):
        if f.is_file() and not f.name.startswith("."):
            shutil.copy2(f, src / "figures" / f.name)
    shutil.copy2(root / "CONTRIBUTING.md", src / "CONTRIBUTING.md")
    (src / "index.md").write_text(pages.home_page((root / "README.md").read_text(encoding="utf-8"), claims),
                                  encoding="utf-8")
    for page in ("index.md", "CONTRIBUTING.md"):  # files the prose links to, e.g. figures/claims.json
        for rel in pages.linked_files((src / page).read_text(encoding="utf-8"), root):
            if not (src / rel).exists():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / rel, src / rel)
    (src / "_toc.yml").write_text(pages.toc_yaml(nbs), encoding="utf-8")
    (src / "claims.md").write_text(pages.claims_page(claims, nbs), encoding="utf-8")
    (src / "figures.md").write_text(pages.figures_page(figs, nbs), encoding="utf-8")


def build(out: Path, root: Path = ROOT, settings: list[str] = (), warnings_are_errors: bool = True,
          quiet: bool = True, conf_overrides: str = "") -> Path:
    """Stage and build; returns the folder holding index.html. Raises BookBuildError on any warning.

    ``settings`` are `-D name=value` overrides; ``conf_overrides`` is Python appended to a copy of
    conf.py (for settings `-D` cannot change, such as lists).
    """
    out = Path(out).resolve()
    src, html = out / "src", out / "html"
    stage(root, src)
    shutil.rmtree(html, ignore_errors=True)  # no page of a removed notebook survives
    confdir = HERE
    if conf_overrides:
        confdir = out / "conf"
        shutil.rmtree(confdir, ignore_errors=True)
        shutil.copytree(HERE / "_static", confdir / "_static")
        (confdir / "conf.py").write_text((HERE / "conf.py").read_text() + "\n" + conf_overrides + "\n")
    cmd = [sys.executable, "-c", SPHINX, "-b", "html", "-E", "-c", str(confdir), "-d", str(out / "doctrees"),
           str(src), str(html)]
    if warnings_are_errors:
        cmd[3:3] = ["-W", "--keep-going"]
    if quiet:
        cmd.insert(3, "-q")
    for s in settings:
        cmd += ["-D", s]
    run = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        raise BookBuildError(f"sphinx-build failed (exit {run.returncode}; warnings are errors):\n{run.stderr}")
    sys.stderr.write(run.stderr)
    return html


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "book"), help="output folder [build/book]")
    ap.add_argument("-D", dest="settings", action="append", default=[], help="override a Sphinx setting")
    ap.add_argument("--allow-warnings", action="store_true", help="do not turn warnings into errors")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        html = build(Path(args.out), settings=args.settings, warnings_are_errors=not args.allow_warnings)
    except BookBuildError as exc:
        print(f"book: {exc}", file=sys.stderr)
        return 1
    try:
        shown = html.relative_to(Path.cwd())
    except ValueError:
        shown = html
    print(f"book: built in {time.perf_counter() - t0:.1f} s -> {shown}/index.html "
          f"(or: python -m http.server -d {shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
