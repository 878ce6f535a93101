"""A notebook and its MyST twin (jupytext.toml): notebooks/NN_name.md is the text people edit, and
notebooks/NN_name.ipynb holds the same cells with their executed outputs. ``make sync`` writes the .md's cells
into the .ipynb; :func:`differences` says where a pair disagrees. The runner refuses to execute a notebook
whose .md says something else (an edit not yet synced would run the old cells).
"""
from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

# cell metadata that is run state or view state: jupytext keeps it in the .ipynb and out of the .md
IGNORED_CELL_METADATA = {"execution", "papermill", "ExecuteTime", "collapsed", "scrolled", "trusted", "autoscroll"}
CHECKED = "pairs-checked.json"  # in the runner's state folder: digests of pairs found in agreement


def fix_hint(md: Path) -> str:
    return (f"The .md is the source: run `make sync` (python -m sparsebounds sync notebooks/{md.name}: it writes "
            f"the .md's cells and full profile into the .ipynb, keeping the outputs), then `make figures` to "
            f"execute them. If "
            f"the .ipynb holds the edit you want (made in Jupyter without jupytext), first carry it into the .md "
            f"with `.venv/bin/jupytext --to md:myst notebooks/{md.with_suffix('.ipynb').name}`.")


def _cell_metadata(cell) -> dict:
    return {k: v for k, v in cell.get("metadata", {}).items() if k not in IGNORED_CELL_METADATA}


def first_difference(a: str, b: str) -> str:
    """The first line where source ``a`` (.md) and ``b`` (.ipynb) differ."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(itertools.zip_longest(la, lb)):
        if x != y:
            return f"line {i + 1}: .md {x!r} vs .ipynb {y!r}"
    return f"trailing whitespace: .md {a[-20:]!r} vs .ipynb {b[-20:]!r}"


def describe(cell) -> str:
    if cell is None:
        return "no cell"
    first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
    return f"{cell.cell_type} cell {first[:60]!r}"


def differences(ipynb: Path) -> list[str]:
    """What differs between ``ipynb`` and its .md beside it: the notebook-level `sparsebounds` metadata and the
    first differing cell (type, source, tags and any other cell metadata). Empty when the pair agrees."""
    import jupytext  # seconds to import: only when a pair has to be compared
    import nbformat

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
            problems.append(f"{name}: cell {i}: only the {where} has it ({describe(extra)}); the .md has "
                            f"{len(text.cells)} cells, the .ipynb {len(nb.cells)}")
        elif a.cell_type != b.cell_type:
            problems.append(f"{name}: cell {i}: a {a.cell_type} cell in the .md, a {b.cell_type} cell in the "
                            f".ipynb ({describe(a)} vs {describe(b)})")
        elif a.source != b.source:
            where = first_difference(a.source, b.source)
            problems.append(f"{name}: cell {i} ({describe(b)}): source differs at {where}")
        elif _cell_metadata(a) != _cell_metadata(b):
            problems.append(f"{name}: cell {i} ({describe(b)}): metadata differs (tags such as `parameters`): "
                            f".md {_cell_metadata(a)!r} vs .ipynb {_cell_metadata(b)!r}")
        else:
            continue
        break
    return problems


def sync(mds: list[Path]) -> None:
    """``make sync``: each .md's cells into its .ipynb (jupytext --update: outputs and cell ids of unchanged cells
    kept; a new .md gets its .ipynb), and its `sparsebounds` metadata (full profile, constraints), which
    jupytext's update leaves as the .ipynb had it."""
    import jupytext
    import nbformat
    from jupytext.cli import jupytext as jupytext_cli

    if jupytext_cli(["--quiet", "--update", "--to", "ipynb", *map(str, mds)]) not in (0, None):
        raise RuntimeError(f"jupytext could not write the .ipynb of {[m.name for m in mds]}")
    for md in mds:
        want = jupytext.read(md, fmt="md:myst").metadata.get("sparsebounds")
        ipynb = md.with_suffix(".ipynb")
        nb = nbformat.read(ipynb, as_version=4)
        if nb.metadata.get("sparsebounds") != want:
            if want is None:
                nb.metadata.pop("sparsebounds")
            else:
                nb.metadata["sparsebounds"] = want
            jupytext.write(nb, ipynb, fmt="ipynb")


def _digest(ipynb: Path, md: Path) -> str:
    return hashlib.sha256(md.read_bytes() + b"\0" + ipynb.read_bytes()).hexdigest()


def unsynced(notebooks: list[Path], state: Path | None) -> list[str]:
    """One problem line per notebook whose .md (if it has one) disagrees with it. A pair found in agreement is
    remembered by the digest of its two files in ``state``, so an unchanged pair costs no jupytext import."""
    cache_file = state / CHECKED if state is not None else None
    try:
        cache = json.loads(cache_file.read_text()) if cache_file and cache_file.exists() else {}
    except (OSError, ValueError):
        cache = {}
    problems, changed = [], False
    for ipynb in notebooks:
        md = ipynb.with_suffix(".md")
        if not md.exists():
            continue
        digest = _digest(ipynb, md)
        if cache.get(ipynb.name) == digest:
            continue
        found = differences(ipynb)
        if found:
            problems.append(f"{found[0]} — {md.name} and {ipynb.name} disagree: run `make sync` first "
                            f"(the .md is the source)")
        else:
            cache[ipynb.name], changed = digest, True
    if changed and cache_file is not None:
        try:
            cache_file.write_text(json.dumps(cache, indent=1, sort_keys=True))
        except OSError:
            pass  # a cache
    return problems
