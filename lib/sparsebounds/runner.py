"""Execute the notebooks with papermill: validated parameters, profiles, atomic outputs, claims report.

``python -m sparsebounds run [NOTEBOOK ...] [--profile default|full] [--jobs N] [-p NAME VALUE ...]``

- default profile, no ``-p``: writes the executed notebooks over notebooks/ and the figures into figures/
  (what is committed); ``--profile full`` or any ``-p`` writes under build/<profile>/ instead.
- each notebook runs in a staging folder; only a notebook that succeeded replaces the committed notebook
  and its figures (by rename), so a failure leaves them as they were.
- volatile metadata (timestamps, durations, kernel paths) is stripped, so a re-run changes no byte.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
import tokenize
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import claims as claims_mod
from . import equivalence as eq
from .output import FIGURES_ENV, REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
FIGURES = REPO_ROOT / "figures"
BUILD = REPO_ROOT / "build"
README = REPO_ROOT / "README.md"
PROFILES = ("default", "full")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# One BLAS thread per kernel, whatever --jobs is: results near machine precision (and so the figures) then
# do not depend on how many notebooks ran at once, and the many small products here run faster on one
# thread than on a contended pool. conftest.py sets the same for the notebooks nbval executes.
BLAS_THREADS = 1
# SymPy's simplify can return different (equal) forms under different string-hash seeds: fix the seed so
# printed derivations are the same on every run.
KERNEL_ENV = {"PYTHONHASHSEED": "0"}
CELL_TIMEOUT = 900  # seconds; a hung cell is named rather than waited on forever
MAX_MOVED_SHOWN = 12  # changes listed per notebook


class ParameterError(ValueError):
    """A parameter that does not fit the notebook: raised before any kernel starts."""


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class Param:
    name: str
    default: object
    help: str
    low: float | None = None
    high: float | None = None

    def check(self, value, notebook: str):
        """Return ``value`` coerced to this parameter's type, or raise ParameterError."""
        where = f"{notebook}: parameter {self.name!r}"
        d = self.default
        kind = type(d).__name__
        if isinstance(d, bool):
            ok = isinstance(value, bool)
        elif isinstance(d, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(d, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(d, (list, tuple)):
            ok = isinstance(value, (list, tuple)) and len(value) > 0
            if ok and d:
                inner = Param(self.name, d[0], self.help, self.low, self.high)
                value = type(d)(inner.check(v, notebook) for v in value)
                return value
        else:
            ok = isinstance(value, type(d))
        if not ok:
            raise ParameterError(f"{where} must be {kind} (like its default {d!r}), got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.low is not None and value < self.low or self.high is not None and value > self.high:
                raise ParameterError(f"{where} = {value!r} is outside its range [{self.low:g}, {self.high:g}]"
                                     f" ({self.help})")
        return value


_RANGE = re.compile(r"\[\s*(-?[\d.eE+-]+)\s*,\s*(-?[\d.eE+-]+|inf)\s*\]\s*$")


def parameters_of(nb: dict, notebook: str = "") -> dict[str, Param]:
    """The parameters declared in the cell tagged ``parameters``: name = literal  # help [low, high]."""
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{notebook}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    src = "".join(cells[0]["source"]) if isinstance(cells[0]["source"], list) else cells[0]["source"]
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(src).readline) if tok.type == tokenize.COMMENT}
    params = {}
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            help_ = comments.get(node.lineno, "")
            m = _RANGE.search(help_)
            low, high = (float(m.group(1)), float(m.group(2))) if m else (None, None)
            params[name] = Param(name, ast.literal_eval(node.value), help_, low, high)
    return params


def notebook_defaults(prefix: str) -> dict:
    """The default-profile parameter values of notebook ``prefix`` (e.g. '05'), as its parameters cell
    declares them: tests call the notebook's experiment with exactly these."""
    path = resolve([prefix])[0]
    return {name: p.default for name, p in parameters_of(json.loads(path.read_text()), path.name).items()}


def parse_value(text: str):
    """A command-line value as a Python literal (numbers, lists, booleans); anything else is a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def plan(notebooks: list[Path], profile: str, overrides: list[tuple[str, str]]) -> dict[Path, dict]:
    """Validated parameters for each notebook (profile values, then -p overrides). Raises ParameterError."""
    if profile not in PROFILES:
        raise ParameterError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    out, used = {}, set()
    for path in notebooks:
        nb = json.loads(path.read_text())
        declared = parameters_of(nb, path.name)
        values = {}
        if profile != "default":
            prof = nb.get("metadata", {}).get("sparsebounds", {}).get(profile, {})
            for name, v in prof.items():
                if name not in declared:
                    raise ParameterError(f"{path.name}: profile {profile!r} sets unknown parameter {name!r}")
                values[name] = declared[name].check(v, path.name)
        for name, text in overrides:
            if name in declared:
                values[name] = declared[name].check(parse_value(text), path.name)
                used.add(name)
        out[path] = values
    for name, _ in overrides:
        if name not in used:
            known = sorted({p for path in notebooks for p in parameters_of(json.loads(path.read_text()))})
            raise ParameterError(f"unknown parameter {name!r}: the selected notebooks take {', '.join(known)}")
    return out


# ------------------------------------------------------------------ execution (worker side)
def normalize(nb: dict) -> dict:
    """Drop what changes from run to run (papermill timings, execution timestamps, kernel paths)."""
    nb.get("metadata", {}).pop("papermill", None)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = {"name": "python"}
    for cell in nb["cells"]:
        md = cell.get("metadata", {})
        md.pop("papermill", None)
        md.pop("execution", None)
        if md.get("tags") == []:
            md.pop("tags")
        if "outputs" in cell:
            cell["outputs"] = coalesce_streams(cell["outputs"])
    return nb


def coalesce_streams(outputs: list) -> list:
    """Join adjacent stdout (or stderr) chunks: how the kernel splits a stream depends on timing."""
    merged = []
    for o in outputs:
        if (o.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1]["name"] == o["name"]):
            text = "".join(merged[-1]["text"]) + "".join(o["text"])
            merged[-1] = {**merged[-1], "text": text.splitlines(keepends=True)}
        else:
            merged.append(o)
    return merged


def _execute(path: str, params: dict, stage: str, blas_threads: int) -> dict:
    """Run one notebook into ``stage`` (in a worker process). Returns a result record, never raises."""
    import logging

    import papermill as pm

    # parameters were validated by plan(); papermill's own inference misreads some comments and warns
    logging.getLogger("papermill").setLevel(logging.ERROR)

    os.environ[FIGURES_ENV] = str(Path(stage) / "figures")
    os.environ.update(KERNEL_ENV)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(blas_threads)
    os.environ.pop("MPLBACKEND", None)
    out = Path(stage) / Path(path).name
    t0 = time.perf_counter()
    result = {"path": path, "stage": stage, "ok": True}
    # the kernel's own stderr (start-up chatter, crash messages) goes to a file; we show what matters
    log = open(Path(stage) / "kernel-stderr.txt", "w+")
    saved_fd = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        pm.execute_notebook(path, str(out), parameters=params, kernel_name="python3", cwd=str(Path(path).parent),
                            progress_bar=False, log_output=False, execution_timeout=CELL_TIMEOUT)
    except pm.PapermillExecutionError as exc:
        result.update(ok=False, error=f"cell {exc.cell_index} (In [{exc.exec_count}]) raised {exc.ename}: "
                                      f"{exc.evalue}")
    except Exception as exc:  # kernel died, timeout, bad notebook: say what
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        log.seek(0)
        noise = ("Kernel is running over TCP without encryption",)
        result["stderr"] = "".join(ln for ln in log if not any(n in ln for n in noise))[-4000:]
        log.close()
    result["seconds"] = time.perf_counter() - t0
    if result["ok"]:
        out.write_text(_dump(normalize(json.loads(out.read_text()))))
    return result


# ------------------------------------------------------------------ orchestration (main process)
def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _install(result: dict, nb_dir: Path, fig_dir: Path) -> tuple[list[str], list[str]]:
    """Move a successful notebook and its figures into place, keeping every committed file whose content
    is equivalent to the new one (``equivalence``); drop the notebook's stale figures.
    Returns (figures made, what moved)."""
    stage = Path(result["stage"])
    name = Path(result["path"]).name
    prefix = name.split("_")[0] + "_"
    made = sorted(p.name for p in (stage / "figures").glob("*.png"))
    nb_dir.mkdir(parents=True, exist_ok=True)
    (fig_dir / "data").mkdir(parents=True, exist_ok=True)
    moved, same = [], {}
    for fname in made:
        fig = fname[:-len(".png")]
        if not fname.startswith(prefix):
            print(f"  warning: {name} wrote figure {fname!r}, whose name does not start with {prefix!r}")
        new_data = eq.read_figure_data(stage / "figures" / "data" / f"{fig}.json")
        old_data = eq.read_figure_data(fig_dir / "data" / f"{fig}.json")
        if new_data is None:
            diffs = [f"{fig}: saved without its data (use output.save_figure)"]
        elif old_data is None or not (fig_dir / fname).exists():
            diffs = [f"{fig}: new figure"]
        else:
            diffs = eq.figure_differences(old_data, new_data, fig)
        same[fig] = not diffs
        if diffs:
            moved += diffs
            if new_data is not None:
                os.replace(stage / "figures" / "data" / f"{fig}.json", fig_dir / "data" / f"{fig}.json")
            os.replace(stage / "figures" / fname, fig_dir / fname)
    for old in fig_dir.glob(prefix + "*.png"):
        if old.name not in made:
            old.unlink()
            (fig_dir / "data" / (old.stem + ".json")).unlink(missing_ok=True)
            moved.append(f"{old.stem}: no longer made, removed")
    new_nb = json.loads((stage / name).read_text())
    target = nb_dir / name
    if target.exists():
        merged, nb_moved = eq.merge_notebook(json.loads(target.read_text()), new_nb, same)
        moved += nb_moved
    else:
        merged = new_nb
        moved.append(f"{name}: new notebook")
    text = _dump(merged)
    if not target.exists() or target.read_text() != text:
        (stage / name).write_text(text)
        os.replace(stage / name, target)
    return made, moved


def update_readme_table(table: str, readme: Path = README) -> None:
    """Replace the claims table between the README's markers (numbers in prose are generated)."""
    if not readme.exists():
        return
    text = readme.read_text()
    start, end = "<!-- claims:start -->", "<!-- claims:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        new = f"{head}{start}\n{table}\n{end}{tail}"
        if new != text:
            readme.write_text(new)


def _rel(path: Path) -> str:
    try:
        return str(Path(path).relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def resolve(names: list[str]) -> list[Path]:
    if not names:
        found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        if not found:
            raise ParameterError(f"no notebooks in {NOTEBOOKS}")
        return found
    paths = []
    for n in names:
        p = Path(n)
        cands = [p, REPO_ROOT / p, NOTEBOOKS / p, NOTEBOOKS / (p.name + ".ipynb")]
        cands += sorted(NOTEBOOKS.glob(p.name + "*.ipynb"))  # '01' or '01_proximal' picks the notebook
        hit = next((c.resolve() for c in cands if c.is_file() and c.suffix == ".ipynb"), None)
        if hit is None:
            raise ParameterError(f"no notebook {n!r} (looked in {NOTEBOOKS})")
        paths.append(hit)
    return paths


def run(names: list[str], profile: str = "default", jobs: int | None = None,
        overrides: list[tuple[str, str]] = (), out: Path | None = None) -> int:
    """Execute notebooks; write notebooks, figures and claims. Returns the process exit code.

    ``out`` (a folder that gets notebooks/ and figures/) overrides where results go; tests use it.
    """
    try:
        notebooks = resolve(names)
        params = plan(notebooks, profile, list(overrides))
        if jobs is not None and jobs < 1:
            raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    except ParameterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    committed = profile == "default" and not overrides and out is None
    if committed:
        nb_dir, fig_dir = NOTEBOOKS, FIGURES
    else:
        out_root = Path(out) if out is not None else BUILD / (profile if not overrides else f"{profile}-custom")
        nb_dir, fig_dir = out_root / "notebooks", out_root / "figures"
    cores = os.cpu_count() or 1
    jobs = min(jobs or cores, len(notebooks))
    blas = BLAS_THREADS
    (BUILD / "tmp").mkdir(parents=True, exist_ok=True)
    print(f"running {len(notebooks)} notebook(s), profile {profile}, {jobs} at once, {blas} BLAS thread(s) each"
          f" -> {_rel(nb_dir)}/, {_rel(fig_dir)}/", flush=True)
    t0 = time.perf_counter()
    failures, times = [], {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for path in notebooks:
            stage = tempfile.mkdtemp(prefix=path.stem + "-", dir=BUILD / "tmp")
            futures[pool.submit(_execute, str(path), params[path], stage, blas)] = path
            if params[path]:
                print(f"  {path.stem}: " + ", ".join(f"{k}={v!r}" for k, v in params[path].items()), flush=True)
        for i, fut in enumerate(as_completed(futures), 1):
            path = futures[fut]
            res = fut.result()
            times[path.stem] = res["seconds"]
            if res.get("stderr", "").strip():
                print(f"  {path.stem} (kernel stderr):\n    " + res["stderr"].strip().replace("\n", "\n    "))
            if res["ok"]:
                made, moved = _install(res, nb_dir, fig_dir)
                n_claims = len(claims_mod.from_notebook(nb_dir / path.name))
                print(f"[{i}/{len(notebooks)}] {path.stem:<45} ok      {res['seconds']:6.1f} s  "
                      f"({n_claims} claims, {len(made)} figures) "
                      + ("same results, committed files kept" if not moved else f"{len(moved)} change(s):"),
                      flush=True)
                for m in moved[:MAX_MOVED_SHOWN]:
                    print(f"      {m}")
                if len(moved) > MAX_MOVED_SHOWN:
                    print(f"      ... and {len(moved) - MAX_MOVED_SHOWN} more")
            else:
                kept = BUILD / "failed" / path.name
                kept.parent.mkdir(parents=True, exist_ok=True)
                staged = Path(res["stage"]) / path.name
                if staged.exists():
                    shutil.copyfile(staged, kept)
                failures.append(f"{path.name}: {res['error']}")
                print(f"[{i}/{len(notebooks)}] {path.stem:<45} FAILED  {res['seconds']:6.1f} s  {res['error']}"
                      f"\n      executed copy with the traceback: {_rel(kept)}", flush=True)
            shutil.rmtree(res["stage"], ignore_errors=True)
    # claims: from every executed notebook in the output folder (committed ones too, for the default run)
    all_nbs = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    claim_list = claims_mod.collect(all_nbs)
    claims_mod.write_reports(claim_list, fig_dir)
    summary = claims_mod.summary(claim_list)
    surprises = claims_mod.counts(claim_list)["surprises"]
    if committed:
        update_readme_table(f"**{summary}.**\n\n" + claims_mod.markdown_table(claim_list))
    print(f"wall time {time.perf_counter() - t0:.1f} s; {summary} -> {_rel(fig_dir / 'claims.md')}")
    for f in failures:
        print(f"error: {f}", file=sys.stderr)
    if surprises:
        print(f"{len(surprises)} verdict(s) differ from what the notebooks registered as expected:\n  "
              + "\n  ".join(surprises), file=sys.stderr)
    elif not failures:
        print("every verdict is as registered (expected violations carry their reason in claims.md)")
    return 1 if failures or surprises else 0
