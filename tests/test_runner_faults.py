"""The runner under faults and careless use: each problem is one clear line, found before any kernel starts
where it can be, and nothing committed changes. Toy notebooks in temporary folders (see test_runner.py)."""
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import nbformat
import pytest
from test_runner import FIG, _nb, _tree

from sparsebounds.harness import claims, figures, parameters, runner
from sparsebounds.harness.cli import main

NB08 = next(runner.NOTEBOOKS.glob("08_*.ipynb"))
NB01 = next(runner.NOTEBOOKS.glob("01_*.ipynb"))


@pytest.fixture
def no_kernel(monkeypatch):
    """Fails the test if a worker (and so a kernel) is started."""
    started = []
    monkeypatch.setattr(runner, "_spawn_worker", lambda *a, **k: started.append(a) or pytest.fail("a worker started"))
    return started


@pytest.fixture
def build(tmp_path, monkeypatch):
    """build/ of the test's own (stage folders, locks, kept failures)."""
    monkeypatch.setattr(runner, "BUILD", tmp_path / "build")
    return tmp_path / "build"


def _one_line(err: str) -> str:
    assert err.count("\n") == 1, f"expected one line, got:\n{err}"
    return err


# ---------------------------------------------------------------- careless selections (no kernel)
@pytest.mark.parametrize("names, message", [
    (["0"], "'0' matches 9 notebooks (01_"),
    ([""], "an empty notebook name ('') selects nothing"),
    (["  "], "an empty notebook name"),
    (["08", "08"], "is selected twice ('08' and '08')"),
    (["08", str(NB08)], "is selected twice"),
])
def test_ambiguous_empty_or_repeated_selection_is_refused(names, message, capsys, no_kernel):
    before = NB08.read_bytes()
    assert main(["run", *names]) == 2
    assert message in _one_line(capsys.readouterr().err)
    assert NB08.read_bytes() == before


def test_a_parameter_given_twice_is_refused(capsys, no_kernel):
    assert main(["run", "01", "-p", "n_seeds", "2", "-p", "n_seeds", "3"]) == 2
    assert "parameter 'n_seeds' is given twice" in _one_line(capsys.readouterr().err)


