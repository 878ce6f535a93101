"""Execute the notebooks with papermill: validated parameters, profiles, atomic outputs, claims report.

``python -m sparsebounds run [NOTEBOOK ...] [--profile default|full] [--jobs N] [--scheduler ADDRESS]
[-p NAME VALUE ...]``

- default profile, no ``-p``: writes the executed notebooks over notebooks/ and the figures into figures/
  (what is committed). ``--profile full`` writes under build/full/; a run with ``-p`` under
  build/<profile>-<its parameters>/ (one folder per parameter set; claims.json records each notebook's).
- Before any kernel starts, each problem is one line and exit status 2: the selection (ambiguous, empty,
  duplicate, outside notebooks/), the parameters (type, range, the notebook's declared constraints), every
  notebook in the output folder (valid JSON), figure names and claim ids (each with one owner), the
  writability of every output folder, and the lock (one run per output folder at a time).
- Each notebook runs in a worker process in its own session (a terminal's Ctrl-C reaches only the runner),
  which dies with the runner (PR_SET_PDEATHSIG, and a watch on its parent pid). Its kernel is the runner's
  interpreter (a kernelspec in the run folder, found first), and the user's matplotlib, IPython and Jupyter
  configuration are shut out.
- Only a notebook that succeeded replaces the committed notebook and its figures. The replacement is a
  journaled set of renames, and the claims report (and the README table) is regenerated after each
  notebook, with SIGINT/SIGTERM deferred meanwhile: the tree is consistent at every moment, and a run
  killed mid-install (SIGKILL) is completed by the next run.
- Ctrl-C (SIGINT) or SIGTERM: no further notebook starts, the running ones are stopped (worker and kernel
  killed), the finished ones stay installed, one line says what was kept; exit status 130 / 143.
- Volatile metadata (timestamps, durations, kernel paths) is stripped, so a re-run changes no byte.
- Longest first: each notebook's duration is recorded (``durations.json`` in the output's state folder) and
  the next run starts the notebooks in decreasing order of their last durations (unknown ones first), and
  says the wall time that schedule predicts.
- The notebooks' independent work units (``sparsebounds.tasks.map_tasks``) run in-process, on
  cores // jobs local processes per kernel when that is more than 1 (``SPARSEBOUNDS_PROCESSES``; never more
  processes than cores), or on a Dask cluster given by ``--scheduler tcp://host:8786``
  (``SPARSEBOUNDS_SCHEDULER``, passed down to every kernel). A run holds one lock file per core
  (``SPARSEBOUNDS_CORES``); each worker holds one while it lives, workers with nothing left to start retire,
  and a long map in a kernel borrows the cores they free (never more processes than cores).
"""
from __future__ import annotations

import ast
import glob
import hashlib
import io
import json
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path

from ..tasks import CORES_ENV, PROCESSES_ENV, SCHEDULER_ENV, take_core
from . import pairs
from .figures import FIGURES_ENV, REPO_ROOT
from .parameters import (  # noqa: F401
    PROFILES,
    Param,
    ParameterError,
    _rel,
    _source,
    check_constraints,
    check_rule,
    notebook_defaults,
    parameters_of,
    parse_value,
    plan,
    read_notebook,
)

NOTEBOOKS = REPO_ROOT / "notebooks"
FIGURES = REPO_ROOT / "figures"
BUILD = REPO_ROOT / "build"
README = REPO_ROOT / "README.md"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# One BLAS thread per kernel, whatever --jobs is: results near machine precision (and so the figures) then
# do not depend on how many notebooks ran at once, and the many small products here run faster on one
# thread than on a contended pool. conftest.py sets the same for the notebooks nbval executes.
BLAS_THREADS = 1
# SymPy's simplify can return different (equal) forms under different string-hash seeds: fix the seed so
# printed derivations are the same on every run.
# glibc's malloc gives each array above 32 MiB its own fresh mapping and returns it on free, so every large
# temporary is paid again in page faults (a fifth of the time of notebook 06's hard-pair search); large
# thresholds keep freed memory in the heap for the next array. Allocation only: no result changes.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(4 << 30), "MALLOC_TRIM_THRESHOLD_": str(4 << 30)}
KERNEL_ENV = {"PYTHONHASHSEED": "0", **MALLOC_ENV}
CELL_TIMEOUT = 900  # seconds; a hung cell is named rather than waited on forever
MAX_MOVED_SHOWN = 12  # changes listed per notebook
NOTEBOOK_NAME = re.compile(r"^(\d\d)_.+\.ipynb$")
# Every worker and kernel of a run carries RUN_MARKER=<runner pid>-<random> in its environment: the runner
# kills whatever still carries it when it stops, and tests look for survivors by it.
RUN_MARKER = "SPARSEBOUNDS_RUN"
KERNEL_NAME = "sparsebounds-runner"  # the kernelspec written into each run folder (first on JUPYTER_PATH)
PROGRESS_EVERY = 25.0  # seconds without news about a running notebook before the runner says what it does
STOP_GRACE = 3.0       # seconds a stopped worker has to kill its kernel and exit before it is SIGKILLed
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The kernel's stderr lines never shown. jupyter_client interrupts every kernel before a clean shutdown
# (jupyter_client/manager.py, _async_shutdown_kernel: `if self.has_kernel: await self._async_interrupt_kernel()`),
# and ipykernel logs that SIGINT when it lands in its event loop: after a notebook that finished, the line
# below is the shutdown, not a problem (it is kept for a notebook that failed or was stopped).
KERNEL_NOISE = ("Kernel is running over TCP without encryption",)
SHUTDOWN_NOISE = "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel"


class InstallError(RuntimeError):
    """A notebook ran but cannot be installed; nothing of it was."""


# ------------------------------------------------------------------ output that survives a closed pipe
_muted: set[str] = set()


def _say(text: str = "", err: bool = False) -> None:
    """Print one or more whole lines. If the reader went away (``run | head``), stay silent and carry on:
    the run still installs its results."""
    name = "stderr" if err else "stdout"
    if name in _muted:
        return
    stream = getattr(sys, name)
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        _muted.add(name)
        try:  # later writes and the interpreter's final flush go nowhere instead of raising again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


