"""Build a notebook skeleton from a percent-format script (authoring aid; the .ipynb is the source of truth).

    python tools/py2nb.py draft.py notebooks/NN_name.ipynb

Cells start with ``# %%`` (code), ``# %% [markdown]`` (markdown: a leading "# " is stripped from each line),
``# %% tags=["parameters"]`` (the papermill parameters cell). A line ``# %% [meta] {...}`` sets
``metadata.sparsebounds`` (e.g. ``{"full": {"n_seeds": 50}}`` for the full profile). Cell ids are
deterministic. Then run ``python -m sparsebounds run notebooks/NN_name.ipynb`` to fill the outputs.
"""
import json
import re
import sys

import nbformat


def convert(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    chunks = re.split(r"^# %%(.*)$", text, flags=re.M)
    for header, body in zip(chunks[1::2], chunks[2::2]):
        header = header.strip()
        body = body.strip("\n")
        if header.startswith("[meta]"):
            nb.metadata["sparsebounds"] = json.loads(header[len("[meta]"):])
            continue
        if header.startswith("[markdown]"):
            lines = [re.sub(r"^# ?", "", ln) for ln in body.splitlines()]
            cell = nbformat.v4.new_markdown_cell("\n".join(lines))
        else:
            cell = nbformat.v4.new_code_cell(body)
            m = re.search(r"tags=(\[.*\])", header)
            if m:
                cell.metadata["tags"] = json.loads(m.group(1))
        cell.id = f"c{len(nb.cells):02d}"
        nb.cells.append(cell)
    return nb


if __name__ == "__main__":
    src, dst = sys.argv[1:3]
    nbformat.write(convert(open(src).read()), dst)
    print(f"wrote {dst}")
