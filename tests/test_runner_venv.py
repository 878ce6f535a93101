"""The venv set-up repairs itself: tools/venv_check.py (run by the Makefile on every make) names why a venv
must be made again, in one line, and the Makefile then forces its set-up recipe."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tools" / "venv_check.py"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _python(minor: str) -> str | None:
    """An interpreter of version 3.<minor> on this machine, if there is one."""
    found = shutil.which(f"python3.{minor}")
    cands = sorted(PYENV.glob(f"3.{minor}.*/bin/python3")) + ([Path(found)] if found else [])
    for c in cands:
        r = subprocess.run([str(c), "-c", "import sys; print(sys.version_info[1])"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == minor:
            return str(c)
    return None


def check(venv: Path, *args, python: str = sys.executable) -> subprocess.CompletedProcess:
    return subprocess.run([python, str(CHECK), str(venv), *args], capture_output=True, text=True, timeout=300)


def _venv(path: Path, python: str = sys.executable) -> Path:
    """A venv as an interrupted creation leaves it: python in place, no pip (ensurepip never ran)."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def _fake_venv(path: Path, version: str) -> Path:
    (path / "bin").mkdir(parents=True)
    (path / "bin" / "python").write_text(f"#!/bin/sh\necho {version}\n")  # runs, reports a version, has "pip"
    (path / "bin" / "python").chmod(0o755)
    return path


def test_a_venv_without_pip_is_named_in_one_line(tmp_path):
    r = check(_venv(tmp_path / ".venv"))
    assert r.returncode == 0 and r.stdout == "it has no pip (its creation was interrupted)\n"


def test_a_healthy_or_absent_venv_says_nothing(tmp_path):
    assert check(_fake_venv(tmp_path / ".venv", "%d.%d" % sys.version_info[:2])).stdout == ""
    assert check(tmp_path / "none").stdout == ""


def test_a_venv_whose_interpreter_is_gone_is_named(tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(tmp_path / "removed-python3.11")
    assert "does not exist (or its interpreter is gone)" in check(tmp_path / ".venv").stdout


def test_a_venv_of_an_unsupported_python_is_named(tmp_path):
    py310 = _python("10")
    venv = _venv(tmp_path / ".venv", py310) if py310 else _fake_venv(tmp_path / ".venv", "3.10")
    assert check(venv).stdout == "it was made by Python 3.10, which this project does not support (3.11-3.13)\n"


def test_a_venv_of_another_python_than_an_explicit_py_is_named(tmp_path):
    here = "%d.%d" % sys.version_info[:2]
    other = "3.12" if here != "3.12" else "3.13"
    venv = _fake_venv(tmp_path / ".venv", other)
    assert check(venv).stdout == ""                                        # PY not given: keep a supported venv
    assert check(venv, "--origin", "command line").stdout == f"it was made by Python {other} and PY is Python {here}\n"


def test_repair_recreates_a_broken_venv_with_one_line(tmp_path):
    venv = _venv(tmp_path / ".venv")
    r = check(venv, "--repair")
    assert r.returncode == 0, r.stderr
    here = "%d.%d" % sys.version_info[:2]
    assert r.stdout == f"recreating {venv} with Python {here}: it has no pip (its creation was interrupted)\n"
    assert check(venv).stdout == "" and (venv / "bin" / "python").exists()


def test_an_unsupported_py_cannot_repair_and_says_what_to_do(tmp_path):
    old = _python("10") or _python("9") or _python("6")
    if old is None:
        pytest.skip("no Python older than 3.11 here")
    r = check(_fake_venv(tmp_path / ".venv", "3.10"), "--repair", python=old)  # runs under old Pythons too
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "this project needs 3.11-3.13: make PY=/path/to/python3.11" in r.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_makefile_forces_its_set_up_recipe_for_a_broken_venv(tmp_path):
    for f in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(ROOT / f, tmp_path / f)
    (tmp_path / "tools").mkdir()
    shutil.copy(CHECK, tmp_path / "tools")
    here = "%d.%d" % sys.version_info[:2]
    env = {**os.environ, "MAKEFLAGS": ""}
    env.pop("PY", None)
    _fake_venv(tmp_path / ".venv", here)
    (tmp_path / ".venv" / ".installed").touch()
    dry = subprocess.run(["make", "-n", f"PY={sys.executable}", ".venv/.installed"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert "is up to date" in dry.stdout, dry.stdout + dry.stderr             # a healthy venv: nothing to do
    shutil.rmtree(tmp_path / ".venv")
    _venv(tmp_path / ".venv")                                                 # ensurepip never ran
    (tmp_path / ".venv" / ".installed").touch()
    dry = subprocess.run(["make", "-n", ".venv/.installed", f"PY={sys.executable}"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert "tools/venv_check.py \".venv\" --origin \"command line\" --repair" in dry.stdout, dry.stdout + dry.stderr
    assert "-m pip install --quiet -c requirements.lock -e '.[test]'" in dry.stdout