# ------------------------------------------------------------------ notebooks: selection and static checks
def resolve(names: list[str]) -> list[Path]:
    """Notebook paths for a selection: numbers ('05'), names or paths; refuses an empty, ambiguous or
    repeated selection."""
    if not names:
        found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        if not found:
            raise ParameterError(f"no notebooks in {NOTEBOOKS}")
        return found
    paths: dict[Path, str] = {}
    for n in names:
        if not n.strip():
            raise ParameterError(f"an empty notebook name ({n!r}) selects nothing: name notebooks by number "
                                 f"(e.g. 05) or path, or name none to run them all")
        p = Path(n)
        direct = [c for c in (p, REPO_ROOT / p, NOTEBOOKS / p, NOTEBOOKS / (p.name + ".ipynb")) if c.is_file()]
        if direct:
            hit = direct[0].resolve()
        else:
            cands = sorted(NOTEBOOKS.glob(glob.escape(p.name) + "*.ipynb"))  # '01' or '01_prox' picks 01
            if len(cands) > 1:
                listed = ", ".join(c.stem for c in cands[:4]) + (", ..." if len(cands) > 4 else "")
                raise ParameterError(f"{n!r} matches {len(cands)} notebooks ({listed}): name one, by its two-digit "
                                     f"number or its file name")
            if not cands:
                raise ParameterError(f"no notebook {n!r} (looked in {NOTEBOOKS})")
            hit = cands[0].resolve()
        if hit.suffix != ".ipynb":
            raise ParameterError(f"{n!r} is not a notebook (.ipynb)")
        if not NOTEBOOK_NAME.match(hit.name):
            raise ParameterError(f"{hit.name}: a notebook's name starts with its own two-digit number and an "
                                 f"underscore (NN_name.ipynb): the number owns its figures and claims")
        if hit in paths:
            raise ParameterError(f"{hit.stem} is selected twice ({paths[hit]!r} and {n!r}): name it once")
        paths[hit] = n
    return list(paths)


_MAGIC_LINE = re.compile(r"^([ \t]*)[%!].*$", re.M)


def _calls(nb: dict) -> tuple[list[str], list[str]]:
    """Figure names (``save_figure(fig, "NN_...")``) and claim ids (``claims.register("id", ...)``) written as
    string literals in the notebook's code cells, in order."""
    figures, ids = [], []
    conditional, branch_ids = set(), []   # calls under if/try: alternative branches may register one id each
    for cell in nb.get("cells", []):
        src = _source(cell)
        if cell.get("cell_type") != "code" or src.lstrip().startswith("%%"):
            continue
        try:
            tree = ast.parse(_MAGIC_LINE.sub(r"\1pass", src))
        except SyntaxError:
            continue  # the kernel will say what is wrong with it
        for branch in ast.walk(tree):
            if isinstance(branch, (ast.If, ast.Try)):
                conditional.update(id(n) for n in ast.walk(branch) if isinstance(n, ast.Call))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if fname == "save_figure":
                arg = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "name"), None)
                target = figures
            elif fname == "register" and (isinstance(f, ast.Name) or
                                          isinstance(f.value, ast.Name) and f.value.id in ("claims", "claims_mod")):
                arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "id"), None)
                target = ids
            else:
                continue
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                (branch_ids if target is ids and id(node) in conditional else target).append(arg.value)
    return figures, ids + [c for c in dict.fromkeys(branch_ids) if c not in ids]


def preflight(selected: list[Path], nb_dir: Path) -> list[str]:
    """What would go wrong, found without running anything (one line each): a notebook in the output folder
    that is not valid JSON; two notebooks with one number; a figure whose name does not start with its
    notebook's number, or that two notebooks save; a claim id not named after its notebook's number, or
    registered twice."""
    docs = {p.name: p for p in (sorted(nb_dir.glob("[0-9][0-9]_*.ipynb")) if nb_dir.is_dir() else [])}
    docs.update({p.name: p for p in selected})  # a selected notebook replaces the installed one of its name
    problems, parsed = [], {}
    for name in sorted(docs):
        try:
            parsed[name] = read_notebook(docs[name])
        except ParameterError as exc:
            problems.append(str(exc))
    by_number: dict[str, list[str]] = {}
    fig_owner: dict[str, str] = {}
    id_owner: dict[str, str] = {}
    for name, nb in parsed.items():
        stem, prefix = name[:-len(".ipynb")], name[:3]
        by_number.setdefault(name[:2], []).append(stem)
        figures, ids = _calls(nb)
        for fig in dict.fromkeys(figures):
            if not fig.startswith(prefix):
                problems.append(f"{stem}: figure {fig!r} does not start with {prefix!r} (a notebook owns the figures "
                                f"named after its number): rename it")
            if fig in fig_owner:
                problems.append(f"figure {fig!r} is saved by both {fig_owner[fig]} and {stem}")
            fig_owner.setdefault(fig, stem)
        for cid in dict.fromkeys(ids):
            if not cid.startswith(name[:2] + "-"):
                problems.append(f"{stem}: claim id {cid!r} does not start with {name[:2] + '-'!r} (ids are "
                                f"NN-kebab-case, named after the notebook's number): rename it")
            if ids.count(cid) > 1:
                problems.append(f"{stem}: claim id {cid!r} is registered {ids.count(cid)} times")
            if cid in id_owner:
                problems.append(f"claim id {cid!r} is registered by both {id_owner[cid]} and {stem}: "
                                f"give it another id")
            id_owner.setdefault(cid, stem)
    for number, stems in sorted(by_number.items()):
        if len(stems) > 1:
            problems.append(f"{' and '.join(stems)} share the number {number}: each notebook needs its own (it owns "
                            f"the figures named after it)")
    return problems


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


def kernel_stderr(text: str, finished: bool) -> str:
    """The part of a kernel's stderr worth showing (see KERNEL_NOISE and SHUTDOWN_NOISE)."""
    lines = [ln for ln in text.splitlines(keepends=True) if not any(n in ln for n in KERNEL_NOISE)]
    if finished:
        lines = [ln for ln in lines if not ln.strip().startswith(SHUTDOWN_NOISE)]
    return "".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a uniquely named temporary file in the same folder, then rename."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _progress_hook(stage: Path, nb: dict):
    """nbclient's on_cell_start hook: records in the stage folder which code cell runs, since when."""
    code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    number = {c.get("id"): k for k, c in enumerate(code, 1) if c.get("id")}

    def on_cell_start(cell, cell_index):
        if cell.get("cell_type") != "code":
            return
        k = number.get(cell.get("id"))
        if k is not None:
            label = f"code cell {k} of {len(code)}"
        elif "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            label = "the injected parameters"
        else:
            label = f"cell {cell_index}"
        lines = [ln.strip() for ln in _source(cell).splitlines()]
        stmts = [ln for ln in lines if ln and not ln.startswith("#")]
        first = next((ln for ln in stmts if not ln.startswith(("import ", "from "))), stmts[0] if stmts else "")
        try:
            _write_atomic(stage / "progress.json",
                          json.dumps({"label": label, "source": first[:70], "since": time.time()}))
        except OSError:
            pass  # progress is a courtesy
    return on_cell_start


