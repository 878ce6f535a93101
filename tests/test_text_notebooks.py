"""Every notebook is a pair (jupytext.toml): notebooks/NN_name.md, MyST Markdown, the text people edit and
review, and notebooks/NN_name.ipynb, the same cells with their executed outputs (what nbval, the book and
readers use). The .md is the source: `make sync` writes its cells into the .ipynb, keeping the outputs, and
`make figures` executes them. These tests fail when a pair disagrees, naming the notebook, the first
differing cell and the command that fixes it."""
import itertools
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PAIRED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TEXTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))
# cell metadata that is run state or view state: jupytext keeps it in the .ipynb and out of the .md
IGNORED_CELL_METADATA = {"execution", "papermill", "ExecuteTime", "collapsed", "scrolled", "trusted", "autoscroll"}


def _fix(md: Path) -> str:
    return (f"The .md is the source: run `make sync` (jupytext --update --to ipynb notebooks/{md.name}: it writes "
            f"the .md's cells into the .ipynb, keeping the outputs), then `make figures` to execute them. If "
            f"the .ipynb holds the edit you want (made in Jupyter without jupytext), first carry it into the .md "
            f"with `.venv/bin/jupytext --to md:myst notebooks/{md.with_suffix('.ipynb').name}`.")


def _cell_metadata(cell) -> dict:
    return {k: v for k, v in cell.get("metadata", {}).items() if k not in IGNORED_CELL_METADATA}


