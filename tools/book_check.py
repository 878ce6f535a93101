"""Check the built book in a real headless browser: `python tools/book_check.py [build/book/html]`.

Serves the site on 127.0.0.1, opens every page in Chromium (Debian's `chromium`, driven by Playwright from
PyPI; no browser download) with every non-local request blocked, and reports each problem found:

- a failed or blocked request, an HTTP error, a console error or an uncaught script error;
- MathJax not loaded exactly once, a formula left untypeset, a MathJax error;
- raw `$`, `\\(`, `\\[` or `\\begin{` left in visible prose;
- an image that does not load, a local link (or #anchor) that leads nowhere;
- a notebook without its page, a figure missing from the figures page or from its notebook's page;
- a claims-page verdict not visible at 1,280 px, or any horizontal scrolling there.

`tests/test_book.py` runs it on the freshly built site (and on deliberately broken copies, which must fail).
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book"))
import pages  # noqa: E402

WIDTH, HEIGHT = 1280, 900
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
MATHJAX_SCRIPT = re.compile(r"mathjax|tex-(mml-)?(chtml|svg)", re.I)
RAW_TEX = re.compile(r"\$|\\\(|\\\[|\\begin\{")

# Runs in the page once it has loaded; returns what the checks need.
PAGE_PROBE = r"""
async () => {
  const out = {};
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise(r => setTimeout(r, 10000))]);
  }
  await document.fonts.ready;
  out.mathjaxVersion = (window.MathJax && MathJax.version) || null;
  out.mathjaxScripts = [...document.querySelectorAll('script[src]')].map(s => s.src)
    .filter(s => /mathjax|tex-(mml-)?(chtml|svg)/i.test(s));
  const formulas = [...document.querySelectorAll('.math')];
  out.formulas = formulas.length;
  out.untypeset = formulas.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80));
  out.mathErrors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
    .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));
  // raw TeX in visible prose (code, pre and typeset maths are not prose)
  const skip = 'script, style, pre, code, kbd, samp, textarea, mjx-container, .highlight, svg';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  out.rawTex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    if (!/\$|\\\(|\\\[|\\begin\{/.test(t)) continue;
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    const r = el.getClientRects();
    const style = getComputedStyle(el);
    if (!r.length || style.visibility === 'hidden' || style.display === 'none') continue;
    out.rawTex.push(t.trim().slice(0, 120));
  }
  // images: load lazy ones too
  const imgs = [...document.images];
  for (const img of imgs) { img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.complete ? null : img.decode().catch(() => null)));
  out.images = imgs.map(img => ({src: img.currentSrc || img.src, ok: img.complete && img.naturalWidth > 0}));
  out.links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  return out;
}
"""

# The claims page at 1,280 px: every verdict visible, nothing scrolls sideways.
CLAIMS_PROBE = r"""
() => {
  const vw = document.documentElement.clientWidth;
  const out = {viewport: vw, pageScroll: document.documentElement.scrollWidth - vw, verdicts: [], scrollers: []};
  for (const td of document.querySelectorAll('td.sb-verdict')) {
    const r = td.getBoundingClientRect();
    const s = getComputedStyle(td);
    const id = td.closest('tbody') ? td.closest('tbody').id : '?';
    out.verdicts.push({id, left: r.left, right: r.right, width: r.width, height: r.height,
                       shown: s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0,
                       text: td.textContent.trim()});
    for (let el = td.parentElement; el && el !== document.documentElement; el = el.parentElement) {
      if (el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(getComputedStyle(el).overflowX)) {
        out.scrollers.push((el.className || el.tagName) + ` scrolls ${el.scrollWidth - el.clientWidth}px`);
      }
    }
  }
  out.scrollers = [...new Set(out.scrollers)];
  return out;
}
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path):
    """A local HTTP server for ``site`` in a thread; returns (server, base URL)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site (theme templates under _static are not pages): home, figures and claims
    first, then the notebooks, then the rest."""
    rels = [p.relative_to(site).as_posix() for p in site.rglob("*.html")]
    rels = [r for r in rels if not r.startswith(("_static/", "_sources/", "_downloads/"))]
    first = ["index.html", "figures.html", "claims.html"]
    return sorted(rels, key=lambda r: (first.index(r) if r in first else 3 + (not r.startswith("notebooks/")), r))


