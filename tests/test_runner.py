"""The runner: parameter validation before any kernel, atomic install, failures named, stable re-runs."""
import json
from pathlib import Path

import nbformat
import pytest

from sparsebounds.harness import parameters, runner
from sparsebounds.harness.cli import main

NB01 = runner.NOTEBOOKS / "01_proximal_gradient_convergence.ipynb"


PARAMS = "n = 3  # a count [1, 10]\nscale = 0.5  # a factor [0, 1]\nwords = 'x'  # a word"


def _nb(tmp: Path, name: str, body: str, params: str = PARAMS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(runner.KERNELSPEC)
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    path = tmp / name
    nbformat.write(nb, path)
    return path


# ---------------------------------------------------------------- parameters (no kernel is started)
def test_parameters_are_read_with_help_and_range():
    params = parameters.parameters_of(json.loads(NB01.read_text()))
    assert params["n_seeds"].low == 1 and params["n_seeds"].high == 200
    assert isinstance(params["lam"].default, float) and params["huber_steps"].default[0] == 1


@pytest.mark.parametrize("args, message", [
    (["-p", "n_seeds", "-3"], "outside its range [1, 200]"),
    (["-p", "n_sedes", "3"], "unknown parameter 'n_sedes'"),
    (["-p", "n_seeds", "three"], "must be int"),
    (["-p", "n_seeds", "2.5"], "must be int"),
    (["-p", "huber_steps", "[1, 0]"], "outside its range"),
    (["--profile", "huge"], "unknown profile 'huge'"),
    (["--jobs", "0"], "--jobs must be >= 1"),
])
def test_bad_parameters_stop_with_one_clear_message(args, message, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: started.append(a))
    assert main(["run", "01", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not started


def test_unknown_notebook_is_named(capsys):
    assert main(["run", "99_nothing"]) == 2
    assert "no notebook '99_nothing'" in capsys.readouterr().err


def test_full_profile_values_are_validated_too():
    nb = json.loads(NB01.read_text())
    full = parameters.plan([NB01], "full", [])[NB01]
    assert full == nb["metadata"]["sparsebounds"]["full"] and full["n_seeds"] > 4


def test_normalize_strips_volatile_metadata():
    nb = {"metadata": {"papermill": {"duration": 1.2}, "kernelspec": {"name": "x", "argv": ["/abs/python"]}},
          "cells": [{"metadata": {"papermill": {"start_time": "t"}, "execution": {"a": 1}, "tags": []}}]}
    out = runner.normalize(nb)
    assert out["metadata"] == {"kernelspec": runner.KERNELSPEC, "language_info": {"name": "python"}}
    assert out["cells"][0]["metadata"] == {}


def test_stream_chunks_are_coalesced():
    outs = [{"output_type": "stream", "name": "stdout", "text": ["a\n"]},
            {"output_type": "stream", "name": "stdout", "text": ["b\n", "c"]},
            {"output_type": "stream", "name": "stderr", "text": ["w\n"]},
            {"output_type": "display_data", "data": {}, "metadata": {}}]
    got = runner.coalesce_streams(outs)
    assert [o.get("name") for o in got] == ["stdout", "stderr", None]
    assert got[0]["text"] == ["a\n", "b\n", "c"]


# ---------------------------------------------------------------- execution (starts kernels: a few seconds)
FIG = ("import os\nimport matplotlib.pyplot as plt\nfrom sparsebounds.harness import checks, claims, figures\n"
       "print(hash('str hashes vary unless the seed is fixed'))\n"
       "eps = float(os.environ.get('TOY_EPS', '0'))  # how far this 'machine' moves the result\n"
       "value = (1 / 3) * (1 + eps)\nprint(f'value {value:.6f}')\n"
       "fig, ax = plt.subplots(); ax.semilogy([0, 1, 2], [1, value, 1e-15 * (1 + 1e3 * eps)])\n"
       "claims.register('98-toy', statement='s', bound='n*scale', symbols={'n': 'count', 'scale': 'factor'},"
       " kind='upper bound', check=checks.below([value], [n * scale]), evidence_class='test',"
       " rejects={'a tenth': checks.below([value], [n * scale / 10])})\n"
       "figures.save_figure(fig, '98_toy')")


def test_success_installs_notebook_and_figure_and_rerun_is_byte_identical(tmp_path, capsys):
    src = _nb(tmp_path, "98_toy.ipynb", FIG)
    out = tmp_path / "out"
    assert runner.run([str(src)], out=out) == 0
    nb_bytes = (out / "notebooks" / "98_toy.ipynb").read_bytes()
    png = (out / "figures" / "98_toy.png").read_bytes()
    claims = json.loads((out / "figures" / "claims.json").read_text())["claims"]
    assert [c["id"] for c in claims] == ["98-toy"] and claims[0]["notebook"] == "98_toy"
    meta = json.loads(nb_bytes)
    assert "papermill" not in meta["metadata"] and all("execution" not in c["metadata"] for c in meta["cells"])
    assert runner.run([str(src)], out=out) == 0
    assert (out / "notebooks" / "98_toy.ipynb").read_bytes() == nb_bytes
    assert (out / "figures" / "98_toy.png").read_bytes() == png
    assert "98_toy" in capsys.readouterr().out


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rerun_on_another_machine_keeps_committed_bytes_unless_a_result_moved(tmp_path, capsys, monkeypatch):
    src = _nb(tmp_path, "98_toy.ipynb", FIG)
    out = tmp_path / "out"
    assert runner.run([str(src)], out=out) == 0
    committed = _tree(out)
    # round-off noise (what another CPU gives): every committed byte is kept
    monkeypatch.setenv("TOY_EPS", "1e-13")
    capsys.readouterr()
    assert runner.run([str(src)], out=out) == 0
    assert _tree(out) == committed
    assert "same results, committed files kept" in capsys.readouterr().out
    # a result that moved by 1 %: installed, and the runner names what moved
    monkeypatch.setenv("TOY_EPS", "0.01")
    assert runner.run([str(src)], out=out) == 0
    report = capsys.readouterr().out
    after = _tree(out)
    assert after["notebooks/98_toy.ipynb"] != committed["notebooks/98_toy.ipynb"]
    assert after["figures/98_toy.png"] != committed["figures/98_toy.png"]
    assert "0.333333 -> 0.336667" in report and "98_toy axes 0 item 0" in report
    assert "claim 98-toy: evidence.max_ratio_observed_over_bound" in report or "max_ratio" in report


def test_surprising_verdict_exits_nonzero_after_writing(tmp_path, capsys):
    src = _nb(tmp_path, "98_toy.ipynb", FIG.replace("checks.below([value]", "checks.below([9 * value]", 1))
    out = tmp_path / "out"
    assert runner.run([str(src)], out=out) == 1
    claims = json.loads((out / "figures" / "claims.json").read_text())["claims"]
    assert claims[0]["verdict"] == "violated" and (out / "figures" / "98_toy.png").exists()
    assert "98-toy: expected holds, got violated" in capsys.readouterr().err


def test_expected_violation_exits_zero_and_a_fixed_one_is_a_surprise(tmp_path, capsys):
    expect = ", expected='violated', expected_reason='a known finding, written up in the notebook')"
    body = FIG.replace("checks.below([value]", "checks.below([9 * value]", 1).replace(
        "[n * scale / 10])})", "[n * scale / 10])}" + expect)
    out = tmp_path / "out"
    assert runner.run([str(_nb(tmp_path, "98_toy.ipynb", body))], out=out) == 0
    assert "1 violated as expected" in capsys.readouterr().out
    fixed = FIG.replace("[n * scale / 10])})", "[n * scale / 10])}" + expect)
    assert runner.run([str(_nb(tmp_path, "98_toy.ipynb", fixed))], out=out) == 1
    assert "98-toy: expected violated, got holds" in capsys.readouterr().err


def test_failure_leaves_previous_outputs_untouched_and_names_the_cell(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    (out / "figures").mkdir()
    committed_nb = _nb(out / "notebooks", "97_bad.ipynb", "print('previous run')")
    before = committed_nb.read_bytes()
    (out / "figures" / "97_bad.png").write_bytes(b"previous figure")
    body = ("import matplotlib.pyplot as plt\nfrom sparsebounds.harness import figures\n"
            "figures.save_figure(plt.subplots()[0], '97_bad')\nraise RuntimeError('boom in the simulation')")
    src = _nb(tmp_path, "97_bad.ipynb", body)
    assert runner.run([str(src)], out=out) == 1
    assert committed_nb.read_bytes() == before
    assert (out / "figures" / "97_bad.png").read_bytes() == b"previous figure"
    err = capsys.readouterr()
    assert "97_bad.ipynb: cell 1" in err.err and "RuntimeError: boom in the simulation" in err.err


def test_arguments_of_passes_an_experiment_only_what_it_takes():
    def experiment(*, n, scale=1.0):
        return n * scale
    values = {"n": 3, "scale": 0.5, "n_boot": 200}      # n_boot sizes a verdict, not the experiment
    assert parameters.arguments_of(experiment, values) == {"n": 3, "scale": 0.5}
    assert experiment(**parameters.arguments_of(experiment, values)) == 1.5


def test_running_profile_names_the_profile_whose_values_a_notebook_holds():
    """A notebook registers a full-profile finding as expected only when its values are the full profile's."""
    default, full = parameters.profile_values("10", "default"), parameters.profile_values("10", "full")
    assert default == parameters.notebook_defaults("10") and full != default
    assert full["n"] == 100 and full["steps"] == 400                        # from the notebook's metadata
    assert parameters.running_profile("10", {**default, "np": object()}) == "default"
    assert parameters.running_profile("10", full) == "full"
    assert parameters.running_profile("10", {**full, "steps": 401}) is None   # a -p override: neither
    with pytest.raises(parameters.ParameterError):
        parameters.profile_values("10", "huge")


def test_a_kernel_that_never_answers_is_started_once_more(tmp_path, monkeypatch):
    """jupyter_client picks free ports and the kernel binds them later; another process can take one in between
    ('Address already in use'), and the kernel never answers. Seen once in a full `make test`: the notebook is
    run once more, but only when none of its cells ran."""
    import papermill as pm

    real, calls = pm.execute_notebook, []

    def first_start_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(pm, "execute_notebook", first_start_fails)
    src = _nb(tmp_path, "95_flaky.ipynb", "print('ran')")
    stage = tmp_path / "stage"
    (stage / "figures").mkdir(parents=True)
    job = {"path": str(src), "params": {}, "stage": str(stage), "kernel_name": "python3"}
    res = runner._execute(job)
    assert res["ok"], res.get("error")
    assert len(calls) == 2 and "didn't respond" in res["restarted"]
    # a kernel that dies after a cell ran is the notebook's failure: no second start
    died = []

    def dies_after_a_cell(*args, **kwargs):
        died.append(1)
        raise RuntimeError("Kernel didn't respond in 60 seconds")

    (stage / "progress.json").write_text("{}")                     # what the first cell's start hook writes
    monkeypatch.setattr(pm, "execute_notebook", dies_after_a_cell)
    res = runner._execute(job)
    assert not res["ok"] and len(died) == 1 and "didn't respond" in res["error"]
