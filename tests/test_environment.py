"""The environments agree: pyproject.toml declares ranges, requirements.lock the exact versions that made the
committed outputs (installed as constraints by the Makefile), environment.yml (conda / Binder) the same
versions as the lock for the project's direct dependencies."""
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~;\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _direct():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return meta, meta["dependencies"] + [r for extra in meta["optional-dependencies"].values() for r in extra]


def _lock():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


CONDA_TO_PIP = {"matplotlib-base": "matplotlib"}   # conda-forge's matplotlib adds Qt, which no notebook uses


def _conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for d in env["dependencies"]:
        if isinstance(d, str) and d != "pip":
            name, _, version = d.partition("=")
            pins[CONDA_TO_PIP.get(name.lower(), name.lower())] = version
    return pins, env


def test_pyproject_declares_ranges_and_python_311_to_313():
    meta, reqs = _direct()
    assert meta["requires-python"] == ">=3.11,<3.14"
    for r in reqs:
        assert "==" not in r and "<" in r, f"{r!r}: declare a range with an upper bound, pins go in requirements.lock"


def test_lock_pins_every_direct_dependency_inside_its_range():
    from packaging.requirements import Requirement
    lock = _lock()
    for r in _direct()[1]:
        req = Requirement(r.split("#")[0])
        assert _name(r) in lock, f"{req.name} is not in requirements.lock"
        assert req.specifier.contains(lock[_name(r)]), f"{req.name} {lock[_name(r)]} is outside {req.specifier}"


def test_environment_yml_pins_the_locked_versions():
    conda, env = _conda()
    assert conda.pop("python") == "3.11"
    lock = _lock()
    assert set(conda) == {_name(r) for r in _direct()[1]}
    assert conda == {k: lock[k] for k in conda}
    assert {"pip": ["-e ."]} in env["dependencies"]


@pytest.mark.skipif(os.environ.get("SPARSEBOUNDS_CANARY") == "1", reason="the canary installs the newest versions")
def test_installed_versions_are_the_locked_ones():
    from importlib.metadata import distributions
    lock = _lock()
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions()}
    wrong = {k: (installed[k], v) for k, v in lock.items() if k in installed and installed[k] != v}
    assert not wrong, f"installed (got, locked) differ: {wrong}; run `make` again (it installs from the lock)"
    assert sys.version_info[:2] in ((3, 11), (3, 12), (3, 13))