@functools.lru_cache(maxsize=None)
def _anchors(path: Path) -> frozenset:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(unquote(m) for m in re.findall(r'\b(?:id|name)="([^"]+)"', text))


def _local_target(site: Path, base: str, url: str):
    """(file, fragment) of a local URL, or None when the URL is not local."""
    if not url.startswith(base):
        return None
    parts = urlsplit(url)
    rel = unquote(parts.path)[len(urlsplit(base).path):]
    target = site / rel
    if rel == "" or rel.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """Headless Chromium (Debian's), driven by Playwright, with a fresh temporary profile (Playwright makes
    one per launch). One launch can check several sites: each check opens its own fresh browser context."""

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        path = chromium_path()
        if not path:
            raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
        self.pw = sync_playwright().start()
        try:
            self.browser = self.pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        except Exception:
            self.pw.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.browser.close()
        self.pw.stop()


def check_claims_page(info: dict, n_claims: int, problem) -> None:
    if len(info["verdicts"]) != n_claims:
        problem(f"claims.html: {len(info['verdicts'])} verdicts shown for {n_claims} claims")
    if info["pageScroll"] > 0:
        problem(f"claims.html: the page scrolls sideways by {info['pageScroll']} px at {WIDTH} px")
    for s in info["scrollers"]:
        problem(f"claims.html: verdicts inside a sideways-scrolling box: {s}")
    for v in info["verdicts"]:
        if not v["shown"] or v["left"] < 0 or v["right"] > info["viewport"]:
            problem(f"claims.html: verdict of {v['id']} not visible at {WIDTH} px "
                    f"(x {v['left']:.0f}-{v['right']:.0f}, viewport {info['viewport']})")


