"""Every notebook is a pair (jupytext.toml): notebooks/NN_name.md, MyST Markdown, the text people edit and
review, and notebooks/NN_name.ipynb, the same cells with their executed outputs (what nbval, the book and
readers use). The .md is the source: `make sync` writes its cells into the .ipynb, keeping the outputs, and
`make figures` executes them. These tests fail when a pair disagrees, naming the notebook, the first
differing cell and the command that fixes it."""
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

from sparsebounds.harness import pairs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PAIRED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TEXTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize("ipynb", PAIRED, ids=[p.stem for p in PAIRED])
def test_notebook_and_its_markdown_agree(ipynb):
    problems = pairs.differences(ipynb)
    assert not problems, "\n".join(problems) + "\n" + pairs.fix_hint(ipynb.with_suffix(".md"))


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
    """What `make sync` runs (in this process: a Python process takes seconds to import jupytext)."""
    pairs.sync(list(mds))


def test_an_edited_source_is_reported_with_its_cell_and_make_sync_fixes_it(tmp_path):
    ipynb, md = _copy_pair(tmp_path)
    text = md.read_text(encoding="utf-8")
    md.write_text(text.replace("n_seeds = 4 ", "n_seeds = 5 ", 1), encoding="utf-8")
    problems = pairs.differences(ipynb)
    assert len(problems) == 1 and problems[0].startswith(f"{ipynb.stem}: cell ")
    assert "n_seeds = 5" in problems[0] and "n_seeds = 4" in problems[0], problems
    before = nbformat.read(ipynb, as_version=4)
    _sync(md)
    assert pairs.differences(ipynb) == []
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
    (problem,) = pairs.differences(ipynb)
    assert "metadata differs" in problem and "parameters" in problem
    md.write_text(original.replace("    n_boot: 10000\n", "    n_boot: 100\n", 1), encoding="utf-8")
    (problem,) = pairs.differences(ipynb)
    assert "`sparsebounds`" in problem and "100" in problem
    md.write_text(original + "\n+++\n\nA new closing paragraph.\n", encoding="utf-8")
    (problem,) = pairs.differences(ipynb)
    assert "only the .md has it" in problem
    md.unlink()
    (problem,) = pairs.differences(ipynb)
    assert f"{md.name} is missing" in problem


def test_make_sync_carries_the_full_profile_values(tmp_path):
    """jupytext's --update alone keeps the .ipynb's notebook metadata: an edited full profile never arrived."""
    ipynb, md = _copy_pair(tmp_path, "04")
    text = md.read_text(encoding="utf-8")
    md.write_text(text.replace("    n_boot: 10000\n", "    n_boot: 100\n", 1), encoding="utf-8")
    assert pairs.differences(ipynb)
    _sync(md)
    assert pairs.differences(ipynb) == []
    assert nbformat.read(ipynb, as_version=4).metadata["sparsebounds"]["full"]["n_boot"] == 100


def test_make_sync_on_agreeing_pairs_changes_no_byte(tmp_path):
    """A round trip .md -> .ipynb reproduces every committed .ipynb byte for byte (cell ids, outputs, key order)."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy2(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    for p in PAIRED + TEXTS:
        shutil.copy2(p, tmp_path / "notebooks" / p.name)
    _sync(*sorted((tmp_path / "notebooks").glob("*.md")))
    changed = [p.name for p in PAIRED if (tmp_path / "notebooks" / p.name).read_bytes() != p.read_bytes()]
    assert not changed, f"`make sync` would rewrite {changed} although the pairs agree"
