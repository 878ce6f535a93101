"""CI proves "same results on every machine" on one machine: every notebook, executed by the runner on a
simulated foreign CPU (another numpy SIMD dispatch and another OpenBLAS kernel than nbval's kernels use),
leaves every committed notebook, figure and claims report byte for byte as it was, because all results are
equivalent (sparsebounds.equivalence) and the runner then keeps the committed bytes."""
import os
import shutil
from pathlib import Path

import pytest

from sparsebounds.harness import claims as claims_mod
from sparsebounds.harness import equivalence, runner

CPUS = equivalence.simulated_cpus()


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not CPUS and os.environ.get("CI") != "true",
                    reason="this CPU cannot simulate another one (x86-64 Linux with AVX needed)")
def test_notebooks_on_a_simulated_foreign_cpu_leave_every_committed_file_unchanged(tmp_path, monkeypatch, capsys):
    assert CPUS, "CI must be able to simulate a foreign CPU"
    name, env = list(CPUS.items())[-1]          # not the one conftest gives nbval's kernels
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    shutil.copytree(runner.NOTEBOOKS, tmp_path / "notebooks")
    shutil.copytree(runner.FIGURES, tmp_path / "figures")
    committed = _files(tmp_path)
    assert runner.run([], out=tmp_path) == 0, capsys.readouterr().err
    report = capsys.readouterr().out
    after = _files(tmp_path)
    changed = sorted(k for k in set(committed) | set(after) if committed.get(k) != after.get(k))
    assert not changed, f"on simulated CPU {name!r} these files changed:\n{changed}\n{report}"
    table = claims_mod.markdown_table(claims_mod.collect(sorted((tmp_path / "notebooks").glob("[0-9][0-9]_*.ipynb"))))
    assert table in runner.README.read_text()
