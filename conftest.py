"""Test-session set-up.

- Notebooks executed by nbval write figures (and their data) to a scratch folder, never over the committed
  figures/; the last test module compares the two under the equivalence rule.
- nbval compares the `# NBVAL_CHECK_OUTPUT` cells with `sparsebounds.harness.equivalence` (the rule the runner and
  the figure test use), not byte for byte: ulp noise is not a failure, a moved number or verdict is.
- The kernels nbval starts compute like another CPU (`equivalence.simulated_cpus()`, where this machine can
  simulate one; set SPARSEBOUNDS_NATIVE_CPU=1 to turn that off), so every `make test` checks that the
  committed outputs are what another machine would get.
"""
import os
import shutil
import tempfile
from pathlib import Path

import nbval.plugin

from sparsebounds.harness import equivalence
from sparsebounds.harness.runner import BLAS_THREADS, KERNEL_ENV, coalesce_streams


def _remove_scratch_of_dead_sessions() -> None:
    for old in Path(tempfile.gettempdir()).glob("sparsebounds-nbval-figures-*-*"):
        pid = old.name.split("-")[3]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)


_remove_scratch_of_dead_sessions()
SCRATCH = tempfile.mkdtemp(prefix=f"sparsebounds-nbval-figures-{os.getpid()}-")
os.environ["SPARSEBOUNDS_FIGURES"] = SCRATCH
os.environ.update(KERNEL_ENV)
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(BLAS_THREADS)

NBVAL_CPU = None
if os.environ.get("SPARSEBOUNDS_NATIVE_CPU") != "1":
    NBVAL_CPU = next(iter(equivalence.simulated_cpus().items()), None)
    if NBVAL_CPU:
        os.environ.update(NBVAL_CPU[1])   # read by numpy and OpenBLAS when each kernel starts


def _compare_outputs(self, test, ref, skip_compare=None):
    """nbval's comparison, replaced by the collection's equivalence rule."""
    diffs = equivalence.output_differences(coalesce_streams(list(ref)), coalesce_streams(list(test)))
    self.comparison_traceback = ([] if not diffs else
                                 ["outputs differ beyond the equivalence rule "
                                  "(sparsebounds.harness.equivalence):"] + diffs)
    return not diffs


nbval.plugin.IPyNbCell.compare_outputs = _compare_outputs


def pytest_report_header(config):
    where = f"simulated CPU '{NBVAL_CPU[0]}' ({NBVAL_CPU[1]})" if NBVAL_CPU else "this CPU"
    return f"sparsebounds: nbval kernels compute on {where}; outputs compared by sparsebounds.harness.equivalence"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SCRATCH, ignore_errors=True)
