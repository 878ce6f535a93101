"""Command line: ``python -m sparsebounds run ...``, ``... sync NN_name.md ...`` and ``... claims [--json]``."""
from __future__ import annotations

import argparse
import json
import sys

from . import claims as claims_mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sparsebounds")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute notebooks, regenerate figures and the claims report")
    r.add_argument("notebooks", nargs="*", help="notebook paths or prefixes (e.g. 01); default: all")
    r.add_argument("--profile", default="default", help="default (committed) or full (paper-grade, under build/full)")
    r.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: number of cores)")
    r.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the notebooks' task maps on this Dask scheduler (tcp://host:8786)")
    r.add_argument("-p", dest="params", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter (output goes under build/<profile>-<parameters>/, never over "
                        "committed files)")
    y = sub.add_parser("sync", help="write each notebook's .md (the source) into its .ipynb, outputs kept")
    y.add_argument("mds", nargs="+", help="notebooks/NN_name.md files")
    c = sub.add_parser("claims", help="print the claims report")
    c.add_argument("--json", action="store_true", help="print claims.json instead of the table")
    c.add_argument("--profile", default="default")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        from .runner import run
        return run(args.notebooks, args.profile, args.jobs, [tuple(p) for p in args.params],
                   scheduler=args.scheduler)
    if args.cmd == "sync":
        from pathlib import Path

        from .pairs import sync
        sync([Path(m) for m in args.mds])
        return 0
    from .runner import BUILD, FIGURES
    folder = FIGURES if args.profile == "default" else BUILD / args.profile / "figures"
    path = folder / "claims.json"
    if not path.exists():
        print(f"error: {path} does not exist; run `python -m sparsebounds run` first", file=sys.stderr)
        return 2
    data = json.loads(path.read_text())["claims"]
    from .runner import _say
    _say(json.dumps(data, indent=1, ensure_ascii=False) if args.json else claims_mod.markdown_table(data))
    return 0


def entry() -> int:
    """``python -m sparsebounds``: :func:`main`, with Ctrl-C during the imports reported in one line."""
    try:
        return main()
    except KeyboardInterrupt:  # Ctrl-C while Python imports the libraries, before the runner handles it
        print("interrupted before any notebook ran: nothing changed", file=sys.stderr)
        return 130