def _execute(job: dict) -> dict:
    """Run one notebook into its stage folder (in a worker process). Returns a result record, never raises."""
    import logging

    import papermill as pm

    # parameters were validated by plan(); papermill's own inference misreads some comments and warns
    logging.getLogger("papermill").setLevel(logging.ERROR)
    path, stage = job["path"], Path(job["stage"])
    os.environ[FIGURES_ENV] = str(stage / "figures")
    out = stage / Path(path).name
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    result = {"path": path, "stage": str(stage), "ok": True}
    # the kernel's own stderr (start-up chatter, crash messages) goes to a file; we show what matters
    log = open(stage / "kernel-stderr.txt", "w+", encoding="utf-8", errors="replace")
    saved_fd = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        hook = _progress_hook(stage, json.loads(Path(path).read_text(encoding="utf-8")))
        for attempt in (1, 2):
            try:
                pm.execute_notebook(path, str(out), parameters=job["params"], kernel_name=job["kernel_name"],
                                    cwd=str(Path(path).parent), progress_bar=False, log_output=False,
                                    execution_timeout=CELL_TIMEOUT, on_cell_start=hook)
                break
            except RuntimeError as exc:
                # jupyter_client picks free ports, then the kernel binds them: another process can take one in
                # between ("Address already in use"), and the kernel never answers. Start it once more, but only
                # when no cell ran (a kernel that died later is the notebook's failure, not the start's).
                if attempt == 2 or not _kernel_did_not_start(exc) or (stage / "progress.json").exists():
                    raise
                result["restarted"] = f"{exc}"
    except pm.PapermillExecutionError as exc:
        result.update(ok=False, error=f"cell {exc.cell_index} (In [{exc.exec_count}]) raised {exc.ename}: "
                                      f"{exc.evalue}")
    except Exception as exc:  # kernel died, timeout, disk full: say what
        result.update(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        log.seek(0)
        result["stderr"] = kernel_stderr(log.read(), finished=result["ok"])[-4000:]
        log.close()
    result["seconds"] = time.perf_counter() - t0
    result["cpu_seconds"] = _children_cpu() - cpu0   # the kernel's (and its task processes') CPU time
    if result["ok"]:
        try:
            out.write_text(_dump(normalize(json.loads(out.read_text(encoding="utf-8")))), encoding="utf-8")
        except (OSError, ValueError) as exc:
            result.update(ok=False, error=f"could not write the executed notebook: {exc}")
    return result


def _kernel_did_not_start(exc: BaseException) -> bool:
    """jupyter_client's errors for a kernel that never answered its first request."""
    return any(m in str(exc) for m in ("Kernel didn't respond", "Kernel died before replying"))


def _children_cpu() -> float:
    """CPU seconds of this process's ended (reaped) children: a notebook's kernel, once it has shut down."""
    try:
        import resource
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime
    except (ImportError, OSError):
        return 0.0


def _kill_own_children() -> None:
    """SIGKILL this process's descendants (its kernel, in a session of its own, and the kernel's group)."""
    try:
        import psutil
        children = psutil.Process().children(recursive=True)
    except Exception:
        return
    own = os.getpgid(0)
    for child in children:
        try:
            pgid = os.getpgid(child.pid)
            if pgid != own:
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(child.pid, signal.SIGKILL)
        except OSError:
            pass


def _worker_main() -> int:
    """A worker: reads one job (JSON) per line on stdin, runs it, writes <stage>/result.json and answers
    'done' on stdout. On SIGTERM or SIGINT, or when its parent (the runner) is gone, it kills its kernel
    and exits at once: a stopped notebook's results are discarded, so there is nothing to shut down
    gracefully (and nothing waits 5 s for a busy kernel to acknowledge a shutdown request)."""
    answer = os.dup(1)
    os.dup2(2, 1)  # stray prints go to the worker's log, never into the protocol
    parent = os.getppid()

    def stop(signum, frame=None):
        _kill_own_children()
        os._exit(128 + signum)

    for s in STOP_SIGNALS:
        signal.signal(s, stop)

    def watch_parent():  # PR_SET_PDEATHSIG covers Linux; this covers the rest (and a missed signal)
        while os.getppid() == parent:
            time.sleep(0.5)
        stop(signal.SIGTERM)

    threading.Thread(target=watch_parent, daemon=True).start()
    _core = take_core(os.environ.get(CORES_ENV, ""))  # held while this worker lives (released at its exit)
    # papermill imports nbformat, whose jsonschema imports rfc3987_syntax (if installed) only to check "iri"
    # formats, which nbformat's schema never uses; it builds a lark grammar on import: measured 2.4-2.6 s of
    # CPU of the 2.9 s papermill import here. jsonschema skips that checker on an ImportError.
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill  # noqa: F401 - imported once per worker, not once per notebook

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        res = _execute(job)
        _write_atomic(Path(job["stage"]) / "result.json", json.dumps(res))
        os.write(answer, b"done\n")
    return 0


# ------------------------------------------------------------------ workers (runner side)
_LIBC = None


def _child_setup(parent: int):
    """preexec_fn of a worker: signals unblocked, SIGTERM when the runner dies (Linux), and exit at once if
    the runner is already gone."""
    global _LIBC
    if sys.platform.startswith("linux") and _LIBC is None:
        try:
            import ctypes
            _LIBC = ctypes.CDLL(None, use_errno=True)
        except OSError:
            _LIBC = False

    def setup():
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if _LIBC:
            _LIBC.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(1)
    return setup


def _matplotlibrc() -> str | None:
    """matplotlib's own matplotlibrc (its defaults), without importing matplotlib."""
    import importlib.util
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.submodule_search_locations:
        rc = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "matplotlibrc"
        return str(rc) if rc.is_file() else None
    return None


def _worker_env(run_root: Path, token: str, processes: int = 1, scheduler: str = "", cores: str = "") -> dict:
    """The environment of workers and kernels: the run marker, one BLAS thread, a fixed hash seed, the
    backend of the notebooks' task maps (``processes`` local processes per kernel, or the Dask
    ``scheduler``), and the user's Jupyter, IPython and matplotlib configuration shut out (JUPYTER_PATH
    holds only this run's kernelspec, so a user's `python3` kernelspec cannot pick another interpreter)."""
    env = dict(os.environ)
    env[RUN_MARKER] = token
    env.update(KERNEL_ENV)
    env[PROCESSES_ENV] = str(max(1, int(processes)))
    if scheduler:
        env[SCHEDULER_ENV] = scheduler
    else:
        env.pop(SCHEDULER_ENV, None)
    if cores:
        env[CORES_ENV] = cores
    else:
        env.pop(CORES_ENV, None)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(BLAS_THREADS)
    env.pop("MPLBACKEND", None)
    env.pop("PYTHONSTARTUP", None)
    env["JUPYTER_PATH"] = str(run_root / "jupyter")
    env["JUPYTER_CONFIG_DIR"] = str(run_root / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(run_root / "runtime")
    env["IPYTHONDIR"] = str(run_root / "ipython")
    env["TMPDIR"] = str(run_root / "tmp")  # kernel connection files too: a stopped run leaves none in /tmp
    rc = _matplotlibrc()
    if rc:
        env["MATPLOTLIBRC"] = rc  # before the user's ~/.config/matplotlib/matplotlibrc and MPLCONFIGDIR
    return env


def _write_kernelspec(run_root: Path) -> None:
    (run_root / "tmp").mkdir()
    spec = run_root / "jupyter" / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "sparsebounds runner (this interpreter)", "language": "python",
        "metadata": {"debugger": False}}, indent=1))


