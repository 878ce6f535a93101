"""``make canary``: will the collection still give the same verdicts with the newest dependencies?

In a scratch clone of the last commit, with a fresh venv holding the newest versions that pyproject.toml's
ranges allow (no lock), it runs every notebook and the unit tests, then reports
- which packages moved (against requirements.lock),
- which claims changed verdict (or evidence class),
- which outputs are no longer equivalent to the committed ones (the runner names them),
- which notebooks or unit tests crashed.
Exit status 1 only on a changed verdict or a crash; outputs that merely moved are reported, not fatal.

    python tools/canary.py [--python PATH] [--keep]      (or: make canary PY=/path/to/python3.13)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sh(cmd, cwd, env=None, capture=True):
    return subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=capture)


def lock_versions(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[name.lower().replace("_", "-")] = version.strip()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=os.environ.get("PY") or sys.executable,
                    help="interpreter for the canary venv (default: this one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch clone (its path is printed)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="sparsebounds-canary-"))
    clone = scratch / "clone"
    try:
        print(f"canary: scratch clone of {sh(['git', 'rev-parse', '--short', 'HEAD'], ROOT).stdout.strip()} "
              f"in {clone}", flush=True)
        r = sh(["git", "clone", "--quiet", str(ROOT), str(clone)], ROOT)
        if r.returncode:
            print(r.stderr, file=sys.stderr)
            return 1
        py = clone / ".venv" / "bin" / "python"
        for step in ([args.python, "-m", "venv", ".venv"],
                     [str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
                     [str(py), "-m", "pip", "install", "--quiet", "--upgrade", "-e", ".[test]"]):
            r = sh(step, clone)
            if r.returncode:
                print(f"CRASH: {' '.join(step)} failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}", file=sys.stderr)
                return 1
        freeze = sh([str(py), "-m", "pip", "freeze", "--exclude-editable"], clone).stdout
        locked = lock_versions(ROOT / "requirements.lock")
        now = {ln.split("==")[0].lower().replace("_", "-"): ln.split("==")[1]
               for ln in freeze.splitlines() if "==" in ln}
        pyver = sh([str(py), "-c", "import sys; print(sys.version.split()[0])"], clone).stdout.strip()
        moved_pkgs = {k: (locked[k], v) for k, v in now.items() if k in locked and locked[k] != v}
        print(f"Python {pyver}; {len(moved_pkgs)} locked packages at newer versions"
              + (": " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sorted(moved_pkgs.items())) if moved_pkgs else ""),
              flush=True)

        env = {**os.environ, "SPARSEBOUNDS_CANARY": "1"}
        before = json.loads((clone / "figures" / "claims.json").read_text())["claims"]
        run = sh([str(py), "-m", "sparsebounds", "run"], clone, env)
        print(run.stdout, end="")
        crashes = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
        after = json.loads((clone / "figures" / "claims.json").read_text())["claims"]
        old = {c["id"]: c for c in before}
        changed = [f"{c['id']}: {old[c['id']]['verdict']} -> {c['verdict']}" for c in after
                   if c["id"] in old and (old[c["id"]]["verdict"], old[c["id"]].get("evidence_class"))
                   != (c["verdict"], c.get("evidence_class"))]
        changed += [f"{i}: no longer registered" for i in old if i not in {c["id"] for c in after}]
        status = sh(["git", "status", "--porcelain"], clone).stdout.splitlines()

        tests = sh([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], clone, env)
        failed = [ln for ln in tests.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
        if tests.returncode not in (0, 1):
            failed.append(f"pytest exited {tests.returncode}: {tests.stdout[-1500:]}")

        print("\n== canary report ==")
        print(f"verdicts changed: {len(changed)}" + "".join(f"\n  {c}" for c in changed))
        print(f"committed files no longer equivalent: {len(status)}" + "".join(f"\n  {s}" for s in status))
        print(f"notebooks that crashed: {len(crashes)}" + "".join(f"\n  {c}" for c in crashes))
        print(f"unit tests that failed: {len(failed)}" + "".join(f"\n  {f}" for f in failed))
        print(f"({time.perf_counter() - t0:.0f} s)")
        return 1 if changed or crashes or failed else 0
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
