"""One shape for every notebook, and one direction for the imports.

- A notebook is ``# NN · title`` then the five sections ``## 1 · Claim``, ``## 2 · Derivation``,
  ``## 3 · Simulation``, ``## 4 · Verdict(s)``, ``## 5 · Figure(s)`` in this order (more may follow).
- Claim ids are ``NN-kebab-case`` with the notebook's number; figure names start with ``NN_``.
- A code cell registers at most one claim (one id in both branches of an if/else counts once).
- The science modules import from the harness only ``checks`` and ``blas``.
"""
import ast
import json
import re
from pathlib import Path

import pytest

from sparsebounds.harness import claims, runner

NOTEBOOKS = sorted(runner.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
PACKAGE = Path(runner.__file__).resolve().parents[1]
SECTIONS = [r"1 · Claim", r"2 · Derivation", r"3 · Simulation", r"4 · Verdicts?", r"5 · Figures?"]
SCIENCE_MAY_IMPORT = {"checks", "blas"}


def headings(nb: dict) -> list[str]:
    return [ln for c in nb["cells"] if c["cell_type"] == "markdown"
            for ln in "".join(c["source"]).splitlines() if re.match(r"#{1,2} ", ln)]


def shape_problems(nb: dict, number: str) -> list[str]:
    """What breaks the shape (empty when the notebook keeps it)."""
    hs = headings(nb)
    problems = []
    if not hs or not hs[0].startswith(f"# {number} · "):
        problems.append(f"the first heading is not '# {number} · <title>' (got {hs[:1]})")
    sections = [h[3:] for h in hs if h.startswith("## ")]
    for i, want in enumerate(SECTIONS):
        if i >= len(sections) or not re.fullmatch(want, sections[i]):
            got = sections[i] if i < len(sections) else None
            problems.append(f"section {i + 1} should be '## {want}' (got {got!r})")
    figures, ids = runner._calls(nb)
    problems += [f"claim id {cid!r}: not {number}-kebab-case" for cid in ids
                 if not (claims.CLAIM_ID.fullmatch(cid) and cid.startswith(number + "-"))]
    problems += [f"figure {f!r}: does not start with {number}_" for f in figures if not f.startswith(number + "_")]
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            cell_ids = runner._calls({"cells": [cell]})[1]
            if len(cell_ids) > 1:
                problems.append(f"cell {i} registers {len(cell_ids)} claims ({', '.join(cell_ids)}): one per cell")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_notebook_has_the_shape(path):
    assert shape_problems(json.loads(path.read_text()), path.name[:2]) == []


def test_shape_check_can_fail():
    nb = json.loads(NOTEBOOKS[0].read_text())
    number = NOTEBOOKS[0].name[:2]
    broken = json.loads(json.dumps(nb))
    for c in broken["cells"]:
        c["source"] = "".join(c["source"]).replace("## 2 · Derivation", "## Derivation") \
            .replace(f'"{number}-', f'"{number}_')
    code = next(c for c in broken["cells"] if c["cell_type"] == "code")
    code["source"] += ("\nclaims.register('01-a', statement='s')\nclaims.register('01-b', statement='s')\n")
    problems = shape_problems(broken, number)
    assert any("section 2" in p for p in problems)
    assert any("kebab-case" in p for p in problems)
    assert any("registers 2 claims (01-a, 01-b)" in p for p in problems)


def test_register_refuses_another_id_style():
    from sparsebounds.harness import checks
    for bad in ("ista-rate", "01_ista_rate", "01-Ista-rate", "1-ista"):
        with pytest.raises(ValueError, match="NN-kebab-case"):
            claims.register(bad, statement="s", bound=1, symbols={}, kind="exact",
                            check=checks.equal(1, 1), evidence_class="identity", display=False)


def harness_imports(path: Path) -> set[str]:
    """The harness modules a science module imports (relative or absolute)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = ("." * node.level) + (node.module or "")
            if re.fullmatch(r"(\.|sparsebounds\.)harness", mod):
                found |= {a.name for a in node.names}
            elif m := re.fullmatch(r"(?:\.|sparsebounds\.)harness\.(\w+)", mod):
                found.add(m.group(1))
        elif isinstance(node, ast.Import):
            found |= {m.group(1) for a in node.names if (m := re.fullmatch(r"sparsebounds\.harness\.(\w+).*", a.name))}
    return found


SCIENCE = sorted(p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))


@pytest.mark.parametrize("path", SCIENCE, ids=lambda p: p.stem)
def test_science_imports_only_checks_and_blas_from_the_harness(path):
    assert harness_imports(path) <= SCIENCE_MAY_IMPORT


def test_import_direction_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from .harness import claims\nfrom .harness.runner import run\n"
                   "import sparsebounds.harness.figures\n")
    assert harness_imports(bad) == {"claims", "runner", "figures"}


def test_every_module_is_documented():
    import sparsebounds
    doc = sparsebounds.__doc__
    names = [p.stem for p in SCIENCE] + [f"harness.{p.stem}" for p in (PACKAGE / "harness").glob("*.py")
                                         if p.name != "__init__.py"]
    assert [n for n in names if not re.search(rf"^\s+{re.escape(n)}\s*--", doc, re.M)] == []