def _spawn_worker(run_root: Path, env: dict, n: int) -> subprocess.Popen:
    log = open(run_root / f"worker-{n}.log", "wb")
    try:
        return subprocess.Popen([sys.executable, "-m", "sparsebounds.harness.runner", "--worker"],
                                stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True,
                                preexec_fn=_child_setup(os.getpid()))
    finally:
        log.close()


class _Worker:
    def __init__(self, run_root: Path, env: dict, n: int):
        self.n, self.log = n, run_root / f"worker-{n}.log"
        self.proc = _spawn_worker(run_root, env, n)
        self.job: dict | None = None
        self.buf = b""
        self.news = 0.0  # when the runner last said something about this worker's notebook

    def submit(self, job: dict) -> None:
        self.job, self.news = job, time.monotonic()
        job["t0"] = time.monotonic()
        self.proc.stdin.write((json.dumps({k: v for k, v in job.items() if k != "t0"}) + "\n").encode())
        self.proc.stdin.flush()

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def died(self) -> str:
        """Why this worker ended, with the tail of its log."""
        rc = self.proc.wait()
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit status {rc}"
        try:
            tail = self.log.read_text(errors="replace").strip().splitlines()[-3:]
        except OSError:
            tail = []
        return f"the worker process died ({how})" + (": " + " | ".join(tail) if tail else "")


def _marked_processes(token: str) -> list[int]:
    """Pids of the processes (other than this one) whose environment carries this run's marker."""
    entry = f"\0{RUN_MARKER}={token}\0".encode()
    found = []
    if not os.path.isdir("/proc"):
        try:
            import psutil
            for p in psutil.process_iter():
                try:
                    if p.pid != os.getpid() and p.environ().get(RUN_MARKER) == token:
                        found.append(p.pid)
                except psutil.Error:
                    pass
        except ImportError:
            pass
        return found
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if entry in b"\0" + f.read() + b"\0":
                        found.append(int(d))
            except OSError:
                pass
    return found


class _Pool:
    """Up to ``size`` workers, started when needed, each running one notebook at a time."""

    def __init__(self, run_root: Path, token: str, size: int, processes: int = 1, scheduler: str = "",
                 cores: str = ""):
        self.run_root, self.token, self.size = run_root, token, size
        self.env = _worker_env(run_root, token, processes, scheduler, cores)
        self.workers: list[_Worker] = []
        self.sel = selectors.DefaultSelector()
        self.spawned = 0
        self.lost: list[tuple[dict, dict]] = []  # jobs a worker died on before taking them

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.job is not None]

    def start(self, job: dict) -> bool:
        """Give ``job`` to an idle worker (starting one if there is room); False when all are busy."""
        w = next((w for w in self.workers if w.job is None), None)
        if w is None:
            if len(self.workers) >= self.size:
                return False
            self.spawned += 1
            w = _Worker(self.run_root, self.env, self.spawned)
            self.workers.append(w)
            self.sel.register(w.proc.stdout, selectors.EVENT_READ, w)
        try:
            w.submit(job)
        except OSError:  # the worker died before taking the job (a broken interpreter?)
            reason = w.died()
            self._drop(w)
            self.lost.append((job, {"path": job["path"], "stage": job["stage"], "ok": False, "error": reason,
                                    "seconds": 0.0}))
        return True

    def retire_idle(self) -> None:
        """Let the idle workers exit (nothing is left to start): the cores they hold go to the kernels' maps."""
        for w in [w for w in self.workers if w.job is None]:
            try:
                w.proc.stdin.close()
            except OSError:
                pass
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.signal(signal.SIGKILL)
                w.proc.wait()
            self._drop(w)

    def _drop(self, w: _Worker) -> None:
        self.sel.unregister(w.proc.stdout)
        self.workers.remove(w)
        w.proc.stdout.close()
        try:
            w.proc.stdin.close()
        except OSError:
            pass

    def wait(self, timeout: float) -> list[tuple[dict, dict]]:
        """(job, result) for every notebook that ended within ``timeout`` seconds."""
        ended, self.lost = self.lost, []
        if not self.workers:
            time.sleep(timeout)
            return ended
        for key, _ in self.sel.select(timeout):
            w: _Worker = key.data
            data = os.read(w.proc.stdout.fileno(), 4096)
            if not data:  # the worker is gone
                job = w.job
                reason = w.died()
                self._drop(w)
                if job is not None:
                    ended.append((job, {"path": job["path"], "stage": job["stage"], "ok": False, "error": reason,
                                        "seconds": time.monotonic() - job["t0"]}))
                continue
            w.buf += data
            while b"\n" in w.buf:
                line, w.buf = w.buf.split(b"\n", 1)
                if line.strip() == b"done" and w.job is not None:
                    job, w.job = w.job, None
                    try:
                        res = json.loads((Path(job["stage"]) / "result.json").read_text())
                    except (OSError, ValueError) as exc:
                        res = {"path": job["path"], "stage": job["stage"], "ok": False,
                               "error": f"no result from the worker ({exc})", "seconds": time.monotonic() - job["t0"]}
                    ended.append((job, res))
        return ended

    def stop(self, stopper: "_Stopper") -> None:
        """Stop every worker now: SIGTERM (each kills its kernel and exits), then SIGKILL after STOP_GRACE
        seconds or at a second signal."""
        for w in self.workers:
            w.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        first = stopper.count
        while any(w.proc.poll() is None for w in self.workers):
            if time.monotonic() > deadline or stopper.count > first:
                break
            time.sleep(0.05)
        self.close(grace=0)

    def close(self, grace: float = 10.0) -> None:
        """No more jobs: workers read EOF and exit (SIGKILL after ``grace`` s); then kill whatever still
        carries the run's marker (a kernel whose worker was killed)."""
        for w in self.workers:
            try:
                w.proc.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + grace
        for w in self.workers:
            try:
                w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.signal(signal.SIGKILL)
                w.proc.wait()
            w.proc.stdout.close()
        self.workers.clear()
        self.sel.close()
        for _ in range(3):
            left = _marked_processes(self.token)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)