def test_a_draft_outside_notebooks_is_refused_in_the_default_profile(tmp_path, capsys, no_kernel):
    draft = tmp_path / NB08.name          # named like 08: it would have replaced the committed 08
    shutil.copyfile(NB08, draft)
    before = NB08.read_bytes()
    assert main(["run", str(draft)]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "is outside notebooks/" in err and "-p NAME VALUE" in err
    assert NB08.read_bytes() == before


def test_a_notebook_not_named_after_a_number_is_refused(tmp_path, capsys, no_kernel):
    src = _nb(tmp_path, "toy.ipynb", "print(1)")
    assert runner.run([str(src)], out=tmp_path / "out") == 2
    assert "starts with its own two-digit number" in _one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- copying a notebook (static checks, no kernel)
def test_a_copied_notebook_is_refused_before_any_kernel_with_one_line_per_problem(tmp_path, build, capsys, no_kernel):
    out = tmp_path / "out"
    src = _nb(tmp_path, "98_toy.ipynb", FIG)
    (out / "notebooks").mkdir(parents=True)
    shutil.copyfile(src, out / "notebooks" / "98_toy.ipynb")        # the committed one
    (out / "figures").mkdir()
    copy = tmp_path / "99_copy.ipynb"
    shutil.copyfile(src, copy)                                     # copied as CONTRIBUTING suggests, not yet renamed
    before = _tree(out)
    assert runner.run([str(copy)], out=out) == 2
    err = capsys.readouterr().err.splitlines()
    assert "error: 99_copy: figure '98_toy' does not start with '99_'" in err[0]
    assert "figure '98_toy' is saved by both 98_toy and 99_copy" in err[1]
    assert "99_copy: claim id '98-toy' does not start with '99-'" in err[2]
    assert "claim id '98-toy' is registered by both 98_toy and 99_copy" in err[3]
    assert err[4] == "error: nothing was run (4 problems above)" and len(err) == 5
    assert _tree(out) == before


def test_the_committed_notebooks_pass_the_static_checks_and_a_copy_of_01_does_not(tmp_path):
    assert runner.preflight([], runner.NOTEBOOKS) == []
    copy = tmp_path / "10_new_idea.ipynb"
    shutil.copyfile(NB01, copy)
    problems = runner.preflight([copy], runner.NOTEBOOKS)
    assert any("10_new_idea: figure '01_gap_vs_k' does not start with '10_'" in p for p in problems)
    assert any("claim id '01-ista-rate' is registered by both 01_proximal_gradient_convergence and 10_new_idea" in p
               for p in problems)


def test_two_notebooks_with_one_number_are_refused(tmp_path, build, capsys, no_kernel):
    a = _nb(tmp_path, "98_toy.ipynb", "print(1)")
    b = _nb(tmp_path, "98_other.ipynb", "print(2)")
    assert runner.run([str(a), str(b)], out=tmp_path / "out") == 2
    assert "98_other and 98_toy share the number 98" in _one_line(capsys.readouterr().err)


def test_a_claim_id_registered_twice_in_one_notebook_is_refused(tmp_path, build, capsys, no_kernel):
    twice = FIG + "\nclaims.register('98-toy', statement='s', bound='n', symbols={'n': 'c'}, kind='exact'," \
                  " check=checks.below([1], [2]), evidence_class='identity')"
    src = _nb(tmp_path, "98_toy.ipynb", twice)
    assert runner.run([str(src)], out=tmp_path / "out") == 2
    assert "98_toy: claim id '98-toy' is registered 2 times" in _one_line(capsys.readouterr().err)


def test_an_edit_to_the_markdown_not_yet_synced_is_refused_before_any_kernel(tmp_path, build, capsys, no_kernel):
    import jupytext

    from sparsebounds.harness import pairs
    src = _nb(tmp_path, "98_toy.ipynb", FIG)
    jupytext.write(jupytext.read(src), src.with_suffix(".md"), fmt="md:myst")
    state = tmp_path / "state"
    state.mkdir()
    assert pairs.unsynced([src], state) == []                             # the twins agree ...
    assert src.name in json.loads((state / pairs.CHECKED).read_text())    # ... and are remembered
    md = src.with_suffix(".md")
    md.write_text(md.read_text().replace("value = (1 / 3)", "value = (1 / 4)"))  # edited, `make sync` forgotten
    assert runner.run([str(src)], out=tmp_path / "out") == 2
    err = _one_line(capsys.readouterr().err)
    assert "98_toy: cell 1" in err and "source differs" in err and "run `make sync` first" in err


# ---------------------------------------------------------------- declared constraints (no kernel)
CONSTRAINED = "d_net = 4  # width [1, 64]\nlr = 0.1  # step [0, 1]\ndecays = [0.1]  # weight decays [0, 1]"
RULES = [{"rule": "d_net & (d_net - 1) == 0", "message": "d_net must be a power of 2"},
         {"rule": "all(2 * lr * wd < 1 for wd in decays)", "message": "2·lr·weight decay must stay below 1"}]


def _constrained(tmp: Path, rules=RULES) -> Path:
    path = _nb(tmp, "97_net.ipynb", "print(d_net)", params=CONSTRAINED)
    nb = json.loads(path.read_text())
    nb["metadata"]["sparsebounds"] = {"constraints": rules}
    path.write_text(json.dumps(nb))
    return path


@pytest.mark.parametrize("overrides, message", [
    ([("d_net", "5")], "97_net.ipynb: d_net must be a power of 2 (got d_net=5; rule `d_net & (d_net - 1) == 0`)"),
    ([("lr", "0.9"), ("decays", "[0.9]")], "2·lr·weight decay must stay below 1 (got decays=[0.9], lr=0.9;"),
])
def test_a_value_in_range_that_breaks_a_declared_rule_is_refused_up_front(overrides, message, tmp_path, build, capsys,
                                                                          no_kernel):
    path = _constrained(tmp_path)
    assert runner.run([str(path)], overrides=overrides, out=tmp_path / "out") == 2
    assert message in _one_line(capsys.readouterr().err)
    assert parameters.plan([path], "default", [("d_net", "8"), ("lr", "0.4")])[path] == {"d_net": 8, "lr": 0.4}


@pytest.mark.parametrize("rule, why", [
    ("().__class__.__bases__", "Attribute is not allowed"),
    ("__import__('os').system('true')", "a rule may call only"),
    ("open('/etc/passwd')", "a rule may call only"),
    ("lambda: d_net", "Lambda is not allowed"),
    ("d_nett > 1", "name 'd_nett' is not defined (not a parameter)"),
    ("d_net >", "it does not parse"),
])
def test_a_rule_is_evaluated_with_nothing_but_the_parameters_in_reach(rule, why, tmp_path):
    with pytest.raises(parameters.ParameterError, match="cannot be checked") as exc:
        parameters.plan([_constrained(tmp_path, [{"rule": rule, "message": "m"}])], "default", [])
    assert why in str(exc.value)
    assert parameters.check_rule("max(abs(x) for x in v) <= len(v) and sorted(v)[0] == -2", {"v": [3, -2, 1]})


# ---------------------------------------------------------------- files that are broken or cannot be written
def test_a_truncated_notebook_in_the_output_folder_is_named_before_any_kernel(tmp_path, build, capsys, no_kernel):
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    text = _nb(out / "notebooks", "96_other.ipynb", "print(1)").read_text()
    (out / "notebooks" / "96_other.ipynb").write_text(text[: len(text) // 2])
    before = _tree(out)
    assert runner.run([str(_nb(tmp_path, "98_toy.ipynb", FIG))], out=out) == 2
    err = _one_line(capsys.readouterr().err)
    assert "96_other.ipynb is not a valid notebook (truncated or not JSON" in err and "nothing was run" in err
    assert _tree(out) == before


def test_a_truncated_selected_notebook_is_named(tmp_path, build, capsys, no_kernel):
    src = tmp_path / "98_toy.ipynb"
    src.write_text(_nb(tmp_path, "98_toy.ipynb", FIG).read_text()[:100])
    assert runner.run([str(src)], out=tmp_path / "out") == 2
    assert f"{src} is not a valid notebook" in _one_line(capsys.readouterr().err)


UNWRITABLE = """
import sys
from pathlib import Path
from sparsebounds.harness import runner
root = Path(sys.argv[1])
runner.BUILD = root / "build"
sys.exit(runner.run([str(root / "98_toy.ipynb")], out=root / "out"))
"""


def test_a_read_only_figures_folder_is_found_before_anything_runs(tmp_path):
    """figures/ read-only: by its permission bits, or (root writes through those) by a read-only bind mount
    in a mount namespace of the test's own."""
    root = tmp_path
    _nb(root, "98_toy.ipynb", FIG)
    (root / "out" / "notebooks").mkdir(parents=True)
    (root / "out" / "figures").mkdir()
    (root / "out" / "figures" / "98_toy.png").write_bytes(b"committed")
    (root / "run.py").write_text(UNWRITABLE)
    before = _tree(root / "out")
    cmd = [sys.executable, str(root / "run.py"), str(root)]
    figures = root / "out" / "figures"
    if os.geteuid() != 0:
        os.chmod(figures, 0o555)
    elif shutil.which("unshare"):
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"',
               "sh", str(figures), *cmd]
    else:
        pytest.skip("running as root without unshare: cannot make a folder read-only")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(figures, 0o755)
    if "mount:" in r.stderr:
        pytest.skip(f"no read-only bind mount here: {r.stderr.strip()}")
    assert r.returncode == 2, r.stderr
    err = _one_line(r.stderr)
    assert f"cannot write to {figures}/ (" in err and "nothing was run" in err
    assert _tree(root / "out") == before and not list((root / "build").glob("tmp/run-*"))


def test_the_notebook_error_is_reported_even_when_its_executed_copy_cannot_be_kept(tmp_path, build, capsys):
    (build / "failed").mkdir(parents=True)
    (build / "failed" / "97_bad.ipynb").symlink_to("/dev/full")   # writing there: ENOSPC, a full disk
    body = "raise RuntimeError('boom in the simulation')"
    assert runner.run([str(_nb(tmp_path, "97_bad.ipynb", body))], out=tmp_path / "out") == 1
    cap = capsys.readouterr()
    assert "97_bad.ipynb: cell 1" in cap.err and "RuntimeError: boom in the simulation" in cap.err
    assert "could not keep the executed copy in" in cap.out and "No space left on device" in cap.out


def test_build_on_another_filesystem_installs_by_copy_and_rename(tmp_path, monkeypatch, capsys):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second filesystem at /dev/shm")
    other = Path(tempfile.mkdtemp(prefix="sparsebounds-build-", dir=shm))
    try:
        monkeypatch.setattr(runner, "BUILD", other)
        out = tmp_path / "out"
        assert runner.run([str(_nb(tmp_path, "98_toy.ipynb", FIG))], out=out) == 0, capsys.readouterr().err
        assert (out / "figures" / "98_toy.png").exists() and (out / "notebooks" / "98_toy.ipynb").exists()
        assert [c["id"] for c in json.loads((out / "figures" / "claims.json").read_text())["claims"]] == ["98-toy"]
        assert not list(out.rglob("*.partial")) and not list((other / "tmp").iterdir())
    finally:
        shutil.rmtree(other)


def test_a_full_disk_while_installing_changes_nothing(tmp_path, monkeypatch):
    """Files are copied next to their destination first (from another filesystem); a failure there removes
    the copies made so far and leaves every destination and the journal untouched."""
    stage, dest = tmp_path / "stage", tmp_path / "dest"
    stage.mkdir()
    dest.mkdir()
    for name in ("a.png", "b.png"):
        (stage / name).write_text("new " + name)
        (dest / name).write_text("old " + name)
    real_copy = shutil.copyfile
    calls = []

    def exdev(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def copy_until_full(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_copy(src, dst)
    monkeypatch.setattr(os, "link", exdev)
    monkeypatch.setattr(shutil, "copyfile", copy_until_full)
    journal = tmp_path / "journal.json"
    with pytest.raises(runner.InstallError, match=r"No space left on device\); nothing of it was installed"):
        runner._commit([(stage / "a.png", dest / "a.png"), (stage / "b.png", dest / "b.png")], [], journal, {})
    assert sorted(p.name for p in dest.iterdir()) == ["a.png", "b.png"]
    assert (dest / "a.png").read_text() == "old a.png" and not journal.exists()


def test_an_install_cut_short_by_a_kill_is_finished_by_the_next_run(tmp_path, build, capsys):
    """A SIGKILL between two renames of one install: the journal (written before the first) completes it."""
    nb_dir, fig_dir = tmp_path / "notebooks", tmp_path / "figures"
    fig_dir.mkdir(parents=True)
    nb_dir.mkdir()
    executed = tmp_path / "executed.ipynb"
    nb = nbformat.v4.new_notebook()
    rec = {"id": "98-toy", "statement": "s", "bound": "1", "symbols": {}, "kind": "exact", "evidence_class": "identity",
           "verdict": "holds", "expected_verdict": "holds", "evidence": {}, "source": ""}
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output("display_data", {claims.MIME: rec})])]
    nbformat.write(nb, executed)
    (fig_dir / "98_toy.png").write_text("old figure")
    tmp_fig, tmp_nb = fig_dir / ".98_toy.png.sb1-abc.partial", nb_dir / ".98_toy.ipynb.sb1-abc.partial"
    tmp_fig.write_text("new figure")
    shutil.copyfile(executed, tmp_nb)
    journal = build / "state" / ".install-journal.json"
    journal.parent.mkdir(parents=True)
    journal.write_text(json.dumps({"notebook": "98_toy.ipynb", "nb_dir": str(nb_dir), "fig_dir": str(fig_dir),
                                   "committed": False, "removes": [],
                                   "moves": [[str(tmp_fig), str(fig_dir / "98_toy.png")],
                                             [str(tmp_nb), str(nb_dir / "98_toy.ipynb")]]}))
    os.replace(tmp_fig, fig_dir / "98_toy.png")  # the first rename happened, then the kill
    runner._finish_interrupted_install(journal)
    assert (fig_dir / "98_toy.png").read_text() == "new figure" and (nb_dir / "98_toy.ipynb").exists()
    assert [c["id"] for c in json.loads((fig_dir / "claims.json").read_text())["claims"]] == ["98-toy"]
    assert not journal.exists() and not tmp_nb.exists()
    assert "finished installing 98_toy.ipynb" in _one_line(capsys.readouterr().err)


# ---------------------------------------------------------------- concurrency and leftovers
def test_a_second_run_on_the_same_output_is_refused_naming_the_first(tmp_path, build, capsys, no_kernel):
    out = tmp_path / "out"
    state = runner._destination("default", [], out)[2]
    state.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(state / '.run.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, str(os.getpid()).encode()); print('locked', flush=True)\n"
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert runner.run([str(_nb(tmp_path, "98_toy.ipynb", FIG))], out=out) == 2
        err = _one_line(capsys.readouterr().err)
        assert f"another run (pid {holder.pid}) is writing to {out}/notebooks/ and {out}/figures/" in err
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()


def test_concurrent_report_writers_never_collide(tmp_path):
    recs = [{"id": f"c{i}", "notebook": "98_toy", "statement": "s", "bound": "1", "kind": "exact",
             "evidence_class": "identity", "verdict": "holds", "expected_verdict": "holds", "evidence": {},
             "source": ""} for i in range(8)]
    errors = []

    def write(k):
        try:
            for i in range(40):
                claims.write_reports(recs[: 1 + (k + i) % 8], tmp_path)
        except Exception as exc:  # noqa: BLE001 - any error is the failure
            errors.append(exc)
    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(p.name for p in tmp_path.iterdir()) == ["claims.json", "claims.md"]


def test_stale_run_folders_and_temporaries_are_removed_live_ones_kept(tmp_path, build):
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = os.getpid()
    (build / "tmp" / f"run-{dead.pid}-abc" / "05_x").mkdir(parents=True)
    (build / "tmp" / "05_lasso-k2j3h4").mkdir()                       # a stage folder of the old runner
    (build / "tmp" / f"run-{live}-def").mkdir()
    nb_dir, fig_dir = tmp_path / "notebooks", tmp_path / "figures"
    (fig_dir / "data").mkdir(parents=True)
    nb_dir.mkdir()
    (fig_dir / f".05_x.png.sb{dead.pid}-aa.partial").write_text("x")
    (fig_dir / f".05_x.png.sb{live}-bb.partial").write_text("x")
    runner._clean_stale(nb_dir, fig_dir)
    assert sorted(p.name for p in (build / "tmp").iterdir()) == [f"run-{live}-def"]
    assert [p.name for p in fig_dir.glob("*.partial")] == [f".05_x.png.sb{live}-bb.partial"]


# ---------------------------------------------------------------- output piped into head
PIPED = """
import sys
from pathlib import Path
from sparsebounds.harness import runner
root = Path(sys.argv[1])
runner.BUILD = root / "build"
sys.exit(runner.run([str(root / "98_toy.ipynb")], out=root / "out"))
"""


def test_output_piped_into_head_loses_nothing(tmp_path):
    _nb(tmp_path, "98_toy.ipynb", FIG)
    (tmp_path / "run.py").write_text(PIPED)
    p = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"running 1 notebook(s)")   # like `| head -1`
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=300)
    assert p.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert (tmp_path / "out" / "notebooks" / "98_toy.ipynb").exists()
    assert json.loads((tmp_path / "out" / "figures" / "claims.json").read_text())["claims"][0]["id"] == "98-toy"


