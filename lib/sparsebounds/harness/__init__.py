"""The harness: what runs the notebooks and records their verdicts (see the package docstring for the
modules). The science modules import from here only ``checks`` and ``blas``."""