# ------------------------------------------------------------------ signals
class _Stopper:
    """SIGINT/SIGTERM set a flag the main loop reads (nothing is interrupted half-way). A second signal
    skips the grace period. SIGINT stays ignored when the runner was started with it ignored (a background
    job of a non-interactive shell)."""

    def __init__(self):
        self.signum, self.count, self._old = 0, 0, {}
        if threading.current_thread() is not threading.main_thread():
            return
        for s in STOP_SIGNALS:
            old = signal.getsignal(s)
            if s == signal.SIGINT and old == signal.SIG_IGN:
                continue
            self._old[s] = old
            signal.signal(s, self._handle)

    def _handle(self, signum, frame):
        self.count += 1
        self.signum = self.signum or signum

    def restore(self) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)


@contextmanager
def _signals_deferred():
    """Hold SIGINT/SIGTERM back while one notebook is installed and the reports are rewritten."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# ------------------------------------------------------------------ installing (runner side)
def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


_PARTIAL = re.compile(r"^\..+\.sb(\d+)-[0-9a-f]+\.partial$")


def _commit(moves: list[tuple[Path, Path]], removes: list[Path], journal: Path, info: dict) -> None:
    """Put files in place as one step. Each file is first linked (or, from another filesystem, copied)
    next to its destination; if that fails (disk full), the temporaries go and nothing changed. Then a
    journal lists the renames, and they are made: a kill between two renames is finished by the next run."""
    temps: list[tuple[Path, Path]] = []
    dst = journal
    try:
        for src, dst in moves:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.parent / f".{dst.name}.sb{os.getpid()}-{secrets.token_hex(3)}.partial"
            try:
                os.link(src, tmp)
            except OSError:  # EXDEV (build/ on another filesystem), or no hard links here
                shutil.copyfile(src, tmp)
            temps.append((tmp, dst))
        journal.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(journal, json.dumps({**info, "moves": [[str(t), str(d)] for t, d in temps],
                                           "removes": [str(r) for r in removes]}))
    except OSError as exc:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise InstallError(f"could not write {_rel(dst)} ({exc.strerror or exc}); nothing of it was "
                           f"installed") from None
    _apply_journal(journal)


def _apply_journal(journal: Path) -> dict:
    j = json.loads(journal.read_text())
    for tmp, dst in j["moves"]:
        if os.path.exists(tmp):
            os.replace(tmp, dst)
    for r in j["removes"]:
        Path(r).unlink(missing_ok=True)
    return j


def _install(result: dict, nb_dir: Path, fig_dir: Path, journal: Path, committed: bool) -> tuple[list[str], list[str]]:
    """Move a successful notebook and its figures into place, keeping every committed file whose content
    is equivalent to the new one (``equivalence``); drop the notebook's stale figures.
    Returns (figures made, what moved). Raises InstallError (and changes nothing) when it cannot."""
    from . import claims as claims_mod
    from . import equivalence as eq

    stage = Path(result["stage"])
    name = Path(result["path"]).name
    prefix = name.split("_")[0] + "_"
    made = sorted(p.name for p in (stage / "figures").glob("*.png"))
    foreign = [f for f in made if not f.startswith(prefix)]
    if foreign:
        raise InstallError(f"it saved {', '.join(foreign)}, whose name does not start with {prefix!r} (it would "
                           f"replace another notebook's figure); nothing of it was installed")
    new_ids = [c["id"] for c in claims_mod.from_notebook(stage / name)]
    for other in sorted(nb_dir.glob("[0-9][0-9]_*.ipynb")):
        if other.name != name:
            clash = sorted(set(new_ids) & {c["id"] for c in claims_mod.from_notebook(other)})
            if clash:
                raise InstallError(f"claim id {clash[0]!r} is also registered by {other.stem}; nothing of it was "
                                   f"installed")
    moves, removes, moved, same = [], [], [], {}
    for fname in made:
        fig = fname[:-len(".png")]
        new_data = eq.read_figure_data(stage / "figures" / "data" / f"{fig}.json")
        old_data = eq.read_figure_data(fig_dir / "data" / f"{fig}.json")
        if new_data is None:
            diffs = [f"{fig}: saved without its data (use figures.save_figure)"]
        elif old_data is None or not (fig_dir / fname).exists():
            diffs = [f"{fig}: new figure"]
        else:
            diffs = eq.figure_differences(old_data, new_data, fig)
        same[fig] = not diffs
        if diffs:
            moved += diffs
            if new_data is not None:
                moves.append((stage / "figures" / "data" / f"{fig}.json", fig_dir / "data" / f"{fig}.json"))
            moves.append((stage / "figures" / fname, fig_dir / fname))
    for old in sorted(fig_dir.glob(prefix + "*.png")):
        if old.name not in made:
            removes += [old, fig_dir / "data" / (old.stem + ".json")]
            moved.append(f"{old.stem}: no longer made, removed")
    new_nb = json.loads((stage / name).read_text(encoding="utf-8"))
    target = nb_dir / name
    if target.exists():
        merged, nb_moved = eq.merge_notebook(json.loads(target.read_text(encoding="utf-8")), new_nb, same)
        moved += nb_moved
    else:
        merged = new_nb
        moved.append(f"{name}: new notebook")
    text = _dump(merged)
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        (stage / name).write_text(text, encoding="utf-8")
        moves.append((stage / name, target))  # the notebook last
    if moves or removes:
        _commit(moves, removes, journal, {"notebook": name, "nb_dir": str(nb_dir), "fig_dir": str(fig_dir),
                                          "committed": committed})
    return made, moved


def _recorded_parameters(notebooks: list[Path]) -> dict:
    """Each executed notebook's parameters as papermill injected them (empty: its defaults)."""
    out = {}
    for p in notebooks:
        values = {}
        for cell in json.loads(p.read_text(encoding="utf-8")).get("cells", []):
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                for node in ast.parse(_source(cell)).body:
                    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                        try:
                            values[node.targets[0].id] = ast.literal_eval(node.value)
                        except ValueError:
                            pass
        out[p.stem] = values
    return out


