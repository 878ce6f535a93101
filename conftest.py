"""Test-session set-up: notebooks executed by nbval write figures to a scratch folder, never over the
committed figures/, so that the last test module can compare the two byte for byte."""
import os
import tempfile

SCRATCH = tempfile.mkdtemp(prefix="sparsebounds-nbval-figures-")
os.environ["SPARSEBOUNDS_FIGURES"] = SCRATCH
