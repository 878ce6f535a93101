"""Test-session set-up: notebooks executed by nbval write figures to a scratch folder, never over the
committed figures/, so that the last test module can compare the two byte for byte."""
import os
import tempfile

SCRATCH = tempfile.mkdtemp(prefix="sparsebounds-nbval-figures-")
os.environ["SPARSEBOUNDS_FIGURES"] = SCRATCH
# the same BLAS threading as the runner's kernels, so regenerated figures match the committed bytes
from sparsebounds.runner import BLAS_THREADS, KERNEL_ENV  # noqa: E402

os.environ.update(KERNEL_ENV)

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(BLAS_THREADS)