def update_reports(nb_dir: Path, fig_dir: Path, committed: bool) -> list[dict]:
    """Regenerate claims.json / claims.md (and, for the committed tree, the README table) from every
    executed notebook in ``nb_dir``. Returns the claims."""
    from . import claims as claims_mod

    nbs = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    claim_list = claims_mod.collect(nbs)
    params = None if committed else _recorded_parameters(nbs)
    if params is not None and not any(params.values()):
        params = None  # every notebook ran with its defaults: the report is the committed tree's, byte for byte
    claims_mod.write_reports(claim_list, fig_dir, parameters=params)
    if committed:
        update_readme_table(f"**{claims_mod.summary(claim_list)}.**\n\n" + claims_mod.markdown_table(claim_list))
    return claim_list


def update_readme_table(table: str, readme: Path | None = None) -> None:
    """Replace the claims table between the README's markers (numbers in prose are generated); atomically."""
    readme = README if readme is None else readme
    if not readme.exists():
        return
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- claims:start -->", "<!-- claims:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        new = f"{head}{start}\n{table}\n{end}{tail}"
        if new != text:
            _write_atomic(readme, new)



# ------------------------------------------------------------------ orchestration (main process)
def _slug(overrides: list[tuple[str, str]]) -> str:
    """A readable folder name for a parameter set: 'n_seeds-3_lam-0.1' (sorted; long ones end in a hash)."""
    def value(v) -> str:
        return ",".join(value(x) for x in v) if isinstance(v, (list, tuple)) else str(v)
    text = "_".join(f"{k}-{value(parse_value(v))}" for k, v in sorted(overrides))
    text = re.sub(r"[^A-Za-z0-9._,+=-]+", "-", text).strip("-.")
    if len(text) > 80:
        text = text[:70].rstrip("-_.,") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return text


def _destination(profile: str, overrides: list, out: Path | None) -> tuple[Path, Path, Path, bool]:
    """(notebook folder, figure folder, state folder for the lock and the install journal, committed?)."""
    if profile == "default" and not overrides and out is None:
        return NOTEBOOKS, FIGURES, BUILD, True
    if out is not None:
        root = Path(out).resolve()
        state = BUILD / ".state" / hashlib.sha1(str(root).encode()).hexdigest()[:12]
    else:
        root = BUILD / (profile if not overrides else f"{profile}-{_slug(overrides)}")
        state = BUILD / ".state" / root.name
    return root / "notebooks", root / "figures", state, False


def _unwritable(folders: list[Path]) -> list[str]:
    """The folders (or, for one not made yet, its nearest existing parent) where a file cannot be created."""
    bad = []
    for d in folders:
        probe = d
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            fd, tmp = tempfile.mkstemp(dir=probe, prefix=".sparsebounds-write-test-")
            os.close(fd)
            os.unlink(tmp)
        except OSError as exc:
            bad.append(f"{_rel(d)}/ ({exc.strerror or exc})")
    return bad


def _lock(state: Path, what: str) -> int:
    """An exclusive lock on <state>/.run.lock for this run (released when the process ends, even killed)."""
    import fcntl
    state.mkdir(parents=True, exist_ok=True)
    path = state / ".run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        other = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise ParameterError(f"another run (pid {other}) is writing to {what}: wait for it to end, or stop it "
                             f"(lock: {_rel(path)})") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(nb_dir: Path, fig_dir: Path) -> None:
    """Remove what runs that were killed left behind: run folders under build/tmp/ (and stage folders of
    older runners) and temporaries next to the outputs, unless their process still runs."""
    tmp = BUILD / "tmp"
    if tmp.is_dir():
        for d in tmp.iterdir():
            m = re.match(r"run-(\d+)-", d.name)
            if m and (int(m.group(1)) == os.getpid() or _alive(int(m.group(1)))):
                continue
            shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)
    for d in (BUILD / ".state").glob("*/root"):  # the state of out= runs whose folder is gone
        if not Path(d.read_text().strip()).exists():
            try:
                fd = _lock(d.parent, "")
            except ParameterError:
                continue  # that run still runs
            shutil.rmtree(d.parent, ignore_errors=True)
            os.close(fd)
    for folder in (nb_dir, fig_dir, fig_dir / "data"):
        if folder.is_dir():
            for f in folder.glob(".*.partial"):
                m = _PARTIAL.match(f.name)
                if m and not _alive(int(m.group(1))):
                    f.unlink(missing_ok=True)


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60} s"


def run(names: list[str], profile: str = "default", jobs: int | None = None,
        overrides: list[tuple[str, str]] = (), out: Path | None = None, scheduler: str | None = None) -> int:
    """Execute notebooks; write notebooks, figures and claims. Returns the process exit code: 0, 1 (a
    failure or a surprising verdict), 2 (nothing run: a problem found up front), 130/143 (interrupted).

    ``out`` (a folder that gets notebooks/ and figures/) overrides where results go; tests use it.
    ``scheduler`` (``tcp://host:8786``) runs the notebooks' task maps on that Dask cluster.
    """
    _muted.clear()
    stopper = _Stopper()
    try:
        return _run(list(names), profile, jobs, list(overrides), out, stopper, scheduler or "")
    finally:
        stopper.restore()