def check_site(site: Path, root: Path = ROOT, screenshots: Path | None = None, fail_fast: bool = False,
               log=None, browser: Browser | None = None) -> list[str]:
    """Every problem the browser finds in the site at ``site`` (empty list: the site is good).

    What must be there (notebooks, figures, claims) is read from the repository at ``root``. With
    ``fail_fast``, stop after the first page on which the browser finds a problem.
    """
    site = Path(site).resolve()
    _anchors.cache_clear()
    problems: list[str] = []
    nbs, figs, claims = pages.notebooks(root), pages.figures(root), pages.load_claims(root)
    all_pages = site_pages(site)

    def problem(msg):
        problems.append(msg)
        if log:
            log(msg)

    # pages that must exist, whatever the browser says
    for required in ["index.html", "claims.html", "figures.html"] + [f"notebooks/{nb.stem}.html" for nb in nbs]:
        if required not in all_pages:
            problem(f"{required}: page missing")

    n_before_browser = len(problems)
    own_browser = browser is None
    if own_browser:
        browser = Browser().__enter__()
    server, base = serve(site)
    ctx = None
    try:
        ctx = browser.browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, service_workers="block")
        events: list[str] = []
        requests: list[str] = []

        def route(r):
            if r.request.url.startswith(base):
                r.continue_()
            else:
                events.append(f"non-local request blocked: {r.request.url}")
                r.abort("blockedbyclient")

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("console", lambda m: events.append(f"console {m.type}: {m.text[:200]}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: events.append(f"script error: {str(e)[:200]}"))
        page.on("requestfailed", lambda r: events.append(
            f"request failed: {r.url} ({r.failure})") if r.url.startswith(base) else None)
        page.on("request", lambda r: requests.append(r.url))
        page.on("response", lambda r: events.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

        loaded_images: dict[str, set] = {}
        for rel in all_pages:
            if fail_fast and len(problems) > n_before_browser:
                break
            events.clear()
            requests.clear()
            t0 = time.perf_counter()
            try:
                page.goto(base + rel, wait_until="load", timeout=20000)
                info = page.evaluate(PAGE_PROBE)
            except Exception as exc:  # noqa: BLE001 - any failure to load is a finding
                problem(f"{rel}: did not load ({str(exc).splitlines()[0][:200]})")
                continue
            for e in dict.fromkeys(events):
                problem(f"{rel}: {e}")
            mj_requests = [u for u in requests if MATHJAX_SCRIPT.search(urlsplit(u).path.rsplit('/', 1)[-1])
                           and u.endswith(".js") and "/input/" not in u and "/output/" not in u]
            if len(info["mathjaxScripts"]) != 1 or len(mj_requests) != 1:
                problem(f"{rel}: MathJax loaded {len(info['mathjaxScripts'])} times by script tags, "
                        f"{len(mj_requests)} times over the network (expected exactly once): "
                        f"{info['mathjaxScripts'] + mj_requests}")
            if not (info["mathjaxVersion"] or "").startswith("3."):
                problem(f"{rel}: MathJax 3 is not running (version {info['mathjaxVersion']})")
            if info["untypeset"]:
                problem(f"{rel}: {len(info['untypeset'])} of {info['formulas']} formulas not typeset, "
                        f"e.g. {info['untypeset'][0]!r}")
            for err in info["mathErrors"]:
                problem(f"{rel}: MathJax error: {err}")
            for raw in info["rawTex"][:5]:
                problem(f"{rel}: raw TeX in visible prose: {raw!r}")
            for img in info["images"]:
                if not img["ok"]:
                    problem(f"{rel}: image does not load: {img['src']}")
            loaded_images[rel] = {img["src"] for img in info["images"] if img["ok"]}
            for href in dict.fromkeys(info["links"]):
                target = _local_target(site, base, href)
                if target is None:
                    continue
                path, frag = target
                if not path.is_file():
                    problem(f"{rel}: link to a missing page or file: {href}")
                elif frag and path.suffix == ".html" and frag not in _anchors(path):
                    problem(f"{rel}: link to a missing anchor: {href}")
            if rel == "claims.html":  # every verdict visible at 1,280 px, nothing scrolls sideways
                claims_info = page.evaluate(CLAIMS_PROBE)
                check_claims_page(claims_info, len(claims), problem)
            if log:
                log(f"{rel}: {info['formulas']} formulas, {len(info['images'])} images, "
                    f"{len(info['links'])} links ({time.perf_counter() - t0:.1f} s)")
            if screenshots is not None and rel in ("claims.html", f"notebooks/{nbs[0].stem}.html" if nbs else ""):
                screenshots.mkdir(parents=True, exist_ok=True)
                page.evaluate("window.scrollTo(0, 0)")
                name = "claims" if rel == "claims.html" else "notebook"
                page.screenshot(path=str(screenshots / f"book-{name}.png"))

        # every figure on the figures page, by name, and inside its notebook's page, by content
        on_figures_page = {unquote(urlsplit(s).path).rsplit("/", 1)[-1] for s in loaded_images.get("figures.html", ())}
        for f in figs:
            if "figures.html" in loaded_images and f.name not in on_figures_page:
                problem(f"figures.html: figure {f.name} does not appear")
            owner = f"notebooks/{pages.figure_owner(f, nbs).stem}.html"
            digest = hashlib.sha256(f.read_bytes()).digest()
            shown = set()
            for src in loaded_images.get(owner, ()):
                target = _local_target(site, base, src)
                if target and target[0].is_file():
                    shown.add(hashlib.sha256(target[0].read_bytes()).digest())
            if owner in loaded_images and digest not in shown:
                problem(f"{owner}: figure {f.name} does not appear in its notebook")

    finally:
        if ctx is not None:
            ctx.close()
        server.shutdown()
        server.server_close()
        if own_browser:
            browser.__exit__(None, None, None)
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", nargs="?", default=str(ROOT / "build" / "book" / "html"))
    ap.add_argument("--screenshots", default=str(ROOT / "build" / "book"), help="folder for the two screenshots")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not chromium_path():
        print("no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    problems = check_site(Path(args.site), screenshots=Path(args.screenshots),
                          log=print if args.verbose else None)
    for p in problems:
        print(p)
    print(f"book check: {len(problems)} problems ({time.perf_counter() - t0:.1f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
