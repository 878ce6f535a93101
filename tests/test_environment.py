"""environment.yml (conda/Binder) must list exactly the packages and versions pyproject.toml pins."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_pins():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + [r for extra in meta["optional-dependencies"].values() for r in extra]
    pins = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][0-9A-Za-z.]*)", r.strip())
        assert m, f"pyproject requirement {r!r} is not pinned with =="
        pins[m.group(1).lower()] = m.group(2)
    return pins


def _conda_pins():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for d in env["dependencies"]:
        if isinstance(d, str) and d not in ("pip",):
            name, _, version = d.partition("=")
            pins[name.lower()] = version
    return pins, env


def test_environment_yml_matches_pyproject():
    conda, env = _conda_pins()
    assert conda.pop("python") == "3.11"
    assert conda == _pyproject_pins()
    assert {"pip": ["-e ."]} in env["dependencies"]


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version
    for name, pinned in _pyproject_pins().items():
        assert version(name) == pinned, f"{name}: installed {version(name)}, pinned {pinned}"