def _run(names, profile, jobs, overrides, out, stopper, scheduler="") -> int:
    t0 = time.perf_counter()
    lock = None
    try:
        try:
            if jobs is not None and jobs < 1:
                raise ParameterError(f"--jobs must be >= 1, got {jobs}")
            if scheduler and not re.match(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$", scheduler):
                raise ParameterError(f"--scheduler must be a Dask scheduler address like tcp://host:8786, "
                                     f"got {scheduler!r}")
            notebooks = resolve(names)
            params = plan(notebooks, profile, overrides)
            nb_dir, fig_dir, state, committed = _destination(profile, overrides, out)
            if committed:
                outside = [p for p in notebooks if p.parent != NOTEBOOKS.resolve()]
                if outside:
                    raise ParameterError(
                        f"{outside[0]} is outside {_rel(NOTEBOOKS)}/, and the default profile writes over the "
                        f"committed notebook of its number: copy it into {_rel(NOTEBOOKS)}/ (git then shows what it "
                        f"replaces), or run it with -p NAME VALUE to write under {_rel(BUILD)}/")
            folders = [nb_dir, fig_dir, fig_dir / "data", BUILD / "tmp", BUILD / "failed", state]
            if committed:
                folders.append(README.parent)
            bad = _unwritable(folders)
            if bad:
                raise ParameterError(f"cannot write to {', '.join(bad)}: nothing was run")
            lock = _lock(state, f"{_rel(nb_dir)}/ and {_rel(fig_dir)}/")
            if out is not None:
                (state / "root").write_text(str(nb_dir.parent))
            journal = state / ".install-journal.json"
            if journal.exists():
                _finish_interrupted_install(journal)
            _clean_stale(nb_dir, fig_dir)
            problems = preflight(notebooks, nb_dir) + pairs.unsynced(notebooks, state)
        except ParameterError as exc:
            _say(f"error: {exc}", err=True)
            return 2
        if problems:
            if len(problems) == 1:
                _say(f"error: {problems[0]}; nothing was run", err=True)
            else:
                for p in problems:
                    _say(f"error: {p}", err=True)
                _say(f"error: nothing was run ({len(problems)} problems above)", err=True)
            return 2
        if stopper.signum:
            _say(f"interrupted by {signal.Signals(stopper.signum).name} before any notebook ran: nothing changed",
                 err=True)
            return 128 + stopper.signum
        return _execute_all(notebooks, params, nb_dir, fig_dir, journal, committed, jobs, stopper, t0, profile,
                            state, scheduler)
    finally:
        if lock is not None:
            os.close(lock)


def _finish_interrupted_install(journal: Path) -> None:
    try:
        j = _apply_journal(journal)
    except (OSError, ValueError, KeyError):
        journal.unlink(missing_ok=True)  # written atomically: unreadable means it is not a journal
        return
    try:
        update_reports(Path(j["nb_dir"]), Path(j["fig_dir"]), j["committed"])
    except ValueError as exc:
        _say(f"warning: the claims report could not be regenerated: {exc}", err=True)
    journal.unlink(missing_ok=True)
    _say(f"finished installing {j['notebook']}, which a killed run had left half-installed", err=True)


DURATIONS = "durations.json"  # in the output's state folder: each notebook's last duration (seconds)


def read_durations(state: Path, cpu: bool = False) -> dict[str, float]:
    """The wall durations (or with ``cpu``, the kernels' CPU seconds) the last runs into this output recorded,
    by notebook stem."""
    try:
        data = json.loads((Path(state) / DURATIONS).read_text())
        if cpu:
            data = data.get("cpu", {})
        return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}
    except (OSError, ValueError, AttributeError):
        return {}


def _record_duration(state: Path, stem: str, seconds: float, cpu: float | None = None) -> None:
    durations = read_durations(state)
    cpus = read_durations(state, cpu=True)
    durations[stem] = round(float(seconds), 2)
    if cpu is not None:
        cpus[stem] = round(float(cpu), 2)
    try:
        _write_atomic(Path(state) / DURATIONS, json.dumps({**dict(sorted(durations.items())),
                                                           "cpu": dict(sorted(cpus.items()))}, indent=1) + "\n")
    except OSError:
        pass  # the order of the next run is a courtesy


def longest_first(notebooks: list[Path], durations: dict[str, float]) -> list[Path]:
    """Notebooks without a recorded duration first (in their order), then by decreasing recorded duration."""
    unknown = [p for p in notebooks if p.stem not in durations]
    known = sorted((p for p in notebooks if p.stem in durations), key=lambda p: -durations[p.stem])
    return unknown + known


def predicted_wall(durations: list[float], jobs: int) -> float:
    """Wall time of starting the durations in this order, each on the first of ``jobs`` slots to free up."""
    free = [0.0] * max(1, jobs)
    for t in durations:
        i = min(range(len(free)), key=free.__getitem__)
        free[i] += t
    return max(free)