def _first_difference(a: str, b: str) -> str:
    """The first line where source ``a`` (.md) and ``b`` (.ipynb) differ."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(itertools.zip_longest(la, lb)):
        if x != y:
            return f"line {i + 1}: .md {x!r} vs .ipynb {y!r}"
    return f"trailing whitespace: .md {a[-20:]!r} vs .ipynb {b[-20:]!r}"


def _describe(cell) -> str:
    if cell is None:
        return "no cell"
    first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
    return f"{cell.cell_type} cell {first[:60]!r}"


def pair_differences(ipynb: Path) -> list[str]:
    """What differs between ``ipynb`` and its .md beside it: the notebook-level `sparsebounds` metadata and the
    first differing cell (type, source, tags and any other cell metadata). Empty when the pair agrees."""
    md = ipynb.with_suffix(".md")
    name = ipynb.stem
    if not md.exists():
        return [f"{name}: {md.name} is missing. The .md is the text people edit; create it once with "
                f"`.venv/bin/jupytext --to md:myst notebooks/{ipynb.name}`."]
    text = jupytext.read(md, fmt="md:myst")
    nb = nbformat.read(ipynb, as_version=4)
    problems = []
    if text.metadata.get("sparsebounds") != nb.metadata.get("sparsebounds"):
        problems.append(f"{name}: the notebook metadata `sparsebounds` (full profile, constraints) differs: "
                        f".md {text.metadata.get('sparsebounds')!r} vs .ipynb {nb.metadata.get('sparsebounds')!r}")
    for i, (a, b) in enumerate(itertools.zip_longest(text.cells, nb.cells)):
        if a is None or b is None:
            extra, where = (b, ".ipynb") if a is None else (a, ".md")
            problems.append(f"{name}: cell {i}: only the {where} has it ({_describe(extra)}); the .md has "
                            f"{len(text.cells)} cells, the .ipynb {len(nb.cells)}")
        elif a.cell_type != b.cell_type:
            problems.append(f"{name}: cell {i}: a {a.cell_type} cell in the .md, a {b.cell_type} cell in the "
                            f".ipynb ({_describe(a)} vs {_describe(b)})")
        elif a.source != b.source:
            where = _first_difference(a.source, b.source)
            problems.append(f"{name}: cell {i} ({_describe(b)}): source differs at {where}")
        elif _cell_metadata(a) != _cell_metadata(b):
            problems.append(f"{name}: cell {i} ({_describe(b)}): metadata differs (tags such as `parameters`): "
                            f".md {_cell_metadata(a)!r} vs .ipynb {_cell_metadata(b)!r}")
        else:
            continue
        break
    return problems


@pytest.mark.parametrize("ipynb", PAIRED, ids=[p.stem for p in PAIRED])
def test_notebook_and_its_markdown_agree(ipynb):
    problems = pair_differences(ipynb)
    assert not problems, "\n".join(problems) + "\n" + _fix(ipynb.with_suffix(".md"))


@pytest.mark.parametrize("md", TEXTS, ids=[p.stem for p in TEXTS])
def test_every_markdown_notebook_has_its_ipynb(md):
    assert md.with_suffix(".ipynb").exists(), (
        f"{md.name} has no {md.stem}.ipynb: run `make sync` to create it, then `make figures` to execute it")


def test_there_are_notebooks_and_the_pairing_is_configured():
    assert len(PAIRED) >= 10
    config = jupytext.config.load_jupytext_config(str(NOTEBOOKS))
    assert config is not None and config.formats == ["ipynb,md:myst"], "jupytext.toml pairs ipynb with md:myst"


def test_pairing_stays_out_of_the_ipynb_metadata():
    """The pairing is in jupytext.toml only: no `jupytext` key in any .ipynb (and none to strip on a re-run)."""
    leaked = [p.name for p in PAIRED if "jupytext" in nbformat.read(p, as_version=4).metadata]
    assert not leaked, f"these notebooks carry jupytext metadata (remove it, the pairing is in jupytext.toml): {leaked}"


def test_markdown_carries_what_the_runner_and_papermill_read():
    """Not vacuous: the .md holds the `parameters` tag, the full profile and the pinned-output markers."""
    for md in TEXTS:
        text = md.read_text(encoding="utf-8")
        assert ":tags: [parameters]" in text, f"{md.name}: no `parameters` cell"
        assert "sparsebounds:\n" in text.split("\n---\n", 1)[0], f"{md.name}: no metadata.sparsebounds in its header"
    assert any("# NBVAL_CHECK_OUTPUT" in md.read_text(encoding="utf-8") for md in TEXTS)


# ------------------------------------------------------------------------------- the check can fail, and the fix works
def _copy_pair(tmp_path: Path, stem: str = "01") -> tuple[Path, Path]:
    (tmp_path / "notebooks").mkdir()
    shutil.copy2(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    ipynb = next(NOTEBOOKS.glob(f"{stem}_*.ipynb"))
    for p in (ipynb, ipynb.with_suffix(".md")):
        shutil.copy2(p, tmp_path / "notebooks" / p.name)
    return tmp_path / "notebooks" / ipynb.name, tmp_path / "notebooks" / ipynb.with_suffix(".md").name


def _sync(*mds: Path) -> None:
    """What `make sync` runs (in this process: a jupytext process takes seconds to start)."""
    assert jupytext_cli(["--quiet", "--update", "--to", "ipynb", *map(str, mds)]) in (0, None)


def test_an_edited_source_is_reported_with_its_cell_and_make_sync_fixes_it(tmp_path):
    ipynb, md = _copy_pair(tmp_path)
    text = md.read_text(encoding="utf-8")
    md.write_text(text.replace("n_seeds = 4 ", "n_seeds = 5 ", 1), encoding="utf-8")
    problems = pair_differences(ipynb)
    assert len(problems) == 1 and problems[0].startswith(f"{ipynb.stem}: cell ")
    assert "n_seeds = 5" in problems[0] and "n_seeds = 4" in problems[0], problems
    before = nbformat.read(ipynb, as_version=4)
    _sync(md)
    assert pair_differences(ipynb) == []
    after = nbformat.read(ipynb, as_version=4)
    # only that source moved: every output, cell id and the notebook metadata stayed
    assert [c.get("outputs") for c in after.cells] == [c.get("outputs") for c in before.cells]
    assert [c.id for c in after.cells] == [c.id for c in before.cells]
    assert after.metadata == before.metadata
    changed = [i for i, (a, b) in enumerate(zip(before.cells, after.cells)) if a.source != b.source]
    assert len(changed) == 1 and after.cells[changed[0]].source.startswith("n_seeds = 5 ")


def test_a_lost_tag_metadata_or_cell_is_reported(tmp_path):
    ipynb, md = _copy_pair(tmp_path, "04")
    original = md.read_text(encoding="utf-8")
    md.write_text(original.replace(":tags: [parameters]\n", "", 1), encoding="utf-8")
    (problem,) = pair_differences(ipynb)
    assert "metadata differs" in problem and "parameters" in problem
    md.write_text(original.replace("    n_boot: 10000\n", "    n_boot: 100\n", 1), encoding="utf-8")
    (problem,) = pair_differences(ipynb)
    assert "`sparsebounds`" in problem and "100" in problem
    md.write_text(original + "\n+++\n\nA new closing paragraph.\n", encoding="utf-8")
    (problem,) = pair_differences(ipynb)
    assert "only the .md has it" in problem
    md.unlink()
    (problem,) = pair_differences(ipynb)
    assert f"{md.name} is missing" in problem


def test_make_sync_on_agreeing_pairs_changes_no_byte(tmp_path):
    """A round trip .md -> .ipynb reproduces every committed .ipynb byte for byte (cell ids, outputs, key order)."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy2(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    for p in PAIRED + TEXTS:
        shutil.copy2(p, tmp_path / "notebooks" / p.name)
    _sync(*sorted((tmp_path / "notebooks").glob("*.md")))
    changed = [p.name for p in PAIRED if (tmp_path / "notebooks" / p.name).read_bytes() != p.read_bytes()]
    assert not changed, f"`make sync` would rewrite {changed} although the pairs agree"