# ---------------------------------------------------------------- isolation, -p folders, kernel noise
def test_user_configuration_cannot_change_the_kernel_or_the_style(tmp_path, build, monkeypatch, capsys):
    """A JUPYTER_PATH with its own python3 kernelspec, a matplotlibrc and IPython startup files of the user's
    are shut out; a -p run gets a folder of its own whose report records the parameters."""
    spec = tmp_path / "jp" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["/bin/false", "{connection_file}"],
                                                  "display_name": "hijack", "language": "python"}))
    for k in ("sparsebounds-runner",):  # even a spec named like the runner's own
        (tmp_path / "jp" / "kernels" / k).mkdir()
        (tmp_path / "jp" / "kernels" / k / "kernel.json").write_text((spec / "kernel.json").read_text())
    (tmp_path / "mpl").mkdir()  # (a matplotlibrc beside the notebook is read first of all: figures.style() resets it)
    (tmp_path / "mpl" / "matplotlibrc").write_text("lines.linewidth: 9\nfigure.figsize: 2, 2\n")
    startup = tmp_path / "ipy" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00.py").write_text("import numpy; numpy.set_printoptions(precision=1)\nHIJACKED = True\n")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jp"))
    monkeypatch.setenv("MATPLOTLIBRC", str(tmp_path / "mpl" / "matplotlibrc"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipy"))
    body = ("import sys, matplotlib\nprint(sys.executable)\nprint(matplotlib.rcParams['lines.linewidth'])\n"
            "print('HIJACKED' in globals())\n" + FIG)
    src = _nb(tmp_path, "98_toy.ipynb", body)
    assert runner.run([str(src)], overrides=[("n", "5")]) == 0, capsys.readouterr().err
    folder = build / "default-n-5"
    nb = json.loads((folder / "notebooks" / "98_toy.ipynb").read_text())
    printed = "".join(nb["cells"][2]["outputs"][0]["text"]).splitlines()
    assert printed[:3] == [sys.executable, "1.5", "False"]
    report = json.loads((folder / "figures" / "claims.json").read_text())
    assert report["parameters"] == {"98_toy": {"n": 5}} and report["claims"][0]["id"] == "98-toy"
    assert "`n = 5`" in (folder / "figures" / "claims.md").read_text()


def test_style_starts_from_matplotlib_defaults():
    import matplotlib
    matplotlib.rcParams["lines.linewidth"] = 9
    try:
        figures.style()
        assert matplotlib.rcParams["lines.linewidth"] == 1.5 and matplotlib.rcParams["figure.figsize"] == [6.4, 4.2]
    finally:
        matplotlib.rcdefaults()


def test_parameter_folders_are_readable_and_distinct():
    assert runner._destination("default", [("n_seeds", "3"), ("lam", "0.1")], None)[0] == \
        runner.BUILD / "default-lam-0.1_n_seeds-3" / "notebooks"
    assert runner._destination("full", [("huber_steps", "[1, 2]")], None)[0].parent.name == "full-huber_steps-1,2"
    long = runner._slug([("x", str(list(range(60))))])
    assert len(long) <= 80 and long != runner._slug([("x", str(list(range(61))))])


def test_the_shutdown_interrupt_is_not_shown_for_a_finished_notebook():
    text = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption. ...\n"
            "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel\n"
            "a real warning\n")
    assert runner.kernel_stderr(text, finished=True) == "a real warning\n"
    assert "KeyboardInterrupt" in runner.kernel_stderr(text, finished=False)
