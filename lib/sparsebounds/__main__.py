"""``python -m sparsebounds``: the command line lives in :mod:`sparsebounds.harness.cli`."""
import sys

from .harness.cli import entry

if __name__ == "__main__":
    sys.exit(entry())