def _execute_all(notebooks, params, nb_dir, fig_dir, journal, committed, jobs, stopper, t0, profile,
                 state=None, scheduler="") -> int:
    from . import claims as claims_mod

    cores = os.cpu_count() or 1
    jobs = min(jobs or cores, len(notebooks))
    processes = 1 if scheduler else max(1, cores // jobs)   # never more processes than cores
    (BUILD / "tmp").mkdir(parents=True, exist_ok=True)
    run_root = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=BUILD / "tmp"))
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    _write_kernelspec(run_root)
    _say(f"running {len(notebooks)} notebook(s), profile {profile}, {jobs} at once, {BLAS_THREADS} BLAS thread(s) "
         f"each -> {_rel(nb_dir)}/, {_rel(fig_dir)}/")
    for path in notebooks:
        if params[path]:
            _say(f"  {path.stem}: " + ", ".join(f"{k}={v!r}" for k, v in params[path].items()))
    durations = read_durations(state) if state is not None else {}
    order = longest_first(notebooks, durations)
    if order != notebooks or all(p.stem in durations for p in notebooks):
        known = [p for p in order if p.stem in durations]
        what = (f"predicted wall time {_fmt_seconds(predicted_wall([durations[p.stem] for p in known], jobs))}"
                if len(known) == len(order) else f"{len(order) - len(known)} without a recorded duration first")
        _say(f"longest first, from the durations of the last run ({what}): "
             + " ".join(p.stem[:2] for p in order))
    if processes > 1 or scheduler:
        _say("task maps: " + (f"Dask scheduler {scheduler}" if scheduler
                              else f"{processes} local processes per kernel"))
    cores_dir = ""
    if not scheduler and processes == 1 and cores > 1:
        cores_dir = str(run_root / "cores")
        os.makedirs(cores_dir)
        for i in range(cores):
            (Path(cores_dir) / f"core-{i}").touch()
    pool = _Pool(run_root, token, jobs, processes, scheduler, cores_dir)
    pending = deque(order)
    failures, installed, done = [], [], 0
    try:
        while (pending or pool.busy()) and not stopper.signum:
            while pending and not stopper.signum:
                path = pending[0]
                stage = run_root / path.stem
                (stage / "figures").mkdir(parents=True, exist_ok=True)
                job = {"path": str(path), "params": params[path], "stage": str(stage), "kernel_name": KERNEL_NAME}
                if not pool.start(job):
                    break
                pending.popleft()
            for job, res in pool.wait(0.25):
                if stopper.signum:
                    break  # a notebook that ends after the stop request is discarded like the running ones
                done += 1
                ok = _finish(job, res, done, len(notebooks), nb_dir, fig_dir, journal, committed, failures)
                if ok:
                    installed.append(Path(job["path"]).stem)
                    if state is not None:
                        _record_duration(state, Path(job["path"]).stem, res["seconds"], res.get("cpu_seconds"))
                shutil.rmtree(job["stage"], ignore_errors=True)
            if not pending and cores_dir:
                pool.retire_idle()
            _progress(pool)
        if stopper.signum:
            running = [Path(w.job["path"]).stem for w in pool.busy()]
            pool.stop(stopper)
            name = signal.Signals(stopper.signum).name
            kept = (f"kept {len(installed)} finished notebook(s) ({', '.join(installed)}), with the claims report"
                    + (" and README table" if committed else "") + " regenerated" if installed
                    else "no notebook had finished")
            _say(f"interrupted by {name} after {time.perf_counter() - t0:.1f} s: {kept}; stopped "
                 f"{len(running)} running ({', '.join(running) or 'none'}) and {len(pending)} not started, whose "
                 f"files are unchanged", err=True)
            return 128 + stopper.signum
    finally:
        pool.close(grace=0 if stopper.signum else 10.0)
        shutil.rmtree(run_root, ignore_errors=True)
    try:
        with _signals_deferred():
            claim_list = update_reports(nb_dir, fig_dir, committed)
    except ValueError as exc:
        _say(f"error: the claims report could not be made: {exc}", err=True)
        return 1
    summary = claims_mod.summary(claim_list)
    surprises = claims_mod.counts(claim_list)["surprises"]
    _say(f"wall time {time.perf_counter() - t0:.1f} s; {summary} -> {_rel(fig_dir / 'claims.md')}")
    for f in failures:
        _say(f"error: {f}", err=True)
    if surprises:
        _say(f"{len(surprises)} verdict(s) differ from what the notebooks registered as expected:\n  "
             + "\n  ".join(surprises), err=True)
    elif not failures:
        _say("every verdict is as registered (expected violations carry their reason in claims.md)")
    return 1 if failures or surprises else 0


def _finish(job, res, i, n, nb_dir, fig_dir, journal, committed, failures) -> bool:
    """Report one ended notebook; install it (and regenerate the reports) if it succeeded."""
    from . import claims as claims_mod

    path = Path(job["path"])
    if res.get("restarted"):
        _say(f"  {path.stem}: its kernel did not start ({res['restarted']}); started once more")
    if res.get("stderr", "").strip():
        _say(f"  {path.stem} (kernel stderr):\n    " + res["stderr"].strip().replace("\n", "\n    "))
    if res["ok"]:
        report_error = ""
        with _signals_deferred():
            try:
                made, moved = _install(res, nb_dir, fig_dir, journal, committed)
            except InstallError as exc:
                res = {**res, "ok": False, "error": f"not installed: {exc}"}
            except ValueError as exc:  # a defect of the comparison, not of the notebook: say where it broke
                import traceback
                at = traceback.extract_tb(exc.__traceback__)[-1]
                res = {**res, "ok": False, "error": f"not installed: comparing it with the committed files failed "
                                                    f"({exc}; {Path(at.filename).name}:{at.lineno}, {at.name})"}
            except OSError as exc:  # a rename failed half-way: the journal lets the next run finish it
                res = {**res, "ok": False, "error": f"installing failed half-way ({exc}); the next run finishes it"}
            else:
                try:
                    update_reports(nb_dir, fig_dir, committed)
                except ValueError as exc:
                    report_error = f"the claims report could not be regenerated: {exc}"
                journal.unlink(missing_ok=True)
        if report_error:
            failures.append(f"{path.name}: {report_error}")
        if res["ok"]:
            n_claims = len(claims_mod.from_notebook(nb_dir / path.name))
            _say(f"[{i}/{n}] {path.stem:<45} ok      {res['seconds']:6.1f} s  ({n_claims} claims, {len(made)} figures) "
                 + ("same results, committed files kept" if not moved else f"{len(moved)} change(s):"))
            for m in moved[:MAX_MOVED_SHOWN]:
                _say(f"      {m}")
            if len(moved) > MAX_MOVED_SHOWN:
                _say(f"      ... and {len(moved) - MAX_MOVED_SHOWN} more")
            return True
    kept = BUILD / "failed" / path.name
    staged = Path(res["stage"]) / path.name
    where = "(no executed copy: the kernel never ran it)"
    if staged.exists():
        try:  # the notebook's own error is reported whatever happens here (a full disk, say)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staged, kept)
            where = f"executed copy (with the traceback of a failed cell): {_rel(kept)}"
        except OSError as exc:
            where = f"(could not keep the executed copy in {_rel(kept)}: {exc.strerror or exc})"
    failures.append(f"{path.name}: {res['error']}")
    _say(f"[{i}/{n}] {path.stem:<45} FAILED  {res.get('seconds', 0):6.1f} s  {res['error']}\n      {where}")
    return False


def _progress(pool: _Pool) -> None:
    """For a notebook with no news for PROGRESS_EVERY seconds: which cell runs, and for how long."""
    now = time.monotonic()
    for w in pool.busy():
        if now - w.news < PROGRESS_EVERY:
            continue
        w.news = now
        stem = Path(w.job["path"]).stem
        total = _fmt_seconds(now - w.job["t0"])
        try:
            p = json.loads((Path(w.job["stage"]) / "progress.json").read_text())
        except (OSError, ValueError):
            _say(f"  {stem}: starting its kernel ({total})")
            continue
        src = f" ({p['source']})" if p.get("source") else ""
        _say(f"  {stem}: {p['label']} running for {_fmt_seconds(time.time() - p['since'])}{src}; {total} in all")


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        sys.exit(_worker_main())
    sys.exit("usage: python -m sparsebounds run ...  (python -m sparsebounds.harness.runner --worker is internal)")
